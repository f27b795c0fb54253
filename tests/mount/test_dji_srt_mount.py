"""DJI drone .SRT sidecars through a real mount: paired with their clip, alone, and
their camera-local dates turned into UTC (the 70mai clean clip too)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.mount.conftest import MountFactory
from tests.paths import SAMPLES

PARSER = SAMPLES / "dji-srt/DJI_SRT_Parser"


def _rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "track.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def _clip(path: Path) -> None:
    """A one-second MP4 with no telemetry, made by ffmpeg."""
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=blue:s=64x64:d=1",
            "-c:v",
            "mpeg4",
            "-y",
            str(path),
        ],
        check=True,
        timeout=60,
    )


def test_srt_beside_its_clip_and_alone(mount: MountFactory, tmp_path: Path) -> None:
    src = tmp_path / "card"
    src.mkdir()
    _clip(src / "DJI_0001.MP4")
    shutil.copyfile(PARSER / "mavic_pro.SRT", src / "DJI_0001.SRT")
    shutil.copyfile(PARSER / "p4_rtk.SRT", src / "DJI_0002.SRT")  # no clip: its own folder
    shutil.copyfile(PARSER / "mavic_air.SRT", src / "DJI_0003.SRT")  # no GPS at all
    m = mount(src)
    names = sorted(os.listdir(m.path))
    assert names == ["DJI_0001.MP4", "DJI_0002.SRT", "DJI_0003.SRT", "recordings"]

    folder = m.path / "DJI_0001.MP4"
    info = json.loads((folder / "info.json").read_text())
    cues = (PARSER / "mavic_pro.SRT").read_text().count("-->")
    assert info["gps_valid"] == cues == 468
    assert info["info"]["clock"] == "camera-local"
    zone = info["info"]["time_zone"]
    # 14:11:51 on the drone at 20.25 S 149.03 E (Queensland: UTC+10, no summer time).
    assert ZoneInfo(zone).utcoffset(dt.datetime(2017, 8, 5)) == dt.timedelta(hours=10)
    assert info["info"]["utc_offset_s"] == 36000
    rows = _rows(folder)
    assert rows[0]["utc_time"].startswith("2017-08-05T04:11:51")
    assert b"<time>2017-08-05T04:11:51" in (folder / "track.gpx").read_bytes()
    assert {"iso", "shutter", "fnum", "barometer", "home_lat", "satellites"} <= set(rows[0])

    lone = m.path / "DJI_0002.SRT"
    rows = _rows(lone)
    assert len(rows) == 55
    # Every field the cue carries, as DJI_SRT_Parser's raw export has it.
    first = json.loads((PARSER / "oracle/preparedData.json").read_text())[0]
    assert float(rows[0]["gimbal_pitch"]) == float(first["G_PRY"][0])
    assert float(rows[0]["distance"]) == float(first["D"])
    assert float(rows[0]["lat"]) == float(first["GPS"][1])
    info = json.loads((lone / "info.json").read_text())
    assert info["format"] == "dji-srt"
    assert info["error"] is None

    no_gps = m.path / "DJI_0003.SRT"
    info = json.loads((no_gps / "info.json").read_text())
    assert info["error"] is None
    assert info["gps_valid"] == 0
    assert [r["ct"].strip() for r in _rows(no_gps)] == ["5627", "5627"]
    assert info["gps_stream"] is None
    assert not (no_gps / "track.gpx").exists()
    with (no_gps / "streams/cues.csv").open(newline="") as f:
        assert [r["iso"].strip() for r in csv.DictReader(f)] == ["100", "100"]
    # The raw stream is the SRT byte for byte.
    assert (no_gps / "streams/cues.raw").read_bytes() == (PARSER / "mavic_air.SRT").read_bytes()


def test_camera_clock_keep_and_time_offset(mount: MountFactory, tmp_path: Path) -> None:
    src = tmp_path / "card"
    src.mkdir()
    shutil.copyfile(PARSER / "matrice_300.srt", src / "M300.srt")
    kept = mount(src, "-o", "camera_clock=keep", name="keep")
    rows = _rows(kept.path / "M300.srt")
    assert rows[0]["utc_time"].startswith("2022-06-21T16:06:17")  # as the drone wrote it
    moved = mount(src, name="utc", cache_dir=tmp_path / "cache2")
    rows = _rows(moved.path / "M300.srt")
    # Cádiz in June: Europe/Madrid summer time, UTC+2.
    assert rows[0]["utc_time"].startswith("2022-06-21T14:06:17")
    forced = mount(src, "-o", "time_offset=+3", name="forced", cache_dir=tmp_path / "cache3")
    assert _rows(forced.path / "M300.srt")[0]["utc_time"].startswith("2022-06-21T13:06:17")


def test_70mai_clip_named_in_warsaw_winter_time(mount: MountFactory, tmp_path: Path) -> None:
    """NO20191130-120156: 12:01:56 on the camera near Warsaw in November (CET, UTC+1)."""
    src = tmp_path / "card"
    src.mkdir()
    name = "NO20191130-120156-000121.MP4"
    shutil.copyfile(SAMPLES / "dashcam/70mai" / name, src / name)
    m = mount(src)
    info = json.loads((m.path / name / "info.json").read_text())
    assert info["info"]["time_zone"] == "Europe/Warsaw"
    assert info["info"]["utc_offset_s"] == 3600
    valid = [r for r in _rows(m.path / name) if r["valid"] == "true"]
    named = dt.datetime(2019, 11, 30, 12, 1, 56, tzinfo=ZoneInfo("Europe/Warsaw"))
    first = dt.datetime.fromisoformat(valid[0]["utc_time"].replace("Z", "+00:00"))
    # The first fix is the clip start plus its seconds into the clip.
    assert dt.timedelta(0) <= first - named.astimezone(dt.UTC) < dt.timedelta(seconds=60)
    assert valid[0]["utc_time"].startswith("2019-11-30T11:0")
