"""The ``<trkpt>`` lines of ``track.gpx``: the XML gpxpy writes for a point, one line each.

Two writers of the same bytes (see fs/render_gpx.py for the layout and the
choices): ``array_point_pieces`` writes every point of a track through numpy,
for the common track whose fields are present everywhere or nowhere and plain;
``segment_points`` writes one segment column by column with Python's C-level
formatting, and takes every track. Tests require the same bytes from both, and
the same XML as gpxpy's own points.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import accumulate
from operator import attrgetter

import numpy as np

from telemetryfs.parsers.model import FIX_NAMES, GpsSample
from telemetryfs.parsers.track import GpsTrack, field_values

from . import render_columns
from .render_common import (
    COURSE_DECIMALS,
    COURSE_FAST_MAX,
    DOP_DECIMALS,
    ELE_DECIMALS,
    LATLON_DECIMALS,
    SPEED_DECIMALS,
    Piece,
    complete_text,
    course_column,
    interleave,
    iso_column,
    number_column,
    speed_column,
)
from .render_segments import joined, reaching

# The numpy writer from this many points on. Below 256 its fixed cost exceeds
# what it saves (0.75 against 0.21 ms at 20 points); from 256 to 4,096 it saves
# at most ~10 ms a clip, but its many small arrays, taken from glibc's arenas by
# several threads, raised the bench card's peak daemon RSS (1,000 clips, GoPro
# ones of 1,080 points) from 144-146 to 147-148 MB, against a 150 MB target.
ARRAY_MIN_POINTS = 4096
# Points per numpy pass: bounds the arrays (~0.6 KB a point) at ~5 MB.
ARRAY_CHUNK_ROWS = 8192

# A point's children follow each other on its line (see the module docstring).
_EXT_OPEN = "<extensions><gpxtpx:TrackPointExtension>"
_EXT_CLOSE = "</gpxtpx:TrackPointExtension></extensions>"
_SPEED = ("<gpxtpx:speed>", "</gpxtpx:speed>")
_COURSE = ("<gpxtpx:course>", "</gpxtpx:course>")


def segment_points(samples: Sequence[GpsSample], kind: str) -> str:
    """The ``<trkpt>`` elements, one a line: the XML gpxpy writes for ``render_gpx._gpxpy_point``.

    This is the hot path of an hour-long track, so it works column by column:
    each field is formatted for all points at once (``render_common.*_column``),
    the point layout becomes a template of literal pieces and columns, and the
    result is interleaved with slice assignments: no Python code runs per point
    in the common case where a field is present everywhere or nowhere.
    """
    n = len(samples)
    if not n:
        return ""
    lat = _coordinate_column(field_values(samples, "lat"))
    lon = _coordinate_column(field_values(samples, "lon"))
    fixes = [FIX_NAMES.get(s.fix) if s.fix is not None else None for s in samples]
    pieces: list[Piece] = ['\n      <trkpt lat="', lat, '" lon="', lon, '">']
    pieces += _optional(
        number_column(field_values(samples, "ele"), ELE_DECIMALS), "<ele>", "</ele>"
    )
    pieces += _optional(iso_column(field_values(samples, "utc")), "<time>", "</time>")
    pieces += _optional(fixes, "<fix>", "</fix>")
    dops = number_column(field_values(samples, "dop"), DOP_DECIMALS)
    pieces += _optional(dops, f"<{kind}>", f"</{kind}>")
    speeds = speed_column(field_values(samples, "speed_2d"))
    courses = course_column(field_values(samples, "course"))
    pieces += _extensions(speeds, courses)
    pieces.append("</trkpt>")
    return interleave(pieces, n)


def _coordinate_column(values: list[float | None]) -> list[str]:
    # GPXTrackPoint stores ``latitude or 0``: a zero (or missing) coordinate is "0".
    texts = number_column(values, LATLON_DECIMALS)
    if complete_text(texts) and "0.0" not in texts:
        return texts
    return ["0" if t is None or t == "0.0" else t for t in texts]


def _optional(texts: list[str | None], open_tag: str, close_tag: str) -> list[Piece]:
    """Template pieces for an element that only some points may have."""
    if complete_text(texts):
        return [open_tag, texts, close_tag]
    if texts.count(None) == len(texts):
        return []
    return [["" if t is None else f"{open_tag}{t}{close_tag}" for t in texts]]


def _extensions(speeds: list[str | None], courses: list[str | None]) -> list[Piece]:
    """The Garmin extension block: one layout for all points, or built per point."""
    speed_all, course_all = None not in speeds, None not in courses
    speed_none = speed_all is False and all(t is None for t in speeds)
    course_none = course_all is False and all(t is None for t in courses)
    if (speed_all or speed_none) and (course_all or course_none):
        if speed_none and course_none:
            return []
        inner = _optional(speeds, *_SPEED) + _optional(courses, *_COURSE)
        return [_EXT_OPEN, *inner, _EXT_CLOSE]
    column = [
        ""
        if sp is None and co is None
        else "".join(
            (
                _EXT_OPEN,
                "" if sp is None else f"{_SPEED[0]}{sp}{_SPEED[1]}",
                "" if co is None else f"{_COURSE[0]}{co}{_COURSE[1]}",
                _EXT_CLOSE,
            )
        )
        for sp, co in zip(speeds, courses, strict=True)
    ]
    return [column]


# --- every point at once ------------------------------------------------------------


def array_point_pieces(
    segments: Sequence[Sequence[GpsSample]], kind: str
) -> Iterator[tuple[int, bytes]]:
    """The segments' ``<trkpt>`` lines in order, as (segment number, UTF-8 piece), built
    ARRAY_CHUNK_ROWS points at a time with numpy (``points_grid``): ~2x faster on an
    hour of GoPro, and its arrays never hold more than a chunk.

    A chunk that ``points_grid`` cannot write goes through ``segment_points``:
    a point's line depends on that point alone, so the two kinds of chunk join
    into the same text.
    """
    samples = joined(segments)
    ends = list(accumulate(len(segment) for segment in segments))
    for low in range(0, len(samples), ARRAY_CHUNK_ROWS):
        rows = samples[low : low + ARRAY_CHUNK_ROWS]
        high = low + len(rows)
        grid = points_grid(rows, kind)
        for k, first, end in reaching(ends, low, high):
            a, b = max(first, low) - low, min(end, high) - low
            if b > a:
                yield k, grid.text(a, b) if grid else segment_points(rows[a:b], kind).encode()


def points_grid(samples: Sequence[GpsSample], kind: str) -> render_columns.TextGrid | None:
    """The points' lines as a TextGrid, one row a point, or None when a field is
    not plain: the common track has each field at every point or at none, and
    no value the careful path treats specially (a coordinate that rounds to
    zero, a negative speed, a course to fold, a non-finite number, an unknown fix).
    """
    lat, lon = _values(samples, "lat"), _values(samples, "lon")
    if lat is None or lon is None or not len(lat) or not len(lon):
        return None
    # GPXTrackPoint writes a zero coordinate as "0" (see _coordinate_column).
    if min(np.abs(lat).min(), np.abs(lon).min()) < 10.0**-LATLON_DECIMALS:
        return None
    speeds, courses = _values(samples, "speed_2d"), _values(samples, "course")
    if speeds is not None and len(speeds) and speeds.min() < 0:
        return None  # speed_column leaves a negative speed out of its point
    if (
        courses is not None
        and len(courses)
        and not 0 <= courses.min() <= courses.max() < COURSE_FAST_MAX
    ):
        return None  # course_column folds it into [0, 360)
    parts = [
        _element(lat, LATLON_DECIMALS, b'\n      <trkpt lat="', b'"'),
        _element(lon, LATLON_DECIMALS, b' lon="', b'">'),
        _element(_values(samples, "ele"), ELE_DECIMALS, b"<ele>", b"</ele>"),
        _times(_values(samples, "utc")),
        _fixes(samples),
        _element(
            _values(samples, "dop"), DOP_DECIMALS, f"<{kind}>".encode(), f"</{kind}>".encode()
        ),
    ]
    extension = [
        _element(speeds, SPEED_DECIMALS, *(t.encode() for t in _SPEED)),
        _element(courses, COURSE_DECIMALS, *(t.encode() for t in _COURSE)),
    ]
    if any(part is None for part in parts + extension):
        return None
    pieces = [piece for part in parts for piece in part or ()]
    if any(extension):
        pieces += [
            _EXT_OPEN.encode(),
            *(p for part in extension for p in part or ()),
            _EXT_CLOSE.encode(),
        ]
    pieces.append(b"</trkpt>")
    return render_columns.TextGrid(len(samples), pieces)


# A field's pieces in a point: [] when no point has it, None when the array
# path cannot write it.
_Part = list[bytes | render_columns.Array] | None


def _values(samples: Sequence[GpsSample], field: str) -> render_columns.Array | None:
    """A field of every sample as float64: empty when no sample has it, None when
    only some have it or a value is not finite."""
    if isinstance(samples, GpsTrack):
        nones = samples.nones(field)
        if nones:
            return np.empty(0) if nones == len(samples) else None
        column = samples.column(field)
        return column if np.isfinite(column).all() else None
    get = attrgetter(field)
    if get(samples[0]) is None:
        return np.empty(0) if all(v is None for v in map(get, samples)) else None
    # A None is read as NaN, which no array writer takes (nor a real NaN): such a
    # column goes the careful way.
    values = render_columns.sample_field(samples, field, np.float64)
    return values if np.isfinite(values).all() else None


def _element(
    values: render_columns.Array | None, decimals: int, open_tag: bytes, close_tag: bytes
) -> _Part:
    if values is None or not len(values):
        return None if values is None else []
    texts = render_columns.short_decimal(values, decimals)
    return None if texts is None else [open_tag, texts, close_tag]


def _times(utcs: render_columns.Array | None) -> _Part:
    if utcs is None or not len(utcs):
        return None if utcs is None else []
    texts = render_columns.iso_millis_texts(utcs)
    return None if texts is None else [b"<time>", texts, b"</time>"]


def _fixes(samples: Sequence[GpsSample]) -> _Part:
    if isinstance(samples, GpsTrack):
        return _track_fixes(samples)
    fixes = list(map(attrgetter("fix"), samples))
    if fixes.count(None) == len(fixes):
        return []
    distinct = list(set(fixes))
    names = [FIX_NAMES.get(f) if f is not None else None for f in distinct]
    if None in names:
        return None  # a point without a known fix has no <fix>
    which = {f: i for i, f in enumerate(distinct)}
    index = np.fromiter(map(which.__getitem__, fixes), dtype=np.intp, count=len(fixes))
    table = [name.encode("ascii") for name in names if name is not None]
    return [b"<fix>", render_columns.lookup_texts(table, index), b"</fix>"]


def _track_fixes(track: GpsTrack) -> _Part:
    """_fixes of a GpsTrack, from its fix column."""
    nones = track.nones("fix")
    if nones:
        return [] if nones == len(track) else None  # a point without a fix: no <fix>
    distinct, index = np.unique(track.column("fix"), return_inverse=True)
    names = [FIX_NAMES.get(int(f)) for f in distinct.tolist()]
    if None in names:
        return None
    table = [name.encode("ascii") for name in names if name is not None]
    return [b"<fix>", render_columns.lookup_texts(table, index.reshape(-1)), b"</fix>"]
