"""One entry point for every format: open, probe, rank the candidates, run, tidy up.

``extract(path)`` opens the file read-only and probes it (probe.py: head,
tail, container, the moov parsed once). The formats the registry lists for
that container are tried in order of their score (a format that finds
nothing of its own raises UnsupportedError and the next one tries); when
every candidate found damage, the formats that can recover scan the file (a
GoPro or Novatek clip cut short by a dead battery has no moov). A file with
no telemetry at all is not an error: it yields an empty Telemetry, so the
mount shows it with no track. Then a sidecar (an NMEA log beside the clip)
is merged in, and every result gets the post-processing of cleanup.py.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from typing import BinaryIO

from telemetryfs.parsers import detect, integrity, registry
from telemetryfs.parsers.binio import file_size, read_upto
from telemetryfs.parsers.cleanup import flag_outliers, shift_time, to_utc
from telemetryfs.parsers.errors import MalformedError, ParseError, TruncatedError, UnsupportedError
from telemetryfs.parsers.format import Clock, Format
from telemetryfs.parsers.model import Extent, ParseWarning, RawFile, Stream, Telemetry, Value
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.source import LocalSource, SourceUnavailableError

log = logging.getLogger(__name__)

# Opens a source for reading: the plain file by default; the FUSE daemon
# passes one that yields the GIL while parsing, a remote source its own.
Opener = Callable[[str], BinaryIO]


def open_file(path: str) -> BinaryIO:
    """A local source (parsers/source.py): positioned reads, prefetch by fadvise, counted."""
    return LocalSource(path)


def extract(
    path: str | os.PathLike[str],
    *,
    full: bool = True,
    sidecar: str | os.PathLike[str] | None = None,
    time_offset_s: float = 0.0,
    opener: Opener = open_file,
    keep_camera_clock: bool = False,
) -> Telemetry:
    """Parse one source file (and its sidecar, if any).

    Args:
        path: the footage file.
        full: also index every telemetry stream (False: just what the GPS track needs).
        sidecar: a log recorded next to the clip (an NMEA file); its GPS is merged in.
        time_offset_s: the camera clock's offset from UTC (dashcams that record
            local time); subtracted from their times. Formats timed by the GPS
            clock (GoPro) are not shifted.
        opener: how to open the source (and the sidecar) for reading.
        keep_camera_clock: keep the times of cameras that record their local
            wall clock (DJI SRT, 70mai names) as recorded instead of moving
            them to UTC by the time zone at the first fix.

    Raises:
        ParseError: the file is damaged beyond recovery, or cannot be read.
    """
    name = os.path.basename(os.fspath(path))
    try:
        with opener(os.fspath(path)) as f:
            probe = Probe.of(f, name)
            telemetry = with_integrity(_extract_probe(probe, full), f, probe.container)
    except SourceUnavailableError:
        raise
    except OSError as exc:
        raise TruncatedError(f"cannot read {name}: {exc.strerror or exc}") from exc
    clock = registry.traits_of(telemetry.format).clock
    linked = _linked_log(telemetry, os.fspath(path), opener) if sidecar is None else None
    if sidecar is not None:
        telemetry, side_clock = _merge_sidecar(telemetry, os.fspath(sidecar), opener)
        if telemetry.info.get("gps_source") == "sidecar":
            clock = side_clock  # the track, and its times, are the sidecar's
    elif linked is not None:
        # The video is fine without its log: a damaged log is a warning, not an error.
        log_name = os.path.basename(linked)
        try:
            merged, side_clock = _merge_sidecar(telemetry, linked, opener)
        except ParseError as exc:
            note = ParseWarning(None, f"linked log {log_name}: {exc}")
            telemetry = dataclasses.replace(telemetry, warnings=(*telemetry.warnings, note))
        else:
            telemetry = dataclasses.replace(merged, info=dict(merged.info, linked_log=log_name))
            if telemetry.info.get("gps_source") == "sidecar":
                clock = side_clock
    if time_offset_s and clock is not Clock.GPS:
        telemetry = shift_time(telemetry, -time_offset_s)
    elif clock is Clock.LOCAL and not keep_camera_clock:
        telemetry = to_utc(telemetry)
    # GPS and CAMERA families time their samples by the receiver's clock as
    # the firmware wrote it (time_offset corrects firmware that localises it).
    name_of_clock = "camera-local" if clock is Clock.LOCAL else "gps"
    telemetry = dataclasses.replace(telemetry, info=dict(telemetry.info, clock=name_of_clock))
    return flag_outliers(telemetry)


def same_as_full(telemetry: Telemetry) -> bool:
    """Whether ``extract(full=False)`` gave what ``full=True`` would have given.

    Only formats with a GPS-only fast path (GoPro GPMF skips indexing the
    other streams) differ; for every other format a cache can keep the fast
    result as the full one and never parse the file twice.
    """
    return not registry.traits_of(telemetry.format).gps_fast_path


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


def candidates(probe: Probe) -> list[Format]:
    """The formats that may hold this file's telemetry, best score first (0: never tried)."""
    if probe.container is None:
        return []
    scored = [(f.score(probe), i, f) for i, f in enumerate(registry.for_container(probe.container))]
    return [f for score, _, f in sorted(scored, key=lambda x: (-x[0], x[1])) if score > 0]


def _extract_probe(probe: Probe, full: bool) -> Telemetry:
    if probe.container is None:
        raise UnsupportedError("not a recognised video or telemetry file")
    if probe.container == detect.UNRECOGNISED:
        raise MalformedError(_unrecognised_reason(probe.file))
    ranked = candidates(probe)
    first_error: ParseError | None = None
    for fmt in ranked:
        try:
            return fmt.extract(probe, full)
        except UnsupportedError:
            continue
        except (TruncatedError, MalformedError) as exc:
            log.debug("%s: %s: %s", probe.name, fmt.name, exc)
            first_error = first_error or exc
    if first_error is None:
        return _without_telemetry(probe)
    for fmt in ranked:
        if fmt.recover is None:
            continue
        try:
            return _recovered(fmt.recover(probe, first_error), first_error)
        except ParseError as exc:
            log.debug("%s: recovery by %s failed: %s", probe.name, fmt.name, exc)
    raise first_error


def _without_telemetry(probe: Probe) -> Telemetry:
    """A video with no telemetry (a dashcam's rear channel): still its length, from the moov,
    so a recording's video times run on across it."""
    duration = created = None
    if probe.container == detect.MP4:
        try:
            movie = probe.movie()
        except ParseError:
            movie = None
        if movie is not None:
            duration, created = movie.duration, movie.creation_time
    note = {"note": "no telemetry found in this file"}
    return Telemetry(
        format=probe.container or "", duration=duration, creation_time=created, info=note
    )


def _unrecognised_reason(f: BinaryIO) -> str:
    head = read_upto(f, 0, 8)
    if not head:
        return "empty file"
    if len(head) < 8:
        return f"file too short to be a video ({len(head)} bytes)"
    return f"not a known video container (starts with {head.hex(' ')})"


def _recovered(telemetry: Telemetry, cause: ParseError) -> Telemetry:
    if not telemetry.gps and not telemetry.streams:
        raise cause
    note = f"{cause}; recovered {len(telemetry.gps)} GPS samples by scanning"
    return dataclasses.replace(telemetry, error=telemetry.error or note)


def looks_for_linked_logs(telemetry: Telemetry) -> bool:
    """Whether this result depends on logs its video names inside itself (which a cache
    keyed by the video's own stat does not cover)."""
    fmt = registry.format_of(telemetry.format)
    return fmt is not None and fmt.linked_logs is not None


def _linked_log(telemetry: Telemetry, path: str, opener: Opener) -> str | None:
    """The first of the logs a video names inside itself that can be opened."""
    fmt = registry.format_of(telemetry.format)
    if fmt is None or fmt.linked_logs is None:
        return None
    for candidate in fmt.linked_logs(telemetry, path):
        try:
            with opener(candidate):
                return candidate
        except SourceUnavailableError:
            raise
        except (OSError, ParseError):
            continue
    return None


def _merge_sidecar(telemetry: Telemetry, sidecar: str, opener: Opener) -> tuple[Telemetry, Clock]:
    """Merge the sidecar's track into the video's, by the sidecar family's own rule."""
    name = os.path.basename(sidecar)
    try:
        with opener(sidecar) as f:
            probe = Probe.of(f, name)
            fmt = next((c for c in candidates(probe) if c.merge is not None), None)
            if fmt is None or fmt.merge is None:
                raise UnsupportedError(f"{name} is not a sidecar this tool reads")
            side = fmt.extract(probe, True)
    except SourceUnavailableError:
        raise
    except OSError as exc:
        raise TruncatedError(f"cannot read {name}: {exc.strerror or exc}") from exc
    return fmt.merge(telemetry, side), fmt.traits.clock


def decode_chunk(stream: Stream, data: bytes) -> list[tuple[Value, ...]]:
    """Decode one chunk of a stream's bytes into rows of values (see Stream.codec).

    Raises:
        ParseError: the bytes do not fit the stream's layout.
    """
    if stream.codec is None:
        raise UnsupportedError(f"stream {stream.name} has no chunk codec")
    return stream.codec.decode(data)
