"""Which pages of a file the kernel holds, asked without reading them (mmap + mincore).

A read would pull the pages in (even with RWF_NOWAIT the kernel starts its
read-ahead), so tests that check what was announced or kept ask mincore.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import os
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.paths import ROOT

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mmap.restype = ctypes.c_void_p
_libc.mmap.argtypes = [
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
]
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
_libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_FAILED = ctypes.c_void_p(-1).value


def resident_pages(fd: int, offset: int = 0, size: int | None = None) -> int:
    """How many pages of ``fd``'s bytes ``offset .. offset + size`` are in the page cache."""
    if size is None:
        size = os.fstat(fd).st_size - offset
    start = offset - offset % mmap.PAGESIZE
    length = offset + size - start
    if length <= 0:
        return 0
    vec = ctypes.create_string_buffer((length + mmap.PAGESIZE - 1) // mmap.PAGESIZE)
    address = _libc.mmap(None, length, mmap.PROT_READ, mmap.MAP_SHARED, fd, start)
    assert address not in (None, _FAILED), os.strerror(ctypes.get_errno())
    try:
        assert _libc.mincore(address, length, vec) == 0, os.strerror(ctypes.get_errno())
    finally:
        _libc.munmap(address, length)
    return sum(b & 1 for b in vec.raw)


def drop_pages(path: Path) -> None:
    """Take ``path``'s pages out of the page cache (written first: dirty pages stay)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def pages(size: int) -> int:
    return (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE


@contextlib.contextmanager
def dir_on_disk() -> Iterator[Path]:
    """A folder beside the checkout, not in /tmp: page-cache tests need a disk-backed
    filesystem (a tmpfs /tmp is always "cached")."""
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".test-disk-") as d:
        yield Path(d)


@contextlib.contextmanager
def random_file_on_disk(size: int, seed: int, name: str = "source.bin") -> Iterator[Path]:
    """A file of ``size`` random bytes in a ``dir_on_disk``."""
    with dir_on_disk() as d:
        path = d / name
        path.write_bytes(random.Random(seed).randbytes(size))
        yield path
