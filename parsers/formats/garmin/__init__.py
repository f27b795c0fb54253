"""Garmin: VIRB FIT logs (the GPS beside the clips) and dashcams' ``uuid`` GPS box."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import Clock, Format, FuzzEntry, Traits, single_format
from telemetryfs.parsers.formats.garmin import dashcam, virb
from telemetryfs.parsers.formats.garmin.fit import extract
from telemetryfs.parsers.probe import Probe

__all__ = ["FORMATS", "dashcam", "extract", "virb"]


def _virb_score(probe: Probe) -> int:
    # Tried before the dashcam scanners: a named box in the moov, read at no cost.
    return 42 if virb.clip_uuid(probe) is not None else 0


FORMATS = (
    single_format(
        family="garmin-fit",
        container=detect.FIT,
        extract=extract,
        output="garmin-fit",
        rank=1,  # the only FIT format
        seeds=("fit",),
        traits=Traits(clock=Clock.GPS),  # timed by the receiver's UTC, never the camera's clock
        merge=virb.merge_clip,  # into the VIRB clip that names it (virb.linked_logs)
    ),
    Format(
        name="garmin-virb",
        family="garmin-virb",
        containers=frozenset({detect.MP4}),
        score=_virb_score,
        extract=lambda probe, full: virb.extract(probe, name=probe.name),
        outputs=("garmin-virb",),
        linked_logs=virb.linked_logs,
        traits=Traits(clock=Clock.GPS),  # its track is the FIT's, timed by UTC
        fuzz=(FuzzEntry("garmin-virb.extract", virb.extract, ("virb",)),),
    ),
    single_format(
        family="garmin-uuid",
        container=detect.MP4,
        extract=dashcam.extract,
        output="garmin-uuid",
        rank=40,  # a named box in the moov: looked for before scanning the mdat
        seeds=("garmin-uuid",),
    ),
)
