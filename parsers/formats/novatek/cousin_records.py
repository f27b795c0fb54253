"""GPS records of dashcam families that do not use freeGPS blocks.

Each ``parse_*`` turns the bytes of one container item (a sample, a box, a
trailer) into records; :mod:`.cousins` finds the items. Facts from the
real device bytes in ``shared/samples/novatek-blocks`` (numbers 40-49) and
ExifTool's QuickTimeStream.pl:

- Kenwood DRV-A301W top-level ``udta``: ``VIDEO`` + ``U`` padding, then
  records led by ``FE FE``: a 14-digit date and time (probably local), a
  second one (ignored by ExifTool), ``N47377053W122099014`` (DDMM x 1e4),
  ``+0058`` (altitude, a guess) and the speed in km/h, then accelerometer
  triplets (ProcessKenwood).
- Auto-Vox RIFF trailer after the MP4 boxes: ``gps0`` chunks of 40-byte
  ``AITG`` records: f64 DDMM lat/lon (always positive; bytes 0x21/0x22 are
  guessed to be 1 = N/E, 2 = S/W), u16 knots, year-1900 and the date and
  time as bytes, course / 2, u32 ms since the video started
  (ProcessRIFFTrailer). ``gsen`` chunks hold accelerometer records only.
- Kenwood trailer: ``GPSDATA--`` + 14-digit date and time + seven 14-character
  fields: lat, lon (decimal degrees with a hemisphere letter), speed (unit not
  stated; read as km/h), an unknown field, accelerometer x, y, z.
- Vantrue N2S ``gpmd`` samples starting ``FMAS``: date at 0x60, ``A`` + lon
  and lat references at 0x78, degrees + minutes + minute fraction / 6000,
  speed in mph, course, f32 accelerometer at 0x6c (ProcessFMAS).
- Wolfbox G900 / Redtiger F9 ``gpmd`` samples: int64 value / int64 divisor
  pairs: speed (knots) 0x48, course 0x58, day/month/year u32 at 0x68, UTC
  hour/minute/second u32 at 0xa0, lat/lon (signed DDMM) 0xb0/0xc0, altitude
  0xe8; the time at 0x10 is the one printed on the video.
"""

from __future__ import annotations

import logging
import re
import struct

from telemetryfs.parsers.model import Value
from telemetryfs.parsers.records import KMH, KNOTS, MPH, Record, ddmm, posix

log = logging.getLogger(__name__)

KENWOOD_UDTA = b"VIDEO" + b"U" * 22  # ExifTool's condition for the Kenwood udta
_KENWOOD = re.compile(
    rb"\xfe\xfe(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)[^\xfe](\d{14})[^\xfe]([NS])(\d+)([EW])(\d+)"
    rb"(?:([-+]\d{4})(\d+))?((?:[-+]\d+[-+]\d+[-+]\d+)*)"
)
_TRIPLE = re.compile(rb"([-+]\d+)([-+]\d+)([-+]\d+)")
_GPSDATA = re.compile(rb"GPSDATA--(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)((?:.{14}){7})", re.DOTALL)
AITG = 0x28  # bytes per Auto-Vox gps0 record


def parse_kenwood_udta(data: bytes, base: int) -> list[Record]:
    """Records of a Kenwood DRV-A301W ``udta`` box payload."""
    records = []
    for m in _KENWOOD.finditer(data):
        y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
        ns, lat_d, ew, lon_d = (g.decode() for g in m.groups()[7:11])
        extra: list[tuple[str, Value]] = [("second_time", m.group(7).decode())]
        speed = None
        if m.group(12):
            extra += [("altitude_guess", int(m.group(12))), ("speed_kmh", int(m.group(13)))]
            speed = int(m.group(13)) * KMH
        for i, triple in enumerate(_TRIPLE.findall(m.group(14))):
            extra += [(f"accel{i}_{axis}", int(v)) for axis, v in zip("xyz", triple, strict=True)]
        records.append(
            Record(
                utc=posix(y, mo, d, h, mi, s),
                status="A",
                lat=ddmm(int(lat_d) / 1e4, ns),
                lon=ddmm(int(lon_d) / 1e4, ew),
                speed=speed,
                offset=base + m.start(),
                extra=tuple(extra),
            )
        )
    return records


def parse_aitg(data: bytes, base: int) -> list[Record]:
    """Auto-Vox ``gps0`` records (``AITG``), stopping at the first that is not one."""
    records = []
    for pos in range(0, len(data) - AITG + 1, AITG):
        rec = data[pos : pos + AITG]
        if rec[:4] != b"AITG":
            break
        lat_raw, lon_raw = struct.unpack_from("<dd", rec, 4)
        if abs(lat_raw) > 9000 or abs(lon_raw) > 18000:
            break
        (knots,) = struct.unpack_from("<H", rec, 0x18)
        y, mo, d, h, mi, s = rec[0x1A:0x20]
        (ms,) = struct.unpack_from("<I", rec, 0x24)
        ns = "S" if rec[0x21] == 2 else "N"  # ExifTool: "wild guess"
        ew = "W" if rec[0x22] == 2 else "E"
        extra: list[tuple[str, Value]] = [
            ("lat_raw", lat_raw), ("lon_raw", lon_raw), ("lat_ref_guess", ns), ("lon_ref_guess", ew),
            ("speed_knots", knots), ("bytes_0x14", rec[0x14:0x18].hex()), ("byte_0x23", rec[0x23]),
        ]  # fmt: skip
        records.append(
            Record(
                utc=posix(1900 + y, mo, d, h, mi, s),
                status="A",
                lat=ddmm(lat_raw, ns),
                lon=ddmm(lon_raw, ew),
                speed=knots * KNOTS,
                course=rec[0x20] * 2.0,
                video_time=ms / 1000.0,
                offset=base + pos,
                extra=tuple(extra),
            )
        )
    return records


def parse_gpsdata(data: bytes, base: int) -> list[Record]:
    """Kenwood trailer ``GPSDATA--`` records."""
    records = []
    for m in _GPSDATA.finditer(data):
        y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
        fields = [m.group(7)[i : i + 14].decode("latin-1").strip() for i in range(0, 98, 14)]
        lat, lon = _signed_text(fields[0]), _signed_text(fields[1])
        values = [_float(v) for v in fields[2:]]
        extra: list[tuple[str, Value]] = [
            ("speed_raw", values[0]), ("unknown_field", values[1]),
            ("accel_x", values[2]), ("accel_y", values[3]), ("accel_z", values[4]),
        ]  # fmt: skip
        records.append(
            Record(
                utc=posix(y, mo, d, h, mi, s),
                status="A" if lat is not None and lon is not None else "V",
                lat=lat,
                lon=lon,
                speed=None if values[0] is None else values[0] * KMH,  # unit not stated
                offset=base + m.start(),
                extra=tuple(extra),
            )
        )
    return records


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _signed_text(field: str) -> float | None:
    """``N50.6123860677`` / ``E8.70271809895``: a hemisphere letter, then decimal degrees."""
    if not field or field[0] not in "NSEW":
        return None
    value = _float(field[1:])
    if value is None:
        return None
    return -value if field[0] in "SW" else value


def parse_fmas(data: bytes, base: int) -> list[Record]:
    """A Vantrue N2S ``FMAS`` sample (one record), or [] when the signature is missing."""
    if (
        len(data) < 160
        or data[:8] != b"FMAS\0\0\0\0"
        or data[0x50:0x54] != b"SAMM"
        or data[0x78:0x79] != b"A"
    ):
        return []
    (year,) = struct.unpack_from("<H", data, 0x60)
    mo, d, h, mi, s = data[0x62:0x67]
    lon_ref, lat_ref = chr(data[0x79]), chr(data[0x7A])
    lon_d, lon_m, _, lon_f, lat_d, lat_m, lat_f, mph, track = struct.unpack_from(
        "<BBBHBBHHH", data, 0x7B
    )
    lon = lon_d + (lon_m + lon_f / 6000) / 60
    lat = lat_d + (lat_m + lat_f / 6000) / 60
    acc = struct.unpack_from("<3f", data, 0x6C)
    extra: list[tuple[str, Value]] = [
        ("lat_ref", lat_ref), ("lon_ref", lon_ref), ("speed_mph", mph),
        ("accel_0", acc[0]), ("accel_1", acc[1]), ("accel_2", acc[2]),
    ]  # fmt: skip
    return [
        Record(
            utc=posix(year, mo, d, h, mi, s),
            status="A",
            lat=-lat if lat_ref == "S" else lat,
            lon=-lon if lon_ref == "W" else lon,
            speed=mph * MPH,
            course=float(track),
            offset=base,
            extra=tuple(extra),
        )
    ]


def _pair(data: bytes, at: int) -> float | None:
    value, scale = struct.unpack_from("<qq", data, at)
    return value / scale if scale > 0 else None


def is_wolfbox(data: bytes) -> bool:
    """Sixteen ASCII zeros at 0x88 and positive divisors where the pairs are."""
    if len(data) < 0xF8 or data[0x88:0x98] != b"0" * 16:
        return False
    return all(struct.unpack_from("<q", data, at)[0] > 0 for at in (0x50, 0x60, 0xB8, 0xC8, 0xF0))


def parse_wolfbox(data: bytes, base: int) -> list[Record]:
    """A Wolfbox/Redtiger value/divisor sample (one record), or []."""
    if not is_wolfbox(data):
        return []
    knots, track, lat_raw, lon_raw, alt = (_pair(data, at) for at in (0x48, 0x58, 0xB0, 0xC0, 0xE8))
    d, mo, y = struct.unpack_from("<3I", data, 0x68)
    h, mi, s = struct.unpack_from("<3I", data, 0xA0)
    vh, vm, vs = struct.unpack_from("<3I", data, 0x10)
    extra: list[tuple[str, Value]] = [
        ("lat_raw", lat_raw), ("lon_raw", lon_raw), ("speed_knots", knots),
        ("time_on_video", f"{vh:02d}:{vm:02d}:{vs:02d}"), ("tag", data[0x98:0x9C].decode("latin-1")),
    ]  # fmt: skip
    return [
        Record(
            utc=posix(y, mo, d, h, mi, s),
            status="A",
            lat=ddmm(lat_raw),
            lon=ddmm(lon_raw),
            speed=None if knots is None else knots * KNOTS,
            course=track,
            ele=alt,
            offset=base,
            extra=tuple(extra),
        )
    ]
