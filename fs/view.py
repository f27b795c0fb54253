"""The file view of one video, without FUSE: what the mount serves and the exporter writes.

``build(path)`` gives the small files of a video folder (info.json, the track
files, the GPS table) as bytes; ``open_product(path, name)`` a readable file
object for any file of the folder, the big stream CSVs and raw files
included, decoded or stitched as they are read. The FUSE layer (fs/fuse/)
calls the same pieces through its async store, adding caches, single-flight
parses and worker threads.
"""

from __future__ import annotations

import gc
import io
import os
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

from telemetryfs.fs import products
from telemetryfs.fs.cache import SourceKey
from telemetryfs.fs.render_common import Sink
from telemetryfs.parsers import extract
from telemetryfs.parsers.chunk_table import ChunkTable
from telemetryfs.parsers.errors import ParseError, UnsupportedError
from telemetryfs.parsers.extract import Opener, open_file
from telemetryfs.parsers.model import Telemetry
from telemetryfs.parsers.piece_table import PieceTable
from telemetryfs.parsers.track import GpsTrack


def telemetry_cost(t: Telemetry) -> int:
    """Bytes a parsed video holds in memory, calibrated with tracemalloc on HERO clips."""
    # Columns (GpsTrack, ChunkTable, PieceTable) cost their arrays; objects what
    # tracemalloc saw.
    chunks = sum(
        s.chunks.nbytes if isinstance(s.chunks, ChunkTable) else 200 * len(s.chunks)
        for s in t.streams
    )
    pieces = sum(
        r.pieces.nbytes if isinstance(r.pieces, PieceTable) else 130 * len(r.pieces)
        for r in t.raw_files
    )
    gps = t.gps.nbytes if isinstance(t.gps, GpsTrack) else 320 * len(t.gps)
    return 2048 + gps + chunks + pieces


def parse(
    key: SourceKey,
    *,
    full: bool,
    time_offset_s: float = 0.0,
    opener: Opener = open_file,
    keep_camera_clock: bool = False,
) -> Telemetry:
    """The parsed video of one source version (no cyclic GC while it runs).

    Raises:
        ParseError: the video cannot be parsed.
    """
    with GC_PAUSE:
        return extract.extract(
            key.path,
            full=full,
            sidecar=key.sidecar,
            time_offset_s=time_offset_s,
            opener=opener,
            keep_camera_clock=keep_camera_clock,
        )


def info_context(
    key: SourceKey, failure: ParseError | None, time_offset_s: float = 0.0
) -> dict[str, Any]:
    """The facts of info.json that come from the source rather than its telemetry."""
    context: dict[str, Any] = {
        "source_name": os.path.basename(key.path),
        "source_size": key.size,
        "source_mtime_ns": key.mtime_ns,
        "error": None if failure is None or isinstance(failure, UnsupportedError) else str(failure),
    }
    if key.sidecar:
        context["sidecar"] = os.path.basename(key.sidecar)
    if time_offset_s:
        context["time_offset_option_s"] = time_offset_s
    return context


def render(t: Telemetry | None, name: str, context: dict[str, Any]) -> bytes:
    """One generated file of a video folder (no cyclic GC while it renders)."""
    with GC_PAUSE:
        return products.build_generated(t, name, context["source_name"], context)


def write(t: Telemetry | None, name: str, context: dict[str, Any], out: Sink) -> None:
    """``render``'s bytes, written into ``out``: the big files as they come."""
    with GC_PAUSE:
        products.write_generated(t, name, context["source_name"], context, out)


def source_key(path: str | os.PathLike[str], sidecar: str | None = None) -> SourceKey:
    """The version key of a local source file (and its sidecar) as it is now."""
    path = os.fspath(path)
    st = os.stat(path)
    return SourceKey.from_stat(path, st, sidecar, os.stat(sidecar) if sidecar else None)


def _load(key: SourceKey, time_offset_s: float) -> tuple[Telemetry | None, dict[str, Any]]:
    try:
        t: Telemetry | None = parse(key, full=True, time_offset_s=time_offset_s)
        failure = None
    except ParseError as exc:
        t, failure = None, exc
    return t, info_context(key, failure, time_offset_s)


def build(
    path: str | os.PathLike[str], *, sidecar: str | None = None, time_offset_s: float = 0.0
) -> dict[str, bytes]:
    """Every generated file of a video's folder, by name (parses the video once)."""
    t, context = _load(source_key(path, sidecar), time_offset_s)
    return {
        entry.name: render(t, entry.name, context)
        for entry in products.list_entries(t)
        if entry.kind == products.GENERATED
    }


def open_product(
    path: str | os.PathLike[str],
    name: str,
    *,
    sidecar: str | None = None,
    time_offset_s: float = 0.0,
) -> BinaryIO:
    """A readable file object for one file of a video's folder (``streams/ACCL.csv`` ...).

    Generated files come whole; raw files and stream CSVs are stitched and
    decoded as they are read, from the source opened read-only.

    Raises:
        FileNotFoundError: the folder has no such file.
    """
    key = source_key(path, sidecar)
    t, context = _load(key, time_offset_s)
    entry = next((e for e in products.list_entries(t) if e.name == name), None)
    if entry is None or (t is None and entry.kind != products.GENERATED):
        raise FileNotFoundError(name)
    if entry.kind == products.GENERATED:
        return io.BytesIO(render(t, name, context))
    assert t is not None
    return io.BufferedReader(_ProductReader(key, t, name), 1 << 20)


class _ProductReader(io.RawIOBase):
    """A raw file or stream CSV, read through the same code as the mount's reads."""

    def __init__(self, key: SourceKey, t: Telemetry, name: str) -> None:
        self._fd = os.open(key.path, os.O_RDONLY | os.O_CLOEXEC)
        self._pos = 0
        self._read: Callable[[int, int], bytes]
        raw = products.find_raw(t, name)
        if raw is not None:
            layout = products.raw_layout(raw)
            self._size = layout.size
            self._read = lambda off, size: products.read_raw(self._fd, layout, off, size)
        else:
            stream = products.find_stream(t, name)
            if stream is None:
                raise FileNotFoundError(name)
            index = products.build_stream_index(stream, t)
            self._size = index.size
            self._read = lambda off, size: products.read_stream(self._fd, stream, index, off, size)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        data = self._read(self._pos, len(buffer))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


class _GcPause:
    """No cyclic garbage collection while a worker thread parses or renders.

    A long clip allocates a million small objects; the collector, triggered by
    those allocations, scans them all while holding the GIL, and every other
    request (a stat of the root) waits 50 to 150 ms. Parsers make no reference
    cycles (reference counting frees their garbage), so collection is paused
    while any parse or render runs. When the last one ends, what is alive is
    frozen (moved out of the collector's sight: it is the cached telemetry, freed
    by reference counting when evicted), so the next collection does not scan
    it either.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0

    def __enter__(self) -> None:
        with self._lock:
            self._active += 1
            if self._active == 1:
                gc.disable()

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._active -= 1
            if self._active == 0:
                gc.freeze()
                gc.enable()


GC_PAUSE = _GcPause()
