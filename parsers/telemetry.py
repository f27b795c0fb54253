"""One entry point for every format: detect the container, pick the parser, tidy up.

``extract(path)`` opens the file read-only, sniffs it (detect.py), runs the
parsers that fit the container in turn (a parser that finds nothing of its
own raises UnsupportedError and the next one tries), and falls back to the
recovery scanners when the structure is damaged (a GoPro or Novatek clip cut
short by a dead battery has no moov). A file with no telemetry at all is not
an error: it yields an empty Telemetry, so the mount shows it with no track.

Common post-processing lives here so every format gets it:
- garbage fixes (a point thousands of kilometres off, then back) are marked
  invalid, as users of the Novatek scripts asked for;
- ``time_offset_s`` corrects dashcams whose clock records local time.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Callable
from typing import BinaryIO

from . import detect, integrity
from .binio import file_size, read_upto
from .errors import MalformedError, ParseError, TruncatedError, UnsupportedError
from .model import Extent, GpsSample, ParseWarning, RawFile, Stream, Telemetry, Value

log = logging.getLogger(__name__)

Extractor = Callable[[BinaryIO, str, bool], Telemetry]

# Format modules the dispatcher may import (lazily: a caller that only reads
# GoPro files never loads the dashcam parsers).
PARSER_MODULES = (
    "gopro",
    "gpmf",
    "jpeg",
    "novatek",
    "seventymai",
    "sstar",
    "ligogps",
    "mapcam",
    "nmea",
)

# Faster than any camera carrier (the Novatek script's threshold, "for the ones
# that use dashcams in light aircraft"): a jump implying more is a garbage fix.
MAX_PLAUSIBLE_SPEED = 1000.0  # m/s
# After this many consecutive rejected points that agree with each other, the
# earlier point was the garbage one: start again from the new position.
_OUTLIER_RESYNC = 5
_EARTH_RADIUS = 6_371_008.8  # metres, mean radius (IUGG)


def extract(
    path: str | os.PathLike[str],
    *,
    full: bool = True,
    sidecar: str | os.PathLike[str] | None = None,
    time_offset_s: float = 0.0,
) -> Telemetry:
    """Parse one source file (and its NMEA sidecar, if any).

    Args:
        path: the footage file.
        full: also index every telemetry stream (False: just what the GPS track needs).
        sidecar: an NMEA log recorded next to the clip; its GPS is merged in.
        time_offset_s: the camera clock's offset from UTC (dashcams that record
            local time); subtracted from their times. GoPro times come from the
            GPS clock and are not shifted.

    Raises:
        ParseError: the file is damaged beyond recovery, or cannot be read.
    """
    name = os.path.basename(os.fspath(path))
    try:
        with open(path, "rb", buffering=0) as f:
            kind = detect.sniff_file(f, name)
            telemetry = with_integrity(_extract_kind(f, kind, name, full), f, kind)
    except OSError as exc:
        raise TruncatedError(f"cannot read {name}: {exc.strerror or exc}") from exc
    if sidecar is not None:
        telemetry = _merge_sidecar(telemetry, sidecar)
    if time_offset_s and not telemetry.format.startswith("gopro") and telemetry.format != "gpmf":
        telemetry = shift_time(telemetry, -time_offset_s)
    return flag_outliers(telemetry)


def same_as_full(telemetry: Telemetry) -> bool:
    """Whether ``extract(full=False)`` gave what ``full=True`` would have given.

    Only GoPro GPMF has a GPS-only fast path (it skips indexing the other
    streams); every other format reads the same either way, so a cache can
    keep the fast result as the full one and never parse the file twice.
    """
    return not telemetry.format.startswith("gopro") and telemetry.format != detect.GPMF


def with_integrity(telemetry: Telemetry, f: BinaryIO, kind: str | None) -> Telemetry:
    """Say in the result when the file is cut short, even if its GPS survived the cut.

    Also keep every byte range inside the file: a parser that trusted a size
    field past a cut would otherwise list a raw file that cannot be read.
    """
    telemetry = _within(telemetry, file_size(f))
    problem = integrity.cut_short(f, kind)
    if problem is None or (telemetry.error and problem in telemetry.error):
        return telemetry
    if telemetry.error is None:
        return dataclasses.replace(telemetry, error=problem)
    warning = ParseWarning(None, problem)
    return dataclasses.replace(telemetry, warnings=(*telemetry.warnings, warning))


def _within(telemetry: Telemetry, size: int) -> Telemetry:
    """Drop raw pieces and stream chunks that lie (partly) past the end of the file."""

    def inside(e: Extent) -> bool:
        return e.offset >= 0 and e.size >= 0 and e.offset + e.size <= size

    raws, streams, dropped = [], [], 0
    for raw in telemetry.raw_files:
        pieces = tuple(p for p in raw.pieces if isinstance(p, bytes) or inside(p))
        dropped += len(raw.pieces) - len(pieces)
        if len(pieces) == len(raw.pieces):
            raws.append(raw)
        elif any(not isinstance(p, bytes) for p in pieces):
            raws.append(RawFile(raw.name, pieces))
    for stream in telemetry.streams:
        chunks = tuple(c for c in stream.chunks if inside(c.extent))
        dropped += len(stream.chunks) - len(chunks)
        if len(chunks) != len(stream.chunks):
            stream = dataclasses.replace(
                stream, chunks=chunks, sample_count=sum(c.count for c in chunks)
            )
        if chunks or stream.codec is None:
            streams.append(stream)
    if not dropped:
        return telemetry
    warning = ParseWarning(None, f"{dropped} telemetry byte ranges lie past the end of the file")
    return dataclasses.replace(
        telemetry,
        raw_files=tuple(raws),
        streams=tuple(streams),
        warnings=(*telemetry.warnings, warning),
    )


def _extract_kind(f: BinaryIO, kind: str | None, name: str, full: bool) -> Telemetry:
    if kind is None:
        raise UnsupportedError("not a recognised video or telemetry file")
    if kind == detect.UNRECOGNISED:
        raise MalformedError(_unrecognised_reason(f))
    candidates = _EXTRACTORS[kind]()
    first_error: ParseError | None = None
    for extractor in candidates:
        try:
            return extractor(f, name, full)
        except UnsupportedError:
            continue
        except (TruncatedError, MalformedError) as exc:
            log.debug("%s: %s", name, exc)
            first_error = first_error or exc
    if first_error is None:
        return Telemetry(format=kind, info={"note": "no telemetry found in this file"})
    for recover in _RECOVERERS.get(kind, lambda: [])():
        try:
            return recover(f, name, full, first_error)
        except ParseError as exc:
            log.debug("%s: recovery failed: %s", name, exc)
    raise first_error


def _unrecognised_reason(f: BinaryIO) -> str:
    head = read_upto(f, 0, 8)
    if not head:
        return "empty file"
    if len(head) < 8:
        return f"file too short to be a video ({len(head)} bytes)"
    return f"not a known video container (starts with {head.hex(' ')})"


def _mp4_extractors() -> list[Extractor]:
    # Order: the most specific structure first (a gpmd track, a top-level
    # 'GPS ' box, a moov 'gps ' index); the scanners come last.
    from . import gopro, ligogps, novatek, seventymai, sstar

    return [
        lambda f, name, full: gopro.extract_mp4(f, streams=full),
        lambda f, name, full: seventymai.extract(f, name=name),
        lambda f, name, full: novatek.extract(f, name=name),
        lambda f, name, full: sstar.extract(f, name=name),
        lambda f, name, full: ligogps.extract(f, name=name),
    ]


def _mp4_recoverers() -> list[Callable[[BinaryIO, str, bool, ParseError], Telemetry]]:
    from . import gopro, novatek

    def gopro_recover(f: BinaryIO, name: str, full: bool, cause: ParseError) -> Telemetry:
        return _recovered(gopro.recover_mp4(f), cause)

    def novatek_recover(f: BinaryIO, name: str, full: bool, cause: ParseError) -> Telemetry:
        return _recovered(novatek.extract(f, name=name), cause)

    return [gopro_recover, novatek_recover]


def _recovered(telemetry: Telemetry, cause: ParseError) -> Telemetry:
    if not telemetry.gps and not telemetry.streams:
        raise cause
    note = f"{cause}; recovered {len(telemetry.gps)} GPS samples by scanning"
    return dataclasses.replace(telemetry, error=telemetry.error or note)


def _avi_extractors() -> list[Extractor]:
    from . import mapcam

    return [lambda f, name, full: mapcam.extract(f, name=name)]


def _ts_extractors() -> list[Extractor]:
    from . import novatek

    return [lambda f, name, full: novatek.extract(f, name=name)]


def _gpmf_extractors() -> list[Extractor]:
    from . import gopro

    return [lambda f, name, full: gopro.extract_gpmf(f, streams=full)]


def _jpeg_extractors() -> list[Extractor]:
    from . import gopro

    return [lambda f, name, full: gopro.extract_jpeg(f)]


def _nmea_extractors() -> list[Extractor]:
    from . import nmea

    return [lambda f, name, full: nmea.extract(f, name=name)]


_EXTRACTORS: dict[str, Callable[[], list[Extractor]]] = {
    detect.MP4: _mp4_extractors,
    detect.AVI: _avi_extractors,
    detect.TS: _ts_extractors,
    detect.GPMF: _gpmf_extractors,
    detect.JPEG: _jpeg_extractors,
    detect.NMEA: _nmea_extractors,
}
_RECOVERERS = {detect.MP4: _mp4_recoverers}


def _merge_sidecar(telemetry: Telemetry, sidecar: str | os.PathLike[str]) -> Telemetry:
    from . import nmea

    name = os.path.basename(os.fspath(sidecar))
    try:
        with open(sidecar, "rb", buffering=0) as f:
            log_track = nmea.extract(f, name=name)
    except OSError as exc:
        raise TruncatedError(f"cannot read {name}: {exc.strerror or exc}") from exc
    return nmea.merge(telemetry, log_track)


def decode_chunk(stream: Stream, data: bytes) -> list[tuple[Value, ...]]:
    """Decode one chunk of a stream's bytes into rows of values (see Stream.codec).

    Raises:
        ParseError: the bytes do not fit the stream's layout.
    """
    from . import gpmf

    if stream.codec is None:
        raise UnsupportedError(f"stream {stream.name} has no chunk codec")
    return gpmf.decode_chunk(stream.codec, data)


def shift_time(telemetry: Telemetry, seconds: float) -> Telemetry:
    """Add ``seconds`` to every UTC time."""
    gps = tuple(
        s if s.utc is None else dataclasses.replace(s, utc=s.utc + seconds) for s in telemetry.gps
    )
    info = dict(telemetry.info, time_offset_applied_s=-seconds)
    return dataclasses.replace(telemetry, gps=gps, info=info)


def flag_outliers(telemetry: Telemetry) -> Telemetry:
    """Mark valid fixes that imply an impossible jump as invalid (with one warning)."""
    gps = list(telemetry.gps)
    rejected = _find_outliers(gps)
    if not rejected:
        return telemetry
    for i in rejected:
        gps[i] = dataclasses.replace(gps[i], valid=False)
    warning = ParseWarning(
        None,
        f"{len(rejected)} GPS fixes dropped from the track: they imply moving faster "
        f"than {MAX_PLAUSIBLE_SPEED:.0f} m/s (garbage fixes)",
    )
    return dataclasses.replace(telemetry, gps=tuple(gps), warnings=(*telemetry.warnings, warning))


def _find_outliers(gps: list[GpsSample]) -> list[int]:
    """Indices of valid fixes that jump impossibly far from the track.

    Walks the fixes keeping a chain of accepted ones. A fix too far from the
    last accepted one is rejected, unless it starts a run of _OUTLIER_RESYNC
    fixes that agree with each other: then the run is the truth, and if the
    chain before it was shorter than the run (a garbage first fix), that
    chain is rejected instead.
    """
    rejected: set[int] = set()
    chain: list[int] = []  # accepted since the start or the last resync
    run: list[int] = []  # consecutive rejects that agree with each other
    for i, s in enumerate(gps):
        if not s.valid or s.lat is None or s.lon is None:
            continue
        if not chain or _plausible(gps[chain[-1]], s):
            chain.append(i)
            run.clear()
            continue
        run = [*run, i] if run and _plausible(gps[run[-1]], s) else [i]
        rejected.add(i)
        if len(run) >= _OUTLIER_RESYNC:
            rejected.difference_update(run)
            if len(chain) < len(run):
                rejected.update(chain)
            chain, run = list(run), []
    return sorted(rejected)


# Metres per degree of latitude (and of longitude at the equator).
_M_PER_DEG = math.pi * _EARTH_RADIUS / 180


def _plausible(a: GpsSample, b: GpsSample) -> bool:
    """Whether going from fix a to fix b is possible at MAX_PLAUSIBLE_SPEED."""
    # One second of slack: clocks quantised to the second (Novatek, MAP CAM).
    allowed = MAX_PLAUSIBLE_SPEED * (abs(_elapsed(a, b)) + 1.0)
    dlat = abs((b.lat or 0.0) - (a.lat or 0.0)) * _M_PER_DEG
    dlon = abs((b.lon or 0.0) - (a.lon or 0.0))
    dlon = min(dlon, 360.0 - dlon) * _M_PER_DEG
    # The great-circle distance is at least the north-south leg and at most
    # the sum of both legs (a degree of longitude is never longer than at the
    # equator): decide cheaply when a bound settles it.
    if dlat > allowed:
        return False
    if dlat + dlon <= allowed:
        return True
    return _haversine(a, b) <= allowed


def _elapsed(a: GpsSample, b: GpsSample) -> float:
    if a.utc is not None and b.utc is not None:
        return b.utc - a.utc
    if a.video_time is not None and b.video_time is not None:
        return b.video_time - a.video_time
    return 1.0


def _haversine(a: GpsSample, b: GpsSample) -> float:
    p1, p2 = math.radians(a.lat or 0.0), math.radians(b.lat or 0.0)
    dp, dl = p2 - p1, math.radians((b.lon or 0.0) - (a.lon or 0.0))
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * _EARTH_RADIUS * math.asin(math.sqrt(min(1.0, max(0.0, h))))
