"""What a camera family declares about itself: the one object everything else reads.

Dispatch (extract.py), sidecar pairing (the file view), post-processing,
renderers and the fuzzer all look families up here instead of keeping lists
of their own or testing format names with ``startswith``. A family is a
package under ``formats/`` exposing ``FORMATS``; ``registry.py`` lists the
packages.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Protocol

from telemetryfs.parsers.errors import ParseError
from telemetryfs.parsers.model import Telemetry

if TYPE_CHECKING:
    from telemetryfs.parsers.probe import Probe


class Clock(enum.Enum):
    """Where a family's sample times come from."""

    GPS = "gps"  # the GPS receiver's clock: true UTC, never shifted by -o time_offset
    CAMERA = "camera"  # the camera's own clock: may be local time (see time_offset)
    # The camera's local time with no zone (DJI SRT dates, 70mai file names):
    # turned into UTC by the time zone at the first fix (cleanup.to_utc).
    LOCAL = "camera-local"


class DopKind(enum.Enum):
    """Which dilution of precision a family reports (GPX has one element for each)."""

    HORIZONTAL = "hdop"
    POSITION = "pdop"  # GoPro's DOP: it does not say it is horizontal


@dataclass(frozen=True, slots=True)
class Traits:
    clock: Clock = Clock.CAMERA
    # A GPS-only parse that skips the other streams; without one, a GPS-only
    # result is the full result too and a cache never parses twice.
    gps_fast_path: bool = False
    dop: DopKind = DopKind.HORIZONTAL
    # Containers of the videos this family's files belong to as sidecars (a
    # log with the video's stem is merged into it rather than shown alone).
    sidecar_for: frozenset[str] = frozenset()
    # What a video's stem may add to the sidecar's: "" (CLIP.NMEA for CLIP.MP4);
    # BlackVue's one .gps serves <stem>F.mp4 and <stem>R.mp4.
    sidecar_video_suffixes: tuple[str, ...] = ("",)


@dataclass(frozen=True, slots=True)
class FuzzEntry:
    """A parser entry point the fuzzer feeds bytes to, and the seed kinds it starts from."""

    name: str
    run: Callable[[BinaryIO], Telemetry]
    seeds: tuple[str, ...]


Extract = Callable[["Probe", bool], Telemetry]
Recover = Callable[["Probe", ParseError], Telemetry]
# Merges a sidecar's result into its video's (None when the video failed).
Merge = Callable[[Telemetry | None, Telemetry], Telemetry]
LinkedLogs = Callable[[Telemetry, str], tuple[str, ...]]


def always(_probe: Probe) -> int:
    """A score for the last resort of a container: tried after every better match."""
    return 1


@dataclass(frozen=True, slots=True)
class Format:
    """One way of finding telemetry in one kind of container.

    ``score(probe)`` ranks the candidates for a file (mutagen's
    ``FileType.score``): 0 means "not mine, do not try", higher is tried
    first; it may look at the probe's head, tail, name and parsed moov.
    ``extract(probe, full)`` raises ``UnsupportedError`` when the file holds
    nothing of the family's (the next candidate is tried), another
    ``ParseError`` when it is damaged; ``recover`` then gets the first such
    error and may scan the file for what survived.
    """

    name: str
    family: str
    containers: frozenset[str]
    score: Callable[[Probe], int]
    extract: Extract
    # Telemetry.format values this format produces (how a result finds its traits).
    outputs: tuple[str, ...]
    recover: Recover | None = None
    merge: Merge | None = None  # sidecar families (traits.sidecar_for): into the video
    # Videos that name their log inside themselves (a VIRB clip names its FIT):
    # the paths to try, from the result and the video's path; the log's format
    # merges it (its ``merge``).
    linked_logs: LinkedLogs | None = None
    traits: Traits = field(default_factory=Traits)
    fuzz: tuple[FuzzEntry, ...] = ()


class NamedExtract(Protocol):
    """A family's entry point: the file (or its probe) and its name, for clocks in names."""

    def __call__(self, source: BinaryIO | Probe, *, name: str = "") -> Telemetry: ...


def single_format(
    *,
    family: str,
    container: str,
    extract: NamedExtract,
    output: str,
    rank: int,
    seeds: tuple[str, ...],
    traits: Traits | None = None,
    merge: Merge | None = None,
) -> Format:
    """The Format of a family with one way in: ``extract(source, name=...)``, reading the
    same whatever ``full`` asks (no GPS-only fast path), ranked ``rank`` among the
    candidates of its container; fuzzed as ``<family>.extract``."""
    return Format(
        name=output,
        family=family,
        containers=frozenset({container}),
        score=lambda _probe: rank,
        extract=lambda probe, full: extract(probe, name=probe.name),
        outputs=(output,),
        merge=merge,
        traits=traits or Traits(),
        fuzz=(FuzzEntry(f"{family}.extract", extract, seeds),),
    )
