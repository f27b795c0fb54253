"""``preview.svg``: the route drawn to scale, coloured by speed, over a speed and altitude profile.

No map tiles: it works offline and shows the shape alone. The parts, top down:

- a title line: the video's name, its start on the clock info.json implies
  (render_clock.py), the distance along the track (fixes a second apart);
- the map: Web Mercator around the track (angles and shapes are right, so a
  square block looks square), scaled to fit 760 x 480 pixels, north up. Only
  valid fixes are drawn, in the segments of every map output
  (render_segments.split_segments), so a gap stays open. Each stretch is
  coloured by its mean speed; a green circle marks the start, a dark square the
  end. A track of one point, or of points all at one place, is drawn as its
  markers on a 200 m wide map (never a division by zero);
- a scale bar (metres at the map's middle latitude) and the speed colours;
- the profile (render_profile.py).

The drawn line is simplified to half a pixel (render_svg.simplify): an hour
at 18 Hz is 64,800 fixes but a few thousand drawn points. The file is
deterministic, like every rendered file, so its exact size is known as theirs.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from operator import neg
from typing import Any, overload

import numpy as np

from telemetryfs.parsers.model import GpsSample, Telemetry
from telemetryfs.parsers.track import GpsTrack, field_values

from . import render_profile
from .render_clock import Clock, clock_of
from .render_columns import ground_speeds
from .render_common import finite
from .render_segments import split_segments
from .render_svg import (
    FAINT,
    SPEED_COLOURS,
    UNKNOWN_SPEED,
    Point,
    nice_floor,
    nice_step,
    num,
    path_data,
    simplify_xy,
    speed_colour,
    text,
)

WIDTH = 800
MAP_X = 20
MAP_Y = 36
MAP_W = WIDTH - 2 * MAP_X
MAP_MAX_H = 480
MAP_MIN_H = 90
PAD = 14  # inside the map's frame: room for the markers
MAP_BACKGROUND = "#f3f1ea"
MIN_SPAN_M = 200.0  # the narrowest map, so a track at one place still has a scale
TOLERANCE = 0.5  # pixels
# The most route points drawn: beyond, the tolerance doubles until they fit
# (a noisy hour-long walk on a small map), keeping the file under ~100 KB.
MAX_ROUTE_POINTS = 3000
MAX_TOLERANCE = 8.0
ROUTE_WIDTH = 3
EARTH_RADIUS = 6_371_008.8  # metres (IUGG mean radius)
MAX_LAT = 85.051_128_78  # Web Mercator's square world

Array = np.ndarray[Any, Any]


def render_preview(telemetry: Telemetry, *, name: str) -> bytes:
    """The ``preview.svg`` of a video or recording (UTF-8)."""
    segments = _drawable(split_segments(telemetry.gps, telemetry.breaks))
    drawn = [_Drawn.of(seg) for seg in segments]  # the samples stay in the columns
    clock = clock_of(telemetry)
    speeds = [v for seg in drawn for v in seg.speeds if v == v]  # NaN: none
    top_kmh = max(speeds, default=0.0) * 3.6
    top_kmh = max(10.0, math.ceil(top_kmh / nice_step(top_kmh, 4)) * nice_step(top_kmh, 4))
    top = top_kmh / 3.6
    body, map_h, metres_per_px = _map(drawn, top)
    below = MAP_Y + map_h
    body += _scale_bar(metres_per_px, below + 22)
    body += _legend(top_kmh, below + 22)
    profile_y = below + 40
    body += render_profile.render_profile(segments, clock, top_kmh, profile_y)
    height = profile_y + render_profile.HEIGHT
    body = _title(name, drawn, clock) + body
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{num(height)}"'
        f' viewBox="0 0 {WIDTH} {num(height)}">\n'
        f'<rect x="0" y="0" width="{WIDTH}" height="{num(height)}" fill="#ffffff"/>\n'
    )
    return (head + "\n".join(body) + "\n</svg>\n").encode("utf-8")


def _drawable(segments: Sequence[Sequence[GpsSample]]) -> list[Sequence[GpsSample]]:
    """Each segment's samples with a finite position; a track's stay columns (a
    3-hour recording's samples held at once as objects weighed ~40 MB)."""
    out: list[Sequence[GpsSample]] = []
    for seg in segments:
        kept: Sequence[GpsSample]
        if isinstance(seg, GpsTrack):
            placed = np.isfinite(seg.column("lat")) & np.isfinite(seg.column("lon"))
            kept = seg if placed.all() else seg.take(np.flatnonzero(placed))
        else:
            kept = [s for s in seg if finite(s.lat) and finite(s.lon)]
        if kept:
            out.append(kept)
    return out


@dataclass(frozen=True, slots=True)
class _Drawn:
    """What the map reads of a drawable segment's samples (from a track's columns
    without building its samples), as arrays of doubles: a 3-hour recording's
    values as lists of float objects, with their projected points, weighed ~50 MB."""

    lats: array[float]
    lons: array[float]
    speeds: array[float]  # ground_speed of each sample; NaN where it has none
    first_utc: float | None  # the first finite UTC
    length_m: float  # the distance along it (_length_m)

    @staticmethod
    def of(seg: Sequence[GpsSample]) -> _Drawn:
        utcs = field_values(seg, "utc")
        first_utc = next((u for u in utcs if finite(u)), None)
        video_times = field_values(seg, "video_time")
        whens = [u if u is not None else v for u, v in zip(utcs, video_times, strict=True)]
        del utcs, video_times
        lats = array("d", field_values(seg, "lat"))
        lons = array("d", field_values(seg, "lon"))
        length = _length_m(whens, lats, lons)
        del whens
        return _Drawn(lats, lons, _doubles(ground_speeds(seg)), first_utc, length)


def _doubles(values: Array) -> array[float]:
    """A float64 numpy array as an array of doubles (what the drawing code indexes)."""
    out = array("d")
    out.frombytes(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return out


class _Points(Sequence[Point]):
    """A segment's points, (xs[i], ys[i]), from two arrays (simplify reads them)."""

    def __init__(self, xs: array[float], ys: array[float]) -> None:
        self.xs, self.ys = xs, ys

    def __len__(self) -> int:
        return len(self.xs)

    @overload
    def __getitem__(self, i: int) -> Point: ...

    @overload
    def __getitem__(self, i: slice) -> list[Point]: ...

    def __getitem__(self, i: int | slice) -> Point | list[Point]:
        if isinstance(i, slice):
            return list(zip(self.xs[i], self.ys[i], strict=True))
        return self.xs[i], self.ys[i]


def _title(name: str, segments: list[_Drawn], clock: Clock) -> list[str]:
    facts = []
    first = next((seg.first_utc for seg in segments if seg.first_utc is not None), None)
    shown = clock.datetime(first)
    if shown is not None:
        facts.append(f"{shown:%Y-%m-%d %H:%M} {clock.label}")
    facts.append(_distance_text(sum(seg.length_m for seg in segments)))
    return [
        text(MAP_X, 24, name, size=14, font_weight="bold"),
        text(MAP_X + MAP_W, 24, " · ".join(facts), size=12, anchor="end"),
    ]


def _map(segments: list[_Drawn], top: float) -> tuple[list[str], float, float]:
    """The map's elements, its height, and metres per pixel at its middle latitude."""
    projected = _project(segments)
    if not projected:
        return _empty_map(), MAP_MIN_H, MIN_SPAN_M / (MAP_W - 2 * PAD)
    lat_low = min(min(seg.lats) for seg in segments)
    lat_high = max(max(seg.lats) for seg in segments)
    middle = math.radians(max(-MAX_LAT, min(MAX_LAT, (lat_low + lat_high) / 2)))
    # Ground metres per Mercator unit (radian of longitude) at the middle latitude.
    metres_per_unit = EARTH_RADIUS * max(math.cos(middle), 1e-6)
    least = MIN_SPAN_M / metres_per_unit
    min_x = min(min(p.xs) for p in projected)
    max_x = max(max(p.xs) for p in projected)
    min_y = min(min(p.ys) for p in projected)
    max_y = max(max(p.ys) for p in projected)
    span_x, span_y = max(max_x - min_x, least), max(max_y - min_y, least)
    inner_w = MAP_W - 2 * PAD
    scale = min(inner_w / span_x, (MAP_MAX_H - 2 * PAD) / span_y)
    inner_h = max(span_y * scale, MAP_MIN_H - 2 * PAD)
    left = MAP_X + PAD + (inner_w - (max_x - min_x) * scale) / 2
    upper = MAP_Y + PAD + (inner_h - (max_y - min_y) * scale) / 2
    # The same operations in the same order as per point: the same doubles.
    pixels = [
        _Points(
            _doubles(left + (np.frombuffer(p.xs) - min_x) * scale),
            _doubles(upper + (np.frombuffer(p.ys) - min_y) * scale),
        )
        for p in projected
    ]
    del projected  # a point each: an hour's worth
    out = [
        f'<rect id="map" x="{MAP_X}" y="{MAP_Y}" width="{MAP_W}" height="{num(inner_h + 2 * PAD)}"'
        f' fill="{MAP_BACKGROUND}"/>'
    ]
    out += _route(pixels, segments, top)
    out += _markers(pixels[0][0], pixels[-1][-1])
    return out, inner_h + 2 * PAD, metres_per_unit / scale


def _empty_map() -> list[str]:
    return [
        f'<rect id="map" x="{MAP_X}" y="{MAP_Y}" width="{MAP_W}" height="{MAP_MIN_H}"'
        f' fill="{MAP_BACKGROUND}"/>',
        text(WIDTH / 2, MAP_Y + MAP_MIN_H / 2 + 4, "no position", anchor="middle", fill=FAINT),
    ]


def _project(segments: list[_Drawn]) -> list[_Points]:
    """Web Mercator in radians, y down; a track across the antimeridian kept in one piece."""
    if not segments:
        return []
    wrap = max(max(seg.lons) for seg in segments) - min(min(seg.lons) for seg in segments) > 180.0
    out = []
    for seg in segments:
        lons = np.frombuffer(seg.lons)
        if wrap:
            lons = np.where(lons < 0, lons + 360.0, lons)
        # numpy's radians is math.radians' multiplication by pi/180; clip, halve and
        # add are exact: the same doubles as a loop over the points. tan and log stay
        # math's (numpy's own may differ in the last bit).
        lats = np.radians(np.clip(np.frombuffer(seg.lats), -MAX_LAT, MAX_LAT))
        angles = (math.pi / 4 + lats / 2).tolist()
        ys = array("d", map(neg, map(math.log, map(math.tan, angles))))
        out.append(_Points(_doubles(np.radians(lons)), ys))
    return out


def _route(pixels: list[_Points], segments: list[_Drawn], top: float) -> list[str]:
    """One path per colour; each simplified stretch takes the colour of its mean speed."""
    paths: dict[str, list[str]] = {}
    dots = []
    for points, seg, kept in zip(pixels, segments, _simplified(pixels), strict=True):
        if len(points) == 1:
            first = seg.speeds[0]
            colour = speed_colour(first if first == first else None, top)
            x, y = points[0]
            dots.append(f'<circle cx="{num(x)}" cy="{num(y)}" r="2" fill="{colour}"/>')
            continue
        sums, counts = [0.0], [0]
        for v in seg.speeds:
            known = v == v  # NaN: no speed
            sums.append(sums[-1] + (v if known and v else 0.0))
            counts.append(counts[-1] + known)
        run: list[int] = [kept[0]]
        run_colour = ""
        for a, b in pairwise(kept):
            n = counts[b] - counts[a]
            colour = speed_colour((sums[b] - sums[a]) / n if n else None, top)
            if colour != run_colour and len(run) > 1:
                paths.setdefault(run_colour, []).append(path_data([points[i] for i in run]))
                run = [a]
            run_colour = colour
            run.append(b)
        paths.setdefault(run_colour, []).append(path_data([points[i] for i in run]))
    out = []
    for colour in (*SPEED_COLOURS, UNKNOWN_SPEED):
        if colour in paths:
            out.append(
                f'<path d="{"".join(paths[colour])}" fill="none" stroke="{colour}"'
                f' stroke-width="{ROUTE_WIDTH}" stroke-linecap="round" stroke-linejoin="round"/>'
            )
    return out + dots


def _simplified(pixels: list[_Points]) -> list[list[int]]:
    """The indices of each segment's points to draw, within the MAX_ROUTE_POINTS budget."""
    tolerance = TOLERANCE
    while True:
        kept = [simplify_xy(points.xs, points.ys, tolerance) for points in pixels]
        if sum(map(len, kept)) <= MAX_ROUTE_POINTS or tolerance >= MAX_TOLERANCE:
            return kept
        tolerance *= 2


def _markers(start: Point, end: Point) -> list[str]:
    ex, ey = end
    sx, sy = start
    return [
        f'<rect x="{num(ex - 5)}" y="{num(ey - 5)}" width="10" height="10" fill="#222222"'
        ' stroke="#ffffff" stroke-width="1.5"/>',
        f'<circle cx="{num(sx)}" cy="{num(sy)}" r="6" fill="#1a9641" stroke="#ffffff"'
        ' stroke-width="1.5"/>',
    ]


def _scale_bar(metres_per_px: float, y: float) -> list[str]:
    metres = nice_floor(150 * metres_per_px)
    length = metres / metres_per_px
    x0, x1 = MAP_X, MAP_X + length
    label = f"{metres:g} m" if metres < 1000 else f"{metres / 1000:g} km"
    return [
        f'<path d="M{num(x0)} {num(y - 6)}V{num(y)}H{num(x1)}V{num(y - 6)}" fill="none"'
        ' stroke="#333333" stroke-width="1.5"/>',
        text(x1 + 6, y, label, size=11),
    ]


def _legend(top_kmh: float, y: float) -> list[str]:
    box = 22
    x0 = MAP_X + MAP_W - box * len(SPEED_COLOURS)
    out = [text(x0 - 6, y, "0", size=11, anchor="end")]
    for i, colour in enumerate(SPEED_COLOURS):
        out.append(
            f'<rect x="{x0 + i * box}" y="{num(y - 9)}" width="{box}" height="9" fill="{colour}"/>'
        )
    out.append(text(x0 - 18, y, "speed", size=11, anchor="end"))
    out.append(text(MAP_X + MAP_W, y + 14, f"{top_kmh:g} km/h", size=11, anchor="end"))
    return out


def _length_m(when: Sequence[float | None], lats: Sequence[float], lons: Sequence[float]) -> float:
    """The distance along the fixes, taken at most once a second.

    At 18 Hz, a receiver's metre of noise between fixes adds up to more than the
    way travelled; a second apart, the way dominates.
    """
    total = 0.0
    kept = [0]
    for i in range(1, len(when)):
        last, now = when[kept[-1]], when[i]
        if last is None or now is None or abs(now - last) >= 1.0:
            kept.append(i)
    if kept[-1] != len(when) - 1:
        kept.append(len(when) - 1)
    for a, b in pairwise(kept):
        lat1, lon1, lat2, lon2 = lats[a], lons[a], lats[b], lons[b]
        p1, p2 = math.radians(lat1), math.radians(lat2)
        dl = math.radians(lon2 - lon1)
        h = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
        total += 2 * EARTH_RADIUS * math.asin(min(1.0, math.sqrt(h)))
    return total


def _distance_text(metres: float) -> str:
    return f"{metres:.0f} m" if metres < 1000 else f"{metres / 1000:.1f} km"
