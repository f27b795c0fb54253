"""70mai dashcams: the track in a top-level ``GPS `` box after the moov."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import Format, FuzzEntry
from telemetryfs.parsers.formats.seventymai.parse import extract
from telemetryfs.parsers.probe import Probe

__all__ = ["FORMATS", "extract"]


def _score(probe: Probe) -> int:
    return 40  # a top-level 'GPS ' box is looked for before freeGPS scanning


FORMATS = (
    Format(
        name="70mai",
        family="70mai",
        containers=frozenset({detect.MP4}),
        score=_score,
        extract=lambda probe, full: extract(probe, name=probe.name),
        outputs=("70mai",),
        fuzz=(FuzzEntry("seventymai.extract", extract, ("70mai",)),),
    ),
)
