"""LIGOGPSINFO records: enciphered GPS text of LigoGPS-firmware dashcams.

Found inside freeGPS blocks (iiway S1, XGODY, ABASK A8, Rexing V1GW-4K, at
block offset 16, 48 or 80) and in ``ssmd`` metadata tracks of SigmaStar
cameras (CARCAM 4CH, dashcamigo sample). Each record is ``####``, a u32 count
of enciphered bytes, then the bytes; deciphered it reads
``<u16 counter><2 bytes>2022/09/19 12:45:24 N:31.285065 W:124.759483 46.93 km/h
x:... A:<course> H:... M:...``.

The cipher (facts from ExifTool's LigoGPS.pm, 2024-12): bytes come in rounds
led by a steering byte whose top three bits say how many cipher bytes follow
(4, 3 with an implied space, or 1) and whose low bits are OR-ed back into
them; every output byte is then XOR 0x20.

"Fuzzing": freeGPS-borne records whose header byte before the count is not
0x01/0x14 have lat and lon fractional parts (below the tens of degrees)
exchanged and scaled; ExifTool undoes it with a per-camera scale (1 -> 1.5249
by default, 2 -> 1.4560, 3 -> 1.1537) and scales speed by 1.85407 instead of
1.852. The scale is not in the file: we use ExifTool's default and say so in
``info.json``. Records in ``ssmd`` tracks are not fuzzed (dashcamigo's real
CARCAM sample decodes to its sentinels without it).

Some cameras use a substitution cipher instead (digits permuted, learnt from
many records); those records are reported as not deciphered.

The ``LIGOGPSINFO {json}`` variant (Yada RoadCam) carries plain JSON.
"""

from __future__ import annotations

import json
import logging
import re
import struct
from typing import Any

from telemetryfs.parsers.formats._dashcam.decoded import Decoded
from telemetryfs.parsers.model import Value
from telemetryfs.parsers.records import KMH, KNOTS, Record, Source, ddmm, posix

log = logging.getLogger(__name__)

SOURCE = Source(format="ligogps-mp4", fourcc="ssmd", label="LigoGPS (LIGOGPSINFO)")
MARKER = b"LIGOGPSINFO"
RECORD = 0x84  # bytes per record slot (ExifTool)
_NOT_FUZZED = (0x01, 0x14)  # header bytes of cameras that do not fuzz (BlueSkySea DV688)
# ExifTool's LigoGPSScale table; 1 is its default.
FUZZ_SCALES = {1: 1.524855137, 2: 1.456027985, 3: 1.15368}
_FUZZ_SPEED = 1.85407333 / 3.6  # m/s per unit, fuzzed records
_TEXT = re.compile(rb"(\S+ \S+)\s+([NS?]):(-?)([.\d]+)\s+([EW?]):(-?)([.\d]+)\s+([.\d]+)")


def decrypt(record: bytes) -> bytes | None:
    """The plain text of one ``####`` record (counter bytes first), or None.

    Returns None when the steering bytes do not add up (another cipher, or a
    record cut short).
    """
    if len(record) < 8 or record[:4] != b"####":
        return None
    (count,) = struct.unpack_from("<I", record, 4)
    if count < 4:
        return None
    data = record[8 : 8 + min(count, RECORD)]
    out = bytearray()
    i = 0
    while i < len(data):
        steer = data[i]
        i += 1
        top = steer & 0xE0
        take = 4 if top >= 0xC0 else 3 if top >= 0x40 else 1 if top == 0 else -1
        if take < 0 or len(data) - i < take:
            return None
        out += _round(steer, top, data[i : i + take])
        i += take
    return bytes(out)


def _round(b: int, top: int, c: bytes) -> bytes:
    """One round: cipher bytes with the steering bits put back, XOR 0x20."""
    if top >= 0xC0:
        return bytes(
            (
                (c[0] | b & 0x01) ^ 0x20,
                (c[1] | b & 0x02) ^ 0x20,
                (c[2] | b & 0x0C) ^ 0x20,
                (c[3] ^ 0x20) | b & 0x30,
            )
        )
    if top == 0:
        return bytes((c[0] | b & 0x13,))
    masks = {0x40: (0x01, 0x06, 0x18), 0x60: (0x03, 0x04, 0x18), 0x80: (0x03, 0x0C, 0x10)}
    m = masks.get(top, (0x01, 0x06, 0x18))
    body = [(c[k] | b & m[k]) ^ 0x20 for k in range(3)]
    gap = {0x40: 0, 0x60: 1, 0x80: 2}.get(top, 3)  # where the implied space goes
    body.insert(gap, 0x20)
    return bytes(body)


def unfuzz(lat: float, lon: float, scale: float) -> tuple[float, float]:
    """Undo LigoGPS fuzzing: the parts below whole tens of degrees trade places, scaled."""
    lat10, lon10 = int(lat / 10) * 10, int(lon / 10) * 10
    return lat10 + (lon - lon10) * scale, lon10 + (lat - lat10) * scale


def parse_text(plain: bytes, offset: int, *, fuzzed: bool) -> Record | None:
    """A record from deciphered LIGOGPSINFO text (4 counter bytes first), or None."""
    match = _TEXT.match(plain, 4)
    if match is None:
        return None
    when, ns, lat_neg, lat_s, ew, lon_neg, lon_s, speed_s = (
        g.decode("latin-1") for g in match.groups()
    )
    try:
        lat_raw, lon_raw, speed_raw = float(lat_s), float(lon_s), float(speed_s)
    except ValueError:
        return None
    extra: list[tuple[str, Value]] = [
        ("counter", struct.unpack_from("<H", plain)[0]),
        ("lat_ref", ns),
        ("lon_ref", ew),
        ("lat_raw", lat_raw),
        ("lon_raw", lon_raw),
        ("speed_raw", speed_raw),
    ]
    speed = speed_raw * (_FUZZ_SPEED if fuzzed else KNOTS)
    if len(lat_s.split(".")[0]) >= 3:
        # DDMM.MMMM text: speed was not scaled in ExifTool's one sample of it.
        lat_raw, lon_raw = ddmm(lat_raw) or 0.0, ddmm(lon_raw) or 0.0
        speed = speed_raw * KMH
    lat, lon = lat_raw, lon_raw
    if fuzzed:
        lat, lon = unfuzz(lat_raw, lon_raw, FUZZ_SCALES[1])
        extra.append(("unfuzz_scale", FUZZ_SCALES[1]))
    lat = -lat if lat_neg or ns == "S" else lat
    lon = -lon if lon_neg or ew == "W" else lon
    extra += _tagged(plain[match.end() :])
    return Record(
        utc=_when(when),
        status="A",
        lat=lat,
        lon=lon,
        speed=speed,
        course=_number(dict(extra).get("A")),  # the "A:" field is the track
        offset=offset,
        extra=tuple((_TAG_NAMES.get(k, k), v) for k, v in extra),
    )


# The tagged fields after the speed (ExifTool: Accelerometer, GPSTrack, H, M).
_TAG_NAMES = {"x": "accel_x", "y": "accel_y", "z": "accel_z", "A": "track", "H": "h", "M": "m"}


def _tagged(rest: bytes) -> list[tuple[str, Value]]:
    """The ``x:`` ``y:`` ``z:`` ``A:`` ``H:`` ``M:`` fields after the speed."""
    found: list[tuple[str, Value]] = []
    for key, value in re.findall(rb"\b([xyzAHM]):(\S+)", rest):
        found.append((key.decode("latin-1"), _number(value.decode("latin-1"))))
    return found


def _number(value: Value) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _when(text: str) -> float | None:
    m = re.fullmatch(r"(\d{4})[/:-](\d\d)[/:-](\d\d) (\d\d):(\d\d):(\d\d(?:\.\d+)?)", text)
    if m is None:
        return None
    y, mo, d, h, mi = (int(g) for g in m.groups()[:5])
    return posix(y, mo, d, h, mi, float(m.group(6)))


def records_after(data: bytes, marker: int, base: int, *, fuzz: bool) -> tuple[list[Record], int]:
    """Records of the LIGOGPSINFO directory at ``marker``; also how many were undecipherable."""
    start = marker + 0x14
    if data[marker + len(MARKER) : marker + len(MARKER) + 2] == b" {":
        return _json_records(data, marker, base), 0
    flag = data[start - 5 : start - 4]
    fuzzed = fuzz and not (flag and flag[0] in _NOT_FUZZED)
    records: list[Record] = []
    failed = 0
    for pos in range(start, len(data) - 8, RECORD):
        if data[pos : pos + 4] != b"####":
            continue  # blank slots are zero-filled (ExifTool)
        plain = decrypt(data[pos : pos + RECORD])
        record = None if plain is None else parse_text(plain, base + pos, fuzzed=fuzzed)
        if record is None:
            failed += 1
        else:
            records.append(record)
    return records, failed


def _json_records(data: bytes, marker: int, base: int) -> list[Record]:
    records = []
    for match in re.finditer(rb"LIGOGPSINFO (\{[^{}]{0,2048}\})", data[marker:]):
        try:
            item: dict[str, Any] = json.loads(match.group(1))
        except (ValueError, UnicodeDecodeError):
            continue
        records.append(_json_record(item, base + marker + match.start()))
    return records


def _json_record(item: dict[str, Any], offset: int) -> Record:
    def num(key: str) -> float | None:
        return _number(item.get(key)) if isinstance(item.get(key), str | int | float) else None

    parts = [num(k) for k in ("Year", "Month", "Day", "Hour", "Minute", "Second")]
    utc = None if None in parts else posix(*(int(p or 0) for p in parts))
    lat, lon, speed = num("Latitude"), num("Longitude"), num("Speed")
    ns, ew = str(item.get("NS", "")), str(item.get("EW", ""))
    return Record(
        utc=utc,
        status=str(item.get("status", "")) or None,
        lat=None if lat is None else (-lat if ns == "S" else lat),
        lon=None if lon is None else (-lon if ew == "W" else lon),
        speed=None if speed is None else speed * KNOTS,
        offset=offset,
        extra=(("lat_ref", ns), ("lon_ref", ew), ("speed_knots", speed)),
    )


def decode_block(block: bytes, base: int, scaled: bool | None = None) -> Decoded | None:
    """A freeGPS block holding a LIGOGPSINFO directory (None when it holds none)."""
    marker = block.find(MARKER, 0, 0x100)
    if marker < 0:
        return None
    records, failed = records_after(block, marker, base, fuzz=True)
    note = None
    if failed or not records:
        note = "LIGOGPSINFO record not deciphered (cut short, or a substitution cipher)"
    return Decoded("ligogps", tuple(records), note)
