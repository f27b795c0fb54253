"""GpsTrack (parsers/track.py): the same samples as a tuple, held as columns;
and the GoPro track decoded into it with numpy equals the per-sample path."""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetryfs.parsers import cleanup
from telemetryfs.parsers.formats.gopro import gps as gopro_gps
from telemetryfs.parsers.formats.gopro import gps_columns
from telemetryfs.parsers.formats.gopro import parse as gopro
from telemetryfs.parsers.model import GpsSample, Telemetry
from telemetryfs.parsers.track import COLUMNS_FROM, FIELDS, GpsTrack, joined_tracks
from tests.footage.real_payloads import make_real_gopro
from tests.paths import SAMPLES

maybe_float = st.none() | st.floats(allow_nan=True, allow_infinity=True)
samples = st.builds(
    GpsSample,
    utc=maybe_float,
    video_time=maybe_float,
    lat=maybe_float,
    lon=maybe_float,
    ele=maybe_float,
    speed_2d=maybe_float,
    speed_3d=maybe_float,
    course=maybe_float,
    fix=st.none() | st.sampled_from([0, 2, 3]),
    dop=maybe_float,
    valid=st.booleans(),
    extra=st.just(()) | st.tuples(st.none() | st.floats(allow_nan=False) | st.text(max_size=3)),
)


def identical(a: GpsSample, b: GpsSample) -> bool:
    """Field by field, of the same type, NaN equal to NaN (== says NaN != NaN)."""
    for name in (*FIELDS, "valid", "extra"):
        x, y = getattr(a, name), getattr(b, name)
        if type(x) is not type(y):
            return False
        if isinstance(x, float) and math.isnan(x) and math.isnan(y):
            continue
        if x != y and not (isinstance(x, tuple) and repr(x) == repr(y)):
            return False
    return True


def same_samples(track: object, expected: list[GpsSample]) -> bool:
    got = list(track)  # type: ignore[call-overload]
    return len(got) == len(expected) and all(map(identical, got, expected))


@given(st.lists(samples, max_size=40), st.integers(-45, 45), st.integers(-45, 45))
def test_a_track_gives_back_its_samples(items: list[GpsSample], a: int, b: int) -> None:
    track = GpsTrack.from_samples(items)
    assert track is not None
    assert len(track) == len(items)
    assert same_samples(track, items)
    assert same_samples(track[a:b], items[a:b])
    assert same_samples(track[::-1], items[::-1])
    for i in (a, b):
        if -len(items) <= i < len(items):
            assert identical(track[i], items[i])
        else:
            with pytest.raises(IndexError):
                track[i]
    assert same_samples(pickle.loads(pickle.dumps(track[a:b])), items[a:b])
    picked = [i % len(items) for i in (a, b, a, 0)] if items else []
    assert same_samples(track.take(np.array(picked, dtype=np.intp)), [items[i] for i in picked])
    for name in FIELDS:
        expected = np.fromiter((getattr(s, name) for s in items), np.float64, len(items))
        assert np.array_equal(track.column(name), expected, equal_nan=True)
        assert track.has_none(name) == any(getattr(s, name) is None for s in items)
    assert track.column("valid").tolist() == [s.valid for s in items]


@given(st.lists(st.lists(samples, max_size=12), max_size=4))
def test_joined_tracks_are_the_samples_end_to_end(parts: list[list[GpsSample]]) -> None:
    tracks = [GpsTrack.from_samples(p) for p in parts]
    joined = joined_tracks([t for t in tracks if t is not None])
    assert same_samples(joined, [s for p in parts for s in p])


def test_values_that_would_not_come_back_the_same_are_refused() -> None:
    one = GpsSample(1.0, 0.0, 45.0, 7.0)
    assert GpsTrack.from_samples([one, GpsSample(1.0, 0.0, 45, 7.0)]) is None  # int lat
    assert GpsTrack.from_samples([one, GpsSample(1.0, 0.0, True, 7.0)]) is None  # type: ignore[arg-type]
    assert GpsTrack.from_samples([one, GpsSample(np.float64(1.0), 0.0, 45.0, 7.0)]) is None
    assert GpsTrack.from_samples([one]) == (one,)


def _per_sample_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gps_columns, "gps5_track", lambda *args: None)
    monkeypatch.setattr(gps_columns, "gps9_track", lambda *args: None)


def _both_paths(parse: object, monkeypatch: pytest.MonkeyPatch) -> tuple[Telemetry, Telemetry]:
    with monkeypatch.context() as m:
        m.setattr(gopro_gps, "COLUMNS_FROM", 0)  # columns however short the track
        columns = parse()  # type: ignore[operator]
    with monkeypatch.context() as m:
        _per_sample_path(m)
        samples = parse()  # type: ignore[operator]
    return columns, samples


GPMF = sorted(p for p in (SAMPLES / "gopro" / "gpmf").iterdir() if p.suffix in (".bin", ".raw"))
MP4 = sorted((SAMPLES / "gopro" / "mp4").glob("*.mp4"))


@pytest.mark.parametrize("path", GPMF + MP4, ids=lambda p: p.name)
def test_gopro_columns_equal_the_per_sample_track(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def parse() -> Telemetry:
        with path.open("rb") as f:
            if path.suffix == ".mp4":
                return gopro.extract_mp4(f, streams=False)
            return gopro.extract_gpmf(f, streams=False)

    columns, samples = _both_paths(parse, monkeypatch)
    assert isinstance(samples.gps, tuple)
    if "karma" not in path.name and samples.gps:
        assert isinstance(columns.gps, GpsTrack)  # GPRI stays per sample
    assert same_samples(columns.gps, list(samples.gps))
    assert columns.warnings == samples.warnings


@pytest.mark.parametrize("source", ["hero7", "hero11"])
def test_gopro_columns_equal_the_per_sample_track_over_many_payloads(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real payloads repeated (GPSU shifted each round), a few hundred of them."""
    path = tmp_path / "GX010001.MP4"
    make_real_gopro(path, duration_s=300, source=source, video_mbps=1.0)

    def parse() -> Telemetry:
        with path.open("rb") as f:
            return gopro.extract_mp4(f, streams=False)

    columns, samples = _both_paths(parse, monkeypatch)
    assert isinstance(columns.gps, GpsTrack)
    assert len(columns.gps) > 2000
    with path.open("rb") as f:  # as parsed: columns from COLUMNS_FROM samples on
        kept = gopro.extract_mp4(f, streams=False).gps
    assert isinstance(kept, GpsTrack if len(kept) >= COLUMNS_FROM else tuple)
    assert same_samples(columns.gps, list(samples.gps))


wander = st.lists(
    st.tuples(
        st.sampled_from([0.0, 1e-4, -1e-4, 0.01, 3.0, -120.0, 179.0]),  # lat/lon steps
        st.sampled_from([0.0, 1e-4, 0.01, 5.0, 359.0]),
        st.sampled_from([0.1, 1.0, 0.0, -1.0, 30.0]),  # time steps
        st.booleans(),  # valid
        st.sampled_from(["utc", "video", "none", "nan"]),  # which clock the sample has
    ),
    max_size=60,
)


@given(wander)
def test_outliers_are_flagged_the_same_on_columns(steps: list[tuple[Any, ...]]) -> None:
    """cleanup.flag_outliers: the all-steps-at-once check on a GpsTrack agrees with the
    sample-by-sample walk (garbage jumps, resyncs, missing and NaN clocks)."""
    lat, lon, t, items = 45.0, 7.0, 1.7e9, []
    for dlat, dlon, dt, valid, clock in steps:
        lat, lon, t = (
            max(-90.0, min(90.0, lat + dlat)),
            (lon + dlon + 180.0) % 360.0 - 180.0,
            t + dt,
        )
        utc = t if clock == "utc" else math.nan if clock == "nan" else None
        video = t - 1.7e9 if clock in ("utc", "video") else None
        items.append(GpsSample(utc, video, lat, lon, valid=valid))
    track = GpsTrack.from_samples(items)
    assert track is not None
    on_columns = cleanup.flag_outliers(Telemetry(format="x", gps=track))
    on_samples = cleanup.flag_outliers(Telemetry(format="x", gps=tuple(items)))
    assert [s.valid for s in on_columns.gps] == [s.valid for s in on_samples.gps]
    assert on_columns.warnings == on_samples.warnings
