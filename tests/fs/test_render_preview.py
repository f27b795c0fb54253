"""preview.svg without FUSE: odd tracks still render, invalid fixes are not drawn, an hour stays small."""

from __future__ import annotations

import math
import random
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from telemetryfs.fs import products, render_profile
from telemetryfs.fs import render_preview as render_preview_module
from telemetryfs.fs.render_common import ground_speed
from telemetryfs.fs.render_preview import render_preview
from telemetryfs.fs.render_svg import simplify
from telemetryfs.parsers.model import GpsSample, Telemetry

SVG = "{http://www.w3.org/2000/svg}"
START = 1_775_485_282.0  # 2026-04-06T14:21:22Z


def _track(points: list[tuple[float, float]], *, step: float = 1.0, **kw: object) -> Telemetry:
    gps = tuple(
        GpsSample(
            utc=START + i * step,
            video_time=i * step,
            lat=lat,
            lon=lon,
            ele=400.0 + i % 7,
            speed_2d=5.0 + i % 11,
            fix=3,
        )
        for i, (lat, lon) in enumerate(points)
    )
    return Telemetry(format="gopro-mp4", gps=gps, duration=len(points) * step, **kw)  # type: ignore[arg-type]


def _rsvg(svg: bytes, tmp_path: Path) -> None:
    """librsvg draws it without a complaint (the engine of GNOME's thumbnailers)."""
    rsvg = shutil.which("rsvg-convert")
    assert rsvg is not None, "rsvg-convert is missing (librsvg2-bin in scripts/setup test_pkgs)"
    path = tmp_path / "preview.svg"
    path.write_bytes(svg)
    done = subprocess.run(
        [rsvg, str(path), "-o", str(tmp_path / "p.png")], capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert not done.stderr, done.stderr


def _route_paths(svg: bytes) -> list[str]:
    """The d of every route stroke (width 3) in the map."""
    root = ET.fromstring(svg)
    return [p.attrib["d"] for p in root.iter(f"{SVG}path") if p.get("stroke-width") == "3"]


def _numbers(svg: bytes) -> list[float]:
    return [float(x) for x in re.findall(rb"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", svg)]


@pytest.mark.parametrize(
    "points",
    [
        [(46.5, 6.6)],  # one fix
        [(46.5, 6.6)] * 50,  # parked: every fix at one place
        [(0.0, 0.0), (0.0, 0.0)],
        [(89.9999, 179.9999), (89.9999, 179.9999)],  # near the pole: Mercator's y is clamped
        [(10.0, 6.6), (10.0, 6.7)],  # due east: no height at all
        [(10.0, 6.6), (10.1, 6.6)],  # due north: no width
    ],
)
def test_degenerate_tracks_render_a_marker_and_never_divide_by_zero(
    points: list[tuple[float, float]], tmp_path: Path
) -> None:
    svg = render_preview(_track(points), name="clip.MP4")
    root = ET.fromstring(svg)
    assert not any(math.isnan(v) or math.isinf(v) for v in _numbers(svg))
    circles = [c for c in root.iter(f"{SVG}circle") if c.get("r") == "6"]
    assert len(circles) == 1  # the start marker
    map_rect = next(r for r in root.iter(f"{SVG}rect") if r.get("id") == "map")
    x, y = float(circles[0].attrib["cx"]), float(circles[0].attrib["cy"])
    assert (
        float(map_rect.attrib["x"])
        < x
        < float(map_rect.attrib["x"]) + float(map_rect.attrib["width"])
    )
    assert (
        float(map_rect.attrib["y"])
        < y
        < float(map_rect.attrib["y"]) + float(map_rect.attrib["height"])
    )
    _rsvg(svg, tmp_path)


def test_invalid_fixes_are_not_drawn_and_gaps_stay_open() -> None:
    line = [(46.5 + i * 1e-4, 6.6 + i * 2e-4) for i in range(100)]
    clean = _track(line)
    # A garbage fix marked invalid at the end changes nothing that is drawn.
    garbage = GpsSample(START + 100, 100.0, 0.0, 0.0, speed_2d=5.0, fix=0, valid=False)
    with_garbage = Telemetry(format="gopro-mp4", gps=(*clean.gps, garbage), duration=100.0)
    assert render_preview(with_garbage, name="x") == render_preview(clean, name="x")
    # An invalid fix in the middle cuts the line in two: two subpaths, one per segment.
    gps = list(clean.gps)
    gps[50] = GpsSample(START + 50, 50.0, 0.0, 0.0, fix=0, valid=False)
    svg = render_preview(Telemetry(format="gopro-mp4", gps=tuple(gps), duration=100.0), name="x")
    assert sum(d.count("M") for d in _route_paths(svg)) == 2
    # So does a recording's break (a missing chapter) where the times run on.
    broken = Telemetry(format="gopro-mp4", gps=clean.gps, duration=100.0, breaks=(30,))
    assert sum(d.count("M") for d in _route_paths(render_preview(broken, name="x"))) == 2


def test_a_track_across_the_antimeridian_stays_small(tmp_path: Path) -> None:
    points = [(-17.0, 179.999 - i * 1e-4) for i in range(10)] + [
        (-17.0, -179.999 + i * 1e-4) for i in range(10)
    ]
    svg = render_preview(_track(points), name="fiji")
    scale = re.search(rb">(\d+(?:\.\d+)?) (k?m)</text>", svg)
    assert scale is not None
    metres = float(scale.group(1)) * (1000 if scale.group(2) == b"km" else 1)
    assert metres < 2000  # the 2 km track, not the 40,000 km world
    _rsvg(svg, tmp_path)


def test_no_speed_no_altitude_no_clock_still_render(tmp_path: Path) -> None:
    gps = tuple(
        GpsSample(None, float(i), 46.5 + i * 1e-4, 6.6 + (i % 5) * 1e-4, ele=math.nan)
        for i in range(30)
    )
    svg = render_preview(Telemetry(format="novatek-mp4", gps=gps), name="x")
    assert b">video time</text>" in svg
    assert b"altitude, m" not in svg
    _rsvg(svg, tmp_path)


def test_local_time_where_info_knows_the_zone() -> None:
    line = [(46.5 + i * 1e-4, 6.6) for i in range(20)]
    local = render_preview(_track(line, info={"time_offset_detected_s": 7200}), name="x")
    assert b"time (UTC+02:00)" in local
    assert b"2026-04-06 14:21 UTC+02:00" in local  # the recorded clock is the local one
    shifted = render_preview(_track(line, info={"time_offset_applied_s": -16200}), name="x")
    assert b"2026-04-06 09:51 UTC-04:30" in shifted  # corrected to UTC, shown local again
    assert b"time (UTC)" in render_preview(_track(line), name="x")


def _noisy_hour(seed: int) -> Telemetry:
    """An hour at 18 Hz of a slow, wandering walk with GPS noise: the hardest line to simplify."""
    rng = random.Random(seed)
    lat, lon, heading = 46.5, 6.6, 0.0
    gps = []
    for i in range(3600 * 18):
        heading += rng.gauss(0, 0.05)
        lat += math.cos(heading) * 1.4 / 18 / 111_000
        lon += math.sin(heading) * 1.4 / 18 / 76_000
        gps.append(
            GpsSample(
                START + i / 18,
                i / 18,
                lat + rng.gauss(0, 2e-5),
                lon + rng.gauss(0, 2e-5),
                ele=400 + rng.gauss(0, 3),
                speed_2d=abs(rng.gauss(1.4, 0.5)),
                fix=3,
            )
        )
    return Telemetry(format="gopro-mp4", gps=tuple(gps), duration=3600.0)


def test_an_hour_of_noisy_fixes_stays_under_100_kb_and_renders_fast() -> None:
    t = _noisy_hour(1)
    began = time.perf_counter()
    svg = render_preview(t, name="walk")
    took = time.perf_counter() - began
    assert len(svg) < 100_000, len(svg)
    assert took < 5.0, took
    assert render_preview(t, name="walk") == svg  # deterministic: the exact size is stable


def test_listed_in_folders_with_a_fix_and_built_by_products() -> None:
    t = _track([(46.5, 6.6), (46.6, 6.7)])
    names = [e.name for e in products.list_entries(t)]
    assert {"preview.svg", "track.srt", "track.vtt"} <= set(names)
    assert products.build_generated(t, "preview.svg", "clip.MP4", {}) == render_preview(
        t, name="clip.MP4"
    )
    never = Telemetry(format="gopro-mp4", gps=(GpsSample(START, 0.0, 0.0, 0.0, valid=False),))
    names = [e.name for e in products.list_entries(never)]
    assert "preview.svg" not in names
    assert {"track.srt", "track.vtt"} <= set(names)
    assert not {"preview.svg", "track.srt"} & {
        e.name for e in products.list_entries(Telemetry(format="x"))
    }


def test_a_strange_file_name_stays_valid_xml(tmp_path: Path) -> None:
    svg = render_preview(_track([(46.5, 6.6), (46.6, 6.7)]), name='a&<b>"\x01\udcff.MP4')
    title = next(t for t in ET.fromstring(svg).iter(f"{SVG}text"))
    assert title.text == 'a&<b>"\ufffd\ufffd.MP4'
    _rsvg(svg, tmp_path)


def _reference_simplify(points: list[tuple[float, float]], tolerance: float) -> list[int]:
    """The line simplification as first written, one point at a time in Python."""
    if len(points) <= 2:
        return list(range(len(points)))
    kept = [0]
    lx, ly = points[0]
    for i in range(1, len(points) - 1):
        x, y = points[i]
        if (x - lx) ** 2 + (y - ly) ** 2 >= tolerance * tolerance:
            kept.append(i)
            lx, ly = x, y
    kept.append(len(points) - 1)
    pts = [points[i] for i in kept]
    keep = [False] * len(pts)
    keep[0] = keep[-1] = True
    stack = [(0, len(pts) - 1)]
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        (ax, ay), (bx, by) = pts[first], pts[last]
        dx, dy = bx - ax, by - ay
        length = math.hypot(dx, dy)
        worst, worst_at = -1.0, first
        for i in range(first + 1, last):
            px, py = pts[i]
            d = (
                abs(dy * (px - ax) - dx * (py - ay)) / length
                if length > 0
                else math.hypot(px - ax, py - ay)
            )
            if d > worst:
                worst, worst_at = d, i
        if worst > tolerance:
            keep[worst_at] = True
            stack += [(first, worst_at), (worst_at, last)]
    return [kept[i] for i, k in enumerate(keep) if k]


def test_simplify_keeps_the_points_the_one_at_a_time_reference_keeps() -> None:
    # Long stretches go through numpy: the same operations on the same doubles must
    # choose the same points, ties (a straight line, a loop back to the start) too.
    rng = random.Random(7)
    lines = [[(rng.uniform(0, 700), rng.uniform(0, 400)) for _ in range(n)] for n in (3, 30, 500)]
    walk = [(0.0, 0.0)]
    for _ in range(5000):
        x, y = walk[-1]
        walk.append((x + rng.gauss(0, 0.7), y + rng.gauss(0, 0.7)))
    lines += [walk, [(float(i), 2.0 * i) for i in range(200)], walk + walk[:1]]
    lines.append([(round(x), round(y)) for x, y in walk])  # equal distances: ties
    for line in lines:
        for tolerance in (0.5, 2.0, 8.0):
            assert simplify(line, tolerance) == _reference_simplify(line, tolerance)


def _reference_column_means(
    times: list[float], values: list[float | None], x_of: Any, y_of: Any
) -> list[list[tuple[float, float]]]:
    """The profile's column means, one sample at a time (what the numpy version must equal)."""
    runs: list[list[tuple[float, float]]] = []
    run: list[tuple[float, float]] = []
    column, t_sum, v_sum, count = None, 0.0, 0.0, 0
    for t, value in zip(times, values, strict=True):
        here = int(x_of(t))
        known = value is not None and math.isfinite(value)
        if count and (here != column or not known):
            run.append((x_of(t_sum / count), y_of(v_sum / count)))
            t_sum, v_sum, count = 0.0, 0.0, 0
        if not known or value is None:
            if run:
                runs.append(run)
                run = []
            continue
        column = here
        t_sum, v_sum, count = t_sum + t, v_sum + value, count + 1
    if count:
        run.append((x_of(t_sum / count), y_of(v_sum / count)))
    if run:
        runs.append(run)
    return [[r[i] for i in simplify(r, render_profile.TOLERANCE)] for r in runs]


_values = st.one_of(
    st.none(),
    st.sampled_from([math.nan, math.inf, -0.0, 0.0]),
    # Fractions that binary floats cannot hold: their sums depend on the order.
    st.integers(-(10**6), 10**7).map(lambda i: i / 997.0),
    st.integers(-(10**6), 10**7).map(lambda i: i / 997.0),
)


@settings(max_examples=300, deadline=None)
@given(
    st.floats(-2e9, 2e9, allow_nan=False),
    st.sampled_from([0.0, 1e-4, 0.001, 0.055, 1.0, 60.0]),
    st.lists(st.tuples(st.floats(0, 1, allow_nan=False), _values), max_size=3000),
)
# One column of 400 samples (its sums run past the vectorised length), and an
# hour at 18 Hz (~96 samples a column).
@example(0.0, 0.0, [(0.0, i / 997.0) for i in range(1, 400)])
@example(1.7e9, 1 / 18, [(0.3, (i % 5000) / 997.0) for i in range(64_800)])
def test_column_means_equal_the_sample_by_sample_reference(
    t0: float, step: float, samples: list[tuple[float, float | None]]
) -> None:
    # Steady clocks, jittery ones, and (step 0) every sample in one column: its
    # sums run past the vectorised length and are added in Python.
    times = [t0 + i * step + jitter * step for i, (jitter, _) in enumerate(samples)]
    values = [v for _, v in samples]
    if not times:
        return
    low, span = min(times), max(max(times) - min(times), 1.0)
    axis = render_profile._Axis(-1000.0, 10000.0, 1000.0)

    def x_of(t: Any) -> Any:
        return render_profile.LEFT + (t - low) / span * (render_profile.RIGHT - render_profile.LEFT)

    def y_of(v: Any) -> Any:
        return axis.y(v, 20.0)

    expected = _reference_column_means(times, values, x_of, y_of)
    assert render_profile._column_means(times, values, x_of, y_of) == expected


def _projected_point_by_point(lats: list[float], lons: list[float], wrap: bool) -> list[Any]:
    """The projection as a loop over the points (the reference)."""
    points = []
    for lat, lon in zip(lats, lons, strict=True):
        lon = lon + 360.0 if wrap and lon < 0 else lon
        lat = math.radians(
            max(-render_preview_module.MAX_LAT, min(render_preview_module.MAX_LAT, lat))
        )
        points.append((math.radians(lon), -math.log(math.tan(math.pi / 4 + lat / 2))))
    return points


_speed = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 100))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(-90, 90), st.floats(-180, 180), _speed, _speed),
        min_size=1,
        max_size=60,
    )
)
def test_points_projected_and_speeds_taken_by_columns_equal_the_point_by_point_ones(
    rows: list[tuple[float, float, float | None, float | None]],
) -> None:
    samples = [
        GpsSample(utc=None, video_time=float(i), lat=lat, lon=lon, speed_2d=s2, speed_3d=s3)
        for i, (lat, lon, s2, s3) in enumerate(rows)
    ]
    drawn = render_preview_module._Drawn.of(samples)
    expected_speeds = [
        math.nan if (v := ground_speed(s2, s3)) is None else v for _, _, s2, s3 in rows
    ]
    assert [repr(v) for v in drawn.speeds] == [repr(v) for v in expected_speeds]
    (points,) = render_preview_module._project([drawn])
    lats, lons = [r[0] for r in rows], [r[1] for r in rows]
    wrap = max(lons) - min(lons) > 180.0
    assert points[0 : len(points)] == _projected_point_by_point(lats, lons, wrap)


def _timed_sample_by_sample(
    segments: list[list[GpsSample]], shift_s: float
) -> tuple[list[tuple[list[float], list[float], list[float]]], bool]:
    """The profile's times, altitudes and km/h, sample by sample (the reference)."""

    def known(v: float | None) -> bool:
        return v is not None and math.isfinite(v)

    on_clock = any(known(s.utc) for seg in segments for s in seg)
    out = []
    for seg in segments:
        kept = [s for s in seg if known(s.utc if on_clock else s.video_time)]
        if kept:
            times = [s.utc + shift_s if on_clock else s.video_time for s in kept]
            eles = [s.ele if s.ele is not None else math.nan for s in kept]
            speeds = [ground_speed(s.speed_2d, s.speed_3d) for s in kept]
            out.append((times, eles, [math.nan if v is None else v * 3.6 for v in speeds]))
    return out, on_clock


_maybe = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.floats(-50, 500))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(_maybe, _maybe, _maybe, _maybe, _maybe), min_size=1, max_size=30),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from([0.0, 3600.0, -19800.0]),
)
def test_the_profile_reads_columns_as_the_sample_by_sample_reference(
    rows: list[list[tuple[Any, ...]]], shift_s: float
) -> None:
    segments = [
        [
            GpsSample(utc=u, video_time=v, lat=1.0, lon=2.0, ele=e, speed_2d=s2, speed_3d=s3)
            for u, v, e, s2, s3 in seg
        ]
        for seg in rows
    ]
    clock = render_preview_module.Clock(shift_s, "UTC")
    timed, on_clock = render_profile._timed(segments, clock)
    expected, expected_on_clock = _timed_sample_by_sample(segments, shift_s)
    assert on_clock == expected_on_clock
    got = [(t.times, t.eles.tolist(), t.kmh.tolist()) for t in timed]
    assert repr(got) == repr(expected)  # NaN == NaN by their text
