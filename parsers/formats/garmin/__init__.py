"""Garmin: VIRB FIT logs (the GPS beside the clips) and dashcams' ``uuid`` GPS box."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import Clock, Traits, single_format
from telemetryfs.parsers.formats.garmin import dashcam
from telemetryfs.parsers.formats.garmin.fit import extract

__all__ = ["FORMATS", "dashcam", "extract"]

FORMATS = (
    single_format(
        family="garmin-fit",
        container=detect.FIT,
        extract=extract,
        output="garmin-fit",
        rank=1,  # the only FIT format
        seeds=("fit",),
        traits=Traits(clock=Clock.GPS),  # timed by the receiver's UTC, never the camera's clock
    ),
    single_format(
        family="garmin-uuid",
        container=detect.MP4,
        extract=dashcam.extract,
        output="garmin-uuid",
        rank=40,  # a named box in the moov: looked for before scanning the mdat
        seeds=("garmin-uuid",),
    ),
)
