"""70mai dashcams (Pro, Pro Plus, A800...): a top-level ``GPS `` box after the moov.

The box payload is a list of 36-byte little-endian slots, one per second of
the clip (facts from mzdun/dashcam-gps ``70mai.cc`` and ExifTool's
QuickTimeStream.pl, checked against the clean sample NO20191130-120156-000121):

====== ===== =============================================================
offset type  meaning
====== ===== =============================================================
0      u32   slot in use; 0 ends the list
4      u32   has a fix; 0: no position in this slot
8      u32   seconds since the clip started; must equal the slot index
12     u32   speed in metres per hour
16     char  latitude hemisphere N/S
17     u32   latitude, degrees x 100000 + minutes x 1000
21     char  longitude hemisphere E/W
22     u32   longitude, same encoding
26     10 B  padding
====== ===== =============================================================

There is no date in the records: times are the clip start plus the seconds.
The clip start is the camera's local clock as the file name gives it
(``NO20191130-120156-000121.MP4``: NO normal, EV emergency, PA parking), else
the mvhd creation time; ``info.json`` says which. Damaged files (the
dashcam-gps coverage corpus) may hold several ``GPS `` boxes, the last one
counts; a box running past the end of the file is read up to the end; a slot
at the wrong second is skipped; a bad hemisphere or an impossible latitude
ends the list, keeping what came before.
"""

from __future__ import annotations

import logging
import re
import struct
from typing import BinaryIO

from telemetryfs.parsers import timebase
from telemetryfs.parsers.binio import file_size, read_at, read_upto
from telemetryfs.parsers.containers import mp4
from telemetryfs.parsers.errors import ParseError, TruncatedError, UnsupportedError
from telemetryfs.parsers.formats._dashcam.movie import read_movie
from telemetryfs.parsers.model import Extent, ParseWarning, Telemetry, Value
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.records import Record, Source, to_telemetry

log = logging.getLogger(__name__)

SOURCE = Source(format="70mai", fourcc="GPS ", label="70mai GPS box")
GPS_BOX = b"GPS "
SLOT = 36
MAX_SLOTS = 24 * 3600  # one per second; a day of slots is more than any clip
_SLOT = struct.Struct("<4Ic I c I")
CLIP_TYPES = {"NO": "normal", "EV": "emergency", "PA": "parking"}
_NAME = re.compile(r"^([A-Z]{2})\d{8}-\d{6}")


def find_gps_box(f: BinaryIO, warnings: list[ParseWarning]) -> tuple[int, int] | None:
    """(payload offset, payload size) of the last top-level ``GPS `` box, or None.

    Damage after a GPS box ends the walk with a warning; a GPS box that runs
    past the end of the file is read up to the end.

    Raises:
        TruncatedError, MalformedError: the top level is damaged before any GPS box.
    """
    end = file_size(f)
    found: tuple[int, int] | None = None
    try:
        for box in mp4.iter_boxes(f, 0, end):
            if box.kind == GPS_BOX:
                found = (box.data_offset, box.data_size)
    except ParseError as exc:
        at = exc.offset if exc.offset is not None else end
        if isinstance(exc, TruncatedError) and read_upto(f, at, 8)[4:8] == GPS_BOX:
            warnings.append(ParseWarning(at, "GPS box cut short: read up to the end of the file"))
            return at + 8, max(0, end - at - 8)
        if found is None:
            raise
        warnings.append(ParseWarning(at, f"top-level boxes damaged after the GPS box: {exc}"))
    return found


def parse_slots(data: bytes, base: int) -> tuple[list[Record], list[ParseWarning]]:
    """The records of a GPS box payload, with what was wrong in it.

    Args:
        data: the payload, a whole number of slots or cut short.
        base: its file offset.
    """
    records: list[Record] = []
    warnings: list[ParseWarning] = []
    skipped: list[int] = []
    for index in range(min(len(data) // SLOT, MAX_SLOTS)):
        at = index * SLOT
        in_use, has_fix, seconds, speed, ns, lat, ew, lon = _SLOT.unpack_from(data, at)
        if not in_use:
            break
        if seconds != index:
            skipped.append(base + at)
            continue
        if not has_fix:
            records.append(Record(video_time=float(seconds), status="V", offset=base + at))
            continue
        record = _record(index, speed, ns, lat, ew, lon, base + at)
        if record is None:
            warnings.append(
                ParseWarning(
                    base + at, f"slot {index} damaged (hemisphere or range): the list ends there"
                )
            )
            break
        records.append(record)
    if skipped:
        warnings.insert(
            0,
            ParseWarning(
                skipped[0], f"{len(skipped)} slots out of place (seconds do not match) skipped"
            ),
        )
    return records, warnings


def _degrees(value: int) -> float:
    """DDMMmmm (degrees x 100000 + minutes x 1000) to degrees."""
    return value // 100000 + (value % 100000) / 60000.0


def _record(
    index: int, speed: int, ns: bytes, lat: int, ew: bytes, lon: int, offset: int
) -> Record | None:
    if ns not in (b"N", b"S") or ew not in (b"E", b"W"):
        return None
    lat_deg, lon_deg = _degrees(lat), _degrees(lon)
    if lat_deg > 90.0 or lon_deg > 180.0:
        return None
    extra: tuple[tuple[str, Value], ...] = (
        ("lat_ref", ns.decode()),
        ("lon_ref", ew.decode()),
        ("lat_raw", lat),
        ("lon_raw", lon),
        ("speed_m_per_h", speed),
    )
    return Record(
        video_time=float(index),
        status="A",
        lat=-lat_deg if ns == b"S" else lat_deg,
        lon=-lon_deg if ew == b"W" else lon_deg,
        speed=speed / 3600.0,
        offset=offset,
        extra=extra,
    )


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """The track in a 70mai clip's ``GPS`` box.

    Raises:
        UnsupportedError: no top-level ``GPS `` box (not a 70mai clip).
        TruncatedError, MalformedError: the box structure is damaged before it.
    """
    probe = Probe.of(source, name)
    f = probe.file
    warnings: list[ParseWarning] = []
    box = find_gps_box(f, warnings)
    if box is None:
        raise UnsupportedError("no top-level GPS box")
    offset, size = box
    size = min(size, MAX_SLOTS * SLOT, max(0, file_size(f) - offset))
    records, damage = parse_slots(read_at(f, offset, size), offset)
    warnings += damage
    movie = read_movie(probe, warnings)
    start, basis = _clip_start(name, movie)
    if start is not None:
        records = [_dated(r, start) for r in records]
    info: dict[str, object] = {
        "records": len(records),
        "time_basis": basis,
        "time_offset_note": (
            "70mai records carry no GPS date: times are the clip start plus the seconds, "
            "on the camera's clock"
        ),
    }
    match = _NAME.match(name)
    if match:
        info["clip"] = CLIP_TYPES.get(match.group(1), "other")
    return to_telemetry(
        SOURCE,
        records,
        raw=[Extent(offset, size)],
        creation_time=movie.creation_time if movie else None,
        duration=movie.duration if movie else None,
        info=info,
        warnings=warnings,
    )


def _clip_start(name: str, movie: mp4.Movie | None) -> tuple[float | None, str]:
    named = timebase.name_time(name)
    if named is not None:
        return named, "file name (camera clock)"
    if movie is not None and movie.creation_time is not None:
        return movie.creation_time, "mvhd creation time (camera clock)"
    return None, "none: only the seconds since the clip started are known"


def _dated(record: Record, start: float) -> Record:
    from dataclasses import replace

    return replace(record, utc=start + (record.video_time or 0.0))
