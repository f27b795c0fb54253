"""``track.srt`` and ``track.vtt``: the telemetry as subtitles, one cue per second of video.

Cue ``n`` runs from ``n`` to ``n + 1`` seconds of video time (``video_time_s``,
so a player shows it in sync with the picture) and tells what the GPS said in
that second: the clock time, speed, altitude, coordinates and, where the format
records it (GoPro), the fix and its DOP. The sample shown is the first valid
fix in the second; a second without one says ``no GPS fix`` rather than
repeating an older position.

Choices:

- the number of cues is the video's whole seconds (``Telemetry.duration``
  rounded down); without a duration (a lone NMEA log) the track's last second
  ends them. Capped at ``MAX_CUES`` (a day), so a garbage duration cannot
  make a file of gigabytes;
- the time is UTC, or local time where info.json knows the zone (see
  render_clock.py), named on every cue (``2024-04-06 16:45:10 UTC+02:00``);
- samples without a video time (a lone NMEA log) are placed by their UTC
  time from the first one;
- ASCII text only, no markup: nothing a player could misread as a tag, and
  both formats' rules on ``-->`` and blank lines hold by construction.
"""

from __future__ import annotations

import bisect
import math
import threading
import weakref
from collections.abc import Sequence

import numpy as np

from telemetryfs.parsers.model import FIX_NAMES, GpsSample, Telemetry
from telemetryfs.parsers.track import GpsTrack

from .render_clock import Clock, clock_of
from .render_common import finite, ground_speed

MAX_CUES = 24 * 3600
NO_FIX = "no GPS fix"


def render_srt(telemetry: Telemetry) -> bytes:
    """SubRip: numbered cues, ``HH:MM:SS,mmm`` times, a blank line after each."""
    out = []
    for n, text in enumerate(cue_texts(telemetry)):
        out.append(f"{n + 1}\n{_stamp(n, ',')} --> {_stamp(n + 1, ',')}\n{text}\n\n")
    return "".join(out).encode("utf-8")


def render_vtt(telemetry: Telemetry) -> bytes:
    """WebVTT: the ``WEBVTT`` header, then cues with ``HH:MM:SS.mmm`` times."""
    out = ["WEBVTT\n\n"]
    for n, text in enumerate(cue_texts(telemetry)):
        out.append(f"{_stamp(n, '.')} --> {_stamp(n + 1, '.')}\n{text}\n\n")
    return "".join(out).encode("utf-8")


class _LastCues(threading.local):
    """The cue texts of the telemetry last asked for, in this thread: track.srt and
    track.vtt are made one after the other (rsync, the read-ahead worker) and show the
    same cues. Held by a weak reference: an evicted telemetry is never kept alive."""

    def __init__(self) -> None:
        self.of: weakref.ref[Telemetry] | None = None
        self.texts: list[str] = []


_last_cues = _LastCues()


def cue_texts(telemetry: Telemetry) -> list[str]:
    """The text of each second's cue, in order."""
    last = _last_cues.of
    if last is not None and last() is telemetry:
        return _last_cues.texts
    texts = _cue_texts(telemetry)
    _last_cues.of, _last_cues.texts = weakref.ref(telemetry), texts
    return texts


def _cue_texts(telemetry: Telemetry) -> list[str]:
    times, fixes = _timed_fixes(telemetry.gps)
    count = _cue_count(telemetry.duration, times)
    clock = clock_of(telemetry)
    shown: list[int | None] = []
    for second in range(count):
        i = bisect.bisect_left(times, float(second))
        shown.append(fixes[i] if i < len(times) and times[i] < second + 1 else None)
    # Only the shown samples are built (a sample a cue at most: an hour's track of
    # samples held at once weighed ~40 MB in a 3-hour recording).
    chosen = sorted({i for i in shown if i is not None})
    samples = dict(zip(chosen, _samples_at(telemetry.gps, chosen), strict=True))
    return [NO_FIX if i is None else _describe(samples[i], clock) for i in shown]


def _samples_at(gps: Sequence[GpsSample], indices: list[int]) -> Sequence[GpsSample]:
    if isinstance(gps, GpsTrack):
        return list(gps.take(np.array(indices, dtype=np.intp)))
    return [gps[i] for i in indices]


def _timed_fixes(gps: Sequence[GpsSample]) -> tuple[list[float], list[int]]:
    """The times and indices of the valid fixes with a finite position, sorted by
    their video time (the fixes of one time in track order)."""
    if isinstance(gps, GpsTrack):
        return _timed_fix_columns(gps)
    use_utc = all(s.video_time is None for s in gps)
    origin = next((s.utc for s in gps if finite(s.utc)), None) if use_utc else 0.0
    timed = []
    for index, s in enumerate(gps):
        when = s.utc if use_utc else s.video_time
        if not s.valid or origin is None or not finite(when):
            continue
        if finite(s.lat) and finite(s.lon):
            timed.append((when - origin, index))
    timed.sort(key=lambda pair: pair[0])
    return [t for t, _ in timed], [i for _, i in timed]


def _timed_fix_columns(gps: GpsTrack) -> tuple[list[float], list[int]]:
    """_timed_fixes on columns: the same subtractions, a stable sort like list.sort."""
    utc = gps.column("utc")  # NaN where None: not finite, as finite() says of None
    use_utc = gps.nones("video_time") == len(gps)
    origin = 0.0
    if use_utc:
        finite_utc = np.flatnonzero(np.isfinite(utc))
        if not len(finite_utc):
            return [], []
        origin = float(utc[finite_utc[0]])
    when = utc if use_utc else gps.column("video_time")
    keep = gps.column("valid") & np.isfinite(when)
    keep &= np.isfinite(gps.column("lat")) & np.isfinite(gps.column("lon"))
    indices = np.flatnonzero(keep)
    times = when[indices] - origin
    order = np.argsort(times, kind="stable")
    return times[order].tolist(), indices[order].tolist()


def _cue_count(duration: float | None, times: list[float]) -> int:
    if duration is not None and math.isfinite(duration) and duration > 0:
        seconds = math.floor(duration)
    elif times:
        seconds = math.floor(times[-1]) + 1
    else:
        seconds = 0
    return max(0, min(seconds, MAX_CUES))


def _describe(s: GpsSample, clock: Clock) -> str:
    lines = []
    shown = clock.datetime(s.utc)
    if shown is not None:
        lines.append(f"{shown:%Y-%m-%d %H:%M:%S} {clock.label}")
    numbers = []
    speed = ground_speed(s.speed_2d, s.speed_3d)
    if speed is not None:
        numbers.append(f"{speed * 3.6:.1f} km/h")
    if s.ele is not None and math.isfinite(s.ele):
        numbers.append(f"{s.ele:.0f} m")
    if numbers:
        lines.append("  ".join(numbers))
    lines.append(f"{s.lat:.6f}, {s.lon:.6f}")
    if s.fix is not None:
        quality = f"GPS fix {FIX_NAMES.get(s.fix, str(s.fix)).upper()}"
        if s.dop is not None and math.isfinite(s.dop):
            quality += f", DOP {s.dop:.2f}"
        lines.append(quality)
    return "\n".join(lines)


def _stamp(seconds: int, comma: str) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}{comma}000"
