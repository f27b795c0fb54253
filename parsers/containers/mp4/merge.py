"""One MP4 from several: a new moov over the parts' media, never copying the media.

The way gyroflow's mp4-merge joins GoPro chapters: every track's sample tables
(stts, ctts, stss, stsz, stsc, stco/co64, sdtp) are appended part after part,
chunk offsets rebased onto the parts' mdat payloads laid end to end behind
the new moov (co64 when the result passes 4 GiB), and the durations summed
in mvhd, tkhd, mdhd and elst. A timecode track (tmcd) keeps its first
sample only, stretched over the whole. Everything else (stsd, udta, tref ...)
is the first part's.

The result is a list of pieces: the new header as bytes, then each part's
mdat payload as an Extent (``part`` = its index), so the joined file is
served from the parts' byte ranges and its exact size is known from the
box headers alone.

Parts join when every track has the same handler, timescale, sample
description (codec, resolution, codec private data) and sample duration
(frame rate) as in the first part; otherwise :class:`JoinRefusedError` says why.
A part that does not play on its own (no moov, or samples beyond its end,
as in a chapter cut by a dead battery) ends the join: the parts before it
are joined and ``note`` says what was left out.

References: ISO/IEC 14496-12 §8.3-§8.7; gyroflow/mp4-merge (src/lib.rs).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from telemetryfs.parsers.binio import U32BE, U64BE
from telemetryfs.parsers.containers.mp4.boxes import MDAT, MOOV
from telemetryfs.parsers.containers.mp4.merge_parts import NESTED as _NESTED
from telemetryfs.parsers.containers.mp4.merge_parts import Part as _Part
from telemetryfs.parsers.containers.mp4.merge_parts import PartTrack as _Track
from telemetryfs.parsers.containers.mp4.merge_parts import boxes as _boxes
from telemetryfs.parsers.containers.mp4.merge_parts import entries as _entries
from telemetryfs.parsers.containers.mp4.merge_parts import payload as _payload
from telemetryfs.parsers.containers.mp4.merge_parts import read_part as _read_part
from telemetryfs.parsers.errors import MalformedError, ParseError
from telemetryfs.parsers.model import Extent, Piece

# Sample-table boxes rebuilt from all parts; the others listed here are dropped
# (sample groups, sub-samples, composition bounds: per-part facts we do not join).
_REBUILT = (b"stts", b"ctts", b"stss", b"stsz", b"stz2", b"stsc", b"stco", b"co64", b"sdtp")
_DROPPED = frozenset({b"sgpd", b"sbgp", b"subs", b"saiz", b"saio", b"cslg", b"stps", b"padb"})
FOUR_GIB = 1 << 32


class JoinRefusedError(ParseError):
    """The parts cannot be joined into one movie (the message says why)."""


@dataclass(frozen=True, slots=True)
class JoinedMovie:
    """The joined file: its pieces in order, its size, and what went into it."""

    pieces: tuple[Piece, ...]
    size: int
    parts: int  # how many parts, from the first, are in it
    duration_s: float
    note: str | None = None  # why later parts were left out


def join_movies(sources: Sequence[BinaryIO]) -> JoinedMovie:
    """Join the movies in ``sources`` (in order) into one.

    Raises:
        JoinRefusedError: the first part does not play, or a part's tracks differ
            from the first's (the message names the part and the difference).
    """
    if not sources:
        raise JoinRefusedError("no parts")
    parts: list[_Part] = []
    note = None
    for number, f in enumerate(sources, 1):
        try:
            part = _read_part(f)
        except ParseError as exc:
            if not parts:
                raise JoinRefusedError(f"part 1 does not play: {exc}") from exc
            note = f"{_joined(len(parts))}; part {number} does not play: {exc}"
            break
        if parts:
            _check_same(parts[0], part, number)
        parts.append(part)
        if part.cut:
            seconds = part.duration / part.timescale if part.timescale else 0.0
            note = f"part {number} is cut short: its first {seconds:.3f} s are joined"
            if number < len(sources):
                note += f", the parts after it are not ({_joined(number)})"
            break
    try:
        return _build(parts, note)
    except struct.error as exc:  # a sum that overflows its field: lying durations
        raise JoinRefusedError(f"the joined tables do not fit their fields: {exc}") from exc


def _joined(count: int) -> str:
    return "joined part 1 only" if count == 1 else f"joined parts 1-{count}"


# -- comparing parts ----------------------------------------------------------------


def _check_same(first: _Part, part: _Part, number: int) -> None:
    if len(part.tracks) != len(first.tracks):
        raise JoinRefusedError(
            f"part {number} has {len(part.tracks)} tracks, part 1 has {len(first.tracks)}"
        )
    for a, b in zip(first.tracks, part.tracks, strict=True):
        what = _HANDLERS.get(a.handler, a.handler.decode("latin-1"))
        if a.handler != b.handler:
            other = _HANDLERS.get(b.handler, b.handler.decode("latin-1"))
            raise JoinRefusedError(f"part {number} has a {other} track where part 1 has {what}")
        if _codec_params(a.boxes[b"stsd"]) != _codec_params(b.boxes[b"stsd"]):
            raise JoinRefusedError(
                f"part {number}'s {what} track has other codec parameters "
                f"({_describe(b)} where part 1 has {_describe(a)})"
            )
        if a.timescale != b.timescale:
            raise JoinRefusedError(
                f"part {number}'s {what} track has another timescale "
                f"({b.timescale} where part 1 has {a.timescale})"
            )
        if a.handler == b"vide" and len(a.stts) and len(b.stts) and a.stts[0, 1] != b.stts[0, 1]:
            raise JoinRefusedError(
                f"part {number}'s frame rate differs ({_rate(b)} where part 1 has {_rate(a)} fps)"
            )


_HANDLERS = {b"vide": "video", b"soun": "audio", b"meta": "metadata", b"tmcd": "timecode"}


def _codec_params(stsd: bytes) -> bytes:
    """The sample descriptions with the bitrate fields zeroed: encoders write each file's
    own measured bitrates there (esds, btrt), which say nothing about decoding it."""
    data = bytearray(stsd)
    at = data.find(b"btrt")
    if at >= 4 and at + 16 <= len(data):
        data[at + 4 : at + 16] = bytes(12)
    at = data.find(b"esds")
    try:
        p = at + 8  # past the kind and version/flags
        if at >= 4 and data[p] == 0x03:  # ES_Descriptor
            p = _skip_length(data, p + 1)
            flags = data[p + 2]
            p += 3 + (2 if flags & 0x80 else 0)
            p += (1 + data[p]) if flags & 0x40 else 0
            p += 2 if flags & 0x20 else 0
            if data[p] == 0x04:  # DecoderConfigDescriptor: bufferSizeDB, max and avg bitrate
                p = _skip_length(data, p + 1) + 2
                data[p : p + 11] = bytes(len(data[p : p + 11]))
    except IndexError:
        pass  # a short descriptor: compared as it is
    return bytes(data)


def _skip_length(data: bytearray, p: int) -> int:
    """Past an MPEG-4 descriptor's variable-length size field (at most 4 bytes)."""
    for _ in range(4):
        p += 1
        if not data[p - 1] & 0x80:
            break
    return p


def _describe(track: _Track) -> str:
    """The first sample entry's format, and a picture size for video."""
    stsd = _payload(track.boxes[b"stsd"])
    fmt = stsd[12:16].decode("latin-1", "replace")
    if track.handler == b"vide" and len(stsd) >= 44:
        width, height = struct.unpack_from(">HH", stsd, 8 + 32)
        return f"{fmt} {width}x{height}"
    return f"{fmt}, other settings" if fmt else "no sample entry"


def _rate(track: _Track) -> str:
    delta = int(track.stts[0, 1])
    return f"{track.timescale / delta:.3f}" if delta else "?"


# -- building ------------------------------------------------------------------------


def _build(parts: list[_Part], note: str | None) -> JoinedMovie:
    first = parts[0]
    extents: list[Extent] = []
    for index, part in enumerate(parts):
        extents += [Extent(m.data_offset, m.data_size, index) for m in part.mdats]
    payload = sum(e.size for e in extents)

    def header(base: int, wide: bool) -> bytes:
        moov = _moov(parts, _rebaser(parts, base), wide)
        return first.ftyp + moov + struct.pack(">I4sQ", 1, MDAT, 16 + payload)

    # With co64 the header is longest: if even then every offset stays below 4 GiB,
    # 32-bit stco will do (a header's length does not depend on the offsets it holds).
    size = len(header(0, True)) + payload
    wide = size >= FOUR_GIB
    if not wide:
        size = len(header(0, False)) + payload
    head_len = size - payload
    head = header(head_len, wide)
    duration = sum(p.duration / p.timescale for p in parts if p.timescale)
    return JoinedMovie((head, *extents), size, len(parts), duration, note)


def _rebaser(parts: list[_Part], base: int) -> list[tuple[list[int], list[int]]]:
    """Per part: the mdats' payload starts and where each lands in the joined file."""
    out = []
    pos = base
    for part in parts:
        starts, targets = [], []
        for m in part.mdats:
            starts.append(m.data_offset)
            targets.append(pos)
            pos += m.data_size
        out.append((starts, targets))
    return out


def _box(kind: bytes, payload: bytes) -> bytes:
    if len(payload) + 8 >= FOUR_GIB:
        raise MalformedError("box too large")
    return struct.pack(">I4s", len(payload) + 8, kind) + payload


def _moov(parts: list[_Part], rebase: list[tuple[list[int], list[int]]], wide: bool) -> bytes:
    first = parts[0]
    movie_ticks = sum(_convert(p.duration, p.timescale, first.timescale) for p in parts)
    out = []
    trak = 0
    for kind, box in _boxes(first.moov):
        if kind == b"mvhd":
            out.append(_with_duration(box, 16, 24, movie_ticks))
        elif kind == b"trak":
            tracks = [p.tracks[trak] for p in parts]
            out.append(_trak(box, tracks, parts, rebase, wide))
            trak += 1
        else:
            out.append(box)
    return _box(MOOV, b"".join(out))


def _convert(ticks: int, scale: int, to: int) -> int:
    return ticks * to // scale if scale else 0


def _with_duration(box: bytes, v0: int, v1: int, ticks: int) -> bytes:
    """A copy of an mvhd/tkhd/mdhd with another duration (at ``v0``/``v1`` in its payload)."""
    data = bytearray(_payload(box))
    if data[0] == 1:
        U64BE.pack_into(data, v1, ticks)
    else:
        if ticks >= FOUR_GIB:
            raise JoinRefusedError("the joined duration does not fit a version-0 header")
        U32BE.pack_into(data, v0, ticks)
    return _box(box[4:8], bytes(data))


def _trak(
    box: bytes,
    tracks: list[_Track],
    parts: list[_Part],
    rebase: list[tuple[list[int], list[int]]],
    wide: bool,
) -> bytes:
    movie_scale = parts[0].timescale
    movie_ticks = sum(
        _convert(t.tkhd_duration, p.timescale, movie_scale)
        for t, p in zip(tracks, parts, strict=True)
    )
    media_ticks = sum(t.media_duration for t in tracks)
    tables = _tables(tracks, rebase, wide, media_ticks)
    replaced = {
        b"tkhd": _with_duration(tracks[0].boxes[b"tkhd"], 20, 28, movie_ticks),
        b"mdhd": _with_duration(tracks[0].boxes[b"mdhd"], 16, 24, media_ticks),
    }
    if b"elst" in tracks[0].boxes:
        replaced[b"elst"] = _elst(tracks, parts, movie_scale)
    return _rewrite(box, replaced, tables)


def _rewrite(box: bytes, replaced: dict[bytes, bytes], tables: bytes) -> bytes:
    """A copy of a container box with boxes replaced, and the stbl's tables swapped."""
    kind = box[4:8]
    out = []
    for child_kind, child in _boxes(_payload(box)):
        if child_kind in replaced:
            out.append(replaced[child_kind])
        elif child_kind == b"stbl":
            keep = [c for k, c in _boxes(_payload(child)) if k not in _REBUILT + tuple(_DROPPED)]
            out.append(_box(b"stbl", b"".join(keep) + tables))
        elif child_kind in _NESTED:
            out.append(_rewrite(child, replaced, tables))
        else:
            out.append(child)
    return _box(kind, b"".join(out))


def _elst(tracks: list[_Track], parts: list[_Part], movie_scale: int) -> bytes:
    """The first part's edit list, its one real edit lengthened by the later parts'."""
    entries: list[tuple[int, int, int]] = []
    extra = 0
    for index, (track, part) in enumerate(zip(tracks, parts, strict=True)):
        edits = _edits(track.boxes.get(b"elst"))
        real = [e for e in edits if e[1] != -1]
        if index == 0:
            entries = edits
        elif real and not part.cut:
            extra += sum(_convert(e[0], part.timescale, movie_scale) for e in real)
        else:
            extra += _convert(track.tkhd_duration, part.timescale, movie_scale)
    out = bytearray(struct.pack(">BxxxI", 1, len(entries)))
    lengthened = False
    for segment, media_time, rate in entries:
        if media_time != -1 and not lengthened:
            segment += extra
            lengthened = True
        out += struct.pack(">QqI", segment, media_time, rate)
    return _box(b"elst", bytes(out))


def _edits(box: bytes | None) -> list[tuple[int, int, int]]:
    if box is None:
        return []
    data = _payload(box)
    version = data[0] if data else 0
    entry = struct.Struct(">QqI" if version == 1 else ">IiI")
    edits = _entries(box, entry.format)
    return [(int(s), int(m), int(r)) for s, m, r in edits]


def _tables(
    tracks: list[_Track], rebase: list[tuple[list[int], list[int]]], wide: bool, media_ticks: int
) -> bytes:
    """The joined stts, ctts, stss, stsz, stsc, stco/co64 (and sdtp) of one track."""
    first = tracks[0]
    if first.handler == b"tmcd":
        # A timecode track names the start time: its first sample, over the whole.
        tracks = [first]
        stts = np.array([(1, media_ticks)]) if first.samples == 1 else first.stts
    else:
        stts = np.concatenate([t.stts for t in tracks])
    sizes = np.concatenate([t.sizes for t in tracks])
    out = [_table(b"stts", ">u4", stts)]
    if any(t.ctts is not None for t in tracks):
        ctts = np.concatenate(
            [t.ctts if t.ctts is not None else np.array([(t.samples, 0)]) for t in tracks]
        )
        version = max(_payload(t.boxes[b"ctts"])[0] for t in tracks if t.ctts is not None)
        out.append(_table(b"ctts", ">u4", ctts, version))
    if any(t.stss is not None for t in tracks):
        numbers, before = [], 0
        for t in tracks:
            numbers.append(before + (t.stss if t.stss is not None else np.arange(1, t.samples + 1)))
            before += t.samples
        out.append(_table(b"stss", ">u4", np.concatenate(numbers)))
    if len(sizes) and (sizes == sizes[0]).all():
        out.append(_box(b"stsz", struct.pack(">III", 0, int(sizes[0]), len(sizes))))
    else:
        out.append(_box(b"stsz", struct.pack(">III", 0, 0, len(sizes)) + _packed(sizes, ">u4")))
    stsc: list[tuple[int, int, int]] = []
    chunks: list[np.ndarray] = []
    count = 0
    for index, t in enumerate(tracks):
        stsc += [(first_chunk + count, n, desc) for first_chunk, n, desc in t.stsc]
        starts, targets = rebase[index]
        if starts:  # each chunk moves with the mdat it lies in (the first, before any)
            at = np.maximum(np.searchsorted(starts, t.chunks, side="right") - 1, 0)
            moved = np.array(targets, dtype=np.int64)[at] + t.chunks
            chunks.append(moved - np.array(starts, dtype=np.int64)[at])
        else:
            chunks.append(t.chunks)
        count += len(t.chunks)
    out.append(_box(b"stsc", _header(0, len(stsc)) + b"".join(_STSC.pack(*r) for r in stsc)))
    offsets = np.concatenate(chunks) if chunks else np.zeros(0, np.int64)
    out.append(_table(b"co64" if wide else b"stco", ">u8" if wide else ">u4", offsets))
    if all(t.sdtp is not None for t in tracks):
        out.append(_box(b"sdtp", b"\0\0\0\0" + b"".join(t.sdtp or b"" for t in tracks)))
    return b"".join(out)


_STSC = struct.Struct(">III")


def _header(version: int, count: int) -> bytes:
    return struct.pack(">BxxxI", version, count)


def _table(kind: bytes, dtype: str, rows: np.ndarray, version: int = 0) -> bytes:
    """A full box table of the rows (one value or a row of values an entry)."""
    return _box(kind, _header(version, len(rows)) + _packed(rows, dtype))


def _packed(values: np.ndarray, dtype: str) -> bytes:
    """The values in ``dtype``; one that does not fit raises struct.error, as struct does
    (join_movies reports it as a sum that overflows its field)."""
    if len(values) and (int(values.min()) < 0 or int(values.max()) >= 1 << (8 * int(dtype[-1]))):
        raise struct.error(f"a value does not fit {dtype}")
    return values.astype(dtype).tobytes()
