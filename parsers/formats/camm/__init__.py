"""Google CAMM: camera motion metadata records in a ``camm`` track."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import Format, FuzzEntry, Traits
from telemetryfs.parsers.formats.camm.parse import extract, has_camm_track
from telemetryfs.parsers.probe import Probe

__all__ = ["FORMATS", "extract"]


def _score(probe: Probe) -> int:
    return 45 if has_camm_track(probe) else 0


FORMATS = (
    Format(
        name="camm",
        family="camm",
        containers=frozenset({detect.MP4}),
        score=_score,
        extract=lambda probe, full: extract(probe, name=probe.name),
        outputs=("camm",),
        traits=Traits(),
        fuzz=(FuzzEntry("camm.extract", extract, ("camm",)),),
    ),
)
