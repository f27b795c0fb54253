"""The recordings view through real mounts: GoPro chapters and dashcam drives joined.

The card (tests/footage/recordings.py) holds one case of each difficulty with
its truth written by the generator: which files form which recording, their
GPS counts and clocks, where a chapter is missing. The joined files are read
back through the mount and checked against that truth, and with the tools
users open them in (xmllint against the GPX schema, GDAL, gpsbabel, ffmpeg).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.footage.recordings import RecordingsCard, make_recordings_card
from tests.gpx_tools import gpsbabel_points, ogr_points, validate
from tests.mount.conftest import MountFactory
from tests.paths import SAMPLES

VIEW = "recordings"
# Where our grouping puts the card's lone parking clips: in the view's mirror of
# their mode folder, named as such (the generator's truth names them like drives).
PARKED = {
    "DCIM/Movie/2026-04-06_093400_F": "DCIM/Movie/Parking/2026-04-06_093400_F_parking",
    "DCIM/Movie/2026-04-06_093400_R": "DCIM/Movie/Parking/2026-04-06_093400_R_parking",
}


@pytest.fixture(scope="module")
def rcard(tmp_path_factory: pytest.TempPathFactory) -> RecordingsCard:
    return make_recordings_card(tmp_path_factory.mktemp("rcard") / "card")


def _info(folder: Path) -> dict[str, Any]:
    value: dict[str, Any] = json.loads((folder / "info.json").read_text())
    return value


def _folders(view: Path) -> set[str]:
    """Every recording folder of the view (a folder holding an info.json)."""
    return {p.parent.relative_to(view).as_posix() for p in view.rglob("info.json")}


def _gopro(card: RecordingsCard) -> list[Any]:
    return [r for r in card.recordings if r.kind == "gopro"]


def test_the_view_lists_every_recording_without_parsing(
    mount: MountFactory, rcard: RecordingsCard
) -> None:
    m = mount(rcard.root)
    assert VIEW in os.listdir(m.path)
    view = m.path / VIEW
    # ls -l of the view and of every folder above the recording folders.
    for above in (view, view / "DCIM", *(view / "DCIM").iterdir()):
        for entry in above.iterdir():
            entry.lstat()
    assert m.stats()["parses"] == 0
    folders = {p.relative_to(view).as_posix() for p in view.glob("DCIM/*/*")}
    expected = {r.folder for r in rcard.recordings if r.kind == "gopro"}
    assert expected <= folders, expected - folders
    drives = {r.folder for r in rcard.recordings if r.kind == "dashcam" and "0934" not in r.folder}
    assert drives <= folders, drives - folders
    # The parking clip stands alone, in the view's mirror of its mode folder.
    assert {f"DCIM/Movie/Parking/{p.name}" for p in (view / "DCIM/Movie/Parking").iterdir()} == set(
        PARKED.values()
    )
    assert m.stats()["parses"] == 0  # still: names decide, nothing was opened


def test_gopro_recordings_join_their_chapters_in_order(
    mount: MountFactory, rcard: RecordingsCard
) -> None:
    m = mount(rcard.root)
    view = m.path / VIEW
    for truth in _gopro(rcard):
        info = _info(view / truth.folder)
        paths = [p["path"] for p in info["parts"]]
        unjoined = [u for u in rcard.unjoined if Path(u).stem[4:] == Path(paths[0]).stem[4:]]
        # A chapter of another session stays in the folder its name puts it in,
        # split from the rest of the track with a warning (see test below).
        assert paths == truth.paths + unjoined, truth.folder
        assert info["kind"] == "gopro-chapters"
        assert info["missing_parts"] == truth.missing, truth.folder
        assert [p["role"] for p in info["parts"]][: len(truth.parts)] == [
            p.role for p in truth.parts
        ]
        if not unjoined:
            assert info["gps_samples"] + info["overlaps"] == truth.gps_total, truth.folder
        # video_time runs on across the chapters as in the concatenated video.
        offsets = [p["video_offset_s"] for p in info["parts"]]
        durations = [p["duration_s"] or 0 for p in info["parts"]]
        for k in range(1, len(offsets)):
            assert offsets[k] == pytest.approx(sum(durations[:k]), abs=0.002)
        if truth.gps_total == 0:  # Fusion's back lens records no GPS
            assert not (view / truth.folder / "track.csv").exists()
            continue
        csv_rows = (view / truth.folder / "track.csv").read_text().splitlines()[1:]
        assert len(csv_rows) == info["gps_samples"]
        times = [float(r.split(",")[1]) for r in csv_rows]
        assert times == sorted(times)  # no sample goes back in video time
        utcs = [r.split(",")[0] for r in csv_rows if r.split(",")[0]]
        assert len(set(utcs)) == len(utcs)  # no duplicate timestamps at the joins


def test_lrv_fallback_missing_chapters_and_cut_chapters_are_said(
    mount: MountFactory, rcard: RecordingsCard
) -> None:
    m = mount(rcard.root)
    view = m.path / VIEW
    lrv = _info(view / "DCIM/102GOPRO/GX0051")
    assert [p["role"] for p in lrv["parts"]] == ["main", "lrv-fallback", "main"]
    assert lrv["parts"][1]["path"].endswith("GL020051.LRV")
    assert any("LRV" in w for w in lrv["warnings"])
    gappy = _info(view / "DCIM/102GOPRO/GX0052")
    assert gappy["missing_parts"] == [1, 3]
    assert gappy["gps_segments"] == 2  # never a straight line across the missing chapter
    gpx = (view / "DCIM/102GOPRO/GX0052/track.gpx").read_text()
    assert gpx.count("<trkseg>") == 2
    cut = _info(view / "DCIM/101GOPRO/GX0043")
    truth = rcard.recording("DCIM/101GOPRO/GX0043")
    assert cut["parts"][1]["error"]
    assert "moov" in cut["parts"][1]["error"]
    assert cut["gps_samples"] + cut["overlaps"] == truth.gps_total  # what was recovered joins
    assert any("recovered" in w for w in cut["warnings"])


def test_a_chapter_of_another_session_breaks_the_track_with_a_warning(
    mount: MountFactory, rcard: RecordingsCard
) -> None:
    m = mount(rcard.root)
    info = _info(m.path / VIEW / "DCIM/103GOPRO/GX0062")
    sessions = [p["session"] for p in info["parts"]]
    assert len(sessions) == 2
    assert sessions[0]
    assert sessions[1]
    assert sessions[0] != sessions[1]
    assert info["gps_segments"] == 2
    assert any("another recording session" in w for w in info["warnings"])
    same = _info(m.path / VIEW / "DCIM/103GOPRO/GX0061")
    assert len({p["session"] for p in same["parts"]}) == 1
    assert same["gps_segments"] == 1


def test_labs_prefixes_and_fusion_lenses_are_separate_recordings(
    mount: MountFactory, rcard: RecordingsCard
) -> None:
    m = mount(rcard.root)
    view = m.path / VIEW
    cam_a, cam_b = (
        _info(view / "DCIM/105GOPRO/CamA-GX0011"),
        _info(view / "DCIM/105GOPRO/CamB-GX0011"),
    )
    assert [p["path"] for p in cam_a["parts"]] == rcard.recording("DCIM/105GOPRO/CamA-GX0011").paths
    assert [p["path"] for p in cam_b["parts"]] == rcard.recording("DCIM/105GOPRO/CamB-GX0011").paths
    front = _info(view / "DCIM/100GFRNT/GPFR0009")
    back = _info(view / "DCIM/100GBACK/GPBK0009")
    assert [p["path"] for p in front["parts"]] == rcard.recording("DCIM/100GFRNT/GPFR0009").paths
    assert [p["path"] for p in back["parts"]] == rcard.recording("DCIM/100GBACK/GPBK0009").paths
    hero5 = _info(view / "DCIM/104GOPRO/GOPR0007")
    assert [Path(p["path"]).name for p in hero5["parts"]] == [
        "GOPR0007.MP4",
        "GP010007.MP4",
        "GP020007.MP4",
    ]


def test_joined_gpx_validates_and_gdal_and_gpsbabel_read_every_point(
    mount: MountFactory, rcard: RecordingsCard
) -> None:
    m = mount(rcard.root)
    for truth in rcard.recordings:
        folder = m.path / VIEW / PARKED.get(truth.folder, truth.folder)
        assert (folder / "info.json").exists(), folder
        if not (folder / "track.gpx").exists():
            assert truth.valid_total == 0, truth.folder
            continue
        gpx = folder / "track.gpx"
        validate(gpx)
        ogr_count, babel_count = ogr_points(gpx), gpsbabel_points(gpx)
        info = _info(folder)
        assert ogr_count == babel_count == gpx.read_text().count("<trkpt") == info["gps_valid"]


def test_all_gpmf_is_the_chapters_all_gpmf_end_to_end(
    mount: MountFactory, rcard: RecordingsCard
) -> None:
    m = mount(rcard.root)
    truth = rcard.recording("DCIM/100GOPRO/GX0042")
    joined = (m.path / VIEW / truth.folder / "streams/all.gpmf").read_bytes()
    parts = b"".join((m.path / p / "streams/all.gpmf").read_bytes() for p in truth.paths)
    assert joined == parts
    assert len(joined) > 1000
    # A stream CSV of the recording holds every chapter's rows, times running on.
    accl = (m.path / VIEW / truth.folder / "streams/ACCL.csv").read_text().splitlines()
    per_part = [
        len((m.path / p / "streams/ACCL.csv").read_text().splitlines()) - 1 for p in truth.paths
    ]
    assert len(accl) - 1 == sum(per_part)
    for path in (m.path / VIEW / truth.folder).rglob("*"):
        if path.is_file():
            assert path.stat().st_size == len(path.read_bytes()), path


def test_concat_txt_joins_the_chapters_with_ffmpeg(
    mount: MountFactory, rcard: RecordingsCard, tmp_path: Path
) -> None:
    m = mount(rcard.root)
    truth = rcard.recording("DCIM/100GOPRO/GX0042")
    concat = m.path / VIEW / truth.folder / "concat.txt"
    out = tmp_path / "joined.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(concat),
            "-map",
            "0",
            "-c",
            "copy",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "format=duration:stream=codec_tag_string",
            "-of",
            "json",
            str(out),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    found = json.loads(probe.stdout)
    assert float(found["format"]["duration"]) == pytest.approx(truth.video_duration, abs=0.5)
    assert "gpmd" in {s["codec_tag_string"] for s in found["streams"]}  # the telemetry came along


def test_dashcam_drives_split_at_the_pause_and_count_locked_copies_once(
    mount: MountFactory, rcard: RecordingsCard
) -> None:
    m = mount(rcard.root)
    view = m.path / VIEW
    drive1 = rcard.recording("DCIM/Movie/2026-04-06_092000_F")
    info = _info(view / drive1.folder)
    assert info["kind"] == "dashcam-drive"
    assert [p["path"] for p in info["parts"]] == drive1.paths
    assert info["copies_not_counted"] == list(rcard.duplicates)
    assert info["gps_samples"] + info["overlaps"] == drive1.gps_total
    assert info["gps_segments"] == 1
    drive2 = rcard.recording("DCIM/Movie/2026-04-06_095400_F")
    assert [p["path"] for p in _info(view / drive2.folder)["parts"]] == drive2.paths
    rear = _info(view / "DCIM/Movie/2026-04-06_092000_R")
    assert rear["gps_from"] == drive1.folder
    assert rear["gps_samples"] == 0
    offsets = [p["video_offset_s"] for p in rear["parts"]]
    assert offsets == sorted(offsets)
    assert offsets[-1] > 0


def test_rsync_of_the_view_is_stable(
    mount: MountFactory, rcard: RecordingsCard, tmp_path: Path
) -> None:
    m = mount(rcard.root)
    dest = tmp_path / "backup"
    rsync = ["rsync", "-a", "--itemize-changes", f"{m.path / VIEW}/", f"{dest}/"]
    first = subprocess.run(rsync, capture_output=True, text=True, check=True).stdout
    assert "track.gpx" in first
    second = subprocess.run(rsync, capture_output=True, text=True, check=True).stdout
    assert second.strip() == ""
    newest = max(
        os.stat(rcard.root / p).st_mtime_ns for p in rcard.recording("DCIM/100GOPRO/GX0042").paths
    )
    assert (dest / "DCIM/100GOPRO/GX0042").stat().st_mtime_ns // 10**9 == newest // 10**9


def test_a_chapter_copied_in_while_mounted_changes_the_recording(
    mount: MountFactory, rcard: RecordingsCard, tmp_path: Path
) -> None:
    truth = rcard.recording("DCIM/100GOPRO/GX0042")
    card = tmp_path / "card"
    for rel in truth.paths[:2]:
        (card / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(rcard.root / rel, card / rel)
    m = mount(card)
    folder = m.path / VIEW / truth.folder
    before = _info(folder)
    assert len(before["parts"]) == 2
    size_before = (folder / "track.csv").stat().st_size
    third = card / truth.paths[2]
    third.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(rcard.root / truth.paths[2], third)
    time.sleep(1.2)  # past the attribute timeout
    after = _info(folder)
    assert [p["path"] for p in after["parts"]] == truth.paths
    csv = folder / "track.csv"
    assert csv.stat().st_size == len(csv.read_bytes()) > size_before
    third.unlink()
    time.sleep(1.2)
    assert len(_info(folder)["parts"]) == 2


def test_the_view_can_be_renamed_turned_off_and_yields_to_the_source(
    mount: MountFactory, tmp_path: Path
) -> None:
    card = tmp_path / "card"
    (card / "DCIM/100GOPRO").mkdir(parents=True)
    shutil.copyfile(SAMPLES / "gopro/mp4/hero8-trimmed.mp4", card / "DCIM/100GOPRO/GX010001.MP4")
    assert VIEW in os.listdir(mount(card).path)
    assert VIEW not in os.listdir(mount(card, "-o", "norecordings").path)
    renamed = mount(card, "-o", "recordings=joined")
    assert "joined" in os.listdir(renamed.path)
    assert VIEW not in os.listdir(renamed.path)
    info = _info(renamed.path / "joined/DCIM/100GOPRO/GX0001")
    assert [p["path"] for p in info["parts"]] == ["DCIM/100GOPRO/GX010001.MP4"]
    (card / VIEW).mkdir()  # the card has its own folder of that name: it wins
    (card / VIEW / "GX010002.MP4").write_bytes((card / "DCIM/100GOPRO/GX010001.MP4").read_bytes())
    own = mount(card)
    assert sorted(os.listdir(own.path / VIEW)) == ["GX010002.MP4"]


def test_the_shared_70mai_sequence_joins_its_normal_clips(
    mount: MountFactory, tmp_path: Path
) -> None:
    source = SAMPLES / "dashcam/70mai"
    m = mount(source)
    view = m.path / VIEW
    drives = sorted(p.name for p in view.iterdir() if p.is_dir() and p.name[:4] == "2019")
    normal = sorted(n for n in os.listdir(source) if n.startswith("NO"))
    first = _info(view / drives[0])
    # The first drive: the seven consecutive one-minute NO clips from 12:01:56.
    assert [Path(p["path"]).name for p in first["parts"]] == normal[:7]
    assert first["kind"] == "dashcam-drive"
    joined = {Path(p["path"]).name for d in drives for p in _info(view / d)["parts"]}
    assert set(normal) <= joined  # every normal clip is in a drive
