"""NMEA 0183 logs: a lone track, or a sidecar merged into the video of the same stem."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import Format, FuzzEntry, Traits
from telemetryfs.parsers.formats.nmea_log.parse import extract, merge
from telemetryfs.parsers.probe import Probe

__all__ = ["FORMATS", "extract", "merge"]


def _score(probe: Probe) -> int:
    return 1  # the only NMEA format


FORMATS = (
    Format(
        name="nmea",
        family="nmea",
        containers=frozenset({detect.NMEA}),
        score=_score,
        extract=lambda probe, full: extract(probe, name=probe.name),
        outputs=("nmea",),
        merge=merge,
        # A log named like a video (CLIP.NMEA beside CLIP.MP4) belongs to it.
        traits=Traits(sidecar_for=frozenset({detect.MP4, detect.AVI, detect.TS})),
        fuzz=(FuzzEntry("nmea.extract", extract, ("nmea",)),),
    ),
)
