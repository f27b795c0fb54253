"""The preview's lower panel: speed and altitude over time, on labelled axes.

x is the clock info.json implies (UTC or local, see render_clock.py), or the
video time when the track has no clock; speed is in km/h on the left axis,
altitude in metres on the right. Each track segment is drawn on its own, so a
gap in the track stays a gap here. Samples are averaged per pixel column and
the lines simplified, so an hour costs a few kilobytes.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from telemetryfs.parsers.model import GpsSample

from .render_clock import Clock
from .render_columns import Array, ground_speeds, sample_field
from .render_svg import FAINT, Point, nice_step, num, path_data, simplify, text

LEFT = 64
RIGHT = 736  # the plot's right edge
PLOT_H = 150
TOP_LABELS = 20  # room above the plot for the axis titles
BELOW = 44  # room below for the time ticks and the axis title
HEIGHT = TOP_LABELS + PLOT_H + BELOW
SPEED_INK = "#1f4e9c"
ALTITUDE_INK = "#8a6d3b"
ALTITUDE_FILL = "#ddd0b0"
TOLERANCE = 0.5  # pixels

# Time tick steps in seconds: round clock intervals up to a day.
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200)
_DAY = 86400
MAX_TIME_TICKS = 7

_XOf = Callable[[float], float]


@dataclass(frozen=True, slots=True)
class _Axis:
    low: float
    high: float
    step: float

    def y(self, value: float, top: float) -> float:
        return top + PLOT_H - (value - self.low) / (self.high - self.low) * PLOT_H

    def ticks(self) -> list[float]:
        count = round((self.high - self.low) / self.step)
        return [self.low + i * self.step for i in range(count + 1)]


def render_profile(
    segments: Sequence[Sequence[GpsSample]], clock: Clock, top_kmh: float, y0: float
) -> list[str]:
    """The panel's SVG elements, drawn from ``y0`` down (``HEIGHT`` pixels)."""
    top = y0 + TOP_LABELS
    timed, on_clock = _timed(segments, clock)
    out = [
        f'<rect x="{LEFT}" y="{num(top)}" width="{RIGHT - LEFT}" height="{PLOT_H}"'
        f' fill="#ffffff" stroke="#cccccc" stroke-width="1"/>'
    ]
    speed_step = nice_step(top_kmh, 4)
    speed = _Axis(0.0, max(speed_step, math.ceil(top_kmh / speed_step) * speed_step), speed_step)
    altitude = _altitude_axis(timed)
    for tick in speed.ticks():
        y = speed.y(tick, top)
        out.append(
            f'<line x1="{LEFT}" y1="{num(y)}" x2="{RIGHT}" y2="{num(y)}" stroke="#eeeeee"'
            ' stroke-width="1"/>'
        )
        out.append(text(LEFT - 6, y + 4, f"{tick:g}", size=11, anchor="end", fill=SPEED_INK))
    out.append(text(LEFT, top - 8, "speed, km/h", size=11, fill=SPEED_INK))
    times = [t for seg in timed for t in seg.times]
    if not times:
        out.append(text((LEFT + RIGHT) / 2, top + PLOT_H / 2, "no times", anchor="middle"))
        return out
    t0, t1 = min(times), max(times)
    span = max(t1 - t0, 1.0)

    def x_of(t: float) -> float:
        return LEFT + (t - t0) / span * (RIGHT - LEFT)

    if altitude is not None:
        for tick in altitude.ticks():
            label = f"{tick:g}"
            out.append(
                text(RIGHT + 6, altitude.y(tick, top) + 4, label, size=11, fill=ALTITUDE_INK)
            )
        out.append(text(RIGHT, top - 8, "altitude, m", size=11, anchor="end", fill=ALTITUDE_INK))
        out += _altitude_area(timed, x_of, altitude, top)
    # Every segment in one element per series: a recording of many short
    # segments costs its points, not an element each.
    runs = [
        run
        for seg in timed
        for run in _column_means(seg.times, seg.kmh, x_of, lambda v: speed.y(v, top))
    ]
    out += _polyline(runs, SPEED_INK, 1.5)
    out += _time_ticks(t0, t1, x_of, top + PLOT_H, on_clock)
    title = f"time ({clock.label})" if on_clock else "video time"
    out.append(text((LEFT + RIGHT) / 2, top + PLOT_H + 36, title, size=11, anchor="middle"))
    return out


@dataclass(frozen=True, slots=True)
class _Timed:
    """One segment's samples that have an x time: the time, altitude and speed of
    each (numbers, not the samples: a 3-hour recording's samples held at once as
    objects weighed ~40 MB)."""

    times: list[float]
    eles: Array  # float64, NaN where unknown
    kmh: Array


def _timed(segments: Sequence[Sequence[GpsSample]], clock: Clock) -> tuple[list[_Timed], bool]:
    """Each segment's samples with their x time: the shown clock, else the video time."""
    # By whole columns (None read as NaN): the same numbers as sample by sample.
    utcs = [sample_field(seg, "utc", np.float64) for seg in segments]
    on_clock = any(np.isfinite(seg_utc).any() for seg_utc in utcs)
    timed = []
    for seg, seg_utc in zip(segments, utcs, strict=True):
        if on_clock:
            kept = np.flatnonzero(np.isfinite(seg_utc))
            times = (seg_utc[kept] + clock.shift_s).tolist()
        else:
            video_times = sample_field(seg, "video_time", np.float64)
            kept = np.flatnonzero(np.isfinite(video_times))
            times = video_times[kept].tolist()
        if len(kept):
            eles = sample_field(seg, "ele", np.float64)[kept]
            with np.errstate(over="ignore"):  # beyond 5e307 m/s: inf, as Python's float
                kmh = ground_speeds(seg)[kept] * 3.6
            timed.append(_Timed(times, eles, kmh))
    return timed, on_clock


def _altitude_axis(timed: list[_Timed]) -> _Axis | None:
    values = np.concatenate([seg.eles for seg in timed]) if timed else np.zeros(0)
    values = values[np.isfinite(values)]
    if not len(values):
        return None
    low, high = float(values.min()), float(values.max())
    mid = (low + high) / 2
    low, high = min(low, mid - 5), max(high, mid + 5)  # at least 10 m tall
    step = nice_step(high - low, 4)
    return _Axis(math.floor(low / step) * step, math.ceil(high / step) * step, step)


def _altitude_area(timed: list[_Timed], x_of: _XOf, axis: _Axis, top: float) -> list[str]:
    """The ground under the altitude line, filled (no separate line: half the bytes)."""
    base = top + PLOT_H
    shapes = []
    for seg in timed:
        for run in _column_means(seg.times, seg.eles, x_of, lambda v: axis.y(v, top)):
            if len(run) >= 2:
                shapes.append(path_data([(run[0][0], base), *run, (run[-1][0], base)]) + "z")
    if not shapes:
        return []
    return [f'<path d="{"".join(shapes)}" fill="{ALTITUDE_FILL}" stroke="none"/>']


def _polyline(runs: list[list[Point]], colour: str, width: float) -> list[str]:
    """One path of every run of two points or more; a dot for a lone point."""
    out = []
    lines = "".join(path_data(run) for run in runs if len(run) > 1)
    if lines:
        out.append(
            f'<path d="{lines}" fill="none"'
            f' stroke="{colour}" stroke-width="{width}" stroke-linejoin="round"/>'
        )
    for run in runs:
        if len(run) == 1:
            x, y = run[0]
            out.append(f'<circle cx="{num(x)}" cy="{num(y)}" r="{width}" fill="{colour}"/>')
    return out


def _column_means(
    times: list[float],
    values: list[float | None] | Array,
    x_of: Callable[[Any], Any],
    y_of: Callable[[Any], Any],
) -> list[list[Point]]:
    """Runs of points, one per pixel column (the mean of its samples), simplified.

    A sample without the value ends a run: the line is not drawn across it.
    ``x_of`` and ``y_of`` are plain arithmetic, so they take numpy arrays too.

    In numpy, with the same numbers as a loop over the samples: each column's
    sums add its samples one by one, in order (numpy's own sums pair them up,
    which rounds differently). A loop over the samples was a third of the
    preview's time.
    """
    t = np.asarray(times, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)  # None becomes NaN
    known = np.isfinite(v)
    kept = np.flatnonzero(known)
    if not len(kept):
        return []
    # Which run each known sample belongs to: the unknown ones before it.
    run_of = np.cumsum(~known)[kept]
    columns = np.trunc(x_of(t[kept]))
    t, v = t[kept], v[kept]
    new_group = np.empty(len(kept), dtype=bool)
    new_group[0] = True
    new_group[1:] = (run_of[1:] != run_of[:-1]) | (columns[1:] != columns[:-1])
    starts = np.flatnonzero(new_group)
    lengths = np.diff(np.append(starts, len(kept)))
    t_sum, v_sum = _sums_in_order(t, starts, lengths), _sums_in_order(v, starts, lengths)
    xs = np.asarray(x_of(t_sum / lengths), dtype=np.float64).tolist()
    ys = np.asarray(y_of(v_sum / lengths), dtype=np.float64).tolist()
    group_runs = run_of[starts]
    cuts = [0, *(np.flatnonzero(group_runs[1:] != group_runs[:-1]) + 1).tolist(), len(starts)]
    runs = [list(zip(xs[a:b], ys[a:b], strict=True)) for a, b in itertools.pairwise(cuts)]
    return [[r[i] for i in simplify(r, TOLERANCE)] for r in runs]


# Columns of more samples than this are summed in Python (still in order): the
# numpy sums step once per sample of the longest column.
_LONG_COLUMN = 32


def _sums_in_order(values: Any, starts: Any, lengths: Any) -> Any:
    """Each group's sum, adding its values one by one from 0.0, as a loop would."""
    sums = np.zeros(len(starts))
    short = lengths <= _LONG_COLUMN
    for k in range(int(lengths[short].max(initial=0))):
        at = short & (lengths > k)
        sums[at] += values[starts[at] + k]
    for g in np.flatnonzero(~short).tolist():
        a = int(starts[g])
        sums[g] = functools.reduce(operator.add, values[a : a + int(lengths[g])].tolist(), 0.0)
    return sums


def _time_ticks(t0: float, t1: float, x_of: _XOf, bottom: float, on_clock: bool) -> list[str]:
    span = max(t1 - t0, 1.0)
    step = next((s for s in _TIME_STEPS if span / s <= MAX_TIME_TICKS), 0)
    if not step:
        step = int(nice_step(span / _DAY, MAX_TIME_TICKS)) * _DAY or _DAY
    out = []
    tick = math.ceil(t0 / step) * step
    while tick <= t1 + 1e-9:
        x = x_of(tick)
        out.append(
            f'<line x1="{num(x)}" y1="{num(bottom)}" x2="{num(x)}" y2="{num(bottom + 5)}"'
            f' stroke="{FAINT}" stroke-width="1"/>'
        )
        out.append(
            text(x, bottom + 18, _time_label(tick, step, span, on_clock), size=11, anchor="middle")
        )
        tick += step
    return out


def _time_label(t: float, step: int, span: float, on_clock: bool) -> str:
    whole = int(t)
    if not on_clock:
        hours, rest = divmod(whole, 3600)
        return (
            f"{hours}:{rest // 60:02d}:{rest % 60:02d}"
            if step < 60
            else f"{hours}:{rest // 60:02d}"
        )
    if not -62_135_596_800 <= whole <= 253_402_300_799:
        return ""
    when = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=whole)
    if span > _DAY:
        return f"{when:%m-%d %H:%M}"
    return f"{when:%H:%M:%S}" if step < 60 else f"{when:%H:%M}"
