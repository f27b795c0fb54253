"""Insta360 and CAMM footage through a real mount, against the samples' expected values
and exiftool."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from tests.footage.camm import LEAP, CammFix, make_camm
from tests.mount.conftest import MountFactory
from tests.paths import SAMPLES

INSV = SAMPLES / "insta360" / "insvtools" / "sample.insv"
CAMM = SAMPLES / "camm" / "vr180"


def _rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "track.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def _exiftool(path: Path) -> list[str]:
    out = subprocess.run(
        ["exiftool", "-ee", "-n", "-G3", "-s", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    return out.splitlines()


def test_insta360_sample_scrubbed_fixes_are_invalid(mount: MountFactory, tmp_path: Path) -> None:
    expected = json.loads((SAMPLES / "insta360" / "expected__sample.insv.json").read_text())
    src = tmp_path / "card"
    src.mkdir()
    shutil.copyfile(INSV, src / "sample.insv")
    m = mount(src)
    folder = m.path / "sample.insv"
    info = json.loads((folder / "info.json").read_text())
    assert info["format"] == "insta360"
    assert info["camera"] == "Insta360 OneR"  # exiftool's Model too
    assert not info["error"]
    rows = _rows(folder)
    # expected: 2 entries, fix 'A' but at 0/0 (scrubbed): invalid, not a point off Africa.
    assert len(rows) == expected["gps_record_0x7"]["entries"] == 2
    assert all(r["valid"] == "false" for r in rows)
    assert all(r["utc_time"].startswith("2022-12-18T20:15:21") for r in rows)
    assert abs(float(rows[0]["ele_m"]) - 158.676513671875) < 1e-3
    # exiftool's opinion: the same time and altitude, and 0/0 as a position.
    tags = _exiftool(src / "sample.insv")
    assert any("GPSAltitude" in t and "158.676513671875" in t for t in tags)
    assert not (folder / "track.gpx").exists()  # no valid point: no track
    streams = sorted(p.name for p in (folder / "streams").iterdir())
    assert "insta360-3-gyro.raw" in streams
    assert "insta360-4-exposure.raw" in streams
    gyro = (folder / "streams" / "insta360-3-gyro.raw").read_bytes()
    assert len(gyro) == 23561  # the record size walked back from the footer (expected)


def test_camm_samples_without_gps_are_not_errors(mount: MountFactory, tmp_path: Path) -> None:
    src = tmp_path / "card"
    shutil.copytree(CAMM, src, ignore=shutil.ignore_patterns("oracle"))
    m = mount(src)
    for name, count in (("mett_replaced_with_camm.mp4", 47), ("video-sample_no_mesh.mp4", 149)):
        info = json.loads((m.path / name / "info.json").read_text())
        assert info["format"] == "camm", name
        assert not info["error"], name
        assert info["info"]["records"] == {"angle_axis": count}
        assert (
            not (m.path / name / "track.gpx").exists()
            or "<trkpt" not in (m.path / name / "track.gpx").read_text()
        )


def test_camm_gps_type6_through_the_mount(mount: MountFactory, tmp_path: Path) -> None:
    src = tmp_path / "card"
    src.mkdir()
    start = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    fixes = [CammFix(start + i, 48.1 + i * 1e-4, 11.5 - i * 1e-4, 500.0 + i) for i in range(5)]
    fixes.append(CammFix(start + 5, 48.2, 11.6, 500.0, fix=0))
    make_camm(src / "gps6.mp4", fixes)
    make_camm(src / "gps5.mp4", fixes[:5], gps_type=5)
    m = mount(src)
    rows = _rows(m.path / "gps6.mp4")
    assert [r["valid"] for r in rows] == ["true"] * 5 + ["false"]
    assert rows[0]["utc_time"].startswith("2024-05-01T12:00:00")
    assert abs(float(rows[3]["lat"]) - 48.1003) < 1e-9
    assert abs(float(rows[3]["lon"]) - 11.4997) < 1e-9
    assert abs(float(rows[0]["speed_mps"]) - 5.0) < 1e-6  # |(3, 4)| m/s
    gpx = (m.path / "gps6.mp4" / "track.gpx").read_text()
    assert gpx.count("<trkpt") == 5
    # exiftool reads the type-6 time as UTC without the GPS-UTC leap seconds: its
    # GPSDateTime is LEAP s later than ours. The spec's field is GPS time, and
    # GPS has run 18 s ahead of UTC since 2017-01-01 (IERS Bulletin C).
    tags = _exiftool(src / "gps6.mp4")
    first = next(t for t in tags if "GPSDateTime" in t).split(":", 1)[1].strip()
    assert first.startswith(f"2024:05:01 12:00:{LEAP:02d}")
    five = _rows(m.path / "gps5.mp4")
    assert [r["valid"] for r in five] == ["true"] * 5
    assert (m.path / "gps5.mp4" / "track.gpx").read_text().count("<trkpt") == 5
    info = json.loads((m.path / "gps6.mp4" / "info.json").read_text())
    assert info["format"] == "camm"
    assert info["info"]["records"] == {"accel": 6, "gps": 6}


THINKWARE = SAMPLES / "thinkware" / "dashcamigo"


def test_thinkware_front_track_and_rear_without_gps(mount: MountFactory, tmp_path: Path) -> None:
    expected = json.loads((SAMPLES / "thinkware" / "expected__thinkware.json").read_text())
    front, rear = "REC_2026_06_01_21_16_47_F.MP4", "REC_2026_06_01_21_16_47_R.MP4"
    src = tmp_path / "card"
    src.mkdir()
    for name in (front, rear):
        shutil.copyfile(THINKWARE / name, src / name)
    m = mount(src)
    rows = _rows(m.path / front)
    assert len(rows) == expected[front]["rmc_cues"] == 10
    assert all(r["valid"] == "true" for r in rows)
    # first_rmc: GPRMC,041646.00,...,020626 -> 2026-06-02T04:16:46Z 50.0,30.0
    assert rows[0]["utc_time"].startswith("2026-06-02T04:16:46")
    assert (float(rows[0]["lat"]), float(rows[0]["lon"])) == (50.0, 30.0)
    # last_rmc: 5000.05400,N,3000.05400,E -> 50.0009, 30.0009; 19.730 kn
    assert abs(float(rows[-1]["lat"]) - 50.0009) < 1e-9
    assert abs(float(rows[-1]["lon"]) - 30.0009) < 1e-9
    assert abs(float(rows[-1]["speed_mps"]) - 19.730 * 1852 / 3600) < 1e-3
    info = json.loads((m.path / front / "info.json").read_text())
    assert info["format"] == "thinkware"
    assert info["info"]["cues"] == 96  # expected: 96 cues at ~10 Hz
    # The oracle (exiftool 12.57) shows the same cue text, the RMC in its 6th cue.
    oracle = (THINKWARE / "oracle" / "exiftool-12.57_F.MP4.all.txt").read_text()
    assert (
        "[Doc6]          Text                            : gsensori,4,512,-133,038,-08;GPRMC,041646.00"
        in oracle
    )
    assert rows[0]["gsensor_x"] == "-133"
    rear_info = json.loads((m.path / rear / "info.json").read_text())
    assert not rear_info["error"]
    assert not (m.path / rear / "track.gpx").exists()
