"""Big generated files render into the disk cache and are read from there by range.

A 3-hour recording's track.geojson is 39 MB and its track.gpx 35 MB: held whole,
in the memory cache and in every open handle, they took the daemon past its
150 MB. Past ``-o spill_kb`` a file is written into the disk cache as it renders
and served from its file; a recording has an entry of its own for them, keyed by
every part, so a remount reads them instead of rendering them again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.footage.real_payloads import make_real_recording
from tests.mount.conftest import MountFactory

CHAPTER = "DCIM/100GOPRO/GX010001.MP4"
RECORDING = "recordings/DCIM/100GOPRO/GX0001"
BIG = ("track.gpx", "track.csv", "track.geojson")
SMALL = ("info.json", "track.srt")


def _card(tmp_path: Path) -> Path:
    card = tmp_path / "card"
    (card / "DCIM/100GOPRO").mkdir(parents=True)
    # Two 2-minute chapters of a real HERO7's payloads: each track file of the
    # recording is 100-400 KB, past the 64 KiB these mounts spill at.
    make_real_recording(card / "DCIM/100GOPRO", chapters=2, chapter_s=120, video_mbps=1.0)
    return card


def _entry_of_recording(cache: Path) -> Path:
    found = [k.parent for k in cache.rglob("key.json") if "recording" in json.loads(k.read_text())]
    assert len(found) == 1, found
    return found[0]


def test_spilled_files_match_the_files_held_whole_and_a_remount_renders_none(
    mount: MountFactory, tmp_path: Path
) -> None:
    card = _card(tmp_path)
    held = mount(card, "--no-disk-cache", name="held")
    cache = tmp_path / "spill-cache"
    spilled = mount(card, "-o", "spill_kb=64", cache_dir=cache, name="spilled")
    whole: dict[str, bytes] = {}
    for folder in (CHAPTER, RECORDING):
        for name in (*BIG, *SMALL):
            expected = (held.path / folder / name).read_bytes()
            path = spilled.path / folder / name
            assert path.stat().st_size == len(expected), (folder, name)
            assert path.read_bytes() == expected, (folder, name)
            whole[f"{folder}/{name}"] = expected
    # Ranges anywhere in a spilled file, as a seeking reader asks for them.
    gpx = whole[f"{RECORDING}/track.gpx"]
    fd = os.open(spilled.path / RECORDING / "track.gpx", os.O_RDONLY)
    try:
        for off in (0, 1, 65_536, len(gpx) // 2, len(gpx) - 10, len(gpx), len(gpx) + 5):
            assert os.pread(fd, 4096, off) == gpx[off : off + 4096], off
    finally:
        os.close(fd)

    # The recording's entry holds its big files, exactly; never its info.json, whose
    # facts depend on the mount's options.
    entry = _entry_of_recording(cache)
    kept = {p.name for p in entry.iterdir()} - {"key.json"}
    assert kept == set(BIG), kept
    for name in BIG:
        assert (entry / name).read_bytes() == whole[f"{RECORDING}/{name}"]
    assert len(whole[f"{RECORDING}/track.gpx"]) > 64 * 1024

    spilled.unmount()
    again = mount(card, "-o", "spill_kb=64", cache_dir=cache, name="again")
    for folder in (RECORDING, CHAPTER):
        for name in BIG:
            assert (again.path / folder / name).read_bytes() == whole[f"{folder}/{name}"]
    assert again.stats()["renders"] == 0  # read from the entries, never rendered again


def test_chapters_that_changed_make_the_recordings_files_anew(
    mount: MountFactory, tmp_path: Path
) -> None:
    card = _card(tmp_path)
    cache = tmp_path / "spill-cache"
    first = mount(card, "-o", "spill_kb=64", cache_dir=cache, name="first")
    before = (first.path / RECORDING / "track.csv").read_bytes()
    first.unmount()
    # The chapters written again, shorter: another version of the recording.
    second = card / "DCIM/100GOPRO/GX020001.MP4"
    make_real_recording(card / "DCIM/100GOPRO", chapters=2, chapter_s=60, video_mbps=1.0)
    assert second.stat().st_size > 0
    again = mount(card, "-o", "spill_kb=64", cache_dir=cache, name="again")
    after = (again.path / RECORDING / "track.csv").read_bytes()
    assert after != before
    assert after.count(b"\n") < before.count(b"\n")
    assert again.stats()["renders"] >= 1
    held = mount(card, "--no-disk-cache", name="held")
    assert (held.path / RECORDING / "track.csv").read_bytes() == after
