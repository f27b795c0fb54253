"""Garmin: VIRB FIT logs (the GPS beside the clips) and dashcams' ``uuid`` GPS box."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import Clock, Traits, single_format
from telemetryfs.parsers.formats.garmin.fit import extract

__all__ = ["FORMATS", "extract"]

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
)
