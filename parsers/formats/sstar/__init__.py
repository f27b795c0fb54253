"""SigmaStar dashcams: GPS records in an ``ssmd`` metadata track."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import single_format
from telemetryfs.parsers.formats.sstar.parse import extract

__all__ = ["FORMATS", "extract"]

FORMATS = (
    single_format(
        family="sstar",
        container=detect.MP4,
        extract=extract,
        output="sstar-ssmd",
        rank=20,  # ssmd metadata tracks: after the formats with their own boxes
        seeds=("sstar",),
    ),
)
