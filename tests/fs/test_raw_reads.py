"""Raw files (all.gpmf, gps.raw) stitched from source ranges: every window, cached or not."""

from __future__ import annotations

import errno
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from telemetryfs.fs.fuse import files
from telemetryfs.fs.products import NotCachedError, raw_extents_between, raw_layout, read_raw
from telemetryfs.parsers.model import Extent, Piece, RawFile
from tests.residency import random_file_on_disk


@pytest.fixture
def source() -> Iterator[Path]:
    with random_file_on_disk(8 * 1024 * 1024, seed=7) as path:
        yield path


def _layout_and_truth(data: bytes) -> tuple[RawFile, bytes]:
    rng = random.Random(11)
    pieces: list[Piece] = []
    truth = bytearray()
    pos = 0
    while pos < len(data) - 10_000:
        if rng.random() < 0.2:
            literal = rng.randbytes(rng.randint(1, 40))
            pieces.append(literal)
            truth += literal
        size = rng.randint(1, 5000)
        pieces.append(Extent(pos, size))
        truth += data[pos : pos + size]
        pos += size + rng.randint(0, 3000)
    return RawFile("all.gpmf", tuple(pieces)), bytes(truth)


def test_every_window_is_the_stitched_bytes(source: Path) -> None:
    raw, truth = _layout_and_truth(source.read_bytes())
    layout = raw_layout(raw)
    assert layout.size == len(truth) == raw.size
    fd = os.open(source, os.O_RDONLY)
    try:
        rng = random.Random(3)
        windows = [(0, 1), (0, len(truth)), (len(truth) - 1, 10), (len(truth), 5)]
        windows += [(rng.randrange(len(truth)), rng.randint(1, 300_000)) for _ in range(200)]
        for off, size in windows:
            expected = truth[off : off + size]
            assert read_raw(fd, layout, off, size) == expected, (off, size)
            # The file was just read: the cached-only path gives the same bytes.
            assert read_raw(fd, layout, off, size, cached_only=True) == expected, (off, size)
    finally:
        os.close(fd)


def test_cached_only_read_refuses_to_wait_for_the_disk(source: Path) -> None:
    raw, truth = _layout_and_truth(source.read_bytes())
    layout = raw_layout(raw)
    fd = os.open(source, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # out of the page cache
        with pytest.raises(NotCachedError):
            read_raw(fd, layout, 0, 256 * 1024, cached_only=True)
        assert read_raw(fd, layout, 0, 256 * 1024) == truth[: 256 * 1024]
        assert read_raw(fd, layout, 0, 256 * 1024, cached_only=True) == truth[: 256 * 1024]
    finally:
        os.close(fd)


def test_a_source_that_shrank_is_an_error_not_short_bytes(source: Path) -> None:
    raw, _ = _layout_and_truth(source.read_bytes())
    layout = raw_layout(raw)
    last = max(p.offset + p.size for p in raw.pieces if isinstance(p, Extent))
    fd = os.open(source, os.O_RDWR)
    try:
        os.truncate(source, last - 100)
        for cached_only in (False, True):
            with pytest.raises(OSError, match="changed"):
                read_raw(fd, layout, layout.size - 200, 200, cached_only=cached_only)
    finally:
        os.close(fd)


def test_extents_between_cover_the_window() -> None:
    raw = RawFile("x", (b"ab", Extent(100, 10), b"c", Extent(500, 10), Extent(900, 10)))
    layout = raw_layout(raw)  # raw offsets: ab 0-2, 2-12, c 12-13, 13-23, 23-33
    assert raw_extents_between(layout, 0, 2) == []
    assert raw_extents_between(layout, 0, 3) == [Extent(100, 1)]
    assert raw_extents_between(layout, 11, 14) == [Extent(109, 1), Extent(500, 1)]
    assert raw_extents_between(layout, 20, 100) == [Extent(507, 3), Extent(900, 10)]
    # One extent of a whole video: only the window is announced, not gigabytes.
    whole = raw_layout(RawFile("v", (Extent(0, 4 << 30),)))
    assert raw_extents_between(whole, 1 << 30, (1 << 30) + 4096) == [Extent(1 << 30, 4096)]


def test_a_filesystem_refusing_rwf_nowait_sends_a_handles_reads_to_threads() -> None:
    # A handle tries its reads on the event loop (files._if_cached); a filesystem
    # that cannot say whether a read would wait (EOPNOTSUPP) turns that off for good.
    @dataclass
    class Handle:
        nowait: bool = True

    def cached(*, cached_only: bool) -> bytes:
        assert cached_only
        return b"from the page cache"

    def not_cached(*, cached_only: bool) -> bytes:
        raise NotCachedError

    def refused(*, cached_only: bool) -> bytes:
        raise OSError(errno.EOPNOTSUPP, "no RWF_NOWAIT here")

    handle = Handle()
    assert files._if_cached(handle, cached) == b"from the page cache"
    assert files._if_cached(handle, not_cached) is None
    assert handle.nowait
    assert files._if_cached(handle, refused) is None
    assert not handle.nowait
    assert files._if_cached(handle, cached) is None  # not tried again
