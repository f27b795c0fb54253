"""LigoGPS dashcams: LIGOGPSINFO records in ``ssmd`` metadata tracks."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import single_format
from telemetryfs.parsers.formats.ligogps.parse import extract

__all__ = ["FORMATS", "extract"]

FORMATS = (
    single_format(
        family="ligogps",
        container=detect.MP4,
        extract=extract,
        output="ligogps-mp4",
        rank=10,  # ssmd tracks holding LIGOGPSINFO: the last MP4 candidate
        seeds=("ligogps", "dashcam"),
    ),
)
