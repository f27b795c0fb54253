"""Novatek dashcams (Viofo, Kenwood, Nextbase, Azdome, Vantrue, Rexing, ...) and their cousins.

freeGPS blocks found through the moov ``gps `` index or by scanning (MP4,
MOV and MPEG-TS), decoded by the layouts in ``layouts/``; MP4s without
freeGPS that keep GPS elsewhere (gpmd/text tracks, udta, trailers) are read
by ``cousins.py``.
"""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.format import Format, FuzzEntry
from telemetryfs.parsers.formats.novatek import cousins
from telemetryfs.parsers.formats.novatek.parse import extract
from telemetryfs.parsers.probe import Probe

__all__ = ["FORMATS", "extract"]


def _score(probe: Probe) -> int:
    # After GoPro's gpmd track and 70mai's GPS box, before the ssmd readers:
    # freeGPS blocks are found by an index or a scan, so anything may hold them.
    return 30


FORMATS = (
    Format(
        name="novatek",
        family="novatek",
        containers=frozenset({detect.MP4, detect.TS}),
        score=_score,
        extract=lambda probe, full: extract(probe, name=probe.name),
        # A clip cut short (no moov) still has its blocks: the scanner finds them.
        recover=lambda probe, cause: extract(probe, name=probe.name),
        outputs=(
            "novatek-mp4",
            "novatek-ts",
            *(source.format for source in cousins.SOURCES.values()),
        ),
        fuzz=(
            FuzzEntry("novatek.extract", extract, ("novatek", "ts", "dashcam")),
            FuzzEntry("dashcam_mp4.extract", cousins.extract, ("dashcam",)),
        ),
    ),
)
