"""SigmaStar dashcams: GPS records in an ``ssmd`` metadata track."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import Format, FuzzEntry
from telemetryfs.parsers.formats.sstar.parse import extract
from telemetryfs.parsers.probe import Probe

__all__ = ["FORMATS", "extract"]


def _score(probe: Probe) -> int:
    return 20  # ssmd metadata tracks: after the formats with their own boxes


FORMATS = (
    Format(
        name="sstar-ssmd",
        family="sstar",
        containers=frozenset({detect.MP4}),
        score=_score,
        extract=lambda probe, full: extract(probe, name=probe.name),
        outputs=("sstar-ssmd",),
        fuzz=(FuzzEntry("sstar.extract", extract, ("sstar",)),),
    ),
)
