"""GoPro Telemetry assembly: what the walker gathered, and the MP4's udta header, as one Telemetry.

Payload times come from the MP4 sample table; without one (raw GPMF, a cut
MP4) from the GPS clock (GPSU, GPS9, Karma SYST), else the camera clock
(STMP, TICK), else the nominal 1.001 s, with clock gaps interpolated and
implausible readings dropped (spec "GPMF Timing and Clocks"; gopro-telemetry
``timeKLV.js``). The camera is named by MINF (udta/APP6 settings), else the
camera device's own name, else its firmware family. info.json gets the
devices, how payloads were timed, the GPS stream and its altitude reference,
the settings and each stream's sample rate.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from telemetryfs.parsers.containers import mp4
from telemetryfs.parsers.errors import MalformedError
from telemetryfs.parsers.formats.gopro.gps import (
    GPRI,
    NOMINAL_PAYLOAD,
    _choose_gps,
    _gps_samples,
)
from telemetryfs.parsers.formats.gopro.gps_blocks import Times
from telemetryfs.parsers.formats.gopro.raw import _build_streams, _coalesce, _unique_names
from telemetryfs.parsers.formats.gopro.session import session_info
from telemetryfs.parsers.formats.gopro.streams import Payload, _Walker
from telemetryfs.parsers.model import Extent, RawFile, Stream, Telemetry

# Firmware prefixes of cameras whose GPMF names the device only "Camera".
_FIRMWARE_MODELS = {"HD5": "HERO5 Black", "HD6": "HERO6 Black", "FS1": "Fusion"}


@dataclass(slots=True)
class _Header:
    """What the MP4's udta says: GPMF settings (model, firmware), HLMT, older FIRM boxes."""

    settings: dict[str, Any] = field(default_factory=dict)
    streams: list[Stream] = field(default_factory=list)
    firmware: str | None = None
    ids: dict[str, bytes] = field(default_factory=dict)  # udta GUMI / MUID boxes


def _assemble(
    walker: _Walker, payloads: list[Payload], fmt: str, header: _Header, error: str | None
) -> Telemetry:
    """Turn what the walker gathered into the common Telemetry."""
    if not walker.good:
        raise MalformedError("no readable GPMF payload")
    times, timing = _payload_times(payloads, walker, derive=fmt != "gopro-jpeg")
    key, blocks = _choose_gps(walker.gps)
    gps = _gps_samples(key, blocks, times, walker.warnings, walker.syst) if key else ()
    streams: tuple[Stream, ...] = ()
    raw = [RawFile("all.gpmf", tuple(_coalesce(Extent(p.offset, p.size) for p in payloads)))]
    if walker.want_streams:
        built, per_stream = _build_streams(walker, times)
        streams = (*built, *_unique_names(header.streams, {s.name for s in built}))
        raw.extend(per_stream)
    settings = {**walker.settings, **header.settings}
    firmware = _text_setting(settings, "FMWR") or header.firmware
    info: dict[str, Any] = {
        "devices": [{"id": d.id, "name": d.name} for d in walker.devices.values()],
        "payloads": len(payloads),
        "timing": timing,
        "gps_streams": sorted({b.key.decode() for b in walker.gps}),
    }
    if key:
        info["gps_stream"] = key.decode()
        info["gps_device"] = walker.devices[blocks[0].device].name
        # GPSA "MSLV": altitude above mean sea level (HERO11+); before, GPS5 altitude
        # is the WGS84 ellipsoid height (spec, HERO5 table).
        # Karma's GPRI is MAVLink GPS_RAW_INT, whose alt is above mean sea level.
        reference = walker.altitude.get(key, "MSLV" if key == GPRI else None)
        info["altitude"] = "MSL" if reference == "MSLV" else reference or "WGS84 ellipsoid"
    if settings:
        info["settings"] = settings
    info["sample_rates"] = _sample_rates(streams, times)
    camera = _camera(settings, walker, firmware)
    info.update(session_info(camera, settings, header.ids))
    return Telemetry(
        format=fmt,
        camera=camera,
        firmware=firmware,
        gps=gps,
        gps_stream=key.decode() if key else None,
        streams=streams,
        raw_files=tuple(raw),
        duration=_end(times),
        info=info,
        warnings=tuple(walker.warnings),
        error=error,
    )


def _with_movie(telemetry: Telemetry, movie: mp4.Movie, track: mp4.Track) -> Telemetry:
    import dataclasses

    info = dict(telemetry.info, gpmd_track=track.track_id, gpmd_timescale=track.timescale)
    return dataclasses.replace(
        telemetry,
        duration=movie.duration if movie.duration is not None else telemetry.duration,
        creation_time=movie.creation_time,
        info=info,
    )


def _text_setting(settings: dict[str, Any], key: str) -> str | None:
    value = settings.get(key)
    return value if isinstance(value, str) and value else None


def _camera(settings: dict[str, Any], walker: _Walker, firmware: str | None) -> str | None:
    """MINF (udta/APP6), else the camera device's own name, else the firmware family."""
    model = _text_setting(settings, "MINF")
    if model:
        return model
    # Device 1 is the camera itself (a Karma drone or BLE sensor has its own id).
    camera = walker.devices.get(1) or next(iter(walker.devices.values()), None)
    name = camera.name if camera else None
    if name in (None, "Camera") and firmware and firmware[:3] in _FIRMWARE_MODELS:
        return _FIRMWARE_MODELS[firmware[:3]]
    return name


def _end(times: Times) -> float | None:
    ends = [s + d for s, d in times if s is not None and d is not None]
    return max(ends) if ends else None


def _payload_times(payloads: list[Payload], walker: _Walker, *, derive: bool) -> tuple[Times, str]:
    """Each payload's (start, duration) in video time, and how it was found."""
    if payloads and all(p.start is not None for p in payloads):
        return [(p.start, p.duration) for p in payloads], "mp4 sample table"
    if not derive:
        return [(None, None)] * len(payloads), "none"
    for clocks, name in ((walker.gps_clock, "gps clock"), (walker.dev_clock, "camera clock")):
        times = _from_clock(len(payloads), clocks)
        if times is not None:
            return times, name
    return [(k * NOMINAL_PAYLOAD, NOMINAL_PAYLOAD) for k in range(len(payloads))], "nominal 1.001 s"


def _from_clock(n: int, clocks: dict[int, float]) -> Times | None:
    """Payload times from a clock read in some payloads; gaps interpolated, ends extrapolated.

    Readings that go backwards or imply payloads shorter than 10 ms or longer
    than a minute are dropped (a garbage GPSU, a clock reset).
    """
    points: list[tuple[int, float]] = []
    for k, t in sorted(clocks.items()):
        if 0 <= k < n and (not points or 0.01 <= (t - points[-1][1]) / (k - points[-1][0]) <= 60):
            points.append((k, t))
    if not points or (len(points) < 2 and n > 1):
        return None
    step = NOMINAL_PAYLOAD
    if len(points) >= 2:
        step = (points[-1][1] - points[0][1]) / (points[-1][0] - points[0][0])
    ks = [k for k, _ in points]
    at = [_clock_at(k, points, ks, step) for k in range(n + 1)]
    origin = at[0]
    return [(at[k] - origin, at[k + 1] - at[k]) for k in range(n)]


def _clock_at(k: int, points: list[tuple[int, float]], ks: list[int], step: float) -> float:
    i = bisect.bisect_left(ks, k)
    if i < len(ks) and ks[i] == k:
        return points[i][1]
    if i == 0:
        return points[0][1] - (points[0][0] - k) * step
    if i == len(ks):
        return points[-1][1] + (k - points[-1][0]) * step
    (k0, t0), (k1, t1) = points[i - 1], points[i]
    return t0 + (t1 - t0) * (k - k0) / (k1 - k0)


def _sample_rates(streams: tuple[Stream, ...], times: Times) -> dict[str, float]:
    rates: dict[str, float] = {}
    for s in streams:
        timed = [c for c in s.chunks if c.start is not None]
        if len(timed) < 2 or not s.sample_count:
            continue
        last = timed[-1]
        span = (last.start or 0.0) + (last.duration or 0.0) - (timed[0].start or 0.0)
        if span > 0:
            rates[s.name] = round(sum(c.count for c in timed) / span, 3)
    return rates
