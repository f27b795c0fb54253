"""A recording's big files are kept on disk only when its join is its key's for good.

A chapter that cannot be read when the recording is joined (a card pulled, a
flaky share) leaves it out of the track; that track must not outlive the mount
in the disk cache, where the next mount, with the chapter readable again,
would serve it for the same key.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import BinaryIO

import trio

from telemetryfs.fs import view
from telemetryfs.fs.cache import CachedFile
from telemetryfs.fs.fuse.gil import open_sharing_gil
from telemetryfs.fs.fuse.store import Store
from telemetryfs.fs.options import Options
from telemetryfs.fs.recordings import RecordingsIndex
from tests.footage.real_payloads import make_real_recording


def _recording_entries(cache: Path) -> list[Path]:
    return [k.parent for k in cache.rglob("key.json") if "recording" in json.loads(k.read_text())]


def test_a_recording_joined_without_an_unreadable_chapter_is_not_kept(tmp_path: Path) -> None:
    card = tmp_path / "card"
    (card / "DCIM/100GOPRO").mkdir(parents=True)
    make_real_recording(card / "DCIM/100GOPRO", chapters=2, chapter_s=120, video_mbps=1.0)
    index = RecordingsIndex(os.fsencode(card))
    index.refresh()
    key = index.key("DCIM/100GOPRO/GX0001")
    assert key is not None
    assert len(key.parts) == 2
    cache = tmp_path / "cache"

    def second_unreadable(path: str) -> BinaryIO:
        if path.endswith("GX020001.MP4"):
            raise OSError(errno.EIO, "Input/output error", path)
        return open_sharing_gil(path)

    def track(unreadable: bool) -> bytes:
        async def run() -> bytes | CachedFile:
            store = Store(Options(disk_cache=cache, spill_kb=64))
            if unreadable:
                store.opener = second_unreadable
            return await store.generated(key, "track.gpx")

        content = trio.run(run)
        return Path(content.path).read_bytes() if isinstance(content, CachedFile) else content

    partial = track(unreadable=True)
    assert len(partial) > 64 * 1024  # big enough to be kept, were it for good
    assert _recording_entries(cache) == []
    whole = track(unreadable=False)
    assert whole.count(b"<trkpt") > partial.count(b"<trkpt")
    (entry,) = _recording_entries(cache)
    assert (entry / "track.gpx").read_bytes() == whole
    assert track(unreadable=True) == whole  # the next mount serves the whole track


def test_a_cache_disk_that_refuses_writes_serves_the_file_from_memory(tmp_path: Path) -> None:
    card = tmp_path / "card"
    (card / "DCIM/100GOPRO").mkdir(parents=True)
    make_real_recording(card / "DCIM/100GOPRO", chapters=1, chapter_s=120, video_mbps=1.0)
    video = card / "DCIM/100GOPRO/GX010001.MP4"
    blocked = tmp_path / "not-a-folder"
    blocked.write_bytes(b"")  # the cache's folders cannot be made under a file

    async def run() -> bytes | CachedFile:
        store = Store(Options(disk_cache=blocked / "cache", spill_kb=64))
        return await store.generated(view.source_key(video), "track.gpx")

    content = trio.run(run)
    expected = view.build(video)["track.gpx"]
    assert len(expected) > 64 * 1024
    assert content == expected
