"""Garmin VIRB FIT logs through a real mount, checked against fitdecode and the samples' facts.

fitdecode (a third-party FIT decoder) is the oracle for every point; the
sample's expected JSON (trek-view's FIT, decoded by fitdecode and exiftool)
gives the counts and the first and last fix.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import fitdecode

from tests.footage.garmin import make_virb_clip
from tests.mount.conftest import MountFactory
from tests.paths import SAMPLES

FIT = SAMPLES / "garmin-virb" / "trek-view" / "2018-01-11-17-33-54.fit"
EXPECTED = json.loads((SAMPLES / "garmin-virb" / "expected__virb360_fit.json").read_text())
SEMICIRCLE = 180.0 / 2**31


def _oracle() -> list[dict[str, Any]]:
    with fitdecode.FitReader(str(FIT)) as reader:
        return [
            {f.name: f.value for f in frame.fields}
            for frame in reader
            if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "gps_metadata"
        ]


def _rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "track.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def _posix(row: dict[str, str]) -> float:
    return dt.datetime.fromisoformat(row["utc_time"].replace("Z", "+00:00")).timestamp()


def test_virb_fit_is_one_track_of_its_own(mount: MountFactory, tmp_path: Path) -> None:
    src = tmp_path / "GMetrix"
    src.mkdir()
    shutil.copyfile(FIT, src / FIT.name)
    m = mount(src)
    # One folder, not one per clip it names (beside the mount's own recordings view).
    assert sorted(p.name for p in m.path.iterdir()) == [FIT.name, "recordings"]
    folder = m.path / FIT.name
    info = json.loads((folder / "info.json").read_text())
    assert info["format"] == "garmin-fit"
    assert info["camera"] == "Garmin VIRB 360"  # device_info garmin_product virb_360
    assert info["error"] is None
    assert "gps" in json.dumps(info["streams"])

    oracle = _oracle()
    rows = _rows(folder)
    assert len(rows) == len(oracle) == EXPECTED["gps_metadata"]["count"] == 2700
    for row, msg in zip(rows, oracle, strict=True):
        assert abs(float(row["lat"]) - msg["position_lat"] * SEMICIRCLE) < 1e-6
        assert abs(float(row["lon"]) - msg["position_long"] * SEMICIRCLE) < 1e-6
        # Every time falls inside the UTC second the receiver stamped it with.
        assert (
            msg["utc_timestamp"].timestamp() <= _posix(row) < msg["utc_timestamp"].timestamp() + 1
        )
    first, last = EXPECTED["gps_metadata"]["first"], EXPECTED["gps_metadata"]["last"]
    assert [round(float(rows[0][k]), 7) for k in ("lat", "lon")] == first["latlon"]
    assert [round(float(rows[-1][k]), 7) for k in ("lat", "lon")] == last["latlon"]
    assert rows[0]["utc_time"].startswith("2018-01-13T13:24:31")  # not the camera's 2018-01-11
    assert rows[-1]["utc_time"].startswith("2018-01-13T13:29:00")

    clips = info["info"]["clips"]
    assert [c["duration_s"] for c in clips] == [52.085, 138.338]  # 52.085 s = V0380038.MP4
    gpx = (folder / "track.gpx").read_text()
    assert gpx.count("<trkpt") == 2700


def test_timestamp_correlation_alone_puts_fixes_in_the_wrong_second() -> None:
    """Why the track is timed by utc_timestamp: the correlation message is ~0.9 s behind it.

    With UTC = correlation.timestamp + (system time - correlation.system_timestamp), most
    fixes fall outside the UTC second the receiver itself stamped them with.
    """
    corr = EXPECTED["timestamp_correlation"][0]
    base = dt.datetime.fromisoformat(corr["timestamp"]).timestamp()
    sys0 = corr["system_timestamp"] + corr["system_timestamp_ms"] / 1000
    outside = 0
    oracle = _oracle()
    for msg in oracle:
        utc = base + msg["timestamp"] + msg["timestamp_ms"] / 1000 - sys0
        stamped = msg["utc_timestamp"].timestamp()
        outside += not stamped <= utc < stamped + 1
    assert outside > 0.8 * len(oracle)


def _events(clip: str) -> tuple[float, float]:
    """fitdecode's video_start and video_end system times of one clip."""
    with fitdecode.FitReader(str(FIT)) as reader:
        events = [
            {f.name: f.value for f in frame.fields}
            for frame in reader
            if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "camera_event"
        ]
    times = {
        e["camera_event_type"]: e["timestamp"] + (e.get("timestamp_ms") or 0) / 1000
        for e in events
        if e["camera_file_uuid"] == clip
    }
    return times["video_start"], times["video_end"]


def _clip_uuids() -> list[str]:
    with fitdecode.FitReader(str(FIT)) as reader:
        return list(
            dict.fromkeys(
                {f.name: f.value for f in frame.fields}["camera_file_uuid"]
                for frame in reader
                if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "camera_event"
            )
        )


def test_a_virb_clip_gets_its_part_of_the_fit_it_names(mount: MountFactory, tmp_path: Path) -> None:
    card = tmp_path / "card"
    clips = card / "DCIM" / "100_VIRB"
    clips.mkdir(parents=True)
    (card / "Garmin" / "GMetrix").mkdir(parents=True)
    shutil.copyfile(FIT, card / "Garmin" / "GMetrix" / FIT.name)
    first, second = _clip_uuids()
    make_virb_clip(clips / "V0380038.MP4", first, 52.085)
    make_virb_clip(clips / "V0390039.MP4", second, 138.338)
    # A clip whose FIT is not on the card: a folder without a track, not an error.
    make_virb_clip(
        clips / "V0400040.MP4",
        first.replace("_1_38_", "_1_40_").replace(FIT.name, "2018-01-12-09-00-00.fit"),
        10.0,
    )
    # exiftool reads our box as a VIRB's: its GarminSoftware is the rest of the string.
    shown = subprocess.run(
        ["exiftool", "-s3", "-GarminSoftware", str(clips / "V0380038.MP4")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert shown == first.removeprefix("VIRBactioncamera")
    m = mount(card)
    oracle = _oracle()
    for name, clip in (("V0380038.MP4", first), ("V0390039.MP4", second)):
        folder = m.path / "DCIM" / "100_VIRB" / name
        info = json.loads((folder / "info.json").read_text())
        assert info["format"] == "garmin-virb"
        assert info["info"]["linked_log"] == FIT.name
        assert info["error"] is None
        start, end = _events(clip)
        inside = [
            msg
            for msg in oracle
            if start <= msg["timestamp"] + (msg.get("timestamp_ms") or 0) / 1000 <= end
        ]
        rows = _rows(folder)
        assert len(rows) == len(inside) > 0
        for row, msg in zip(rows, inside, strict=True):
            assert abs(float(row["lat"]) - msg["position_lat"] * SEMICIRCLE) < 1e-6
            sys_time = msg["timestamp"] + (msg.get("timestamp_ms") or 0) / 1000
            assert abs(float(row["video_time_s"]) - (sys_time - start)) < 1e-3
        assert (folder / "track.gpx").read_text().count("<trkpt") == len(inside)
    lonely = m.path / "DCIM" / "100_VIRB" / "V0400040.MP4"
    info = json.loads((lonely / "info.json").read_text())
    assert info["format"] == "garmin-virb"
    assert info["error"] is None
    assert not (lonely / "track.gpx").exists()
    # The FIT is still a track of its own.
    assert (m.path / "Garmin" / "GMetrix" / FIT.name / "track.gpx").exists()


def test_a_fit_copied_onto_the_card_later_is_seen_at_the_next_mount(
    mount: MountFactory, tmp_path: Path
) -> None:
    # The clip's own stat (the disk cache's key) does not change when its FIT arrives:
    # a clip that looks for a linked log is never kept in the disk cache.
    card = tmp_path / "card"
    clips = card / "DCIM" / "100_VIRB"
    clips.mkdir(parents=True)
    first = _clip_uuids()[0]
    make_virb_clip(clips / "V0380038.MP4", first, 52.085)
    before = mount(card)  # with the disk cache
    folder = before.path / "DCIM" / "100_VIRB" / "V0380038.MP4"
    assert json.loads((folder / "info.json").read_text())["format"] == "garmin-virb"
    assert not (folder / "track.gpx").exists()
    assert before.unmount() == 0
    (card / "Garmin" / "GMetrix").mkdir(parents=True)
    shutil.copyfile(FIT, card / "Garmin" / "GMetrix" / FIT.name)
    after = mount(card, cache_dir=before.cache_dir)
    folder = after.path / "DCIM" / "100_VIRB" / "V0380038.MP4"
    assert (folder / "track.gpx").read_text().count("<trkpt") > 0
