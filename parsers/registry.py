"""The one list of camera families. Adding a family: its package under formats/, one line here.

Order matters only between formats of equal score for a file (the earlier
is tried first); scores decide the rest.
"""

from __future__ import annotations

from functools import cache

from telemetryfs.parsers.format import Format, Traits
from telemetryfs.parsers.formats import (
    blackvue,
    camm,
    dji_srt,
    garmin,
    gopro,
    insta360,
    ligogps,
    mapcam,
    nmea_log,
    novatek,
    seventymai,
    sstar,
    thinkware,
    vueroid,
)

FORMATS: tuple[Format, ...] = (
    *gopro.FORMATS,
    *insta360.FORMATS,
    *camm.FORMATS,
    *thinkware.FORMATS,
    *blackvue.FORMATS,
    *seventymai.FORMATS,
    *vueroid.FORMATS,
    *novatek.FORMATS,
    *sstar.FORMATS,
    *ligogps.FORMATS,
    *mapcam.FORMATS,
    *nmea_log.FORMATS,
    *dji_srt.FORMATS,
    *garmin.FORMATS,
)


def for_container(container: str) -> list[Format]:
    """The formats that may be inside a container, in registry order."""
    return [f for f in FORMATS if container in f.containers]


@cache
def _by_output() -> dict[str, Format]:
    return {out: f for f in FORMATS for out in f.outputs}


def format_of(telemetry_format: str) -> Format | None:
    """The format that produces results named ``telemetry_format`` (Telemetry.format)."""
    return _by_output().get(telemetry_format)


def traits_of(telemetry_format: str) -> Traits:
    """The traits of a result's format (defaults for a name no family produces)."""
    found = format_of(telemetry_format)
    return found.traits if found is not None else Traits()


def sidecar_formats() -> list[Format]:
    """Formats whose files can belong to a video as sidecars."""
    return [f for f in FORMATS if f.traits.sidecar_for and f.merge is not None]


def sidecar_containers() -> frozenset[str]:
    """Containers that can be a sidecar."""
    return frozenset(c for f in sidecar_formats() for c in f.containers)


def takes_sidecars(container: str | None) -> bool:
    """Whether files of this container can have a sidecar merged in."""
    return any(container in f.traits.sidecar_for for f in sidecar_formats())


def sidecar_belongs(sidecar_stem: str, sidecar_kind: str | None, video_stem: str) -> bool:
    """Whether a sidecar of this container and stem belongs to a video of that stem."""
    return video_stem.startswith(sidecar_stem) and any(
        video_stem == sidecar_stem + suffix for suffix in _suffixes_of(sidecar_kind)
    )


@cache
def _suffixes_of(sidecar_kind: str | None) -> tuple[str, ...]:
    return tuple(
        {
            s
            for f in sidecar_formats()
            if sidecar_kind in f.containers
            for s in f.traits.sidecar_video_suffixes
        }
    )


@cache
def _video_suffixes() -> tuple[str, ...]:
    return tuple({s for f in sidecar_formats() for s in f.traits.sidecar_video_suffixes})


def sidecar_stems(video_stem: str) -> frozenset[str]:
    """The stems a sidecar of a video with this stem may have (before sniffing it)."""
    return frozenset(
        video_stem[: len(video_stem) - len(s)]
        for s in _video_suffixes()
        if video_stem.endswith(s) and len(video_stem) > len(s)
    )


def video_stems(sidecar_stem: str) -> frozenset[str]:
    """The stems of the videos a sidecar with this stem may serve (before sniffing it)."""
    return frozenset(sidecar_stem + s for s in _video_suffixes())
