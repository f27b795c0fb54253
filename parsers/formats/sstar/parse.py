"""SigmaStar (SStar) firmware: GPS as constant 40-byte samples in an ``ssmd`` meta track.

Neoline Spectrum mirror and 4K cameras (file names ``INF20260520-143412-26-F.mp4``).
Sample layout, little-endian (facts from dashcamigo's docs/format-sstar-ssmd.md,
checked against its three anonymised real clips):

====== ====== =============================================================
offset type   meaning
====== ====== =============================================================
0      f64    latitude, decimal degrees (4294967295.0 when there is no fix)
8      f64    longitude, same
16     i32    altitude-like, not trusted (kept raw)
20     u16    speed, km/h (0xFFFF when there is no fix)
22     u16    flags: a per-camera base (0x047E, 0x067E) + 0x0100 when fixed
24     u8 x4  day of month, hour, minute, second: no year, no month
28     u8     course / 2; 0 also means "not updated" (the last course is kept)
32     u32    0 until the first fix after power-up, then 1
====== ====== =============================================================

Quirks:

- the day and time are the GPS clock (UTC) on fix rows and the camera's
  real-time clock (local) on no-fix rows; no-fix rows therefore get no UTC
  time (the value is kept in ``rtc_time``);
- the year and month come from the date in the file name (camera local, so
  the UTC date is within a day of it), else from the mvhd creation time;
- a GPS clock that steps against the media time (cold start, not yet
  synced) makes the fixes before the step invalid;
- under weak signal the receiver invents a smooth, fully flagged track at
  highway speed (dashcamigo's "phantom track", verified frame by frame): when
  most rows have no fix and most fix pairs move at a speed that contradicts
  their own speed field, every fix of the file is marked invalid.
"""

from __future__ import annotations

import calendar
import itertools
import logging
import math
import struct
import time
from dataclasses import replace
from typing import BinaryIO

from telemetryfs.parsers import timebase
from telemetryfs.parsers.binio import read_upto
from telemetryfs.parsers.containers import mp4
from telemetryfs.parsers.errors import ParseError, UnsupportedError
from telemetryfs.parsers.model import Extent, Telemetry, Value
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.records import KMH, Record, Source, first_fix_time, to_telemetry

log = logging.getLogger(__name__)

SOURCE = Source(format="sstar-ssmd", fourcc="ssmd", label="SigmaStar ssmd GPS")
SAMPLE = 40
FIX_BIT = 0x0100
NO_FIX = 4294967295.0  # the coordinate sentinel of no-fix rows
_ROW = struct.Struct("<ddiHH4BB3BII")
_CLOCK_SLACK = 3.0  # s: GPS clock steps that differ more from media time mean "not synced"
_EARTH = 6_371_008.8  # m, mean radius


def find_track(movie: mp4.Movie) -> mp4.Track | None:
    """The first ``ssmd`` meta track (the GPS one has constant 40-byte samples)."""
    for track in movie.tracks:
        if track.sample_format == b"ssmd" and track.handler == b"meta":
            return track
    return None


def _gps_samples(f: BinaryIO, movie: mp4.Movie) -> list[mp4.Sample]:
    for track in movie.tracks:
        if track.sample_format != b"ssmd":
            continue
        try:
            samples = mp4.read_samples(f, track)
        except ParseError as exc:
            log.debug("ssmd track %s: %s", track.path, exc)
            continue
        if samples and all(s.size == SAMPLE for s in samples) and _looks_like_gps(f, samples[0]):
            return samples
    return []


def _looks_like_gps(f: BinaryIO, sample: mp4.Sample) -> bool:
    row = read_upto(f, sample.offset, SAMPLE)
    if len(row) < SAMPLE:
        return False
    flags = struct.unpack_from("<H", row, 22)[0] & ~FIX_BIT
    day, hour, minute, second = row[24:28]
    return flags & 0x00FF == 0x7E and day <= 31 and hour < 24 and minute < 60 and second < 61


def parse_row(row: bytes, offset: int, start: float) -> tuple[Record, tuple[int, int, int, int]]:
    """One sample as a record (no date yet) and its day, hour, minute, second."""
    lat, lon, alt, speed, flags, day, hour, minute, second, half, *_ = _ROW.unpack(row)
    fixed = bool(flags & FIX_BIT) and lat != NO_FIX and lon != NO_FIX
    extra: list[tuple[str, Value]] = [
        ("flags", f"0x{flags:04X}"),
        ("altitude_raw", alt),
        ("speed_kmh", None if speed == 0xFFFF else speed),
        ("course_raw", half),
    ]
    if not fixed:
        extra.append(("rtc_time", f"{day:02d} {hour:02d}:{minute:02d}:{second:02d}"))
    record = Record(
        status="A" if fixed else "V",
        lat=lat if fixed else None,
        lon=lon if fixed else None,
        speed=speed * KMH if fixed else None,
        course=half * 2.0 if fixed else None,
        video_time=start,
        offset=offset,
        extra=tuple(extra),
    )
    return record, (day, hour, minute, second)


def anchor_day(anchor: float, day: int, clock: tuple[int, int, int]) -> float | None:
    """The UTC time with this day of month and clock nearest to ``anchor`` (within a day)."""
    best: float | None = None
    for shift in (-1, 0, 1):
        y, mo, d = _ymd(anchor + shift * 86400)
        if d != day:
            continue
        t = float(calendar.timegm((y, mo, d, *clock, 0, 0, 0)))
        if best is None or abs(t - anchor) < abs(best - anchor):
            best = t
    return best


def _ymd(t: float) -> tuple[int, int, int]:
    g = time.gmtime(t)
    return g.tm_year, g.tm_mon, g.tm_mday


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """The track in a SigmaStar clip's 40-byte ``ssmd`` track.

    Raises:
        UnsupportedError: no such track.
        TruncatedError, MalformedError: the moov is damaged.
    """
    probe = Probe.of(source, name)
    f, movie = probe.file, probe.movie()
    if movie is None:
        raise UnsupportedError("no moov")
    samples = _gps_samples(f, movie)
    if not samples:
        raise UnsupportedError("no 40-byte ssmd GPS track")
    anchor = timebase.name_time(name) or movie.creation_time
    records = _read_rows(f, samples, anchor)
    records = _phantom_gate(_clock_sync(records))
    records = _fill_course(records)
    info: dict[str, object] = {
        "records": len(records),
        "clock": "fix rows: GPS UTC; no-fix rows: camera clock (rtc_time)",
    }
    if anchor is None:
        info["date"] = "unknown: no date in the file name or mvhd; rows carry only day and time"
    start = _video_start(records)
    if start is not None:
        info["video_start_utc"] = start
    shift = timebase.detect_offset(first_fix_time(records), movie.creation_time, name)
    if shift is not None:
        info["time_offset_detected_s"] = shift
    return to_telemetry(
        SOURCE,
        records,
        raw=[Extent(s.offset, s.size) for s in samples],
        creation_time=movie.creation_time,
        duration=movie.duration,
        info=info,
    )


def _read_rows(f: BinaryIO, samples: list[mp4.Sample], anchor: float | None) -> list[Record]:
    records = []
    # Every sample is SAMPLE bytes (checked before): the rows are the samples' bytes.
    for sample, row in mp4.iter_sample_data(f, samples):
        if len(row) < SAMPLE:
            break  # a file cut short
        record, (day, hour, minute, second) = parse_row(row, sample.offset, sample.start)
        if record.status == "A" and anchor is not None:
            record = replace(record, utc=anchor_day(anchor, day, (hour, minute, second)))
        records.append(record)
    return records


def _clock_sync(records: list[Record]) -> list[Record]:
    """Fixes before the last GPS-clock step that disagrees with media time are not synced."""
    fixes = [i for i, r in enumerate(records) if r.status == "A" and r.utc is not None]
    last_step = None
    for a, b in itertools.pairwise(fixes):
        ra, rb = records[a], records[b]
        dt_clock = (rb.utc or 0.0) - (ra.utc or 0.0)
        dt_media = (rb.video_time or 0.0) - (ra.video_time or 0.0)
        if abs(dt_clock - dt_media) > _CLOCK_SLACK:
            last_step = b
    if last_step is None:
        return records
    doubt = "GPS clock not yet synced (it steps against the media time later)"
    return [
        replace(r, doubt=doubt) if i < last_step and r.status == "A" else r
        for i, r in enumerate(records)
    ]


def _distance(a: Record, b: Record) -> float:
    coords = (a.lat or 0.0, a.lon or 0.0, b.lat or 0.0, b.lon or 0.0)
    if not all(math.isfinite(c) for c in coords):
        return math.inf  # a damaged float: no motion can explain it
    p1, p2 = math.radians(a.lat or 0.0), math.radians(b.lat or 0.0)
    dp, dl = p2 - p1, math.radians((b.lon or 0.0) - (a.lon or 0.0))
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH * math.asin(math.sqrt(min(1.0, max(0.0, h))))


def _phantom_gate(records: list[Record]) -> list[Record]:
    """Condemn every fix of a weak-signal clip whose motion contradicts its speed field."""
    fixes = [r for r in records if r.status == "A"]
    if not records or len(fixes) * 2 > len(records):
        return records
    pairs = contradictions = 0
    for a, b in itertools.pairwise(fixes):
        dt = (b.video_time or 0.0) - (a.video_time or 0.0)
        if not 0.5 <= dt <= 2.0 or a.speed is None:
            continue
        pairs += 1
        implied = _distance(a, b) / dt
        if abs(implied - a.speed) > max(15 * KMH, 0.5 * a.speed):
            contradictions += 1
    if pairs < 10 or contradictions * 2 < pairs:
        return records
    doubt = (
        "phantom track: weak signal, positions contradict the recorded speed "
        f"({contradictions} of {pairs} fix pairs)"
    )
    return [replace(r, doubt=doubt) if r.status == "A" else r for r in records]


def _fill_course(records: list[Record]) -> list[Record]:
    """A course of 0 while moving means "not updated": keep the previous one."""
    out = []
    last: float | None = None
    for r in records:
        if r.status == "A" and r.course == 0.0 and (r.speed or 0.0) > 0 and last is not None:
            r = replace(r, course=last)
        elif r.course is not None:
            last = r.course
        out.append(r)
    return out


def _video_start(records: list[Record]) -> float | None:
    """UTC of media time 0, from the first fix row (kept even for a phantom track)."""
    for r in records:
        if r.status == "A" and r.utc is not None and r.video_time is not None:
            return r.utc - r.video_time
    return None
