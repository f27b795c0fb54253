"""Vueroid dashcams (S1 4K Infinite): a ``tvxt`` timed track of 72-byte samples.

Layout of one sample (little-endian; facts from amkulikov/dashcamigo's
vueroid-txet primitive, checked against the real anonymised S1 4K clip):

====== ===== =====================================================
offset type  meaning
====== ===== =====================================================
0x28   f32   acceleration x, g
0x2c   f32   acceleration y, g
0x30   f32   acceleration z, g
0x34   u8    latitude hemisphere: 1 north, 0 south
0x35   u8    longitude hemisphere: 1 east, 0 west
0x36   u16   unknown (55 in every sample seen)
0x38   f32   speed, km/h
0x3c   f32   latitude, degrees x 100 + minutes (NMEA ddmm.mmmm)
0x40   f32   longitude, same
0x44   u32   camera clock, POSIX seconds of the local time
====== ===== =====================================================

The camera writes about 20 samples a second but its clock has whole
seconds: times are the first sample's clock plus the track's media time. A
zero-filled sample ends the clip.
"""

from __future__ import annotations

import math
import struct
from typing import BinaryIO

from telemetryfs.parsers import timebase
from telemetryfs.parsers.containers import mp4
from telemetryfs.parsers.errors import UnsupportedError
from telemetryfs.parsers.model import Extent, Telemetry
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.records import Record, Source, ddmm, to_telemetry

SOURCE = Source(format="vueroid", fourcc="tvxt", label="Vueroid tvxt GPS track")
SAMPLE_SIZE = 72
_FIELDS = struct.Struct("<3f BBH f f f I")
_FIELDS_AT = 0x28
MAX_SAMPLES = 24 * 3600 * 50  # a day at 50 Hz: far more than any clip


def _record(
    data: bytes, video_time: float, offset: int, pace: tuple[float, float] | None
) -> Record | None:
    """One sample; ``pace`` (the first record's clock and media time) times the rest:
    the clock ticks in whole seconds, so samples are paced by media time from the first."""
    if len(data) != SAMPLE_SIZE or not data.strip(b"\0"):
        return None
    ax, ay, az, north, east, _unknown, kmh, lat, lon, clock = _FIELDS.unpack_from(data, _FIELDS_AT)
    bad_flags = north not in (0, 1) or east not in (0, 1)
    lat_deg = ddmm(lat, "N" if north else "S") if math.isfinite(lat) and not bad_flags else None
    lon_deg = ddmm(lon, "E" if east else "W") if math.isfinite(lon) and not bad_flags else None
    return Record(
        utc=float(clock) if pace is None else pace[0] + video_time - pace[1],
        status="A" if lat_deg is not None and lon_deg is not None else "V",
        lat=lat_deg,
        lon=lon_deg,
        speed=kmh / 3.6 if math.isfinite(kmh) and kmh >= 0 else None,
        video_time=video_time,
        offset=offset,
        extra=(("accel_x_g", ax), ("accel_y_g", ay), ("accel_z_g", az)),
    )


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """The track of a Vueroid clip's ``tvxt`` track.

    Raises:
        UnsupportedError: no ``tvxt``/``mp4s`` track of 72-byte samples.
        ParseError: the moov or its sample tables are damaged.
    """
    probe = Probe.of(source, name)
    movie = probe.movie()
    track = mp4.find_track(movie, b"tvxt", b"mp4s") if movie is not None else None
    if track is None:
        raise UnsupportedError("no Vueroid tvxt track")
    samples = mp4.read_samples(probe.file, track)[:MAX_SAMPLES]
    if not samples or any(s.size != SAMPLE_SIZE for s in samples):
        raise UnsupportedError("tvxt track without 72-byte samples")
    records: list[Record] = []
    pace: tuple[float, float] | None = None  # (first clock, its media time)
    for s, data in mp4.iter_sample_data(probe.file, samples):
        record = _record(data, s.start, s.offset, pace)
        if record is not None:
            records.append(record)
            pace = pace or (record.utc or 0.0, s.start)
    if not records:
        raise UnsupportedError("tvxt track with no record")
    info: dict[str, object] = {"records": len(records)}
    shift = timebase.detect_offset(pace[0] if pace else 0.0, None, name)
    if shift is not None:
        info["time_offset_detected_s"] = shift
    return to_telemetry(
        SOURCE,
        records,
        raw=[Extent(s.offset, s.size) for s in samples],
        camera="Vueroid",
        creation_time=movie.creation_time if movie is not None else None,
        duration=track.duration,
        info=info,
    )
