"""NMEA 0183 logs: a lone track, or a sidecar merged into the video of the same stem."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import Traits, single_format
from telemetryfs.parsers.formats.nmea_log.parse import extract, merge

__all__ = ["FORMATS", "extract", "merge"]

FORMATS = (
    single_format(
        family="nmea",
        container=detect.NMEA,
        extract=extract,
        output="nmea",
        rank=1,  # the only NMEA format
        seeds=("nmea",),
        # A log named like a video (CLIP.NMEA beside CLIP.MP4) belongs to it.
        traits=Traits(sidecar_for=frozenset({detect.MP4, detect.AVI, detect.TS})),
        merge=merge,
    ),
)
