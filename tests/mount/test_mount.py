"""Real FUSE mounts over the shared samples: listing, reading, sizes, tools, writes."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gpx_tools import gpsbabel_points, ogr_points, validate
from tests.mount.conftest import MountFactory
from tests.paths import ROOT, SAMPLES
from tests.residency import dir_on_disk, drop_pages

# A card-like copy of real samples (copied into the test's tmp folder, never into the repo).
CARD_FILES = {
    "DCIM/100GOPRO/hero5-trimmed.mp4": "gopro/mp4/hero5-trimmed.mp4",
    "DCIM/100GOPRO/hero6-trimmed.mp4": "gopro/mp4/hero6-trimmed.mp4",
    "DCIM/100GOPRO/hero8-trimmed.mp4": "gopro/mp4/hero8-trimmed.mp4",
    "DCIM/100GOPRO/karma.mp4": "gopro/mp4/karma.mp4",
    "DCIM/100GOPRO/photo.JPG": "other/exiftool-GoPro.jpg",
    "gpmf/hero11.bin": "gopro/gpmf/gopro2gpx-hero11.bin",
    "gpmf/hero7.raw": "gopro/gpmf/gopro-telemetry-hero7.raw",
    "Movie/novatek__viofo-a119-mini2-coldstart.mp4": "dashcam/dashcamigo/novatek__viofo-a119-mini2-coldstart.mp4",
    "Movie/NO20191130-120156-000121.MP4": "dashcam/70mai/NO20191130-120156-000121.MP4",
    "Movie/MOV_0581.nmea": "dashcam/dashcamigo/dashcam-viewer-corpus__MOV_0581.nmea",
    "other/avi__100_0306.AVI": "other/avi__100_0306.AVI",
    "other/notes.txt": None,
}


def make_card(root: Path) -> Path:
    for rel, sample in CARD_FILES.items():
        dest = root / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        if sample is None:
            dest.write_text("not footage\n")
        else:
            shutil.copyfile(SAMPLES / sample, dest)
    (root / "broken").mkdir()
    (root / "broken" / "garbage.MP4").write_bytes(b"\0\0\0\x18ftypmp41" + os.urandom(3000))
    (root / "broken" / "liar.MP4").write_bytes(b"\xff\xff\xff\xffmoov" + b"\0" * 64)
    return root


@pytest.fixture
def card(tmp_path: Path) -> Path:
    return make_card(tmp_path / "card")


def all_files(top: Path) -> list[Path]:
    return sorted(Path(d) / f for d, _, files in os.walk(top) for f in files)


def test_listing_mirrors_the_source_and_parses_nothing(mount: MountFactory, card: Path) -> None:
    m = mount(card)
    assert sorted(os.listdir(m.path)) == ["DCIM", "Movie", "broken", "gpmf", "other", "recordings"]
    # ls -l stats every entry: video folders answer from the source's stat alone.
    listing = subprocess.run(
        ["ls", "-l", str(m.path / "DCIM/100GOPRO")], capture_output=True, text=True, check=True
    )
    # One folder per video, the photo with GPMF included; .txt hidden.
    assert sorted(os.listdir(m.path / "DCIM/100GOPRO")) == [
        "hero5-trimmed.mp4",
        "hero6-trimmed.mp4",
        "hero8-trimmed.mp4",
        "karma.mp4",
        "photo.JPG",
    ]
    for name in os.listdir(m.path / "other"):
        os.stat(m.path / "other" / name)
    assert sorted(os.listdir(m.path / "other")) == ["avi__100_0306.AVI"]
    assert "hero5-trimmed.mp4" in listing.stdout
    assert m.stats()["parses"] == 0


def test_no_acls_or_labels_so_ls_asks_once_not_per_file(mount: MountFactory, card: Path) -> None:
    m = mount(card)
    folder = m.path / "DCIM/100GOPRO/karma.mp4"
    for name in ("security.selinux", "system.posix_acl_access"):
        # ENOTSUP: ls remembers it per device.
        with pytest.raises(OSError, match=os.strerror(errno.ENOTSUP)):
            os.getxattr(folder / "info.json", name)
    with pytest.raises(OSError, match=os.strerror(errno.ENODATA)):
        os.getxattr(folder / "info.json", "user.comment")  # the user namespace exists
    # ls -l of a folder of many files: each xattr is asked once for the whole listing
    # (an ENODATA answer made ls ask for both on every file: two requests each).
    trace = subprocess.run(
        ["strace", "-f", "-c", "-e", "trace=getxattr,lgetxattr", "ls", "-lR", str(folder)],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    calls = sum(int(line.split()[3]) for line in trace.splitlines() if "getxattr" in line)
    files = sum(len(f) for _, _, f in os.walk(folder))
    assert files > 10
    assert calls <= 4, trace


def test_every_video_folder_has_info_json(mount: MountFactory, card: Path) -> None:
    m = mount(card)
    videos = [p for p in m.path.rglob("*") if (p / "info.json").exists()]
    names = {p.name for p in videos}
    assert names >= {"hero5-trimmed.mp4", "karma.mp4", "garbage.MP4", "liar.MP4", "MOV_0581.nmea"}
    for video in videos:
        info = json.loads((video / "info.json").read_text())
        for field in (
            "format",
            "camera",
            "gps_samples",
            "gps_valid",
            "start_utc",
            "end_utc",
            "duration_s",
            "streams",
            "error",
            "warnings",
        ):
            assert field in info, (video, field)


def test_stat_size_equals_bytes_read_everywhere(mount: MountFactory, card: Path) -> None:
    m = mount(card)
    files = all_files(m.path)
    assert len(files) > 40
    for path in files:
        data = path.read_bytes()
        assert path.stat().st_size == len(data), path


def test_reads_at_odd_offsets_match_the_whole(mount: MountFactory, card: Path) -> None:
    m = mount(card)
    targets = [
        m.path / "DCIM/100GOPRO/karma.mp4/track.gpx",
        m.path / "DCIM/100GOPRO/karma.mp4/streams/all.gpmf",
        m.path / "DCIM/100GOPRO/hero5-trimmed.mp4/streams/ACCL.csv",
        m.path / "DCIM/100GOPRO/hero5-trimmed.mp4/track.csv",
    ]
    for path in targets:
        whole = path.read_bytes()
        with path.open("rb", buffering=0) as f:
            for off, size in ((7, 13), (4095, 2), (len(whole) - 3, 100), (len(whole) // 2, 70001)):
                f.seek(off)
                assert f.read(size) == whole[off : off + size], (path, off, size)


def test_cp_find_and_cat(mount: MountFactory, card: Path, tmp_path: Path) -> None:
    m = mount(card)
    found = subprocess.run(
        ["find", str(m.path), "-name", "*.gpx"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert str(m.path / "DCIM/100GOPRO/karma.mp4/track.gpx") in found
    dest = tmp_path / "copy.gpx"
    subprocess.run(["cp", str(m.path / "DCIM/100GOPRO/karma.mp4/track.gpx"), str(dest)], check=True)
    assert dest.read_bytes() == (m.path / "DCIM/100GOPRO/karma.mp4/track.gpx").read_bytes()
    assert dest.read_bytes().startswith(b"<?xml")


def test_derived_files_carry_the_source_mtime_and_owner(mount: MountFactory, card: Path) -> None:
    src = card / "DCIM/100GOPRO/karma.mp4"
    os.utime(src, ns=(1_600_000_000_000_000_000, 1_500_000_000_123_456_789))
    m = mount(card)
    for path in [
        m.path / "DCIM/100GOPRO/karma.mp4",
        *all_files(m.path / "DCIM/100GOPRO/karma.mp4"),
    ]:
        st = path.stat()
        assert st.st_mtime_ns == 1_500_000_000_123_456_789, path
        assert st.st_uid == src.stat().st_uid
    assert oct((m.path / "DCIM/100GOPRO/karma.mp4/track.gpx").stat().st_mode & 0o777) == oct(
        src.stat().st_mode & 0o444
    )


def test_karma_all_gpmf_is_byte_identical_to_the_ffmpeg_extract(
    mount: MountFactory, card: Path
) -> None:
    m = mount(card)
    truth = (SAMPLES / "gopro/gpmf/gopro2gpx-karma.bin").read_bytes()
    served = m.path / "DCIM/100GOPRO/karma.mp4/streams/all.gpmf"
    assert served.read_bytes() == truth  # the source's ranges are in the page cache
    # Again with neither the source nor the served file in the page cache: now
    # the reads wait for the disk, in worker threads, and must give the same bytes.
    for path in (card / "DCIM/100GOPRO/karma.mp4", served):
        fd = os.open(path, os.O_RDONLY)
        if path != served:
            os.fsync(fd)  # dirty pages (the card was just written) are not dropped
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
    assert served.read_bytes() == truth


def test_every_gpx_validates_and_tools_agree_on_point_counts(
    mount: MountFactory, card: Path
) -> None:
    import gpxpy

    m = mount(card)
    gpx_files = sorted(m.path.rglob("track.gpx"))
    assert len(gpx_files) >= 5
    for gpx in gpx_files:
        info = json.loads((gpx.parent / "info.json").read_text())
        validate(gpx)
        ogr_count, babel_count = ogr_points(gpx), gpsbabel_points(gpx)
        parsed = gpxpy.parse(gpx.read_text())
        ours = sum(len(s.points) for t in parsed.tracks for s in t.segments)
        assert ogr_count == babel_count == ours == info["gps_valid"], gpx


def test_hero8_without_fix_has_csv_rows_but_no_track(mount: MountFactory, card: Path) -> None:
    m = mount(card)
    folder = m.path / "DCIM/100GOPRO/hero8-trimmed.mp4"
    info = json.loads((folder / "info.json").read_text())
    assert info["gps_samples"] > 0
    assert info["gps_valid"] == 0
    rows = (folder / "track.csv").read_text().splitlines()
    assert len(rows) == info["gps_samples"] + 1
    assert not (folder / "track.gpx").exists()


def test_writes_fail_with_erofs_and_change_nothing(mount: MountFactory, card: Path) -> None:
    before = {p: p.read_bytes() for p in all_files(card)}
    m = mount(card)
    folder = m.path / "DCIM/100GOPRO/karma.mp4"
    attempts = [
        lambda: open(folder / "track.gpx", "r+b"),  # noqa: SIM115
        lambda: open(folder / "new.txt", "wb"),  # noqa: SIM115
        lambda: os.mkdir(m.path / "newdir"),
        lambda: os.unlink(folder / "track.gpx"),
        lambda: os.rmdir(folder / "streams"),
        lambda: os.rename(folder / "track.gpx", folder / "moved.gpx"),
        lambda: os.chmod(folder / "track.gpx", 0o777),
        lambda: os.truncate(folder / "track.gpx", 0),
        lambda: os.symlink("x", m.path / "link"),
        lambda: os.setxattr(folder / "track.gpx", "user.x", b"1"),
        lambda: os.utime(folder / "track.gpx", (0, 0)),
    ]
    for attempt in attempts:
        with pytest.raises(OSError, match="Read-only") as exc:
            attempt()
        assert exc.value.errno == errno.EROFS, attempt
    assert {p: p.read_bytes() for p in all_files(card)} == before


def test_broken_videos_list_with_a_reason_and_the_mount_lives(
    mount: MountFactory, card: Path
) -> None:
    m = mount(card)
    for name in ("garbage.MP4", "liar.MP4"):
        info = json.loads((m.path / "broken" / name / "info.json").read_text())
        assert info["error"], name
        assert "\n" not in info["error"]
    # Reading them again costs no new parse (failures are cached).
    parses = m.stats()["parses"]
    (m.path / "broken/garbage.MP4/info.json").read_bytes()
    assert m.stats()["parses"] == parses
    assert (m.path / "DCIM/100GOPRO/karma.mp4/track.gpx").read_bytes().startswith(b"<?xml")


def test_rsync_twice_copies_nothing_new_and_touch_copies_one_folder(
    mount: MountFactory, card: Path, tmp_path: Path
) -> None:
    m = mount(card)
    dest = tmp_path / "backup"
    rsync = ["rsync", "-a", "--itemize-changes", f"{m.path}/", f"{dest}/"]
    first = subprocess.run(rsync, capture_output=True, text=True, check=True).stdout
    assert "track.gpx" in first
    second = subprocess.run(rsync, capture_output=True, text=True, check=True).stdout
    assert second.strip() == ""
    os.utime(card / "DCIM/100GOPRO/hero5-trimmed.mp4")
    time.sleep(1.2)  # past the attribute timeout
    third = subprocess.run(rsync, capture_output=True, text=True, check=True).stdout
    changed = {line.split(" ", 1)[1] for line in third.strip().splitlines()}
    assert changed, third
    # The video's folder, and its recording of one part in the recordings view.
    touched = ("DCIM/100GOPRO/hero5-trimmed.mp4", "recordings/DCIM/100GOPRO/hero5-trimmed.mp4")
    assert all(c.startswith(touched) for c in changed), changed


def test_a_remount_with_the_disk_cache_parses_nothing(
    mount: MountFactory, card: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "diskcache"
    first = mount(card, cache_dir=cache)
    reference = {p.relative_to(first.path): p.read_bytes() for p in all_files(first.path)}
    assert first.stats()["parses"] > 0
    assert first.unmount() == 0
    second = mount(card, cache_dir=cache)
    again = {p.relative_to(second.path): p.read_bytes() for p in all_files(second.path)}
    assert again == reference
    assert second.stats()["parses"] == 0


def test_the_disk_cache_stays_within_disk_cache_mb(mount: MountFactory, tmp_path: Path) -> None:
    from tests.footage import make_gopro

    card = tmp_path / "card"
    card.mkdir()
    for i in range(8):  # ~0.4 MB of cache each (telemetry with 200 Hz ACCL/GYRO, renders):
        # two fit in 1 MiB
        make_gopro(card / f"GX0100{i:02d}.MP4", duration_s=60, video_mbps=0.5, seed=i)
    cache = tmp_path / "diskcache"
    first = mount(card, "-o", "disk_cache_mb=1", cache_dir=cache)
    for i in range(8):
        folder = first.path / f"GX0100{i:02d}.MP4"
        (folder / "info.json").read_bytes()
        (folder / "track.gpx").read_bytes()
        used = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
        assert used <= 1024 * 1024 + 600_000, (i, used)  # the cap, plus the entry being written
    assert first.unmount() == 0
    assert sum(p.stat().st_size for p in cache.rglob("*") if p.is_file()) <= 1024 * 1024
    # The most recently used videos are kept, the oldest were dropped.
    second = mount(card, "-o", "disk_cache_mb=1", cache_dir=cache)
    (second.path / "GX010007.MP4/track.gpx").read_bytes()
    assert second.stats()["parses"] == 0
    (second.path / "GX010000.MP4/track.gpx").read_bytes()
    assert second.stats()["parses"] == 1


def test_twenty_concurrent_readers_cause_one_parse(mount: MountFactory, card: Path) -> None:
    m = mount(card, "--no-disk-cache")
    target = m.path / "DCIM/100GOPRO/karma.mp4/track.gpx"
    results: list[bytes] = []
    barrier = threading.Barrier(20)

    def reader() -> None:
        barrier.wait()
        results.append(target.read_bytes())

    threads = [threading.Thread(target=reader) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 20
    assert len(set(results)) == 1
    assert m.stats()["parses"] == 1


def test_changed_source_shows_new_content_within_the_timeout(
    mount: MountFactory, card: Path
) -> None:
    m = mount(card)
    folder = m.path / "DCIM/100GOPRO/hero5-trimmed.mp4"
    before = json.loads((folder / "info.json").read_text())
    shutil.copyfile(
        SAMPLES / "gopro/mp4/hero6-trimmed.mp4", card / "DCIM/100GOPRO/hero5-trimmed.mp4"
    )
    time.sleep(1.2)
    after = json.loads((folder / "info.json").read_text())
    assert after != before
    assert (
        after["camera"]
        == json.loads((m.path / "DCIM/100GOPRO/hero6-trimmed.mp4/info.json").read_text())["camera"]
    )
    os.unlink(card / "DCIM/100GOPRO/hero5-trimmed.mp4")
    time.sleep(1.2)
    assert not folder.exists()


def test_sigterm_unmounts_cleanly(mount: MountFactory, card: Path) -> None:
    m = mount(card)
    (m.path / "DCIM/100GOPRO/karma.mp4/track.gpx").read_bytes()
    m.proc.send_signal(signal.SIGTERM)
    assert m.proc.wait(10) == 0
    assert not os.path.ismount(m.path)


def test_background_mode_returns_once_mounted(card: Path, tmp_path: Path) -> None:
    mnt = tmp_path / "bg"
    mnt.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "telemetryfs.fs", str(card), str(mnt), "--no-disk-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    try:
        assert result.returncode == 0, result.stderr
        assert os.path.ismount(mnt)
        assert (mnt / "DCIM/100GOPRO/karma.mp4/track.gpx").read_bytes().startswith(b"<?xml")
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)], check=False)
    deadline = time.monotonic() + 10
    while os.path.ismount(mnt) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not os.path.ismount(mnt)


def test_generated_demo_footage_reads_whole_and_validates(
    mount: MountFactory, tmp_path: Path
) -> None:
    from tests.footage import make_demo

    footage = make_demo(tmp_path / "demo")
    m = mount(tmp_path / "demo")
    for video in footage:
        folder = m.path / Path(video.path).relative_to(tmp_path / "demo")
        info = json.loads((folder / "info.json").read_text())
        assert info["format"] == video.format.replace("novatek-mov", "novatek-mp4")
        assert info["gps_valid"] == len(video.valid_samples)
        validate(folder / "track.gpx")
    for path in all_files(m.path):
        assert path.stat().st_size == len(path.read_bytes()), path


def test_show_other_passes_other_files_through_read_only(mount: MountFactory, card: Path) -> None:
    m = mount(card, "-o", "show_other")
    shown = m.path / "other/notes.txt"
    assert shown.read_bytes() == (card / "other/notes.txt").read_bytes()
    assert shown.stat().st_mode & 0o222 == 0
    with pytest.raises(OSError, match="Read-only"):
        shown.open("ab")


def test_an_unchanged_other_file_is_read_again_from_the_kernels_cache(
    mount: MountFactory, card: Path
) -> None:
    m = mount(card, "-o", "show_other")
    shown, original = m.path / "other/notes.txt", card / "other/notes.txt"
    size = original.stat().st_size
    assert shown.read_bytes() == original.read_bytes()
    before = m.stats()["source_bytes_read"]
    assert shown.read_bytes() == original.read_bytes()
    assert m.stats()["source_bytes_read"] == before  # the kernel kept its pages
    # Another version of the same size: the next open drops the old pages.
    changed = bytes(reversed(original.read_bytes()))
    assert len(changed) == size
    assert changed != original.read_bytes()
    original.write_bytes(changed)
    os.utime(original, ns=(time.time_ns(), time.time_ns() + 10**9))
    time.sleep(1.2)  # past the attribute timeout
    assert shown.read_bytes() == changed
    assert m.stats()["source_bytes_read"] >= before + size


def _helpers_of(pid: int) -> list[int]:
    """The daemon's read-ahead helper processes (fs/fuse/announce.py)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            cmdline = Path(f"/proc/{child}/cmdline")
            with contextlib.suppress(FileNotFoundError):
                if b"announce.py" in cmdline.read_bytes():
                    found.append(int(child))
    return found


def test_a_helper_process_announces_the_reads_and_leaves_with_the_mount(
    mount: MountFactory, card: Path
) -> None:
    m = mount(card)
    (m.path / "DCIM/100GOPRO/hero8-trimmed.mp4/info.json").read_bytes()
    assert m.stats()["ranges_announced_by_helper"] > 0
    helpers = _helpers_of(m.proc.pid)
    assert len(helpers) == 1
    assert m.unmount() == 0
    assert not Path(f"/proc/{helpers[0]}").exists()


@pytest.fixture
def disk_card() -> Iterator[Path]:
    """A GoPro clip on a disk-backed filesystem (tests/residency.py)."""
    with dir_on_disk() as d:
        clip = d / "card" / "GX010001.MP4"
        clip.parent.mkdir()
        shutil.copyfile(SAMPLES / "gopro/mp4/hero8-trimmed.mp4", clip)
        yield clip.parent


def test_streams_opened_cold_are_announced_by_the_helper(
    disk_card: Path, mount: MountFactory
) -> None:
    m = mount(disk_card)
    folder = m.path / "GX010001.MP4"
    names = os.listdir(folder / "streams")  # the full parse reads every payload
    assert "all.gpmf" in names
    csvs = [n for n in names if n.endswith(".csv")]
    assert csvs
    for name in (csvs[0], "all.gpmf"):
        drop_pages(disk_card / "GX010001.MP4")
        before = m.stats()["ranges_announced_by_helper"]
        assert (folder / "streams" / name).read_bytes()
        assert m.stats()["ranges_announced_by_helper"] > before, json.dumps(m.stats())


def test_stats_count_the_source_bytes_and_requests(mount: MountFactory, card: Path) -> None:
    m = mount(card)
    before = m.stats()
    assert set(before) >= {"source_bytes_read", "source_requests"}
    clip = card / "DCIM/100GOPRO/hero8-trimmed.mp4"
    (m.path / "DCIM/100GOPRO/hero8-trimmed.mp4/info.json").read_bytes()
    after = m.stats()
    read = after["source_bytes_read"] - before["source_bytes_read"]
    # The parse reads the moov and the telemetry, not the whole video.
    assert 0 < read < clip.stat().st_size
    assert after["source_requests"] > before["source_requests"]
