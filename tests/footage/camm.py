"""CAMM footage with GPS, built from the spec (no public CAMM file carries types 5/6).

Record layouts: developers.google.com/streetview/publish/camm-spec (u16 reserved,
u16 type, little-endian payload). The file is a metadata track with sample
entry ``camm`` (hdlr ``meta``), one sample per second holding a GPS record
(type 6, or 5) and a type-3 accelerometer record.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from tests.builders import box
from tests.footage import mp4write

GPS_EPOCH = 315_964_800  # 1980-01-06 in POSIX seconds
LEAP = 18  # GPS - UTC since 2017


@dataclass(frozen=True)
class CammFix:
    utc: float
    lat: float
    lon: float
    alt: float
    fix: int = 3  # 0 none, 2 2D, 3 3D
    east: float = 3.0
    north: float = 4.0


def record(kind: int, payload: bytes) -> bytes:
    return struct.pack("<HH", 0, kind) + payload


def gps6(fix: CammFix) -> bytes:
    gps_time = fix.utc - GPS_EPOCH + LEAP
    return record(
        6,
        struct.pack(
            "<di2d7f",
            gps_time,
            fix.fix,
            fix.lat,
            fix.lon,
            fix.alt,
            2.5,
            4.0,
            fix.east,
            fix.north,
            0.0,
            0.5,
        ),
    )


def gps5(fix: CammFix) -> bytes:
    return record(5, struct.pack("<3d", fix.lat, fix.lon, fix.alt))


def accel(x: float, y: float, z: float) -> bytes:
    return record(3, struct.pack("<3f", x, y, z))


def make_camm(path: str | os.PathLike[str], fixes: list[CammFix], *, gps_type: int = 6) -> None:
    """An MP4 whose camm track holds one second-long sample per fix: a GPS record of
    ``gps_type`` (5 or 6) and an accelerometer record."""
    gps = gps6 if gps_type == 6 else gps5
    samples = [gps(f) + accel(0.0, 0.0, 9.81) for f in fixes]
    mp4write.write_timed_track(
        path,
        handler=b"meta",
        name="CameraMetadataMotionHandler",
        sample_entry=box(b"camm", bytes(6) + struct.pack(">H", 1)),
        samples=samples,
        sample_ms=1000,
        created=mp4write.MAC_EPOCH_OFFSET + int(fixes[0].utc) if fixes else 0,
    )
