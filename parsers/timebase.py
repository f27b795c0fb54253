"""Which clock a dashcam's GPS times are on: UTC, or the camera's local time.

Most firmware writes the receiver's UTC; some (Viofo A119 Mini 2, Kenwood
DRV-A510W with a four-digit year) convert it to the camera's local time. The
parsers keep the recorded value and report the offset they can *prove* from
the file itself; the user corrects it with ``-o time_offset=±H[:MM]``.

The evidence, all from the file:

- the file name: dashcams name clips after their own clock, local time almost
  always (``2026_0406_142122_022.MP4``, ``20260406142122_000022.MP4``,
  ``NO20191130-120156-000121.MP4``, ``INF20260520-143412-26-F.mp4``);
- the MP4 creation time (mvhd), which ISO 14496-12 defines as UTC but cameras
  fill from the same clock as the name, or leave unset;
- a clock step inside the file: cold-start records stamped by the camera's
  real-time clock, then fix records on another clock (dashcamigo's Viofo A119
  Mini 2 sample: 11:22:04 no fix, 14:22:05 first fix).

Offsets are whole quarter hours (every civil time zone is) and at most 14 h.
The sign follows ``time_offset``: +10800 means the recorded times run three
hours ahead of UTC (a camera at UTC+3), so UTC = recorded - offset.
"""

from __future__ import annotations

import calendar
import logging
import math
import re

log = logging.getLogger(__name__)

QUARTER = 900  # seconds: every time zone is a whole number of quarter hours
MAX_ZONE = 14 * 3600  # UTC+14 (Kiribati) is the widest offset in use

# YYYY MM DD HH MM SS with optional separators: 2026_0406_142122,
# 20260406142122, NO20191130-120156, 20250607_180617, 2024-07-11 12:04:12.
_LONG = re.compile(
    rb"(?<!\d)((?:19|20)\d\d)[-_.]?(\d\d)[-_.]?(\d\d)[-_. T]?(\d\d)[-_.:]?(\d\d)[-_.:]?(\d\d)(?!\d)"
)
# YYMMDD-HHMMSS (Mio MiVue: FILE260819-071804F.mp4).
_SHORT = re.compile(rb"(?<!\d)(\d\d)(\d\d)(\d\d)[-_](\d\d)(\d\d)(\d\d)(?!\d)")


def name_time(file_name: str) -> float | None:
    """The date and time in a clip's file name, read as UTC, or None.

    The value is whatever clock the camera named the file by (usually local).
    """
    raw = file_name.encode("utf-8", "surrogateescape")
    for pattern, century in ((_LONG, 0), (_SHORT, 2000)):
        for match in pattern.finditer(raw):
            y, mo, d, h, mi, s = (int(g) for g in match.groups())
            t = _timegm(y + century, mo, d, h, mi, s)
            if t is not None:
                return t
    return None


def _timegm(y: int, mo: int, d: int, h: int, mi: int, s: int) -> float | None:
    if not (1990 <= y <= 2200 and 1 <= mo <= 12 and 0 <= h < 24 and mi < 60 and s < 60):
        return None
    if not 1 <= d <= calendar.monthrange(y, mo)[1]:
        return None
    return float(calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)))


def zone(seconds: float) -> int | None:
    """A time difference rounded to whole quarter hours; None beyond any time zone.

    Rounding absorbs the seconds to minutes between a clip's start (its name)
    and its first fix.
    """
    if not math.isfinite(seconds) or abs(seconds) > 2 * MAX_ZONE:
        return None
    quarters = round(seconds / QUARTER) * QUARTER
    if abs(quarters) > MAX_ZONE:
        return None
    return int(quarters)


def detect_offset(
    first_gps_utc: float | None,
    creation_time: float | None,
    file_name: str,
    *,
    other_clock: float | None = None,
) -> int | None:
    """How far the recorded GPS times run ahead of UTC, when the file shows it.

    Args:
        first_gps_utc: recorded time of the first valid fix, read as UTC.
        creation_time: the MP4 creation time (POSIX seconds), if set.
        file_name: the clip's file name (its date and time, if any).
        other_clock: a time recorded in the same file on another clock just
            before the first fix (cold-start records stamped by the camera).

    Returns:
        Seconds, a whole number of quarter hours: 0 when the GPS times are
        shown to be UTC, the camera's offset when they are shown to be local
        time, None when the file cannot tell (both clocks agree, no clock,
        or the evidence contradicts itself).
    """
    if first_gps_utc is None:
        return None
    named = name_time(file_name)
    camera = named if named is not None else creation_time
    if other_clock is not None and zone(first_gps_utc - other_clock):
        return _from_clock_step(first_gps_utc, other_clock, camera)
    # The name is the camera's local clock; an mvhd that differs from it by a
    # whole zone was written in UTC, as ISO 14496-12 says it should be.
    if named is not None and creation_time is not None and zone(named - creation_time):
        return zone(first_gps_utc - creation_time)
    if camera is None:
        return None
    step = zone(first_gps_utc - camera)
    if step is None or step == 0:
        # Same clock as the camera: both UTC or both local, no way to tell.
        return None
    # The GPS clock differs from the camera's by a whole zone: it is the UTC one.
    return 0


def _from_clock_step(gps: float, other: float, camera: float | None) -> int | None:
    step = zone(gps - other)
    # The fix records moved away from the real-time clock by a zone. They are
    # local time only if the camera named the clip by that same local clock.
    if camera is not None and zone(gps - camera) == 0:
        return step
    return None
