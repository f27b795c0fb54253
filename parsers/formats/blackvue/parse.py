"""BlackVue (Pittasoft): NMEA lines prefixed ``[unix ms]`` and 10-byte accelerometer records.

Newer models keep both inside the MP4, as ``gps `` and ``3gf `` children of
a top-level ``free`` box (beside ``cprt``, ``sttm``, ``ptnm``, ``ptrh``,
``thum``: exiftool's Pittasoft table), the model in ``cprt`` (JSON
``{"model":...}`` or ``Pittasoft Co., Ltd.;<model>;<firmware>;...``). Older
ones write SD-card sidecars ``YYYYMMDD_HHMMSS_<mode>.gps`` and ``.3gf``
shared by the front and rear clips. The prefix is the camera's clock (local
time read as UTC, plus write lag), so times come from the RMC sentences,
which are UTC; a sentence without a date (GGA before the first RMC, or a
GGA-only log) is dated from its prefix (mapillary_tools' rule).

``.3gf``: big-endian u32 ms since start, i16 vertical, lateral, longitudinal
in 1/128 g, 0xFFFFFFFF ends it (dashcamigo blackvue-3gf.ts).
"""

from __future__ import annotations

import bisect
import dataclasses
import json
import re
from collections.abc import Iterator
from typing import BinaryIO

from telemetryfs.parsers.binio import BOX_HEADER, read_upto
from telemetryfs.parsers.containers.mp4.boxes import Box
from telemetryfs.parsers.encodings.fixed_records import FixedRecords, HeldRecords
from telemetryfs.parsers.encodings.nmea import Reader
from telemetryfs.parsers.errors import UnsupportedError
from telemetryfs.parsers.model import (
    Chunk,
    Extent,
    ParseWarning,
    RawFile,
    Stream,
    StreamCodec,
    Telemetry,
)
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.records import Record, Source, ddmm, to_telemetry

SOURCE = Source("blackvue", "gps ", "BlackVue NMEA")
MAX_GPS = 32 << 20  # days of 1 Hz NMEA; what lies past this is not read
MAX_3GF = 16 << 20
MAX_CPRT = 4096
DAY = 86400.0
# Children of Pittasoft's top-level 'free' box (exiftool QuickTime.pm, Pittasoft).
PITTASOFT = (b"cprt", b"sttm", b"ptnm", b"ptrh", b"thum", b"gps ", b"3gf ")
GLL = re.compile(
    rb"\$[A-Z]{2}GLL,(\d{1,5}\.?\d*),([NS]),(\d{1,5}\.?\d*),([EW]),([01]\d|2[0-3])([0-5]\d)"
    rb"([0-5]\d(?:\.\d{1,6})?),([AV])"
)
PREFIX = re.compile(rb"(?m)^[ \t\0]*\[(\d{10,16})\]")
END = b"\xff\xff\xff\xff"
ACCEL = FixedRecords(
    ">Ihhh",
    (1, 128.0, 128.0, 128.0),
    ("%10d", "%11.6f", "%11.6f", "%11.6f"),
    (10, 11, 11, 11),
)
ACCEL_COLUMNS = ("camera_ms", "vertical_g", "lateral_g", "longitudinal_g")


def pittasoft_boxes(probe: Probe) -> dict[bytes, Box]:
    """The children of the top-level Pittasoft ``free`` boxes, by kind (the first of each).

    A box cut by the end of the file keeps what it holds up to the cut: a
    recording cut short still has the GPS written before the cut.
    """
    found: dict[bytes, Box] = {}
    for box in _clipped_boxes(probe.file, 0, probe.size):
        if box.kind != b"free" or box.data_size < 8:
            continue
        if read_upto(probe.file, box.data_offset + 4, 4) not in PITTASOFT:
            continue
        for child in _clipped_boxes(probe.file, box.data_offset, box.end):
            found.setdefault(child.kind, child)
    return found


def _clipped_boxes(f: BinaryIO, start: int, end: int) -> Iterator[Box]:
    """Boxes between ``start`` and ``end``, the last one clipped to ``end``; stops at the
    first impossible size (what follows it cannot be found)."""
    pos = start
    while pos + 8 <= end:
        head = read_upto(f, pos, 16)
        if len(head) < 8:
            return
        size, kind = BOX_HEADER.unpack_from(head)
        header = 8
        if size == 1:
            if len(head) < 16:
                return
            size, header = int.from_bytes(head[8:16], "big"), 16
        elif size == 0:
            size = end - pos
        if size < header or pos + header > end:
            return
        yield Box(kind, pos, header, min(pos + size, end))
        pos += size


def has_pittasoft_data(probe: Probe) -> bool:
    return bool(pittasoft_boxes(probe))


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """The track and accelerometer of a BlackVue MP4.

    A Pittasoft box without ``gps `` (GPS switched off) still names the model.

    Raises:
        UnsupportedError: no top-level Pittasoft ``free`` box.
    """
    probe = Probe.of(source, name)
    boxes = pittasoft_boxes(probe)
    gps, accel, cprt = boxes.get(b"gps "), boxes.get(b"3gf "), boxes.get(b"cprt")
    if not boxes:
        raise UnsupportedError("no BlackVue free box")
    data = (
        b"" if gps is None else read_upto(probe.file, gps.data_offset, min(gps.data_size, MAX_GPS))
    )
    records, warnings = read_nmea(data, 0 if gps is None else gps.data_offset)
    camera = None
    if cprt is not None:
        camera = model_of(read_upto(probe.file, cprt.data_offset, min(cprt.data_size, MAX_CPRT)))
    movie = probe.movie_if_readable()
    raw = [Extent(gps.data_offset, len(data))] if gps is not None and data else []
    streams: tuple[Stream, ...] = ()
    accel_raw: list[Extent] = []
    if accel is not None:
        block = read_upto(probe.file, accel.data_offset, min(accel.data_size, MAX_3GF))
        count = record_count(block)
        if count:
            accel_raw = [Extent(accel.data_offset, count * ACCEL.size)]
            streams = (accel_stream(block, count, accel_raw[0], ACCEL),)
    t = to_telemetry(
        SOURCE,
        records,
        raw=raw,
        camera=camera,
        creation_time=movie.creation_time if movie else None,
        duration=movie.duration if movie else None,
        info={"records": len(records), "container": "free box (gps , 3gf )"},
        warnings=warnings,
    )
    raw_files = (*t.raw_files, *(RawFile("3gf.raw", (e,)) for e in accel_raw))
    return dataclasses.replace(t, streams=(*t.streams, *streams), raw_files=raw_files)


def read_nmea(data: bytes, base: int = 0) -> tuple[list[Record], list[ParseWarning]]:
    """The records of prefixed NMEA text, timed by RMC (UTC); video time from the prefix.

    Video time is camera time since the first line's prefix; a record with a
    UTC time gets its camera time from it (UTC minus the camera's offset), so
    it runs at the receiver's steady pace, not at the writer's jittering one.

    A record without a date of its own is dated from its line's prefix: the
    prefix plus the camera's offset from UTC learnt from the first dated
    record, or, in a log with no date at all, the NMEA time of day on the
    prefix's day, within 12 hours of the prefix.
    """
    starts: list[int] = []
    prefixes: list[int] = []
    for match in PREFIX.finditer(data):
        starts.append(base + match.start())
        prefixes.append(int(match.group(1)))
    reader = Reader()
    reader.feed(data, base)
    records = reader.finish()
    notes = [ParseWarning(None, w) for w in reader.warnings]
    if not records:
        records = _gll_records(data, base)  # some receivers log position as GLL only
    if not prefixes:
        return records, notes

    def prefix_of(record: Record) -> float | None:
        i = bisect.bisect_right(starts, record.offset if record.offset is not None else -1) - 1
        return prefixes[i] / 1000.0 if i >= 0 else None

    first = prefixes[0] / 1000.0
    offset: float | None = None
    for record in records:
        written = prefix_of(record)
        if record.utc is not None and written is not None:
            offset = record.utc - written
            break
    if any(r.utc is None for r in records):
        # Again, with the camera's day as the date the first sentences lack.
        dated = Reader()
        dated.midnight = (first + (offset or 0.0)) // DAY * DAY
        dated.feed(data, base)
        again = dated.finish() or [
            dataclasses.replace(r, utc=dated.midnight + float(dict(r.extra)["gll_clock_s"] or 0))
            for r in records
        ]
        if len(again) == len(records):
            records = [
                _dated(r, a.utc, prefix_of(r), offset) if r.utc is None else r
                for r, a in zip(records, again, strict=True)
            ]
    out = []
    for record in records:
        # From the UTC where there is one: the prefixes jitter with the write lag.
        if record.utc is not None and offset is not None:
            camera: float | None = record.utc - offset
        else:
            camera = prefix_of(record)
        video_time = None if camera is None else round(camera - first, 3)
        out.append(dataclasses.replace(record, video_time=video_time))
    return out, notes


def _gll_records(data: bytes, base: int) -> list[Record]:
    """Records of ``$xxGLL,lat,N|S,lon,E|W,hhmmss,A|V`` sentences, undated (time of day only
    is known: ``_dated`` puts them on the camera's day)."""
    out = []
    for match in GLL.finditer(data):
        lat_raw, ns, lon_raw, ew, h, m, sec, status = match.groups()
        try:
            lat, lon = float(lat_raw), float(lon_raw)
        except ValueError:
            continue
        clock = int(h) * 3600 + int(m) * 60 + float(sec)
        out.append(
            Record(
                # Seconds of the day: a date comes from the prefix (see read_nmea).
                utc=None,
                status=status.decode("ascii"),
                lat=ddmm(lat, ns.decode("ascii")),
                lon=ddmm(lon, ew.decode("ascii")),
                offset=base + match.start(),
                extra=(("gll_clock_s", clock),),
            )
        )
    return out


def _dated(record: Record, utc: float | None, camera: float | None, offset: float | None) -> Record:
    if utc is None or camera is None:
        return record
    target = camera + (offset or 0.0)
    return dataclasses.replace(record, utc=utc + round((target - utc) / DAY) * DAY)


def record_count(block: bytes) -> int:
    """How many whole 10-byte ``.3gf`` records come before the 0xFFFFFFFF end mark."""
    size = ACCEL.size
    count = len(block) // size
    for i in range(count):
        if block[i * size : i * size + 4] == END:
            return i
    return count


def accel_stream(block: bytes, count: int, extent: Extent, codec: StreamCodec) -> Stream:
    """The first ``count`` (> 0) records of ``block`` as one chunk: rows spread from the
    first record's time to the last's (their own times are the ``camera_ms`` column)."""
    first = int.from_bytes(block[:4], "big") / 1000.0
    last = int.from_bytes(block[(count - 1) * ACCEL.size :][:4], "big") / 1000.0
    span = (last - first) * count / (count - 1) if count > 1 and last > first else None
    return Stream(
        name="3gf",
        fourcc="3gf ",
        device=None,
        label="BlackVue accelerometer (g)",
        columns=ACCEL_COLUMNS,
        sample_count=count,
        chunks=(Chunk(extent, count, first, span),),
        codec=codec,
    )


def held_accel_stream(block: bytes) -> Stream | None:
    """The accelerometer of a ``.3gf`` read from a file other than the served one."""
    count = record_count(block)
    if not count:
        return None
    held = HeldRecords(ACCEL, block[: count * ACCEL.size])
    return accel_stream(held.data, count, Extent(0, 1), held)


def model_of(cprt: bytes) -> str | None:
    """The model in a ``cprt`` box: JSON ``{"model": ...}`` or ``Pittasoft...;<model>;...``."""
    text = cprt.split(b"\0", 1)[0].decode("utf-8", "replace").strip()
    start = text.find("{")
    if start >= 0:
        try:
            model = json.loads(text[start:]).get("model")
        except (ValueError, AttributeError):
            model = None
        return model.strip() or None if isinstance(model, str) else None
    parts = text.split(";")
    return (parts[1].strip() or None) if len(parts) > 1 else None
