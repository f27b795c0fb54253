"""Fixed-width number columns as bytes, many rows per numpy call.

Stream CSVs print every value with a printf spec (``%10.3f``); Python's ``%``
costs ~150 ns a value, which made an hour of a real camera's sensor streams
render at ~25 MB/s. Here a column of doubles becomes an (n, width) byte array
by integer arithmetic: scale to the decimals, round, take the digits with one
floor-division per digit position. The text is exactly printf's (glibc rounds
the double's exact value half-to-even): a scaled value is rounded by ``rint``
only where its distance to a half is larger than the scaling's rounding error;
the rare ones closer than that are formatted by Python. Anything else printf
would print differently from digits (nan, inf, beyond 2**53, wider than the
column) makes the caller take the careful per-value path.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np

from telemetryfs.parsers.encodings.gpmf.codec import (
    SMALL_INT_RANGE,
    SmallIntColumn,
    small_int_values,
)

Array = np.ndarray[Any, Any]

_FIXED = re.compile(r"%(\d+)\.(\d+)f")
_SPACE, _MINUS, _DOT, _ZERO = 32, 45, 46, 48
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
    if scaled.size and scaled.max() >= 2.0**53:
        return None
    whole = np.floor(scaled)
    near_half = np.abs(scaled - whole - 0.5) <= 2 * np.spacing(scaled)
    q = np.rint(scaled).astype(np.int64)
    for i in np.flatnonzero(near_half):  # let printf decide the rare near-ties
        q[i] = int(f"{abs(float(values[i])):.{decimals}f}".replace(".", ""))
    negative = np.signbit(values)
    biggest = int(q.max()) if q.size else 0
    int_width = max(len(str(biggest // 10**decimals)), 1)  # the widest integer part
    dot = 1 if decimals else 0
    pad = width - int_width - dot - decimals
    if pad < 0:
        return None
    digits = _digits(q, int_width + decimals)
    integer = digits[:, :int_width]
    # Each row's integer part starts at its first non-zero digit (the last one always shows).
    nonzero = integer[:, :-1] != _ZERO
    first = (
        np.where(nonzero.any(axis=1), nonzero.argmax(axis=1), int_width - 1)
        if int_width > 1
        else np.zeros(len(q), dtype=np.intp)
    )
    blank = np.arange(int_width)[None, :] < first[:, None]
    out = np.empty((len(q), width), dtype=np.uint8)
    out[:, :pad] = _SPACE
    out[:, pad : pad + int_width] = np.where(blank, _SPACE, integer)
    if decimals:
        out[:, pad + int_width] = _DOT
        out[:, pad + int_width + 1 :] = digits[:, int_width:]
    rows = np.flatnonzero(negative)
    sign_at = pad + first[rows] - 1
    if (sign_at < 0).any():
        return None  # no room for the sign: wider than the column
    out[rows, sign_at] = _MINUS
    return out


# "0000" to "9999" as four ASCII digits each: a lookup per four digits.
_FOUR_DIGITS = np.frombuffer(
    "".join(f"{i:04d}" for i in range(10000)).encode("ascii"), dtype=np.uint8
).reshape(10000, 4)


def _digits(q: Array, count: int) -> Array:
    """The last ``count`` decimal digits of each q, zero-padded, as (n, count) ASCII."""
    groups = -(-count // 4)
    out = np.empty((len(q), 4 * groups), dtype=np.uint8)
    rest = q
    for g in range(groups - 1, -1, -1):
        rest, four = np.divmod(rest, 10000)
        out[:, 4 * g : 4 * g + 4] = _FOUR_DIGITS[four]
    return out[:, 4 * groups - count :]


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


def format_small_ints(column: SmallIntColumn, spec: str, width: int) -> Array | None:
    """A column of 8/16-bit integers by its ``%W.Pf`` spec, by lookup: each of the type's
    at most 65,536 values is formatted once (format_fixed, so the same text) and the
    rows are gathered from that table. None when the spec is not ``%W.Pf`` of ``width``."""
    fixed = fixed_spec(spec)
    if fixed is None or fixed[0] != width:
        return None
    table = _small_int_table(column.type_char, column.divisor, column.sign, *fixed)
    if table is None:
        return None
    low = SMALL_INT_RANGE[column.type_char][0]
    rows: Array = table[column.raw.astype(np.intp) - low]
    return rows


# A few streams at a time (ACCL, GYRO, their scales rarely change): ~0.6 MB each.
@functools.lru_cache(maxsize=8)
def _small_int_table(
    type_char: str, divisor: float, sign: int, width: int, decimals: int
) -> Array | None:
    low, high = SMALL_INT_RANGE[type_char]
    values = small_int_values(np.arange(low, high + 1), divisor, sign)
    return format_fixed(values, width, decimals)


def join_columns(columns: list[Array], n: int) -> bytes:
    """Rows of the columns separated by commas, each ending in a newline."""
    width = sum(column.shape[1] for column in columns) + len(columns)
    out = np.empty((n, width), dtype=np.uint8)
    at = 0
    for column in columns:
        end = at + column.shape[1]
        out[:, at:end] = column
        out[:, end] = _COMMA
        at = end + 1
    out[:, width - 1] = _NEWLINE
    return out.tobytes()
