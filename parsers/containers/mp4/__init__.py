"""ISO base media (MP4/MOV) movies: the moov's headers and tracks; reads indexes, never mdat.

The box walker is boxes.py, the sample tables (stsd, stts, stsz/stz2,
stsc, stco/co64) are tables.py; this module reads the moov (mvhd, and
per trak tkhd, mdhd, hdlr, the stsd sample format and elst) and re-exports
the other two, so ``from telemetryfs.parsers import mp4`` is the whole API.

References: ISO/IEC 14496-12 §8 (box structure, sample tables, edit lists),
Apple QuickTime File Format (hdlr name as a Pascal string, mvhd epoch 1904).

Quirks:
- GoPro cameras write the moov *after* mdat and store local time, not UTC,
  in mvhd ``creation_time`` (gpmf-parser issue #51); we report it as stored.
- ffmpeg re-muxes (the ``*-trimmed`` samples) add an edit list to every track.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from typing import BinaryIO

from telemetryfs.parsers.binio import file_size, read_at, read_upto
from telemetryfs.parsers.containers.mp4.boxes import (
    CONTAINERS,
    MDAT,
    MOOV,
    TRAK,
    UDTA,
    Box,
    _unpack,
    find_box,
    iter_boxes,
    iter_children,
    read_box_data,
)
from telemetryfs.parsers.containers.mp4.tables import (
    MAX_SAMPLES,
    Sample,
    Track,
    first_sample_offset,
    iter_sample_data,
    read_samples,
)
from telemetryfs.parsers.errors import MalformedError, TruncatedError

__all__ = [
    "CONTAINERS",
    "MAX_MOOV",
    "MAX_SAMPLES",
    "MDAT",
    "MOOV",
    "MP4_EPOCH_OFFSET",
    "TRAK",
    "UDTA",
    "Box",
    "Movie",
    "Sample",
    "Track",
    "find_box",
    "find_moov",
    "find_track",
    "first_sample_offset",
    "iter_boxes",
    "iter_children",
    "iter_sample_data",
    "read_box_data",
    "read_movie",
    "read_samples",
]

log = logging.getLogger(__name__)


# Seconds between the MP4 epoch (1904-01-01) and the POSIX epoch.
MP4_EPOCH_OFFSET = 2_082_844_800
# A moov index bigger than this is a lying size: a 4 GiB GoPro chapter's moov is ~2 MB.
MAX_MOOV = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Movie:
    """The moov of a file: movie header values, the tracks and the udta boxes."""

    moov: Box
    timescale: int
    duration: float | None
    creation_time: float | None
    tracks: tuple[Track, ...]
    udta: tuple[Box, ...]


def find_moov(f: BinaryIO) -> Box | None:
    """The top-level moov box, walking headers only (mdat is skipped by one seek).

    A file cut short inside mdat (dead battery) has no moov: returns None then,
    as for a file that simply has none.

    Raises:
        TruncatedError: the moov itself is cut short.
        MalformedError: a top-level size is impossible.
    """
    end = file_size(f)
    try:
        for box in iter_boxes(f, 0, end):
            if box.kind == MOOV:
                return box
    except TruncatedError as exc:
        head = read_upto(f, exc.offset or 0, 8)
        if head[4:8] == MOOV:
            raise
    return None


def read_movie(f: BinaryIO, moov: Box) -> Movie:
    """Movie header, tracks and udta children of a moov box.

    Raises:
        TruncatedError, MalformedError: the moov structure is damaged.
    """
    if moov.data_size > MAX_MOOV:
        raise MalformedError(f"moov of {moov.data_size} bytes", offset=moov.offset, path="moov")
    timescale, duration, created = 0, None, None
    tracks: list[Track] = []
    udta: tuple[Box, ...] = ()
    for child in iter_children(f, moov):
        if child.kind == b"mvhd":
            timescale, duration, created = _parse_mvhd(read_box_data(f, child, 4096), child)
        elif child.kind == TRAK:
            tracks.append(_read_track(f, child, f"moov/trak[{len(tracks)}]", timescale))
        elif child.kind == UDTA:
            udta = tuple(iter_children(f, child, path="moov"))
    return Movie(moov, timescale, duration, created, tuple(tracks), udta)


def find_track(movie: Movie, handler: bytes, sample_format: bytes) -> Track | None:
    """The first track with this handler type and sample entry format (``meta``/``gpmd``)."""
    for track in movie.tracks:
        if track.handler == handler and track.sample_format == sample_format:
            return track
    return None


def _parse_mvhd(data: bytes, box: Box) -> tuple[int, float | None, float | None]:
    version = data[0] if data else 0
    layout = ">QQIQ" if version == 1 else ">IIII"
    created, _, timescale, duration = _unpack(layout, data, 4, box)
    return timescale, _seconds(duration, timescale), _posix(created)


def _posix(mp4_seconds: int) -> float | None:
    # Zero means "not set" (ffmpeg re-muxes write it).
    return float(mp4_seconds - MP4_EPOCH_OFFSET) if mp4_seconds else None


def _seconds(ticks: int, timescale: int) -> float | None:
    # All-ones durations mean "unknown" (ISO 14496-12 §8.2.2.3).
    if not timescale or ticks in (0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
        return None
    return ticks / timescale


def _read_track(f: BinaryIO, trak: Box, path: str, movie_timescale: int) -> Track:
    boxes: dict[bytes, Box] = {}
    _collect(f, trak, boxes, path)
    track_id = 0
    if b"tkhd" in boxes:
        tkhd = read_box_data(f, boxes[b"tkhd"], 4096)
        track_id = _unpack(">I", tkhd, 20 if tkhd[:1] == b"\x01" else 12, boxes[b"tkhd"])[0]
    timescale, duration = 0, None
    if b"mdhd" in boxes:
        mdhd = read_box_data(f, boxes[b"mdhd"], 4096)
        layout = ">QQIQ" if mdhd[:1] == b"\x01" else ">IIII"
        _, _, timescale, ticks = _unpack(layout, mdhd, 4, boxes[b"mdhd"])
        duration = _seconds(ticks, timescale)
    handler, name = _parse_hdlr(f, boxes.get(b"hdlr"))
    shift = 0.0
    if b"elst" in boxes:
        shift = _parse_elst(
            read_box_data(f, boxes[b"elst"]), boxes[b"elst"], movie_timescale, timescale
        )
    return Track(
        track_id=track_id,
        handler=handler,
        handler_name=name,
        sample_format=_first_sample_format(f, boxes.get(b"stsd")),
        timescale=timescale,
        duration=duration,
        edit_shift=shift,
        stbl=boxes.get(b"stbl"),
        path=path,
    )


def _collect(f: BinaryIO, box: Box, found: dict[bytes, Box], path: str) -> None:
    """Index the first box of each kind in a trak's container tree."""
    for child in iter_children(f, box, path=path):
        found.setdefault(child.kind, child)
        if child.kind in CONTAINERS:
            _collect(f, child, found, f"{path}/{child.name}")


def _parse_hdlr(f: BinaryIO, hdlr: Box | None) -> tuple[bytes, str]:
    if hdlr is None:
        return b"", ""
    data = read_box_data(f, hdlr, 4096)
    if len(data) < 12:
        raise MalformedError("hdlr too short", offset=hdlr.offset)
    raw = data[24:]
    # QuickTime writes a Pascal string (length byte first), ISO a C string.
    if raw and raw[0] == len(raw) - 1:
        raw = raw[1:]
    return data[8:12], raw.split(b"\0", 1)[0].decode("latin-1").strip()


def _first_sample_format(f: BinaryIO, stsd: Box | None) -> bytes:
    if stsd is None or stsd.data_size < 16:
        return b""
    return read_at(f, stsd.data_offset + 12, 4)


def _parse_elst(data: bytes, box: Box, movie_timescale: int, media_timescale: int) -> float:
    """How far an edit list moves the media timeline (seconds, positive = later).

    Leading empty edits (media_time -1) delay the track; the first real edit's
    media_time skips the media before it. Later edits (rate changes, splices)
    do not occur in camera files and are ignored.
    """
    version = data[0] if data else 0
    (count,) = _unpack(">I", data, 4, box)
    entry = struct.Struct(">Qq" if version == 1 else ">Ii")
    step = entry.size + 4  # plus media_rate (16.16)
    if count * step > len(data) - 8:
        raise MalformedError(f"elst announces {count} entries", offset=box.offset)
    shift = 0.0
    for i in range(count):
        segment, media_time = entry.unpack_from(data, 8 + i * step)
        if media_time == -1:
            shift += segment / movie_timescale if movie_timescale else 0.0
            continue
        return shift - (media_time / media_timescale if media_timescale else 0.0)
    return shift
