"""Dashcam footage through a real mount, checked against other projects' expected values.

Expected points come from ../shared/samples/expected/*.json (dashcamigo's and
dashcam-gps' test suites); the samples are copied into the test's tmp folder
under the file names those suites parse them as, since the name carries the
camera's clock.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.mount.conftest import MountFactory
from tests.paths import SAMPLES

EXPECTED = SAMPLES / "expected"
TOLERANCE = 0.00005  # "lat/lon are checked to 4 decimal places" (dashcamigo)


def _cases() -> list[dict[str, Any]]:
    cases = []
    for name in ("novatek", "vantrue", "carcam"):
        data = json.loads((EXPECTED / f"dashcamigo__{name}_real-anonymized.json").read_text())
        cases += [c for c in data["cases"] if "records" in c]
    return cases


def _rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "track.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def test_every_dashcam_sample_lists_as_a_folder(mount: MountFactory, tmp_path: Path) -> None:
    src = tmp_path / "dashcam"
    shutil.copytree(SAMPLES / "dashcam", src)
    m = mount(src)
    for sample in sorted(p for p in src.rglob("*") if p.is_file()):
        folder = m.path / sample.relative_to(src)
        info = json.loads((folder / "info.json").read_text())
        assert "format" in info, sample
        if info["error"]:
            assert "\n" not in info["error"]


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["device"])
def test_dashcamigo_points_through_the_mount(
    mount: MountFactory, tmp_path: Path, case: dict[str, Any]
) -> None:
    src = tmp_path / "card"
    src.mkdir()
    name = case["parse_as_filename"]
    shutil.copyfile(SAMPLES / case["sample_file"], src / name)
    m = mount(src)
    valid = [r for r in _rows(m.path / name) if r["valid"] == "true"]
    assert len(valid) == case["record_count"]
    for row, record in zip(valid, case["records"], strict=True):
        assert abs(float(row["lat"]) - record["lat"]) < TOLERANCE
        assert abs(float(row["lon"]) - record["lon"]) < TOLERANCE
        if "unix_seconds" in record:
            assert row["utc_time"].startswith(record["unix_seconds"]["iso"][:-1])


def test_sstar_record_counts_through_the_mount(mount: MountFactory, tmp_path: Path) -> None:
    data = json.loads((EXPECTED / "dashcamigo__sstar-ssmd_real-anonymized.json").read_text())
    src = tmp_path / "card"
    src.mkdir()
    for case in data["cases"]:
        shutil.copyfile(SAMPLES / case["sample_file"], src / case["parse_as_filename"])
    m = mount(src)
    for case in data["cases"]:
        rows = _rows(m.path / case["parse_as_filename"])
        assert sum(r["valid"] == "true" for r in rows) == case["record_count"], case["sample_file"]


def test_70mai_clean_clip_points_through_the_mount(mount: MountFactory, tmp_path: Path) -> None:
    data = json.loads((EXPECTED / "70mai-mzdun__70mai_api_unittests.json").read_text())
    entry = next(f for f in data["files"] if f["file"] == "NO20191130-120156-000121.MP4")
    expected = data["point_lists"][entry["points"]]
    src = tmp_path / "card"
    src.mkdir()
    shutil.copyfile(SAMPLES / entry["sample_file"], src / entry["file"])
    m = mount(src)
    folder = m.path / entry["file"]
    valid = [r for r in _rows(folder) if r["valid"] == "true"]
    assert len(valid) == entry["point_count"] == len(expected)
    for row, point in zip(valid, expected, strict=True):
        sign_lat = -1 if point["lat_ref"] == "S" else 1
        sign_lon = -1 if point["lon_ref"] == "W" else 1
        assert abs(float(row["lat"]) - sign_lat * point["lat_deg"]) < 1e-7
        assert abs(float(row["lon"]) - sign_lon * point["lon_deg"]) < 1e-7
        # dashcam-gps truncates metres per hour to whole km/h (105330 m/h -> 105).
        assert 0 <= float(row["speed_mps"]) * 3.6 - point["kmph"] < 1
    assert (folder / "track.gpx").exists()


def test_local_clock_offset_is_detected_from_the_file_name(
    mount: MountFactory, tmp_path: Path
) -> None:
    data = json.loads((EXPECTED / "dashcamigo__novatek_real-anonymized.json").read_text())
    viofo = [c for c in data["cases"] if "local_clock_offset_hint_sec" in c]
    src = tmp_path / "card"
    src.mkdir()
    for case in viofo:
        shutil.copyfile(SAMPLES / case["sample_file"], src / case["parse_as_filename"])
    m = mount(src)
    for case in viofo:
        info = json.loads((m.path / case["parse_as_filename"] / "info.json").read_text())
        assert info["info"].get("time_offset_detected_s") == case["local_clock_offset_hint_sec"]


def test_time_offset_option_shifts_dashcam_times(mount: MountFactory, tmp_path: Path) -> None:
    from tests.footage import make_novatek

    src = tmp_path / "card"
    src.mkdir()
    truth = make_novatek(src / "2026_0406_162122_001.MP4", duration_s=20, local_offset_h=2.0)
    plain = mount(src, "--no-disk-cache")
    shifted = mount(src, "--no-disk-cache", "-o", "time_offset=+2")
    before = _rows(plain.path / "2026_0406_162122_001.MP4")
    after = _rows(shifted.path / "2026_0406_162122_001.MP4")
    first_utc = min(s["utc"] for s in truth.valid_samples)
    # The camera wrote local time (UTC+2): as recorded, times are 2 h late;
    # with -o time_offset=+2 they are the true UTC the generator started from.
    assert before[0]["utc_time"] != after[0]["utc_time"]
    assert after[0]["lat"] == before[0]["lat"]
    valid_after = [r for r in after if r["valid"] == "true"]
    from datetime import datetime

    def parse(text: str) -> float:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

    assert parse(valid_after[0]["utc_time"]) == pytest.approx(first_utc, abs=1.0)
    assert parse(before[0]["utc_time"]) - parse(after[0]["utc_time"]) == pytest.approx(7200)


def test_nmea_sidecar_gives_a_video_its_track(mount: MountFactory, tmp_path: Path) -> None:
    src = tmp_path / "card"
    src.mkdir()
    shutil.copyfile(SAMPLES / "other/avi__100_0306.AVI", src / "MOV_0581.AVI")
    log = SAMPLES / "dashcam/dashcamigo/dashcam-viewer-corpus__MOV_0581.nmea"
    shutil.copyfile(log, src / "MOV_0581.nmea")
    # Independent count: RMC sentences with status A.
    fixes = sum(
        1
        for line in log.read_text(errors="replace").splitlines()
        if line[3:6] == "RMC" and line.split(",")[2] == "A"
    )
    m = mount(src)
    # The log is merged, not shown twice (the root also holds the recordings view).
    assert sorted(os.listdir(m.path)) == ["MOV_0581.AVI", "recordings"]
    # ... where the clip is a recording of one part, with the log's track too.
    single = json.loads((m.path / "recordings/MOV_0581.AVI/info.json").read_text())
    assert single["kind"] == "single"
    assert single["gps_valid"] == fixes
    folder = m.path / "MOV_0581.AVI"
    info = json.loads((folder / "info.json").read_text())
    assert info["gps_valid"] == fixes > 0
    assert (folder / "track.gpx").exists()


def test_lone_nmea_log_is_a_track_of_its_own(mount: MountFactory, tmp_path: Path) -> None:
    src = tmp_path / "card"
    src.mkdir()
    shutil.copyfile(
        SAMPLES / "dashcam/dashcamigo/dashcam-viewer-corpus__MOV_0581.nmea", src / "walk.nmea"
    )
    m = mount(src)
    assert (m.path / "walk.nmea" / "track.gpx").read_bytes().startswith(b"<?xml")


def test_avi_without_gps_lists_with_no_track_and_no_error(
    mount: MountFactory, tmp_path: Path
) -> None:
    src = tmp_path / "card"
    src.mkdir()
    shutil.copyfile(SAMPLES / "other/avi__100_0306.AVI", src / "clip.AVI")
    m = mount(src)
    assert sorted(os.listdir(m.path / "clip.AVI")) == ["info.json"]
    info = json.loads((m.path / "clip.AVI" / "info.json").read_text())
    assert info["error"] is None
    assert info["gps_samples"] == 0
