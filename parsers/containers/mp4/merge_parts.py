"""Reading the parts of a join (merge.py): each movie's moov boxes and sample tables.

Every count is checked against the bytes that hold it (and a uniform sample size
against the file's size) before anything is allocated; a file cut short inside
its mdat keeps the chunks that lie whole before the cut.

References: ISO/IEC 14496-12 §8.6-§8.7.
"""

from __future__ import annotations

import bisect
import io
import struct
from dataclasses import dataclass
from typing import BinaryIO

from telemetryfs.parsers.binio import BOX_HEADER, U32BE, U64BE, file_size, read_at
from telemetryfs.parsers.containers.mp4.boxes import MDAT, MOOV, Box, iter_boxes
from telemetryfs.parsers.errors import MalformedError, TruncatedError

NESTED = frozenset({b"trak", b"mdia", b"minf", b"stbl", b"edts"})
MAX_ENTRIES = 24 * 3600 * 240  # a day at 240 samples a second: more is a lying count


@dataclass(slots=True)
class PartTrack:
    """One trak of one part: its boxes (by kind, whole) and its decoded tables."""

    boxes: dict[bytes, bytes]
    handler: bytes
    timescale: int
    media_duration: int
    tkhd_duration: int
    stts: list[tuple[int, ...]]
    ctts: list[tuple[int, ...]] | None
    stss: list[int] | None
    sizes: list[int]
    stsc: list[tuple[int, ...]]
    chunks: list[int]
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
    for kind, child in boxes(payload(box)):
        found.setdefault(kind, child)
        if kind in NESTED:
            _flatten(child, found)


def _read_track(trak: bytes, file_bytes: int) -> PartTrack:
    boxes: dict[bytes, bytes] = {}
    _flatten(trak, boxes)
    for kind in (b"tkhd", b"mdhd", b"hdlr", b"stsd", b"stts", b"stsc"):
        if kind not in boxes:
            raise MalformedError(f"track without {kind.decode()}")
    timescale, media_duration = _header_times(boxes[b"mdhd"], 12, 20)
    handler = payload(boxes[b"hdlr"])[8:12]
    sizes = _sizes(boxes, file_bytes)
    stts = entries(boxes[b"stts"], ">II")
    if sum(count for count, _ in stts) != len(sizes):
        raise MalformedError("stts and stsz count different samples")
    ctts = entries(boxes[b"ctts"], ">II") if b"ctts" in boxes else None
    stss = [n for (n,) in entries(boxes[b"stss"], ">I")] if b"stss" in boxes else None
    if b"stco" in boxes:
        chunks = [c for (c,) in entries(boxes[b"stco"], ">I")]
    elif b"co64" in boxes:
        chunks = [c for (c,) in entries(boxes[b"co64"], ">Q")]
    else:
        raise MalformedError("track without stco or co64")
    sdtp = payload(boxes[b"sdtp"])[4:] if b"sdtp" in boxes else None
    if sdtp is not None and len(sdtp) != len(sizes):
        sdtp = None
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
        entries(boxes[b"stsc"], ">III"),
        chunks,
        sdtp,
    )


def entries(box: bytes, layout: str) -> list[tuple[int, ...]]:
    """The entries of a full box table (version/flags, count, entries), count checked."""
    data = payload(box)
    entry = struct.Struct(layout)
    if len(data) < 8:
        raise MalformedError(f"{box[4:8].decode('latin-1')} too short")
    (count,) = U32BE.unpack_from(data, 4)
    if count > MAX_ENTRIES or count * entry.size > len(data) - 8:
        raise MalformedError(f"{box[4:8].decode('latin-1')} announces {count} entries")
    return list(entry.iter_unpack(data[8 : 8 + count * entry.size]))


def _sizes(boxes: dict[bytes, bytes], file_bytes: int) -> list[int]:
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
            return [uniform] * count
        if count * 4 > len(data) - 12:
            raise MalformedError(f"stsz announces {count} samples")
        return list(struct.unpack_from(f">{count}I", data, 12))
    if b"stz2" in boxes:
        data = payload(boxes[b"stz2"])
        if len(data) < 12:
            raise MalformedError("stz2 too short")
        bits, count = data[7], U32BE.unpack_from(data, 8)[0]
        body = data[12:]
        if bits not in (4, 8, 16) or count > MAX_ENTRIES or (count * bits + 7) // 8 > len(body):
            raise MalformedError(f"stz2 of {count} {bits}-bit sizes")
        if bits == 16:
            return list(struct.unpack_from(f">{count}H", body))
        if bits == 8:
            return list(body[:count])
        return [(body[i // 2] >> (0 if i % 2 else 4)) & 0xF for i in range(count)]
    raise MalformedError("track without stsz or stz2")


def _chunk_sizes(track: PartTrack) -> tuple[list[int], list[int]]:
    """Bytes and samples in each chunk (stsc expanded over the chunk list)."""
    out: list[int] = []
    counts: list[int] = []
    sample = 0
    runs = track.stsc
    for r, (first, per_chunk, _) in enumerate(runs):
        last = runs[r + 1][0] - 1 if r + 1 < len(runs) else len(track.chunks)
        if first < 1 or last > len(track.chunks) or last < first - 1:
            raise MalformedError(f"stsc refers to chunks {first}..{last}")
        for _ in range(first - 1, last):
            take = max(0, min(per_chunk, track.samples - sample))
            out.append(sum(track.sizes[sample : sample + take]))
            counts.append(take)
            sample += take
    if sample != track.samples:
        raise MalformedError(f"the chunks hold {sample} of {track.samples} samples")
    return out, counts


def _trim_to_media(part: Part) -> bool:
    """Keep each track's chunks up to the first that does not lie inside an mdat (a file
    cut short plays up to there). Returns whether anything was cut."""
    starts = [m.data_offset for m in part.mdats]
    cut = False
    for track in part.tracks:
        sizes, counts = _chunk_sizes(track)
        kept = 0
        for offset, size in zip(track.chunks, sizes, strict=True):
            i = bisect.bisect_right(starts, offset) - 1
            if size and (i < 0 or offset + size > part.mdats[i].end):
                break
            kept += 1
        if kept < len(track.chunks):
            _truncate(track, kept, sum(counts[:kept]))
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
        track.stss = [n for n in track.stss if n <= samples]
    if track.sdtp is not None:
        track.sdtp = track.sdtp[:samples]
    ticks = sum(count * delta for count, delta in track.stts)
    if track.media_duration:
        track.tkhd_duration = track.tkhd_duration * ticks // track.media_duration
    track.media_duration = ticks


def _cut_runs(runs: list[tuple[int, ...]], samples: int) -> list[tuple[int, ...]]:
    """Run-length (count, value) entries cut to cover ``samples`` samples."""
    out: list[tuple[int, ...]] = []
    left = samples
    for count, value in runs:
        if left <= 0:
            break
        out.append((min(count, left), value))
        left -= count
    return out
