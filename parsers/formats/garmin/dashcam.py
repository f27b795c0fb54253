"""Garmin dashcams (DriveAssist 51 and kin): GPS in a ``uuid`` box inside the moov.

Facts from exiftool's ProcessGarminGPS (QuickTime.pm lists the box among the
moov's children): the payload starts with the UUID
9b630f8d-6374-40ec-8204-bc5ff5091728; 20-byte big-endian records start at
payload offset 33:

====== ===== ====================================================
offset type  meaning
====== ===== ====================================================
0      u32   time, seconds since 1904-01-01 (UTC)
4      u16   speed, miles per hour
6      6 B   not decoded
12     i32   latitude, units of 180/2^31 degrees; -2^31: no fix
16     i32   longitude, same
====== ===== ====================================================
"""

from __future__ import annotations

import dataclasses
import struct
from typing import BinaryIO

from telemetryfs.parsers.binio import read_upto
from telemetryfs.parsers.containers import mp4
from telemetryfs.parsers.errors import UnsupportedError
from telemetryfs.parsers.model import Extent, ParseWarning, Telemetry
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.records import Record, Source, to_telemetry

SOURCE = Source(format="garmin-uuid", fourcc="uuid", label="Garmin dashcam GPS uuid box")
GARMIN_UUID = bytes.fromhex("9b630f8d637440ec8204bc5ff5091728")
FIRST_RECORD = 33
RECORD = 20
MAC_EPOCH = 2082844800  # seconds from 1904-01-01 to 1970-01-01
NO_FIX = -(2**31)
MPH = 0.44704  # m/s
_SEMICIRCLE = 180.0 / 2**31
_RECORD = struct.Struct(">IH6xii")
MAX_RECORDS = 7 * 24 * 3600  # a week at 1 Hz: more than any clip


def _gps_box(f: BinaryIO, movie: mp4.Movie) -> mp4.Box | None:
    for box in mp4.iter_children(f, movie.moov, path="moov"):
        if box.kind == b"uuid" and read_upto(f, box.data_offset, 16) == GARMIN_UUID:
            return box
    return None


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """The track of a Garmin dashcam clip.

    Raises:
        UnsupportedError: no Garmin GPS ``uuid`` box in the moov.
        ParseError: the moov is damaged.
    """
    probe = Probe.of(source, name)
    movie = probe.movie()
    box = _gps_box(probe.file, movie) if movie is not None else None
    if box is None:
        raise UnsupportedError("no Garmin GPS uuid box")
    count = max(box.data_size - FIRST_RECORD, 0) // RECORD
    warnings = []
    if count > MAX_RECORDS:
        warnings.append(
            ParseWarning(box.offset, f"{count} GPS records: kept the first {MAX_RECORDS}")
        )
        count = MAX_RECORDS
    start = box.data_offset + FIRST_RECORD
    data = read_upto(probe.file, start, count * RECORD)
    records = []
    for i in range(len(data) // RECORD):
        seconds, mph, lat, lon = _RECORD.unpack_from(data, i * RECORD)
        fix = lat != NO_FIX and lon != NO_FIX
        records.append(
            Record(
                utc=float(seconds - MAC_EPOCH),
                status="A" if fix else "V",
                lat=lat * _SEMICIRCLE if fix else None,
                lon=lon * _SEMICIRCLE if fix else None,
                speed=mph * MPH,
                offset=start + i * RECORD,
                extra=(("speed_mph", mph),),
            )
        )
    if not records:
        raise UnsupportedError("Garmin GPS uuid box without records")
    times = [r.utc for r in records if r.utc is not None]
    first = times[0] if times else 0.0
    records = [_with_video_time(r, first) for r in records]
    return to_telemetry(
        SOURCE,
        records,
        raw=[Extent(start, len(data) - len(data) % RECORD)],
        camera="Garmin",
        creation_time=movie.creation_time if movie is not None else None,
        duration=movie.duration if movie is not None else None,
        info={"records": len(records)},
        warnings=warnings,
    )


def _with_video_time(record: Record, first: float) -> Record:
    return dataclasses.replace(record, video_time=(record.utc or first) - first)
