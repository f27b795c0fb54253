"""Dashcam MP4s whose GPS is not in freeGPS blocks: where to find it.

:func:`.novatek.extract` hands over here when a file has no freeGPS block.
The places, from ExifTool's QuickTime.pm/QuickTimeStream.pl, each read
with bounded sizes:

- ``gpmd`` metadata tracks that are not GoPro GPMF: Vantrue N2S (``FMAS``),
  Wolfbox G900 / Redtiger F9 (value/divisor pairs), Kingslim D4 (a Novatek
  record), Rove (XOR 0xAA text);
- ``text``/``tx3g`` subtitle tracks with XOR 0xAA text (BlueSkySea,
  Ambarella A12) or NMEA sentences;
- a top-level ``udta`` box starting ``VIDEOUUUU...`` (Kenwood DRV-A301W);
- a trailer after the last box: Auto-Vox RIFF chunks (``gpsa``, ``gps0``,
  ``gsen``, ``gsea``) or Kenwood ``GPSDATA--`` records.

Decoding is in :mod:`.cousin_records`, :mod:`.layouts` and
:mod:`.layouts.textual`.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from typing import BinaryIO, NamedTuple

from telemetryfs.parsers.binio import read_upto
from telemetryfs.parsers.containers import mp4
from telemetryfs.parsers.encodings import nmea
from telemetryfs.parsers.errors import ParseError, UnsupportedError
from telemetryfs.parsers.formats._dashcam.movie import read_movie
from telemetryfs.parsers.formats.novatek.cousin_records import (
    KENWOOD_UDTA,
    is_wolfbox,
    parse_aitg,
    parse_fmas,
    parse_gpsdata,
    parse_kenwood_udta,
    parse_wolfbox,
)
from telemetryfs.parsers.formats.novatek.layouts import decode_block
from telemetryfs.parsers.formats.novatek.layouts.textual import decode_xor_sample
from telemetryfs.parsers.model import Extent, ParseWarning, Telemetry
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.records import Record, Source, to_telemetry

log = logging.getLogger(__name__)

MAX_SAMPLE = 64 * 1024  # a GPS sample is small; a bigger one is video
MAX_TRAILER = 64 << 20  # trailers hold an hour of GPS in a few MB
_TRAILER_TAGS = (b"gpsa", b"gps0", b"gsen", b"gsea")
_TEXT_FORMATS = (b"text", b"tx3g")

SOURCES = {
    "gpmd": Source("dashcam-gpmd", "gpmd", "dashcam GPS in a gpmd track"),
    "text": Source("dashcam-text", "text", "dashcam GPS in a subtitle track"),
    "udta": Source("kenwood-udta", "udta", "Kenwood udta GPS"),
    "riff": Source("autovox-trailer", "gps0", "Auto-Vox RIFF trailer GPS"),
    "gpsdata": Source("kenwood-trailer", "GPSD", "Kenwood GPSDATA trailer"),
}


def decode_gpmd(sample: bytes, offset: int) -> list[Record]:
    """A non-GoPro ``gpmd`` sample: FMAS, Wolfbox, Kingslim record or XOR text."""
    if sample.startswith(b"FMAS"):
        return parse_fmas(sample, offset)
    if is_wolfbox(sample):
        return parse_wolfbox(sample, offset)
    record = decode_xor_sample(sample, offset)
    if record is not None:
        return [record]
    decoded = decode_block(sample, offset)
    if decoded is not None and decoded.layout in ("novatek-0", "ligogps"):
        return list(decoded.records)
    return []


def decode_text(sample: bytes, offset: int) -> list[Record]:
    """A subtitle sample (2-byte length first in tx3g): XOR text or NMEA."""
    if len(sample) >= 2:
        (length,) = struct.unpack_from(">H", sample)
        if 0 < length <= len(sample) - 2:
            sample, offset = sample[2 : 2 + length], offset + 2
    record = decode_xor_sample(sample, offset)
    if record is not None:
        return [record]
    records, _ = nmea.parse_text(sample, offset)
    return records


class Found(NamedTuple):
    """GPS found somewhere in a clip: where (a SOURCES key), its records, the bytes read."""

    kind: str
    records: list[Record]
    extents: list[Extent]


def _from_tracks(f: BinaryIO, movie: mp4.Movie) -> Found | None:
    for track in movie.tracks:
        kind = (
            "gpmd"
            if track.sample_format == b"gpmd"
            else "text"
            if track.sample_format in _TEXT_FORMATS
            else None
        )
        if kind is None:
            continue
        decode: Callable[[bytes, int], list[Record]] = (
            decode_gpmd if kind == "gpmd" else decode_text
        )
        records, extents = _decode_samples(f, track, decode)
        if records:
            return Found(kind, records, extents)
    return None


def _decode_samples(
    f: BinaryIO, track: mp4.Track, decode: Callable[[bytes, int], list[Record]]
) -> tuple[list[Record], list[Extent]]:
    try:
        samples = mp4.read_samples(f, track)
    except ParseError as exc:
        log.debug("track %s: %s", track.path, exc)
        return [], []
    records: list[Record] = []
    extents: list[Extent] = []
    for sample, data in mp4.iter_sample_data(f, [s for s in samples if 0 < s.size <= MAX_SAMPLE]):
        if data[:4] == b"DEVC":
            return [], []  # GoPro GPMF: not ours
        found = decode(data, sample.offset)
        records += [_timed(r, sample.start) for r in found]
        if found:
            extents.append(Extent(sample.offset, sample.size))
    return records, extents


def _timed(record: Record, start: float) -> Record:
    from dataclasses import replace

    return record if record.video_time is not None else replace(record, video_time=start)


def _top_level(f: BinaryIO, end: int) -> tuple[list[mp4.Box], int | None]:
    """The top-level boxes, and where a trailer that is not a box starts (if any)."""
    boxes: list[mp4.Box] = []
    try:
        boxes.extend(mp4.iter_boxes(f, 0, end))
    except ParseError as exc:
        return boxes, exc.offset
    return boxes, None


def _from_udta(f: BinaryIO, boxes: list[mp4.Box]) -> Found | None:
    for box in boxes:
        if box.kind == b"udta" and read_upto(f, box.data_offset, 27) == KENWOOD_UDTA:
            data = read_upto(f, box.data_offset, min(box.data_size, MAX_TRAILER))
            records = parse_kenwood_udta(data, box.data_offset)
            if records:
                return Found("udta", records, [Extent(box.data_offset, len(data))])
    return None


def _from_trailer(f: BinaryIO, start: int, end: int) -> Found | None:
    head = read_upto(f, start, 16)
    if head[:4] in _TRAILER_TAGS:
        return _riff_trailer(f, start, end)
    data = read_upto(f, start, min(end - start, MAX_TRAILER))
    records = parse_gpsdata(data, start)
    return Found("gpsdata", records, [Extent(start, len(data))]) if records else None


def _riff_trailer(f: BinaryIO, pos: int, end: int) -> Found | None:
    """Auto-Vox: RIFF-style chunks (tag, LE size) appended to the MP4."""
    records: list[Record] = []
    extents: list[Extent] = []
    while pos + 8 <= end:
        tag, size = struct.unpack("<4sI", read_upto(f, pos, 8))
        if tag == b"\0\0\0\0" or not tag.isalnum() or pos + 8 + size > end or size > MAX_TRAILER:
            break
        if tag == b"gps0":
            data = read_upto(f, pos + 8, size)
            records += parse_aitg(data, pos + 8)
            extents.append(Extent(pos + 8, size))
        pos += 8 + size
    return Found("riff", records, extents) if records else None


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """GPS from the non-freeGPS places of a dashcam MP4.

    Args:
        f: the file.
        name: its name (unused: these formats are told by their bytes).
        movie: the moov already read, if any.

    Raises:
        UnsupportedError: none of these places holds GPS.
    """
    probe = Probe.of(source, name)
    f, end = probe.file, probe.size
    movie = read_movie(probe, [])
    boxes, trailer = _top_level(f, end)
    found = _from_tracks(f, movie) if movie is not None else None
    found = found or _from_udta(f, boxes)
    if found is None and trailer is not None:
        found = _from_trailer(f, trailer, end)
    if found is None:
        raise UnsupportedError("no dashcam GPS in this MP4")
    kind, records, extents = found
    warnings = (
        [ParseWarning(trailer, "data after the last box read as a GPS trailer")]
        if kind in ("riff", "gpsdata")
        else []
    )
    return to_telemetry(
        SOURCES[kind],
        records,
        raw=extents,
        creation_time=movie.creation_time if movie else None,
        duration=movie.duration if movie else None,
        info={"records": len(records), "container": kind},
        warnings=warnings,
    )
