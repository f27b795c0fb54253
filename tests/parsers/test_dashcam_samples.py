"""The shared real dashcam samples: found, decoded, and matching their expected values.

Expected values come from shared/samples/expected/dashcamigo__*.json (the
sample repository's own test expectations, restated as data).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from telemetryfs.parsers.encodings import nmea
from telemetryfs.parsers.errors import ParseError, UnsupportedError
from telemetryfs.parsers.formats import nmea_log
from telemetryfs.parsers.formats.ligogps import parse as ligogps
from telemetryfs.parsers.formats.mapcam import parse as mapcam
from telemetryfs.parsers.formats.novatek import parse as novatek
from telemetryfs.parsers.formats.seventymai import parse as seventymai
from telemetryfs.parsers.formats.sstar import parse as sstar
from telemetryfs.parsers.model import Telemetry
from tests.paths import SAMPLES

DASHCAM = SAMPLES / "dashcam"
EXPECTED = SAMPLES / "expected"
pytestmark = pytest.mark.skipif(not DASHCAM.is_dir(), reason="shared samples not present")
TOLERANCE = 0.00005  # "lat/lon are checked to 4 decimal places"


@cache
def cases(family: str) -> list[dict[str, Any]]:
    data = json.loads((EXPECTED / f"dashcamigo__{family}_real-anonymized.json").read_text())
    return list(data["cases"])


def run(parser: Callable[..., Telemetry], sample: str, name: str) -> Telemetry:
    with (SAMPLES / sample).open("rb") as f:
        return parser(f, name=name)


def assert_records(t: Telemetry, records: list[dict[str, Any]]) -> None:
    valid = t.valid_gps
    assert len(valid) == len(records)
    for sample, want in zip(valid, records, strict=True):
        assert sample.lat == pytest.approx(want["lat"], abs=TOLERANCE)
        assert sample.lon == pytest.approx(want["lon"], abs=TOLERANCE)
        if "unix_seconds" in want:
            assert sample.utc == want["unix_seconds"]["unix"]


@pytest.mark.parametrize("case", cases("novatek"), ids=lambda c: c["parse_as_filename"])
def test_novatek_blocks_without_index_are_found_by_the_scan(case: dict[str, Any]) -> None:
    t = run(novatek.extract, case["sample_file"], case["parse_as_filename"])
    assert t.format == "novatek-mp4"
    assert t.info["blocks_found_by"] == "scan of the whole file"
    assert len(t.valid_gps) == case["record_count"]
    if "records" in case:
        assert_records(t, case["records"])
    window = case.get("every_record_unix_seconds")
    if window:
        for s in t.valid_gps:
            assert window["greater_than"]["unix"] < (s.utc or 0) < window["less_than"]["unix"]
    if "record0_unix_seconds" in case:
        assert t.valid_gps[0].utc == case["record0_unix_seconds"]["unix"]
    if "local_clock_offset_hint_sec" in case:
        assert t.info.get("time_offset_detected_s") == case["local_clock_offset_hint_sec"]


def test_novatek_cold_start_keeps_its_no_fix_blocks() -> None:
    (case,) = [c for c in cases("novatek") if "fixture_content" in c]
    t = run(novatek.extract, case["sample_file"], case["parse_as_filename"])
    # "4 blocks before the fix (RTC time, no coordinates) + 4 blocks with a fix"
    assert [s.valid for s in t.gps] == [False] * 4 + [True] * 4
    assert all(s.fix == 0 and s.lat is None for s in t.gps[:4])


@pytest.mark.parametrize("case", cases("vantrue"), ids=lambda c: c["parse_as_filename"])
def test_vantrue_nmea_inside_freegps_blocks(case: dict[str, Any]) -> None:
    t = run(novatek.extract, case["sample_file"], case["parse_as_filename"])
    assert t.info["layout"] == "nmea"
    assert_records(t, case["records"])


@pytest.mark.parametrize("case", cases("carcam"), ids=lambda c: c["parse_as_filename"])
def test_carcam_ligogps_in_ssmd_track(case: dict[str, Any]) -> None:
    t = run(ligogps.extract, case["sample_file"], case["parse_as_filename"])
    assert t.format == "ligogps-mp4"
    assert_records(t, case["records"])


@pytest.mark.parametrize("case", cases("sstar-ssmd"), ids=lambda c: c["parse_as_filename"])
def test_sstar_ssmd(case: dict[str, Any]) -> None:
    t = run(sstar.extract, case["sample_file"], case["parse_as_filename"])
    content = case["fixture_content"]
    assert len(t.gps) == content["samples"]
    assert sum(1 for s in t.gps if s.fix != 0) == content["fix_rows"]
    valid = t.valid_gps
    assert len(valid) == case["record_count"]
    skipped = [w for w in t.warnings if "phantom" in w.reason]
    assert bool(skipped) == (case["skipped_count"] > 0)
    hint = case["video_start_utc_hint"]
    assert t.info["video_start_utc"] == pytest.approx(hint.get("value", hint.get("unix")), abs=5e-7)
    if "record0_unix_seconds" in case:
        assert valid[0].utc == case["record0_unix_seconds"]["unix"]
    rules = case.get("every_record")
    if rules:
        times = [s.utc or 0.0 for s in valid]
        assert times == sorted(set(times))  # strictly increasing
        for s in valid:
            assert (s.lat or 0.0).is_integer()
            assert (s.lon or 0.0).is_integer()
            assert (
                rules["speed_ms_min_inclusive"]
                <= (s.speed_2d or 0.0)
                < rules["speed_ms_max_exclusive"]
            )
            if "bearing_deg_range" in rules:
                assert 0 <= (s.course or 0.0) < 360
        assert max(s.speed_2d or 0.0 for s in valid) > case["at_least_one_record_faster_than_ms"]


def test_lone_nmea_log_is_a_track() -> None:
    with (DASHCAM / "dashcamigo" / "dashcam-viewer-corpus__MOV_0581.nmea").open("rb") as f:
        head = f.read(64)
        f.seek(0)
        t = nmea_log.extract(f, name="MOV_0581.nmea")
    assert nmea.looks_like_nmea(head)
    assert len(t.gps) == 30
    assert all(s.valid for s in t.gps)
    assert (t.gps[0].lat, t.gps[0].lon) == (-34.0, 151.0)
    assert "gsensor_z" in t.extra_columns


def test_plain_avi_lists_with_no_track() -> None:
    with (SAMPLES / "other" / "avi__100_0306.AVI").open("rb") as f, pytest.raises(UnsupportedError):
        mapcam.extract(f, name="100_0306.AVI")


PARSERS: list[Callable[..., Telemetry]] = [
    seventymai.extract,
    novatek.extract,
    sstar.extract,
    ligogps.extract,
    mapcam.extract,
    nmea_log.extract,
]


def all_samples() -> list[Path]:
    return sorted(p for p in DASHCAM.rglob("*") if p.is_file())


@pytest.mark.parametrize("path", all_samples(), ids=lambda p: p.name)
def test_every_dashcam_sample_gives_telemetry_or_a_parse_error(path: Path) -> None:
    """Every sample lists: each parser returns a Telemetry or raises a ParseError, nothing else."""
    for parser in PARSERS:
        with path.open("rb") as f:
            outcome = _outcome(parser, f, path.name)
        assert isinstance(outcome, Telemetry | ParseError)
        if isinstance(outcome, Telemetry):
            assert all(len(s.extra) == len(outcome.extra_columns) for s in outcome.gps)


def _outcome(parser: Callable[..., Telemetry], f: BinaryIO, name: str) -> Telemetry | ParseError:
    try:
        return parser(f, name=name)
    except ParseError as exc:
        return exc
