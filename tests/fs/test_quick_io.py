"""Quick I/O on the event loop: the filesystem check, the store's run_quick with its
back-off, and the disk cache's page-cache-only read.

A thread hop costs ~165 us on a 2-core VM; the stat, open and cached reads a
card's rsync makes by the ten thousand take microseconds inline. These tests
hold the rules that make that safe: only on local disks, never when reading
would wait for the disk, and back to threads when calls turn slow.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
import trio

from telemetryfs.fs.cache import DiskCache, NotInPageCacheError, SourceKey
from telemetryfs.fs.fuse import store as store_module
from telemetryfs.fs.fuse.mounts import LOCAL_FILESYSTEMS, filesystem_type, on_local_disk
from telemetryfs.fs.fuse.store import Store
from telemetryfs.fs.options import Options
from tests.residency import drop_pages

# A NAS share mounted over NFS inside a local home, an SMB share with a space in
# its mount point, and sshfs over the NAS's folder (mounted on top of it).
MOUNTINFO = """\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:40 / /home/ann/nas rw,relatime shared:20 - nfs4 nas:/footage rw,vers=4.2
31 22 0:41 / /media/ann/Dash\\040Cam rw,relatime - cifs //nas/dash rw
32 22 8:17 / /media/ann/SDCARD rw,nosuid shared:30 - exfat /dev/sdb1 rw
33 30 0:42 / /home/ann/nas/over rw - fuse.sshfs nas:/x rw
34 30 0:43 / /home/ann/nas/over rw - ext4 /dev/sdc1 rw
"""


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/home/ann/clips/GX010042.MP4", "ext4"),
        ("/home/ann/nas/2026/clip.MP4", "nfs4"),
        ("/home/ann/nas", "nfs4"),
        ("/home/ann/nasty/clip.MP4", "ext4"),  # a sibling whose name starts the same
        ("/media/ann/Dash Cam/Movie/F.MP4", "cifs"),
        ("/media/ann/SDCARD/DCIM", "exfat"),
        ("/home/ann/nas/over/a.MP4", "ext4"),  # the later mount on the same point
    ],
)
def test_the_longest_mount_point_holding_the_path_names_its_filesystem(
    path: str, kind: str
) -> None:
    assert filesystem_type(path, MOUNTINFO) == kind


def test_network_and_fuse_filesystems_are_not_local() -> None:
    for kind in ("nfs4", "cifs", "fuse.sshfs", "fuse.rclone", "9p", "ceph"):
        assert kind not in LOCAL_FILESYSTEMS
    for kind in ("ext4", "xfs", "btrfs", "vfat", "exfat", "fuseblk", "tmpfs"):
        assert kind in LOCAL_FILESYSTEMS


def test_this_machines_tmp_is_found_in_its_own_table(tmp_path: Path) -> None:
    kind = filesystem_type(tmp_path)
    assert kind is not None
    assert on_local_disk(tmp_path) == (kind in LOCAL_FILESYSTEMS)
    assert filesystem_type("/proc/self") == "proc"
    assert not on_local_disk("/proc/self")


async def test_run_quick_runs_on_the_loop_thread() -> None:
    store = Store(Options(disk_cache=None))
    assert await store.run_quick(threading.get_ident) == threading.get_ident()
    assert await store.run_io(threading.get_ident) != threading.get_ident()


def _slow() -> int:
    time.sleep(store_module.QUICK_CALL_S * 1.5)
    return threading.get_ident()


async def test_one_slow_call_is_no_verdict_but_several_send_calls_to_threads() -> None:
    store = Store(Options(disk_cache=None))
    loop = threading.get_ident()
    for _ in range(store_module.QUICK_SLOW_CALLS - 1):
        assert await store.run_quick(_slow) == loop
        assert await store.run_quick(threading.get_ident) == loop
    assert await store.run_quick(_slow) == loop  # the last straw, still inline
    assert await store.run_quick(threading.get_ident) != loop  # now in a thread


async def test_slow_calls_spread_over_more_than_the_back_off_are_forgiven(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store_module, "QUICK_BACKOFF_S", 0.05)
    store = Store(Options(disk_cache=None))
    loop = threading.get_ident()
    for _ in range(store_module.QUICK_SLOW_CALLS + 2):
        assert await store.run_quick(_slow) == loop
        await trio.sleep(0.06)


def _cache_with_item(tmp_path: Path, data: bytes) -> tuple[DiskCache, SourceKey]:
    video = tmp_path / "GX010001.MP4"
    video.write_bytes(b"video")
    key = SourceKey.from_stat(str(video), os.stat(video))
    cache = DiskCache(tmp_path / "cache")
    cache.put(key, "track.gpx", data)
    return cache, key


def test_a_cached_item_is_read_without_waiting(tmp_path: Path) -> None:
    cache, key = _cache_with_item(tmp_path, b"<gpx/>" * 1000)
    assert cache.get_cached(key, "track.gpx", 1 << 20) == b"<gpx/>" * 1000
    assert cache.get_cached(key, "missing.csv", 1 << 20) is None
    with pytest.raises(NotInPageCacheError):
        cache.get_cached(key, "track.gpx", 100)  # too big to copy on the loop


def test_an_item_only_on_disk_is_not_read_inline(tmp_path: Path) -> None:
    data = os.urandom(256 * 1024)
    cache, key = _cache_with_item(tmp_path, data)
    drop_pages(next((tmp_path / "cache").rglob("track.gpx*")))
    with pytest.raises(NotInPageCacheError):
        cache.get_cached(key, "track.gpx", 1 << 20)
    assert cache.get(key, "track.gpx") == data  # the thread's read
    assert cache.get_cached(key, "track.gpx", 1 << 20) == data  # now in the page cache


def _resident_bytes(path: Path) -> int:
    # util-linux's fincore (mincore(2)): a look that, unlike a RWF_NOWAIT read
    # (which starts the kernel's read-ahead when it misses), changes nothing.
    out = subprocess.run(
        ["fincore", "--bytes", "--noheadings", "--output", "RES", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return int(out.strip())


def test_a_content_read_announces_the_folders_other_items(tmp_path: Path) -> None:
    # After a remount every item is on disk only; a copy of a video folder reads
    # them all. The first read asks the kernel for the others in one batch.
    gpx, kml = os.urandom(256 * 1024), os.urandom(200 * 1024)
    cache, key = _cache_with_item(tmp_path, gpx)
    cache.put(key, "track.kml", kml)
    files = [item for item in (tmp_path / "cache").rglob("*") if item.is_file()]
    kml_file = next(item for item in files if item.name.startswith("track.kml"))
    for item in files:
        drop_pages(item)
    assert _resident_bytes(kml_file) == 0
    assert cache.get(key, "track.gpx") == gpx  # a plain read announces nothing
    time.sleep(0.2)
    assert _resident_bytes(kml_file) == 0
    assert cache.get(key, "track.gpx", warm_folder=True) == gpx
    deadline = time.monotonic() + 5  # the kernel reads it in the background
    while _resident_bytes(kml_file) < len(kml):
        assert time.monotonic() < deadline, "track.kml never reached the page cache"
        time.sleep(0.01)
    assert cache.get_cached(key, "track.kml", 1 << 20) == kml
