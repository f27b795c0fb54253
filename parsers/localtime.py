"""Camera clocks that record local time with no zone, turned into UTC.

DJI drone SRT dates and 70mai file names are the camera's wall clock. The
time zone at the track's first valid position (timezonefinder, an offline
lookup of the time-zone boundary polygons) and the zone's rules at that
local time (zoneinfo: daylight saving time included) give the offset.
DJI_SRT_Parser does the same with tz-lookup. A pure, synchronous lookup.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from timezonefinder import TimezoneFinder

_EPOCH = dt.datetime(1970, 1, 1)


@cache
def _finder() -> TimezoneFinder:
    # Not in memory: the boundary data is read on demand (a few milliseconds to open).
    return TimezoneFinder(in_memory=False)


def zone_at(lat: float, lon: float) -> str | None:
    """The IANA time zone at a position (``Etc/GMT±N`` at sea), or None off the map."""
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    try:
        return _finder().timezone_at(lat=lat, lng=lon)
    except ValueError:
        return None


def utc_offset(zone: str, local: float) -> int | None:
    """Seconds the zone's wall clock runs ahead of UTC at local time ``local``.

    ``local`` is the wall-clock time read as if it were UTC (POSIX seconds). An
    hour repeated at the end of summer time is read as its first occurrence.
    """
    try:
        wall = _EPOCH + dt.timedelta(seconds=local)
        offset = wall.replace(tzinfo=ZoneInfo(zone)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError, OverflowError):
        return None
    return None if offset is None else int(offset.total_seconds())
