"""Stream CSVs read whole, in odd sequential steps and at random offsets agree byte for byte.

A sequential reader is served from a window rendered ahead; a seek renders
just the chunks it touches. Both must give the same file. The reads below
open with O_DIRECT, so each one reaches the daemon instead of the page cache.
"""

from __future__ import annotations

import csv
import io
import os
import random
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from telemetryfs.fs.fuse.files import STREAM_WINDOW
from tests.footage.real_payloads import make_real_gopro
from tests.mount.conftest import Mount, MountFactory
from tests.paths import ROOT
from tests.residency import drop_pages


def _mounted_streams(mount: MountFactory, tmp_path: Path) -> tuple[Mount, Path]:
    """Two minutes of a real HERO7's payloads, mounted: the mount and the clip's streams/."""
    card = tmp_path / "card"
    card.mkdir()
    footage = make_real_gopro(card, duration_s=120, source="hero7", video_mbps=2.0)
    m = mount(card, "--no-disk-cache")
    return m, m.path / Path(footage.path).name / "streams"


def test_sequential_and_random_reads_of_stream_csvs_agree(
    mount: MountFactory, tmp_path: Path
) -> None:
    _, streams = _mounted_streams(mount, tmp_path)
    rng = random.Random(7)
    for name in ("ACCL.csv", "GYRO.csv", "GPS5.csv", "ISOE.csv"):
        whole = (streams / name).read_bytes()
        assert len(whole) == (streams / name).stat().st_size
        rows = list(csv.reader(io.StringIO(whole.decode())))
        assert len({len(r) for r in rows}) == 1, name  # every row has the header's columns
        # Sequential, in steps that cut rows, chunks and windows anywhere.
        fd = os.open(streams / name, os.O_RDONLY | os.O_DIRECT)
        try:
            parts, off = [], 0
            while chunk := os.pread(fd, rng.choice([1, 777, 4096, 65536, 300_000]), off):
                parts.append(chunk)
                off += len(chunk)
            assert b"".join(parts) == whole, name
        finally:
            os.close(fd)
        # Random offsets, each on a fresh handle and on one shared handle.
        shared = os.open(streams / name, os.O_RDONLY | os.O_DIRECT)
        try:
            for _ in range(25):
                off = rng.randrange(len(whole) + 10)
                size = rng.choice([1, 100, 8192, 200_000])
                assert os.pread(shared, size, off) == whole[off : off + size], (name, off)
                fresh = os.open(streams / name, os.O_RDONLY | os.O_DIRECT)
                try:
                    assert os.pread(fresh, size, off) == whole[off : off + size], (name, off)
                finally:
                    os.close(fresh)
        finally:
            os.close(shared)


def test_reads_in_flight_together_share_one_window_render(
    mount: MountFactory, tmp_path: Path
) -> None:
    # The kernel's read-ahead sends several requests of one sequential reader at
    # once; each used to render its window again (77 renders for 44 windows).
    m, streams = _mounted_streams(mount, tmp_path)
    path = streams / "ACCL.csv"
    whole = path.read_bytes()
    renders_before = m.log_text().count("render ACCL window")
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    step = 128 * 1024
    try:
        offsets = list(range(0, len(whole), step))
        with ThreadPoolExecutor(4) as pool:
            # Four at a time, in order, as read-ahead does.
            parts = list(pool.map(lambda off: os.pread(fd, step, off), offsets))
    finally:
        os.close(fd)
    assert b"".join(parts) == whole
    renders = m.log_text().count("render ACCL window") - renders_before
    windows = -(-len(whole) // STREAM_WINDOW)
    assert 0 < renders <= windows + 2, (renders, windows)


@pytest.fixture
def disk_dir() -> Iterator[Path]:
    # Beside the checkout, not in /tmp: dropping a file's pages needs a disk-backed
    # filesystem (a tmpfs keeps every page "cached").
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".test-stream-reads-") as d:
        yield Path(d)


def test_a_window_whose_source_bytes_are_not_cached_renders_in_a_thread(
    disk_dir: Path, mount: MountFactory
) -> None:
    # Windows are rendered on the event loop only when RWF_NOWAIT finds their
    # source bytes in the page cache: the loop never waits for a disk.
    m, streams = _mounted_streams(mount, disk_dir)
    path = streams / "ACCL.csv"
    video = m.source / streams.parent.name
    whole = path.read_bytes()  # the source was just written: its pages are cached
    stats = m.stats()
    assert stats["stream_windows"] >= 2
    assert stats["stream_windows_in_threads"] == 0

    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)  # each read reaches the daemon
    try:
        drop_pages(video)
        step = 128 * 1024
        parts = [os.pread(fd, step, off) for off in range(0, len(whole), step)]
    finally:
        os.close(fd)
    assert b"".join(parts) == whole
    after = m.stats()
    assert after["stream_windows_in_threads"] >= 1
    # The threads' reads brought the bytes back: a new reader's windows run inline again.
    with path.open("rb", buffering=0) as again:
        os.posix_fadvise(again.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)  # the mount's pages
        assert again.read() == whole
    last = m.stats()
    assert last["stream_windows"] > after["stream_windows"]
    assert last["stream_windows_in_threads"] == after["stream_windows_in_threads"]
