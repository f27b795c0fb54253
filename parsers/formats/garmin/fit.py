"""Garmin VIRB FIT files: the GPS track a VIRB writes beside its clips.

FIT is decoded by ``fitdecode`` (a maintained FIT library); this module only
picks the messages a track needs. Message ``timestamp`` fields of a VIRB are
system time (seconds since power-on), not UTC: ``gps_metadata`` carries the
receiver's own UTC second (``utc_timestamp``), and ``timestamp_correlation``
maps system time to UTC. The camera's clock (the file name, ``file_id``) can
be days off, so it is never used for the track.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import statistics
import struct
from typing import Any, BinaryIO

import fitdecode

from telemetryfs.parsers.binio import file_size, read_upto
from telemetryfs.parsers.errors import MalformedError, TruncatedError, UnsupportedError
from telemetryfs.parsers.model import Telemetry
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.records import Record, Source, to_telemetry

SOURCE = Source(format="garmin-fit", fourcc="FIT", label="Garmin FIT gps_metadata")
_SEMICIRCLE = 180.0 / 2**31
_CHUNK = 1 << 20
# fitdecode reports damage with its own errors; plain ones escape it on garbage
# (struct.error on a short header, AssertionError where it checks a record
# length with assert, ValueError/IndexError on a definition that does not fit).
_LIBRARY_ERRORS = (
    fitdecode.FitError,
    struct.error,
    AssertionError,
    ValueError,
    LookupError,
    TypeError,
    AttributeError,
    ArithmeticError,
)


class _Reader:
    """A buffered, read-only view of the source for fitdecode (which reads a few bytes at a time)."""

    def __init__(self, f: BinaryIO) -> None:
        self._f, self._pos, self._end = f, 0, file_size(f)
        self._buf, self._at = b"", 0

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = self._end - self._pos
        if not self._at <= self._pos <= self._pos + size <= self._at + len(self._buf):
            self._at, self._buf = (
                self._pos,
                read_upto(f=self._f, offset=self._pos, size=max(size, _CHUNK)),
            )
        start = self._pos - self._at
        out = self._buf[start : start + size]
        self._pos += len(out)
        return out

    def tell(self) -> int:
        return self._pos


def _utc(value: Any) -> float | None:
    return value.timestamp() if isinstance(value, dt.datetime) else None


def _system_time(message: fitdecode.FitDataMessage) -> float | None:
    """A message's system time (s since power-on) with its millisecond field."""
    seconds = _get(message, "timestamp")
    if isinstance(seconds, dt.datetime) or not isinstance(seconds, int | float):
        return None
    ms = _get(message, "timestamp_ms")
    return float(seconds) + (ms / 1000.0 if isinstance(ms, int | float) else 0.0)


def _get(message: fitdecode.FitDataMessage, name: str) -> Any:
    return message.get_value(name, fallback=None)


def _degrees(value: Any) -> float | None:
    return value * _SEMICIRCLE if isinstance(value, int) and value != 0x7FFFFFFF else None


class _Collected:
    def __init__(self) -> None:
        self.gps: list[tuple[float | None, float | None, Record]] = []  # (sys, utc second, record)
        self.correlation: tuple[float, float] | None = None  # (system time, utc)
        self.events: list[tuple[str, str, float]] = []  # (kind, clip uuid, system time)
        self.product: str | None = None
        self.serial: int | None = None
        self.created: float | None = None

    def take(self, message: fitdecode.FitDataMessage) -> None:
        name = message.name
        if name == "gps_metadata":
            self._take_gps(message)
        elif name == "timestamp_correlation" and self.correlation is None:
            utc = _utc(_get(message, "timestamp"))
            sys = _get(message, "system_timestamp")
            if utc is not None and isinstance(sys, int | float):
                utc += (_get(message, "timestamp_ms") or 0) / 1000.0
                sys_ms = _get(message, "system_timestamp_ms") or 0
                self.correlation = (float(sys) + sys_ms / 1000.0, utc)
        elif name == "camera_event":
            kind, clip, sys = (
                _get(message, "camera_event_type"),
                _get(message, "camera_file_uuid"),
                _system_time(message),
            )
            if kind in ("video_start", "video_end") and isinstance(clip, str) and sys is not None:
                self.events.append((kind, clip, sys))
        elif name == "device_info" and self.product is None:
            product = _get(message, "garmin_product")
            self.product = product if isinstance(product, str) else None
        elif name == "file_id":
            serial = _get(message, "serial_number")
            self.serial = serial if isinstance(serial, int) else None
            self.created = _utc(_get(message, "time_created"))

    def _take_gps(self, message: fitdecode.FitDataMessage) -> None:
        lat, lon = _degrees(_get(message, "position_lat")), _degrees(_get(message, "position_long"))
        velocity = _get(message, "velocity")
        east, north, up = (
            velocity if isinstance(velocity, tuple) and len(velocity) == 3 else (None,) * 3
        )
        record = Record(
            status="A" if lat is not None and lon is not None else "V",
            lat=lat,
            lon=lon,
            ele=_number(_get(message, "enhanced_altitude")),
            speed=_number(_get(message, "enhanced_speed")),
            course=_number(_get(message, "heading")),
            extra=(("velocity_east", east), ("velocity_north", north), ("velocity_up", up)),
        )
        self.gps.append((_system_time(message), _utc(_get(message, "utc_timestamp")), record))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """The track of a Garmin FIT file (a VIRB's GMetrix log, or any FIT with gps_metadata).

    Raises:
        UnsupportedError: a FIT file with no gps_metadata message.
        TruncatedError, MalformedError: not a FIT file, or damaged before any GPS.
    """
    probe = Probe.of(source, name)
    got = _Collected()
    error: str | None = None
    reader = fitdecode.FitReader(
        _Reader(probe.file),
        check_crc=fitdecode.CrcCheck.DISABLED,
        # Undefined developer fields decode as bytes, without warnings.warn from a worker thread.
        error_handling=fitdecode.ErrorHandling.IGNORE,
        keep_raw_chunks=False,
    )
    try:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage):
                got.take(frame)
    except _LIBRARY_ERRORS as exc:
        if not got.gps:
            kind = TruncatedError if isinstance(exc, fitdecode.FitEOFError) else MalformedError
            raise kind(f"not a readable FIT file: {exc}") from None
        cut = isinstance(exc, fitdecode.FitEOFError)
        error = f"FIT file {'cut short' if cut else 'damaged'} after {len(got.gps)} GPS samples"
    if not got.gps:
        raise UnsupportedError("FIT file without gps_metadata")
    return _assemble(got, error)


def _offset_to_utc(got: _Collected) -> tuple[float | None, str]:
    """UTC minus system time, and where it came from.

    ``utc_timestamp`` is the receiver's whole UTC second; the tightest constant
    that keeps every sample inside its stamped second is the largest
    (utc - system) difference (ignoring strays more than 2 s from the median).
    """
    diffs = [utc - sys for sys, utc, _ in got.gps if sys is not None and utc is not None]
    diffs = [d for d in diffs if math.isfinite(d)]
    if diffs:
        middle = statistics.median(diffs)
        near = [d for d in diffs if abs(d - middle) <= 2.0]
        return max(near, default=middle), "gps_metadata.utc_timestamp"
    if got.correlation is not None:
        sys, utc = got.correlation
        return utc - sys, "timestamp_correlation"
    return None, "none"


def _assemble(got: _Collected, error: str | None) -> Telemetry:
    offset, clock = _offset_to_utc(got)
    first_sys = next((sys for sys, _, _ in got.gps if sys is not None), None)
    records = [
        Record(
            utc=sys + offset if sys is not None and offset is not None else None,
            video_time=sys - first_sys if sys is not None and first_sys is not None else None,
            status=r.status,
            lat=r.lat,
            lon=r.lon,
            ele=r.ele,
            speed=r.speed,
            course=r.course,
            offset=r.offset,
            extra=r.extra,
        )
        for sys, _, r in got.gps
    ]
    info: dict[str, object] = {"records": len(records), "time_source": clock}
    if got.correlation is not None and offset is not None:
        sys, utc = got.correlation
        # The two UTC sources of a VIRB disagree by about a second; say by how much.
        info["timestamp_correlation_minus_utc_timestamp_s"] = round(utc - sys - offset, 3)
    if got.serial is not None:
        info["serial_number"] = got.serial
    clips = _clips(got.events, offset, first_sys)
    if clips:
        info["clips"] = clips
    # fitdecode names the product like "virb_360".
    camera = "Garmin " + got.product.replace("_", " ").upper() if got.product else None
    return to_telemetry(
        SOURCE,
        records,
        camera=camera,
        creation_time=got.created,
        duration=_span(records),
        info=info,
        error=error,
    )


def _clips(
    events: list[tuple[str, str, float]], offset: float | None, first_sys: float | None
) -> list[dict[str, object]]:
    """The clips recorded while the FIT was written: video_start..video_end by clip uuid."""
    starts: dict[str, float] = {}
    clips: list[dict[str, object]] = []
    for kind, clip, sys in events:
        if kind == "video_start":
            starts[clip] = sys
        elif clip in starts:
            start = starts.pop(clip)
            entry: dict[str, object] = {"uuid": clip, "duration_s": round(sys - start, 3)}
            if first_sys is not None:  # on the track's video_time axis (slice_to_clip)
                entry["from_s"] = round(start - first_sys, 3)
                entry["to_s"] = round(sys - first_sys, 3)
            if offset is not None:
                entry["start_utc"] = _iso(start + offset)
                entry["end_utc"] = _iso(sys + offset)
            clips.append(entry)
    return clips


def _iso(t: float) -> str | None:
    if not -1e10 < t < 1e11:  # outside what datetime can show: a damaged field
        return None
    return (
        dt.datetime.fromtimestamp(t, dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _span(records: list[Record]) -> float | None:
    times = [r.utc for r in records if r.utc is not None]
    return max(times) - min(times) if times else None


def slice_to_clip(track: Telemetry, clip_uuid: str) -> Telemetry | None:
    """The part of a FIT track recorded during one clip (``camera_event`` video_start to
    video_end), timed from the clip's start; None when the FIT does not name the clip.

    A VIRB clip names its FIT through the ``camera_file_uuid`` (which ends in the
    FIT's file name), the same string as the clip's ``VIRBactioncamera`` uuid.
    """
    clips = track.info.get("clips") or []
    clip = next((c for c in clips if c.get("uuid") == clip_uuid and "from_s" in c), None)
    if clip is None:
        return None
    start, end = float(clip["from_s"]), float(clip["to_s"])
    gps = tuple(
        dataclasses.replace(s, video_time=s.video_time - start)
        for s in track.gps
        if s.video_time is not None and start <= s.video_time <= end
    )
    streams = tuple(
        dataclasses.replace(s, sample_count=len(gps)) if s.name == "gps" else s
        for s in track.streams
    )
    info = dict(track.info, clip=clip_uuid, records=len(gps))
    info.pop("clips", None)
    return dataclasses.replace(
        track,
        gps=gps,
        gps_stream="gps" if gps else None,
        streams=streams if gps else (),
        raw_files=(),
        duration=end - start,
        info=info,
    )
