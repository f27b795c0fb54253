"""GPMF (GoPro Metadata Format): streams (STRM), settings, column names and GPSU time.

GPMF is a big-endian Key-Length-Value tree, 32-bit aligned: a FourCC key, a
type char, an 8-bit struct size and a 16-bit repeat; the value holds
``struct_size * repeat`` bytes, padded to a multiple of four. Type 0 nests
further KLVs (DEVC devices holding STRM streams). Within a nest, properties
are "sticky" and apply to the data that follows them: SCAL (divisor, one per
column or one for all), TYPE (the layout of '?' structures, arrays such as
``f[8]``), SIUN/UNIT, STNM, ORIN, TIMO, TSMP, EMPT, TICK/TOCK.

This module reads one STRM (its data KLVs and the properties in force for
them), the settings STRMs, a stream's column names and GPSU times. It
re-exports the rest, so ``from telemetryfs.parsers import gpmf`` is the
whole GPMF API:
- klv.py: keys, type chars, KLV walking (iter_klv, children, is_gpmf)
  and simple values (read_text, read_numbers, read_value);
- codec.py: Codec, make_codec, decode_chunk, raw_rows (scaled decoding).

References: the GPMF spec (gopro/gpmf-parser README, ``docs/README.md``;
local copy in shared/seeds/gpmf-format-readme.txt), gpmf-parser's
``GPMF_parser.c`` (type sizes, sanity checks), exiftool's ``GoPro.pm``
(cyclic SCAL), gopro-telemetry's ``parseKLV.js``/``parseV.js``.

Quirks handled here:
- the udta/APP6 "global settings" STRMs hold dozens of unrelated keys: they
  are reported as settings, not as a stream;
- GPSU garbage written by firmware bugs, and years before the first GPS
  GoPro, are not times (parse_gpsu returns None).
"""

from __future__ import annotations

import calendar
import functools
import logging
import re
from dataclasses import dataclass

from telemetryfs.parsers.encodings.gpmf.codec import (
    Codec,
    Converter,
    decode_chunk,
    make_codec,
    raw_dtype,
    raw_row_size,
    raw_rows,
)
from telemetryfs.parsers.encodings.gpmf.klv import (
    DEVC,
    DVID,
    DVNM,
    EMPT,
    GPS5,
    GPS9,
    GPSA,
    GPSF,
    GPSP,
    GPSU,
    KLV_HEADER,
    MTRX,
    NULL_KEY,
    ORIN,
    ORIO,
    RMRK,
    SCAL,
    SIUN,
    STMP,
    STNM,
    STRM,
    TICK,
    TIMO,
    TOCK,
    TSMP,
    TYPE,
    TYPES,
    UNIT,
    Klv,
    children,
    is_fourcc,
    is_gpmf,
    iter_klv,
    parse_type,
    read_numbers,
    read_text,
    read_texts,
    read_value,
)
from telemetryfs.parsers.model import Value

__all__ = [
    "DEFAULT_AXES",
    "DEVC",
    "DVID",
    "DVNM",
    "EMPT",
    "GPS5",
    "GPS9",
    "GPSA",
    "GPSF",
    "GPSP",
    "GPSU",
    "KLV_HEADER",
    "KNOWN_LABELS",
    "MAX_GPS_YEAR",
    "MIN_GPS_YEAR",
    "MTRX",
    "NULL_KEY",
    "ORIN",
    "ORIO",
    "PROPERTIES",
    "RMRK",
    "SCAL",
    "SIUN",
    "STMP",
    "STNM",
    "STRM",
    "TICK",
    "TIMO",
    "TOCK",
    "TSMP",
    "TYPE",
    "TYPES",
    "UNIT",
    "Codec",
    "Converter",
    "Klv",
    "Props",
    "StreamBlock",
    "children",
    "decode_chunk",
    "is_fourcc",
    "is_gpmf",
    "is_settings",
    "iter_klv",
    "make_codec",
    "parse_gpsu",
    "parse_settings",
    "parse_strm",
    "parse_type",
    "raw_dtype",
    "raw_row_size",
    "raw_rows",
    "read_numbers",
    "read_text",
    "read_texts",
    "read_value",
    "stream_columns",
]

log = logging.getLogger(__name__)


# Keys that describe the data after them rather than being data (spec
# "Property Hierarchy", plus camera-written ones seen in HERO5-13 files).
PROPERTIES = frozenset(
    {DVID, DVNM, STNM, RMRK, SCAL, SIUN, UNIT, TYPE, TSMP, TIMO, EMPT, TICK, TOCK, STMP, ORIN}
    | {ORIO, MTRX, b"TMPC", GPSU, GPSF, GPSP, GPSA, b"PRJT", b"VERS"}
)
# A STRM with more distinct non-property keys than this is a settings block
# (udta/APP6 "Video/Photo Global Settings"), not one stream with its properties.
_MAX_STREAM_EXTRA_KEYS = 2


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
    match = _GPSU.match(raw.split(b"\0", 1)[0].strip())
    if match is None:
        return None
    yymmdd, hh, mi, ss = match.group(1, 2, 3), int(match[4]), int(match[5]), int(match[6])
    day = _day_start(*yymmdd)
    if day is None or hh > 23 or mi > 59 or ss > 60:
        return None
    fraction = float(b"0." + match.group(7))
    return day + hh * 3600 + mi * 60 + ss + fraction


@functools.lru_cache(maxsize=64)
def _day_start(yy: bytes, mo: bytes, dd: bytes) -> int | None:
    """POSIX seconds at the start of a GPSU date; None when not a plausible date.

    Once per date rather than once per payload: a tenth of an hour's GPSU parsing.
    """
    year, month, day = 2000 + int(yy), int(mo), int(dd)
    if not (MIN_GPS_YEAR <= year <= MAX_GPS_YEAR and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    if day > calendar.monthrange(year, month)[1]:
        return None
    return calendar.timegm((year, month, day, 0, 0, 0, 0, 0, 0))
