"""GPMF (GoPro Metadata Format): KLV walking, type chars, sticky properties, scaled decoding.

GPMF is a big-endian Key-Length-Value tree, 32-bit aligned: a FourCC key, a
type char, an 8-bit struct size and a 16-bit repeat; the value holds
``struct_size * repeat`` bytes, padded to a multiple of four. Type 0 nests
further KLVs (DEVC devices holding STRM streams). Within a nest, properties
are "sticky" and apply to the data that follows them: SCAL (divisor, one per
column or one for all), TYPE (the layout of '?' structures, arrays such as
``f[8]``), SIUN/UNIT, STNM, ORIN, TIMO, TSMP, EMPT, TICK/TOCK.

References: the GPMF spec (gopro/gpmf-parser README, ``docs/README.md``;
local copy in shared/seeds/gpmf-format-readme.txt), gpmf-parser's
``GPMF_parser.c`` (type sizes, sanity checks), exiftool's ``GoPro.pm``
(cyclic SCAL), gopro-telemetry's ``parseKLV.js``/``parseV.js``.

Quirks handled:
- unknown keys and unknown type chars are kept as raw hex, never errors
  (gpmf-parser: "an unknown type is potentially valid data");
- text is Latin-1: GoPro writes '²' and 'µ' in SIUN as the single bytes
  0xB2 and 0xB5 (spec, "Special ASCII characters");
- the udta/APP6 "global settings" STRMs hold dozens of unrelated keys: they
  are reported as settings, not as a stream;
- a zero key pads the end of the udta GPMF block (HERO7 ``mp4header``).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import re
import struct
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from .errors import MalformedError
from .model import Value

log = logging.getLogger(__name__)

DEVC = b"DEVC"
STRM = b"STRM"
DVID = b"DVID"
DVNM = b"DVNM"
STNM = b"STNM"
RMRK = b"RMRK"
SCAL = b"SCAL"
SIUN = b"SIUN"
UNIT = b"UNIT"
TYPE = b"TYPE"
TSMP = b"TSMP"
TIMO = b"TIMO"
EMPT = b"EMPT"
TICK = b"TICK"
TOCK = b"TOCK"
STMP = b"STMP"
ORIN = b"ORIN"
ORIO = b"ORIO"
MTRX = b"MTRX"
GPSU = b"GPSU"
GPSF = b"GPSF"
GPSP = b"GPSP"
GPSA = b"GPSA"
GPS5 = b"GPS5"
GPS9 = b"GPS9"
NULL_KEY = b"\0\0\0\0"

# Keys that describe the data after them rather than being data (spec
# "Property Hierarchy", plus camera-written ones seen in HERO5-13 files).
PROPERTIES = frozenset(
    {DVID, DVNM, STNM, RMRK, SCAL, SIUN, UNIT, TYPE, TSMP, TIMO, EMPT, TICK, TOCK, STMP, ORIN}
    | {ORIO, MTRX, b"TMPC", GPSU, GPSF, GPSP, GPSA, b"PRJT", b"VERS"}
)
# A STRM with more distinct non-property keys than this is a settings block
# (udta/APP6 "Video/Photo Global Settings"), not one stream with its properties.
_MAX_STREAM_EXTRA_KEYS = 2

KLV_HEADER = struct.Struct(">4sBBH")

# Type char -> (struct format, byte size). 'c' strings and '?' are handled apart.
TYPES: dict[str, tuple[str, int]] = {
    "b": ("b", 1),
    "B": ("B", 1),
    "c": ("s", 1),
    "d": ("d", 8),
    "f": ("f", 4),
    "F": ("4s", 4),
    "G": ("16s", 16),
    "j": ("q", 8),
    "J": ("Q", 8),
    "l": ("i", 4),
    "L": ("I", 4),
    "q": ("i", 4),  # Q15.16 fixed point, signed
    "Q": ("q", 8),  # Q31.32 fixed point, signed
    "s": ("h", 2),
    "S": ("H", 2),
    "U": ("16s", 16),  # "yymmddhhmmss.sss"
}
_TEXT = frozenset("cFU")
# Types whose negation stays in range (MTRX may flip an axis).
_SIGNED = frozenset("bsljqQfd")
_FIXED_POINT = {"q": 65536.0, "Q": 4294967296.0}
# A TYPE longer than this is damage: a struct is at most 255 bytes anyway.
_MAX_TYPE_FIELDS = 255
_TYPE_TOKEN = re.compile(r"([A-Za-z?])(?:\[(\d+)\])?")


class Klv(NamedTuple):
    """One KLV: header at ``offset`` (in the buffer it was read from), value after it.

    A NamedTuple rather than a frozen dataclass: a one-hour file has about a
    million KLVs and a tuple is several times cheaper to create.
    """

    key: bytes
    type: int
    struct_size: int
    repeat: int
    offset: int

    @property
    def value_offset(self) -> int:
        return self.offset + 8

    @property
    def size(self) -> int:
        return self.struct_size * self.repeat

    @property
    def end(self) -> int:
        """Where the next KLV starts (the value is padded to 32 bits)."""
        return self.offset + 8 + ((self.size + 3) & ~3)

    @property
    def nested(self) -> bool:
        return self.type == 0

    @property
    def name(self) -> str:
        return self.key.decode("latin-1")


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


def iter_klv(data: bytes, start: int = 0, end: int | None = None) -> Iterator[Klv]:
    """Yield the KLVs of one nesting level between ``start`` and ``end``.

    A zero key followed only by zeros ends the level (udta block padding).

    Raises:
        MalformedError: a KLV runs past ``end``, or bytes are left over.
    """
    stop = len(data) if end is None else min(end, len(data))
    pos = start
    while pos + 8 <= stop:
        key, type_, struct_size, repeat = KLV_HEADER.unpack_from(data, pos)
        if key == NULL_KEY and not data[pos:stop].strip(b"\0"):
            return
        size = struct_size * repeat
        if pos + 8 + size > stop:
            raise MalformedError(f"KLV {key!r} of {size} bytes runs past its parent", offset=pos)
        yield Klv(key, type_, struct_size, repeat, pos)
        pos += 8 + ((size + 3) & ~3)
    if pos < stop and data[pos:stop].strip(b"\0"):
        raise MalformedError("partial KLV header", offset=pos)


def children(data: bytes, klv: Klv) -> Iterator[Klv]:
    """The KLVs nested in ``klv``.

    Raises:
        MalformedError: a child runs past its parent.
    """
    return iter_klv(data, klv.value_offset, klv.value_offset + klv.size)


def is_gpmf(head: bytes) -> bool:
    """Whether ``head`` starts with a structurally valid DEVC KLV.

    Only the part of the DEVC that ``head`` holds is checked: its children
    must be KLVs with printable keys and known type chars, nested ones fitting
    inside their parent.
    """
    if len(head) < 16 or head[:4] != DEVC or head[4] != 0:
        return False
    size = head[5] * int.from_bytes(head[6:8], "big")
    return size >= 8 and _plausible_level(head, 8, 8 + size, depth=0)


def _plausible_level(data: bytes, pos: int, end: int, depth: int) -> bool:
    seen = 0
    while pos + 8 <= min(end, len(data)):
        key, type_, struct_size, repeat = KLV_HEADER.unpack_from(data, pos)
        size = struct_size * repeat
        if not is_fourcc(key) or pos + 8 + size > end:
            return False
        if type_ == 0:
            if depth < 3 and not _plausible_level(data, pos + 8, pos + 8 + size, depth + 1):
                return False
        elif chr(type_) not in TYPES and type_ != ord("?"):
            return False
        seen += 1
        pos += 8 + ((size + 3) & ~3)
    return seen > 0 or pos >= end


def is_fourcc(key: bytes) -> bool:
    """Printable 7-bit FourCC (letters, digits, space), as GPMF keys are."""
    return all(c == 32 or 48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 for c in key)


def parse_type(spec: str) -> str:
    """Expand a TYPE string: ``"f[8]L"`` -> ``"ffffffffL"``.

    Raises:
        MalformedError: an unknown char, a bad array count, or too many fields.
    """
    out: list[str] = []
    pos = 0
    for match in _TYPE_TOKEN.finditer(spec):
        if match.start() != pos or match.group(1) not in TYPES:
            raise MalformedError(f"bad TYPE {spec!r}")
        out.append(match.group(1) * int(match.group(2) or 1))
        pos = match.end()
        if sum(map(len, out)) > _MAX_TYPE_FIELDS:
            raise MalformedError(f"TYPE {spec!r} too long")
    if pos != len(spec) or not out:
        raise MalformedError(f"bad TYPE {spec!r}")
    return "".join(out)


def read_text(data: bytes, klv: Klv) -> str:
    """A 'c' or 'U' value as one string (NULs dropped)."""
    raw = data[klv.value_offset : klv.value_offset + klv.size]
    return raw.split(b"\0", 1)[0].decode("latin-1").strip()


def read_texts(data: bytes, klv: Klv) -> tuple[str, ...]:
    """A 'c' value as ``repeat`` strings of ``struct_size`` chars (UNIT/SIUN lists)."""
    raw = data[klv.value_offset : klv.value_offset + klv.size]
    n = klv.struct_size
    return tuple(
        raw[i : i + n].split(b"\0", 1)[0].decode("latin-1").strip() for i in range(0, len(raw), n)
    )


def read_numbers(data: bytes, klv: Klv) -> tuple[float, ...]:
    """Every number of a simple-typed KLV, flattened (SCAL, GPSP, TSMP, TIMO ...).

    Returns () for text, nested or unknown types, or a size that does not fit the type.
    """
    spec = TYPES.get(chr(klv.type))
    if spec is None or chr(klv.type) in _TEXT or not klv.size:
        return ()
    fmt, width = spec
    if klv.size % width:
        return ()
    count = klv.size // width
    values = struct.unpack_from(f">{count}{fmt}", data, klv.value_offset)
    divisor = _FIXED_POINT.get(chr(klv.type))
    return tuple(v / divisor for v in values) if divisor else values


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


# Sticky properties of one stream: key -> (KLV, buffer holding it).
Props = dict[bytes, tuple[Klv, bytes]]


@dataclass(frozen=True, slots=True)
class StreamBlock:
    """One STRM of one payload: its data KLVs and the properties in force for them.

    ``data`` holds one KLV per time step: usually one, several when the
    stream writes one KLV per frame (FACE, SCEN, HUES: spec "Multi-sample
    and Non-periodic data").
    """

    strm: Klv
    key: bytes
    data: tuple[Klv, ...]
    codec: Codec
    props: Props


def parse_strm(data: bytes, strm: Klv, sticky: dict[bytes, Props]) -> StreamBlock | None:
    """Read one STRM: find its data key, gather the properties that apply to it.

    ``sticky`` holds each stream's properties from earlier payloads of the same
    device (properties are re-sent in every payload, but need not be) and is
    updated. Returns None for a STRM without data (a name only, or a
    settings block: see parse_settings).

    Raises:
        MalformedError: a child KLV runs past the STRM.
    """
    kids = list(children(data, strm))
    extra = list(dict.fromkeys(k.key for k in kids if k.key not in PROPERTIES))
    if not extra or len(extra) > _MAX_STREAM_EXTRA_KEYS + 1:
        return None
    key = extra[-1]
    props: Props = dict(sticky.get(key, {}))
    found: list[Klv] = []
    for kid in kids:
        if kid.key == key:
            found.extend(_data_klvs(data, kid))
        elif not found:
            props[kid.key] = (kid, data)
    sticky[key] = props
    if not found:
        return None
    return StreamBlock(strm, key, tuple(found), make_codec(found[0], props), props)


def _data_klvs(data: bytes, klv: Klv) -> list[Klv]:
    """The data itself: a nested entry (spec TICK/TOCK example) holds it one level down."""
    if not klv.nested:
        return [klv]
    return [k for k in children(data, klv) if k.key == klv.key and not k.nested]


def is_settings(data: bytes, strm: Klv) -> bool:
    """A STRM of many unrelated keys (udta/APP6 global settings), not one stream.

    Raises:
        MalformedError: a child KLV runs past the STRM.
    """
    keys = {k.key for k in children(data, strm) if k.key not in PROPERTIES}
    return len(keys) > _MAX_STREAM_EXTRA_KEYS + 1


def parse_settings(data: bytes, strm: Klv) -> dict[str, Value | tuple[Value, ...]]:
    """Every KLV of a settings STRM (udta/APP6 global settings) as key -> value.

    Raises:
        MalformedError: a child KLV runs past the STRM.
    """
    out: dict[str, Value | tuple[Value, ...]] = {}
    for kid in children(data, strm):
        if not kid.nested:
            out.setdefault(kid.name, read_value(data, kid))
    return out


def read_value(data: bytes, klv: Klv) -> Value | tuple[Value, ...]:
    """A property's value: text, one number, a tuple of numbers, or hex for anything else."""
    type_char = chr(klv.type)
    if type_char in "cU":
        return read_text(data, klv)
    numbers = read_numbers(data, klv)
    if numbers and type_char != "F":
        return numbers[0] if len(numbers) == 1 else numbers
    raw = data[klv.value_offset : klv.value_offset + klv.size]
    if type_char == "F" and klv.size == 4:
        return raw.decode("latin-1")
    return raw.hex()


# Column labels of fixed layouts (spec tables; MAVLink messages for Karma).
KNOWN_LABELS: dict[bytes, tuple[str, ...]] = {
    GPS5: ("lat", "lon", "alt", "speed_2d", "speed_3d"),
    GPS9: ("lat", "lon", "alt", "speed_2d", "speed_3d", "days", "secs", "dop", "fix"),
    b"GPRI": ("time", "lat", "lon", "alt", "eph", "epv", "vel", "cog", "fix_type", "satellites"),
    b"GLPI": ("time", "lat", "lon", "alt", "relative_alt", "vx", "vy", "vz", "heading"),
    b"SYST": ("system_time", "unix_time"),
}
# Axis names when neither ORIN nor the stream name gives them.
DEFAULT_AXES: dict[bytes, tuple[str, ...]] = {
    b"CORI": ("w", "x", "y", "z"),
    b"IORI": ("w", "x", "y", "z"),
    b"GRAV": ("x", "y", "z"),
    b"ACCL": ("x", "y", "z"),
    b"GYRO": ("x", "y", "z"),
    b"MAGN": ("x", "y", "z"),
    b"WRGB": ("r", "g", "b"),
}


def stream_columns(key: bytes, codec: Codec, props: Props) -> tuple[str, ...]:
    """Column names with units, e.g. ``("z (m/s²)", "x (m/s²)", "y (m/s²)")``."""
    n = len(codec.fields) or 1
    labels = _labels(key, n, props, oriented=bool(codec.matrix))
    units = _units(n, props)
    cols = [f"{lab} ({unit})" if unit else lab for lab, unit in zip(labels, units, strict=True)]
    # Keep names unique (a CSV header with twice "x" is ambiguous).
    seen: dict[str, int] = {}
    for i, col in enumerate(cols):
        seen[col] = seen.get(col, 0) + 1
        if seen[col] > 1:
            cols[i] = f"{col} #{seen[col]}"
    return tuple(cols)


def _labels(key: bytes, n: int, props: Props, *, oriented: bool) -> list[str]:
    if n == 1:
        return [key.decode("latin-1").strip() or "value"]
    # After MTRX the axes are the output orientation (ORIO), else the input's
    # (ORIN); upper case is a positive axis, lower case a negative one.
    known = KNOWN_LABELS.get(key)
    if known and len(known) == n:
        return list(known)
    orientation = ORIO if oriented else ORIN
    if orientation in props:
        axes = read_text(props[orientation][1], props[orientation][0])
        if len(axes) == n:
            return [c.lower() if c.isupper() else f"-{c}" for c in axes]
    if STNM in props:
        # HERO5: "Gyroscope (z,x,y)", "Accelerometer (up/down, right/left, forward/back)"
        listed = _listed_names(read_text(props[STNM][1], props[STNM][0]))
        if len(listed) == n:
            return listed
    axes_default = DEFAULT_AXES.get(key)
    if axes_default and len(axes_default) == n:
        return list(axes_default)
    return [f"v{i}" for i in range(n)]


def _listed_names(name: str) -> list[str]:
    """ "Gyroscope (z,x,y)" -> ["z", "x", "y"]; "(up/down, right/left)" -> two names."""
    match = re.search(r"[(\[]([^()\[\]]+)[)\]]\s*$", name)
    return [p.strip() for p in match.group(1).split(",")] if match else []


def _units(n: int, props: Props) -> list[str]:
    for key in (SIUN, UNIT):
        if key in props:
            klv, buf = props[key]
            units = read_texts(buf, klv) if klv.repeat > 1 else (read_text(buf, klv),)
            if len(units) == n:
                return list(units)
            if len(units) == 1:
                return [units[0]] * n
    return [""] * n


# GPSU is "yymmddhhmmss.sss" (UTC). Firmware bugs write garbage such as
# "5509100082240400" (gpmf-parser #162); years before the first GPS GoPro
# (HERO5, 2016) mean "no time yet".
_GPSU = re.compile(rb"^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)\.(\d{1,6})$")
MIN_GPS_YEAR = 2015
MAX_GPS_YEAR = 2099


def parse_gpsu(raw: bytes) -> float | None:
    """A GPSU value as POSIX seconds, or None when it is not a plausible time."""
    import calendar

    match = _GPSU.match(raw.split(b"\0", 1)[0].strip())
    if match is None:
        return None
    yy, mo, dd, hh, mi, ss = (int(g) for g in match.groups()[:6])
    year = 2000 + yy
    if not (MIN_GPS_YEAR <= year <= MAX_GPS_YEAR and 1 <= mo <= 12 and 1 <= dd <= 31):
        return None
    if hh > 23 or mi > 59 or ss > 60 or dd > calendar.monthrange(year, mo)[1]:
        return None
    fraction = float(b"0." + match.group(7))
    return calendar.timegm((year, mo, dd, hh, mi, ss, 0, 0, 0)) + fraction
