"""Garmin VIRB clips: no GPS in the MP4, but a name for the FIT log that holds it.

A VIRB writes a udta ``uuid`` box whose 16-byte "UUID" is the ASCII
``VIRBactioncamera`` (exiftool QuickTime.pm, GarminSoftware); with what follows
it is the clip's ``camera_file_uuid``, the string the FIT's ``camera_event``
messages name the clip by (trek-view's VIRB 360 sample:
``VIRBactioncamera360_Video_3840_2160_29.9700_<serial>_<id>_1_38_<FIT name>``).
The FIT lives apart from the clips on the card (``Garmin/GMetrix/``), and
its name ends the string: :func:`linked_logs` gives the places to look, and
:func:`merge_clip` takes the clip's part of the FIT track (video_start to
video_end) as the clip's track.
"""

from __future__ import annotations

import dataclasses
import posixpath
from typing import BinaryIO

from telemetryfs.parsers.binio import read_upto
from telemetryfs.parsers.errors import UnsupportedError
from telemetryfs.parsers.formats.garmin.fit import slice_to_clip
from telemetryfs.parsers.model import ParseWarning, Stream, Telemetry
from telemetryfs.parsers.probe import Probe

PREFIX = b"VIRBactioncamera"
MAX_UUID = 1024  # the string is ~90 characters; a bigger box is something else
CLIP_KEY = "virb_clip"
# Where a VIRB card keeps its FIT logs, from the clip's folder (DCIM/100_VIRB):
# beside it, then the card's Garmin/GMetrix (older firmware: GMetrix at the root).
FIT_FOLDERS = (".", "../../Garmin/GMetrix", "../../GMetrix", "../GMetrix")


def clip_uuid(probe: Probe) -> str | None:
    """The clip's ``camera_file_uuid`` from its udta ``uuid`` box, or None."""
    movie = probe.movie_if_readable()
    if movie is None:
        return None
    for box in movie.udta:
        if box.kind != b"uuid" or not len(PREFIX) < box.data_size <= MAX_UUID:
            continue
        data = read_upto(probe.file, box.data_offset, box.data_size)
        if data.startswith(PREFIX):
            text = data.split(b"\0", 1)[0].decode("ascii", "replace").strip()
            return text or None
    return None


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """A VIRB clip: its length, start and FIT link; no track of its own.

    Raises:
        UnsupportedError: no ``VIRBactioncamera`` uuid box in the moov.
    """
    probe = Probe.of(source, name)
    uuid = clip_uuid(probe)
    movie = probe.movie()
    if uuid is None or movie is None:
        raise UnsupportedError("no VIRB clip uuid")
    return Telemetry(
        format="garmin-virb",
        camera="Garmin VIRB",
        duration=movie.duration,
        creation_time=movie.creation_time,
        info={CLIP_KEY: uuid},
    )


def linked_logs(video: Telemetry, path: str) -> tuple[str, ...]:
    """The paths where the FIT a clip names may be (from the clip's own path)."""
    uuid = video.info.get(CLIP_KEY)
    if not isinstance(uuid, str) or not uuid.lower().endswith(".fit"):
        return ()
    fit = uuid.rsplit("_", 1)[-1]
    if not fit or "/" in fit or fit in (".", ".."):
        return ()
    folder = posixpath.dirname(path)
    return tuple(posixpath.normpath(posixpath.join(folder, d, fit)) for d in FIT_FOLDERS)


def merge_clip(video: Telemetry | None, fit: Telemetry) -> Telemetry:
    """The clip with its part of the FIT track (the FIT alone when the clip failed)."""
    if video is None:
        return fit
    uuid = video.info.get(CLIP_KEY)
    part = slice_to_clip(fit, uuid) if isinstance(uuid, str) else None
    if part is None:
        note = ParseWarning(None, "the FIT log does not record this clip")
        return dataclasses.replace(video, warnings=(*video.warnings, note))
    label = "GPS from the VIRB's FIT log"
    streams = (*video.streams, Stream("gps", "FIT", None, label, (), len(part.gps)))
    return dataclasses.replace(
        video,
        gps=part.gps,
        gps_stream=part.gps_stream,
        extra_columns=part.extra_columns,
        streams=streams if part.gps else video.streams,
        warnings=(*video.warnings, *part.warnings),
        info=dict(video.info, gps_source="sidecar", sidecar_records=len(part.gps)),
    )
