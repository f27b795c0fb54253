"""ISO base media (MP4/MOV) box walker and sample tables: reads headers and indexes, never mdat.

Modelled on mutagen's ``_atom.py``: 32-bit sizes, 64-bit sizes (size field 1),
"to the end of the enclosing box" (size 0); every size is validated against
the parent and the file, so a lying size raises instead of allocating.
mdat is never read: walking past it is one seek.

The sample tables (stsd, stts, stsz/stz2, stsc, stco/co64, mdhd, tkhd, elst)
give every sample of a track its byte range, start time and duration, which
is all a timed-metadata track (GoPro ``gpmd``) needs.

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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from .binio import BOX_HEADER, U32BE, U64BE, file_size, read_at, read_upto
from .errors import MalformedError, TruncatedError

log = logging.getLogger(__name__)

MOOV = b"moov"
MDAT = b"mdat"
TRAK = b"trak"
UDTA = b"udta"

# Boxes whose payload is a plain list of child boxes.
CONTAINERS = frozenset(
    {MOOV, TRAK, b"mdia", b"minf", b"stbl", UDTA, b"edts", b"dinf", b"mvex", b"moof", b"traf"}
)

# Seconds between the MP4 epoch (1904-01-01) and the POSIX epoch.
MP4_EPOCH_OFFSET = 2_082_844_800
# A moov index bigger than this is a lying size: a 4 GiB GoPro chapter's moov is ~2 MB.
MAX_MOOV = 64 * 1024 * 1024
# gpmf-parser's sanity cap: 24 h of samples at 60 per second, per table.
MAX_SAMPLES = 24 * 3600 * 60


@dataclass(frozen=True, slots=True)
class Box:
    """One box: ``offset`` of its header, ``data_offset``/``end`` of its payload."""

    kind: bytes
    offset: int
    header_size: int
    end: int

    @property
    def data_offset(self) -> int:
        return self.offset + self.header_size

    @property
    def data_size(self) -> int:
        return self.end - self.data_offset

    @property
    def name(self) -> str:
        return self.kind.decode("latin-1")


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample of a track: its bytes in the file and its presentation time (seconds)."""

    offset: int
    size: int
    start: float
    duration: float


@dataclass(frozen=True, slots=True)
class Track:
    """What a trak says about itself; the sample table is read on demand (read_samples)."""

    track_id: int
    handler: bytes
    handler_name: str
    sample_format: bytes
    timescale: int
    duration: float | None
    edit_shift: float
    stbl: Box | None
    path: str


@dataclass(frozen=True, slots=True)
class Movie:
    """The moov of a file: movie header values, the tracks and the udta boxes."""

    moov: Box
    timescale: int
    duration: float | None
    creation_time: float | None
    tracks: tuple[Track, ...]
    udta: tuple[Box, ...]


def iter_boxes(f: BinaryIO, start: int, end: int, *, path: str = "") -> Iterator[Box]:
    """Yield the boxes between ``start`` and ``end``, in file order.

    A box whose size runs past ``end`` raises MalformedError, except at the
    top level of a file cut short, where it raises TruncatedError so callers
    can keep what came before.

    Raises:
        TruncatedError: a header is cut off by the end of the data.
        MalformedError: a size is impossible.
    """
    pos = start
    while pos < end:
        if end - pos < 8:
            # Trailing padding shorter than a header: some muxers write zeros.
            if read_upto(f, pos, end - pos).strip(b"\0"):
                raise TruncatedError("partial box header", offset=pos, path=path)
            return
        size, kind = BOX_HEADER.unpack(read_at(f, pos, 8))
        header = 8
        if size == 1:
            if end - pos < 16:
                raise TruncatedError("partial 64-bit box header", offset=pos, path=path)
            (size,) = U64BE.unpack(read_at(f, pos + 8, 8))
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            raise MalformedError(f"box {kind!r} has size {size}", offset=pos, path=path)
        if pos + size > end:
            raise TruncatedError(
                f"box {kind.decode('latin-1')!r} of {size} bytes runs past its parent",
                offset=pos,
                path=path,
            )
        yield Box(kind, pos, header, pos + size)
        pos += size


def iter_children(f: BinaryIO, box: Box, *, path: str = "") -> Iterator[Box]:
    """The child boxes of a container box (``meta`` full boxes handled)."""
    start = box.data_offset
    if box.kind == b"meta" and box.data_size >= 4:
        # ISO meta is a full box (4 bytes version/flags); QuickTime meta is not.
        head = read_at(f, start, min(8, box.data_size))
        if len(head) < 8 or head[4:8] not in (b"hdlr", b"keys", b"ilst"):
            start += 4
    yield from iter_boxes(f, start, box.end, path=f"{path}/{box.name}" if path else box.name)


def find_box(f: BinaryIO, parent: Box | tuple[int, int], kind_path: bytes) -> Box | None:
    """Find the first box along ``kind_path`` (``b"moov/udta/GPMF"``) under ``parent``.

    ``parent`` is a Box (search its children) or a ``(start, end)`` range.
    Returns None when any step is missing.

    Raises:
        TruncatedError, MalformedError: the structure on the way is damaged.
    """
    current: Box | tuple[int, int] = parent
    for kind in kind_path.split(b"/"):
        if isinstance(current, Box):
            children = iter_children(f, current)
        else:
            children = iter_boxes(f, current[0], current[1])
        found = next((b for b in children if b.kind == kind), None)
        if found is None:
            return None
        current = found
    return current if isinstance(current, Box) else None


def read_box_data(f: BinaryIO, box: Box, limit: int = 64 * 1024 * 1024) -> bytes:
    """The whole payload of a small box (moov children, never mdat).

    Raises:
        MalformedError: the box is bigger than ``limit``.
        TruncatedError: the file ends inside the box.
    """
    if box.data_size > limit:
        raise MalformedError(
            f"box {box.name!r} too large ({box.data_size} bytes)", offset=box.offset
        )
    return read_at(f, box.data_offset, box.data_size)


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


def _unpack(layout: str, data: bytes, offset: int, box: Box) -> tuple[int, ...]:
    try:
        return struct.unpack_from(layout, data, offset)
    except struct.error as exc:
        raise MalformedError(f"{box.name} too short", offset=box.offset) from exc


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


def read_samples(f: BinaryIO, track: Track) -> list[Sample]:
    """Every sample of a track: byte range, start and duration in seconds.

    Start times include the edit-list shift. Tables are cross-checked: the
    sample count is the smallest that stsz, stts and stsc/stco agree on.

    Raises:
        MalformedError: a table is missing or announces more entries than it holds.
        TruncatedError: a table is cut short.
    """
    if track.stbl is None or not track.timescale:
        raise MalformedError("track without sample table or timescale", path=track.path)
    tables = {b.kind: b for b in iter_children(f, track.stbl, path=track.path)}
    sizes = _read_sizes(f, tables)
    durations = _read_times(f, _need(tables, b"stts", track), len(sizes))
    offsets = _read_offsets(f, tables, track, sizes)
    count = min(len(sizes), len(durations), len(offsets))
    samples: list[Sample] = []
    t = 0
    for i in range(count):
        start = t / track.timescale + track.edit_shift
        samples.append(Sample(offsets[i], sizes[i], start, durations[i] / track.timescale))
        t += durations[i]
    return samples


def _need(tables: dict[bytes, Box], kind: bytes, track: Track) -> Box:
    if kind not in tables:
        raise MalformedError(f"no {kind.decode('latin-1')} box", path=f"{track.path}/stbl")
    return tables[kind]


def _table(f: BinaryIO, box: Box, head: int, entry_size: int) -> tuple[bytes, int]:
    """Read a full box table: returns its data and the entry count, checked against its size."""
    data = read_box_data(f, box)
    if len(data) < head:
        raise MalformedError(f"{box.name} too short", offset=box.offset)
    (count,) = U32BE.unpack_from(data, head - 4)
    if count > MAX_SAMPLES or count * entry_size > len(data) - head:
        raise MalformedError(f"{box.name} announces {count} entries", offset=box.offset)
    return data, count


def _read_sizes(f: BinaryIO, tables: dict[bytes, Box]) -> list[int]:
    if b"stsz" in tables:
        box = tables[b"stsz"]
        data = read_box_data(f, box)
        uniform, count = _unpack(">II", data, 4, box)
        if count > MAX_SAMPLES:
            raise MalformedError(f"stsz announces {count} samples", offset=box.offset)
        if uniform:
            # Every sample lies in the file: a count beyond that is a lying table.
            return [uniform] * min(count, file_size(f) // uniform)
        data, count = _table(f, box, 12, 4)
        return list(struct.unpack_from(f">{count}I", data, 12))
    if b"stz2" in tables:
        return _read_stz2(f, tables[b"stz2"])
    raise MalformedError("no stsz or stz2 box")


def _read_stz2(f: BinaryIO, box: Box) -> list[int]:
    data = read_box_data(f, box)
    field_size, count = _unpack(">xxxxxxxBI", data, 0, box)
    if field_size not in (4, 8, 16) or count > MAX_SAMPLES:
        raise MalformedError(f"stz2 field size {field_size}, {count} entries", offset=box.offset)
    body = data[12:]
    if (count * field_size + 7) // 8 > len(body):
        raise MalformedError(f"stz2 announces {count} entries", offset=box.offset)
    if field_size == 16:
        return list(struct.unpack_from(f">{count}H", body))
    if field_size == 8:
        return list(body[:count])
    # Two 4-bit sizes per byte, high nibble first.
    return [(body[i // 2] >> (0 if i % 2 else 4)) & 0xF for i in range(count)]


def _read_times(f: BinaryIO, box: Box, limit: int) -> list[int]:
    data, count = _table(f, box, 8, 8)
    durations: list[int] = []
    for sample_count, delta in struct.iter_unpack(">II", data[8 : 8 + count * 8]):
        take = min(sample_count, limit - len(durations))
        durations.extend([delta] * take)
        if len(durations) >= limit:
            break
    return durations


def _read_offsets(
    f: BinaryIO, tables: dict[bytes, Box], track: Track, sizes: list[int]
) -> list[int]:
    """Sample offsets from stsc (samples per chunk) and stco/co64 (chunk offsets)."""
    limit = len(sizes)
    if b"stco" in tables:
        data, n = _table(f, tables[b"stco"], 8, 4)
        chunks = list(struct.unpack_from(f">{n}I", data, 8))
    elif b"co64" in tables:
        data, n = _table(f, tables[b"co64"], 8, 8)
        chunks = list(struct.unpack_from(f">{n}Q", data, 8))
    else:
        raise MalformedError("no stco or co64 box", path=f"{track.path}/stbl")
    data, n = _table(f, _need(tables, b"stsc", track), 8, 12)
    runs = list(struct.iter_unpack(">III", data[8 : 8 + n * 12]))
    offsets: list[int] = []
    for r, (first, per_chunk, _) in enumerate(runs):
        last = runs[r + 1][0] - 1 if r + 1 < len(runs) else len(chunks)
        if first < 1 or last > len(chunks):
            raise MalformedError(f"stsc refers to chunk {first}..{last}", path=f"{track.path}/stbl")
        for chunk in range(first - 1, last):
            pos = chunks[chunk]
            for _ in range(min(per_chunk, limit - len(offsets))):
                offsets.append(pos)
                pos += sizes[len(offsets) - 1]
            if len(offsets) >= limit:
                return offsets
    return offsets
