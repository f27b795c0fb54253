"""GPMF codecs: how a data KLV's bytes become rows of scaled values, and decoding them.

A Codec is worked out once per layout from the data KLV and the sticky
properties in force for it: TYPE (the layout of '?' structures, arrays such
as ``f[8]``), SCAL (divisor, one per column or one for all) and MTRX (the
sensor's axes turned into the camera's). The Stream of each telemetry
stream holds its Codec, and decode_chunk turns one chunk's bytes into rows.

The disk cache pickles Codec by module and name: it must stay importable
as ``telemetryfs.parsers.encodings.gpmf.codec.Codec``, and gpmf re-exports it
(``telemetryfs.parsers.gpmf.Codec``, what caches written before the
module was split refer to).

References: the GPMF spec (gopro/gpmf-parser README, ``docs/README.md``),
gpmf-parser's ``GPMF_parser.c`` (GPMF_ScaledData), exiftool's ``GoPro.pm``
(cyclic SCAL), gopro-telemetry's ``parseV.js``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from telemetryfs.parsers.encodings.gpmf.klv import (
    _FIXED_POINT,
    _TEXT,
    MTRX,
    SCAL,
    TYPE,
    TYPES,
    Klv,
    parse_type,
    read_numbers,
)
from telemetryfs.parsers.errors import MalformedError
from telemetryfs.parsers.model import ColumnFormat, Value

# Types whose negation stays in range (MTRX may flip an axis).
_SIGNED = frozenset("bsljqQfd")


@dataclass(frozen=True, slots=True)
class Codec:
    """How to turn one data KLV's value bytes into rows (picklable, hashable).

    ``fields`` has one GPMF type char per column ('c' columns are strings of
    ``widths[i]`` bytes); ``fields == ""`` means unknown layout, decoded as
    one hex string per struct. ``whole_text``: a 'c' value with struct size 1
    is one string, not one row per character. ``matrix`` (MTRX) turns the
    sensor's axes (ORIN) into the camera's (ORIO), as gpmf-parser's
    GPMF_ScaledData and gopro-telemetry do.
    """

    type: str
    struct_size: int
    fields: str
    widths: tuple[int, ...]
    scale: tuple[float, ...] = ()
    whole_text: bool = False
    matrix: tuple[float, ...] = ()  # MTRX, row-major n x n, applied after scaling

    def row_count(self, repeat: int) -> int:
        if self.whole_text:
            return 1 if repeat else 0
        return repeat

    def decode(self, data: bytes) -> list[tuple[Value, ...]]:
        """The rows of one chunk (see :func:`decode_chunk`)."""
        return decode_chunk(self, data)

    def column_formats(self) -> tuple[ColumnFormat, ...]:
        """How each column is written in a stream CSV: wide enough for its type's range."""
        return _column_formats(self)

    def decode_array(self, data: bytes) -> np.ndarray[Any, Any] | None:
        """The rows of one chunk as an (n, columns) float64 array, or None when a
        column is not a number. Equal value for value to :meth:`decode`."""
        return decode_array(self, data)

    def decode_small_ints(self, data: bytes) -> list[SmallIntColumn] | None:
        """Each output column's raw 8/16-bit integers and how they become its values,
        or None unless every field is such an integer (see :func:`decode_small_ints`)."""
        return decode_small_ints(self, data)


@dataclass(frozen=True, slots=True)
class SmallIntColumn:
    """One output column of 8/16-bit integers: its value is ``sign * raw / divisor``,
    computed as :func:`decode_array` does (so a renderer may format each of the at
    most 65,536 possible values once and look the rest up)."""

    raw: np.ndarray[Any, Any]
    type_char: str
    divisor: float
    sign: int


def small_int_values(raw: np.ndarray[Any, Any], divisor: float, sign: int) -> np.ndarray[Any, Any]:
    """``sign * raw / divisor`` as decode_array computes it, bit for bit."""
    with np.errstate(all="ignore"):
        base = raw.astype(np.float64)
        column = base / divisor if divisor != 1.0 else base
    if sign < 0:
        column = -column
        if divisor == 1.0:
            column += 0.0  # as decode_array: negated integers have no -0
    return column


# Value range of each GPMF integer type char (fixed-point divisors: klv._FIXED_POINT).
_INT_RANGE = {
    "b": (-(2**7), 2**7 - 1),
    "B": (0, 2**8 - 1),
    "s": (-(2**15), 2**15 - 1),
    "S": (0, 2**16 - 1),
    "l": (-(2**31), 2**31 - 1),
    "L": (0, 2**32 - 1),
    "j": (-(2**63), 2**63 - 1),
    "J": (0, 2**64 - 1),
    "q": (-(2**31), 2**31 - 1),
    "Q": (-(2**63), 2**63 - 1),
}
_TEXT_WIDTHS = {"F": 4, "U": 16}  # FourCC, UTC date string; 'c' has its own width
# Decimals beyond the scale's resolution add nothing; more than 9 is noise.
_MAX_DECIMALS = 9


@functools.cache
def _column_formats(codec: Codec) -> tuple[ColumnFormat, ...]:
    if codec.whole_text:
        return (ColumnFormat(None, 0),)
    if not codec.fields:  # unknown layout: one hex string per struct
        return (ColumnFormat(None, 2 * codec.struct_size),)
    scale = codec.scale
    return tuple(
        _column_format(c, codec.widths[i], scale[i] if i < len(scale) else 1.0)
        for i, c in enumerate(codec.fields)
    )


def _column_format(type_char: str, byte_width: int, scale: float) -> ColumnFormat:
    if type_char == "c":
        return ColumnFormat(None, byte_width)
    if type_char in _TEXT_WIDTHS:
        return ColumnFormat(None, _TEXT_WIDTHS[type_char])
    if type_char == "G":  # a 16-byte id, as hex
        return ColumnFormat(None, 32)
    if type_char == "f":
        return ColumnFormat("%14.6e", 14)
    if type_char == "d":
        return ColumnFormat("%23.15e", 23)
    lo, hi = _INT_RANGE.get(type_char, (-(2**63), 2**64))
    divisor = _FIXED_POINT.get(type_char, 1.0) * (scale or 1.0)
    decimals = 0 if divisor <= 1 else min(_MAX_DECIMALS, math.ceil(math.log10(divisor)) + 1)
    biggest = max(abs(lo), abs(hi)) / divisor
    width = len(f"{-biggest:.{decimals}f}")
    return ColumnFormat(f"%{width}.{decimals}f", width)


def make_codec(klv: Klv, props: Mapping[bytes, tuple[Klv, bytes]]) -> Codec:
    """The codec for a data KLV under the sticky properties in force.

    ``props`` maps a property key to its KLV and the buffer holding it. When
    the layout cannot be worked out (an unknown type char, a '?' without a
    usable TYPE, a struct size that is not a whole number of values) the
    codec decodes each struct as one hex string: kept raw, not an error.
    """
    type_raw = _raw(*props[TYPE]) if klv.type == ord("?") and TYPE in props else None
    scal = _typed_raw(props, SCAL)
    # Every payload repeats the same properties: build each codec once.
    codec = _codec(klv.type, klv.struct_size, type_raw, scal)
    mtrx = _typed_raw(props, MTRX)
    if mtrx is not None and codec.fields:
        return _with_matrix(codec, mtrx)
    return codec


def _typed_raw(
    props: Mapping[bytes, tuple[Klv, bytes]], key: bytes
) -> tuple[int, int, bytes] | None:
    if key not in props:
        return None
    klv, buf = props[key]
    return (klv.type, klv.struct_size, _raw(klv, buf))


@functools.lru_cache(maxsize=256)
def _with_matrix(codec: Codec, mtrx: tuple[int, int, bytes]) -> Codec:
    """The codec with MTRX applied, when MTRX is what GoPro writes: a signed permutation.

    Only for columns of one signed type and one scale, so that every output
    column keeps the type and range its codec states (the CSV layout sizes
    columns from them). Any other matrix is ignored: the data stays in the
    sensor's order, labelled by ORIN.
    """
    type_code, struct_size, raw = mtrx
    n = len(codec.fields)
    matrix = read_numbers(
        raw, Klv(MTRX, type_code, struct_size, len(raw) // max(struct_size, 1), -8)
    )
    uniform = len(set(codec.fields)) == 1 and len(set(codec.scale)) <= 1
    if len(matrix) != n * n or not uniform or codec.fields[0] not in _SIGNED:
        return codec
    rows = [matrix[i * n : i * n + n] for i in range(n)]
    if any(sorted(abs(v) for v in row) != [0.0] * (n - 1) + [1.0] for row in rows):
        return codec
    if len({row.index(1.0) if 1.0 in row else row.index(-1.0) for row in rows}) != n:
        return codec
    return dataclasses.replace(codec, matrix=tuple(float(v) for v in matrix))


def _raw(klv: Klv, buf: bytes) -> bytes:
    return buf[klv.value_offset : klv.value_offset + klv.size]


@functools.lru_cache(maxsize=1024)
def _codec(
    type_code: int, struct_size: int, type_raw: bytes | None, scal: tuple[int, int, bytes] | None
) -> Codec:
    type_char = chr(type_code)
    if type_char == "c":
        whole = struct_size == 1
        # One string per KLV when the struct is one char: its length is the repeat.
        return Codec("c", struct_size, "c", (0 if whole else struct_size,), (), whole)
    fields: str | None = None
    if type_char == "?" and type_raw is not None:
        fields = _complex_fields(type_raw, struct_size)
    elif type_char in TYPES and type_char != "?":
        width = TYPES[type_char][1]
        if struct_size and not struct_size % width:
            fields = type_char * (struct_size // width)
    if fields is None:
        return Codec(type_char, max(struct_size, 1), "", (max(struct_size, 1),))
    widths = [TYPES[c][1] for c in fields]
    if type_char == "?" and "cc" in fields:
        fields, widths = _join_text(fields)
    return Codec(type_char, struct_size, fields, tuple(widths), _scale(scal, fields))


def _join_text(fields: str) -> tuple[str, list[int]]:
    """A run of chars in a TYPE ("c[16]") is one text column, not sixteen."""
    out, widths = "", []
    for run in re.finditer(r"c+|[^c]", fields):
        out += run.group()[0]
        widths.append(len(run.group()) if run.group()[0] == "c" else TYPES[run.group()][1])
    return out, widths


def _complex_fields(type_raw: bytes, struct_size: int) -> str | None:
    try:
        fields = parse_type(type_raw.split(b"\0", 1)[0].decode("latin-1").strip())
    except MalformedError:
        return None
    if sum(TYPES[c][1] for c in fields) != struct_size:
        return None
    return fields


def _scale(scal: tuple[int, int, bytes] | None, fields: str) -> tuple[float, ...]:
    if scal is None or not fields:
        return ()
    type_code, struct_size, raw = scal
    values = read_numbers(
        raw, Klv(SCAL, type_code, struct_size, len(raw) // max(struct_size, 1), -8)
    )
    if not values:
        return ()
    # One divisor for all columns, one per column, or (exiftool) cyclic. A zero
    # or non-finite divisor is damage: that column stays unscaled.
    divisors = (float(values[i % len(values)]) for i in range(len(fields)))
    return tuple(d if d and math.isfinite(d) else 1.0 for d in divisors)


def raw_rows(codec: Codec, data: bytes) -> list[tuple[Any, ...]]:
    """Unscaled rows of a numeric codec (the GPS fast path scales them itself).

    Raises:
        MalformedError: the codec has no numeric layout.
    """
    if not codec.fields or codec.whole_text:
        raise MalformedError("raw rows need a numeric layout")
    layout = _struct_for(codec.fields, codec.widths)
    usable = len(data) - len(data) % layout.size
    return list(layout.iter_unpack(memoryview(data)[:usable]))


def raw_row_size(codec: Codec) -> int:
    """Bytes of one row as raw_rows reads them.

    Raises:
        MalformedError: the codec has no numeric layout.
    """
    if not codec.fields or codec.whole_text:
        raise MalformedError("raw rows need a numeric layout")
    return _struct_for(codec.fields, codec.widths).size


def raw_dtype(codec: Codec) -> np.dtype[Any] | None:
    """numpy's record type of raw_rows' rows (fields ``c0``, ``c1``...), None for 'c' fields."""
    dtype = _numpy_dtype(codec.fields)
    return dtype if dtype is not None and dtype.itemsize == raw_row_size(codec) else None


@functools.lru_cache(maxsize=256)
def _struct_for(fields: str, widths: tuple[int, ...]) -> struct.Struct:
    parts = [f"{w}s" if c == "c" else TYPES[c][0] for c, w in zip(fields, widths, strict=True)]
    return struct.Struct(">" + "".join(parts))


def decode_chunk(codec: Codec, data: bytes) -> list[tuple[Value, ...]]:
    """Decode one chunk's value bytes into rows of scaled values.

    The columns are those of the Stream the codec belongs to. Trailing bytes
    that do not make a whole struct (a cut payload) are ignored.

    Raises:
        MalformedError: the codec is impossible (zero struct size).
    """
    if codec.whole_text:
        return [(data.split(b"\0", 1)[0].decode("latin-1").strip(),)] if data else []
    if codec.struct_size <= 0:
        raise MalformedError("codec with zero struct size")
    if not data:
        return []
    usable = len(data) - len(data) % codec.struct_size
    if not codec.fields:
        n = codec.struct_size
        return [(data[i : i + n].hex(),) for i in range(0, usable, n)]
    try:
        layout = _struct_for(codec.fields, codec.widths)
    except (struct.error, KeyError) as exc:
        raise MalformedError(f"bad codec layout {codec.fields!r}") from exc
    if layout.size != codec.struct_size:
        raise MalformedError(f"codec layout {codec.fields!r} is not {codec.struct_size} bytes")
    divisors = _divisors(codec.fields, codec.scale)
    if divisors is not None:
        return _decode_numeric(layout, memoryview(data)[:usable], divisors, codec.matrix)
    convert = _converters(codec.fields, codec.scale)
    rows = [
        tuple(conv(v) for conv, v in zip(convert, row, strict=True))
        for row in layout.iter_unpack(memoryview(data)[:usable])
    ]
    if codec.matrix:
        return _rotate(rows, codec.matrix)
    return rows


def _decode_numeric(
    layout: struct.Struct, data: memoryview, divisors: tuple[float, ...], matrix: tuple[float, ...]
) -> list[tuple[Value, ...]]:
    """All-numeric rows, column by column: the same values as the per-value path, faster.

    Streams such as ACCL hold hundreds of thousands of rows per hour; a call
    per value dominates their decoding, while a transpose (zip) and one
    comprehension per column stay in C for most of the work.
    """
    columns: list[Any] = list(zip(*layout.iter_unpack(data), strict=True))
    if not columns:
        return []
    for i, divisor in enumerate(divisors):
        if divisor != 1.0:
            columns[i] = [v / divisor for v in columns[i]]
    if matrix:
        columns = _rotate_columns(columns, matrix)
    return list(zip(*columns, strict=True))


def _rotate_columns(columns: list[Any], matrix: tuple[float, ...]) -> list[Any]:
    """Columns through a signed-permutation MTRX (see _rotate), negating whole columns."""
    n = len(columns)
    if len(matrix) != n * n:
        raise MalformedError(f"MTRX of {len(matrix)} values for {n} columns")
    out = []
    for i in range(n):
        nonzero = [(j, m) for j, m in enumerate(matrix[i * n : i * n + n]) if m]
        if len(nonzero) != 1:
            raise MalformedError("MTRX is not a signed permutation")
        j, sign = nonzero[0]
        out.append(columns[j] if sign > 0 else [-v for v in columns[j]])
    return out


@functools.lru_cache(maxsize=256)
def _divisors(fields: str, scale: tuple[float, ...]) -> tuple[float, ...] | None:
    """Per-column divisors when every column is a number, else None (see _converter)."""
    if any(c in _TEXT or c == "G" for c in fields):
        return None
    out = []
    for i, c in enumerate(fields):
        divisor = scale[i] if scale else 1.0
        out.append(_FIXED_POINT.get(c, 1.0) * (divisor or 1.0))
    return tuple(out)


def _rotate(rows: list[tuple[Value, ...]], matrix: tuple[float, ...]) -> list[tuple[Value, ...]]:
    """out[i] = sum_j M[i][j] * in[j] for a signed permutation M: exact, no float products."""
    n = len(rows[0]) if rows else 0
    if len(matrix) != n * n:
        raise MalformedError(f"MTRX of {len(matrix)} values for {n} columns")
    picks = []
    for i in range(n):
        nonzero = [(j, m) for j, m in enumerate(matrix[i * n : i * n + n]) if m]
        if len(nonzero) != 1:
            raise MalformedError("MTRX is not a signed permutation")
        picks.append(nonzero[0])
    return [tuple(_signed(r[j], m) for j, m in picks) for r in rows]


def _signed(value: Value, sign: float) -> Value:
    if sign > 0 or not isinstance(value, int | float):
        return value
    return -value


Converter = Callable[[Any], Value]


@functools.lru_cache(maxsize=256)
def _converters(fields: str, scale: tuple[float, ...]) -> tuple[Converter, ...]:
    return tuple(_converter(c, scale[i] if scale else 1.0) for i, c in enumerate(fields))


def _converter(type_char: str, divisor: float) -> Converter:
    if type_char in _TEXT:
        return _text
    if type_char == "G":
        return _hex
    fixed = _FIXED_POINT.get(type_char, 1.0)
    total = fixed * (divisor or 1.0)  # a zero SCAL is damage: leave the value unscaled
    if total == 1.0:
        return _same
    return functools.partial(_divide, total)


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("latin-1").strip()


def _hex(raw: bytes) -> str:
    return raw.hex()


def _same(value: Value) -> Value:
    return value


def _divide(divisor: float, value: float) -> float:
    return value / divisor


# numpy's big-endian dtype of each numeric GPMF type char (struct formats in TYPES).
_NUMPY_TYPES = {
    "b": ">i1", "B": ">u1", "s": ">i2", "S": ">u2", "l": ">i4", "L": ">u4",
    "j": ">i8", "J": ">u8", "q": ">i4", "Q": ">i8", "f": ">f4", "d": ">f8",
}  # fmt: skip


@functools.lru_cache(maxsize=256)
def _numpy_dtype(fields: str) -> np.dtype[Any] | None:
    if any(c not in _NUMPY_TYPES for c in fields):
        return None
    return np.dtype([(f"c{i}", _NUMPY_TYPES[c]) for i, c in enumerate(fields)])


# The 8/16-bit integer types, whose every value fits a lookup table.
SMALL_INT_RANGE = {c: _INT_RANGE[c] for c in "bBsS"}


def decode_small_ints(codec: Codec, data: bytes) -> list[SmallIntColumn] | None:
    """The output columns of an all 8/16-bit integer codec (ACCL, GYRO...) as raw integers,
    MTRX applied as a signed permutation; None for any other codec."""
    if codec.whole_text or not codec.fields or codec.struct_size <= 0:
        return None
    if any(c not in SMALL_INT_RANGE for c in codec.fields):
        return None
    dtype = _numpy_dtype(codec.fields)
    divisors = _divisors(codec.fields, codec.scale)
    if dtype is None or divisors is None or dtype.itemsize != codec.struct_size:
        return None
    picks = _signed_picks(codec.matrix, len(codec.fields))
    if picks is None:
        return None
    records = np.frombuffer(data, dtype, count=len(data) // codec.struct_size)
    return [
        SmallIntColumn(records[f"c{j}"], codec.fields[j], divisors[j], sign) for j, sign in picks
    ]


def decode_array(codec: Codec, data: bytes) -> np.ndarray[Any, Any] | None:
    """decode_chunk for all-numeric codecs, as an (n, columns) float64 array.

    The same arithmetic as the per-value path (a float64 division by the same
    divisor, a negation for MTRX), so every value is the same double: a CSV
    formatted from either is byte-identical. None for text, hex or odd layouts.
    """
    if codec.whole_text or not codec.fields or codec.struct_size <= 0:
        return None
    dtype = _numpy_dtype(codec.fields)
    divisors = _divisors(codec.fields, codec.scale)
    if dtype is None or divisors is None or dtype.itemsize != codec.struct_size:
        return None
    records = np.frombuffer(data, dtype, count=len(data) // codec.struct_size)
    columns = []
    # Signalling NaNs and overflowing divisions are data, not errors: the
    # per-value path turns them into nan and inf without a word, so does this.
    with np.errstate(all="ignore"):
        for i, divisor in enumerate(divisors):
            column = records[f"c{i}"].astype(np.float64)
            columns.append(column / divisor if divisor != 1.0 else column)
    if codec.matrix:
        picks = _signed_picks(codec.matrix, len(columns))
        if picks is None:
            return None
        rotated = []
        for j, sign in picks:
            column = columns[j] if sign > 0 else -columns[j]
            if sign < 0 and codec.fields[j] not in "fd" and divisors[j] == 1.0:
                column += 0.0  # the other path negates ints, which have no -0
            rotated.append(column)
        columns = rotated
    return np.column_stack(columns) if columns else None


def _signed_picks(matrix: tuple[float, ...], n: int) -> list[tuple[int, int]] | None:
    """(input column, sign) of each output column of a signed-permutation MTRX (every
    column as itself without one); None for any other matrix."""
    if not matrix:
        return [(i, 1) for i in range(n)]
    if len(matrix) != n * n:
        return None
    picks = []
    for i in range(n):
        nonzero = [(j, m) for j, m in enumerate(matrix[i * n : i * n + n]) if m]
        if len(nonzero) != 1:
            return None
        picks.append((nonzero[0][0], 1 if nonzero[0][1] > 0 else -1))
    return picks
