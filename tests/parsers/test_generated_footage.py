"""Parsers against the footage generator's ground truth (what it encoded, sample by sample)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from telemetryfs.parsers import extract as telemetry
from telemetryfs.parsers.model import GpsSample
from tests.footage import make_gopro, make_mapcam, make_novatek


def _valid(t: Any) -> list[GpsSample]:
    return [s for s in t.gps if s.valid]


def _assert_same_points(got: list[GpsSample], want: list[dict[str, Any]], tol: float) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.lat == pytest.approx(w["lat"], abs=tol)
        assert g.lon == pytest.approx(w["lon"], abs=tol)


@pytest.mark.parametrize("gps", ["gps5", "gps9", "both"])
def test_gopro_points_and_times_match_the_truth(tmp_path: Path, gps: str) -> None:
    truth = make_gopro(tmp_path / "GX010001.MP4", duration_s=20, gps=gps, no_fix_first_s=3)
    t = telemetry.extract(tmp_path / "GX010001.MP4")
    assert t.gps_stream == ("GPS5" if gps == "gps5" else "GPS9")
    assert len(t.gps) == len(truth.samples)  # GPS5+GPS9: one track, no duplicates
    _assert_same_points(_valid(t), truth.valid_samples, 1e-7)
    # Video times spread a payload's samples evenly (the GPMF convention): within
    # one sample interval of when the generator took them (18 Hz GPS5, 10 Hz GPS9).
    interval = 1 / 18 if gps == "gps5" else 1 / 10
    for got, want in zip(t.gps, truth.samples, strict=True):
        assert got.valid == want["valid"]
        assert got.video_time == pytest.approx(want["video_time"], abs=interval + 1e-3)
    # GPS9 stores each sample's time; GPS5 one per payload, spread by the parser.
    tol = 1e-3 if gps != "gps5" else 0.06
    for got, want in zip(_valid(t), truth.valid_samples, strict=True):
        assert got.utc == pytest.approx(want["utc"], abs=tol)
    utcs = [s.utc for s in t.gps if s.utc is not None]
    assert len(set(utcs)) == len(utcs)  # no duplicate timestamps


def test_novatek_with_and_without_index_agree_with_the_truth(tmp_path: Path) -> None:
    kwargs: dict[str, Any] = {"duration_s": 40, "lost_fix_s": ((10, 15),), "cold_start_s": 3}
    truth = make_novatek(tmp_path / "2026_0406_142122_001.MP4", index=True, **kwargs)
    make_novatek(tmp_path / "2026_0406_142122_002.MP4", index=False, **kwargs)
    indexed = telemetry.extract(tmp_path / "2026_0406_142122_001.MP4")
    scanned = telemetry.extract(tmp_path / "2026_0406_142122_002.MP4")
    assert indexed.info["blocks_found_by"] != scanned.info["blocks_found_by"]
    assert [(s.utc, s.lat, s.lon, s.valid) for s in indexed.gps] == [
        (s.utc, s.lat, s.lon, s.valid) for s in scanned.gps
    ]
    # float32 DDDmm.mmmm holds about 1e-6 degree.
    _assert_same_points(_valid(indexed), truth.valid_samples, 2e-6)
    for got, want in zip(_valid(indexed), truth.valid_samples, strict=True):
        assert got.utc == pytest.approx(want["utc"], abs=1e-6)
        assert got.speed_2d == pytest.approx(want["speed_2d"], abs=0.01)


@pytest.mark.parametrize(
    "variant",
    [{}, {"odd_chunks": True}, {"gps_at_end": True}, {"odd_chunks": True, "no_fix_first_s": 4}],
    ids=["plain", "odd-chunks", "gps-at-end", "odd-no-fix"],
)
def test_mapcam_records_match_the_truth(tmp_path: Path, variant: dict[str, Any]) -> None:
    truth = make_mapcam(tmp_path / "MC_0001.AVI", duration_s=20, **variant)
    t = telemetry.extract(tmp_path / "MC_0001.AVI")
    assert len(t.gps) == len(truth.samples)
    _assert_same_points(_valid(t), truth.valid_samples, 1e-6)
    for got, want in zip(t.gps, truth.samples, strict=True):
        assert got.utc == pytest.approx(want["utc"], abs=1e-6)
        assert got.ele == pytest.approx(want["ele"], abs=0.05)


def test_mapcam_without_gps_is_an_empty_track_not_an_error(tmp_path: Path) -> None:
    make_mapcam(tmp_path / "MC_0002.AVI", duration_s=5, gps=False)
    t = telemetry.extract(tmp_path / "MC_0002.AVI")
    assert t.gps == ()
    assert t.error is None
