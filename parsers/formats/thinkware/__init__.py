"""Thinkware dashcams: NMEA without ``$`` in the cues of a tx3g subtitle track."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import Format, FuzzEntry, Traits
from telemetryfs.parsers.formats.thinkware.parse import extract, subtitle_track
from telemetryfs.parsers.probe import Probe

__all__ = ["FORMATS", "extract"]


def _score(probe: Probe) -> int:
    return 35 if subtitle_track(probe) is not None else 0


FORMATS = (
    Format(
        name="thinkware",
        family="thinkware",
        containers=frozenset({detect.MP4}),
        score=_score,
        extract=lambda probe, full: extract(probe, name=probe.name),
        outputs=("thinkware",),
        traits=Traits(),
        fuzz=(FuzzEntry("thinkware.extract", extract, ("thinkware",)),),
    ),
)
