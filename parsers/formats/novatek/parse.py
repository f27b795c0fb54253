"""Novatek freeGPS: GPS blocks in ``free`` boxes among the media data, and TS files.

Novatek-based dashcams (Viofo, Kenwood, Vantrue, Rexing, Azdome, ...) write
one GPS block per second as a ``free`` box starting ``freeGPS `` between the
media chunks of the mdat (sergei.nz, "Extracting GPS data from Viofo A119 and
other Novatek powered cameras"). How they are found, best first:

1. the moov ``gps `` index: a version/date header (8 bytes; ExifTool reads the
   second u32 as the entry count) then big-endian u32 offset + size pairs;
2. when the index is missing or damaged (interrupted recording, firmware that
   writes none): a scan of the gaps between the media samples the sample
   tables describe, so only the bytes that are not video or audio are read;
3. with no usable moov: a streaming scan of the whole file in bounded windows;
   if the first 32 MiB hold no block, the file has none (ExifTool found the
   first block within 2 MB in all its samples, and stops after 20 MB);
4. ``.TS`` files have no index at all: the GPS sits in a private stream
   (:mod:`.mpegts`); each PES is decoded like a block without its header.

What a block holds depends on the firmware: see :mod:`.layouts`. The
layout is told from the bytes; the Rexing scaling, once seen in a file,
applies to every block of it. Blocks read up to 4 KiB unless their layout
holds a list of records. Quirks handled: block size fields that lie (the
dashcamigo stubs wrap each block in a second ``free``), index entries past the
end of a file cut short, ring-buffer layouts that repeat records.
"""

from __future__ import annotations

import dataclasses
import logging
import struct
from collections.abc import Iterator
from typing import BinaryIO

from telemetryfs.parsers import timebase
from telemetryfs.parsers.binio import Readahead, file_size, read_upto
from telemetryfs.parsers.containers import mp4, mpegts
from telemetryfs.parsers.errors import ParseError, UnsupportedError
from telemetryfs.parsers.formats._dashcam.decoded import Decoded
from telemetryfs.parsers.formats._dashcam.movie import read_movie
from telemetryfs.parsers.formats.novatek import cousins
from telemetryfs.parsers.formats.novatek.layouts import decode_block, describe
from telemetryfs.parsers.model import Extent, ParseWarning, Telemetry
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.records import (
    Record,
    Source,
    clock_before_first_fix,
    first_fix_time,
    merge_extents,
    to_telemetry,
)

log = logging.getLogger(__name__)

SOURCE_MP4 = Source(format="novatek-mp4", fourcc="freeGPS", label="Novatek freeGPS blocks")
SOURCE_TS = Source(format="novatek-ts", fourcc="freeGPS", label="Novatek GPS (MPEG-TS stream)")

MARKER = b"freeGPS "  # at block offset 4, after the box size
MAX_BLOCK = 1 << 20  # blocks are 0x400..0x8000 bytes; a bigger size field lies
DEFAULT_BLOCK = 0x8000  # typical block size (ExifTool), for blocks whose size lies
HEAD = 4096  # enough for every single-record layout
LIST_LAYOUTS = frozenset({"atc", "innovv", "xbht", "nextbase-be", "ligogps", "nmea"})
SCAN_WINDOW = 1 << 20
GIVE_UP = 32 << 20  # scanned bytes without any block: the file has none
MAX_BLOCKS = 24 * 3600 * 10  # a day at 10 Hz: more index entries than this is a lie
# Layouts whose speed unit no source confirms (speed_raw keeps the stored value).
SPEED_NOTES = {
    "akaso": "speed stored without unit; read as km/h, as ExifTool does",
    "akaso-2e": "speed stored without unit; read as km/h, as ExifTool does",
    "akaso-v1": "speed stored without unit; read as km/h, as ExifTool does",
    "xbht": "speed unit not stated; read as km/h, as ExifTool does",
    "70mai-a810": "speed seems to be km/h (not confirmed)",
}


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """The GPS track of a Novatek-family MP4/MOV or TS file.

    Args:
        source: the video, opened in binary mode (or its probe).
        name: its file name (only for the time-offset check).

    Files without freeGPS blocks are passed to :func:`.cousins.extract`
    (Kenwood, Auto-Vox, Vantrue N2S, Wolfbox ... keep GPS elsewhere).

    Raises:
        UnsupportedError: no GPS block in the file.
        TruncatedError: the file cannot be read.
    """
    probe = Probe.of(source, name)
    if mpegts.is_ts(probe.head[: 192 * 8]):
        return _extract_ts(probe.file, name)
    return _extract_mp4(probe, name)


def _extract_mp4(probe: Probe, name: str) -> Telemetry:
    f, end = probe.file, probe.size
    warnings: list[ParseWarning] = []
    movie = read_movie(probe, warnings, ", scanning instead")
    blocks, how = _find_blocks(f, movie, end, warnings)
    if not blocks:
        # Cousins that keep GPS elsewhere (gpmd/text tracks, udta, trailers).
        return cousins.extract(probe, name=name)
    readahead = Readahead(f, [(e.offset, e.size) for e in blocks])
    decoded = []
    for i, extent in enumerate(blocks):
        readahead.before(i)  # a block a second, scattered through the video
        decoded.append((extent, _decode(f, extent, None)))
    if any(_rexing(d) for _, d in decoded):
        decoded = [(extent, _decode(f, extent, True)) for extent in blocks]
    info = {"blocks": len(blocks), "blocks_found_by": how}
    return _assemble(
        SOURCE_MP4,
        decoded,
        name=name,
        movie=movie,
        info=info,
        warnings=warnings,
    )


def _find_blocks(
    f: BinaryIO, movie: mp4.Movie | None, end: int, warnings: list[ParseWarning]
) -> tuple[list[Extent], str]:
    if movie is not None:
        index = read_index(f, movie.moov, end, warnings)
        if index:
            return index, "index"
        gaps = _gaps(f, movie, end)
        if gaps is not None:
            return list(scan(f, gaps)), "scan of the gaps between media samples"
    return list(scan(f, [(0, end)])), "scan of the whole file"


def read_index(
    f: BinaryIO, moov: mp4.Box, end: int, warnings: list[ParseWarning]
) -> list[Extent] | None:
    """The blocks the moov ``gps `` index lists, or None without a usable index.

    Entries that do not point at a freeGPS block (beyond the end of a file
    cut short, or garbage) are dropped with a warning; an index where most
    entries are bad counts as damaged.

    Raises:
        TruncatedError, MalformedError: the moov structure is damaged.
    """
    box = mp4.find_box(f, moov, b"gps ")
    if box is None or box.data_size < 8:
        return None
    data = mp4.read_box_data(f, box, 8 * MAX_BLOCKS + 8)
    # The 8-byte header is a version and a build date (sergei.nz); ExifTool
    # reads its second word as a count. Neither is trusted: every pair the
    # box holds is read, and the all-zero pairs of a preallocated index skipped.
    pairs = [
        p for p in struct.iter_unpack(">II", data[8 : 8 + (len(data) - 8) // 8 * 8]) if p != (0, 0)
    ]
    count = len(pairs)
    plausible = [(o, n) for o, n in pairs if 16 <= n <= MAX_BLOCK and o + n <= end]
    # Each marker check is a read somewhere in a video of gigabytes: one by one,
    # cold, each waits for a seek. Announced ahead as the blocks the decoder then
    # reads whole, the checks and the decoding find them in the page cache.
    readahead = Readahead(f, plausible)
    good: list[Extent] = []
    for i, (offset, size) in enumerate(plausible):
        readahead.before(i)
        if _is_block(f, offset):
            good.append(Extent(offset, size))
    bad = count - len(good)
    if bad:
        warnings.append(
            ParseWarning(
                box.offset, f"{bad} of {count} gps index entries do not point at a GPS block"
            )
        )
    if not good or bad > len(good):
        return None
    return good


def _is_block(f: BinaryIO, offset: int) -> bool:
    return read_upto(f, offset + 4, 8) == MARKER


def _gaps(f: BinaryIO, movie: mp4.Movie, end: int) -> list[tuple[int, int]] | None:
    """Byte ranges no media sample, moov or ftyp covers; None if a table is unreadable."""
    covered = [(movie.moov.offset, movie.moov.end)]
    for track in movie.tracks:
        try:
            covered += [(s.offset, s.offset + s.size) for s in mp4.read_samples(f, track)]
        except ParseError as exc:
            log.debug("track %s: %s", track.path, exc)
            return None
    if len(covered) == 1:
        return None  # no sample tables: nothing to leave out
    gaps: list[tuple[int, int]] = []
    pos = 0
    for start, stop in sorted(covered):
        if start > pos:
            gaps.append((pos, min(start, end)))
        pos = max(pos, stop)
    if pos < end:
        gaps.append((pos, end))
    return [(a, b) for a, b in gaps if b - a >= 16]


def scan(f: BinaryIO, ranges: list[tuple[int, int]]) -> Iterator[Extent]:
    """The freeGPS blocks in byte ranges of the file, read in bounded windows.

    A block's size comes from its box header when that is plausible, else
    from a box wrapped around it (dashcamigo's stubs), else it runs to the
    next block (at most DEFAULT_BLOCK). Gives up after GIVE_UP bytes without
    any block.
    """
    end = file_size(f)
    budget = GIVE_UP
    pending: int | None = None  # a block whose size lied: its end is the next block
    for start, stop in ranges:
        pos = start
        while pos < stop:
            if pending is None and budget <= 0:
                return  # nothing so far (a block found resets the budget below)
            piece = min(stop, pos + 8 * SCAN_WINDOW)
            for base in _markers(f, pos, piece):
                if pending is not None:
                    yield Extent(pending, min(DEFAULT_BLOCK, base - pending))
                    pending = None
                budget = 1 << 62  # a file with blocks is scanned to its end
                size = _block_size(f, base, end)
                if size is None:
                    pending = base
                else:
                    yield Extent(base, size)
            budget -= piece - pos
            pos = piece
    if pending is not None:
        yield Extent(pending, min(DEFAULT_BLOCK, end - pending))


def _block_size(f: BinaryIO, base: int, end: int) -> int | None:
    """A block's size from its header, or from a ``free`` box wrapped around it."""
    head = read_upto(f, max(0, base - 4), 8)
    size = struct.unpack(">I", head[-4:])[0] if len(head) == 8 else 0
    if 16 <= size <= MAX_BLOCK and base + size <= end:
        return size
    outer = struct.unpack(">I", head[:4])[0] if base >= 4 and len(head) == 8 else 0
    if head[4:8] == b"free" and 16 <= outer <= MAX_BLOCK and base - 4 + outer <= end:
        return outer - 4
    return None


def _markers(f: BinaryIO, start: int, stop: int) -> Iterator[int]:
    """Offsets of block starts (4 bytes before ``freeGPS ``) in [start, stop)."""
    pos = start
    reach = stop + 4 + len(MARKER)  # a block starting before stop has its marker up to here
    overlap = 4 + len(MARKER)
    last = -1
    while pos < reach - overlap:
        window = read_upto(f, pos, min(SCAN_WINDOW, reach - pos))
        hit = window.find(MARKER)
        while hit >= 0:
            base = pos + hit - 4
            if start <= base < stop and base > last:
                last = base
                yield base
            hit = window.find(MARKER, hit + 1)
        if len(window) < SCAN_WINDOW:
            return
        pos += len(window) - overlap


def _decode(f: BinaryIO, extent: Extent, scaled: bool | None) -> Decoded | None:
    data = read_upto(f, extent.offset, min(extent.size, HEAD))
    decoded = decode_block(data, extent.offset, scaled=scaled)
    if decoded is not None and decoded.layout in LIST_LAYOUTS and extent.size > len(data):
        data = read_upto(f, extent.offset, extent.size)
        decoded = decode_block(data, extent.offset, scaled=scaled)
    if decoded is None:
        return Decoded(f"unknown ({describe(data)})", (), "GPS block in an unknown layout")
    return decoded


def _rexing(decoded: Decoded | None) -> bool:
    return decoded is not None and any(dict(r.extra).get("deobfuscated") for r in decoded.records)


def _assemble(
    source: Source,
    decoded: list[tuple[Extent, Decoded | None]],
    *,
    name: str,
    movie: mp4.Movie | None,
    info: dict[str, object],
    warnings: list[ParseWarning],
) -> Telemetry:
    layouts: dict[str, int] = {}
    vendors: dict[str, int] = {}
    notes: dict[str, list[int]] = {}
    for extent, block in decoded:
        if block is None:
            continue
        layouts[block.layout] = layouts.get(block.layout, 0) + 1
        if block.vendor:
            vendors[block.vendor] = vendors.get(block.vendor, 0) + 1
        if block.note:
            notes.setdefault(block.note, []).append(extent.offset)
    records = _records(decoded, tag_layout=len(layouts) > 1)
    if any(block is not None and block.ring for _, block in decoded):
        records = _unique_in_time(records)
    warnings = warnings + [
        ParseWarning(at[0], note if len(at) == 1 else f"{note} ({len(at)} blocks)")
        for note, at in notes.items()
    ]
    layout = max(layouts, key=layouts.__getitem__) if layouts else None
    info = dict(info, layout=layout)
    if len(layouts) > 1:
        info["layouts"] = layouts
    if layout in SPEED_NOTES:
        info["speed_unit"] = SPEED_NOTES[layout]
    info["records"] = len(records)
    creation = movie.creation_time if movie is not None else None
    _time_offset(info, records, creation, name)
    return to_telemetry(
        source,
        records,
        camera=max(vendors, key=vendors.__getitem__) if vendors else None,
        raw=[extent for extent, _ in decoded],
        creation_time=creation,
        duration=movie.duration if movie is not None else None,
        info=info,
        warnings=warnings,
        error=None if records else "GPS blocks found but no record could be decoded",
    )


def _time_offset(
    info: dict[str, object], records: list[Record], creation: float | None, name: str
) -> None:
    first = first_fix_time(records)
    other = clock_before_first_fix(records)
    offset = timebase.detect_offset(first, creation, name, other_clock=other)
    if offset is not None:
        info["time_offset_detected_s"] = offset


def _unique_in_time(records: list[Record]) -> list[Record]:
    """Ring-buffer layouts store old records again: keep each time once, in time order."""
    seen: dict[float | None, Record] = {}
    for record in records:
        seen.setdefault(record.utc, record)
    return sorted(seen.values(), key=lambda r: (r.utc is None, r.utc or 0.0))


def _records(decoded: list[tuple[Extent, Decoded | None]], *, tag_layout: bool) -> list[Record]:
    """Every block's records in file order; tagged with their layout in files that mix them."""
    out: list[Record] = []
    for _, block in decoded:
        if block is None:
            continue
        if tag_layout:
            tag = ("layout", block.layout)
            out += [dataclasses.replace(r, extra=(tag, *r.extra)) for r in block.records]
        else:
            out += block.records
    return out


def _extract_ts(f: BinaryIO, name: str) -> Telemetry:
    decoded: list[tuple[Extent, Decoded | None]] = []
    extents: list[Extent] = []
    for pes in mpegts.iter_pes(f):
        payload, skipped = mpegts.strip_pes_header(bytes(pes.data))
        start = _payload_offset(pes.extents, skipped)
        block = decode_payload(payload, start)
        if block is not None:
            decoded.append((Extent(start, len(payload)), block))
            extents += pes.extents
    if not decoded:
        raise UnsupportedError("no GPS stream in the transport stream")
    telemetry = _assemble(
        SOURCE_TS,
        decoded,
        name=name,
        movie=None,
        info={"blocks_found_by": "TS private stream"},
        warnings=[],
    )
    pieces = merge_extents(extents)
    return dataclasses.replace(
        telemetry,
        raw_files=tuple(dataclasses.replace(r, pieces=pieces) for r in telemetry.raw_files),
    )


def _payload_offset(extents: list[Extent], skipped: int) -> int:
    for extent in extents:
        if skipped < extent.size:
            return extent.offset + skipped
        skipped -= extent.size
    return extents[-1].offset if extents else 0


def decode_payload(payload: bytes, offset: int) -> Decoded | None:
    """A TS GPS payload: a whole freeGPS block, or a record without the 16-byte block header.

    ExifTool pads such records with 16 bytes and reads them as a block; the
    Blueskysea B4K puts 164 bytes of strings before its record.
    """
    at = payload.find(MARKER)
    if 0 <= at - 4 < 64:
        return decode_block(payload[at - 4 :], offset + at - 4)
    if payload[188:189] == b"A" and payload[189:190] in (b"N", b"S"):
        payload, offset = payload[164:], offset + 164
    decoded = decode_block(b"\0" * 16 + payload, offset - 16)
    if decoded is None or not decoded.records:
        return None
    return decoded
