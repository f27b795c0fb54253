"""MAP CAM: 58-byte GPS records in the ``movi`` list of an AVI."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import Format, FuzzEntry
from telemetryfs.parsers.formats.mapcam.parse import extract
from telemetryfs.parsers.probe import Probe

__all__ = ["FORMATS", "extract"]


def _score(probe: Probe) -> int:
    return 1  # the only AVI format


FORMATS = (
    Format(
        name="mapcam-avi",
        family="mapcam",
        containers=frozenset({detect.AVI}),
        score=_score,
        extract=lambda probe, full: extract(probe, name=probe.name),
        outputs=("mapcam-avi",),
        fuzz=(FuzzEntry("mapcam.extract", extract, ("avi",)),),
    ),
)
