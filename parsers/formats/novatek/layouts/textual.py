"""freeGPS blocks (and text samples) that carry GPS as text, plain or lightly enciphered.

- XOR 0xAA text (Azdome GS63H, EEEkit from block byte 18; BlueSkySea and
  Ambarella A12 text-track samples from byte 0): after XOR, a 14-digit date
  and time at 8, a 15-character label, then ``N48515873E002197769``: the
  hemisphere, then DDMM x 1e4 as 8 digits (latitude) or 9 (longitude); speed
  as 8 digits (Azdome) or altitude ``+0157`` and 3 speed digits (EEEkit,
  Ambarella), km/h; accelerometer as signed 3-digit groups (ExifTool 1A).
- Camera time and NMEA (Nextbase 512GW): 14 digits at 52, an RMC sentence
  later, int32 accelerometer x 256 at 0x44 (ExifTool 1B).
- NMEA shifted by +16 per byte from 0x3c (ExifTool 1F; the EACHPAI block,
  which ExifTool leaves undecoded, deciphers the same way with a valid
  checksum).
- One text line, ``normal:2024/05/22 02:54:29 N:42.382470 W:83.389570 53.6
  km/h x:... A:269.2 H:245.5`` (XGODY 12" text variant: the "km/h" number is
  knots, per ExifTool).
- Any ``$GxRMC`` sentence in the block (Vantrue N2X: the binary part is
  zeroed, the sentence carries the fix).
"""

from __future__ import annotations

import dataclasses
import logging
import re
import struct

from telemetryfs.parsers.encodings import nmea
from telemetryfs.parsers.formats._dashcam.decoded import Decoded
from telemetryfs.parsers.model import Value
from telemetryfs.parsers.records import KMH, KNOTS, Record, ddmm, field_text, posix

log = logging.getLogger(__name__)

_AZDOME_MARK = b"\xaa\xaa\xf2\xe1\xf0\xee\x54\x54"  # block bytes 18..25 (XOR: \0\0XKZD\xfe\xfe)
_XOR_TEXT = re.compile(
    rb"(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d).(.{15})([NS])(\d{8})([EW])(\d{9})", re.DOTALL
)
_SIGNED3 = re.compile(rb"([-+]\d{3})([-+]\d{3})([-+]\d{3})")
_LINE = re.compile(
    rb"(?:[a-z]+:)?(\d{4})/(\d\d)/(\d\d) (\d\d):(\d\d):(\d\d) ([NS]):(-?[\d.]+) ([EW]):(-?[\d.]+)"
    rb" ([\d.]+) km/h"
)


def _decoded(layout: str, records: list[Record], note: str | None = None) -> Decoded:

    return Decoded(layout, tuple(records), note)


def xor(data: bytes, key: int = 0xAA) -> bytes:
    return bytes(b ^ key for b in data)


def parse_xor_text(buf: bytes, offset: int) -> Record | None:
    """The record of a deciphered XOR text buffer (date at 8), or None if it is not one."""
    m = _XOR_TEXT.match(buf, 8)
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    label, ns, lat_d, ew, lon_d = m.groups()[6:]
    printable = "".join(c for c in field_text(label) if c.isprintable())
    extra: list[tuple[str, Value]] = [("label", printable)]
    ns_s, ew_s = ns.decode(), ew.decode()
    extra += [("lat_ref", ns_s), ("lon_ref", ew_s)]
    speed = _xor_speed(buf, extra)
    extra += _xor_accel(buf)
    return Record(
        utc=posix(y, mo, d, h, mi, s),
        status="A",
        lat=ddmm(int(lat_d) / 1e4, ns_s),
        lon=ddmm(int(lon_d) / 1e4, ew_s),
        speed=None if speed is None else speed * KMH,
        offset=offset,
        extra=tuple(extra),
    )


def _xor_speed(buf: bytes, extra: list[tuple[str, Value]]) -> int | None:
    """Speed (km/h): 8 digits at 57 (Azdome), else 3 digits at 62 after an altitude."""
    field = buf[57:65]
    if len(field) == 8 and field.isdigit():
        extra.append(("speed_kmh", int(field)))
        return int(field)
    if buf[57:58] in (b"+", b"-") and buf[58:62].isdigit():
        extra.append(("altitude_text", int(buf[57:62])))
    digits = buf[62:65]
    if len(digits) == 3 and digits.isdigit():
        extra.append(("speed_kmh", int(digits)))
        return int(digits)
    return None


def _xor_accel(buf: bytes) -> list[tuple[str, Value]]:
    for start in (65, 173):  # EEEkit/Ambarella, Azdome
        m = _SIGNED3.match(buf, start)
        if m is not None:
            x, y, z = (int(v) for v in m.groups())
            return [("accel_x", x), ("accel_y", y), ("accel_z", z)]
    return []


def decode_xor_text(block: bytes, base: int, scaled: bool | None = None) -> Decoded | None:
    """Azdome/EEEkit freeGPS block: XOR 0xAA text from byte 18."""
    if block[18:26] != _AZDOME_MARK:
        return None
    record = parse_xor_text(xor(block[18 : 18 + 0x101]), base + 18)
    if record is None:
        return _decoded("xor-text", [], "XOR text record cut short")
    return _decoded("xor-text", [record])


def decode_xor_sample(sample: bytes, base: int) -> Record | None:
    """A BlueSkySea/Ambarella A12 text-track sample: all of it XOR 0xAA."""
    if sample[6:8] != b"\x54\x54":
        return None
    return parse_xor_text(xor(sample[:0x101]), base)


def decode_camera_nmea(block: bytes, base: int, scaled: bool | None = None) -> Decoded | None:
    """Nextbase 512GW: camera date and time at 52, then NMEA text."""
    stamp = block[52:66]
    if len(stamp) < 14 or not stamp.isdigit():
        return None
    records, _ = nmea.parse_text(block, base)
    camera: list[tuple[str, Value]] = [("camera_time", stamp.decode())]
    if len(block) >= 0x50:
        x, y, z = struct.unpack_from("<3i", block, 0x44)
        camera += [("accel_x", x), ("accel_y", y), ("accel_z", z)]
    records = [dataclasses.replace(r, extra=(*camera, *r.extra)) for r in records]
    return _decoded("nmea-camera-time", records, None if records else "no NMEA fix in block")


def decode_shifted_nmea(block: bytes, base: int, scaled: bool | None = None) -> Decoded | None:
    """NMEA with every byte shifted by +16, from 0x3c (ZXSBNXYS, EACHPAI)."""
    head = bytes(b - 16 for b in block[60:66] if b >= 16)
    if len(head) != 6 or head[:2] != b"$G" or head[3:6] not in (b"RMC", b"GGA"):
        return None
    plain = bytes(b - 16 if b >= 16 else b for b in block[60 : 60 + 0x100])
    records, _ = nmea.parse_text(plain, base + 60)
    tagged = [dataclasses.replace(r, extra=(*r.extra, ("cipher", "shift16"))) for r in records]
    return _decoded("nmea-shift16", tagged, None if records else "shifted NMEA cut short")


def parse_text_line(data: bytes, offset: int) -> Record | None:
    """The ``normal:YYYY/MM/DD hh:mm:ss N:lat W:lon speed km/h ...`` line."""
    m = _LINE.search(data)
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    ns, lat_s, ew, lon_s, speed_s = (g.decode() for g in m.groups()[6:])
    lat, lon, knots = float(lat_s), float(lon_s), float(speed_s)
    extra: list[tuple[str, Value]] = [("lat_ref", ns), ("lon_ref", ew), ("speed_knots", knots)]
    tags = dict(re.findall(rb"\b([xyzAH]):(-?[\d.]+)", data[m.end() :]))
    for key, name in ((b"x", "accel_x"), (b"y", "accel_y"), (b"z", "accel_z"), (b"H", "h")):
        extra.append((name, float(tags[key]) if key in tags else None))
    return Record(
        utc=posix(y, mo, d, h, mi, s),
        status="A",
        lat=-abs(lat) if ns == "S" else abs(lat),
        lon=-abs(lon) if ew == "W" else abs(lon),
        speed=knots * KNOTS,
        course=float(tags[b"A"]) if b"A" in tags else None,
        offset=offset + m.start(),
        extra=tuple(extra),
    )


def decode_text_line(block: bytes, base: int, scaled: bool | None = None) -> Decoded | None:
    """XGODY text variant: one readable line from 0x10."""
    if not block[16:32].isascii() or b" km/h" not in block[16:0x100]:
        return None
    record = parse_text_line(block[16:0x200], base + 16)
    return None if record is None else _decoded("text-line", [record])


def decode_any_nmea(block: bytes, base: int, scaled: bool | None = None) -> Decoded | None:
    """Any RMC/GGA sentence in the block (Vantrue N2X); the last resort."""
    if b"RMC," not in block and b"GGA," not in block:
        return None
    records, _ = nmea.parse_text(block, base)
    return _decoded("nmea", records) if records else None
