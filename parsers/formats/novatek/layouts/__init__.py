"""freeGPS blocks: which layout a block uses, told from its bytes, and the Novatek record.

A freeGPS block is a ``free`` box that starts ``[size]free GPS `` (the 4
bytes after ``GPS `` vary: 0x4c, 0x3f0, ...). What follows depends on the
firmware. :func:`decode_block` tries the layouts in an order where each
signature cannot be mistaken for a later one, and reads:

- status ``A``/``V`` and hemisphere letters at fixed places,
- dates and times that are dates and times,
- values in plausible ranges,

never the file name. The layouts and their signatures come from the real
device blocks in ``shared/samples/novatek-blocks`` (with their documented
values) and from ExifTool's QuickTimeStream.pl (ProcessFreeGPS/2).

This module holds the Novatek record family: hour, minute, second, year,
month, day as six little-endian u32, then status, N/S, E/W, one spare byte,
then f32 latitude and longitude (DDDmm.mmmm), speed (knots) and course. Where
it starts varies by firmware (sergei.nz readers: "offset 16 vs 48"):

- 48: the original Novatek layout (Viofo A119S, 2E Drive, SilverStone A80);
- 16: Viofo A119 V3 / A119 Mini 2, E-ACE B44 (+ accelerometer at 0x3c);
- 64: Kenwood DRV-A510W (model string and ``::start@`` first); a four-digit
  year there marks local time, per ExifTool;
- 0: Kingslim D4 ``gpmd`` chunks, whose coordinates are enciphered.

Variants of the same record: IQS firmware (degrees x 1e7, m/s x 100),
Transcend DrivePro (already degrees and km/h; f64 copies at 0x70/0x80),
Rexing V1 (scaled coordinates, see :func:`rexing`), E-ACE B44 (coordinates as
base64 of RC4 text, key ``luckychip gps``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
import math
import re
import struct
from collections.abc import Callable

from telemetryfs.parsers.formats._dashcam import ligo
from telemetryfs.parsers.formats._dashcam.decoded import Decoded
from telemetryfs.parsers.formats.novatek.layouts.binary import (
    decode_70mai_a810,
    decode_akaso,
    decode_akaso_v1,
    decode_atc,
    decode_doubles,
    decode_innovv,
    decode_nextbase_be,
    decode_vantrue_n4,
    decode_vantrue_s1,
    decode_xbht,
)
from telemetryfs.parsers.formats.novatek.layouts.textual import (
    decode_any_nmea,
    decode_camera_nmea,
    decode_shifted_nmea,
    decode_text_line,
    decode_xor_text,
)
from telemetryfs.parsers.model import Value
from telemetryfs.parsers.records import KMH, KNOTS, Record, ddmm, field_text, posix

log = logging.getLogger(__name__)

_U32X6 = struct.Struct("<6I")
_F32X4 = struct.Struct("<4f")
_I32X3 = struct.Struct("<3i")

# Rexing V1-4K scaling (ExifTool, after sergei.nz's "deobfuscate" option).
_REXING_LAT = (187.982162849635, 3.0)
_REXING_LON = (2199.19873715495, 2.0)
_LUCKYCHIP_KEY = b"luckychip gps"  # E-ACE B44 (ExifTool comments)


def u32s(data: bytes, offset: int, count: int) -> tuple[int, ...] | None:
    """``count`` little-endian u32 at ``offset``, or None past the end."""
    if offset < 0 or offset + 4 * count > len(data):
        return None
    return struct.unpack_from(f"<{count}I", data, offset)


def f32(data: bytes, offset: int) -> float | None:
    if offset < 0 or offset + 4 > len(data):
        return None
    return float(struct.unpack_from("<f", data, offset)[0])


def f64(data: bytes, offset: int) -> float | None:
    if offset < 0 or offset + 8 > len(data):
        return None
    return float(struct.unpack_from("<d", data, offset)[0])


def finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _plausible_clock(h: int, m: int, s: int, y: int, mo: int, d: int) -> bool:
    """Time fields that can be a clock reading (all zero allowed: no time yet)."""
    return h < 24 and m < 60 and s < 61 and mo <= 12 and d <= 31 and (y < 100 or 1990 <= y <= 2200)


def find_record(block: bytes, positions: tuple[int, ...] = (48, 16, 64)) -> int | None:
    """Where the Novatek record starts in a block, judged from its bytes.

    The status byte must be ``A`` or ``V``; with ``A`` the hemisphere bytes must
    be letters; the six fields before it must read as a clock.
    """
    for p in positions:
        fields = u32s(block, p, 6)
        if fields is None or len(block) < p + 28:
            continue
        status, ns, ew = block[p + 24 : p + 27]
        if status == ord("A") and (ns not in b"NS" or ew not in b"EW"):
            continue
        if status not in b"AV" or not _plausible_clock(*fields):
            continue
        if status == ord("A") and fields[4] == 0:
            continue  # a fix without a date is not this layout
        return p
    return None


def rexing(lat_raw: float, lon_raw: float) -> tuple[float, float]:
    """Rexing V1-4K coordinates: scaled decimal degrees, unscaled (magnitudes)."""
    return (lat_raw - _REXING_LAT[0]) / _REXING_LAT[1], (lon_raw - _REXING_LON[0]) / _REXING_LON[1]


def _rc4(key: bytes, data: bytes) -> bytes:
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) & 0xFF
        state[i], state[j] = state[j], state[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) & 0xFF
        j = (j + state[i]) & 0xFF
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) & 0xFF])
    return bytes(out)


def luckychip(field: bytes) -> float | None:
    """An E-ACE B44 coordinate: base64 text, RC4 with the ``luckychip gps`` key, DDMM text."""
    try:
        plain = _rc4(_LUCKYCHIP_KEY, base64.b64decode(field.split(b"\0", 1)[0], validate=True))
        return float(plain.decode("ascii"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def _is_base64(field: bytes) -> bool:
    return (
        len(field) == 16
        and field.endswith(b"=")
        and all(
            c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=" for c in field
        )
    )


def novatek_record(block: bytes, p: int, base: int, *, scaled: bool | None = None) -> Record:
    """Decode the Novatek record that starts at ``p``.

    Args:
        block: the block bytes (box header first).
        p: where the record starts (see :func:`find_record`).
        base: file offset of the block.
        scaled: Rexing scaling: True, False, or None to decide from the values
            (minutes of 60 or more cannot be DDMM).
    """
    h, m, s, y, mo, d = _U32X6.unpack_from(block, p)
    status, ns, ew = (chr(c) for c in block[p + 24 : p + 27])
    extra: list[tuple[str, Value]] = [("status", status), ("lat_ref", ns), ("lon_ref", ew)]
    extra.append(("year_raw", y))
    utc = posix(y, mo, d, h, m, s)
    lat, lon, speed, course, doubt = _coordinates(block, p, ns, ew, status == "A", scaled, extra)
    if status != "A" and not lat and not lon:
        # Zeros before the first fix are not a position, speed or course
        # (the raw values stay in their columns).
        lat = lon = speed = course = None
    if p == 64 and y >= 2000:
        extra.append(("clock", "local (four-digit year)"))
    if p == 0:
        doubt = doubt or "coordinates enciphered (Kingslim-style record; cipher unknown)"
        lat = lon = None  # the raw values stay in the lat_raw/lon_raw columns
    extra.extend(_accelerometer(block, p))
    return Record(
        utc=utc,
        status=status if status in ("A", "V") else "V",
        lat=lat,
        lon=lon,
        speed=speed,
        course=course,
        ele=_transcend_altitude(block, p),
        offset=base + p,
        extra=tuple(extra),
        doubt=doubt,
    )


_Fix = tuple[float | None, float | None, float | None, float | None, str | None]


def _coordinates(
    block: bytes,
    p: int,
    ns: str,
    ew: str,
    fixed: bool,
    scaled: bool | None,
    extra: list[tuple[str, Value]],
) -> _Fix:
    """lat, lon, speed (m/s), course and a doubt, for the variants of the record."""
    q = p + 28
    if len(block) < q + 16:
        return None, None, None, None, None
    if block[16:19] == b"IQS" and p == 48:
        return _iqs(block, q, ns, ew, extra)
    if p == 16 and _is_base64(block[q : q + 16]):
        return _luckychip_fix(block, q, ns, ew, extra)
    lat_raw, lon_raw, speed_raw, course = _F32X4.unpack_from(block, q)
    extra += [("lat_raw", lat_raw), ("lon_raw", lon_raw)]
    if block[:4] == b"\0\0\x40\0" and p == 48 and abs(lat_raw) <= 90 and abs(lon_raw) <= 180:
        # Transcend Drive Body Camera 70: degrees and km/h already (ExifTool).
        extra.append(("speed_kmh", speed_raw))
        degrees = _signed(lat_raw, ns), _signed(lon_raw, ew)
        return degrees[0], degrees[1], speed_raw * KMH, finite(course), None
    extra.append(("speed_knots", speed_raw))
    lat, lon = ddmm(lat_raw, ns), ddmm(lon_raw, ew)
    use_rexing = scaled if scaled is not None else (lat is None or lon is None)
    if use_rexing and fixed:
        lat, lon = (_signed(v, r) for v, r in zip(rexing(lat_raw, lon_raw), (ns, ew), strict=True))
        extra.append(("deobfuscated", "rexing"))
    lat, lon = _transcend_doubles(block, lat, lon, lat_raw, lon_raw, ns, ew)
    return finite(lat), finite(lon), speed_raw * KNOTS, finite(course), None


def _signed(value: float, ref: str) -> float:
    return -abs(value) if ref in ("S", "W") else abs(value)


def _iqs(block: bytes, q: int, ns: str, ew: str, extra: list[tuple[str, Value]]) -> _Fix:
    """IQS firmware: degrees x 1e7, speed m/s x 100, f32 altitude x 1000 (ExifTool type 3b)."""
    lat_i, lon_i, speed_i = struct.unpack_from("<3i", block, q)
    extra += [("lat_raw", lat_i), ("lon_raw", lon_i), ("speed_raw_cm_s", speed_i)]
    return _signed(lat_i / 1e7, ns), _signed(lon_i / 1e7, ew), speed_i / 100.0, None, None


def _luckychip_fix(block: bytes, q: int, ns: str, ew: str, extra: list[tuple[str, Value]]) -> _Fix:
    lat_raw, lon_raw = luckychip(block[q : q + 16]), luckychip(block[q + 20 : q + 36])
    extra += [("lat_raw", lat_raw), ("lon_raw", lon_raw), ("cipher", "luckychip")]
    speed, course = f32(block, q + 40), f32(block, q + 44)
    extra.append(("speed_knots", speed))
    return (
        ddmm(lat_raw, ns),
        ddmm(lon_raw, ew),
        None if speed is None else speed * KNOTS,
        finite(course),
        None if lat_raw is not None and lon_raw is not None else "coordinates did not decipher",
    )


def _transcend_doubles(
    block: bytes,
    lat: float | None,
    lon: float | None,
    lat_raw: float,
    lon_raw: float,
    ns: str,
    ew: str,
) -> tuple[float | None, float | None]:
    """Transcend DrivePro 230 also stores f64 copies at 0x70/0x80: more precise when they agree."""
    lat2, lon2 = f64(block, 0x70), f64(block, 0x80)
    if lat2 is None or lon2 is None or lat is None or lon is None:
        return lat, lon
    if abs(lat2 - lat_raw) < 0.001 and abs(lon2 - lon_raw) < 0.001:
        return ddmm(lat2, ns), ddmm(lon2, ew)
    return lat, lon


def _transcend_altitude(block: bytes, p: int) -> float | None:
    if p != 48:
        return None
    lat_raw, lat2, alt = f32(block, 0x4C), f64(block, 0x70), f64(block, 0xA0)
    if lat_raw is None or lat2 is None or alt is None or abs(lat2 - lat_raw) >= 0.001:
        return None
    return finite(alt) if lat2 else None


def _accelerometer(block: bytes, p: int) -> list[tuple[str, Value]]:
    """Three int32 after the record (A119 V3, Kenwood); zeros or 1..6 mean none (ExifTool).

    The E-ACE B44 puts its base64 coordinates there and the accelerometer at 0x5c.
    """
    q = p + 44
    if p == 16 and _is_base64(block[p + 28 : p + 44]):
        q = 0x5C
    if p not in (16, 64) or len(block) < q + 12:
        return []
    raw = block[q : q + 12]
    if raw == b"\0" * 12 or raw == b"\x01\0\x02\0\x03\0\x04\0\x05\0\x06\0":
        return []
    x, y, z = _I32X3.unpack(raw)
    return [("accel_x", x), ("accel_y", y), ("accel_z", z)]


def _novatek(block: bytes, base: int, scaled: bool | None) -> Decoded | None:
    p = find_record(block)
    if p is None:
        return None
    layout = {48: "novatek", 16: "novatek-16", 64: "novatek-64"}[p]
    if block[16:19] == b"IQS" and p == 48:
        layout = "novatek-iqs"
    record = novatek_record(block, p, base, scaled=scaled)
    return Decoded(layout, (record,))


def _kingslim(block: bytes, base: int, scaled: bool | None) -> Decoded | None:
    """A 'gpmd' chunk that starts with the record (no box header): Kingslim D4.

    Its own coordinates are enciphered; the LIGOGPSINFO record after it has
    the position, when it deciphers.
    """
    if block[4:12] == b"freeGPS " or find_record(block, (0,)) != 0:
        return None
    found = ligo.decode_block(block, base)
    if found is not None and found.records:
        return found
    return Decoded("novatek-0", (novatek_record(block, 0, base, scaled=False),))


Layout = Callable[[bytes, int, bool | None], Decoded | None]

# The order matters: a signature must not match a block that a later layout owns.
LAYOUTS: tuple[Layout, ...] = (
    _kingslim,
    ligo.decode_block,
    decode_xor_text,
    decode_camera_nmea,
    decode_shifted_nmea,
    decode_text_line,
    decode_atc,
    decode_akaso_v1,
    decode_akaso,
    decode_doubles,
    decode_vantrue_s1,
    decode_vantrue_n4,
    decode_innovv,
    decode_xbht,
    decode_70mai_a810,
    decode_nextbase_be,
    _novatek,
    decode_any_nmea,
)


def decode_block(block: bytes, base: int = 0, *, scaled: bool | None = None) -> Decoded | None:
    """The layout and records of one GPS block, or None when no layout fits.

    Args:
        block: the block's bytes, box header first (``GPS `` at offset 8).
        base: its offset in the file, for record offsets.
        scaled: Rexing scaling for the Novatek record (None: decide per record).
    """
    for layout in LAYOUTS:
        decoded = layout(block, base, scaled)
        if decoded is not None:
            vendor = vendor_string(block)
            return dataclasses.replace(decoded, vendor=vendor) if vendor else decoded
    return None


# Header strings that are firmware dates or placeholders, not names.
_NOT_NAMES = re.compile(r"^(x\.xx|0+|[0-9.]+[A-Z]?|[A-Z][a-z]{2} +\d.*)$")


def _is_name(raw: str) -> bool:
    if len(raw) < 4 or not raw.isascii() or _NOT_NAMES.match(raw):
        return False
    return raw.replace("_", "").isalnum() and not raw.startswith(("LIGOGPSINFO", "IQS"))


def vendor_string(block: bytes) -> str | None:
    """A model or vendor string at 0x10 or 0x30 (``MN:DRV-A510W@...``, ``YndAkasoCar``, ``horsontech``)."""
    if block[4:12] != b"freeGPS ":
        return None
    for at in (0x10, 0x30):
        raw = field_text(block[at : at + 32])
        if raw.startswith("MN:"):
            return raw[3:].split("@", 1)[0] or None
        if _is_name(raw):
            return raw
    return None


def describe(block: bytes) -> str:
    """A short label for an unknown block, for warnings (the text after ``GPS ``)."""
    return field_text(block[16:32]) or block[12:16].hex()
