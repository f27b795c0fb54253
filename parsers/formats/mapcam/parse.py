"""MAP CAM AVI: 58-byte GPS records between the video and audio chunks, no header.

The source document (shared/seeds/mapcam-avi-gps-format.txt) says the records
"don't have a length field (as specified in the RIFF standard) ... but they
are always exactly 58 bytes long". Little-endian fields:

====== ====== ==============================================================
offset type   meaning
====== ====== ==============================================================
0      i32    counter (video frames; steps of the frame rate)
4      u32    unknown, static (50 in the document's files)
8      4 B    unknown, "maybe system status"
12     u16    year; 14 month; 15 day
16     u8     hour; 17 minute (UTC); 18 u16 milliseconds in the minute
20     i32    latitude, 1e-6 degree
24     i32    longitude, 1e-6 degree
28     i32    altitude, 1/10 m
32     i32    speed: raw / 1e6 is "almost miles per hour" (the document is unsure)
36     i32    unknown ("could be orientation")
40     i32    distance travelled, 1/10000 km
44     i32    voltage-like (drops steadily)
48     10 B   unknown, constant
====== ====== ==============================================================

Bytes 4..7 reading 50 makes a record look like a chunk with a binary ID
and 50 bytes of data, but the walker does not rely on it: at every position
it accepts a chunk with a proper four-character ID, or a record whose date,
time and coordinates are plausible, and otherwise resynchronises on the next
chunk ID or record. Odd-sized chunks are stepped over with or without their
pad byte, whichever leads somewhere valid. Every field is exposed raw in
``streams/gps.csv``; the speed's unit is flagged as uncertain in the column
name and ``info.json``.
"""

from __future__ import annotations

import logging
import re
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

from telemetryfs.parsers.binio import file_size, read_upto
from telemetryfs.parsers.containers import riff
from telemetryfs.parsers.errors import UnsupportedError
from telemetryfs.parsers.model import Extent, ParseWarning, Telemetry, Value
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.records import MPH, Record, Source, posix, to_telemetry

log = logging.getLogger(__name__)

SOURCE = Source(format="mapcam-avi", fourcc="MAPC", label="MAP CAM GPS records")
RECORD = 58
_REC = struct.Struct("<iI4BHBBBBHiiiiiii10s")
_WINDOW = 1 << 20
_RESYNC_LIMIT = 4 << 20  # how far to look for the next chunk or record after garbage
_MAX_DEPTH = 4
# Chunk IDs a resync looks for: stream chunks (00dc, 01wb), lists, index, junk.
_RESYNC = re.compile(rb"[0-9]{2}(?:dc|db|wb|tx|pc)|LIST|JUNK|idx1|ix[0-9]{2}|RIFF|2\0\0\0")
SPEED_NOTE = (
    "speed unit uncertain: the MAP CAM document finds raw/1e6 'almost miles per hour'; "
    "speed_mph_uncertain is that reading, speed_raw the stored value"
)


def parse_record(data: bytes, pos: int, offset: int) -> Record | None:
    """The record at ``pos`` of a buffer if its date, time and coordinates are plausible."""
    if pos < 0 or pos + RECORD > len(data):
        return None
    (counter, field4, s8, s9, s10, s11, year, month, day, hour, minute, ms, lat, lon, alt,
     speed, unknown36, distance, voltage, tail) = _REC.unpack_from(data, pos)  # fmt: skip
    utc = posix(year, month, day, hour, minute, ms / 1000.0) if 2000 <= year <= 2100 else None
    if utc is None or ms >= 60000 or abs(lat) > 90_000_000 or abs(lon) > 180_000_000:
        return None
    fixed = lat != 0 or lon != 0
    extra: tuple[tuple[str, Value], ...] = (
        ("counter", counter),
        ("field_4", field4),
        ("status_8", s8),
        ("status_9", s9),
        ("status_10", s10),
        ("status_11", s11),
        ("ms_in_minute", ms),
        ("lat_raw", lat),
        ("lon_raw", lon),
        ("altitude_raw", alt),
        ("speed_raw", speed),
        ("speed_mph_uncertain", speed / 1e6),
        ("unknown_36", unknown36),
        ("distance_km", distance / 1e4),
        ("voltage_raw", voltage),
        ("unknown_48", tail.hex()),
    )
    return Record(
        utc=utc,
        lat=lat / 1e6 if fixed else None,
        lon=lon / 1e6 if fixed else None,
        ele=alt / 10.0,
        speed=speed / 1e6 * MPH,
        status=None if fixed else "V",
        offset=offset,
        extra=extra,
    )


class _Buffer:
    """Reads of a file served from a cached window, so small reads stay cheap."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.start = 0
        self.data = b""

    def get(self, pos: int, size: int) -> bytes:
        if not (self.start <= pos and pos + size <= self.start + len(self.data)):
            self.start, self.data = pos, read_upto(self.f, pos, max(size, _WINDOW))
        return self.data[pos - self.start : pos - self.start + size]


@dataclass
class _Walk:
    buf: _Buffer
    records: list[Record] = field(default_factory=list)
    warnings: list[ParseWarning] = field(default_factory=list)

    def item(self, pos: int, end: int) -> riff.Chunk | Record | None:
        """What starts at ``pos``: a chunk that fits, a GPS record, or None."""
        head = self.buf.get(pos, RECORD)
        chunk = riff.read_header(head, 0)
        record = parse_record(head, 0, pos)
        # A counter that happens to read as letters still makes a record when
        # its second word is the record's 50 (58 = 8 + 50).
        if (
            chunk is not None
            and riff.is_chunk_id(chunk.kind)
            and (record is None or chunk.size != 50)
        ):
            return riff.Chunk(chunk.kind, pos, chunk.size, chunk.form)
        return record

    def walk(self, start: int, end: int, depth: int = 0) -> int:
        """Walk [start, end); returns where it stopped (past ``end`` after a straddling record).

        A record that starts inside a list but runs past the list's declared
        end (a writer that counted only the chunks) is still a record.
        """
        pos = start
        while pos < end:
            item = self.item(pos, end)
            if isinstance(item, Record):
                self.records.append(item)
                pos += RECORD
            elif item is not None and pos + 8 <= end:
                pos = self._chunk(item, end, depth)
            elif end - pos < 8 and not self.buf.get(pos, end - pos).strip(b"\0"):
                return end  # padding at the end of a list
            else:
                pos = self._resync(pos, end)
        return pos

    def _chunk(self, chunk: riff.Chunk, end: int, depth: int) -> int:
        if chunk.data_offset + chunk.size > end:
            self.warnings.append(
                ParseWarning(
                    chunk.offset, f"chunk {chunk.name!r} runs past its parent: file cut short"
                )
            )
        inner_end = min(chunk.data_offset + chunk.size, end)
        if (
            chunk.kind in (riff.RIFF, riff.LIST)
            and depth < _MAX_DEPTH
            and chunk.form in (b"AVI ", b"AVIX", b"movi", b"rec ")
        ):
            reached = self.walk(chunk.children_offset, inner_end, depth + 1)
            if reached > chunk.end:
                return reached  # a record straddled the list's end
        if chunk.size & 1 and not self._valid(chunk.end, end) and self._valid(chunk.end - 1, end):
            return chunk.end - 1  # a writer that left out the pad byte
        return min(chunk.end, end) if chunk.end <= end else end

    def _valid(self, pos: int, end: int) -> bool:
        if pos >= end:
            return pos == end
        item = self.item(pos, end)
        if isinstance(item, riff.Chunk):
            return item.data_offset + item.size <= end
        return item is not None

    def _resync(self, pos: int, end: int) -> int:
        """The next position after ``pos`` where a chunk or a record starts (or ``end``)."""
        limit = min(end, pos + _RESYNC_LIMIT)
        at = pos + 1
        while at < limit:
            window = self.buf.get(at, min(_WINDOW, limit - at + RECORD))
            for m in _RESYNC.finditer(window):
                cand = at + m.start() - (4 if m.group(0) == b"2\0\0\0" else 0)
                if cand > pos and self._valid(cand, end):
                    self.warnings.append(
                        ParseWarning(pos, f"{cand - pos} unrecognised bytes skipped")
                    )
                    return cand
            at += max(1, len(window) - RECORD)
        self.warnings.append(ParseWarning(pos, "unrecognised data up to the end of the list"))
        return end


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """The GPS records of a MAP CAM AVI.

    Raises:
        UnsupportedError: not an AVI, or an AVI without GPS records.
        TruncatedError: the file cannot be read.
    """
    f = Probe.of(source, name).file
    if not riff.is_avi(read_upto(f, 0, 12)):
        raise UnsupportedError("not an AVI file")
    walk = _Walk(_Buffer(f))
    walk.walk(0, file_size(f))
    if not walk.records:
        raise UnsupportedError("AVI without MAP CAM GPS records")
    info = {"records": len(walk.records), "speed_unit": SPEED_NOTE, "time_basis": "UTC (document)"}
    return to_telemetry(
        SOURCE,
        walk.records,
        raw=[Extent(r.offset or 0, RECORD) for r in walk.records],
        info=info,
        warnings=walk.warnings,
    )
