"""GoPro GPS: the track's samples from GPS9, GPS5 or Karma GPRI blocks, their UTC and validity.

Time (spec "GPMF Timing and Clocks"; gopro-telemetry ``timeKLV.js``):
- video time: samples spread evenly over their payload's duration;
- GPS5 UTC: the payload's GPSU is the first sample's time; the others are
  spread up to the next payload's GPSU, so no two samples share a time;
- GPS9 (HERO11+) carries its own time (days since 2000, seconds of day);
- Karma GPRI times are system times, mapped to UTC through the SYST pairs by
  piecewise-linear interpolation (as exiftool's ConvertSystemTime does).

A sample is invalid without a UTC time, with a fix worse than 2D, or with
coordinates off the Earth or at the 0/0 of a receiver without a fix.

Quirks:
- GPSU can be garbage (gpmf-parser #162: ``5509100082240400``), stuck, or a
  year before the GPS had a fix: such payloads get a time derived from their
  neighbours, with a warning;
- HERO11 and later write GPS5 and GPS9 for the same fixes: the track uses
  GPS9 only, both stay available as streams;
- Karma's GPRI is MAVLink GPS_RAW_INT: fix_type 0/1 mean no fix, eph is HDOP x100.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

from telemetryfs.parsers.encodings.gpmf import GPS5, GPS9
from telemetryfs.parsers.fastbuild import new_gps_sample
from telemetryfs.parsers.formats.gopro import gps_columns
from telemetryfs.parsers.formats.gopro.gps_blocks import GpsBlock, Times
from telemetryfs.parsers.formats.gopro.gps_columns import GPS_EPOCH_2000, MAX_UTC, MIN_UTC
from telemetryfs.parsers.model import GpsSample, ParseWarning
from telemetryfs.parsers.track import COLUMNS_FROM

GPRI = b"GPRI"
SYST = b"SYST"
# Track stream preference: GPS9 (own time, fix, DOP) over GPS5; Karma drones have GPRI only.
GPS_KEYS = (GPS9, GPS5, GPRI)
# GoPro writes one payload per 1.001 s (29.97 fps timebase); gopro-telemetry
# invents the same 1001 ms for a lone payload.
NOMINAL_PAYLOAD = 1.001


def _choose_gps(blocks: list[GpsBlock]) -> tuple[bytes | None, list[GpsBlock]]:
    """The track's stream: GPS9 over GPS5 over GPRI; of several devices, the one with most data."""
    for key in GPS_KEYS:
        mine = [b for b in blocks if b.key == key]
        if mine:
            counts: dict[int | str, int] = {}
            for b in mine:
                counts[b.device] = counts.get(b.device, 0) + b.count
            device = max(counts, key=lambda d: counts[d])
            return key, [b for b in mine if b.device == device]
    return None, []


def _gps_samples(
    key: bytes,
    blocks: list[GpsBlock],
    times: Times,
    warnings: list[ParseWarning],
    syst: Iterable[tuple[float, float]],
) -> Sequence[GpsSample]:
    """The track from the chosen GPS stream's blocks (``syst``: Karma's SYST anchors)."""
    out: list[GpsSample] = []
    if key == GPS5:
        anchors = _gps5_anchors(blocks, times, warnings)
        track = gps_columns.gps5_track(blocks, times, anchors)
        if track is not None:
            return track if len(track) >= COLUMNS_FROM else tuple(track)
        for block, (anchor, span) in zip(blocks, anchors, strict=True):
            out.extend(_gps5_block(block, times[block.payload], anchor, span))
    elif key == GPS9:
        track = gps_columns.gps9_track(blocks, times, warnings)
        if track is not None:
            return track if len(track) >= COLUMNS_FROM else tuple(track)
        for block in blocks:
            out.extend(_gps9_block(block, times[block.payload], warnings))
    else:
        anchors_syst = sorted(syst)
        for block in blocks:
            out.extend(_gpri_block(block, times[block.payload], anchors_syst))
    return tuple(out)


def _video_times(n: int, time: tuple[float | None, float | None]) -> list[float | None]:
    start, dur = time
    if start is None:
        return [None] * n
    return [start + i * (dur or 0.0) / n for i in range(n)]


def _gps5_block(
    block: GpsBlock, time: tuple[float | None, float | None], anchor: float | None, span: float
) -> list[GpsSample]:
    """GPS5 rows: lat, lon, alt, 2D speed, 3D speed; fix and DOP are the payload's."""
    d0, d1, d2, d3, d4 = block.div[:5]
    n, fix, dop = len(block.rows), block.fix, block.dop
    fix_ok = not (fix is not None and fix < 2) and anchor is not None
    videos = _video_times(n, time)
    # The hot loop of a GoPro track (65,000 samples an hour): samples built by
    # the fast constructor; the time arithmetic is unchanged.
    out = []
    for i, r in enumerate(block.rows):
        utc = anchor + i * span / n if anchor is not None else None
        lat, lon = r[0] / d0, r[1] / d1
        valid = fix_ok and _in_range(lat, lon)
        out.append(
            new_gps_sample(
                utc, videos[i], lat, lon, r[2] / d2, r[3] / d3, r[4] / d4, None, fix, dop, valid, ()
            )
        )
    return out


def _gps9_block(
    block: GpsBlock, time: tuple[float | None, float | None], warnings: list[ParseWarning]
) -> list[GpsSample]:
    """GPS9 rows: lat, lon, alt, 2D, 3D, days since 2000, seconds of day, DOP, fix."""
    d = block.div
    videos = _video_times(len(block.rows), time)
    out = []
    for i, r in enumerate(block.rows):
        utc = _gps9_utc(r[5] / d[5], r[6] / d[6])
        if utc is None:
            warnings.append(ParseWarning(block.offset, f"GPS9 time out of range: {r[5:7]}"))
        lat, lon, fix = r[0] / d[0], r[1] / d[1], int(r[8] / d[8])
        valid = fix >= 2 and utc is not None and _in_range(lat, lon)
        speeds = (r[3] / d[3], r[4] / d[4])
        out.append(
            new_gps_sample(
                utc, videos[i], lat, lon, r[2] / d[2], *speeds, None, fix, r[7] / d[7], valid, ()
            )
        )
    return out


def _gpri_block(
    block: GpsBlock, time: tuple[float | None, float | None], syst: list[tuple[float, float]]
) -> list[GpsSample]:
    """Karma GPRI (MAVLink GPS_RAW_INT): time, lat, lon, alt, eph, epv, vel, cog, fix, sats."""
    d = block.div
    videos = _video_times(len(block.rows), time)
    out = []
    for i, r in enumerate(block.rows):
        utc = _system_to_utc(r[0] / d[0], syst)
        fix_type = r[8] / d[8]
        fix = 0 if fix_type < 2 else 2 if fix_type == 2 else 3  # 0/1: no fix; 4+: DGPS, RTK
        lat, lon = r[1] / d[1], r[2] / d[2]
        valid = fix >= 2 and utc is not None and _in_range(lat, lon)
        motion = (r[6] / d[6], None, r[7] / d[7])  # ground speed, no 3D speed, course
        out.append(
            new_gps_sample(
                utc, videos[i], lat, lon, r[3] / d[3], *motion, fix, r[4] / d[4], valid, ()
            )
        )
    return out


def _in_range(lat: float, lon: float) -> bool:
    """Coordinates on Earth and not the 0/0 a receiver reports before its first fix."""
    return -90 <= lat <= 90 and -180 <= lon <= 180 and not (lat == 0 and lon == 0)


def _gps5_anchors(
    blocks: list[GpsBlock], times: Times, warnings: list[ParseWarning]
) -> list[tuple[float | None, float]]:
    """Each GPS5 payload's first-sample UTC (its GPSU) and the span its samples cover.

    A GPSU that is garbage, or does not advance, is replaced by a neighbour's
    GPSU moved by the video-time distance between the payloads.
    """
    valid: list[float | None] = []
    last = None
    for b in blocks:
        t = b.gpsu
        if t is None and b.gpsu_raw:
            warnings.append(ParseWarning(b.offset, f"bad GPSU {b.gpsu_raw!r}: time derived"))
        elif t is not None and last is not None and t <= last:
            warnings.append(ParseWarning(b.offset, f"GPSU {b.gpsu_raw!r} does not advance"))
            t = None
        last = t if t is not None else last
        valid.append(t)
    known = [i for i, t in enumerate(valid) if t is not None]
    anchors: list[float | None] = []
    for i, b in enumerate(blocks):
        t = valid[i]
        if t is None and known:
            j = max((k for k in known if k < i), default=known[0])
            s_i, s_j = times[b.payload][0], times[blocks[j].payload][0]
            t_j = valid[j]
            t = t_j + (s_i - s_j) if s_i is not None and s_j is not None and t_j else None
        anchors.append(t)
    out: list[tuple[float | None, float]] = []
    for i, b in enumerate(blocks):
        dur = times[b.payload][1] or NOMINAL_PAYLOAD
        span = dur
        a, nxt = anchors[i], anchors[i + 1] if i + 1 < len(anchors) else None
        if a is not None and nxt is not None and 0 < nxt - a < max(3 * dur, dur + 2):
            span = nxt - a
        out.append((a, span))
    return out


def _gps9_utc(days: float, seconds: float) -> float | None:
    """GPS9 days since 2000-01-01 and seconds since midnight, as POSIX seconds (UTC)."""
    utc = GPS_EPOCH_2000 + days * 86400 + seconds
    return utc if MIN_UTC <= utc < MAX_UTC else None


def _system_to_utc(t: float, syst: list[tuple[float, float]]) -> float | None:
    """Map a Karma system time to UTC through the SYST pairs (exiftool ConvertSystemTime)."""
    if not syst:
        return None
    if len(syst) == 1:
        return syst[0][1] + (t - syst[0][0])
    i = bisect.bisect_right([s for s, _ in syst], t)
    i = min(max(i, 1), len(syst) - 1)
    (s0, u0), (s1, u1) = syst[i - 1], syst[i]
    if s1 == s0:
        return u0
    return u0 + (u1 - u0) * (t - s0) / (s1 - s0)
