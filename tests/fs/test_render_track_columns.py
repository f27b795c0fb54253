"""Every renderer writes the same bytes from a GpsTrack (columns) as from a tuple of
the same samples: the column paths (render_columns.sample_field, split segments as
track slices, field_values) must not change a byte."""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable

import pytest

from telemetryfs.fs import render
from telemetryfs.parsers.formats.gopro import parse as gopro
from telemetryfs.parsers.model import FIX_2D, FIX_3D, FIX_NONE, GpsSample, Telemetry
from telemetryfs.parsers.track import GpsTrack
from tests.footage.real_payloads import make_real_gopro

RENDERERS: dict[str, Callable[[Telemetry], bytes]] = {
    "gpx": lambda t: render.render_gpx(t, name="x.MP4"),
    "csv": render.render_csv,
    "kml": lambda t: render.render_kml(t, name="x.MP4"),
    "geojson": lambda t: render.render_geojson(t, name="x.MP4"),
    "info": lambda t: render.render_info(t, source_name="x.MP4", source_size=1),
    "preview": lambda t: render.render_preview(t, name="x.MP4"),
    "srt": render.render_srt,
}


def _ragged_samples(n: int, seed: int) -> list[GpsSample]:
    """A track with what the column paths must keep apart: None in every field here
    and there, invalid samples, a time jump, a fix lost, an antimeridian crossing."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        maybe = lambda v: None if rng.random() < 0.02 else v  # noqa: E731
        lon = 179.9999999 + i * 1e-7 if i > n // 2 else 7.0 + i * 1e-5
        out.append(
            GpsSample(
                utc=maybe(1.7e9 + i * 0.1 + (600.0 if i > n // 3 else 0.0)),
                video_time=maybe(i * 0.1),
                lat=maybe(45.0 + i * 1e-5),
                lon=maybe(lon if lon < 180 else lon - 360.0),
                ele=maybe(300.0 + math.sin(i)),
                speed_2d=maybe(abs(math.cos(i)) * 10),
                speed_3d=maybe(abs(math.cos(i)) * 11),
                course=maybe(rng.uniform(0, 359)),
                fix=rng.choice([FIX_3D, FIX_3D, FIX_2D, FIX_NONE, None]),
                dop=maybe(rng.uniform(0.5, 3)),
                valid=rng.random() > 0.05,
            )
        )
    return out


def _both(t: Telemetry) -> tuple[Telemetry, Telemetry]:
    if isinstance(t.gps, GpsTrack):
        return t, dataclasses.replace(t, gps=tuple(t.gps))
    track = GpsTrack.from_samples(t.gps)
    assert track is not None
    return dataclasses.replace(t, gps=track), t


@pytest.mark.parametrize("name", sorted(RENDERERS))
@pytest.mark.parametrize("n", [50, 9000])  # below and above the array paths' thresholds
def test_ragged_track_renders_the_same_from_columns(name: str, n: int) -> None:
    t = Telemetry(format="gopro", camera="HERO", gps=tuple(_ragged_samples(n, n)))
    columns, samples = _both(t)
    assert RENDERERS[name](columns) == RENDERERS[name](samples)


@pytest.fixture(scope="module")
def real_hero11(tmp_path_factory: pytest.TempPathFactory) -> Telemetry:
    path = tmp_path_factory.mktemp("h11") / "GX010001.MP4"
    make_real_gopro(path, duration_s=600, source="hero11", video_mbps=1.0)
    with path.open("rb") as f:
        return gopro.extract_mp4(f, streams=False)


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_real_payload_track_renders_the_same_from_columns(
    name: str, real_hero11: Telemetry
) -> None:
    columns, samples = _both(real_hero11)
    assert isinstance(columns.gps, GpsTrack)
    assert RENDERERS[name](columns) == RENDERERS[name](samples)
