"""NMEA 0183 logs: a lone ``.nmea`` track, or a sidecar merged into its video.

The sentences themselves are decoded by ``encodings/nmea.py``; this module
reads a log file in bounded chunks and merges a sidecar's track with the
clip it was recorded beside.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from telemetryfs.parsers import timebase
from telemetryfs.parsers.binio import file_size, read_upto
from telemetryfs.parsers.encodings.nmea import Reader
from telemetryfs.parsers.errors import UnsupportedError
from telemetryfs.parsers.model import ParseWarning, Telemetry
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.records import Record, Source, first_fix_time, to_telemetry
from telemetryfs.parsers.sidecar_merge import merge_gps

SOURCE = Source(format="nmea", fourcc="NMEA", label="NMEA 0183 log")
_CHUNK = 1 << 20  # bytes read at a time
_MAX_LINE = 512  # NMEA allows 82 characters; anything longer is not NMEA


def _iter_lines(f: BinaryIO) -> Iterator[tuple[int, bytes]]:
    """Complete lines of a text file with their offsets, read in bounded chunks."""
    end = file_size(f)
    pos, carry, carry_at = 0, b"", 0
    while pos < end:
        chunk = read_upto(f, pos, min(_CHUNK, end - pos))
        if not chunk:
            break
        data = carry + chunk
        cut = data.rfind(b"\n") + 1
        if cut:
            yield carry_at, data[:cut]
            carry, carry_at = data[cut:], carry_at + cut
        else:
            carry = data
        if len(carry) > _MAX_LINE:
            carry, carry_at = b"", carry_at + len(carry)  # not NMEA: drop it
        pos += len(chunk)
    if carry:
        yield carry_at, carry


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """The track of an NMEA log file (a sidecar, or a lone ``.nmea``).

    Raises:
        UnsupportedError: no RMC or GGA sentence in the file.
        TruncatedError: the file cannot be read.
    """
    f = Probe.of(source, name).file
    reader = Reader()
    for offset, lines in _iter_lines(f):
        reader.feed(lines, offset)
    records = reader.finish()
    if not reader.records:
        raise UnsupportedError("no NMEA RMC or GGA sentence")
    warnings = [ParseWarning(None, w) for w in reader.warnings]
    first = first_fix_time(records)
    info: dict[str, object] = {"records": len(records)}
    shift = timebase.detect_offset(first, None, name)
    if shift is not None:
        info["time_offset_detected_s"] = shift
    return to_telemetry(
        SOURCE, records, raw=[], info=info, warnings=warnings, duration=_span(records)
    )


def _span(records: list[Record]) -> float | None:
    times = [r.utc for r in records if r.utc is not None]
    return max(times) - min(times) if times else None


def merge(video: Telemetry | None, sidecar: Telemetry) -> Telemetry:
    """A clip's telemetry with the GPS of its NMEA sidecar merged in (see merge_gps)."""
    return merge_gps(video, sidecar, "NMEA")
