"""LigoGPS dashcams: LIGOGPSINFO records in ``ssmd`` metadata tracks."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import Format, FuzzEntry
from telemetryfs.parsers.formats.ligogps.parse import extract
from telemetryfs.parsers.probe import Probe

__all__ = ["FORMATS", "extract"]


def _score(probe: Probe) -> int:
    return 10  # ssmd tracks holding LIGOGPSINFO: the last MP4 candidate


FORMATS = (
    Format(
        name="ligogps-mp4",
        family="ligogps",
        containers=frozenset({detect.MP4}),
        score=_score,
        extract=lambda probe, full: extract(probe, name=probe.name),
        outputs=("ligogps-mp4",),
        fuzz=(
            FuzzEntry(
                "ligogps.extract",
                extract,
                (
                    "ligogps",
                    "dashcam",
                ),
            ),
        ),
    ),
)
