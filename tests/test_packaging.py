"""Packaging: one import root, telemetryfs.fs and telemetryfs.parsers, and nothing else."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from tests.paths import ROOT


def test_wheel_installs_under_one_import_root(tmp_path: Path) -> None:
    # With build isolation: pip brings the setuptools pyproject.toml asks for.
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next(tmp_path.glob("telemetryfs-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"telemetryfs"}  # never a top-level fs (PyFilesystem2) or parsers
    assert "telemetryfs/fs/fuse/cli.py" in names
    assert "telemetryfs/parsers/formats/gopro/parse.py" in names
    assert "telemetryfs/parsers/containers/mp4/boxes.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "telemetryfs = telemetryfs.fs.command:main" in text


def test_editable_install_imports_from_the_checkout() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import telemetryfs.parsers.formats.gopro.parse as g, telemetryfs.fs.render as r;"
            "print(g.__file__); print(r.__file__)",
        ],
        cwd="/",  # not the checkout: the import must come from the install
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == [
        str(ROOT / "parsers" / "formats" / "gopro" / "parse.py"),
        str(ROOT / "fs" / "render.py"),
    ]


def test_the_core_never_imports_the_optional_extras() -> None:
    """The mount of a local folder, the file view and the parsers load no remote/export
    library: the ``[remote]`` and ``[export]`` extras are imported only when used."""
    code = (
        "import sys, telemetryfs.fs.fuse.cli, telemetryfs.fs.fuse.operations,"
        " telemetryfs.fs.view, telemetryfs.parsers.extract;"
        "print(sorted(m for m in ('fsspec', 's3fs', 'aiohttp', 'pyarrow', 'dask', 'distributed',"
        " 'tqdm') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


def test_the_extras_name_what_remote_and_export_need() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(d.startswith("fsspec>=2026.9.0") for d in extras["remote"])
    assert {d.split(">")[0].split("[")[0] for d in extras["remote"]} >= {
        "fsspec",
        "s3fs",
        "aiohttp",
    }
    assert {d.split(">")[0].split("[")[0] for d in extras["export"]} >= {"pyarrow", "dask", "tqdm"}
    assert {"telemetryfs[remote]", "telemetryfs[export]"} <= set(extras["dev"])
