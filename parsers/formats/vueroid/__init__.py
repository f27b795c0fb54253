"""Vueroid dashcams: GPS in a ``tvxt`` timed track."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import single_format
from telemetryfs.parsers.formats.vueroid.parse import extract

__all__ = ["FORMATS", "extract"]

FORMATS = (
    single_format(
        family="vueroid",
        container=detect.MP4,
        extract=extract,
        output="vueroid",
        rank=40,  # a named track: looked for before scanning the mdat
        seeds=("vueroid",),
    ),
)
