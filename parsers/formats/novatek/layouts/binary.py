"""freeGPS block layouts beyond the Novatek record: other firmware families.

Each ``decode_*`` takes a block (box header first, ``GPS `` at 8) and returns
None unless the block's bytes carry its signature. Offsets and scalings come
from the real device blocks in ``shared/samples/novatek-blocks`` and from
ExifTool's QuickTimeStream.pl, whose type names are given for reference:

- ATC ring buffer (2A): 52-byte XOR-enciphered records from 0x30, ``ATC`` at
  record offset 0x15; the whole ring (about 30 entries) is stored in every
  block, so records repeat across blocks (see ``Decoded.ring``).
- Akaso V1 / Redtiger F7N (1G): Novatek times at 0x30, ``A`` at 0x48, f64
  coordinates at 0x50/0x58 in an unknown cipher: times, speed and course only.
- Akaso (1E) and "Anticlock" (2E): status u32 at 0x3c, f32 latitude and u32
  N/S at 0x40/0x44, longitude at 0x48/0x4c, speed (reported as km/h), course
  (+180 on the ``x.xx`` firmware, as ExifTool does), date at 0x58.
- Double-precision type 2 (2B): f64 DDMM coordinates and knots.
- Vantrue S1 (1I): status at 0x40, date then time, f32 lon before lat.
- Vantrue N4 (2G): f64 coordinates; an RMC copy follows (not needed).
- INNOVV (2F): 32-byte records ``A N E 0`` + f32 lat, lon, knots, course +
  int32 x3, no times.
- XBHT XB702: 36-byte records, byte date and time with tenths, u32 DDMM x 1e4.
- 70mai A810: ``A`` at 0x1e, int32 DDMM x 1e5 at 0x1f/0x23, no hemisphere
  and no time.
- Nextbase 512G (2H): 32-byte big-endian ``$S`` records, degrees x 1e7.
"""

from __future__ import annotations

import logging
import re
import struct

from telemetryfs.parsers.formats._dashcam.decoded import Decoded
from telemetryfs.parsers.model import Value
from telemetryfs.parsers.records import KMH, KNOTS, Record, ddmm, posix

log = logging.getLogger(__name__)

_ATC_RECORD = 52
_XBHT_RECORD = 36
_NEXTBASE = struct.Struct(">HhHBBBBHBii")  # speed, heading, year, mo, d, h, mi, s*10, ?, lat, lon


def _decoded(
    layout: str, records: list[Record], note: str | None = None, *, ring: bool = False
) -> Decoded:

    return Decoded(layout, tuple(records), note, ring)


def _u32(block: bytes, offset: int, count: int = 1) -> tuple[int, ...]:
    return struct.unpack_from(f"<{count}I", block, offset)


def _f32(block: bytes, offset: int) -> float:
    return float(struct.unpack_from("<f", block, offset)[0])


def _f64(block: bytes, offset: int) -> float:
    return float(struct.unpack_from("<d", block, offset)[0])


def _accel(values: tuple[int, ...]) -> list[tuple[str, Value]]:
    signed = [v - (1 << 32) if v >= 1 << 31 else v for v in values]
    return [("accel_x", signed[0]), ("accel_y", signed[1]), ("accel_z", signed[2])]


def _course(value: float) -> float:
    return value % 360.0


def decode_atc(block: bytes, base: int, scaled: bool | None = None) -> Decoded | None:
    """ATC ring buffer: every plausible record of the block (repeats are removed later)."""
    if block[0x45:0x48] != b"ATC":
        return None
    records = []
    for pos in range(0x30, len(block) - _ATC_RECORD + 1, _ATC_RECORD):
        record = _atc_record(block[pos : pos + _ATC_RECORD], base + pos)
        if record is not None:
            records.append(record)
    return _decoded("atc", records, None if records else "no ATC record", ring=True)


def atc_decipher(raw: bytes) -> bytes:
    """Undo the ATC record XOR: key bytes at 0x14 and 0x1c (ExifTool)."""
    a = bytearray(raw)
    k1, k2 = a[0x14], a[0x1C]
    for i in (*range(0x00, 0x15), *range(0x18, 0x1C)):
        a[i] ^= k1
    for i in (0x1C, *range(0x20, 0x33)):
        a[i] ^= k2
    return bytes(a)


def _atc_record(raw: bytes, offset: int) -> Record | None:
    b = atc_decipher(raw)
    if b[0x15:0x18] != b"ATC":
        return None
    hour, minute, second = (b[0x0D] + 1) & 0xFF, b[0x0E], b[0x0F]  # the hour is stored minus 1
    (year,) = struct.unpack_from("<H", b, 0x2C)
    utc = posix(year, b[0x2E], b[0x2F], hour, minute, second)
    if utc is None:
        return None
    (lat,), (lon,), (speed,) = (struct.unpack_from("<i", b, at) for at in (0x10, 0x18, 0x20))
    (heading,) = struct.unpack_from("<h", b, 0x24)
    (alt,) = struct.unpack_from("<i", b, 0x28)
    return Record(
        utc=utc,
        lat=lat / 1e7,
        lon=lon / 1e7,
        speed=speed / 100.0,
        course=_course(heading / 100.0),
        ele=alt / 1000.0,
        offset=offset,
        extra=(("gps_status_byte", b[0x0C]), ("index", b[2])),
    )


def decode_akaso_v1(block: bytes, base: int, scaled: bool | None = None) -> Decoded | None:
    """Akaso V1 / Redtiger F7N: Novatek times, enciphered f64 coordinates.

    Told from a Novatek record with a zero f32 latitude by the 16-character
    serial at 0x68 and the four capitals at 0x78 (YNDS, YSKJ).
    """
    if len(block) < 0x7C or block[0x48] != ord("A") or block[0x4B:0x50] != b"\0" * 5:
        return None
    if not (
        block[0x68:0x78].isalnum() and block[0x78:0x7C].isalpha() and block[0x78:0x7C].isupper()
    ):
        return None
    if block[0x49] not in b"NS" or block[0x4A] not in b"EW":
        return None
    h, m, s, y, mo, d = _u32(block, 0x30, 6)
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    speed, track = _f32(block, 0x60), _f32(block, 0x64)
    extra: list[tuple[str, Value]] = [
        ("status", "A"),
        ("lat_ref", chr(block[0x49])),
        ("lon_ref", chr(block[0x4A])),
        ("lat_enciphered", _f64(block, 0x50)),
        ("lon_enciphered", _f64(block, 0x58)),
        ("speed_raw", speed),
        ("track_raw", track),
        ("year_raw", y),
    ]
    record = Record(
        utc=posix(y, mo, d, h, m, s),
        status="A",
        speed=speed * KMH,
        course=_course(track + 180.0),  # ExifTool adds 180 degrees here ("why?")
        offset=base + 0x30,
        extra=tuple(extra),
        doubt="coordinates enciphered (Akaso V1 / Redtiger F7N cipher unknown)",
    )
    return _decoded("akaso-v1", [record])


def decode_akaso(block: bytes, base: int, scaled: bool | None = None) -> Decoded | None:
    """Akaso and "Anticlock" cameras: u32 status and hemispheres beside f32 values."""
    if len(block) < 0x70 or block[60] not in b"AV" or block[61] != 0:
        return None
    ns, ew = chr(block[68]), chr(block[76])
    if block[69] != 0 or block[77] != 0 or ns not in "NS" or ew not in "EW":
        return None
    h, m, s = _u32(block, 0x30, 3)
    y, mo, d = _u32(block, 0x58, 3)
    lat_raw, lon_raw = _f32(block, 0x40), _f32(block, 0x48)
    speed, track = _f32(block, 0x50), _f32(block, 0x54)
    x_xx = block[16:20] == b"x.xx"
    extra: list[tuple[str, Value]] = [
        ("status", chr(block[60])),
        ("lat_ref", ns),
        ("lon_ref", ew),
        ("lat_raw", lat_raw),
        ("lon_raw", lon_raw),
        ("speed_raw", speed),
        ("track_raw", track),
    ]
    if not x_xx and len(block) >= 0x70:
        extra += _accel(_u32(block, 0x64, 3))
    record = Record(
        utc=posix(y, mo, d, h, m, s),
        status=chr(block[60]),
        lat=ddmm(lat_raw, ns),
        lon=ddmm(lon_raw, ew),
        speed=speed * KMH,  # no knots conversion for this layout (ExifTool: km/h)
        course=_course(track + 180.0) if x_xx else _course(track),
        offset=base + 0x30,
        extra=tuple(extra),
    )
    return _decoded("akaso" if x_xx else "akaso-2e", [record])


def decode_doubles(block: bytes, base: int, scaled: bool | None = None) -> Decoded | None:
    """Type 2: f64 DDMM coordinates and knots, u32 status/hemispheres, int32 x 1000 accel."""
    if len(block) < 0x88 or block[60] not in b"AV" or block[61] != 0:
        return None
    ns, ew = chr(block[72]), chr(block[88])
    if block[73] != 0 or block[89] != 0 or ns not in "NS" or ew not in "EW":
        return None
    h, m, s = _u32(block, 0x30, 3)
    y, mo, d = _u32(block, 0x70, 3)
    knots, track = _f64(block, 0x60), _f64(block, 0x68)
    extra: list[tuple[str, Value]] = [("status", chr(block[60])), ("speed_knots", knots)]
    extra += _accel(_u32(block, 0x7C, 3))
    record = Record(
        utc=posix(y, mo, d, h, m, s),
        status=chr(block[60]),
        lat=ddmm(_f64(block, 0x40), ns),
        lon=ddmm(_f64(block, 0x50), ew),
        speed=knots * KNOTS,
        course=_course(track),
        offset=base + 0x30,
        extra=tuple(extra),
    )
    return _decoded("doubles", [record])


def decode_vantrue_s1(block: bytes, base: int, scaled: bool | None = None) -> Decoded | None:
    """Vantrue S1: status at 0x40, date then time, f32 lon before lat, altitude."""
    if len(block) < 0x7C or block[0x40] != ord("A") or block[0x43] != 0:
        return None
    ns, ew = chr(block[0x41]), chr(block[0x42])
    y, mo, d, h, m, s = _u32(block, 0x44, 6)
    if ns not in "NS" or ew not in "EW" or not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    lon_raw, lat_raw = _f32(block, 0x5C), _f32(block, 0x60)
    knots, track, alt = _f32(block, 0x64), _f32(block, 0x68), _f32(block, 0x6C)
    extra: list[tuple[str, Value]] = [("status", "A"), ("lat_raw", lat_raw), ("lon_raw", lon_raw)]
    extra += [("speed_knots", knots), *_accel(_u32(block, 0x70, 3))]
    record = Record(
        utc=posix(y, mo, d, h, m, s),
        status="A",
        lat=ddmm(lat_raw, ns),
        lon=ddmm(lon_raw, ew),
        speed=knots * KNOTS,
        course=_course(track),
        ele=alt,
        offset=base + 0x40,
        extra=tuple(extra),
    )
    return _decoded("vantrue-s1", [record])


def decode_vantrue_n4(block: bytes, base: int, scaled: bool | None = None) -> Decoded | None:
    """Vantrue N4: u32 status at 0x1c, f64 DDMM coordinates, knots, course."""
    if len(block) < 0x68 or block[28] not in b"AV" or block[29:32] != b"\0\0\0":
        return None
    ns, ew = chr(block[40]), chr(block[56])
    if ns not in "NS" or ew not in "EW":
        return None
    h, m, s = _u32(block, 0x10, 3)
    y, mo, d = _u32(block, 0x50, 3)
    knots, track = _f64(block, 64), _f64(block, 72)
    extra: list[tuple[str, Value]] = [("status", chr(block[28])), ("speed_knots", knots)]
    extra += _accel(_u32(block, 0x5C, 3))
    record = Record(
        utc=posix(y, mo, d, h, m, s),
        status=chr(block[28]),
        lat=ddmm(abs(_f64(block, 32)), ns),
        lon=ddmm(abs(_f64(block, 48)), ew),
        speed=knots * KNOTS,
        course=_course(track),
        offset=base + 0x10,
        extra=tuple(extra),
    )
    return _decoded("vantrue-n4", [record])


_INNOVV = re.compile(rb"A[NS][EW]\0.{28}", re.DOTALL)


def decode_innovv(block: bytes, base: int, scaled: bool | None = None) -> Decoded | None:
    """INNOVV: a list of 32-byte records without times (same in their TS files)."""
    if block[16:17] != b"A" or block[17:18] not in (b"N", b"S") or block[18:19] not in (b"E", b"W"):
        return None
    records = []
    for m in _INNOVV.finditer(block, 16):
        rec = m.group(0)
        lat_raw, lon_raw, knots, track = struct.unpack_from("<4f", rec, 4)
        ns, ew = chr(rec[1]), chr(rec[2])
        extra: list[tuple[str, Value]] = [("status", "A"), ("lat_ref", ns), ("lon_ref", ew)]
        extra += [("speed_knots", knots), *_accel(_u32(rec, 20, 3))]
        records.append(
            Record(
                status="A",
                lat=ddmm(abs(lat_raw), ns),
                lon=ddmm(abs(lon_raw), ew),
                speed=knots * KNOTS,
                course=_course(track),
                offset=base + m.start(),
                extra=tuple(extra),
            )
        )
    return _decoded("innovv", records)


def _xbht_record(rec: bytes, offset: int) -> Record | None:
    if rec[0] != 0 or rec[8] not in b"AV" or rec[7] > 9:
        return None
    y, mo, d, h, mi, s, tenths = rec[1:8]
    utc = posix(y, mo, d, h, mi, s + tenths / 10)
    if utc is None:
        return None
    ns, ew = chr(rec[9]), chr(rec[10])
    lat_i, lon_i = _u32(rec, 16, 2)
    (speed,) = struct.unpack_from("<H", rec, 28)
    extra: list[tuple[str, Value]] = [
        ("status", chr(rec[8])),
        ("lat_ref", ns),
        ("lon_ref", ew),
        ("lat_raw", lat_i),
        ("lon_raw", lon_i),
        ("speed_raw", speed),
        ("u8_11", rec[11]),
        ("u32_12", _u32(rec, 12)[0]),
        ("u32_24", _u32(rec, 24)[0]),
    ]
    return Record(
        utc=utc,
        status=chr(rec[8]),
        lat=ddmm(lat_i / 1e4, ns) if ns in "NS" else None,
        lon=ddmm(lon_i / 1e4, ew) if ew in "EW" else None,
        speed=speed * KMH,  # unit not stated; ExifTool passes it on as km/h
        offset=offset,
        extra=tuple(extra),
    )


def decode_xbht(block: bytes, base: int, scaled: bool | None = None) -> Decoded | None:
    """XBHT XB702: 36-byte records from 0x10 with tenths of seconds."""
    records = []
    for pos in range(16, len(block) - 30 + 1, _XBHT_RECORD):
        record = _xbht_record(
            block[pos : pos + _XBHT_RECORD].ljust(_XBHT_RECORD, b"\0"), base + pos
        )
        if record is None:
            break
        records.append(record)
    return _decoded("xbht", records) if records else None


def decode_70mai_a810(block: bytes, base: int, scaled: bool | None = None) -> Decoded | None:
    """70mai A810: the block length repeated at 0x12, status at 0x1e, int32 DDMM x 1e5."""
    if len(block) < 0x33 or block[0x10:0x12] != b"\x03\x00" or block[0x1E] not in b"AV":
        return None
    (length,) = struct.unpack_from("<H", block, 0x12)
    if length != _u32(block, 0x0C)[0] & 0xFFFF:
        return None
    lat_i, lon_i, u27, speed, u2f = struct.unpack_from("<iiiii", block, 0x1F)
    status = chr(block[0x1E])
    extra: list[tuple[str, Value]] = [
        ("status", status),
        ("lat_raw", lat_i),
        ("lon_raw", lon_i),
        ("speed_raw", speed),
        ("i32_0x27", u27),
        ("i32_0x2f", u2f),
    ]
    record = Record(
        status=status,
        lat=ddmm(lat_i / 1e5),  # no hemisphere bytes: positive values assumed (ExifTool)
        lon=ddmm(lon_i / 1e5),
        speed=speed * KMH,  # km/h, not confirmed
        offset=base + 0x1E,
        extra=tuple(extra),
    )
    return _decoded("70mai-a810", [record])


def decode_nextbase_be(block: bytes, base: int, scaled: bool | None = None) -> Decoded | None:
    """Nextbase 512G: 32-byte big-endian ``$S`` records from 0x30."""
    if block[0x30:0x32] != b"$S":
        return None
    records = []
    for pos in range(0x32, len(block) - _NEXTBASE.size + 1, 0x20):
        spd, hdg, y, mo, d, h, mi, s10, unk, lat, lon = _NEXTBASE.unpack_from(block, pos)
        utc = posix(y, mo, d, h, mi, s10 / 10)
        if utc is None or y < 2000:
            break
        extra: list[tuple[str, Value]] = [
            ("speed_raw_cm_s", spd),
            ("heading_raw", hdg),
            ("u8_0x3e", unk),
        ]
        records.append(
            Record(
                utc=utc,
                lat=lat / 1e7,
                lon=lon / 1e7,
                speed=spd / 100.0,
                course=_course(hdg / 100.0),
                offset=base + pos - 2,
                extra=tuple(extra),
            )
        )
    return _decoded("nextbase-be", records) if records else None
