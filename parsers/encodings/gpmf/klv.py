"""GPMF KLV structure: keys, type chars, walking a KLV tree and reading simple values.

GPMF is a big-endian Key-Length-Value tree, 32-bit aligned: a FourCC key, a
type char, an 8-bit struct size and a 16-bit repeat; the value holds
``struct_size * repeat`` bytes, padded to a multiple of four. Type 0 nests
further KLVs (DEVC devices holding STRM streams).

References: the GPMF spec (gopro/gpmf-parser README, ``docs/README.md``;
local copy in shared/seeds/gpmf-format-readme.txt), gpmf-parser's
``GPMF_parser.c`` (type sizes, sanity checks), gopro-telemetry's
``parseKLV.js``/``parseV.js``.

Quirks handled:
- unknown keys and unknown type chars are kept as raw hex, never errors
  (gpmf-parser: "an unknown type is potentially valid data");
- text is Latin-1: GoPro writes '²' and 'µ' in SIUN as the single bytes
  0xB2 and 0xB5 (spec, "Special ASCII characters");
- a zero key pads the end of the udta GPMF block (HERO7 ``mp4header``).
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Callable, Iterator
from typing import NamedTuple

from telemetryfs.parsers.errors import MalformedError
from telemetryfs.parsers.model import Value

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


# NamedTuple's __new__ is a Python function around this: an hour's walk makes
# ~86,000 KLVs even GPS-only, and the extra call was ~5% of it.
_new_klv: Callable[[type[Klv], tuple[bytes, int, int, int, int]], Klv] = tuple.__new__


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
        yield _new_klv(Klv, (key, type_, struct_size, repeat, pos))
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
    how = _numbers(klv.type, klv.struct_size * klv.repeat)
    if how is None:
        return ()
    layout, divisor = how
    values = layout.unpack_from(data, klv.offset + 8)
    return tuple(v / divisor for v in values) if divisor else values


@functools.lru_cache(maxsize=1024)
def _numbers(type_: int, size: int) -> tuple[struct.Struct, float | None] | None:
    """How read_numbers unpacks a value of this type and size (None: not numbers).
    Once per kind of KLV: an hour's walk reads ~11,000 of a few kinds."""
    spec = TYPES.get(chr(type_))
    if spec is None or chr(type_) in _TEXT or not size:
        return None
    fmt, width = spec
    if size % width:
        return None
    return struct.Struct(f">{size // width}{fmt}"), _FIXED_POINT.get(chr(type_))


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
