"""Shared pieces of the reliability tests: the mount fixture, source manifests, full reads.

The ``mount`` fixture is tests/mount/conftest.py's (imported, not copied): it
starts the daemon with ``--debug``, fails the test if the daemon died or
logged a traceback. ``checked_mount`` adds the "nothing lost" check: a sha256
manifest of every source file (content, size, mtime, mode) taken before the
mount and compared after the test, for tests that do not change the source
themselves.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.mount.conftest import Mount, MountFactory, mount

__all__ = ["Mount", "MountFactory", "mount"]

# Stream CSVs of long GPMF files run to megabytes: read_all() samples them.
WHOLE_READ_LIMIT = 4 * 1024 * 1024

Manifest = dict[str, tuple[str, int, int, int]]


def manifest(root: Path) -> Manifest:
    """Every file and directory under ``root``: sha256 (files), size, mtime_ns, mode.

    Names are bytes-safe (surrogate-escaped), links are recorded, not followed.
    """
    out: Manifest = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            digest = ""
            if stat.S_ISREG(st.st_mode):
                digest = _sha256(path)
            elif stat.S_ISLNK(st.st_mode):
                digest = "link:" + os.readlink(path)
            rel = os.path.relpath(path, root)
            out[rel] = (digest, st.st_size, st.st_mtime_ns, st.st_mode)
    return out


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@pytest.fixture
def checked_mount(mount: MountFactory) -> Iterator[MountFactory]:
    """``mount`` plus: the source tree is bit-identical (mtimes included) after the test."""
    before: list[tuple[Path, Manifest]] = []

    def start(source: Path, *extra: str, **kwargs: Any) -> Mount:
        before.append((source, manifest(source)))
        return mount(source, *extra, **kwargs)

    yield start
    for source, recorded in before:
        assert manifest(source) == recorded, f"the source {source} changed under the mount"


def read_all(path: Path) -> bytes:
    """A file's bytes as a reader sees them, checking st_size against what is read.

    Files up to WHOLE_READ_LIMIT are read whole; bigger ones at their head,
    middle and tail (a read at size-100 must return exactly 100 bytes).
    """
    size = path.stat().st_size
    with path.open("rb", buffering=0) as f:
        if size <= WHOLE_READ_LIMIT:
            data = f.read()
            while chunk := f.read():
                data += chunk
            assert len(data) == size, (path, size, len(data))
            return data
        parts = []
        for off in (0, size // 2, size - 100):
            f.seek(off)
            parts.append(f.read(100))
            assert len(parts[-1]) == 100, (path, off)
        f.seek(size)
        assert f.read(10) == b"", path
        return b"".join(parts)


def serve_folder(folder: Path) -> dict[str, Any]:
    """Read every file of a video folder (streams/ included); return its info.json."""
    assert folder.is_dir(), folder
    names = sorted(os.listdir(folder))
    assert "info.json" in names, (folder, names)
    for name in names:
        path = folder / name
        if path.is_dir():
            for child in sorted(path.iterdir()):
                read_all(child)
        else:
            read_all(path)
    info: dict[str, Any] = json.loads((folder / "info.json").read_bytes())
    return info
