"""The read-ahead helper process (fs/fuse/announce.py), for real: its announcements
must reach the kernel's page cache, and losing it must cost nothing but speed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from telemetryfs.fs import products
from telemetryfs.fs.fuse import announce
from telemetryfs.fs.fuse.gil import GilSharingFile
from telemetryfs.parsers.model import Extent
from tests.residency import drop_pages, pages, random_file_on_disk, resident_pages

RANGE = 12 * 1024
SPACING = 256 * 1024


@pytest.fixture
def source() -> Iterator[Path]:
    with random_file_on_disk(32 * 1024 * 1024, seed=5) as path:
        yield path


def _uncached(path: Path) -> int:
    drop_pages(path)
    fd = os.open(path, os.O_RDONLY)
    assert resident_pages(fd) == 0
    return fd


def _ranges(path: Path) -> list[tuple[int, int]]:
    # Telemetry's shape: small ranges far apart (an hour of GoPro: 4 KB every 1.25 MB).
    return [(o, RANGE) for o in range(4096, path.stat().st_size - RANGE, SPACING)]


def _wait_resident(fd: int, ranges: list[tuple[int, int]]) -> None:
    deadline = time.monotonic() + 10
    while any(resident_pages(fd, o, n) < pages(n) for o, n in ranges):
        assert time.monotonic() < deadline, "the announced ranges never reached the page cache"
        time.sleep(0.01)


def test_the_helper_brings_announced_ranges_into_the_page_cache(source: Path) -> None:
    fd = _uncached(source)
    helper = announce.Announcer()
    try:
        ranges = _ranges(source)
        assert helper.send(fd, ranges) == len(ranges)
        _wait_resident(fd, ranges)
        # Only those: the gaps between them stay on the disk.
        gaps = [(o + RANGE + 8192, SPACING - RANGE - 16384) for o, _ in ranges[:-1]]
        assert sum(resident_pages(fd, o, n) for o, n in gaps) == 0
        assert helper.ranges_sent == len(ranges)
    finally:
        helper.close()
        os.close(fd)


def test_batches_larger_than_a_message_are_split(source: Path) -> None:
    fd = _uncached(source)
    helper = announce.Announcer()
    try:
        # Many small ranges: more than one message's worth.
        ranges = [(o, 512) for o in range(0, 32 * 1024 * 1024, 6144)]
        assert len(ranges) > announce.RANGES_PER_MESSAGE
        taken = helper.send(fd, ranges)
        assert taken >= announce.RANGES_PER_MESSAGE
        _wait_resident(fd, ranges[:taken])
    finally:
        helper.close()
        os.close(fd)


def _wait_ignoring_sigint(pid: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        status = Path(f"/proc/{pid}/status").read_text()
        ignored = int(
            next(x for x in status.splitlines() if x.startswith("SigIgn:")).split()[1], 16
        )
        if ignored & (1 << (signal.SIGINT - 1)):
            return
        assert time.monotonic() < deadline, "the helper never set its signal handling"
        time.sleep(0.01)


def test_the_helper_exits_when_the_daemon_lets_go_or_dies() -> None:
    helper = announce.Announcer()
    _wait_ignoring_sigint(helper.pid)  # its start-up done
    os.kill(helper.pid, signal.SIGINT)  # Ctrl-C reaches the daemon's whole group
    time.sleep(0.2)
    assert helper.returncode is None  # it waits for the daemon to let go
    started = time.monotonic()
    helper.close()
    assert helper.returncode == 0  # it left by itself (close kills it only after 5 s)
    assert time.monotonic() - started < 4
    # The daemon killed: its end of the socket closes with it, and the helper exits.
    script = (
        "import os; from telemetryfs.fs.fuse import announce;"
        "print(announce.Announcer().pid, flush=True); os._exit(0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    orphan = Path(f"/proc/{int(done.stdout)}/cmdline")
    deadline = time.monotonic() + 10
    while orphan.exists() and b"announce.py" in orphan.read_bytes():
        assert time.monotonic() < deadline, "the helper outlived its daemon"
        time.sleep(0.05)


def test_a_dead_helper_leaves_the_announcing_to_the_parse(
    source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helper = announce.Announcer()
    os.kill(helper.pid, signal.SIGKILL)
    monkeypatch.setattr(announce, "_announcer", helper)
    fd = _uncached(source)
    f = GilSharingFile(str(source))
    try:
        ranges = _ranges(source)
        assert helper.send(fd, ranges) == 0  # nobody reads the socket any more
        f.prefetch(ranges)  # so the parse's own thread announces them
        _wait_resident(fd, ranges)
        assert helper.ranges_sent == 0
    finally:
        f.close()
        os.close(fd)
        helper.close()


def test_what_the_helper_does_not_take_is_left_to_the_caller() -> None:
    extents = [Extent(o, 4096, part) for part in (0, 1) for o in range(0, 40960, 8192)]
    asked: list[tuple[int, list[tuple[int, int]]]] = []

    def takes_three(fd: int, ranges: list[tuple[int, int]]) -> int:
        asked.append((fd, ranges))
        return min(3, len(ranges))

    left = products.announce_through(takes_three, (7, 8), extents)
    # Each file's ranges in one batch, in order; the rest of each batch comes back.
    assert asked == [
        (7, [(e.offset, e.size) for e in extents[:5]]),
        (8, [(e.offset, e.size) for e in extents[5:]]),
    ]
    assert left == extents[3:5] + extents[8:]
    # A remote source (not a descriptor) batches its own requests: nothing is handed over.
    asked.clear()
    remote = GilSharingFile(__file__)
    try:
        assert products.announce_through(takes_three, (remote,), extents[:5]) == extents[:5]
    finally:
        remote.close()
    assert asked == []


def test_the_helper_is_handed_no_more_than_a_prefetch_would_announce() -> None:
    big = products.PREFETCH_LIMIT // 4
    extents = [Extent(i * big, big) for i in range(10)]
    handed: list[tuple[int, int]] = []

    def takes_all(fd: int, ranges: list[tuple[int, int]]) -> int:
        handed.extend(ranges)
        return len(ranges)

    assert products.announce_through(takes_all, 3, extents) == []
    assert handed == [(e.offset, e.size) for e in extents[:4]]
