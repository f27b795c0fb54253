"""The Insta360 trailer: records at the end of an .insv, walked backwards from the footer.

Layout (telemetry-parser src/insta360, insta360-rs INSV_FORMAT.md, exiftool
QuickTimeStream.pl ProcessInsta360, seen on a OneR sample): the file ends
with a 72-byte footer - u32le trailer size at EOF-40, u32le version at
EOF-36, the 32-byte ASCII marker. Before the footer, each record is its
payload followed by a 6-byte header (u8 format, u8 id, u32le size), so the
walk goes from the footer towards the trailer's start, one header at a time
(an hour of 1 kHz IMU is 72-200 MB: only what is served is read).

- id 1: protobuf metadata: model (2), firmware (3), first frame time (24,
  on the IMU clock), raw IMU flag (62), accelerometer and gyro ranges (65);
- id 3: IMU, u64le camera time then accelerometer and gyro x/y/z, either
  six f64 (g, rad/s; 56-byte entries) or, when the metadata says raw, six
  u16 around 0x8000 in full-scale counts (20-byte entries);
- id 4 (and 12, a second sensor): exposure, u64le camera time, f64 seconds;
- id 7: GPS, 53-byte entries.
The camera times are microseconds (the exposure times step by 33,367 at
29.97 fps, and the metadata's first GPS time, in ms, is its first frame
time / 1000). The other records stay raw files.
"""

from __future__ import annotations

import itertools
import struct
from dataclasses import dataclass, replace
from typing import Any, BinaryIO

import numpy as np

from telemetryfs.parsers.binio import read_upto
from telemetryfs.parsers.encodings.fixed_records import FixedRecords
from telemetryfs.parsers.errors import (
    MalformedError,
    TruncatedError,
    UnsupportedError,
)
from telemetryfs.parsers.model import Chunk, Extent, ParseWarning, RawFile, Stream, Telemetry
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.records import Record, Source, to_telemetry

MARKER = b"8db42d694ccc418790edff439fe026bf"
FOOTER = 72
HEADER = 6
METADATA_ID = 1
IMU_ID = 3
EXPOSURE_IDS = {4: "exposure", 12: "exposure2"}
GPS_ID = 7
GPS_ENTRY = struct.Struct("<QHcdcdcddd")  # 53 bytes
MAX_METADATA = 1 << 20
MAX_GPS = 32 << 20  # days of 10 Hz fixes
MAX_RECORDS = 4096  # a walk longer than this is not a trailer
CHUNK_ROWS = 4096  # rows per stream chunk: reads decode only what they touch
EXACT_TIMES_BYTES = 16 << 20  # records up to this are read whole to time every entry
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
    12: "exposure2",
}
# Ranges when the metadata gives none (telemetry-parser's defaults).
DEFAULT_ACCEL_RANGE_G = 16
DEFAULT_GYRO_RANGE_DPS = 2000
TIME_SPEC, TIME_WIDTH = "%20d", 20  # u64
DOUBLE_SPEC, DOUBLE_WIDTH = "%23.15e", 23  # any f64, NaN and inf included
RAW_IMU = "<Q6H"
FLOAT_IMU = "<Q6d"
EXPOSURE = FixedRecords("<Qd", (1, 1), (TIME_SPEC, DOUBLE_SPEC), (TIME_WIDTH, DOUBLE_WIDTH))


@dataclass(frozen=True, slots=True)
class TrailerRecord:
    """One record of the trailer: its id and where its payload lies in the file."""

    id: int
    format: int
    offset: int
    size: int

    @property
    def extent(self) -> Extent:
        return Extent(self.offset, self.size)


@dataclass(frozen=True, slots=True)
class Metadata:
    """What the protobuf metadata record says that the streams need."""

    model: str | None = None
    firmware: str | None = None
    first_frame_us: int | None = None
    raw_imu: bool | None = None
    accel_range_g: int | None = None
    gyro_range_dps: int | None = None


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """GPS, IMU and exposure streams, and raw records, from the trailer of an Insta360 file.

    Raises:
        UnsupportedError: the file does not end with the Insta360 marker.
        TruncatedError, MalformedError: the trailer's sizes do not fit the file.
    """
    probe = Probe.of(source, name)
    if not probe.tail.endswith(MARKER) or probe.size < FOOTER:
        raise UnsupportedError("no Insta360 trailer marker at the end of the file")
    footer_at = probe.size - FOOTER
    trailer_size, version = struct.unpack_from("<II", probe.tail, len(probe.tail) - 40)
    if not FOOTER <= trailer_size <= probe.size:
        raise MalformedError(f"trailer size {trailer_size} does not fit the file", footer_at)
    records = _walk(probe.file, probe.size - trailer_size, footer_at)
    meta = Metadata()
    for record in records:
        if record.id == METADATA_ID:
            meta = _metadata(_payload(probe.file, record, MAX_METADATA))
    gps: list[Record] = []
    raws: list[RawFile] = []
    extents: list[Extent] = []
    streams: list[Stream] = []
    warnings: list[ParseWarning] = []
    for record in records:
        if record.id == GPS_ID:
            gps += _gps(_payload(probe.file, record, MAX_GPS), record.offset)
            extents.append(record.extent)
            continue
        if record.id == IMU_ID and record.size:
            stream, note = _imu_stream(probe.file, record, meta)
            streams += [stream] if stream else []
            warnings += [note] if note else []
        elif record.id in EXPOSURE_IDS and record.size:
            stream = _exposure_stream(probe.file, record, meta)
            streams += [stream] if stream else []
        label = RECORD_NAMES.get(record.id, f"record{record.id}")
        if record.size:
            raws.append(RawFile(f"insta360-{record.id}-{label}.raw", (record.extent,)))
    telemetry = to_telemetry(
        SOURCE,
        gps,
        raw=extents,
        camera=meta.model,
        info={"trailer_version": version, "records": [r.id for r in records]},
        warnings=warnings,
    )
    telemetry = replace(telemetry, streams=(*telemetry.streams, *streams))
    return _with(telemetry, raws, meta.firmware, probe)


def _walk(f: BinaryIO, start: int, end: int) -> list[TrailerRecord]:
    """Every record between ``start`` and ``end`` (the footer), from the last to the first."""
    found: list[TrailerRecord] = []
    pos = end
    while pos - start >= HEADER and len(found) < MAX_RECORDS:
        header = read_upto(f, pos - HEADER, HEADER)
        if len(header) != HEADER:
            raise TruncatedError("trailer cut short", pos - HEADER)
        fmt, rec_id, size = struct.unpack("<BBI", header)
        if size > pos - HEADER - start:
            if found:
                break  # the walk reached bytes before the first record
            raise MalformedError(f"record {rec_id} claims {size} bytes", pos - HEADER)
        payload_at = pos - HEADER - size
        found.append(TrailerRecord(rec_id, fmt, payload_at, size))
        pos = payload_at
        if rec_id == 0 and size == 0:
            break
    return found


def _payload(f: BinaryIO, record: TrailerRecord, limit: int) -> bytes:
    size = min(record.size, limit)
    data = read_upto(f, record.offset, size)
    if len(data) != size:
        raise TruncatedError(f"record {record.id} cut short", record.offset)
    return data


def _imu_stream(
    f: BinaryIO, record: TrailerRecord, meta: Metadata
) -> tuple[Stream | None, ParseWarning | None]:
    """Record 3 as the ``imu`` stream: camera time, accelerometer (g), gyro."""
    raw = meta.raw_imu
    if raw is None:
        raw = _looks_raw(f, record)
    if raw:
        accel = meta.accel_range_g or DEFAULT_ACCEL_RANGE_G
        gyro = meta.gyro_range_dps or DEFAULT_GYRO_RANGE_DPS
        # Full scale is 32768 counts either side of 0x8000.
        a_div, g_div = 32768 / accel, 32768 / gyro
        a_spec, a_width = _fixed_spec(accel)
        g_spec, g_width = _fixed_spec(gyro)
        codec = FixedRecords(
            RAW_IMU,
            (1, a_div, a_div, a_div, g_div, g_div, g_div),
            (TIME_SPEC, *[a_spec] * 3, *[g_spec] * 3),
            (TIME_WIDTH, *[a_width] * 3, *[g_width] * 3),
            (0, *[0x8000] * 6),
        )
        gyro_unit = "dps"
    else:
        codec = FixedRecords(
            FLOAT_IMU, (1,) * 7, (TIME_SPEC, *[DOUBLE_SPEC] * 6), (TIME_WIDTH, *[DOUBLE_WIDTH] * 6)
        )
        gyro_unit = "rad_s"
    columns = (
        "camera_us",
        *(f"accel_{axis}_g" for axis in "xyz"),
        *(f"gyro_{axis}_{gyro_unit}" for axis in "xyz"),
    )
    label = f"Insta360 IMU (accelerometer g, gyro {gyro_unit.replace('_', '/')})"
    stream = _records_stream(f, record, "imu", columns, label, codec, meta)
    note = None
    if stream is not None and record.size % codec.size:
        note = ParseWarning(
            record.offset,
            f"IMU record: {record.size % codec.size} bytes after the last whole entry ignored",
        )
    return stream, note


def _exposure_stream(f: BinaryIO, record: TrailerRecord, meta: Metadata) -> Stream | None:
    name = EXPOSURE_IDS[record.id]
    return _records_stream(
        f, record, name, ("camera_us", "exposure_s"), f"Insta360 {name} (s)", EXPOSURE, meta
    )


def _looks_raw(f: BinaryIO, record: TrailerRecord) -> bool:
    """Without metadata, the entry size that divides the record (exiftool's rule); when both
    or neither do, a 56-byte entry has zero bytes where a 20-byte one has counts near 0x8000."""
    whole20, whole56 = record.size % 20 == 0, record.size % 56 == 0
    if whole20 != whole56:
        return whole20
    first = read_upto(f, record.offset, 20)
    return first[16:19] != b"\0\0\0"


def _records_stream(
    f: BinaryIO,
    record: TrailerRecord,
    name: str,
    columns: tuple[str, ...],
    label: str,
    codec: FixedRecords,
    meta: Metadata,
) -> Stream | None:
    """Whole entries of one record as a stream, in chunks of at most CHUNK_ROWS entries.

    Each row keeps its own camera time as the first column; the video time
    (0 at the first frame, on the same clock) comes from the chunks, whose
    rows are spread evenly. A record up to EXACT_TIMES_BYTES is read whole and
    cut wherever its entries are not evenly spaced (the first exposure entry
    of a clip can lie a second before the rest); a longer one (an hour of
    1 kHz IMU) is timed by its first and last entries alone.
    """
    size = codec.size
    count = record.size // size
    if not count:
        return None
    if record.size <= EXACT_TIMES_BYTES:
        data = _payload(f, record, record.size)[: count * size]
        times = np.frombuffer(data, dtype=np.dtype([("t", "<u8"), ("rest", f"V{size - 8}")]))["t"]
    else:
        last_at = record.offset + (count - 1) * size
        times = np.array([_time_at(f, record.offset), _time_at(f, last_at)], dtype=np.uint64)
    runs = _even_runs(times.astype(np.float64), count)
    zero = meta.first_frame_us
    chunks = []
    for first_row, rows, first_us, step_us in runs:
        extent = Extent(record.offset + first_row * size, rows * size)
        start = (first_us - zero) / 1e6 if zero is not None else None
        duration = rows * step_us / 1e6 if step_us and zero is not None else None
        chunks.append(Chunk(extent, rows, start, duration))
    return Stream(
        name=name,
        fourcc=f"{record.id:#06x}",
        device=None,
        label=label,
        columns=columns,
        sample_count=count,
        chunks=tuple(chunks),
        codec=codec,
    )


def _even_runs(
    times: np.ndarray[Any, Any], count: int
) -> list[tuple[int, int, float, float | None]]:
    """(first row, rows, first time, step) of runs of evenly spaced times, at most
    CHUNK_ROWS rows each. ``times`` holds every row's time, or just the first
    and last (then the rows are taken as evenly spaced)."""
    exact = len(times) == count
    cuts: list[int] = []
    if exact and count > 2:
        steps = np.diff(times)
        usual = float(np.median(steps))
        if usual > 0:
            uneven = (steps < usual / 2) | (steps > usual * 3 / 2)
            cuts = (np.flatnonzero(uneven) + 1).tolist()
            if len(cuts) > count // 8:  # no steady rate at all: chunks of CHUNK_ROWS
                cuts = []
    overall = (float(times[-1]) - float(times[0])) / (count - 1) if count > 1 else 0.0
    runs: list[tuple[int, int, float, float | None]] = []
    for begin, end in itertools.pairwise([0, *cuts, count]):
        for first in range(begin, end, CHUNK_ROWS):
            rows = min(CHUNK_ROWS, end - first)
            if exact:
                first_us = float(times[first])
                span = float(times[first + rows - 1]) - first_us
                step = span / (rows - 1) if rows > 1 and span > 0 else None
            else:
                first_us = float(times[0]) + first * overall
                step = overall if overall > 0 else None
            runs.append((first, rows, first_us, step))
    return runs


def _time_at(f: BinaryIO, offset: int) -> int:
    data = read_upto(f, offset, 8)
    if len(data) != 8:
        raise TruncatedError("record cut short", offset)
    return int.from_bytes(data, "little")


def _fixed_spec(full_scale: int) -> tuple[str, int]:
    """A %f spec wide enough for -full_scale (the most negative count, 0x0000)."""
    width = len(f"{-float(full_scale):.6f}")
    return f"%{width}.6f", width


def _gps(payload: bytes, base: int) -> list[Record]:
    out = []
    for at in range(0, len(payload) - GPS_ENTRY.size + 1, GPS_ENTRY.size):
        secs, ms, fix, lat, ns, lon, ew, speed, track, alt = GPS_ENTRY.unpack_from(payload, at)
        lat = -abs(lat) if ns == b"S" else lat
        # "O" (ouest) for west is seen too (exiftool's note).
        lon = -abs(lon) if ew in (b"W", b"O") else lon
        hemispheres_known = ns in (b"N", b"S") and ew in (b"E", b"W", b"O")
        # 0/0 is where a scrubbed or unfixed receiver reports, never a real point here.
        valid = fix == b"A" and hemispheres_known and (lat, lon) != (0.0, 0.0)
        out.append(
            Record(
                utc=secs + ms / 1000.0 if secs < 1 << 34 else None,
                status="A" if valid else "V",
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


def _metadata(payload: bytes) -> Metadata:
    """The fields of the protobuf metadata that name the camera and time the streams."""
    text: dict[int, str] = {}
    numbers: dict[int, int] = {}
    ranges: tuple[int | None, int | None] = (None, None)
    for number, kind, value in _fields(payload):
        if kind == 2 and number in (2, 3):
            assert isinstance(value, bytes)
            text[number] = value.decode("utf-8", "replace")
        elif kind == 2 and number == 65:  # GyroConfigInfo: 1 acc_range, 2 gyro_range
            assert isinstance(value, bytes)
            inner = {n: v for n, k, v in _fields(value) if k == 0 and isinstance(v, int)}
            ranges = (inner.get(1) or None, inner.get(2) or None)
        elif kind == 0 and isinstance(value, int):
            numbers[number] = value
    first_frame = numbers.get(24)
    return Metadata(
        model=text.get(2),
        firmware=text.get(3),
        first_frame_us=first_frame if first_frame else None,
        raw_imu=bool(numbers[62]) if 62 in numbers else None,
        accel_range_g=ranges[0],
        gyro_range_dps=ranges[1],
    )


def _fields(payload: bytes) -> list[tuple[int, int, int | bytes]]:
    """(number, wire type, value) of a protobuf message's top-level fields, up to damage."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(payload):
        key, pos = _varint(payload, pos)
        kind, number = key & 7, key >> 3
        if kind == 2:
            size, pos = _varint(payload, pos)
            if pos + size > len(payload):
                break
            out.append((number, kind, payload[pos : pos + size]))
            pos += size
        elif kind == 0:
            value, pos = _varint(payload, pos)
            out.append((number, kind, value))
        elif kind in (1, 5):
            pos += 8 if kind == 1 else 4
        else:
            break
    return out


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
    movie = probe.movie_if_readable()
    return replace(
        t,
        raw_files=(*t.raw_files, *raws),
        firmware=firmware,
        duration=movie.duration if movie else None,
        creation_time=movie.creation_time if movie else None,
    )
