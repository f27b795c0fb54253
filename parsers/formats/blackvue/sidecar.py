"""BlackVue SD-card sidecars: ``YYYYMMDD_HHMMSS_<mode>.gps`` and the ``.3gf`` beside it.

One pair serves both clips of a recording, ``<mode>F.mp4`` (front) and
``<mode>R.mp4`` (rear): the registry's traits say so (``sidecar_video_suffixes``),
and the file view merges the pair into each. A ``.gps`` with no such clip is a
folder of its own, its ``.3gf`` merged in.
"""

from __future__ import annotations

import dataclasses
import os
from typing import BinaryIO

from telemetryfs.parsers.binio import file_size, read_upto
from telemetryfs.parsers.errors import ParseError
from telemetryfs.parsers.formats.blackvue.parse import (
    MAX_3GF,
    MAX_GPS,
    SOURCE,
    held_accel_stream,
    read_nmea,
)
from telemetryfs.parsers.model import Extent, ParseWarning, Stream, Telemetry
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.records import to_telemetry
from telemetryfs.parsers.sidecar_merge import merge_gps


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """A ``.gps`` sidecar, with the ``.3gf`` of the same name beside it as a stream.

    A log without an RMC or GGA sentence (a drive without a fix) is a result
    with no track, so the clips it is merged into keep what they have.
    """
    probe = Probe.of(source, name)
    data = read_upto(probe.file, 0, min(probe.size, MAX_GPS))
    records, warnings = read_nmea(data)
    if not records:
        warnings.append(ParseWarning(None, "no RMC or GGA sentence in the .gps"))
    if not data.rstrip(b"\0 \t").endswith((b"\n", b"\r")) and probe.size <= MAX_GPS:
        # A card pulled while the camera wrote: the line in progress is lost.
        warnings.append(ParseWarning(len(data), "the last line is cut short"))
    if probe.size > MAX_GPS:
        warnings.append(ParseWarning(MAX_GPS, f"only the first {MAX_GPS} bytes were read"))
    accel = _companion_accel(getattr(probe.file, "name", None))
    times = [r.video_time for r in records if r.video_time is not None]
    t = to_telemetry(
        SOURCE,
        records,
        raw=[Extent(0, len(data))],
        duration=max(times) - min(times) if times else None,
        info={"records": len(records), "container": ".gps sidecar", "accel_sidecar": bool(accel)},
        warnings=warnings,
    )
    return dataclasses.replace(t, streams=(*t.streams, *accel))


def _companion_accel(path: object) -> tuple[Stream, ...]:
    """The ``.3gf`` beside a ``.gps`` (same stem), as a stream held in memory: its bytes
    live in a file the view does not serve, so they travel with the codec."""
    if not isinstance(path, str) or not path.lower().endswith(".gps"):
        return ()
    for suffix in (".3gf", ".3GF"):
        try:
            # Not through a link: it could lead out of the source tree.
            fd = os.open(path[:-4] + suffix, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with os.fdopen(fd, "rb", buffering=0) as f:
                stream = held_accel_stream(read_upto(f, 0, min(file_size(f), MAX_3GF)))
        except (OSError, ParseError):
            continue
        return () if stream is None else (stream,)
    return ()


def merge(video: Telemetry | None, sidecar: Telemetry) -> Telemetry:
    """A clip's telemetry with its ``.gps``/``.3gf`` merged in.

    The GPS is joined as NMEA sidecars are (the clip's own fixes win). The
    sidecar's raw ``gps.raw`` is left out: its byte ranges are in the sidecar,
    not in the clip the folder serves.
    """
    side = dataclasses.replace(sidecar, raw_files=())
    merged = merge_gps(video, side, "BlackVue .gps")
    if video is None:
        return merged
    have = {s.name for s in merged.streams}
    streams = (*merged.streams, *(s for s in side.streams if s.name not in have))
    return dataclasses.replace(
        merged,
        # A clip with no telemetry of its own takes the sidecar's format (and its
        # GPS clock, which -o time_offset must not shift).
        format=video.format if video.gps else side.format,
        streams=streams,
        info={k: v for k, v in merged.info.items() if k != "note"}
        | {"sidecar_format": side.format},
    )


__all__ = ["extract", "merge"]
