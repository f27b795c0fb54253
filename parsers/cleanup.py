"""Post-processing every format gets: garbage fixes, clock corrections.

- garbage fixes (a point thousands of kilometres off, then back) are marked
  invalid, as users of the Novatek scripts asked for;
- ``shift_time`` corrects cameras whose clock records local time;
- ``to_utc`` turns a camera's local wall clock into UTC by the time zone at
  the first fix (families with ``Clock.LOCAL``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from telemetryfs.parsers import localtime
from telemetryfs.parsers.model import GpsSample, ParseWarning, Telemetry
from telemetryfs.parsers.track import GpsTrack

# Faster than any camera carrier (the Novatek script's threshold, "for the ones
# that use dashcams in light aircraft"): a jump implying more is a garbage fix.
MAX_PLAUSIBLE_SPEED = 1000.0  # m/s
# After this many consecutive rejected points that agree with each other, the
# earlier point was the garbage one: start again from the new position.
_OUTLIER_RESYNC = 5
_EARTH_RADIUS = 6_371_008.8  # metres, mean radius (IUGG)


def shift_time(telemetry: Telemetry, seconds: float) -> Telemetry:
    """Add ``seconds`` to every UTC time."""
    gps = tuple(
        s if s.utc is None else dataclasses.replace(s, utc=s.utc + seconds) for s in telemetry.gps
    )
    info = dict(telemetry.info, time_offset_applied_s=-seconds)
    return dataclasses.replace(telemetry, gps=gps, info=info)


def to_utc(telemetry: Telemetry) -> Telemetry:
    """Times recorded on a camera's local wall clock, moved to UTC.

    The zone is the one at the first valid fix that has a time, and its
    offset the one in force then (daylight saving time included); the whole
    file gets that one offset. Without such a fix the times stay as recorded,
    and info.json says the zone is unknown.
    """
    info = dict(telemetry.info, clock="camera-local", time_zone=None, utc_offset_s=None)
    first = next(
        (s for s in telemetry.gps if s.valid and s.lat is not None and s.lon is not None), None
    )
    if first is None:
        return dataclasses.replace(telemetry, info=info)
    zone = localtime.zone_at(first.lat or 0.0, first.lon or 0.0)
    info["time_zone"] = zone
    local = next((s.utc for s in telemetry.gps if s.valid and s.utc is not None), None)
    offset = None if zone is None or local is None else localtime.utc_offset(zone, local)
    if offset is None:
        return dataclasses.replace(telemetry, info=info)
    info["utc_offset_s"] = offset
    shifted = shift_time(telemetry, -offset) if offset else telemetry
    return dataclasses.replace(shifted, info=dict(shifted.info, **info))


def flag_outliers(telemetry: Telemetry) -> Telemetry:
    """Mark valid fixes that imply an impossible jump as invalid (with one warning)."""
    track = telemetry.gps
    if isinstance(track, GpsTrack) and _every_step_plausible(track):
        return telemetry  # nothing to reject, found without building a sample
    gps = list(track)
    rejected = _find_outliers(gps)
    if not rejected:
        return telemetry
    warning = ParseWarning(
        None,
        f"{len(rejected)} GPS fixes dropped from the track: they imply moving faster "
        f"than {MAX_PLAUSIBLE_SPEED:.0f} m/s (garbage fixes)",
    )
    warnings = (*telemetry.warnings, warning)
    if isinstance(track, GpsTrack):
        return dataclasses.replace(telemetry, gps=track.with_invalid(rejected), warnings=warnings)
    for i in rejected:
        gps[i] = dataclasses.replace(gps[i], valid=False)
    return dataclasses.replace(telemetry, gps=tuple(gps), warnings=warnings)


def _every_step_plausible(track: GpsTrack) -> bool:
    """Whether each valid fix (with coordinates) is plausible from the one before it:
    then _find_outliers, whose chain then takes every fix, rejects none.

    The bounds of _plausible on all steps at once, the same arithmetic in the same
    order; a step they do not settle is judged by _plausible itself.
    """
    fixes = np.flatnonzero(track.column("valid") & track.present("lat") & track.present("lon"))
    if len(fixes) < 2:
        return True
    lat, lon = track.column("lat")[fixes], track.column("lon")[fixes]
    with np.errstate(invalid="ignore"):
        by_utc = _steps(track, "utc", fixes)
        by_video = _steps(track, "video_time", fixes)
        elapsed = np.where(
            np.isnan(by_utc[1]), np.where(np.isnan(by_video[1]), 1.0, by_video[0]), by_utc[0]
        )
        allowed = MAX_PLAUSIBLE_SPEED * (np.abs(elapsed) + 1.0)
        dlat = np.abs(lat[1:] - lat[:-1]) * _M_PER_DEG
        dlon = np.abs(lon[1:] - lon[:-1])
        dlon = np.minimum(dlon, 360.0 - dlon) * _M_PER_DEG
        settled = ~(dlat > allowed) & (dlat + dlon <= allowed)
    for k in np.flatnonzero(~settled).tolist():
        if not _plausible(track[int(fixes[k])], track[int(fixes[k + 1])]):
            return False
    return True


def _steps(track: GpsTrack, field: str, fixes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each step's difference of ``field``, and NaN where either end lacks it (else 0)."""
    values, present = track.column(field)[fixes], track.present(field)[fixes]
    both = present[1:] & present[:-1]
    return values[1:] - values[:-1], np.where(both, 0.0, np.nan)


def _find_outliers(gps: list[GpsSample]) -> list[int]:
    """Indices of valid fixes that jump impossibly far from the track.

    Walks the fixes keeping a chain of accepted ones. A fix too far from the
    last accepted one is rejected, unless it starts a run of _OUTLIER_RESYNC
    fixes that agree with each other: then the run is the truth, and if the
    chain before it was shorter than the run (a garbage first fix), that
    chain is rejected instead.
    """
    rejected: set[int] = set()
    chain: list[int] = []  # accepted since the start or the last resync
    run: list[int] = []  # consecutive rejects that agree with each other
    for i, s in enumerate(gps):
        if not s.valid or s.lat is None or s.lon is None:
            continue
        if not chain or _plausible(gps[chain[-1]], s):
            chain.append(i)
            run.clear()
            continue
        run = [*run, i] if run and _plausible(gps[run[-1]], s) else [i]
        rejected.add(i)
        if len(run) >= _OUTLIER_RESYNC:
            rejected.difference_update(run)
            if len(chain) < len(run):
                rejected.update(chain)
            chain, run = list(run), []
    return sorted(rejected)


# Metres per degree of latitude (and of longitude at the equator).
_M_PER_DEG = math.pi * _EARTH_RADIUS / 180


def _plausible(a: GpsSample, b: GpsSample) -> bool:
    """Whether going from fix a to fix b is possible at MAX_PLAUSIBLE_SPEED."""
    # One second of slack: clocks quantised to the second (Novatek, MAP CAM).
    allowed = MAX_PLAUSIBLE_SPEED * (abs(_elapsed(a, b)) + 1.0)
    dlat = abs((b.lat or 0.0) - (a.lat or 0.0)) * _M_PER_DEG
    dlon = abs((b.lon or 0.0) - (a.lon or 0.0))
    dlon = min(dlon, 360.0 - dlon) * _M_PER_DEG
    # The great-circle distance is at least the north-south leg and at most
    # the sum of both legs (a degree of longitude is never longer than at the
    # equator): decide cheaply when a bound settles it.
    if dlat > allowed:
        return False
    if dlat + dlon <= allowed:
        return True
    return _haversine(a, b) <= allowed


def _elapsed(a: GpsSample, b: GpsSample) -> float:
    if a.utc is not None and b.utc is not None:
        return b.utc - a.utc
    if a.video_time is not None and b.video_time is not None:
        return b.video_time - a.video_time
    return 1.0


def _haversine(a: GpsSample, b: GpsSample) -> float:
    p1, p2 = math.radians(a.lat or 0.0), math.radians(b.lat or 0.0)
    dp, dl = p2 - p1, math.radians((b.lon or 0.0) - (a.lon or 0.0))
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS * math.asin(math.sqrt(min(1.0, max(0.0, h))))
