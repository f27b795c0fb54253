"""Stream CSVs: fixed-width rows whose size is known before decoding."""

from __future__ import annotations

import math
from unittest.mock import patch

from hypothesis import given, settings
from hypothesis import strategies as st

from telemetryfs.fs import render_stream
from telemetryfs.fs.render_stream import (
    render_chunk,
    render_chunk_slowly,
    render_chunks,
    stream_layout,
)
from telemetryfs.parsers.encodings.gpmf import Codec
from telemetryfs.parsers.model import Chunk, Extent, GpsSample, Stream, Telemetry

ACCL_CODEC = Codec(type="s", struct_size=6, fields="sss", widths=(2, 2, 2), scale=(418.0,) * 3)


def accl(chunks: tuple[Chunk, ...]) -> Stream:
    return Stream(
        name="ACCL",
        fourcc="ACCL",
        device="Camera",
        label="Accelerometer",
        columns=("z (m/s²)", "x (m/s²)", "y (m/s²)"),
        sample_count=sum(c.count for c in chunks),
        chunks=chunks,
        codec=ACCL_CODEC,
    )


def test_golden_rows_with_video_time_only() -> None:
    chunk = Chunk(Extent(0, 12), 2, 1.0, 0.01)
    stream = accl((chunk,))
    layout = stream_layout(stream, None)
    # int16 / 418 spans ±78.39...: 4 decimals (scale 418 needs 3, plus one), width 8.
    # The longest video time is 1.01 s -> "2.010000" (8 wide with the one-second margin).
    assert layout.header == "video_time_s,z (m/s²),x (m/s²),y (m/s²)\n".encode()
    body = render_chunk(layout, chunk, [(9.81, -0.5, 0.0), (9.8, 0.25, -78.3923)])
    assert body == (b"1.000000,  9.8100, -0.5000,  0.0000\n1.005000,  9.8000,  0.2500,-78.3923\n")
    assert len(body) == layout.chunk_size(chunk)


def test_samples_before_the_first_frame_keep_their_minus_sign() -> None:
    # An Insta360 IMU starts ~0.13 s before the first frame: negative video times,
    # once cut to "0.133501" by a width that only counted the end.
    chunks = (Chunk(Extent(0, 6), 1, -0.133501, 0.001), Chunk(Extent(6, 6), 1, 0.5, 0.001))
    layout = stream_layout(accl(chunks), None)
    rows = [(1.0, 2.0, 3.0)]
    first = render_chunk(layout, chunks[0], rows)
    assert first == b"-0.133501,  1.0000,  2.0000,  3.0000\n"
    assert render_chunk(layout, chunks[1], rows) == b" 0.500000,  1.0000,  2.0000,  3.0000\n"
    assert render_chunks(layout, [(chunks[0], b"\0" * 6)], ACCL_CODEC, ACCL_CODEC.decode)[:10] == (
        b"-0.133501,"
    )


def test_utc_column_follows_the_gps_clock() -> None:
    gps = (
        GpsSample(utc=1_700_000_000.0, video_time=0.0, lat=1.0, lon=2.0),
        GpsSample(utc=1_700_000_010.0, video_time=10.0, lat=1.0, lon=2.0),
    )
    chunk = Chunk(Extent(0, 6), 1, 2.5, 0.005)
    stream = accl((chunk,))
    layout = stream_layout(stream, Telemetry(format="gopro-mp4", gps=gps))
    assert layout.header.startswith(b"video_time_s,utc_time,")
    body = render_chunk(layout, chunk, [(1.0, 2.0, 3.0)])
    # 1_700_000_002.5 s is 2023-11-14T22:13:22.500Z.
    assert body == b"2.500000,2023-11-14T22:13:22.500Z,  1.0000,  2.0000,  3.0000\n"


def test_the_utc_fit_uses_the_first_and_last_samples_with_both_times() -> None:
    def sample(utc: float | None, video_time: float | None) -> GpsSample:
        return GpsSample(utc=utc, video_time=video_time, lat=1.0, lon=2.0)

    # Samples without one of the times at either end are passed over.
    gps = (
        sample(None, 0.0),
        sample(1_700_000_001.0, 1.0),
        sample(1_700_000_005.0, None),
        sample(1_700_000_011.0, 11.0),
        sample(None, 12.0),
    )
    fit = render_stream._utc_fit(Telemetry(format="gopro-mp4", gps=gps))
    assert fit == (1_700_000_000.0, 1.0)
    # One sample with both times is no line: no utc_time column.
    alone = (sample(None, 0.0), sample(1_700_000_001.0, 1.0), sample(1_700_000_002.0, None))
    assert render_stream._utc_fit(Telemetry(format="gopro-mp4", gps=alone)) is None
    assert render_stream._utc_fit(Telemetry(format="gopro-mp4", gps=())) is None


def test_short_or_damaged_rows_keep_the_announced_size() -> None:
    chunk = Chunk(Extent(0, 18), 3, 0.0, 1.0)
    stream = accl((chunk,))
    layout = stream_layout(stream, None)
    body = render_chunk(layout, chunk, [(1.0, None, "x")])  # odd values, two rows missing
    assert len(body) == layout.chunk_size(chunk)
    assert body.count(b"\n") == 3


def test_float_and_text_columns_are_fixed_width_too() -> None:
    codec = Codec(type="?", struct_size=8, fields="fc", widths=(4, 4))
    chunk = Chunk(Extent(0, 16), 2, 0.0, 2.0)
    stream = Stream("MIXD", "MIXD", None, None, ("f", "tag"), 2, (chunk,), codec)
    layout = stream_layout(stream, None)
    body = render_chunk(layout, chunk, [(1.5e-7, "ab,c"), (float("nan"), "é")])
    lines = body.decode("ascii").splitlines()
    assert len({len(line) for line in lines}) == 1
    assert len(body) == layout.chunk_size(chunk)
    assert "ab?c" in lines[0]  # a comma inside a value cannot break the columns


@settings(max_examples=200, deadline=None)
@given(
    fields=st.text(alphabet="bBsSlLjJqQfd", min_size=1, max_size=5),
    count=st.integers(0, 20),
    values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=100),
    start=st.one_of(st.none(), st.floats(-1e6, 1e6)),
)
def test_rendered_size_always_matches_the_layout(
    fields: str, count: int, values: list[float], start: float | None
) -> None:
    sizes = {
        "b": 1,
        "B": 1,
        "s": 2,
        "S": 2,
        "l": 4,
        "L": 4,
        "j": 8,
        "J": 8,
        "q": 4,
        "Q": 8,
        "f": 4,
        "d": 8,
    }
    codec = Codec(
        type="?",
        struct_size=sum(sizes[c] for c in fields),
        fields=fields,
        widths=tuple(sizes[c] for c in fields),
        scale=(10.0,) * len(fields),
    )
    chunk = Chunk(Extent(0, count * codec.struct_size), count, start, 1.0)
    stream = Stream("X", "X", None, None, tuple(fields), count, (chunk,), codec)
    layout = stream_layout(stream, None)
    n = len(fields)
    rows = [tuple(values[i * n : i * n + n]) for i in range(min(count, len(values) // n))]
    assert len(render_chunk(layout, chunk, rows)) == layout.chunk_size(chunk)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.text(alphabet="bBsSlLjJqQfd", min_size=1, max_size=4),
    count=st.integers(1, 40),
    values=st.lists(
        st.one_of(st.floats(-1e6, 1e6), st.integers(-(2**40), 2**40), st.just(math.nan)),
        min_size=160,
        max_size=160,
    ),
    start=st.floats(-1e5, 1e5),  # negative: samples before the first frame
    with_utc=st.booleans(),
)
def test_a_chunk_rendered_at_once_equals_the_careful_renderer(
    fields: str, count: int, values: list[float], start: float, with_utc: bool
) -> None:
    """render_chunk formats a whole chunk with one % when it can; byte for byte
    what the field-by-field renderer writes (values out of a type's range too)."""
    codec = Codec(
        type="?",
        struct_size=4 * len(fields),
        fields=fields,
        widths=(4,) * len(fields),
        scale=(418.0,) * len(fields),
    )
    chunk = Chunk(Extent(0, count * codec.struct_size), count, start, 0.9)
    stream = Stream("X", "X", None, None, tuple(fields), count, (chunk,), codec)
    gps = (
        GpsSample(utc=1_700_000_000.0, video_time=0.0, lat=1.0, lon=2.0),
        GpsSample(utc=1_700_000_010.0, video_time=10.0, lat=1.0, lon=2.0),
    )
    layout = stream_layout(stream, Telemetry(format="gopro-mp4", gps=gps) if with_utc else None)
    n = len(fields)
    rows = [tuple(values[i * n : i * n + n]) for i in range(count)]
    assert render_chunk(layout, chunk, rows) == render_chunk_slowly(layout, chunk, rows)


@settings(max_examples=300, deadline=None)
@given(
    fields=st.text(alphabet="bBsSlLjJQfd", min_size=1, max_size=4),
    counts=st.lists(st.integers(0, 30), min_size=1, max_size=4),
    seed=st.binary(min_size=64, max_size=64),
    start=st.floats(-1e5, 1e5),  # negative: samples before the first frame
    scale=st.sampled_from([1.0, 10.0, 418.0, 3.0e-7, 1e7]),
    with_utc=st.booleans(),
    cut=st.booleans(),
)
def test_chunks_rendered_through_numpy_equal_the_careful_renderer(
    fields: str,
    counts: list[int],
    seed: bytes,
    start: float,
    scale: float,
    with_utc: bool,
    cut: bool,
) -> None:
    """render_chunks decodes consecutive chunks into one array and formats
    columns at once; byte for byte what decoding and rendering each chunk writes,
    for every numeric type, any raw bits (NaN, inf, -0.0, extremes) and scale, whole
    runs (one buffer) and runs with a cut chunk."""
    sizes = {"b": 1, "B": 1, "s": 2, "S": 2, "l": 4, "L": 4, "j": 8, "J": 8, "Q": 8, "f": 4, "d": 8}
    struct_size = sum(sizes[c] for c in fields)
    codec = Codec(
        type="?",
        struct_size=struct_size,
        fields=fields,
        widths=tuple(sizes[c] for c in fields),
        scale=(scale,) * len(fields),
    )
    pieces, offset, at = [], 0, start
    for n in counts:
        raw = (seed * (1 + n * struct_size // len(seed)))[: n * struct_size]
        seed = seed[7:] + seed[:7]  # a different row mix per chunk
        pieces.append((Chunk(Extent(offset, len(raw)), n, at, 1.001), raw))
        offset, at = offset + len(raw), at + 1.001
    if cut and pieces[-1][1]:
        # A chunk cut short: decoded chunk by chunk, then the careful renderer.
        pieces[-1] = (pieces[-1][0], pieces[-1][1][:-1])
    chunks = tuple(c for c, _ in pieces)
    stream = Stream("X", "X", None, None, tuple(fields), sum(counts), chunks, codec)
    gps = (
        GpsSample(utc=1_700_000_000.0, video_time=0.0, lat=1.0, lon=2.0),
        GpsSample(utc=1_700_000_010.0, video_time=10.0, lat=1.0, lon=2.0),
    )
    layout = stream_layout(stream, Telemetry(format="gopro-mp4", gps=gps) if with_utc else None)
    careful = b"".join(render_chunk(layout, c, codec.decode(d)) for c, d in pieces)
    assert render_chunks(layout, pieces, codec, codec.decode) == careful


@settings(max_examples=200, deadline=None)
@given(
    fields=st.text(alphabet="bBsS", min_size=1, max_size=3),
    rows=st.integers(1, 60),
    seed=st.binary(min_size=64, max_size=64),
    scale=st.sampled_from([1.0, 10.0, 418.0, 3.0e-7, 1e7, 16.4]),
    order=st.permutations([0, 1, 2]),
    signs=st.lists(st.sampled_from([1.0, -1.0]), min_size=3, max_size=3),
    with_matrix=st.booleans(),
)
def test_small_integers_formatted_by_lookup_equal_the_careful_renderer(
    fields: str,
    rows: int,
    seed: bytes,
    scale: float,
    order: list[int],
    signs: list[float],
    with_matrix: bool,
) -> None:
    """8/16-bit integer columns (ACCL, GYRO) are formatted from a table of every value
    of their type; byte for byte the careful renderer's text, MTRX signs and -0 too."""
    sizes = {"b": 1, "B": 1, "s": 2, "S": 2}
    n = len(fields)
    matrix: tuple[float, ...] = ()
    if with_matrix:
        picks = [j for j in order if j < n]
        matrix = tuple(signs[i] if j == picks[i] else 0.0 for i in range(n) for j in range(n))
    struct_size = sum(sizes[c] for c in fields)
    codec = Codec(
        type="?",
        struct_size=struct_size,
        fields=fields,
        widths=tuple(sizes[c] for c in fields),
        scale=(scale,) * n,
        matrix=matrix,
    )
    raw = (seed * (1 + rows * struct_size // len(seed)))[: rows * struct_size]
    chunk = Chunk(Extent(0, len(raw)), rows, 3.0, 1.001)
    stream = Stream("X", "X", None, None, tuple(fields), rows, (chunk,), codec)
    layout = stream_layout(stream, None)
    careful = render_chunk(layout, chunk, codec.decode(raw))
    with patch.object(render_stream, "SMALL_INT_TABLE_ROWS", 1):
        assert render_chunks(layout, [(chunk, raw)], codec, codec.decode) == careful
