"""What a video folder holds, and how each file is built: synchronous, for worker threads.

A video ``NAME.EXT`` becomes the folder ``NAME.EXT/`` holding:

- ``info.json``: always (also for a video that failed to parse);
- ``track.csv``: when the video has GPS samples (valid or not);
- ``track.gpx``, ``track.kml``, ``track.geojson``, ``preview.svg``: when it has at
  least one valid fix;
- ``track.srt``, ``track.vtt``: subtitles, when it has GPS samples (valid or not);
- ``streams/``: every raw file (``all.gpmf``, ``ACCL.gpmf``, ``gps.raw``) and
  one ``<name>.csv`` per decoded stream.

Three kinds of file, by how their bytes come to be:

- generated: rendered whole from the Telemetry (track files, info.json, and
  the CSV of a stream without a chunk codec, i.e. the GPS table);
- raw: stitched from literal pieces and byte ranges of the source, never
  copied into memory (ratarmount's "stenciled file");
- stream: a decoded stream's CSV, produced chunk by chunk. Its exact size
  needs every chunk rendered once; the index of per-chunk end offsets that
  this leaves lets any later read decode only the chunks it touches.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import json
import os
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from telemetryfs.parsers import extract, source
from telemetryfs.parsers.model import Chunk, Extent, Piece, RawFile, Stream, Telemetry
from telemetryfs.parsers.piece_table import PieceTable
from telemetryfs.parsers.track import has_valid

from . import render, render_stream
from .render_common import Sink, rendered
from .render_concat import CONCAT as CONCAT
from .render_concat import render_concat
from .render_info import RECORDING_INFO
from .render_stream import StreamLayout

GENERATED = "generated"
RAW = "raw"
STREAM = "stream"
# With -o video: the video itself, or a recording's joined video (fs/joined_video.py).
VIDEO = "video"

INFO = "info.json"
STREAMS_DIR = "streams"
PREVIEW = "preview.svg"
SRT = "track.srt"  # also shown as <stem>.srt beside a video (-o video)
SUBTITLES = (SRT, "track.vtt")
TRACK_FILES = ("track.gpx", "track.csv", "track.kml", "track.geojson", PREVIEW, *SUBTITLES)

# Reads of the source for raw files and stream chunks are merged when the gap
# between two byte ranges is below this: one larger pread beats many small ones.
COALESCE_GAP = 64 * 1024


@dataclass(frozen=True, slots=True)
class Entry:
    """One file inside a video folder; ``name`` may be ``streams/<file>``."""

    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class StreamIndex:
    """A stream CSV's layout and where each chunk's rows end (``ends[i]``, after the header)."""

    layout: StreamLayout
    ends: array[int]

    @property
    def header(self) -> bytes:
        return self.layout.header

    @property
    def size(self) -> int:
        return len(self.layout.header) + (self.ends[-1] if self.ends else 0)


def encode_entries(entries: list[Entry]) -> bytes:
    """A file list as the disk cache keeps it (``entries.json``)."""
    return json.dumps([[e.name, e.kind] for e in entries]).encode()


def decode_entries(data: bytes) -> list[Entry]:
    return [Entry(name, kind) for name, kind in json.loads(data)]


def list_entries(t: Telemetry | None) -> list[Entry]:
    """The files of a video folder, in a stable order."""
    entries = [Entry(INFO, GENERATED)]
    if t is None:
        return entries
    if t.gps:
        drawn = has_valid(t.gps)
        if drawn:
            entries.append(Entry("track.gpx", GENERATED))
        entries.append(Entry("track.csv", GENERATED))
        if drawn:
            entries += [Entry("track.kml", GENERATED), Entry("track.geojson", GENERATED)]
            entries.append(Entry(PREVIEW, GENERATED))
        entries += [Entry(name, GENERATED) for name in SUBTITLES]
    if RECORDING_INFO in t.info:
        entries.append(Entry(CONCAT, GENERATED))
    for raw in t.raw_files:
        entries.append(Entry(f"{STREAMS_DIR}/{raw.name}", RAW))
    for stream in t.streams:
        kind = STREAM if stream.codec is not None else GENERATED
        entries.append(Entry(f"{STREAMS_DIR}/{stream.name}.csv", kind))
    return entries


def with_video(entries: list[Entry], video_name: str) -> list[Entry]:
    """The entries of a folder that also shows its video (``-o video``): the video, and
    ``track.srt`` again under the video's stem, where VLC and mpv look for subtitles."""
    out = [*entries, Entry(video_name, VIDEO)]
    alias = subtitles_alias(video_name)
    if alias is not None and any(e.name == SRT for e in entries):
        out.append(Entry(alias, GENERATED))
    return out


def subtitles_alias(video_name: str) -> str | None:
    """``GX010042.srt`` for ``GX010042.MP4`` (None when that is track.srt's own name)."""
    stem = video_name.rsplit(".", 1)[0] if "." in video_name[1:] else video_name
    alias = f"{stem}.srt"
    return None if alias == SRT else alias


def product_name(name: str) -> str:
    """The product a file name serves: ``<stem>.srt`` beside a video is track.srt."""
    if name.endswith(".srt") and "/" not in name:
        return SRT
    return name


def needs_full(name: str) -> bool:
    """Whether building ``name`` needs every stream indexed (not just the GPS track)."""
    return name == INFO or name.startswith(STREAMS_DIR + "/")


def build_generated(
    t: Telemetry | None, name: str, source_name: str, context: dict[str, Any]
) -> bytes:
    """Render one generated file.

    Args:
        t: the parsed video, or None when parsing failed.
        name: the entry name.
        source_name: the video's file name (titles in GPX/KML).
        context: facts for info.json (source size, mtime, error, options).
    """
    name = product_name(name)
    if name == INFO:
        return render.render_info(
            t, source_name=source_name, error=context.get("error"), extra=context
        )
    if name == CONCAT and isinstance(context.get(CONCAT), list):
        return render_concat([str(p) for p in context[CONCAT]])
    if t is None:
        raise FileNotFoundError(name)
    writer = _piece_writer(t, name, source_name)
    if writer is not None:
        return rendered(writer)
    if name == "track.kml":
        return render.render_kml(t, name=source_name)
    if name == PREVIEW:
        return render.render_preview(t, name=source_name)
    if name == "track.srt":
        return render.render_srt(t)
    if name == "track.vtt":
        return render.render_vtt(t)
    raise FileNotFoundError(name)


def write_generated(
    t: Telemetry | None, name: str, source_name: str, context: dict[str, Any], out: Sink
) -> None:
    """``build_generated``'s bytes, written into ``out``: the big files as their pieces
    come (never whole in memory), the others at once."""
    writer = None if t is None else _piece_writer(t, product_name(name), source_name)
    if writer is not None:
        writer(out)
    else:
        out.write(build_generated(t, name, source_name, context))


def _piece_writer(t: Telemetry, name: str, source_name: str) -> Callable[[Sink], None] | None:
    """How the files that can be big (an hour's track: 10-40 MB) are written piece by
    piece; None for the others."""
    if name == "track.gpx":
        return lambda out: render.write_gpx(t, out, name=source_name)
    if name == "track.csv":
        return lambda out: render.write_csv(t, out)
    if name == "track.geojson":
        return lambda out: render.write_geojson(t, out, name=source_name)
    stream = find_stream(t, name)
    if stream is not None and stream.codec is None:  # the GPS table is track.csv
        return lambda out: render.write_csv(t, out)
    return None


def find_stream(t: Telemetry, name: str) -> Stream | None:
    stem = name.removeprefix(STREAMS_DIR + "/").removesuffix(".csv")
    return next((s for s in t.streams if s.name == stem), None)


def find_raw(t: Telemetry, name: str) -> RawFile | None:
    stem = name.removeprefix(STREAMS_DIR + "/")
    return next((r for r in t.raw_files if r.name == stem), None)


# -- raw files ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RawLayout:
    """A raw file's pieces with their start offsets, for bisecting reads."""

    pieces: Sequence[Piece]
    starts: array[int]
    size: int


def raw_layout(raw: RawFile) -> RawLayout:
    starts: array[int] = array("q")
    pos = 0
    if isinstance(raw.pieces, PieceTable):  # the starts at once
        ends = np.cumsum(raw.pieces.sizes)
        starts.frombytes((ends - raw.pieces.sizes).astype(np.int64).tobytes())
        return RawLayout(raw.pieces, starts, int(ends[-1]) if len(ends) else 0)
    for piece in raw.pieces:
        starts.append(pos)
        pos += len(piece) if isinstance(piece, bytes) else piece.size
    return RawLayout(raw.pieces, starts, pos)


class NotCachedError(Exception):
    """A ``cached_only`` read would have had to wait for the disk."""


# The open source files of a product: one descriptor for a video, one per part
# (``Extent.part``) for a recording.
# The open source(s) of a video: descriptors of local files, or Sources
# (parsers/source.py) such as a remote object.
Fd = int | source.Source
Fds = Fd | Sequence[Fd]


def close_source(fd: Fd) -> None:
    """Close a local descriptor or a Source (a remote one checks its version on close)."""
    if isinstance(fd, int):
        os.close(fd)
        return
    with contextlib.suppress(OSError):  # the bytes were served already; nothing to undo
        fd.close()


def fd_of(fds: Fds, part: int) -> Fd:
    # Not isinstance(fds, Source): a runtime Protocol check costs ~20 us, and this
    # runs for every source range of every read (80 ranges per all.gpmf request).
    return fds[part] if isinstance(fds, tuple | list) else cast(Fd, fds)


def read_raw(
    fds: Fds, layout: RawLayout, off: int, size: int, *, cached_only: bool = False
) -> bytes:
    """Bytes ``[off, off+size)`` of a raw file, read from the open source(s) ``fds``.

    ``cached_only``: read with ``RWF_NOWAIT`` and raise ``NotCachedError`` rather than
    wait for a disk (safe on the event loop); filesystems without it raise
    ``OSError(EOPNOTSUPP)``.
    """
    end = min(off + size, layout.size)
    if off >= end:
        return b""
    out = bytearray(end - off)
    view = memoryview(out)
    local_bytes = local_reads = 0
    i = bisect.bisect_right(layout.starts, off) - 1
    pos = off
    while pos < end:
        piece, start = layout.pieces[i], layout.starts[i]
        skip, at = pos - start, pos - off
        if isinstance(piece, bytes):
            take = min(len(piece) - skip, end - pos)
            view[at : at + take] = piece[skip : skip + take]
        else:
            take = min(piece.size - skip, end - pos)
            fd = fd_of(fds, piece.part)
            if not isinstance(fd, int):
                if cached_only:
                    raise NotCachedError  # a remote read never runs on the event loop
                data = fd.pread(piece.offset + skip, take)
                view[at : at + len(data)] = data
                if len(data) != take:
                    raise _source_shrank()
                pos += take
                i += 1
                continue
            target = view[at : at + take]
            if cached_only:
                got = _preadv_cached(fd, target, piece.offset + skip)
            else:
                got = os.preadv(fd, [target], piece.offset + skip)
            local_bytes += got
            local_reads += 1
            if got != take:
                raise _source_shrank()
        pos += take
        i += 1
    source.TOTALS.add(local_bytes, local_reads)  # once: the counters take a lock
    return bytes(out)


def _pread_exact(fd: Fd, size: int, offset: int, cached_only: bool = False) -> bytes:
    if isinstance(fd, int):
        data = pread_cached(fd, size, offset) if cached_only else os.pread(fd, size, offset)
        source.TOTALS.add(len(data))
    elif cached_only:
        raise NotCachedError  # a remote read never runs on the event loop
    else:
        data = fd.pread(offset, size)  # a Source counts its own reads
    if len(data) != size:
        raise _source_shrank()
    return data


def pread_cached(fd: int, size: int, offset: int) -> bytes:
    """``os.pread``, but NotCachedError rather than a wait for the disk (RWF_NOWAIT)."""
    out = bytearray(size)
    got = _preadv_cached(fd, out, offset)
    return bytes(memoryview(out)[:got])


def _preadv_cached(fd: int, buffer: bytearray | memoryview, offset: int) -> int:
    """``os.preadv`` into ``buffer`` with RWF_NOWAIT: the bytes read (fewer only at
    the end of the file).

    Raises:
        NotCachedError: some of the bytes would have to come from the disk.
        OSError: EOPNOTSUPP or EINVAL where the filesystem has no RWF_NOWAIT.
    """
    try:
        got = os.preadv(fd, [buffer], offset, os.RWF_NOWAIT)
    except BlockingIOError:
        raise NotCachedError from None
    if got != len(buffer) and offset + len(buffer) <= os.fstat(fd).st_size:
        raise NotCachedError  # partly cached: the rest must come from the disk
    return got


def _source_shrank() -> OSError:
    # A short read: the source shrank under us. Never serve bytes of another length.
    return OSError(errno.EIO, "source file changed while reading")


# -- stream CSVs ---------------------------------------------------------------


def build_stream_index(stream: Stream, t: Telemetry | None) -> StreamIndex:
    """Size a stream CSV from its chunks' sample counts, decoding nothing."""
    layout = render_stream.stream_layout(stream, t)
    ends: array[int] = array("q")
    total = 0
    for chunk in stream.chunks:
        total += layout.chunk_size(chunk)
        ends.append(total)
    return StreamIndex(layout, ends)


def read_stream(fds: Fds, stream: Stream, index: StreamIndex, off: int, size: int) -> bytes:
    """Bytes ``[off, off+size)`` of a stream CSV, decoding only the chunks they touch."""
    end = min(off + size, index.size)
    if off >= end:
        return b""
    header = index.header
    out: list[bytes | memoryview] = []
    if off < len(header):
        out.append(header[off:end])
    body_off, body_end = max(off - len(header), 0), end - len(header)
    if body_end > 0:
        first = bisect.bisect_right(index.ends, body_off)
        last = bisect.bisect_left(index.ends, body_end)
        chunk_start = index.ends[first - 1] if first else 0
        wanted = list(stream.chunks[first : last + 1])
        text = render_stream.render_chunks(
            index.layout,
            list(iter_chunk_data(fds, wanted)),
            stream.codec,
            lambda data: extract.decode_chunk(stream, data),
        )
        out.append(text[body_off - chunk_start : body_end - chunk_start])
    return b"".join(out)


def render_stream_window(
    fds: Fds,
    stream: Stream,
    index: StreamIndex,
    off: int,
    at_least: int,
    *,
    cached_only: bool = False,
) -> tuple[int, bytes | memoryview]:
    """Whole chunks of a stream CSV from the one holding ``off``, at least ``at_least``
    bytes of them (fewer at the end), with the header when ``off`` is in it.

    Returns (where the bytes start in the file, the bytes). A sequential reader
    is served from such a window: one render per window instead of one per
    kernel request, each of which re-rendered the chunks cut at its edges.
    ``cached_only``: as for read_raw (NotCachedError rather than a wait for the disk).
    """
    header, ends = index.header, index.ends
    rows_from = max(off - len(header), 0)
    first = bisect.bisect_right(ends, rows_from)
    last = bisect.bisect_left(ends, min(rows_from + at_least, ends[-1] if ends else 0))
    text = render_stream.render_chunks(
        index.layout,
        list(iter_chunk_data(fds, list(stream.chunks[first : last + 1]), cached_only=cached_only)),
        stream.codec,
        lambda data: extract.decode_chunk(stream, data),
    )
    if off < len(header):
        return 0, header + text  # chunks before ``first`` are empty: the rows start at 0
    return len(header) + (ends[first - 1] if first else 0), text


def iter_chunk_data(fds: Fds, chunks: Sequence[Chunk], *, cached_only: bool = False) -> Any:
    """Yield (chunk, bytes) in order, merging nearby reads (of one part) into one pread."""
    i = 0
    while i < len(chunks):
        j = i + 1
        start = chunks[i].extent.offset
        stop = start + chunks[i].extent.size
        part = chunks[i].extent.part
        while (
            j < len(chunks)
            and chunks[j].extent.part == part
            and 0 <= chunks[j].extent.offset - stop < COALESCE_GAP
            and chunks[j].extent.offset + chunks[j].extent.size - start < 16 * 1024 * 1024
        ):
            stop = max(stop, chunks[j].extent.offset + chunks[j].extent.size)
            j += 1
        block = _pread_exact(fd_of(fds, part), stop - start, start, cached_only)
        for chunk in chunks[i:j]:
            rel = chunk.extent.offset - start
            yield chunk, block[rel : rel + chunk.extent.size]
        i = j


# Readahead hints stop after this much: enough for hours of telemetry, not
# enough to push a user's other work out of the page cache.
PREFETCH_LIMIT = 64 * 1024 * 1024


def prefetch(fds: Fds, extents: list[Extent]) -> None:
    """Ask the kernel to start reading these ranges now (POSIX_FADV_WILLNEED).

    Raw streams are hundreds of small ranges scattered through the video; read
    one at a time they cost a disk seek each. Announced up front, the kernel
    reads them in the background, in its own order, while we serve the first.
    """
    if all(not isinstance(fd, int) for fd in _all_fds(fds)):
        by_part: dict[int, list[tuple[int, int]]] = {}
        for extent in extents:
            by_part.setdefault(extent.part, []).append((extent.offset, extent.size))
        for part, ranges in by_part.items():
            src = fd_of(fds, part)
            assert not isinstance(src, int)
            src.prefetch(ranges)  # one batch: a remote source's round of requests
        return
    for extent in _within_budget(extents):
        try:
            fd = fd_of(fds, extent.part)
            if not isinstance(fd, int):
                continue
            os.posix_fadvise(fd, extent.offset, extent.size, os.POSIX_FADV_WILLNEED)
        except OSError:
            return  # a filesystem without readahead: reads still work


def _within_budget(extents: list[Extent]) -> list[Extent]:
    """The extents a local prefetch announces: those that start within PREFETCH_LIMIT
    bytes of ranges (the last one may end past it)."""
    budget = PREFETCH_LIMIT
    for i, extent in enumerate(extents):
        if budget <= 0:
            return extents[:i]
        budget -= extent.size
    return extents


# Takes a local file's ranges to announce for it; returns how many it took (from
# the start). The mount's read-ahead helper process (fs/fuse/announce.py).
Announce = Callable[[int, list[tuple[int, int]]], int]


def announce_through(announce: Announce, fds: Fds, extents: list[Extent]) -> list[Extent]:
    """Hand what ``prefetch`` would announce of local files to ``announce``; returns the
    extents it did not take, for ``prefetch`` (all of them for a remote source)."""
    by_fd: dict[int, list[Extent]] = {}
    for extent in _within_budget(extents):
        fd = fd_of(fds, extent.part)
        if not isinstance(fd, int):
            return extents  # a remote source batches its own range requests
        by_fd.setdefault(fd, []).append(extent)
    left: list[Extent] = []
    for fd, group in by_fd.items():
        taken = announce(fd, [(e.offset, e.size) for e in group])
        left += group[taken:]
    return left


def _all_fds(fds: Fds) -> list[Fd]:
    return list(fds) if isinstance(fds, tuple | list) else [cast(Fd, fds)]


def raw_extents_between(layout: RawLayout, start: int, end: int) -> list[Extent]:
    """The source ranges behind bytes ``[start, end)`` of a raw file, cut to the window
    (a video served whole is one extent of gigabytes: only the window is announced)."""
    first = max(bisect.bisect_right(layout.starts, start) - 1, 0)
    last = bisect.bisect_left(layout.starts, end)
    out = []
    for i in range(first, last):
        piece, at = layout.pieces[i], layout.starts[i]
        if isinstance(piece, Extent):
            skip = max(start - at, 0)
            size = min(piece.size - skip, end - at - skip)
            if size > 0:
                out.append(Extent(piece.offset + skip, size, piece.part))
    return out


def chunk_extents(stream: Stream) -> list[Extent]:
    return [c.extent for c in stream.chunks]


def ends_cached(fds: Fds, extents: list[Extent]) -> bool:
    """Whether the first and the last of these ranges are in the page cache (a byte of
    each, read with ``RWF_NOWAIT``): then the video was read lately (its parse read
    every range) and announcing them to the kernel would only cost a thread hop."""
    if not extents:
        return True
    for extent in (extents[0], extents[-1]):
        fd = fd_of(fds, extent.part)
        if not isinstance(fd, int) or not extent.size:
            return False
        try:
            if _preadv_cached(fd, bytearray(1), extent.offset) != 1:
                return False
        except (NotCachedError, OSError):  # or a filesystem without RWF_NOWAIT
            return False
    return True
