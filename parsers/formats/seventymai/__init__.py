"""70mai dashcams: the track in a top-level ``GPS `` box after the moov."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import Clock, Traits, single_format
from telemetryfs.parsers.formats.seventymai.parse import extract

__all__ = ["FORMATS", "extract"]

FORMATS = (
    single_format(
        family="seventymai",
        container=detect.MP4,
        extract=extract,
        output="70mai",
        rank=40,  # a top-level 'GPS ' box is looked for before freeGPS scanning
        seeds=("70mai",),
        # Times come from the file name: the camera's wall clock, no zone.
        traits=Traits(clock=Clock.LOCAL),
    ),
)
