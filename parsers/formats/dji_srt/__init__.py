"""DJI drone ``.SRT`` subtitles: a lone track, or a sidecar merged into the clip of the same stem."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import Clock, Traits, single_format
from telemetryfs.parsers.formats.dji_srt.parse import extract, merge

__all__ = ["FORMATS", "extract", "merge"]

FORMATS = (
    single_format(
        family="dji_srt",
        container=detect.SRT,
        extract=extract,
        output="dji-srt",
        rank=1,  # the only SRT format
        seeds=("dji-srt",),
        # DJI_0001.SRT beside DJI_0001.MP4 belongs to it.
        traits=Traits(clock=Clock.LOCAL, sidecar_for=frozenset({detect.MP4})),
        merge=merge,
    ),
)
