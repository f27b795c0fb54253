"""Fixed-width number columns as bytes, many rows per numpy call.

Stream CSVs print every value with a printf spec (``%10.3f``); Python's ``%``
costs ~150 ns a value, which made an hour of a real camera's sensor streams
render at ~25 MB/s. Here a column of doubles becomes an (n, width) byte array
by integer arithmetic: scale to the decimals, round, take the digits four at a
time (one floor-division and one table lookup). The text is exactly printf's (glibc rounds
the double's exact value half-to-even): a scaled value is rounded by ``rint``
only where its distance to a half is larger than the scaling's rounding error;
the rare ones closer than that are formatted by Python. Anything else printf
would print differently from digits (nan, inf, beyond 2**53, wider than the
column) makes the caller take the careful per-value path.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

import numpy as np

from telemetryfs.fs.render_common import MAX_UTC_MS, MIN_UTC_MS, SLICE, second_text
from telemetryfs.parsers.encodings.gpmf.codec import (
    SMALL_INT_RANGE,
    SmallIntColumn,
    small_int_values,
)
from telemetryfs.parsers.track import GpsTrack

Array = np.ndarray[Any, Any]

_FIXED = re.compile(r"%(\d+)\.(\d+)f")
_SPACE, _MINUS, _DOT = 32, 45, 46
_COMMA, _NEWLINE = 44, 10


def fixed_spec(spec: str) -> tuple[int, int] | None:
    """(width, decimals) of a ``%W.Pf`` spec, else None."""
    match = _FIXED.fullmatch(spec)
    return (int(match[1]), int(match[2])) if match else None


def format_fixed(values: Array, width: int, decimals: int) -> Array | None:
    """``'%{width}.{decimals}f' % v`` for each v, as an (n, width) uint8 array.

    None when some value's text would not be plain digits of exactly ``width``.
    """
    if decimals > 18 or not np.isfinite(values).all():
        return None
    scaled = np.abs(values) * (10.0**decimals)  # |x| * 10**p, one rounding
    top = float(scaled.max()) if scaled.size else 0.0
    if top >= 2.0**53:
        return None
    # Rounding error of the scaling: at most 2 ulp of the largest value (a bound
    # for every value of the column, so a few more rows take the careful path).
    near_half = np.abs(scaled - np.floor(scaled) - 0.5) <= 2 * np.spacing(top)
    q = np.rint(scaled).astype(np.int64)
    for i in np.flatnonzero(near_half):  # let printf decide the rare near-ties
        q[i] = int(f"{abs(float(values[i])):.{decimals}f}".replace(".", ""))
    negative = np.signbit(values)  # printf's minus: -0.0 and what rounds to 0 too
    by_lookup = _fixed_by_lookup(q, negative, width, decimals)
    if by_lookup is not None:
        return by_lookup
    biggest = int(q.max()) if q.size else 0
    int_width = max(len(str(biggest // 10**decimals)), 1)  # the widest integer part
    dot = 1 if decimals else 0
    pad = width - int_width - dot - decimals
    if pad < 0:
        return None
    digits = _digits(q, int_width + decimals)
    out = np.empty((len(q), width), dtype=np.uint8)
    out[:, :pad] = _SPACE
    if int_width > 1:
        # Each row's integer part starts at its first non-zero digit (the last one
        # always shows): blank the leading zeros, found from the integer's size.
        shown = np.searchsorted(_POWERS_OF_TEN[1:int_width], q // 10**decimals, side="right")
        first = (int_width - 1) - shown
        blank = _COLUMN_INDEX[:int_width][None, :] < first[:, None]
        out[:, pad : pad + int_width] = np.where(blank, _SPACE, digits[:, :int_width])
    else:
        first = np.zeros(len(q), dtype=np.intp)
        out[:, pad] = digits[:, 0]
    if decimals:
        out[:, pad + int_width] = _DOT
        out[:, pad + int_width + 1 :] = digits[:, int_width:]
    rows = np.flatnonzero(negative)
    if rows.size:
        sign_at = pad + first[rows] - 1
        if (sign_at < 0).any():
            return None  # no room for the sign: wider than the column
        out[rows, sign_at] = _MINUS
    return out


# Integer parts up to this many digits are written by table lookup.
LOOKUP_INT_DIGITS = 4


def _fixed_by_lookup(q: Array, negative: Array, width: int, decimals: int) -> Array | None:
    """format_fixed's text of ``q`` (|value| scaled to integer decimals) with the sign
    of ``negative``, when every integer part fits LOOKUP_INT_DIGITS digits; else None.

    Three to five table lookups a row, each written straight into the rows: the
    general path below (digits, then leading zeros blanked in an (n, width) array)
    spent most of its time on narrow 2-D arrays, ~65 ns a value.
    """
    point = 1 if decimals else 0
    int_field = width - decimals - point
    digits = min(int_field, LOOKUP_INT_DIGITS)
    if digits < 1 or not q.size:
        return None
    unit = 10**decimals
    whole = q // unit
    if int(whole.max()) >= 10**digits:
        return None
    index = whole
    if negative.any():
        # The sign takes a place before the first digit ("-0.5" too, as printf).
        if digits < 2 or int(whole[negative].max()) >= 10 ** (digits - 1):
            return None
        index = whole + negative * 10**digits
    n = len(q)
    out = np.full((n, width), _SPACE, dtype=np.uint8)
    flat = out.reshape(-1)

    def column(at: int, size: int) -> Array:
        return np.ndarray(shape=(n,), dtype=f"V{size}", buffer=flat, offset=at, strides=(width,))

    np.take(_int_texts(digits), index, out=column(int_field - digits, digits), mode="clip")
    if decimals:
        out[:, int_field] = _DOT
        fraction = q - whole * unit
        at, left = int_field + 1, decimals
        while left:
            size = left % 4 or 4  # the most significant group first
            left -= size
            group = fraction // 10**left if left else fraction
            np.take(_zero_padded(size), group, out=column(at, size), mode="clip")
            if left:
                fraction = fraction - group * 10**left
            at += size
    return out


@functools.cache
def _int_texts(digits: int) -> Array:
    """Integer parts 0 to 10**digits - 1 right-aligned in ``digits`` characters, then
    the same with a minus sign ("-0" too; those too wide are never looked up)."""
    texts = [f"{i:>{digits}d}" for i in range(10**digits)]
    texts += [f"-{i}".rjust(digits)[:digits] for i in range(10**digits)]
    return np.frombuffer("".join(texts).encode("ascii"), dtype=f"V{digits}")


@functools.cache
def _zero_padded(digits: int) -> Array:
    """0 to 10**digits - 1 as ``digits`` zero-padded characters each."""
    texts = "".join(f"{i:0{digits}d}" for i in range(10**digits))
    return np.frombuffer(texts.encode("ascii"), dtype=f"V{digits}")


_POWERS_OF_TEN = np.array([10**i for i in range(19)], dtype=np.int64)
_COLUMN_INDEX = np.arange(32)


# "0000" to "9999" as four ASCII digits each: a lookup per four digits. The
# table's rows as 4-byte items, so that the lookup is one np.take (an (n, 4)
# fancy index costs ~10x more).
_FOUR_DIGITS = np.frombuffer(
    "".join(f"{i:04d}" for i in range(10000)).encode("ascii"), dtype=np.uint32
)


def _digits(q: Array, count: int) -> Array:
    """The last ``count`` decimal digits of each q, zero-padded, as (n, count) ASCII."""
    groups = -(-count // 4)
    out = np.empty((len(q), groups), dtype=np.uint32)
    rest = q
    for g in range(groups - 1, -1, -1):
        higher = rest // 10000
        np.take(_FOUR_DIGITS, rest - higher * 10000, out=out[:, g], mode="clip")
        rest = higher
    return out.view(np.uint8).reshape(len(q), 4 * groups)[:, 4 * groups - count :]


def format_texts(texts: list[str], width: int) -> Array | None:
    """Strings of exactly ``width`` ASCII characters as an (n, width) uint8 array."""
    joined = "".join(texts)
    if len(joined) != width * len(texts) or not joined.isascii():
        return None
    return np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(len(texts), width)


def format_spec(values: Array, spec: str, width: int) -> Array | None:
    """One column by its printf spec: vectorised for ``%W.Pf``, per value otherwise."""
    fixed = fixed_spec(spec)
    if fixed is not None and fixed[0] == width:
        return format_fixed(values, *fixed)
    return format_texts([spec % v for v in values.tolist()], width)


def small_int_lookup(column: SmallIntColumn, spec: str, width: int) -> tuple[Array, Array] | None:
    """A column of 8/16-bit integers by its ``%W.Pf`` spec, by lookup: each of the type's
    at most 65,536 values is formatted once (format_fixed, so the same text). Returns
    (the table, each row's index in it); None when the spec is not ``%W.Pf`` of ``width``."""
    fixed = fixed_spec(spec)
    if fixed is None or fixed[0] != width:
        return None
    table = _small_int_table(column.type_char, column.divisor, column.sign, *fixed)
    if table is None:
        return None
    index = column.raw.astype(np.intp)
    index -= SMALL_INT_RANGE[column.type_char][0]
    return table, index


# A few streams at a time (ACCL, GYRO, their scales rarely change): ~0.6 MB each.
@functools.lru_cache(maxsize=8)
def _small_int_table(
    type_char: str, divisor: float, sign: int, width: int, decimals: int
) -> Array | None:
    low, high = SMALL_INT_RANGE[type_char]
    values = small_int_values(np.arange(low, high + 1), divisor, sign)
    return format_fixed(values, width, decimals)


class RowBuffer:
    """Rows of fixed-width columns, separated by commas, each ending in a newline.

    A column is written through a one-dimensional view whose items are the
    column's bytes in each row (numpy's ``V<width>``): numpy then copies one item
    per row, where an (n, width) byte view costs a loop per row (2-5x slower for
    the 3-10 byte columns of a stream CSV).
    """

    def __init__(self, widths: list[int], n: int) -> None:
        self.n = n
        self.row = sum(widths) + len(widths)
        self.flat = np.empty(n * self.row, dtype=np.uint8)
        grid = self.flat.reshape(n, self.row)
        self.starts = []
        at = 0
        for width in widths:
            self.starts.append(at)
            grid[:, at + width] = _COMMA
            at += width + 1
        grid[:, self.row - 1] = _NEWLINE

    def view(self, column: int, skip: int, width: int) -> Array:
        """Bytes ``[skip, skip + width)`` of a column in every row, one item a row."""
        return np.ndarray(
            shape=(self.n,),
            dtype=f"V{width}",
            buffer=self.flat,
            offset=self.starts[column] + skip,
            strides=(self.row,),
        )

    def put(self, column: int, values: Array) -> None:
        """Write an (n, width) byte array into a column."""
        width = values.shape[1]
        items = np.ascontiguousarray(values).view(f"V{width}").reshape(self.n)
        self.view(column, 0, width)[...] = items

    def take(self, column: int, table: Array, index: Array, skip: int = 0) -> None:
        """Write ``table[index]`` (table: (k, width) bytes) into a column."""
        width = table.shape[1]
        items = np.ascontiguousarray(table).view(f"V{width}").reshape(len(table))
        # mode="clip": the callers' indexes are in range, and numpy buffers ``out``
        # in the default mode.
        np.take(items, index, out=self.view(column, skip, width), mode="clip")

    def buffer(self) -> memoryview:
        """The rows' bytes, not copied (a stream CSV's window is served as slices of it)."""
        return self.flat.data


# --- variable-width text ----------------------------------------------------------

# The filler of a TextGrid: a byte no text we write contains (XML forbids it, and
# CSV and JSON text is ASCII without control bytes), dropped when rows are joined.
_FILL = 0


def short_decimal(values: Array, decimals: int) -> Array | None:
    """``str(round(v, decimals))`` of each value, never ``-0.0``, as TextGrid bytes.

    The text ``render_common.number_column`` writes: the decimal rounded half-to-even
    from the double's exact value, trailing zeros dropped but one decimal kept
    (``20.0``). Returned as an (n, width) uint8 array whose unused bytes are the
    filler (the integer part right-aligned, the decimals left-aligned). None when
    some value needs the careful path: not finite, or 15 significant digits or more
    (then ``str`` of the rounded double need not be that decimal).
    """
    if not 1 <= decimals <= 10 or not values.size or not np.isfinite(values).all():
        return None
    magnitude = np.abs(values)
    if float(magnitude.max()) >= 10.0 ** (15 - decimals):
        return None
    scaled = magnitude * (10.0**decimals)
    top = float(scaled.max())
    near_half = np.abs(scaled - np.floor(scaled) - 0.5) <= 2 * np.spacing(top)
    q = np.rint(scaled).astype(np.int64)
    for i in np.flatnonzero(near_half):  # let printf decide the rare near-ties
        q[i] = int(f"{float(magnitude[i]):.{decimals}f}".replace(".", ""))
    unit = 10**decimals
    whole, fraction = np.divmod(q, unit)
    int_width = max(len(str(int(whole.max()))), 1)
    digits = _digits(q, int_width + decimals)
    out = np.empty((len(q), 2 + int_width + decimals), dtype=np.uint8)
    # Column 0 holds a minus sign when there is one; the integer part follows,
    # its leading zeros blanked (the last digit always shows).
    out[:, 0] = _FILL
    shown = np.searchsorted(_POWERS_OF_TEN[1:int_width], whole, side="right")
    first = (int_width - 1) - shown
    blank = _COLUMN_INDEX[:int_width][None, :] < first[:, None]
    out[:, 1 : 1 + int_width] = np.where(blank, _FILL, digits[:, :int_width])
    out[:, 1 + int_width] = _DOT
    # Decimals: trailing zeros blanked, the first always kept.
    trailing = np.zeros(len(q), dtype=np.intp)
    for j in range(1, decimals):
        trailing += fraction % 10**j == 0
    kept = decimals - trailing
    cut = _COLUMN_INDEX[:decimals][None, :] >= kept[:, None]
    out[:, 2 + int_width :] = np.where(cut, _FILL, digits[:, int_width:])
    negative = np.flatnonzero((values < 0) & (q > 0))  # what rounds to zero is "0.0"
    out[negative, first[negative]] = _MINUS
    return out


class TextGrid:
    """Rows built from literal text and variable-width fields, joined without the filler.

    Each row is laid out at the widest every field can be; a field's unused bytes
    hold the filler byte, which joining drops. Building a row costs no Python
    code: the literals are copied into every row at once, each field's bytes go in
    through a one-item-per-row view (see RowBuffer).
    """

    def __init__(self, n: int, pieces: list[bytes | Array]) -> None:
        widths = [len(p) if isinstance(p, bytes) else p.shape[1] for p in pieces]
        self.width = sum(widths)
        template = bytearray(self.width)
        at = 0
        fields = []
        for piece, width in zip(pieces, widths, strict=True):
            if isinstance(piece, bytes):
                template[at : at + width] = piece
            else:
                fields.append((at, piece))
            at += width
        self.grid = np.empty((n, self.width), dtype=np.uint8)
        self.grid[...] = np.frombuffer(bytes(template), dtype=np.uint8)
        flat = self.grid.reshape(-1)
        for at, field in fields:
            width = field.shape[1]
            view = np.ndarray(
                shape=(n,), dtype=f"V{width}", buffer=flat, offset=at, strides=(self.width,)
            )
            view[...] = np.ascontiguousarray(field).view(f"V{width}").reshape(n)

    def text(self, start: int, stop: int) -> bytes:
        """Rows ``[start, stop)`` joined, the filler dropped."""
        rows = self.grid[start:stop]
        text: bytes = rows[rows != _FILL].tobytes()
        return text


def lookup_texts(texts: list[bytes], index: Array) -> Array:
    """``texts[i]`` for each i of ``index``, as TextGrid bytes (a column of a few words)."""
    width = max((len(t) for t in texts), default=0)
    table = np.full((len(texts), max(width, 1)), _FILL, dtype=np.uint8)
    for row, text in enumerate(texts):
        table[row, : len(text)] = np.frombuffer(text, dtype=np.uint8)
    return table[index]


# ".000Z" to ".999Z": the end of an ISO time, by lookup on the milliseconds.
_DOT_MILLIS_Z = np.frombuffer(
    "".join(f".{i:03d}Z" for i in range(1000)).encode("ascii"), dtype=np.uint8
).reshape(1000, 5)


def sample_field(samples: Sequence[Any], field: str, dtype: type) -> Array:
    """One field of every sample as an array (``np.fromiter`` reads None as NaN),
    gathered SLICE samples at a time: one call over an hour of samples holds
    the GIL for ~4 ms (render_common.SLICE)."""
    if isinstance(samples, GpsTrack):  # columns already: a copy, as below
        return np.array(samples.column(field), dtype=dtype)
    get = attrgetter(field)
    values: Array = np.empty(len(samples), dtype=dtype)
    for start in range(0, len(samples), SLICE):
        part = samples[start : start + SLICE]
        values[start : start + len(part)] = np.fromiter(map(get, part), dtype, len(part))
    return values


def ground_speeds(samples: Sequence[Any]) -> Array:
    """render_common.ground_speed of every sample as float64, NaN for None: the 2D
    speed where it is finite, else the 3D one, NaN where neither is."""
    speed_2d = sample_field(samples, "speed_2d", np.float64)
    speed_3d = sample_field(samples, "speed_3d", np.float64)
    speeds = np.where(np.isfinite(speed_2d), speed_2d, speed_3d)
    speeds[~np.isfinite(speeds)] = np.nan
    return speeds


def per_second(seconds: Array, text_of: Callable[[int], str]) -> tuple[list[str], Array]:
    """Each distinct second's text, formatted once, and each row's index among them."""
    low, high = int(seconds.min()), int(seconds.max())
    if high - low < 4 * len(seconds) + 64:
        # Rows run forward in time: their seconds are a short range, no sort needed.
        return [text_of(second) for second in range(low, high + 1)], seconds - low
    unique, which = np.unique(seconds, return_inverse=True)
    return [text_of(int(second)) for second in unique], which


def iso_millis_texts(utcs: Array) -> Array | None:
    """``render_common.iso_utc`` of each time (``2017-04-17T17:31:03.055Z``), as an
    (n, 24) uint8 array; None when some time has no ISO text (not finite, out of
    range): the caller then takes the careful path."""
    if not utcs.size or not np.isfinite(utcs).all():
        return None
    ms = np.rint(utcs * 1000.0)  # round(u * 1000.0): the same double, half to even
    if not MIN_UTC_MS <= float(ms.min()) <= float(ms.max()) <= MAX_UTC_MS:
        return None
    seconds, millis = np.divmod(ms.astype(np.int64), 1000)
    prefixes, which = per_second(seconds, second_text)
    table = format_texts(prefixes, 19)
    if table is None:
        return None
    out = np.empty((len(ms), 24), dtype=np.uint8)
    out[:, :19] = table[which]
    out[:, 19:] = _DOT_MILLIS_Z[millis]
    return out
