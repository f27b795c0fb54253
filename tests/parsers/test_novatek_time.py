"""Which clock a dashcam's GPS times are on: file names, mvhd, in-file clock steps."""

from __future__ import annotations

import calendar
import io

import pytest

from telemetryfs.parsers import timebase
from telemetryfs.parsers.formats.novatek import parse as novatek
from tests import dashcam_builders as b


def utc(y: int, mo: int, d: int, h: int, mi: int, s: int) -> float:
    return float(calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)))


@pytest.mark.parametrize(
    ("name", "when"),
    [
        ("2026_0406_142122_022.MP4", (2026, 4, 6, 14, 21, 22)),  # Novatek YYYY_MMDD_HHMMSS
        ("20260406142122_000022.MP4", (2026, 4, 6, 14, 21, 22)),  # Viofo A119 Mini 2
        ("NO20191130-120156-000121.MP4", (2019, 11, 30, 12, 1, 56)),  # 70mai
        ("INF20260520-143412-26-F.mp4", (2026, 5, 20, 14, 34, 12)),  # Neoline
        ("20250607_180617_00001_N_A.MP4", (2025, 6, 7, 18, 6, 17)),  # Vantrue
        ("FILE260819-071804F.mp4", (2026, 8, 19, 7, 18, 4)),  # Mio MiVue, two-digit year
    ],
)
def test_name_time(name: str, when: tuple[int, int, int, int, int, int]) -> None:
    assert timebase.name_time(name) == utc(*when)


@pytest.mark.parametrize(
    "name", ["GOPR0001.MP4", "clip.mp4", "2026_1306_142122.MP4", "99999999999999.mp4"]
)
def test_name_without_a_date(name: str) -> None:
    assert timebase.name_time(name) is None


def test_gps_matching_the_local_clock_alone_proves_nothing() -> None:
    first = utc(2026, 4, 6, 14, 22, 5)
    assert timebase.detect_offset(first, None, "20260406142122_000022.MP4") is None


def test_gps_a_zone_away_from_the_camera_clock_is_utc() -> None:
    first = utc(2026, 5, 20, 11, 34, 12)
    assert timebase.detect_offset(first, None, "INF20260520-143412-26-F.mp4") == 0


def test_clock_step_at_first_fix_with_a_matching_name_is_the_offset() -> None:
    # dashcamigo: RTC rows 11:22:04 (UTC), first fix 14:22:05 (local), name 14:21:22 local.
    first, rtc = utc(2026, 4, 6, 14, 22, 5), utc(2026, 4, 6, 11, 22, 4)
    assert (
        timebase.detect_offset(first, None, "20260406142122_000022.MP4", other_clock=rtc) == 10800
    )


def test_clock_step_contradicted_by_the_name_is_not_reported() -> None:
    first, rtc = utc(2026, 4, 6, 14, 22, 5), utc(2026, 4, 6, 11, 22, 4)
    assert timebase.detect_offset(first, None, "20260406112122_000022.MP4", other_clock=rtc) is None


def test_mvhd_in_utc_and_name_in_local_time() -> None:
    # The name says 14:21 local, mvhd 11:21 UTC (as ISO 14496-12 wants), GPS 14:22: local GPS.
    first = utc(2026, 4, 6, 14, 22, 5)
    offset = timebase.detect_offset(first, utc(2026, 4, 6, 11, 21, 22), "2026_0406_142122_022.MP4")
    assert offset == 10800


def test_quarter_hour_zones_and_far_clocks() -> None:
    assert timebase.zone(5.5 * 3600 + 40) == 19800  # India, 40 s into the clip
    assert timebase.zone(-(9 * 3600 + 30 * 60)) == -34200
    assert timebase.zone(3 * 86400) is None  # an unset clock, not a zone


def _coldstart(name: str) -> dict[str, object]:
    cold = [b.Fix((2026, 4, 6, 11, 22, s), 0, 0, status=b"V") for s in range(1, 5)]
    fixes = [b.Fix((2026, 4, 6, 14, 22, 5 + s), 50 + s * 1e-4, 30 + s * 1e-4) for s in range(4)]
    data = b.novatek_mp4([b.novatek_block(f, layout=16) for f in cold + fixes])
    return novatek.extract(io.BytesIO(data), name=name).info


def test_extract_reports_the_offset_in_info() -> None:
    assert _coldstart("20260406142122_000022.MP4")["time_offset_detected_s"] == 10800
    assert "time_offset_detected_s" not in _coldstart("20260406112122_000022.MP4")
