"""Insta360 .insv: records in a trailer at the end of the file, walked backwards."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import Format, FuzzEntry, Traits
from telemetryfs.parsers.formats.insta360.parse import MARKER, extract
from telemetryfs.parsers.probe import Probe

__all__ = ["FORMATS", "extract"]


def _score(probe: Probe) -> int:
    # The marker ends the file: a clip without it is never this family's.
    return 50 if probe.tail.endswith(MARKER) else 0


FORMATS = (
    Format(
        name="insta360",
        family="insta360",
        containers=frozenset({detect.MP4}),
        score=_score,
        extract=lambda probe, full: extract(probe, name=probe.name),
        outputs=("insta360",),
        traits=Traits(),
        fuzz=(FuzzEntry("insta360.extract", extract, ("insta360",)),),
    ),
)
