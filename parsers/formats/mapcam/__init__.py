"""MAP CAM: 58-byte GPS records in the ``movi`` list of an AVI."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import single_format
from telemetryfs.parsers.formats.mapcam.parse import extract

__all__ = ["FORMATS", "extract"]

FORMATS = (
    single_format(
        family="mapcam",
        container=detect.AVI,
        extract=extract,
        output="mapcam-avi",
        rank=1,  # the only AVI format
        seeds=("avi",),
    ),
)
