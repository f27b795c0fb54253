"""Track segments: which valid samples are drawn as one line, and in what coordinate ranges.

Shared by every map output (GPX, KML, GeoJSON) and info.json, so they always
agree on the segments. The rules (documented for users in fs/render.py):

- only valid samples (``GpsSample.valid``) are drawn;
- a segment ends where the fix is lost (an invalid sample between valid ones);
- a segment ends where time jumps (a tunnel, a paused recording: drawing a
  straight line across would invent a path), by more than
  ``max(GAP_FLOOR_S, GAP_FACTOR x median sample interval)``: 5 s for 1 Hz
  dashcams and 18 Hz GoPros, 10 s for a logger that records every 2 s.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import statistics
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import pairwise
from operator import attrgetter, sub
from typing import cast

import numpy as np

from telemetryfs.parsers.model import GpsSample
from telemetryfs.parsers.track import GpsTrack, joined_tracks

from .render_columns import sample_field
from .render_common import LATLON_DECIMALS, complete, rounded, utc_millis

GAP_FLOOR_S = 5.0  # seconds
GAP_FACTOR = 5.0  # x the median sample interval
# The numpy split from this many samples on (see render_gpx_points.ARRAY_MIN_POINTS:
# the same trade of a few ms a clip against a card's peak memory).
ARRAY_MIN_SAMPLES = 4096


def _times(samples: Sequence[GpsSample], use_utc: bool) -> list[float | None]:
    values = [s.utc for s in samples] if use_utc else [s.video_time for s in samples]
    if complete(values) and math.isfinite(sum(values)):
        return list(values)
    return [v if v is not None and math.isfinite(v) else None for v in values]


def _steps(times: Sequence[float | None]) -> list[float | None]:
    """Differences between consecutive times (None where either is unknown)."""
    if complete(times):
        return list(map(sub, times[1:], times[:-1]))
    return [None if a is None or b is None else b - a for a, b in pairwise(times)]


def gap_threshold(steps: Sequence[float | None]) -> float:
    """The time jump that starts a new segment (see GAP_FLOOR_S), from the time steps."""
    forward = [d for d in steps if d is not None and d > 0]
    if not forward:
        return GAP_FLOOR_S
    return max(GAP_FLOOR_S, GAP_FACTOR * statistics.median(forward))


def split_segments(
    samples: Sequence[GpsSample], breaks: Iterable[int] = ()
) -> list[Sequence[GpsSample]]:
    """The valid samples, cut into track segments, ready to draw.

    A segment ends where the fix is lost (an invalid sample between valid ones)
    or where time jumps by more than :func:`gap_threshold` (either direction: a
    clock stepping back is a jump too). Times are compared in UTC when both
    samples have it, else in video time; with neither, only fix loss cuts.

    ``breaks``: indices where a segment starts whatever the times say (the
    joins of a recording across a missing or failed part, Telemetry.breaks).

    Coordinates are put in the ranges GPX and GeoJSON require (see
    :func:`drawable`); parsers mark truly out-of-range fixes invalid, so this
    only matters at the antimeridian, where 179.99999999 rounds to 180.
    """
    if not isinstance(samples, tuple) or len(samples) >= ARRAY_MIN_SAMPLES:
        return _split(samples, breaks)
    cuts = tuple(breaks)
    with _last_split_lock:
        last = _last_split[0] if _last_split else None
    if last is not None and last[0] is samples and last[1] == cuts:
        segments = last[2]
    else:
        segments = _split(samples, cuts)
        with _last_split_lock:
            _last_split[:] = [(samples, cuts, segments)]
    # Copies of the lists: a caller may change its own.
    return [list(seg) if isinstance(seg, list) else seg for seg in segments]


# A clip's GPX, GeoJSON, KML, preview and info.json split the same track, one after
# the other: a short track's split is kept for the next call with the very same
# samples (a parser's tuple, which never changes) and breaks. Long tracks split by
# numpy in a few ms and would weigh: not kept.
_last_split: list[tuple[tuple[GpsSample, ...], tuple[int, ...], list[Sequence[GpsSample]]]] = []
_last_split_lock = threading.Lock()


def _split(samples: Sequence[GpsSample], breaks: Iterable[int]) -> list[Sequence[GpsSample]]:
    """split_segments, computed."""
    if not samples:
        return []
    at_once = _split_at_once(samples, breaks) if len(samples) >= ARRAY_MIN_SAMPLES else None
    if at_once is not None:
        return at_once
    utc_steps = _steps(_times(samples, True))
    video_steps = _steps(_times(samples, False))
    utc_gap, video_gap = gap_threshold(utc_steps), gap_threshold(video_steps)
    # One clock for the whole track is the usual case: find its jumps in bulk.
    if complete(utc_steps):
        jumps = _jumps(utc_steps, utc_gap)
    elif utc_steps.count(None) == len(utc_steps) and complete(video_steps):
        jumps = _jumps(video_steps, video_gap)
    else:
        jumps = {
            i + 1
            for i, (u, v) in enumerate(zip(utc_steps, video_steps, strict=True))
            if (
                not -utc_gap <= u <= utc_gap
                if u is not None
                else v is not None and not -video_gap <= v <= video_gap
            )
        }
    jumps |= {i for i in breaks if 0 < i < len(samples)}
    valid = [s.valid for s in samples]
    if False not in valid:
        cuts = [0, *sorted(jumps), len(samples)]
        segments = [list(samples[a:b]) for a, b in pairwise(cuts)]
    else:
        segments = _cut(samples, valid, jumps)
    return [_in_range(seg) for seg in segments]


def _median(values: np.ndarray) -> float:
    """statistics.median's value: the middle one, or the mean of the two middle ones.

    Not np.median: its first call imports numpy.ma, holding the GIL 10-20 ms in the
    middle of a render, and the daemon ~1.3 MB bigger.
    """
    k = len(values) // 2
    if len(values) % 2:
        return float(np.partition(values, k)[k])
    middle = np.partition(values, (k - 1, k))
    return (float(middle[k - 1]) + float(middle[k])) / 2


def _split_at_once(
    samples: Sequence[GpsSample], breaks: Iterable[int]
) -> list[Sequence[GpsSample]] | None:
    """split_segments for a track whose every sample has a finite UTC time,
    computed with numpy: the same segments (a test compares), a
    quarter of the time on an hour of GoPro. None for any other track."""
    # fromiter reads None as NaN: an untimed sample fails the check below, a
    # sample without coordinates makes the segments go through _in_range.
    utc, lat, lon = (sample_field(samples, field, np.float64) for field in ("utc", "lat", "lon"))
    if not np.isfinite(utc).all():
        return None
    valid = sample_field(samples, "valid", bool)
    steps = np.diff(utc)
    forward = steps[steps > 0]
    gap = max(GAP_FLOOR_S, GAP_FACTOR * _median(forward)) if len(forward) else GAP_FLOOR_S
    cut = np.zeros(len(samples) + 1, dtype=bool)  # cut[i]: a segment may not run from i-1 to i
    cut[1:-1] = (steps > gap) | (steps < -gap)
    cut[[i for i in breaks if 0 < i < len(samples)]] = True
    cut[0] = cut[-1] = True
    inside = np.concatenate(([False], valid, [False]))
    starts = np.flatnonzero(valid & (cut[:-1] | ~inside[:-2]))
    ends = np.flatnonzero(valid & (cut[1:] | ~inside[2:])) + 1
    # A GpsTrack's slices stay columns (views); a tuple's become lists.
    keep: Callable[[Sequence[GpsSample]], Sequence[GpsSample]] = (
        _as_is if isinstance(samples, GpsTrack) else list
    )
    segments = [keep(samples[a:b]) for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    drawn_as_is = (lat >= -90.0) & (lat <= 90.0) & (lon >= -180.0) & (lon < _LON_ROUNDS_BELOW_180)
    if drawn_as_is[valid].all():
        return segments
    return [_in_range(seg) for seg in segments]


def _as_is(samples: Sequence[GpsSample]) -> Sequence[GpsSample]:
    return samples


def reaching(ends: Sequence[int], start: int, stop: int) -> Iterator[tuple[int, int, int]]:
    """(number, first point, end) of each segment with points from ``start`` to ``stop``
    of the joined samples, ``ends`` being each segment's end there (renderers go a slice
    of points at a time, and a segment may begin or end in any slice)."""
    k = bisect.bisect_right(ends, start)
    while k < len(ends):
        first = ends[k - 1] if k else 0
        if first >= stop:
            return
        yield k, first, ends[k]
        k += 1


def joined(segments: Sequence[Sequence[GpsSample]]) -> Sequence[GpsSample]:
    """Every segment's samples in one sequence: columns when the segments are
    slices of a GpsTrack (what renderers read a column at a time), else a list."""
    if segments and all(isinstance(seg, GpsTrack) for seg in segments):
        tracks = cast("list[GpsTrack]", list(segments))
        return tracks[0] if len(tracks) == 1 else joined_tracks(tracks)
    return [s for segment in segments for s in segment]


def _jumps(steps: Sequence[float], gap: float) -> set[int]:
    return {i + 1 for i, d in enumerate(steps) if d > gap or d < -gap}


def _cut(samples: Sequence[GpsSample], valid: list[bool], jumps: set[int]) -> list[list[GpsSample]]:
    """Segments of the valid samples: cut at invalid samples and at the given jumps."""
    segments: list[list[GpsSample]] = []
    current: list[GpsSample] = []
    for i, sample in enumerate(samples):
        if not valid[i]:
            if current:
                segments.append(current)
                current = []
            continue
        if current and i in jumps:
            segments.append(current)
            current = []
        current.append(sample)
    if current:
        segments.append(current)
    return segments


def _in_range(segment: Sequence[GpsSample]) -> Sequence[GpsSample]:
    lats = [s.lat for s in segment]
    lons = [s.lon for s in segment]
    if (
        complete(lats)
        and complete(lons)
        and min(lats) >= -90.0
        and max(lats) <= 90.0
        and min(lons) >= -180.0
        and max(lons) < _LON_ROUNDS_BELOW_180
    ):
        return segment
    return [s if _drawn_as_is(s) else drawable(s) for s in segment]


def _drawn_as_is(sample: GpsSample) -> bool:
    lat, lon = sample.lat, sample.lon
    return (lat is None or -90.0 <= lat <= 90.0) and (
        lon is None or -180.0 <= lon < _LON_ROUNDS_BELOW_180
    )


# Any longitude below this rounds (7 decimals) to at most 179.9999999.
_LON_ROUNDS_BELOW_180 = 179.99999994


def drawable(sample: GpsSample) -> GpsSample:
    """The sample with latitude clamped to [-90, 90] and longitude wrapped into [-180, 180).

    GPX 1.1's ``lonType`` excludes 180 (and RFC 7946 wants the same range), so a
    longitude that rounds to 180 is written as -180: the same meridian.
    Non-finite coordinates become None.
    """
    lat, lon = sample.lat, sample.lon
    if lat is not None:
        lat = min(90.0, max(-90.0, lat)) if math.isfinite(lat) else None
    if lon is not None:
        lon = rounded(lon, LATLON_DECIMALS)
        if lon is not None:
            lon = rounded((lon + 180.0) % 360.0 - 180.0, LATLON_DECIMALS)
            if lon is not None and lon >= 180.0:
                lon = -180.0
    return dataclasses.replace(sample, lat=lat, lon=lon)


def extremes(samples: Sequence[GpsSample], field: str) -> tuple[float, float] | None:
    """(min, max) of a field over the samples that have it, None when none has."""
    if isinstance(samples, GpsTrack):
        values = samples.column(field)
        if samples.has_none(field):
            values = values[~np.isnan(values)]  # valid samples hold no NaN of their own
        return (float(values.min()), float(values.max())) if len(values) else None
    present = [v for v in map(attrgetter(field), samples) if v is not None]
    return (min(present), max(present)) if present else None


def first_utc(samples: Iterable[GpsSample]) -> float | None:
    """The UTC time of the first sample that has a usable one."""
    if isinstance(samples, GpsTrack):
        utc = samples.column("utc")
        for i in np.flatnonzero(np.isfinite(utc)).tolist():  # the first, as a rule
            if utc_millis(float(utc[i])) is not None:
                return float(utc[i])
        return None
    for sample in samples:
        if utc_millis(sample.utc) is not None:
            return sample.utc
    return None
