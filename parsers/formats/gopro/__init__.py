"""GoPro: GPMF in MP4 (the gpmd track), in JPEG photos (APP6), and raw GPMF dumps."""

from __future__ import annotations

from telemetryfs.parsers import detect
from telemetryfs.parsers.containers import mp4
from telemetryfs.parsers.errors import ParseError
from telemetryfs.parsers.format import Clock, DopKind, Format, FuzzEntry, Traits, always
from telemetryfs.parsers.formats.gopro.parse import (
    extract_gpmf,
    extract_jpeg,
    extract_mp4,
    recover_mp4,
)
from telemetryfs.parsers.probe import Probe

__all__ = ["FORMATS", "extract_gpmf", "extract_jpeg", "extract_mp4", "recover_mp4"]

# Times come from the GPS clock; a GPS-only parse skips indexing the other streams.
TRAITS = Traits(clock=Clock.GPS, gps_fast_path=True, dop=DopKind.POSITION)


def _mp4_score(probe: Probe) -> int:
    """First among MP4 candidates; first of all when the moov names a gpmd track."""
    try:
        movie = probe.movie()
    except ParseError:
        return 50  # a damaged moov: try, fail, and let recovery scan
    if movie is not None and mp4.find_track(movie, b"meta", b"gpmd") is not None:
        return 100
    return 50


FORMATS = (
    Format(
        name="gopro-mp4",
        family="gopro",
        containers=frozenset({detect.MP4}),
        score=_mp4_score,
        extract=lambda probe, full: extract_mp4(probe, streams=full),
        recover=lambda probe, cause: recover_mp4(probe.file),
        outputs=("gopro-mp4",),
        traits=TRAITS,
        fuzz=(
            FuzzEntry("gopro.extract_mp4", extract_mp4, ("mp4",)),
            FuzzEntry("gopro.recover_mp4", recover_mp4, ("gopro_cut", "mp4")),
        ),
    ),
    Format(
        name="gopro-gpmf",
        family="gopro",
        containers=frozenset({detect.GPMF}),
        score=always,
        extract=lambda probe, full: extract_gpmf(probe.file, streams=full),
        outputs=("gpmf",),
        traits=TRAITS,
        fuzz=(FuzzEntry("gopro.extract_gpmf", extract_gpmf, ("gpmf",)),),
    ),
    Format(
        name="gopro-jpeg",
        family="gopro",
        containers=frozenset({detect.JPEG}),
        score=always,
        extract=lambda probe, full: extract_jpeg(probe.file),
        outputs=("gopro-jpeg",),
        traits=TRAITS,
        fuzz=(FuzzEntry("gopro.extract_jpeg", extract_jpeg, ("jpeg",)),),
    ),
)
