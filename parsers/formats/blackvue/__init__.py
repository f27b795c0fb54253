"""BlackVue dashcams: NMEA and accelerometer in a ``free`` box, or in ``.gps``/``.3gf`` sidecars."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import Clock, Format, FuzzEntry, Traits, single_format
from telemetryfs.parsers.formats.blackvue import sidecar
from telemetryfs.parsers.formats.blackvue.parse import extract, has_pittasoft_data, model_of
from telemetryfs.parsers.probe import Probe

__all__ = ["FORMATS", "extract", "model_of", "sidecar"]

# RMC times are the receiver's UTC: never shifted by -o time_offset.
TRAITS = Traits(clock=Clock.GPS)


def _score(probe: Probe) -> int:
    return 40 if has_pittasoft_data(probe) else 0


FORMATS = (
    Format(
        name="blackvue",
        family="blackvue",
        containers=frozenset({detect.MP4}),
        score=_score,
        extract=lambda probe, full: extract(probe, name=probe.name),
        outputs=("blackvue",),
        traits=TRAITS,
        fuzz=(FuzzEntry("blackvue.extract", extract, ("blackvue",)),),
    ),
    single_format(
        family="blackvue-sidecar",
        container=detect.BLACKVUE_GPS,
        extract=sidecar.extract,
        output="blackvue",
        rank=1,  # the only format of its container
        seeds=("blackvue-gps",),
        # 20260718_070333_N.gps belongs to ..._NF.mp4 and ..._NR.mp4 alike.
        traits=Traits(
            clock=Clock.GPS,
            sidecar_for=frozenset({detect.MP4}),
            sidecar_video_suffixes=("F", "R", ""),
        ),
        merge=sidecar.merge,
    ),
)
