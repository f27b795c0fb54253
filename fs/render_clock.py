"""Which clock people read a track's times on: UTC, or local time where the zone is known.

info.json tells the zone two ways (see parsers/timebase.py): a dashcam whose clock
records local time has ``time_offset_detected_s`` (its times are kept as recorded,
so they already are local), and ``-o time_offset`` moves recorded times to UTC
and leaves ``time_offset_applied_s`` (local is then UTC plus that offset). A GPS
clock (GoPro) says nothing about the zone: its times are shown in UTC.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from telemetryfs.parsers.model import Telemetry

from .render_common import utc_millis

_MAX_ZONE_S = 14 * 3600  # no civil time zone is wider


@dataclass(frozen=True, slots=True)
class Clock:
    """How a sample's ``utc`` becomes the time shown: ``utc + shift_s``, named ``label``."""

    shift_s: float
    label: str

    def datetime(self, utc: float | None) -> dt.datetime | None:
        """The shown time as a naive datetime, or None when unknown or out of range."""
        if utc is None or utc_millis(utc + self.shift_s) is None:
            return None
        return dt.datetime(1970, 1, 1) + dt.timedelta(seconds=utc + self.shift_s)


UTC_CLOCK = Clock(0.0, "UTC")


def clock_of(telemetry: Telemetry) -> Clock:
    """The clock info.json implies (see the module docstring)."""
    applied = _zone(telemetry.info.get("time_offset_applied_s"))
    if applied is not None:
        return Clock(float(applied), zone_label(applied))
    detected = _zone(telemetry.info.get("time_offset_detected_s"))
    if detected is not None:
        return Clock(0.0, zone_label(detected))
    return UTC_CLOCK


def zone_label(offset_s: int) -> str:
    """``UTC``, ``UTC+02:00``, ``UTC-03:30``."""
    if offset_s == 0:
        return "UTC"
    sign = "+" if offset_s > 0 else "-"
    hours, rest = divmod(abs(offset_s), 3600)
    return f"UTC{sign}{hours:02d}:{rest // 60:02d}"


def _zone(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or abs(value) > _MAX_ZONE_S:
        return None
    return round(value / 60) * 60
