"""Insta360 and CAMM footage through a real mount, against the samples' expected values
and exiftool."""

from __future__ import annotations

import csv
import itertools
import json
import math
import shutil
import statistics
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

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


def test_insta360_imu_and_exposure_streams(mount: MountFactory, tmp_path: Path) -> None:
    src = tmp_path / "card"
    src.mkdir()
    shutil.copyfile(INSV, src / "sample.insv")
    m = mount(src)
    streams = m.path / "sample.insv" / "streams"
    info = json.loads((streams.parent / "info.json").read_text())
    assert {"imu", "exposure"} <= set(info["streams"])
    tags = _exiftool(src / "sample.insv")
    # exiftool gives up on this IMU record (23,561 bytes: 1,178 entries of 20 and one
    # byte more); we read the whole entries and say what was left.
    assert any("Unexpected Insta360 record 0x300 length" in t for t in tags)
    assert any("IMU record: 1 bytes after the last whole entry" in w for w in info["warnings"])
    with (streams / "imu.csv").open(newline="") as f:
        imu = list(csv.DictReader(f))
    assert len(imu) == 23561 // 20
    camera = [int(r["camera_us"]) for r in imu]
    assert all(0 < b - a <= 1500 for a, b in itertools.pairwise(camera))  # 1 kHz
    # The metadata says +-32 g full scale (1,024 counts a g): the mean magnitude of the
    # accelerometer is then gravity itself. exiftool's rule for these entries (counts
    # / 1000, marked "not confirmed") would make it 2.4 % more.
    magnitudes = [
        math.dist((0, 0, 0), [float(r[f"accel_{axis}_g"]) for axis in "xyz"]) for r in imu
    ]
    assert abs(statistics.fmean(magnitudes) - 1.0) < 0.005
    # Video time 0 is the first frame: the IMU starts a little before it.
    video = [float(r["video_time_s"]) for r in imu]
    assert -0.5 < video[0] < 0 < video[-1]
    with (streams / "exposure.csv").open(newline="") as f:
        exposure = list(csv.DictReader(f))
    # exiftool's TimeCode (the camera µs / 1000) and ExposureTime of every entry.
    codes = [t.split(":", 1)[1].strip() for t in tags if "TimeCode" in t]
    times = [float(t.split(":", 1)[1]) for t in tags if "ExposureTime" in t]
    assert len(exposure) == len(codes) == len(times) == 40
    assert [f"{int(r['camera_us']) / 1000:.3f}" for r in exposure] == codes
    assert [float(r["exposure_s"]) for r in exposure] == pytest.approx(times, rel=1e-12)
    # One clock for both streams: an exposure and the IMU row of the same camera time
    # share a video time (to the IMU's 1 ms).
    for row in exposure[5:8]:
        at = int(row["camera_us"])
        near = min(imu, key=lambda r: abs(int(r["camera_us"]) - at))
        assert abs(float(near["video_time_s"]) - float(row["video_time_s"])) < 0.0015


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


BLACKVUE = SAMPLES / "blackvue" / "dashcamigo"
BV_STEM = "20260718_070333_N"


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_blackvue_sidecars_serve_front_and_rear_and_stand_alone(
    mount: MountFactory, tmp_path: Path
) -> None:
    from tests.footage.blackvue import JSON_CPRT, blackvue_mp4

    expected = json.loads((SAMPLES / "blackvue" / "expected__blackvue.json").read_text())
    facts = expected["dashcamigo"]
    gps, accel = (
        (BLACKVUE / f"{BV_STEM}.gps").read_bytes(),
        (BLACKVUE / f"{BV_STEM}.3gf").read_bytes(),
    )
    src = tmp_path / "card"
    (src / "Record").mkdir(parents=True)
    (src / "lone").mkdir()
    (src / "newer").mkdir()
    for folder in ("Record", "lone"):
        shutil.copyfile(BLACKVUE / f"{BV_STEM}.gps", src / folder / f"{BV_STEM}.gps")
        shutil.copyfile(BLACKVUE / f"{BV_STEM}.3gf", src / folder / f"{BV_STEM}.3gf")
    for camera in "FR":  # an older BlackVue's clips: no telemetry inside
        (src / "Record" / f"{BV_STEM}{camera}.mp4").write_bytes(
            blackvue_mp4(gps=None, accel=None, cprt=None)
        )
    newer = src / "newer" / f"{BV_STEM}F.mp4"
    newer.write_bytes(blackvue_mp4(gps=gps, accel=accel, cprt=JSON_CPRT))
    # A camera clock an hour off must not move RMC times (the GPS clock).
    m = mount(src, "-o", "time_offset=+1")

    assert sorted(p.name for p in (m.path / "Record").iterdir()) == [
        f"{BV_STEM}F.mp4",
        f"{BV_STEM}R.mp4",
    ]
    assert [p.name for p in (m.path / "lone").iterdir()] == [f"{BV_STEM}.gps"]
    first = facts[f"{BV_STEM}.gps"]["first_fix_utc"].split()[0].replace("Z", "")
    for folder in (
        m.path / "Record" / f"{BV_STEM}F.mp4",
        m.path / "Record" / f"{BV_STEM}R.mp4",
        m.path / "lone" / f"{BV_STEM}.gps",
        m.path / "newer" / f"{BV_STEM}F.mp4",
    ):
        info = json.loads((folder / "info.json").read_text())
        assert info["format"] == "blackvue", folder
        assert not info["error"], folder
        rows = _rows(folder)
        assert len(rows) == 9, folder
        assert rows[0]["utc_time"].startswith(first), folder
        assert all(r["valid"] == "true" for r in rows), folder
        assert (folder / "track.gpx").read_text().count("<trkpt") == 9
        accel_rows = _csv_rows(folder / "streams" / "3gf.csv")
        assert len(accel_rows) == facts[f"{BV_STEM}.3gf"]["samples"], folder
        assert int(accel_rows[0]["camera_ms"]) == facts[f"{BV_STEM}.3gf"]["first_ms"]
        assert abs(float(accel_rows[0]["vertical_g"]) - 117 / 128) < 1e-6  # 0x0075 raw
    record_info = json.loads((m.path / "Record" / f"{BV_STEM}R.mp4" / "info.json").read_text())
    assert record_info["sidecar"] == f"{BV_STEM}.gps"
    assert record_info["info"]["gps_source"] == "sidecar"
    # The sidecar's bytes are served where it is the source, and in the newer MP4.
    assert (m.path / "lone" / f"{BV_STEM}.gps" / "streams" / "gps.raw").read_bytes() == gps
    assert (m.path / "newer" / f"{BV_STEM}F.mp4" / "streams" / "gps.raw").read_bytes() == gps
    assert (m.path / "newer" / f"{BV_STEM}F.mp4" / "streams" / "3gf.raw").read_bytes() == accel
    assert not (m.path / "Record" / f"{BV_STEM}F.mp4" / "streams" / "gps.raw").exists()
    # The recordings view pairs the same sidecar with each channel's recording.
    for channel in "FR":
        recording = m.path / "recordings" / "Record" / f"2026-07-18_070333_{channel}"
        assert len(_rows(recording)) == 9, channel
        assert len(_csv_rows(recording / "streams" / "3gf.csv")) == 50, channel
    newer_info = json.loads((m.path / "newer" / f"{BV_STEM}F.mp4" / "info.json").read_text())
    assert newer_info["camera"] == "DR900X Plus"
    # exiftool reads the same fixes from the newer MP4's free box (it leaves out the
    # last second's GGA, which has no RMC).
    tags = _exiftool(newer)
    times = [t.split(":", 1)[1].strip() for t in tags if "GPSDateTime" in t]
    assert len(times) == 8
    assert times[0] == "2026:07:18 06:03:29.000Z"
    assert any("Copyright" in t and "DR900X Plus" in t for t in tags)
