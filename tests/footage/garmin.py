"""Garmin dashcam clips (DriveAssist 51 and kin): GPS in a ``uuid`` box inside the moov.

Built from the facts in ../shared/FORMAT-NOTES.md (exiftool's ProcessGarminGPS):
the box payload is the 16-byte UUID 9b630f8d-6374-40ec-8204-bc5ff5091728, then
17 bytes the decoders skip, then 20-byte big-endian records: u32 seconds since
1904 at +0, u16 speed in mph at +4, i32 latitude at +12 and i32 longitude at +16
in units of 180/2^31 degrees; -2^31 means no fix. The media are not written.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

GARMIN_UUID = bytes.fromhex("9b630f8d637440ec8204bc5ff5091728")
MAC_EPOCH = 2082844800  # seconds from 1904-01-01 to 1970-01-01
NO_FIX = -(2**31)
SEMICIRCLE = 180.0 / 2**31


@dataclass(frozen=True)
class GarminFix:
    utc: int  # POSIX seconds
    lat: float | None  # None: a record written before the fix
    lon: float | None
    speed_mph: int = 0


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def garmin_record(fix: GarminFix) -> bytes:
    lat = NO_FIX if fix.lat is None else round(fix.lat / SEMICIRCLE)
    lon = NO_FIX if fix.lon is None else round(fix.lon / SEMICIRCLE)
    return struct.pack(">IH6xii", fix.utc + MAC_EPOCH, fix.speed_mph, lat, lon)


def garmin_uuid_box(fixes: list[GarminFix]) -> bytes:
    return _box(b"uuid", GARMIN_UUID + bytes(17) + b"".join(garmin_record(f) for f in fixes))


def make_garmin_dashcam(path: Path, fixes: list[GarminFix]) -> bytes:
    """Write a minimal Garmin dashcam MP4: ftyp, then a moov holding mvhd and the GPS uuid box
    (exiftool looks for it among the moov's children)."""
    mvhd = _box(b"mvhd", bytes(4) + struct.pack(">IIII", 0, 0, 1000, 1000 * len(fixes)) + bytes(80))
    data = _box(b"ftyp", b"mp42\0\0\0\0mp42isom") + _box(b"moov", mvhd + garmin_uuid_box(fixes))
    path.write_bytes(data)
    return data


def route(count: int, *, start: int = 1_700_000_000, lead_without_fix: int = 0) -> list[GarminFix]:
    """``count`` records a second apart heading north-east from Olathe, Kansas."""
    return [
        GarminFix(start + i, None, None)
        if i < lead_without_fix
        else GarminFix(start + i, 38.85 + i * 1e-4, -94.80 + i * 1e-4, 30 + i % 5)
        for i in range(count)
    ]


def make_virb_clip(path: Path, clip_uuid: str, duration_s: float) -> bytes:
    """A VIRB clip as far as its telemetry goes: ftyp, an empty mdat and a moov holding
    mvhd and the udta ``uuid`` box whose 16-byte type is the ASCII ``VIRBactioncamera``
    (exiftool's GarminSoftware), followed by the rest of the clip's ``camera_file_uuid``."""
    assert clip_uuid.startswith("VIRBactioncamera")
    duration = round(duration_s * 1000)
    mvhd = _box(b"mvhd", bytes(4) + struct.pack(">IIII", 0, 0, 1000, duration) + bytes(80))
    udta = _box(b"udta", _box(b"uuid", clip_uuid.encode("ascii") + b"\0"))
    data = _box(b"ftyp", b"mp42\0\0\0\0mp42isom") + _box(b"mdat", b"")
    data += _box(b"moov", mvhd + udta)
    path.write_bytes(data)
    return data
