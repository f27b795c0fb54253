"""Google CAMM (Camera Motion Metadata) records in a ``camm`` sample-entry track.

Each record is u16 reserved, u16 type, then a little-endian payload whose
size the type fixes (spec: developers.google.com/streetview/publish/camm-spec;
mapillary_tools camm_parser.py). Several records may share one MP4 sample;
their time is the sample's. Types 5 (lat, lon, alt as f64) and 6 (full GPS,
timed in GPS-epoch seconds) make the track; every type is also counted and
kept as a raw stream.
"""

from __future__ import annotations

import struct
from dataclasses import replace
from typing import BinaryIO

from telemetryfs.parsers.containers import mp4
from telemetryfs.parsers.errors import UnsupportedError
from telemetryfs.parsers.model import (
    FIX_2D,
    FIX_3D,
    FIX_NONE,
    Extent,
    ParseWarning,
    RawFile,
    Telemetry,
)
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.records import Record, Source, to_telemetry

SAMPLE_ENTRY = b"camm"
SOURCE = Source("camm", "camm", "CAMM GPS")
# Payload bytes after the 4-byte header, per record type.
PAYLOAD = {0: 12, 1: 8, 2: 12, 3: 12, 4: 12, 5: 24, 6: 56, 7: 12}
NAMES = {
    0: "angle_axis",
    1: "exposure",
    2: "gyro",
    3: "accel",
    4: "position",
    5: "min_gps",
    6: "gps",
    7: "magnetic_field",
}
# GPS time starts 1980-01-06; GPS runs ahead of UTC by the leap seconds since.
GPS_EPOCH = 315_964_800
GPS_LEAP_SECONDS = 18  # since 2017-01-01
MAX_SAMPLE = 1 << 20
_FIX = {0: FIX_NONE, 2: FIX_2D, 3: FIX_3D}


def has_camm_track(probe: Probe) -> bool:
    movie = probe.movie_if_readable()
    return movie is not None and any(t.sample_format == SAMPLE_ENTRY for t in movie.tracks)


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """GPS (types 5/6) and per-type counts and raw bytes from the camm track.

    Raises:
        UnsupportedError: no camm track.
        TruncatedError, MalformedError: the moov or sample table is damaged.
    """
    probe = Probe.of(source, name)
    movie = probe.movie()
    track = None if movie is None else mp4.find_track(movie, b"meta", SAMPLE_ENTRY)
    if track is None and movie is not None:
        track = next((t for t in movie.tracks if t.sample_format == SAMPLE_ENTRY), None)
    if movie is None or track is None:
        raise UnsupportedError("no camm track")
    counts: dict[int, int] = {}
    gps: list[Record] = []
    extents: list[Extent] = []
    bad = 0
    samples = [s for s in mp4.read_samples(probe.file, track) if 0 < s.size <= MAX_SAMPLE]
    for sample, data in mp4.iter_sample_data(probe.file, samples):
        extents.append(Extent(sample.offset, len(data)))
        pos = 0
        while pos + 4 <= len(data):
            kind = struct.unpack_from("<H", data, pos + 2)[0]
            size = PAYLOAD.get(kind)
            if size is None or pos + 4 + size > len(data):
                bad += 1
                break  # an unknown type's size is unknown: the rest of the sample is lost
            counts[kind] = counts.get(kind, 0) + 1
            at = pos + 4
            if kind in (5, 6):
                gps.append(_gps(kind, data, at, sample.offset + pos, sample.start))
            pos = at + size
    if counts.get(6):
        # Type 5 is the minimal form of type 6: a writer with both says the same twice.
        gps = [r for r in gps if r.utc is not None or r.fix is not None]
    telemetry = to_telemetry(
        SOURCE,
        gps,
        creation_time=movie.creation_time,
        duration=movie.duration,
        info={"records": {NAMES[k]: n for k, n in sorted(counts.items())}},
    )
    raws = (RawFile("camm.raw", tuple(extents)),) if extents else ()
    if bad:
        warning = ParseWarning(None, f"{bad} camm samples hold a record of unknown type or size")
        telemetry = replace(telemetry, warnings=(*telemetry.warnings, warning))
    return replace(telemetry, raw_files=(*telemetry.raw_files, *raws))


def _gps(kind: int, data: bytes, at: int, offset: int, video_time: float) -> Record:
    if kind == 5:
        lat, lon, alt = struct.unpack_from("<3d", data, at)
        return Record(lat=lat, lon=lon, ele=alt, video_time=video_time, offset=offset)
    gps_time, fix, lat, lon, alt, h_acc, v_acc, ve, vn, vu, s_acc = struct.unpack_from(
        "<di2d7f", data, at
    )
    utc = GPS_EPOCH + gps_time - GPS_LEAP_SECONDS if 0 < gps_time < 1e10 else None
    speed = (ve * ve + vn * vn) ** 0.5
    return Record(
        utc=utc,
        status="A" if fix in (2, 3) else "V",
        lat=lat,
        lon=lon,
        ele=alt,
        speed=speed,
        fix=_FIX.get(fix),
        video_time=video_time,
        offset=offset,
        extra=(
            ("horizontal_accuracy", h_acc),
            ("vertical_accuracy", v_acc),
            ("velocity_east", ve),
            ("velocity_north", vn),
            ("velocity_up", vu),
            ("speed_accuracy", s_acc),
        ),
    )
