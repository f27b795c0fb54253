"""The Insta360 trailer: records at the end of an .insv, walked backwards from the footer.

Layout (telemetry-parser src/insta360, insta360-rs INSV_FORMAT.md, seen on a
OneR sample): the file ends with a 72-byte footer - u32le trailer size at
EOF-40, u32le version at EOF-36, the 32-byte ASCII marker. Before the footer,
each record is its payload followed by a 6-byte header (u8 format, u8 id,
u32le size), so the walk goes from the footer towards the trailer's start.
Id 1 is protobuf metadata (serial, model, firmware), 7 is GPS (53-byte
entries); the others are kept as raw streams.
"""

from __future__ import annotations

import struct
from dataclasses import replace
from typing import BinaryIO

from telemetryfs.parsers.binio import read_upto
from telemetryfs.parsers.errors import (
    MalformedError,
    ParseError,
    TruncatedError,
    UnsupportedError,
)
from telemetryfs.parsers.model import Extent, RawFile, Telemetry
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.records import Record, Source, to_telemetry

MARKER = b"8db42d694ccc418790edff439fe026bf"
FOOTER = 72
HEADER = 6
GPS_ID = 7
METADATA_ID = 1
GPS_ENTRY = struct.Struct("<QHcdcdcddd")  # 53 bytes
MAX_TRAILER = 64 << 20  # a trailer claiming more than this is not one
SOURCE = Source("insta360", "INSV", "Insta360 trailer GPS")
# What the record ids hold (telemetry-parser's names); others are raw by number.
RECORD_NAMES = {
    1: "metadata",
    2: "thumbnail",
    3: "gyro",
    4: "exposure",
    5: "thumbnail_ext",
    6: "timestamps",
    7: "gps",
    8: "preview",
    9: "anchors",
    10: "anchors_ext",
}


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """GPS and raw records from the trailer of an Insta360 file.

    Raises:
        UnsupportedError: the file does not end with the Insta360 marker.
        TruncatedError, MalformedError: the trailer's sizes do not fit the file.
    """
    probe = Probe.of(source, name)
    if not probe.tail.endswith(MARKER) or probe.size < FOOTER:
        raise UnsupportedError("no Insta360 trailer marker at the end of the file")
    footer_at = probe.size - FOOTER
    trailer_size, version = struct.unpack_from("<II", probe.tail, len(probe.tail) - 40)
    if not FOOTER <= trailer_size <= min(MAX_TRAILER, probe.size):
        raise MalformedError(f"trailer size {trailer_size} does not fit the file", footer_at)
    start = probe.size - trailer_size
    data = read_upto(probe.file, start, trailer_size - FOOTER)
    if len(data) != trailer_size - FOOTER:
        raise TruncatedError("trailer cut short", start)
    records = _walk(data)
    model, firmware = None, None
    gps: list[Record] = []
    raws: list[RawFile] = []
    extents: list[Extent] = []
    for rec_id, begin, end in records:
        offset = start + begin
        if rec_id == METADATA_ID:
            model, firmware = _metadata(data[begin:end])
        if rec_id == GPS_ID:
            gps += _gps(data[begin:end], offset)
            extents.append(Extent(offset, end - begin))
            continue
        label = RECORD_NAMES.get(rec_id, f"record{rec_id}")
        if end > begin:
            raws.append(RawFile(f"insta360-{rec_id}-{label}.raw", (Extent(offset, end - begin),)))
    telemetry = to_telemetry(
        SOURCE,
        gps,
        raw=extents,
        camera=model,
        info={"trailer_version": version, "records": [r[0] for r in records]},
    )
    return _with(telemetry, raws, firmware, probe)


def _walk(data: bytes) -> list[tuple[int, int, int]]:
    """(id, payload start, payload end) of every record, from the last to the first."""
    found: list[tuple[int, int, int]] = []
    pos = len(data)
    while pos >= HEADER:
        _fmt, rec_id, size = struct.unpack_from("<BBI", data, pos - HEADER)
        if size > pos - HEADER:
            if found:
                break  # the walk reached bytes before the first record
            raise MalformedError(f"record {rec_id} claims {size} bytes", pos - HEADER)
        end = pos - HEADER
        found.append((rec_id, end - size, end))
        pos = end - size
        if rec_id == 0 and size == 0:
            break
    return found


def _gps(payload: bytes, base: int) -> list[Record]:
    out = []
    for at in range(0, len(payload) - GPS_ENTRY.size + 1, GPS_ENTRY.size):
        secs, ms, fix, lat, ns, lon, ew, speed, track, alt = GPS_ENTRY.unpack_from(payload, at)
        lat = -lat if ns == b"S" else lat
        lon = -lon if ew == b"W" else lon
        # 0/0 is where a scrubbed or unfixed receiver reports, never a real point here.
        status = "A" if fix == b"A" and (lat, lon) != (0.0, 0.0) else "V"
        out.append(
            Record(
                utc=secs + ms / 1000.0 if secs < 1 << 34 else None,
                status=status,
                lat=lat,
                lon=lon,
                speed=speed,
                course=track,
                ele=alt,
                offset=base + at,
                extra=(("fix_flag", fix.decode("latin-1")),),
            )
        )
    return out


def _metadata(payload: bytes) -> tuple[str | None, str | None]:
    """Model (field 2) and firmware (field 3) of the protobuf metadata, top level only."""
    fields: dict[int, str] = {}
    pos = 0
    while pos < len(payload):
        key, pos = _varint(payload, pos)
        kind, number = key & 7, key >> 3
        if kind == 2:
            size, pos = _varint(payload, pos)
            if pos + size > len(payload):
                break
            if number in (2, 3):
                fields[number] = payload[pos : pos + size].decode("utf-8", "replace")
            pos += size
        elif kind == 0:
            _, pos = _varint(payload, pos)
        elif kind in (1, 5):
            pos += 8 if kind == 1 else 4
        else:
            break
    return fields.get(2), fields.get(3)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos
    return value, len(data)


def _with(t: Telemetry, raws: list[RawFile], firmware: str | None, probe: Probe) -> Telemetry:
    """The clip's length and start from its moov, when the moov reads."""
    try:
        movie = probe.movie()
    except ParseError:
        movie = None
    return replace(
        t,
        raw_files=(*t.raw_files, *raws),
        firmware=firmware,
        duration=movie.duration if movie else None,
        creation_time=movie.creation_time if movie else None,
    )
