"""Read-ahead (-o readahead=N): listing a video folder prepares the next videos of
its source folder in a worker process, into the disk cache.

What it must never change: the bytes (a read-ahead folder reads exactly as one
the daemon made itself), the parse count (a video read ahead is not parsed again
by the daemon, nor by a later mount), the disk cache's cap, and a broken video's
verdict.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.footage import make_gopro
from tests.mount.conftest import Mount, MountFactory

VIDEOS = [f"GX0100{i:02d}.MP4" for i in range(6)]
BROKEN = "GX010002.MP4"  # in the middle, so it is read ahead


@pytest.fixture
def card(tmp_path: Path) -> Path:
    root = tmp_path / "card"
    root.mkdir()
    for i, name in enumerate(VIDEOS):
        if name == BROKEN:
            # A moov whose size field runs past the file: a parse failure.
            (root / name).write_bytes(b"\0\0\0\x18ftypmp41" + b"\0" * 16 + b"\x7f\xff\xff\xffmoov")
        else:
            make_gopro(root / name, duration_s=30, video_mbps=0.5, seed=i)
    (root / "notes.txt").write_text("not footage\n")
    return root


def _tree(top: Path) -> dict[str, str]:
    found = {}
    for folder, _, files in os.walk(top):
        for name in files:
            path = Path(folder) / name
            found[str(path.relative_to(top))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def _wait_for_read_ahead(m: Mount, parses: int, timeout_s: float = 60) -> dict[str, int]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        stats = m.stats()
        if stats["read_ahead_parses"] >= parses:
            return stats
        time.sleep(0.05)
    pytest.fail(f"read-ahead prepared {m.stats()['read_ahead_parses']} of {parses} videos")


def test_listing_a_video_folder_prepares_the_next_ones_in_name_order(
    mount: MountFactory, card: Path
) -> None:
    m = mount(card, "-o", "readahead=3")
    os.listdir(m.path)
    assert m.stats()["parses"] == 0  # a folder listing alone parses nothing
    os.listdir(m.path / VIDEOS[0])  # the first video: the daemon parses it
    stats = _wait_for_read_ahead(m, 3)
    assert stats["parses"] == 4  # the first, then the next three, no more
    assert stats["read_ahead_parses"] == 3
    # The prepared videos cost the daemon nothing: no parse, no render.
    renders = stats["renders"]
    for name in VIDEOS[1:4]:
        assert os.listdir(m.path / name)
        (m.path / name / "info.json").read_bytes()
    assert m.stats()["parses"] == 4
    assert m.stats()["renders"] == renders
    assert m.stats()["parse_failures"] == 0  # the broken one's verdict came from disk


def test_an_rsync_reads_the_same_bytes_with_and_without_read_ahead(
    mount: MountFactory, card: Path, tmp_path: Path
) -> None:
    plain = mount(card, "-o", "readahead=0", cache_dir=tmp_path / "cache-plain")
    ahead = mount(card, "-o", "readahead=2", cache_dir=tmp_path / "cache-ahead")
    copies = {}
    for m in (plain, ahead):
        dest = tmp_path / f"backup-{m.path.name}"
        subprocess.run(["rsync", "-a", f"{m.path}/", f"{dest}/"], check=True)
        copies[m.path.name] = _tree(dest)
    assert copies[plain.path.name] == copies[ahead.path.name]
    assert f"{BROKEN}/info.json" in copies[plain.path.name]
    assert json.loads((ahead.path / BROKEN / "info.json").read_text())["error"]
    assert plain.stats()["read_ahead_parses"] == 0
    # Each video parsed once, whoever parsed it (the recordings view joins the
    # videos' parsed telemetry, it does not parse them again).
    assert plain.stats()["parses"] == len(VIDEOS)
    assert ahead.stats()["parses"] == len(VIDEOS)


def test_a_remount_finds_everything_read_ahead_on_disk(
    mount: MountFactory, card: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "disk"
    first = mount(card, "-o", "readahead=8", cache_dir=cache)
    os.listdir(first.path)  # a walk lists the folder before its videos
    os.listdir(first.path / VIDEOS[0])
    _wait_for_read_ahead(first, len(VIDEOS) - 1)
    assert first.unmount() == 0
    second = mount(card, cache_dir=cache)
    for name in VIDEOS[1:]:
        for path in (second.path / name).rglob("*"):
            if path.is_file():
                path.read_bytes()
    assert second.stats()["parses"] == 0


def test_read_ahead_stays_within_the_disk_cache_cap(
    mount: MountFactory, card: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "disk"
    # Each video's entry is ~0.4 MB: eight read ahead overflow 1 MiB at once.
    m = mount(card, "-o", "readahead=8,disk_cache_mb=1", cache_dir=cache)
    os.listdir(m.path)
    os.listdir(m.path / VIDEOS[0])
    _wait_for_read_ahead(m, len(VIDEOS) - 1)
    assert m.unmount() == 0
    used = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
    assert used <= 1024 * 1024, used


@pytest.mark.parametrize("args", [("-o", "readahead=0"), ("--no-disk-cache",)])
def test_read_ahead_is_off_without_a_count_or_a_disk_cache(
    mount: MountFactory, card: Path, args: tuple[str, ...]
) -> None:
    m = mount(card, *args)
    os.listdir(m.path)
    os.listdir(m.path / VIDEOS[0])
    time.sleep(1.5)  # what a read-ahead would have needed, with room to spare
    assert m.stats()["parses"] == 1
    assert m.stats()["read_ahead_parses"] == 0
