"""``streams/<name>.csv``: decoded sensor streams as fixed-width CSV.

A one-hour HERO file holds ~720,000 accelerometer rows; decoding them only to
learn the file's size would make ``ls -l streams/`` (and ``find``, which lists
every folder) cost seconds per video. So every row of a chunk has a width
known from the stream's codec alone: numbers are right-aligned in a column as
wide as the type's range needs, and the size of the file follows from the
sample counts. Reads then decode only the chunks they touch.

The result is still a plain CSV: fields are separated by commas; numbers
carry leading spaces, which csv readers (pandas, numpy, LibreOffice, Python's
``float()``) ignore, and which keep ``cat`` output aligned for humans.

Columns: ``video_time_s`` (the sample's time in the video: its chunk's start
plus an even spread over the chunk's duration), ``utc_time`` (from the GPS
clock, by a linear fit of GPS UTC against video time, when the video has GPS
times), then the stream's own columns with units.
"""

from __future__ import annotations

import csv
import functools
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

import numpy as np

from telemetryfs.parsers.model import (
    ArrayCodec,
    Chunk,
    ColumnFormat,
    GpsSample,
    Stream,
    StreamCodec,
    Telemetry,
    Value,
)

from . import render_columns
from .render_common import iso_millis

UTC_WIDTH = len("2017-04-17T17:31:03.055Z")
# From this many rows in one render, 8/16-bit integer columns are formatted by a
# lookup table of every value of their type (built once, ~6 ms; a window of ACCL is
# ~6,500 rows): below it, formatting the rows themselves is cheaper.
SMALL_INT_TABLE_ROWS = 2048

Formatter = Callable[[Value], str]


@dataclass(frozen=True, slots=True)
class StreamLayout:
    """Everything needed to write and size a stream's CSV, without decoding."""

    header: bytes
    time_width: int
    utc_fit: tuple[float, float] | None  # utc = a + b * video_time
    formatters: tuple[Formatter, ...]
    row_width: int  # bytes per row, text-whole streams aside
    whole_text: bool
    # One printf format for a whole row of numbers (None when a column is text):
    # a single % per row is several times faster than a call per value.
    row_format: str | None = None
    # The value columns' printf specs when every one is a number (the vectorised path).
    specs: tuple[str, ...] | None = None

    def chunk_size(self, chunk: Chunk) -> int:
        if self.whole_text:
            return (self.row_width + chunk.extent.size) if chunk.count else 0
        return chunk.count * self.row_width


def stream_layout(stream: Stream, telemetry: Telemetry | None = None) -> StreamLayout:
    """The layout of one stream's CSV (same input, same layout, always)."""
    codec = stream.codec
    columns = codec.column_formats() if codec is not None else (ColumnFormat(None, 0),)
    whole_text = codec is not None and codec.whole_text
    if whole_text:
        formatters: tuple[Formatter, ...] = (_text_formatter(0),)
    else:
        formatters = tuple(_formatter(column) for column in columns)
    time_width = _time_width(stream.chunks)
    utc_fit = _utc_fit(telemetry)
    n_fields = 1 + (1 if utc_fit else 0) + len(formatters)
    # Whole-text streams: the text's width is the chunk's, added per chunk.
    value_widths = 0 if whole_text else sum(len(f(None)) for f in formatters)
    row_width = (
        time_width + (UTC_WIDTH if utc_fit else 0) + value_widths + (n_fields - 1) + 1
    )  # the commas between fields, then the newline
    row_format = None
    numeric = [column.spec for column in columns if column.spec is not None]
    if not whole_text and len(numeric) == len(columns):
        utc_spec = ["%s"] if utc_fit else []
        row_format = ",".join([f"%{time_width}.6f", *utc_spec, *numeric])
    return StreamLayout(
        _header(stream, utc_fit is not None),
        time_width,
        utc_fit,
        formatters,
        row_width,
        whole_text,
        row_format,
        tuple(numeric) if row_format is not None else None,
    )


def render_chunks(
    layout: StreamLayout,
    pieces: Sequence[tuple[Chunk, bytes]],
    codec: StreamCodec | None,
    decode: Callable[[bytes], Sequence[tuple[Value, ...]]],
) -> bytes | memoryview:
    """The rows of consecutive chunks (their ``render_chunk`` bytes, joined; a buffer
    of them, not copied, when numpy wrote them).

    Numeric streams go through numpy, all chunks in one go; any chunk that
    does not fit that path (cut, damaged, text) sends the whole run through
    :func:`render_chunk`, whose output is the reference.
    """
    if layout.specs is not None and _is_array_codec(codec):
        record = getattr(codec, "struct_size", 0)
        if record > 0 and all(
            c.start is not None and len(d) == c.count * record for c, d in pieces
        ):
            # Whole records only: the run decodes as one buffer (a GPS5 chunk holds
            # 18 rows, and per-chunk decoding cost more than the formatting).
            joined = b"".join(d for _, d in pieces)
            whole = codec.decode_array(joined)
            rows = sum(c.count for c, _ in pieces)
            small = None
            if rows >= SMALL_INT_TABLE_ROWS and hasattr(codec, "decode_small_ints"):
                small = codec.decode_small_ints(joined)
            if whole is not None and len(whole) == rows:
                body = _render_arrays(layout, [c for c, _ in pieces], [whole], small)
                if body is not None:
                    return body
        arrays = []
        for chunk, data in pieces:
            array = codec.decode_array(data) if chunk.start is not None else None
            if array is None or len(array) != chunk.count:
                break
            arrays.append(array)
        else:
            body = _render_arrays(layout, [c for c, _ in pieces], arrays)
            if body is not None:
                return body
    return b"".join(render_chunk(layout, c, decode(d)) for c, d in pieces)


# isinstance(codec, ArrayCodec) by codec class: a runtime Protocol's check looks
# up each of its members, a few per cent of a stream window's render.
_ARRAY_CODEC_CLASSES: dict[type, bool] = {}


def _is_array_codec(codec: StreamCodec | None) -> TypeGuard[ArrayCodec]:
    kind = type(codec)
    known = _ARRAY_CODEC_CLASSES.get(kind)
    if known is None:
        known = _ARRAY_CODEC_CLASSES[kind] = isinstance(codec, ArrayCodec)
    return known


def _render_arrays(
    layout: StreamLayout, chunks: list[Chunk], arrays: list[Any], small: list[Any] | None = None
) -> bytes | memoryview | None:
    """The rows of chunks whose values are ``arrays``; ``small`` (8/16-bit integer
    columns of the same rows, when the codec has them) are formatted by lookup.
    Every column is written straight into one buffer of rows (no per-column copies)."""
    assert layout.specs is not None
    counts = np.array([c.count for c in chunks], dtype=np.int64)
    n = int(counts.sum())
    if not n:
        return b""
    values = np.concatenate([a for a in arrays if len(a)])
    times = _video_times(chunks, counts, n)
    widths = [layout.time_width] + ([UTC_WIDTH] if layout.utc_fit is not None else [])
    widths += [len(spec % 0.0) for spec in layout.specs]
    rows = render_columns.RowBuffer(widths, n)
    time_text = render_columns.format_fixed(times, layout.time_width, 6)
    if time_text is None:
        return None
    rows.put(0, time_text)
    if layout.utc_fit is not None and not _utc_into(layout.utc_fit, times, rows, 1):
        return None
    first_value = len(widths) - len(layout.specs)  # after the time columns
    for j, spec in enumerate(layout.specs):
        column = first_value + j
        width = widths[column]
        if small is not None and j < len(small) and len(small[j].raw) == n:
            lookup = render_columns.small_int_lookup(small[j], spec, width)
            if lookup is not None:
                rows.take(column, *lookup)
                continue
        text = render_columns.format_spec(values[:, j], spec, width)
        if text is None:
            return None
        rows.put(column, text)
    return rows.buffer()


def _video_times(chunks: list[Chunk], counts: Any, n: int) -> Any:
    """start + i * step for the i-th row of each chunk, as render_chunk computes it
    (the same doubles: i and step are the same floats, multiplied then added)."""
    starts = np.array([c.start for c in chunks], dtype=np.float64)
    steps = np.array(
        [c.duration / c.count if c.duration and c.count else 0.0 for c in chunks],
        dtype=np.float64,
    )
    first_row = np.cumsum(counts) - counts
    index = np.arange(n, dtype=np.int64) - np.repeat(first_row, counts)
    return np.repeat(starts, counts) + index.astype(np.float64) * np.repeat(steps, counts)


# "000Z" to "999Z": the end of a utc_time, by lookup on the milliseconds.
_MILLIS_Z = np.frombuffer(
    "".join(f"{i:03d}Z" for i in range(1000)).encode("ascii"), dtype=np.uint8
).reshape(1000, 4)


def _utc_into(
    fit: tuple[float, float], times: Any, rows: render_columns.RowBuffer, column: int
) -> bool:
    """The utc_time column as _utc_text writes it, into a column of ``rows``."""
    ms = np.rint((fit[0] + fit[1] * times) * 1000)
    if not np.isfinite(ms).all() or np.abs(ms).max() >= 2.0**53:
        return False
    seconds, millis = np.divmod(ms.astype(np.int64), 1000)
    prefixes, which = render_columns.per_second(seconds, _second_prefix)
    if not all(prefixes):
        return False
    table = render_columns.format_texts(prefixes, UTC_WIDTH - 4)
    if table is None:
        return False
    rows.take(column, table, which)
    rows.take(column, _MILLIS_Z, millis, skip=UTC_WIDTH - 4)
    return True


def render_header(layout: StreamLayout) -> bytes:
    return layout.header


def render_chunk(layout: StreamLayout, chunk: Chunk, rows: Sequence[tuple[Value, ...]]) -> bytes:
    """The rows of one chunk; exactly ``layout.chunk_size(chunk)`` bytes.

    A chunk that decodes to fewer rows than its count (a cut payload) is
    padded with empty rows, so sizes announced before decoding stay true.
    """
    count = 1 if layout.whole_text and chunk.count else chunk.count
    if not count:
        return b""
    step = (chunk.duration / chunk.count) if chunk.duration and chunk.count else 0.0
    fmt, fit, start = layout.row_format, layout.utc_fit, chunk.start
    if fmt is not None and start is not None and len(rows) == count:
        body = _render_chunk_at_once(layout, fmt, start, step, rows)
        if body is not None and len(body) == layout.chunk_size(chunk):
            return body
    out: list[str] = []
    for i in range(count):
        t = None if start is None else start + i * step
        row = rows[i] if i < len(rows) else ()
        if fmt is not None and t is not None:
            try:
                if fit is not None:
                    out.append(fmt % (t, _utc_text(t, fit), *row))
                else:
                    out.append(fmt % (t, *row))
                continue
            except TypeError:
                pass  # a missing or odd value: the careful path below
        out.append(_slow_row(layout, chunk, t, row))
    body = ("\n".join(out) + "\n").encode("ascii")
    if len(body) != layout.chunk_size(chunk):
        # A value outside its type's range (damage) widened a column: redo the
        # chunk field by field, where such a value becomes blanks.
        body = render_chunk_slowly(layout, chunk, rows)
    return body


def _render_chunk_at_once(
    layout: StreamLayout,
    fmt: str,
    start: float,
    step: float,
    rows: Sequence[tuple[Value, ...]],
) -> bytes | None:
    """All rows of a chunk with one ``%``: the values laid out column by column
    (slice assignment, no Python code per value), the format repeated per row.
    Several times faster than a ``%`` per row. None when a row is short or a
    value does not fit its format: the caller takes the row-by-row path."""
    count = len(rows)
    times = [start + i * step for i in range(count)]
    columns = list(zip(*rows, strict=False))
    ncols = len(layout.formatters)
    if len(columns) != ncols or max(map(len, rows)) != ncols:
        return None
    head: list[Sequence[Value]] = [times]
    if layout.utc_fit is not None:
        utc = _utc_columns(layout.utc_fit, times)
        if utc is None:
            return None
        head += utc
        time_spec, _, rest = fmt.partition(",%s")  # the utc field: prefix, then millis
        fmt = f"{time_spec},%s%03dZ{rest}"
    width = len(head) + ncols
    values: list[Value] = [None] * (count * width)
    for j, column in enumerate([*head, *columns]):
        values[j::width] = column
    try:
        return ((fmt + "\n") * count % tuple(values)).encode("ascii")
    except (TypeError, ValueError, UnicodeEncodeError):
        return None


def _utc_columns(
    fit: tuple[float, float], times: list[float]
) -> list[list[str] | list[int]] | None:
    """The utc_time column for these video times, as _utc_text writes it, split in
    two: each row's second as ISO text up to the dot, and its milliseconds."""
    a, b = fit
    ms = [round((a + b * t) * 1000) for t in times]
    seconds = [m // 1000 for m in ms]
    prefixes = {second: _second_prefix(second) for second in set(seconds)}
    if not all(prefixes.values()):
        return None  # a second outside what ISO text holds: blank, the slow way
    return [list(map(prefixes.__getitem__, seconds)), [m % 1000 for m in ms]]


@functools.lru_cache(maxsize=64)
def _second_prefix(second: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.`` of a second, formatted once ("" outside ISO text's years)."""
    whole = iso_millis(second * 1000)
    return whole[:-4] if len(whole) == UTC_WIDTH else ""


def render_chunk_slowly(
    layout: StreamLayout, chunk: Chunk, rows: Sequence[tuple[Value, ...]]
) -> bytes:
    """render_chunk without the one-format-per-row fast path (always the announced size)."""
    count = 1 if layout.whole_text and chunk.count else chunk.count
    step = (chunk.duration / chunk.count) if chunk.duration and chunk.count else 0.0
    out = [
        _slow_row(
            layout,
            chunk,
            None if chunk.start is None else chunk.start + i * step,
            rows[i] if i < len(rows) else (),
        )
        for i in range(count)
    ]
    return ("\n".join(out) + "\n").encode("ascii") if out else b""


def _slow_row(layout: StreamLayout, chunk: Chunk, t: float | None, row: tuple[Value, ...]) -> str:
    fields = [_time_text(t, layout.time_width)]
    if layout.utc_fit is not None:
        fields.append(_utc_text(t, layout.utc_fit))
    if layout.whole_text:
        fields.append(_fit_text(str(row[0]) if row else "", chunk.extent.size))
    else:
        fields += [f(row[j] if j < len(row) else None) for j, f in enumerate(layout.formatters)]
    return ",".join(fields)


def _header(stream: Stream, with_utc: bool) -> bytes:
    names = ["video_time_s", *(["utc_time"] if with_utc else []), *stream.columns]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(names)
    return buf.getvalue().encode("utf-8")


def _time_width(chunks: Sequence[Chunk]) -> int:
    starts = [c.start for c in chunks if c.start is not None]
    end = max((c.start + (c.duration or 0.0) for c in chunks if c.start is not None), default=0.0)
    width = len(f"{max(end, 0.0) + 1.0:.6f}")
    # Samples before the first frame (an IMU started early) have negative times.
    first = min(starts, default=0.0)
    return max(width, len(f"{first - 1.0:.6f}")) if first < 0 else width


def _time_text(t: float | None, width: int) -> str:
    return (f"{t:.6f}" if t is not None and math.isfinite(t) else "").rjust(width)[-width:]


def _utc_fit(telemetry: Telemetry | None) -> tuple[float, float] | None:
    if telemetry is None:
        return None
    # The first and the last sample with both times, found from each end: the
    # stream index is built on the event loop, and an hour holds ~65,000 samples.
    gps = telemetry.gps
    first = _timed_at(gps, range(len(gps)))
    last = _timed_at(gps, range(len(gps) - 1, -1, -1))
    if first is None or last is None:
        return None
    (v0, u0), (v1, u1) = first, last
    if v1 - v0 <= 0:  # also a lone timed sample, found from both ends
        return None
    slope = (u1 - u0) / (v1 - v0)
    if not 0.9 < slope < 1.1:  # the clocks disagree wildly: no honest mapping
        return None
    return u0 - slope * v0, slope


def _timed_at(gps: Sequence[GpsSample], order: range) -> tuple[float, float] | None:
    """(video time, UTC) of the first sample in ``order`` that has both times."""
    for i in order:
        sample = gps[i]
        if sample.utc is not None and sample.video_time is not None:
            return sample.video_time, sample.utc
    return None


def _utc_text(t: float | None, fit: tuple[float, float]) -> str:
    """The utc_time cell of one row: blank without a time or outside ISO text's years."""
    if t is None:
        return " " * UTC_WIDTH
    second, milli = divmod(round((fit[0] + fit[1] * t) * 1000), 1000)
    prefix = _second_prefix(second)
    return f"{prefix}{milli:03d}Z" if prefix else " " * UTC_WIDTH


def _formatter(column: ColumnFormat) -> Formatter:
    """The field-by-field formatter of one column (same text as its printf spec)."""
    if column.spec is None:
        return _text_formatter(column.width)
    return _spec_formatter(column.spec, column.width)


def _spec_formatter(spec: str, width: int) -> Formatter:
    """Format a number exactly as the row format does; blanks for anything else."""

    def fmt(value: Value) -> str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            text = spec % value
            if len(text) == width:
                return text
        return " " * width

    return fmt


def _text_formatter(width: int) -> Formatter:
    return lambda value: _fit_text("" if value is None else str(value), width)


def _fit_text(text: str, width: int) -> str:
    """ASCII text padded to exactly ``width`` (one byte per character, no CSV specials)."""
    safe = "".join(c if " " <= c <= "~" and c not in ',"' else "?" for c in text)
    return safe[:width].ljust(width)
