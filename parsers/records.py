"""What every dashcam parser shares: the decoded record, unit conversions, and
turning a list of records into the common :class:`~.model.Telemetry`.

Dashcam formats (Novatek freeGPS and its many firmware variants, 70mai, MAP
CAM, SigmaStar, LigoGPS, NMEA logs) differ in bytes but not in substance: a
time, a fix status, a position in NMEA's DDDmm.mmmm or in degrees, a speed in
knots or km/h, a course. Each format module decodes its bytes into
:class:`Record` objects and leaves the verdict to :func:`judge`, so that every
format flags garbage the same way:

- a record without a fix (status ``V``, or no coordinates at cold start) is
  kept with ``fix = none`` and ``valid = False``: it stays in the CSV and out
  of the GPX (sergei.nz readers: "empty coordinates when the engine just
  started");
- impossible values (latitude beyond 90 degrees, 0/0, a speed no car reaches)
  make the record invalid and add one warning per kind of damage.

Times are kept as recorded and read as UTC; whether a camera wrote local time
is decided once per file by :mod:`.timebase` and reported, not applied.
"""

from __future__ import annotations

import calendar
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from telemetryfs.parsers.fastbuild import new_gps_sample
from telemetryfs.parsers.model import (
    FIX_2D,
    FIX_NONE,
    Extent,
    GpsSample,
    ParseWarning,
    RawFile,
    Stream,
    Telemetry,
    Value,
)

log = logging.getLogger(__name__)

KNOTS = 1852.0 / 3600.0  # m/s per knot (exact, by the definition of the nautical mile)
KMH = 1.0 / 3.6  # m/s per km/h
MPH = 1609.344 / 3600.0  # m/s per mile per hour

# Faster than any camera carrier, the sergei.nz threshold "for the ones that
# might use the dashcams in their light aircraft": a recorded speed above it
# is corruption (the 70mai coverage files hold 33594 km/h).
MAX_SPEED = 1000.0  # m/s

# The widest civil time-zone offset is UTC+14; a camera date further from the
# GPS date than this is a clock that was never set.
MAX_ZONE = 14 * 3600


@dataclass(frozen=True, slots=True)
class Record:
    """One GPS record as a dashcam stored it: decoded, not yet judged.

    ``utc`` is the recorded date and time read as UTC (POSIX seconds);
    ``status`` is ``"A"`` (fix) or ``"V"`` (no fix), None when the layout has
    none; ``lat``/``lon`` are signed degrees; ``speed`` m/s; ``extra`` holds
    every other decoded field, raw values included, by column name; ``doubt``
    says why the coordinates cannot be trusted (enciphered, unknown scale).
    """

    utc: float | None = None
    status: str | None = None
    lat: float | None = None
    lon: float | None = None
    speed: float | None = None
    course: float | None = None
    ele: float | None = None
    video_time: float | None = None
    offset: int | None = None
    fix: int | None = None
    dop: float | None = None
    extra: tuple[tuple[str, Value], ...] = ()
    doubt: str | None = None


def ddmm(value: float | None, hemisphere: str | None = None) -> float | None:
    """NMEA DDDmm.mmmm to signed degrees; None when the minutes are not minutes.

    A negative value keeps its sign (some firmware signs instead of using S/W);
    ``hemisphere`` ``S`` or ``W`` makes the result negative.
    """
    if value is None or not math.isfinite(value):
        return None
    magnitude = abs(value)
    degrees = int(magnitude // 100)
    minutes = magnitude - degrees * 100
    if minutes >= 60.0:
        return None
    result = degrees + minutes / 60.0
    if value < 0 or hemisphere in ("S", "W"):
        result = -result
    return result


def posix(year: int, month: int, day: int, hour: int, minute: int, second: float) -> float | None:
    """A calendar date and time read as UTC, or None when it is not a date.

    Two-digit years (Novatek writes ``year - 2000``) are taken as 20xx.
    """
    if 0 <= year < 100:
        year += 2000
    if not (
        1990 <= year <= 2200
        and 1 <= month <= 12
        and 1 <= day <= calendar.monthrange(year, month)[1]
        and 0 <= hour < 24
        and 0 <= minute < 60
        and 0 <= second < 61
    ):
        return None
    return calendar.timegm((year, month, day, hour, minute, 0, 0, 0, 0)) + float(second)


def field_text(raw: bytes) -> str:
    """A fixed-width text field: up to the first NUL, decoded so that it never fails."""
    return raw.split(b"\0", 1)[0].decode("latin-1").strip()


def judge(record: Record, extra: tuple[Value, ...] = ()) -> tuple[GpsSample, str | None]:
    """The GpsSample of a record (with ``extra`` as its extra values) and, when it is
    invalid for a bad reason, why.

    No fix is not a bad reason: it is what a camera writes before it has one.
    """
    fix = record.fix
    reason: str | None = None
    no_position = record.lat is None or record.lon is None
    # A record in doubt (enciphered coordinates) had a fix all the same.
    no_fix = record.status not in (None, "A") or (no_position and record.doubt is None)
    if no_fix:
        fix = FIX_NONE
    elif fix is None and record.status == "A":
        fix = FIX_2D
    if record.doubt is not None:
        reason = record.doubt
    elif not no_fix:
        reason = _implausible(record)
    # Positional, through the fast constructor: a dashcam hour has 3,600-72,000 records.
    sample = new_gps_sample(
        record.utc,
        record.video_time,
        record.lat,
        record.lon,
        record.ele,
        record.speed,  # speed_2d
        None,  # speed_3d
        record.course,
        fix,
        record.dop,
        not no_fix and not no_position and reason is None,  # valid
        extra,
    )
    return sample, reason


def _implausible(record: Record) -> str | None:
    lat, lon = record.lat or 0.0, record.lon or 0.0
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return "coordinates are not numbers"
    if abs(lat) > 90.0 or abs(lon) > 180.0:
        return "coordinates out of range"
    if lat == 0.0 and lon == 0.0:
        return "coordinates 0/0 (a receiver placeholder)"
    if record.speed is not None and not (0.0 <= record.speed <= MAX_SPEED):
        return f"speed out of range (above {MAX_SPEED:.0f} m/s or negative)"
    return None


def columns_of(records: Iterable[Record]) -> tuple[str, ...]:
    """The extra column names of a set of records, in order of first appearance."""
    seen: dict[str, None] = {}
    for record in records:
        for key, _ in record.extra:
            seen.setdefault(key, None)
    return tuple(seen)


def merge_extents(extents: Iterable[Extent]) -> tuple[Extent, ...]:
    """Adjacent byte ranges joined, order kept (a raw stream served byte for byte)."""
    merged: list[Extent] = []
    for extent in extents:
        if extent.size <= 0:
            continue
        if merged and merged[-1].offset + merged[-1].size == extent.offset:
            last = merged.pop()
            extent = Extent(last.offset, last.size + extent.size)
        merged.append(extent)
    return tuple(merged)


@dataclass(frozen=True, slots=True)
class Source:
    """How a format names its GPS stream, for :func:`to_telemetry`."""

    format: str
    fourcc: str
    label: str


def to_telemetry(
    source: Source,
    records: Sequence[Record],
    *,
    raw: Iterable[Extent] = (),
    camera: str | None = None,
    creation_time: float | None = None,
    duration: float | None = None,
    info: Mapping[str, Any] | None = None,
    warnings: Sequence[ParseWarning] = (),
    error: str | None = None,
) -> Telemetry:
    """Judge the records and assemble the Telemetry of one file.

    Every record becomes one GpsSample, valid or not; the damage found is
    summarised as one warning per reason (with the count and the first offset).
    """
    names = columns_of(records)
    samples: list[GpsSample] = []
    damage: dict[str, list[int | None]] = {}
    for record in records:
        if tuple(k for k, _ in record.extra) == names:  # the usual case: every column, in order
            extra = tuple(v for _, v in record.extra)
        else:
            values = dict(record.extra)
            extra = tuple(values.get(n) for n in names)
        sample, reason = judge(record, extra)
        samples.append(sample)
        if reason is not None:
            damage.setdefault(reason, []).append(record.offset)
    summary = [
        ParseWarning(
            offsets[0], reason if len(offsets) == 1 else f"{reason} ({len(offsets)} records)"
        )
        for reason, offsets in damage.items()
    ]
    pieces = merge_extents(raw)
    return Telemetry(
        format=source.format,
        camera=camera,
        gps=tuple(samples),
        gps_stream="gps" if samples else None,
        extra_columns=names,
        streams=(
            Stream(
                name="gps",
                fourcc=source.fourcc,
                device=None,
                label=source.label,
                columns=(),
                sample_count=len(samples),
            ),
        )
        if samples
        else (),
        raw_files=(RawFile("gps.raw", pieces),) if pieces else (),
        duration=duration,
        creation_time=creation_time,
        info=dict(info or {}),
        warnings=(*warnings, *summary),
        error=error,
    )


def first_fix_time(records: Iterable[Record]) -> float | None:
    """The recorded time of the first record with a plausible fix, if any has a time."""
    for record in records:
        sample, reason = judge(record)
        if sample.valid and reason is None and record.utc is not None:
            return record.utc
    return None


def clock_before_first_fix(records: Sequence[Record]) -> float | None:
    """The time of the last no-fix record before the first fix: the camera's own clock.

    Many firmwares stamp cold-start records from the real-time clock and fix
    records from the receiver (one of the two is local time): the step between
    them is the evidence :func:`.timebase.detect_offset` needs.
    """
    last: float | None = None
    for record in records:
        sample, _ = judge(record)
        if sample.valid:
            return last
        if sample.fix == FIX_NONE and record.utc is not None:
            last = record.utc
    return None
