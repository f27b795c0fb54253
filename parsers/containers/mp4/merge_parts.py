"""Reading the parts of a join (merge.py): each movie's moov boxes and sample tables.

Every count is checked against the bytes that hold it (and a uniform sample size
against the file's size) before anything is allocated; a file cut short inside
its mdat keeps the chunks that lie whole before the cut.

References: ISO/IEC 14496-12 §8.6-§8.7.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

from telemetryfs.parsers.binio import BOX_HEADER, U32BE, U64BE, file_size, read_at
from telemetryfs.parsers.containers.mp4.boxes import MDAT, MOOV, Box, iter_boxes
from telemetryfs.parsers.errors import MalformedError, TruncatedError

NESTED = frozenset({b"trak", b"mdia", b"minf", b"stbl", b"edts"})
MAX_ENTRIES = 24 * 3600 * 240  # a day at 240 samples a second: more is a lying count

Array = np.ndarray[Any, Any]


@dataclass(slots=True)
class PartTrack:
    """One trak of one part: its boxes (by kind, whole) and its decoded tables.

    The per-sample and per-chunk tables are int64 arrays (stts and ctts as rows of
    count and value): a 3-hour recording's 12 chapters hold a million samples,
    which as lists of Python ints and tuples weighed ~160 MB while joining.
    """

    boxes: dict[bytes, bytes]
    handler: bytes
    timescale: int
    media_duration: int
    tkhd_duration: int
    stts: Array  # (n, 2)
    ctts: Array | None  # (n, 2), each offset as stored (unsigned 32 bits)
    stss: Array | None
    sizes: Array
    stsc: list[tuple[int, ...]]
    chunks: Array
    sdtp: bytes | None

    @property
    def samples(self) -> int:
        return len(self.sizes)


@dataclass(slots=True)
class Part:
    ftyp: bytes
    moov: bytes  # the moov's payload
    timescale: int
    duration: int
    tracks: list[PartTrack]
    mdats: list[Box]
    cut: bool = False  # the file ends inside its media: only what lies inside is kept


# -- reading one part -------------------------------------------------------------


def read_part(f: BinaryIO) -> Part:
    size = file_size(f)
    ftyp, moov_box, mdats = b"", None, []
    for box in _top_boxes(f, size):
        if box.kind == b"ftyp" and not ftyp and box.end - box.offset <= 4096:
            ftyp = read_at(f, box.offset, box.end - box.offset)
        elif box.kind == MOOV and moov_box is None:
            moov_box = box
        elif box.kind == MDAT:
            mdats.append(box)
    if moov_box is None:
        raise MalformedError("no moov (cut short?)")
    if moov_box.data_size > 64 * 1024 * 1024:
        raise MalformedError(f"moov of {moov_box.data_size} bytes")
    moov = read_at(f, moov_box.data_offset, moov_box.data_size)
    children = list(boxes(moov))
    mvhd = next((d for k, d in children if k == b"mvhd"), None)
    if mvhd is None:
        raise MalformedError("no mvhd")
    timescale, duration = _header_times(mvhd, 12, 20)
    tracks = [_read_track(d, size) for k, d in children if k == b"trak"]
    part = Part(ftyp, moov, timescale, duration, tracks, mdats)
    if _trim_to_media(part):
        part.cut = True
        # The part ends with its last whole frame; a track the cut shortened less (a
        # timecode's one sample, a second of GPMF) ends there too.
        video = [t.tkhd_duration for t in tracks if t.handler == b"vide"]
        part.duration = max(video or [t.tkhd_duration for t in tracks])
        for t in tracks:
            if t.tkhd_duration > part.duration:
                t.media_duration = t.media_duration * part.duration // t.tkhd_duration
                t.tkhd_duration = part.duration
    if not any(t.samples for t in tracks):
        raise MalformedError("no sample lies in the file")
    return part


def _top_boxes(f: BinaryIO, size: int) -> list[Box]:
    """The top-level boxes; an mdat that runs past the end of a file cut short ends there."""
    boxes: list[Box] = []
    try:
        boxes.extend(iter_boxes(f, 0, size))
    except TruncatedError as exc:
        at = exc.offset if exc.offset is not None else size
        if size - at < 16:
            raise
        length, kind = BOX_HEADER.unpack(read_at(f, at, 8))
        if kind != MDAT:
            raise
        boxes.append(Box(MDAT, at, 16 if length == 1 else 8, size))
    return boxes


def boxes(data: bytes) -> list[tuple[bytes, bytes]]:
    """(kind, whole box bytes) of the boxes laid out in ``data``."""
    return [(b.kind, data[b.offset : b.end]) for b in iter_boxes(io.BytesIO(data), 0, len(data))]


def payload(box: bytes) -> bytes:
    return box[16:] if U32BE.unpack_from(box)[0] == 1 else box[8:]


def _header_times(box: bytes, v0: int, v1: int) -> tuple[int, int]:
    """(timescale, duration) of an mvhd or mdhd (whole box; ``v0``/``v1``: where the
    timescale lies in the payload of version 0 / 1)."""
    data = payload(box)
    try:
        if data[0] == 1:
            scale, ticks = struct.unpack_from(">IQ", data, v1)
        else:
            scale, ticks = struct.unpack_from(">II", data, v0)
    except (struct.error, IndexError) as exc:
        raise MalformedError("movie header too short") from exc
    return int(scale), int(ticks)


def _tkhd_duration(box: bytes) -> int:
    data = payload(box)
    try:
        if data[0] == 1:
            return int(U64BE.unpack_from(data, 28)[0])
        return int(U32BE.unpack_from(data, 20)[0])
    except (struct.error, IndexError) as exc:
        raise MalformedError("tkhd too short") from exc


def _flatten(box: bytes, found: dict[bytes, bytes]) -> None:
    """The boxes inside ``box`` by kind, at any depth; not the containers themselves
    (copies of their contents: the join rewrites the trak from the moov)."""
    for kind, child in boxes(payload(box)):
        if kind in NESTED:
            _flatten(child, found)
        else:
            found.setdefault(kind, child)


def _read_track(trak: bytes, file_bytes: int) -> PartTrack:
    boxes: dict[bytes, bytes] = {}
    _flatten(trak, boxes)
    for kind in (b"tkhd", b"mdhd", b"hdlr", b"stsd", b"stts", b"stsc"):
        if kind not in boxes:
            raise MalformedError(f"track without {kind.decode()}")
    timescale, media_duration = _header_times(boxes[b"mdhd"], 12, 20)
    handler = payload(boxes[b"hdlr"])[8:12]
    sizes = _sizes(boxes, file_bytes)
    stts = table(boxes[b"stts"], ">u4", 2)
    if int(stts[:, 0].sum()) != len(sizes):
        raise MalformedError("stts and stsz count different samples")
    ctts = table(boxes[b"ctts"], ">u4", 2) if b"ctts" in boxes else None
    stss = table(boxes[b"stss"], ">u4", 1)[:, 0] if b"stss" in boxes else None
    if b"stco" in boxes:
        chunks = table(boxes[b"stco"], ">u4", 1)[:, 0]
    elif b"co64" in boxes:
        chunks = table(boxes[b"co64"], ">u8", 1)[:, 0]
    else:
        raise MalformedError("track without stco or co64")
    sdtp = payload(boxes[b"sdtp"])[4:] if b"sdtp" in boxes else None
    if sdtp is not None and len(sdtp) != len(sizes):
        sdtp = None
    stsc = entries(boxes[b"stsc"], ">III")
    for decoded in _DECODED:  # kept as arrays above (a chapter's stsz is ~100 KB)
        boxes.pop(decoded, None)
    return PartTrack(
        boxes,
        handler,
        timescale,
        media_duration,
        _tkhd_duration(boxes[b"tkhd"]),
        stts,
        ctts,
        stss,
        sizes,
        stsc,
        chunks,
        sdtp,
    )


_DECODED = (b"stts", b"stss", b"stsz", b"stz2", b"stsc", b"stco", b"co64", b"sdtp")


def entries(box: bytes, layout: str) -> list[tuple[int, ...]]:
    """The entries of a full box table (version/flags, count, entries), count checked."""
    entry = struct.Struct(layout)
    data, count = _counted(box, entry.size)
    return list(entry.iter_unpack(data[8 : 8 + count * entry.size]))


def table(box: bytes, dtype: str, width: int) -> Array:
    """A full box table of ``width`` unsigned values an entry as int64 rows (count checked)."""
    data, count = _counted(box, width * np.dtype(dtype).itemsize)
    values = np.frombuffer(data, dtype, count * width, 8)
    return values.astype(np.int64).reshape(count, width)


def _counted(box: bytes, entry_size: int) -> tuple[bytes, int]:
    """A full box table's payload and its entry count, checked against its bytes."""
    data = payload(box)
    if len(data) < 8:
        raise MalformedError(f"{box[4:8].decode('latin-1')} too short")
    (count,) = U32BE.unpack_from(data, 4)
    if count > MAX_ENTRIES or count * entry_size > len(data) - 8:
        raise MalformedError(f"{box[4:8].decode('latin-1')} announces {count} entries")
    return data, count


def _sizes(boxes: dict[bytes, bytes], file_bytes: int) -> Array:
    if b"stsz" in boxes:
        data = payload(boxes[b"stsz"])
        if len(data) < 12:
            raise MalformedError("stsz too short")
        uniform, count = struct.unpack_from(">II", data, 4)
        if count > MAX_ENTRIES:
            raise MalformedError(f"stsz announces {count} samples")
        if uniform:
            if count * uniform > file_bytes:
                raise MalformedError(f"stsz announces {count} samples of {uniform} bytes")
            return np.full(count, uniform, dtype=np.int64)
        if count * 4 > len(data) - 12:
            raise MalformedError(f"stsz announces {count} samples")
        return np.frombuffer(data, ">u4", count, 12).astype(np.int64)
    if b"stz2" in boxes:
        data = payload(boxes[b"stz2"])
        if len(data) < 12:
            raise MalformedError("stz2 too short")
        bits, count = data[7], U32BE.unpack_from(data, 8)[0]
        body = data[12:]
        if bits not in (4, 8, 16) or count > MAX_ENTRIES or (count * bits + 7) // 8 > len(body):
            raise MalformedError(f"stz2 of {count} {bits}-bit sizes")
        if bits == 16:
            return np.frombuffer(body, ">u2", count).astype(np.int64)
        nibbles = np.frombuffer(body, np.uint8, (count * bits + 7) // 8).astype(np.int64)
        if bits == 8:
            return nibbles
        return np.stack([nibbles >> 4, nibbles & 0xF], axis=1).reshape(-1)[:count]
    raise MalformedError("track without stsz or stz2")


def _chunk_sizes(track: PartTrack) -> tuple[Array, Array]:
    """Bytes and samples in each chunk (stsc expanded over the chunk list)."""
    chunks = len(track.chunks)
    runs = track.stsc
    per_chunk = np.zeros(chunks, dtype=np.int64)
    if runs and runs[0][0] != 1:
        raise MalformedError(f"stsc starts at chunk {runs[0][0]}")
    for r, (first, per, _) in enumerate(runs):
        last = runs[r + 1][0] - 1 if r + 1 < len(runs) else chunks
        if first < 1 or last > chunks or last < first - 1:
            raise MalformedError(f"stsc refers to chunks {first}..{last}")
        per_chunk[first - 1 : last] = per
    # Chunks take their count while samples last (a lying count stops at the end).
    ends = np.minimum(np.cumsum(per_chunk), track.samples)
    starts = np.concatenate(([0], ends[:-1]))
    held = int(ends[-1]) if chunks else 0
    if held != track.samples:
        raise MalformedError(f"the chunks hold {held} of {track.samples} samples")
    total = np.concatenate(([0], np.cumsum(track.sizes)))
    return total[ends] - total[starts], ends - starts


def _trim_to_media(part: Part) -> bool:
    """Keep each track's chunks up to the first that does not lie inside an mdat (a file
    cut short plays up to there). Returns whether anything was cut."""
    starts = np.array([m.data_offset for m in part.mdats], dtype=np.int64)
    ends = np.array([m.end for m in part.mdats], dtype=np.int64)
    cut = False
    for track in part.tracks:
        sizes, counts = _chunk_sizes(track)
        inside = np.searchsorted(starts, track.chunks, side="right") - 1
        end = ends[np.maximum(inside, 0)] if len(ends) else np.zeros(len(inside), np.int64)
        outside = (sizes > 0) & ((inside < 0) | (track.chunks + sizes > end))
        kept = int(np.argmax(outside)) if outside.any() else len(track.chunks)
        if kept < len(track.chunks):
            _truncate(track, kept, int(counts[:kept].sum()))
            cut = True
    return cut


def _truncate(track: PartTrack, chunks: int, samples: int) -> None:
    """Cut a track's tables to its first ``chunks`` chunks holding ``samples`` samples."""
    track.chunks = track.chunks[:chunks]
    track.stsc = [run for run in track.stsc if run[0] <= chunks]
    track.sizes = track.sizes[:samples]
    track.stts = _cut_runs(track.stts, samples)
    if track.ctts is not None:
        track.ctts = _cut_runs(track.ctts, samples)
    if track.stss is not None:
        track.stss = track.stss[track.stss <= samples]
    if track.sdtp is not None:
        track.sdtp = track.sdtp[:samples]
    ticks = sum(count * delta for count, delta in track.stts.tolist())
    if track.media_duration:
        track.tkhd_duration = track.tkhd_duration * ticks // track.media_duration
    track.media_duration = ticks


def _cut_runs(runs: Array, samples: int) -> Array:
    """Run-length (count, value) rows cut to cover ``samples`` samples."""
    before = np.cumsum(runs[:, 0]) - runs[:, 0]
    kept = runs[before < samples].copy()
    kept[:, 0] = np.minimum(kept[:, 0], samples - before[: len(kept)])
    return kept
