"""The shared helpers: bulk formatting equals per-value formatting; segments; safe text."""

from __future__ import annotations

import dataclasses
import math
import statistics
from typing import Any
from unittest.mock import patch

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetryfs.fs import render_columns, render_common, render_segments
from telemetryfs.fs.render_common import (
    course_column,
    course_deg,
    fixed,
    fixed_column,
    gpx_number,
    iso_column,
    iso_utc,
    number_column,
    safe_text,
    short_number,
    speed_column,
)
from telemetryfs.fs.render_segments import drawable, split_segments
from telemetryfs.parsers.model import GpsSample

_special = st.sampled_from(
    [0.0, -0.0, 5e-8, -5e-8, 1e-300, 1e15, 1e16, -1e22, math.nan, math.inf, -math.inf]
)
_value = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    _special,
    st.integers(-(10**6), 10**6),
)
# Columns that exercise every path: complete or not, repeated (the shortcut
# probes the first 256 values) or not.
_columns = st.one_of(
    st.lists(_value, max_size=40),
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40),
    st.lists(st.sampled_from([1.25, 2.5, -0.0, 7.0, 0.004]), min_size=8, max_size=300),
)


@settings(max_examples=500)
@given(_columns, st.sampled_from([2, 3, 7]))
def test_number_column_equals_short_number(values: list[float | None], decimals: int) -> None:
    assert number_column(values, decimals) == [short_number(v, decimals) for v in values]


@settings(max_examples=500)
@given(_columns, st.sampled_from([2, 3, 6, 7]))
def test_fixed_column_equals_fixed(values: list[float | None], decimals: int) -> None:
    assert fixed_column(values, decimals) == [fixed(v, decimals) for v in values]


@settings(max_examples=300)
@given(_columns)
def test_course_and_speed_columns(values: list[float | None]) -> None:
    assert course_column(values) == [
        None if (c := course_deg(v)) is None else gpx_number(c) for v in values
    ]
    speeds = [short_number(v, 3) for v in values]
    assert speed_column(values) == [None if s is None or s.startswith("-") else s for s in speeds]


@settings(max_examples=300)
@given(
    st.lists(
        st.one_of(st.none(), st.floats(-7e10, 3e11), st.sampled_from([math.nan, 1e13])), max_size=30
    )
)
def test_iso_column_equals_iso_utc(values: list[float | None]) -> None:
    assert iso_column(values) == [iso_utc(v) for v in values]


def test_a_column_formatted_again_is_recalled_as_a_copy() -> None:
    # With a None the column takes the per-value path, which counts the formatting.
    values = [None, *(46.5 + i * 1e-5 for i in range(300))]
    real, formatted = render_common.short_number, []

    def counted(value: float | None, decimals: int) -> str | None:
        formatted.append(value)
        return real(value, decimals)

    with patch.object(render_common, "short_number", counted):
        first = number_column(values, 7)
        first[1] = "changed by its caller"
        again = number_column(list(values), 7)  # equal values, another list
        assert len(formatted) == len(values)
        assert number_column(values, 3) == [real(v, 3) for v in values]  # other decimals
        assert len(formatted) == 2 * len(values)
    assert again == [real(v, 7) for v in values]


_FIXED_SPECS = [(10, 6), (13, 8), (12, 4), (8, 3), (6, 0), (5, 2), (9, 1), (14, 9), (3, 1)]


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(-2e4, 2e4),
            st.floats(-1.0, 1.0),
            st.floats(-1e9, 1e9),
            st.sampled_from([-0.0, 0.0, -0.0004, 0.5, 2.5, -999.5, 9999.4999, 99.995, -0.05]),
        ),
        min_size=1,
        max_size=50,
    ),
    st.sampled_from(_FIXED_SPECS),
)
def test_fixed_width_columns_through_numpy_are_printf(
    values: list[float], spec: tuple[int, int]
) -> None:
    """format_fixed writes printf's text (the table lookups for integer parts of up
    to four digits, the general path beyond), or declines when one does not fit."""
    width, decimals = spec
    text = render_columns.format_fixed(np.array(values), width, decimals)
    expected = [f"%{width}.{decimals}f" % v for v in values]
    if text is None:
        assert any(len(e) != width for e in expected)
    else:
        assert [row.tobytes().decode() for row in text] == expected


def test_both_ways_of_writing_fixed_width_columns_are_taken() -> None:
    small, large = np.array([-12.5, 0.25, 999.0]), np.array([-12.5, 123456.25])
    q_small, q_large = (
        np.rint(np.abs(small) * 1000).astype(np.int64),
        np.rint(np.abs(large) * 1000).astype(np.int64),
    )
    assert render_columns._fixed_by_lookup(q_small, np.signbit(small), 12, 3) is not None
    assert render_columns._fixed_by_lookup(q_large, np.signbit(large), 12, 3) is None
    for values in (small, large):
        text = render_columns.format_fixed(values, 12, 3)
        assert text is not None
        assert [row.tobytes().decode() for row in text] == [f"{v:12.3f}" for v in values]


def test_iso_utc() -> None:
    assert iso_utc(1_492_450_263.0555) == "2017-04-17T17:31:03.056Z"
    assert iso_utc(0.9999) == "1970-01-01T00:00:01.000Z"
    assert iso_utc(-0.001) == "1969-12-31T23:59:59.999Z"
    assert iso_utc(None) is None
    assert iso_utc(math.nan) is None
    assert iso_utc(1e13) is None  # beyond year 9999
    assert iso_utc(-62_135_596_800) == "0001-01-01T00:00:00.000Z"  # four-digit years


def test_short_number_and_fixed() -> None:
    assert short_number(33.12649691234, 7) == "33.1264969"
    assert short_number(20.0, 3) == "20.0"
    assert short_number(-0.0001, 3) == "0.0"
    assert short_number(1e-7, 7) == "0.0000001"  # never an exponent
    assert fixed(-0.0001, 3) == "0.000"
    assert fixed(22.633333206176758, 7) == "22.6333332"
    assert fixed(math.inf, 2) == ""


def test_course_deg_folds_into_0_360() -> None:
    assert [course_deg(v) for v in (-90.0, 360.0, 359.999, 720.5, None)] == [
        270.0,
        0.0,
        0.0,
        0.5,
        None,
    ]


def test_drawable_clamps_and_wraps() -> None:
    s = GpsSample(utc=None, video_time=None, lat=90.5, lon=180.0)
    assert (drawable(s).lat, drawable(s).lon) == (90.0, -180.0)
    s = GpsSample(utc=None, video_time=None, lat=math.nan, lon=-180.00000006)
    assert (drawable(s).lat, drawable(s).lon) == (None, 179.9999999)


def test_safe_text() -> None:
    assert safe_text("plain Île") == "plain Île"
    assert safe_text("tab\tok\x00\udcff\ufffe") == "tab\tok\ufffd\ufffd\ufffd"


@st.composite
def _samples(draw: st.DrawFn) -> list[GpsSample]:
    n = draw(st.integers(0, 40))
    t = 0.0
    out = []
    for _ in range(n):
        t += draw(st.sampled_from([0.055, 1.0, 6.0, -10.0]))
        utc = draw(st.sampled_from([t, None]))
        out.append(GpsSample(utc=utc, video_time=t, lat=1.0, lon=2.0, valid=draw(st.booleans())))
    return out


@given(_samples())
def test_segments_hold_every_valid_sample_once_in_order(samples: list[GpsSample]) -> None:
    segments = split_segments(samples)
    assert [s for seg in segments for s in seg] == [s for s in samples if s.valid]
    assert all(segments)


def test_breaks_start_a_segment_whatever_the_times_say() -> None:
    from telemetryfs.parsers.model import GpsSample

    samples = [GpsSample(1000.0 + i, float(i), 45.0 + i * 1e-4, 7.0) for i in range(6)]
    assert [len(s) for s in split_segments(samples)] == [6]
    assert [len(s) for s in split_segments(samples, (2, 4))] == [2, 2, 2]
    assert [len(s) for s in split_segments(samples, (0, 6, 99))] == [6]  # out of range: ignored


def test_a_track_split_again_is_recalled_with_lists_of_its_own() -> None:
    samples = tuple(GpsSample(1000.0 + i, float(i), 45.0 + i * 1e-4, 7.0) for i in range(6))
    real, splits = render_segments._split, []

    def counted(*args: Any) -> Any:
        splits.append(args)
        return real(*args)

    with patch.object(render_segments, "_split", counted):
        first = split_segments(samples, (3,))
        first[0].clear()  # a caller's own list
        again = split_segments(samples, [3])
        assert len(splits) == 1
        assert [len(s) for s in split_segments(samples)] == [6]  # other breaks: split
        assert len(splits) == 2
        assert [len(s) for s in split_segments(samples, (3,))] == [3, 3]  # only the last kept
        assert [len(s) for s in split_segments(tuple(list(samples)), (3,))] == [3, 3]
        assert len(splits) == 4  # another tuple, even of equal samples, is split
    assert [len(s) for s in again] == [3, 3]


# --- the same texts, through numpy ---------------------------------------------------


def _grid_texts(grid: Any) -> list[str]:
    return [bytes(row[row != 0]).decode("ascii") for row in grid]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(-1e6, 1e6),
            st.integers(-(10**9), 10**9).map(lambda i: i / 1000 + 0.0005),  # ties at 3 decimals
            st.integers(-(10**9), 10**9).map(lambda i: i / 1e7),  # GPS5's scale
            st.sampled_from([0.0, -0.0, -1e-9, 4e-8, 20.0, 0.125, 2.5, 99999.99999999]),
        ),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from([2, 3, 7]),
)
def test_short_decimals_through_numpy_are_number_column(values: list[float], decimals: int) -> None:
    grid = render_columns.short_decimal(np.array(values, dtype=np.float64), decimals)
    assert grid is not None
    assert _grid_texts(grid) == number_column(values, decimals)


def test_short_decimal_leaves_what_str_may_write_otherwise_to_the_careful_path() -> None:
    for values in ([math.nan], [1.0, math.inf], [1e16], [123456789.123]):
        assert render_columns.short_decimal(np.array(values), 7) is None, values


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(st.floats(-6.2e10, 2.5e11), st.integers(0, 4 * 10**9).map(lambda s: s + 0.0005)),
        min_size=1,
        max_size=30,
    )
)
def test_iso_times_through_numpy_are_iso_column(utcs: list[float]) -> None:
    grid = render_columns.iso_millis_texts(np.array(utcs, dtype=np.float64))
    expected = iso_column(utcs)
    if grid is None:  # only for times without ISO text
        assert None in expected
    else:
        assert _grid_texts(grid) == expected


@st.composite
def _timed_samples(draw: st.DrawFn) -> tuple[list[GpsSample], list[int]]:
    """Tracks the numpy split takes: every sample timed, some off the map's ranges."""
    n = draw(st.integers(1, 60))
    t = draw(st.floats(0, 4e9))
    out = []
    for _ in range(n):
        t += draw(st.sampled_from([0.055, 0.1, 1.0, 0.0, 4.9, 6.0, -10.0, 1e-9]))
        lat = draw(st.sampled_from([1.0, -90.0, 90.0, 90.5, -91.0]))
        lon = draw(st.sampled_from([2.0, -180.0, 179.99999994, 179.99999999, 185.0]))
        out.append(GpsSample(utc=t, video_time=None, lat=lat, lon=lon, valid=draw(st.booleans())))
    breaks = draw(st.lists(st.integers(-2, n + 2), max_size=4))
    return out, breaks


@settings(max_examples=400, deadline=None)
@given(_timed_samples())
def test_segments_split_with_numpy_are_the_careful_ones(
    track: tuple[list[GpsSample], list[int]],
) -> None:
    samples, breaks = track
    fast = render_segments._split_at_once(samples, breaks)
    assert fast is not None
    with patch.object(render_segments, "_split_at_once", lambda *_: None):
        assert fast == split_segments(samples, breaks)


def test_the_numpy_split_leaves_untimed_tracks_to_the_careful_one() -> None:
    timed = GpsSample(utc=1.0, video_time=1.0, lat=1.0, lon=2.0)
    for odd in ({"utc": None}, {"utc": math.nan}, {"utc": math.inf}):
        samples = [timed, dataclasses.replace(timed, **{"utc": 2.0, **odd})]
        assert render_segments._split_at_once(samples, ()) is None


def test_columns_longer_than_a_slice_are_the_per_value_texts() -> None:
    """Columns go SLICE values at a time (the GIL); each slice may take another path."""
    n = render_common.SLICE
    rng = np.random.default_rng(7)
    values: list[float | None] = [
        *[1.25, 2.5] * (n // 2),  # repetitive: formatted once per distinct value
        *rng.uniform(-90.0, 90.0, n).tolist(),  # the bulk path
        *[None, 3.0, -0.00001] * 20,  # the careful path (a missing value, a "-0")
        *rng.uniform(0.0, 500.0, n + 17).tolist(),
    ]
    for decimals in (2, 6):
        assert number_column(values, decimals) == [short_number(v, decimals) for v in values]
        assert fixed_column(values, decimals) == [fixed(v, decimals) for v in values]
    utcs: list[float | None] = [1.7e9 + i / 18 for i in range(2 * n)] + [None] + [1.7e9] * n
    assert iso_column(utcs) == [iso_utc(u) for u in utcs]


def test_interleave_of_more_rows_than_a_slice() -> None:
    n = 2 * render_common.SLICE + 5
    first = [str(i) for i in range(n)]
    second = [f"{i / 7:.3f}" for i in range(n)]
    text = render_common.interleave(["<", first, ",", second, ">\n"], n)
    assert text == "".join(f"<{a},{b}>\n" for a, b in zip(first, second, strict=True))


def test_sample_field_reads_every_sample_in_slices() -> None:
    n = 2 * render_common.SLICE + 3
    samples = [
        GpsSample(
            utc=1.7e9 + i, video_time=i * 0.5, lat=None if i % 1000 == 0 else i / 1e4, lon=0.0
        )
        for i in range(n)
    ]
    lat = render_columns.sample_field(samples, "lat", np.float64)
    expected = np.array([np.nan if s.lat is None else s.lat for s in samples])
    assert np.array_equal(lat, expected, equal_nan=True)
    valid = render_columns.sample_field(samples, "valid", bool)
    assert valid.dtype == bool
    assert bool(valid.all())
    assert len(valid) == n


@given(st.lists(st.floats(0.0, 1e6, allow_nan=False), min_size=1, max_size=200))
def test_the_numpy_split_s_median_is_statistics_median(values: list[float]) -> None:
    """Computed with np.partition (np.median's first call imports numpy.ma mid-render)."""
    assert render_segments._median(np.array(values)) == statistics.median(values)
