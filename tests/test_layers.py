"""The import contract: the arrows between layers point one way, and nothing imports in a circle.

- ``parsers/`` imports neither the file view nor the kernel binding (nor pyfuse3/trio);
- the file view (``fs/`` outside ``fs/fuse/``) imports neither pyfuse3, trio nor the binding;
- a camera family imports the core, containers, encodings and ``formats/_dashcam``,
  never another family;
- containers and encodings import no family;
- no module imports another that (transitively) imports it back.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.paths import ROOT

# Source folder -> the import name it installs under.
ROOTS = {ROOT / "parsers": "telemetryfs.parsers", ROOT / "fs": "telemetryfs.fs"}
# The modules of the view allowed to name the binding: the command's entry points pick the mount or the exporter; they import the
# mount's CLI only for the mount (test_export: export runs without pyfuse3).
ENTRY_SHIMS = {"telemetryfs.fs.__main__", "telemetryfs.fs.command"}


def _module_name(path: Path) -> str:
    for folder, name in ROOTS.items():
        if path.is_relative_to(folder):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            return ".".join([name, *parts])
    raise AssertionError(path)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for folder in ROOTS for p in sorted(folder.rglob("*.py"))}


MODULES = _modules()


def _imports(name: str) -> set[str]:
    """What a module imports, as module names, at any depth (under TYPE_CHECKING too:
    a cycle of types is a cycle of design)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            # ``from package import module`` runs the package's __init__ first, but a
            # module importing a sibling that way while the package is initialising
            # is fine: the edge is to the submodule. Names that are not modules
            # come from ``base`` itself.
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in MODULES else base)
    return found


IMPORTS = {name: _imports(name) for name in MODULES}


def _family(name: str) -> str | None:
    parts = name.split(".")
    if parts[:3] == ["telemetryfs", "parsers", "formats"] and len(parts) > 3:
        return parts[3]
    return None


def test_the_contract_sees_every_layer() -> None:
    # A test that found no modules would pass whatever the code did.
    assert "telemetryfs.parsers.formats.gopro.parse" in MODULES
    assert "telemetryfs.fs.fuse.operations" in MODULES
    assert "pyfuse3" in IMPORTS["telemetryfs.fs.fuse.operations"]
    assert (
        "telemetryfs.parsers.encodings.gpmf" in IMPORTS["telemetryfs.parsers.formats.gopro.parse"]
    )


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("telemetryfs.parsers")))
def test_parsers_import_no_filesystem_layer(name: str) -> None:
    bad = {i for i in IMPORTS[name] if i.split(".")[0] in ("pyfuse3", "trio")}
    bad |= {i for i in IMPORTS[name] if i.startswith("telemetryfs.fs")}
    assert not bad, f"{name} imports {sorted(bad)}"


@pytest.mark.parametrize(
    "name",
    sorted(
        n
        for n in MODULES
        if n.startswith("telemetryfs.fs")
        and not n.startswith("telemetryfs.fs.fuse")
        and n not in ENTRY_SHIMS
    ),
)
def test_the_file_view_needs_no_fuse(name: str) -> None:
    bad = {i for i in IMPORTS[name] if i.split(".")[0] in ("pyfuse3", "trio")}
    bad |= {i for i in IMPORTS[name] if i.startswith("telemetryfs.fs.fuse")}
    assert not bad, f"{name} imports {sorted(bad)}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if _family(n)))
def test_a_family_imports_no_other_family(name: str) -> None:
    mine = _family(name)
    others = {i for i in IMPORTS[name] if _family(i) not in (None, mine, "_dashcam")}
    assert not others, f"{name} imports {sorted(others)}"


@pytest.mark.parametrize(
    "layer", ["telemetryfs.parsers.containers", "telemetryfs.parsers.encodings"]
)
def test_containers_and_encodings_import_no_family(layer: str) -> None:
    for name in (n for n in MODULES if n.startswith(layer)):
        families = {i for i in IMPORTS[name] if _family(i)}
        assert not families, f"{name} imports {sorted(families)}"


def _cycle_from(start: str) -> list[str] | None:
    """A path of imports from ``start`` back to itself, or None."""
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        name, path = stack.pop()
        for nxt in sorted(IMPORTS.get(name, ())):
            if nxt == start:
                return [*path, nxt]
            if nxt in MODULES and nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_import_cycles(name: str) -> None:
    cycle = _cycle_from(name)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_cycles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(IMPORTS, "telemetryfs.parsers.model", {"telemetryfs.parsers.errors"})
    monkeypatch.setitem(IMPORTS, "telemetryfs.parsers.errors", {"telemetryfs.parsers.model"})
    assert _cycle_from("telemetryfs.parsers.model") == [
        "telemetryfs.parsers.model",
        "telemetryfs.parsers.errors",
        "telemetryfs.parsers.model",
    ]
