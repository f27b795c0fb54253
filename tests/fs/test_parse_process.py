"""The store's parse process (trio-parallel, fs/fuse/parse_worker.py), with a real worker.

No FUSE here: the store is driven directly. What a mount does with it is in
tests/reliability/test_load.py (latency while hour-long files parse).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import trio

from telemetryfs.fs import view
from telemetryfs.fs.cache import DiskCache, SourceKey
from telemetryfs.fs.fuse.store import Store
from telemetryfs.fs.options import Options
from telemetryfs.parsers.errors import ParseError
from tests.footage import make_gopro, make_novatek


def _key(path: Path) -> SourceKey:
    return SourceKey.from_stat(str(path), os.stat(path))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("process")
    make_gopro(root / "GX010001.MP4", duration_s=120.0, video_mbps=1.0)
    make_novatek(root / "2026_0406_142122_001.MP4", duration_s=30.0, video_mbps=1.0)
    (root / "broken.MP4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100)
    return root


async def test_the_parse_runs_in_another_process_and_gives_the_same_telemetry(
    clips: Path,
) -> None:
    store = Store(Options(disk_cache=None, parse_in="process"))
    key = _key(clips / "GX010001.MP4")
    async with store.parse_processes():
        worker_pid = await store.warm_up()
        assert worker_pid is not None
        assert worker_pid != os.getpid()
        gps_only = await store.telemetry(key, full=False)
        full = await store.telemetry(key, full=True)
    assert gps_only == view.parse(key, full=False)
    assert full == view.parse(key, full=True)
    assert store.stats.parses == store.stats.process_parses == 2  # once per level


async def test_parses_run_in_threads_until_the_worker_has_started(clips: Path) -> None:
    """A read right after mounting does not wait for a process to start."""
    store = Store(Options(disk_cache=None, parse_in="process"))
    assert store.parse_worker_state() == "off"
    async with store.parse_processes():
        assert store.parse_worker_state() == "starting"
        t = await store.telemetry(_key(clips / "GX010001.MP4"), full=False)
        assert (store.stats.parses, store.stats.process_parses) == (1, 0)
        await store.warm_up()
        assert store.parse_worker_state() == "ready"
        await store.telemetry(_key(clips / "GX010001.MP4"), full=True)
        assert (store.stats.parses, store.stats.process_parses) == (2, 1)
    assert len(t.gps) > 0


async def test_thread_mode_starts_no_process(clips: Path) -> None:
    store = Store(Options(disk_cache=None, parse_in="thread"))
    async with store.parse_processes():
        assert await store.warm_up() is None
        t = await store.telemetry(_key(clips / "GX010001.MP4"), full=False)
    assert len(t.gps) > 0


async def test_a_broken_video_fails_once_and_is_remembered(clips: Path, tmp_path: Path) -> None:
    store = Store(Options(disk_cache=tmp_path / "cache", parse_in="process"))
    key = _key(clips / "broken.MP4")
    async with store.parse_processes():
        await store.warm_up()
        with pytest.raises(ParseError) as first:
            await store.telemetry(key, full=True)
        with pytest.raises(ParseError) as again:
            await store.telemetry(key, full=True)
    assert str(again.value) == str(first.value)
    assert store.stats.parses == store.stats.process_parses == 1
    assert store.failure(key) is not None
    # ...and kept on disk: the next mount does not parse it either.
    assert isinstance(DiskCache(tmp_path / "cache").get_object(key, "failure"), ParseError)


async def test_an_unreadable_video_is_not_a_verdict(tmp_path: Path) -> None:
    """The file vanished between the listing and the parse (a card pulled): the
    OSError behind the failure crosses the process boundary as such, and nothing
    is remembered, so the file is parsed again once it is back."""
    path = tmp_path / "GX010001.MP4"
    make_gopro(path, duration_s=5.0, video_mbps=1.0)
    key = _key(path)
    kept = path.read_bytes()
    path.unlink()
    store = Store(Options(disk_cache=tmp_path / "cache", parse_in="process"))
    async with store.parse_processes():
        await store.warm_up()
        with pytest.raises(ParseError) as caught:
            await store.telemetry(key, full=False)
        assert store.stats.process_parses == 1
        assert isinstance(caught.value.__cause__, OSError)
        assert store.failure(key) is None
        path.write_bytes(kept)
        os.utime(path, ns=(key.mtime_ns, key.mtime_ns))
        t = await store.telemetry(_key(path), full=False)
    assert len(t.gps) > 0


async def test_a_killed_worker_fails_that_video_for_this_mount_only(
    clips: Path, tmp_path: Path
) -> None:
    """A worker killed mid-parse (the OOM killer, a crash in a C library) costs that
    video, remembered in memory so it does not kill worker after worker, but not
    on disk: the next mount tries again. The next video gets a new worker."""
    long_clip = tmp_path / "GX010002.MP4"
    make_gopro(long_clip, duration_s=3600.0, video_mbps=0.2)
    key = _key(long_clip)
    store = Store(Options(disk_cache=tmp_path / "cache", parse_in="process"))
    async with store.parse_processes():
        # Twice: the second waits for the warm-up parse_processes() started, which
        # would otherwise run beside the parse on a second worker, not the one killed.
        worker_pid = await store.warm_up()
        assert worker_pid is not None
        assert await store.warm_up() == worker_pid

        async def kill_soon() -> None:
            await trio.sleep(0.1)
            os.kill(worker_pid, signal.SIGKILL)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(kill_soon)
            with pytest.raises(ParseError, match="parse process died") as caught:
                await store.telemetry(key, full=True)
        assert store.failure(key) is caught.value
        with pytest.raises(ParseError):
            await store.telemetry(key, full=True)  # remembered: no second worker lost
        assert store.stats.parses == store.stats.process_parses == 1
        # Until another worker has started, parses run in threads; then in it.
        assert await store.warm_up() not in (None, worker_pid)
        t = await store.telemetry(_key(clips / "2026_0406_142122_001.MP4"), full=True)
        assert len(t.gps) > 0
        assert store.stats.process_parses == 2
    assert DiskCache(tmp_path / "cache").get_object(key, "failure") is None


async def test_the_disk_cache_keeps_the_parts_and_a_new_mount_loads_them(
    clips: Path, tmp_path: Path
) -> None:
    key = _key(clips / "GX010001.MP4")
    first = Store(Options(disk_cache=tmp_path / "cache", parse_in="process"))
    async with first.parse_processes():
        await first.warm_up()
        parsed = await first.telemetry(key, full=True)
    assert first.stats.process_parses == 1
    stored = DiskCache(tmp_path / "cache").get_object(key, "telemetry.full")
    assert isinstance(stored, list)
    assert all(isinstance(p, bytes) for p in stored)
    second = Store(Options(disk_cache=tmp_path / "cache", parse_in="process"))
    async with second.parse_processes():
        assert await second.telemetry(key, full=True) == parsed
    assert (second.stats.parses, second.stats.disk_hits) == (0, 1)


async def test_a_cache_written_as_one_pickle_still_loads(clips: Path, tmp_path: Path) -> None:
    """Caches written before the parts (one pickle of the Telemetry) stay good."""
    key = _key(clips / "GX010001.MP4")
    t = view.parse(key, full=True)
    disk = DiskCache(tmp_path / "cache")
    disk.put_object(key, "telemetry.full", t)
    store = Store(Options(disk_cache=tmp_path / "cache", parse_in="process"))
    assert await store.telemetry(key, full=True) == t
    assert (store.stats.parses, store.stats.disk_hits) == (0, 1)


async def test_damaged_parts_on_disk_are_a_miss(clips: Path, tmp_path: Path) -> None:
    key = _key(clips / "GX010001.MP4")
    DiskCache(tmp_path / "cache").put_object(key, "telemetry.full", [b"garbage", b"more"])
    store = Store(Options(disk_cache=tmp_path / "cache", parse_in="process"))
    async with store.parse_processes():
        t = await store.telemetry(key, full=True)
    assert t == view.parse(key, full=True)
    assert store.stats.parses == 1


async def test_a_worker_killed_while_idle_does_not_fail_the_unmount(clips: Path) -> None:
    """Closing trio-parallel's context reports every worker that died (the OOM killer
    may pick an idle one): the mount still ends cleanly."""
    store = Store(Options(disk_cache=None, parse_in="process"))
    async with store.parse_processes():
        # Twice: the second waits for the warm-up parse_processes() started, so no
        # job is left to come across the dead worker before the context closes.
        worker_pid = await store.warm_up()
        assert worker_pid is not None
        assert await store.warm_up() == worker_pid
        os.kill(worker_pid, signal.SIGKILL)
        await trio.sleep(0.2)
