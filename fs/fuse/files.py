"""Open files: what a file handle reads from, fixed at open() time.

Content is built and validated in ``open()`` so errors surface there rather
than halfway through a ``read()``, and a handle always serves the version of
the source it was opened on (never the bytes of one version with the size of
another). Raw and stream files keep the source open read-only and serve byte
ranges of it; nothing the size of a stream is held in memory.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import trio

from telemetryfs.fs.products import (
    Fd,
    Fds,
    NotCachedError,
    RawLayout,
    StreamIndex,
    announce_through,
    close_source,
    pread_cached,
    prefetch,
    raw_extents_between,
    read_raw,
    read_stream,
    render_stream_window,
)
from telemetryfs.parsers import source
from telemetryfs.parsers.model import Extent, Stream

from . import announce
from .store import QUICK_CALL_S, QUICK_SLOW_CALLS, Store

log = logging.getLogger(__name__)

T = TypeVar("T")

# Opened like this, a source can never be written through us, and a symlink
# swapped in after we checked the name is refused (ELOOP) instead of followed.
SOURCE_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC


def open_source(path: bytes) -> int:
    return os.open(path, SOURCE_OPEN_FLAGS)


class OpenFile:
    """Base of the open-file kinds."""

    async def read(self, off: int, size: int) -> bytes | memoryview:
        """The bytes at ``off``: any buffer, pyfuse3 replies from it without a copy."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the handle holds (no-op for in-memory content)."""

    @property
    def size(self) -> int | None:
        """The size of the content this handle serves (None: the source's, as it is)."""
        return None


@dataclass(slots=True)
class BytesFile(OpenFile):
    """A generated file: its bytes, built at open()."""

    data: bytes

    async def read(self, off: int, size: int) -> bytes | memoryview:
        # A view, not a copy: a request's 128 KiB slice would be fresh pages each time
        # (the daemon's mmap threshold, cli.py), for bytes pyfuse3 copies out at once.
        return memoryview(self.data)[off : off + size]

    @property
    def size(self) -> int | None:
        return len(self.data)


@dataclass(slots=True)
class CachedFileHandle(OpenFile):
    """A big generated file, served by range from its disk cache file (Store.generated):
    the file's bytes are never held. A read whose range is in the page cache (just
    written, or read lately; ``RWF_NOWAIT`` says so without waiting) is served on the
    event loop, like a plain file's; one that needs the disk goes to a thread."""

    store: Store
    fd: int
    length: int
    nowait: bool = True  # False once the cache's filesystem refuses RWF_NOWAIT

    async def read(self, off: int, size: int) -> bytes:
        size = max(0, min(size, self.length - off))
        if size == 0:
            return b""
        cached = _if_cached(self, _read_cached_file, self.fd, off, size)
        if cached is not None:
            return cached
        return await self.store.run_io(_read_cached_file, self.fd, off, size)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    @property
    def size(self) -> int | None:
        return self.length


@dataclass(slots=True)
class SourceBacked(OpenFile):
    """Something read from the open source file descriptor."""

    store: Store
    fds: tuple[Fd, ...]  # one per source part (one for a video)

    def close(self) -> None:
        for fd in self.fds:
            close_source(fd)
        self.fds = ()


class NoWaitRefusedError(Exception):
    """The source's filesystem refuses RWF_NOWAIT reads."""


def _without_waiting(fn: Callable[..., T], *args: Any) -> T | None:
    """``fn(*args, cached_only=True)`` (read_raw, render_stream_window): its result, or
    None when a read would have had to wait for the disk.

    Raises:
        NoWaitRefusedError: the filesystem cannot tell (no RWF_NOWAIT): read in threads.
    """
    try:
        return fn(*args, cached_only=True)
    except NotCachedError:
        return None
    except OSError as e:
        if e.errno in (errno.EOPNOTSUPP, errno.EINVAL):
            raise NoWaitRefusedError from e
        raise


class _NoWaitReader(Protocol):
    nowait: bool  # False once the filesystem refuses RWF_NOWAIT: every read in a thread


def _if_cached(handle: _NoWaitReader, fn: Callable[..., T], *args: Any) -> T | None:
    """A handle's read made on the event loop (``_without_waiting``) while its filesystem
    allows: the result, or None when the read must go to a thread."""
    if not handle.nowait:
        return None
    try:
        return _without_waiting(fn, *args)
    except NoWaitRefusedError:
        handle.nowait = False
        return None


def hand_to_helper(fds: Fds, extents: list[Extent]) -> list[Extent]:
    """Hand the read-ahead of ``extents`` to the mount's helper process (announce.py),
    from the event loop (it never blocks); returns what is left to ``prefetch``."""
    helper = announce.current()
    return extents if helper is None else announce_through(helper.send, fds, extents)


def _read_cached_file(fd: int, off: int, size: int, *, cached_only: bool = False) -> bytes:
    """A range of a disk cache file (``cached_only``: as for read_raw)."""
    return pread_cached(fd, size, off) if cached_only else os.pread(fd, size, off)


# How far ahead of a read that must wait for the disk the source ranges are
# announced to the kernel's read-ahead (see RawFileHandle).
RAW_PREFETCH = 4 * 1024 * 1024


@dataclass(slots=True)
class RawFileHandle(SourceBacked):
    """A raw file stitched from literal pieces and byte ranges of the source.

    A GoPro payload is ~3 KiB, so one 256 KiB kernel request spans ~80 source
    ranges. Stitched in a worker thread, each request paid a thread hop and GIL
    hand-offs at every pread (all.gpmf ran at ~40% of a plain file through the
    same mount). When the ranges are in the page cache, which ``RWF_NOWAIT``
    tells without ever waiting for a disk, stitching them on the event loop takes
    ~0.2 ms per request; only a request that needs the disk goes to a thread,
    which first announces the ranges ahead to the kernel's read-ahead.
    """

    layout: RawLayout
    nowait: bool = True  # False once the source's filesystem refuses RWF_NOWAIT
    announced: int = 0  # raw-file offset up to which read-ahead was asked for

    async def read(self, off: int, size: int) -> bytes:
        cached = _if_cached(self, read_raw, self.fds, self.layout, off, size)
        if cached is not None:
            return cached
        ahead: list[Extent] = []
        if off + RAW_PREFETCH // 2 >= self.announced:
            ahead = raw_extents_between(self.layout, max(off, self.announced), off + RAW_PREFETCH)
            self.announced = off + RAW_PREFETCH
            ahead = hand_to_helper(self.fds, ahead)  # the rest: announced below
        return await self.store.run_io(_read_raw_from_disk, self.fds, self.layout, off, size, ahead)

    @property
    def size(self) -> int | None:
        return self.layout.size


def _read_raw_from_disk(
    fds: tuple[Fd, ...], layout: RawLayout, off: int, size: int, ahead: list[Extent]
) -> bytes:
    prefetch(fds, ahead)
    return read_raw(fds, layout, off, size)


# A sequential reader of a stream CSV is served from a rendered window this big:
# big enough that the per-render costs fade, small enough that the render's numpy
# arrays stay under the daemon's fixed 128 KiB mmap threshold (cli.py), where a
# 1 MiB window's arrays each cost fresh pages. ACCL.csv of a real HERO7 hour,
# first read through the mount: 28 MB/s with 1 MiB windows, 61 MB/s with these.
STREAM_WINDOW = 256 * 1024
_NOTHING = memoryview(b"")


@dataclass(slots=True)
class StreamFileHandle(SourceBacked):
    """A stream CSV: each read decodes only the chunks it touches.

    Reads that follow on from the previous ones (cat, cp, rsync) are served
    from a window of whole chunks rendered ahead; a read elsewhere (a seek)
    renders just what it asks for. The kernel's read-ahead sends several
    requests at once, out of order: they wait for the window being rendered
    instead of each rendering it again (77 renders of 1 MiB windows for a 46 MB
    CSV before, 44 after, and none competing for the GIL).

    A window whose source bytes are in the page cache (``RWF_NOWAIT`` says so
    without waiting) is rendered on the event loop: ~1.5 ms for 256 KiB, where
    the thread hop and the GIL hand-offs around it cost a fifth of the time
    (ACCL.csv of a real HERO7 hour: 117 -> 139 MB/s through the mount). One
    that needs the disk, or a handle whose inline render was slow, uses a thread.
    """

    stream: Stream
    index: StreamIndex
    window_at: int = 0
    # The rendered window; reads get slices of it without a copy (pyfuse3 replies
    # from any buffer): 128 KiB copied a request was a tenth of the daemon's time.
    window: memoryview = _NOTHING
    next_off: int = -1
    rendering: trio.Lock = field(default_factory=trio.Lock)
    inline: bool = True  # False once the source refuses RWF_NOWAIT or renders were slow
    slow_renders: int = 0

    async def read(self, off: int, size: int) -> bytes | memoryview:
        near = off == 0 or self.window_at <= off <= max(self.next_off, 0) + STREAM_WINDOW
        self.next_off = max(self.next_off, off + size)
        hit = self._from_window(off, size)
        if hit is not None:
            return hit
        if not near or off >= self.index.size:
            return await self.store.run_io(
                read_stream, self.fds, self.stream, self.index, off, size
            )
        async with self.rendering:
            hit = self._from_window(off, size)  # rendered while this read waited
            if hit is None:
                log.debug("render %s window at %d", self.stream.name, off)
                self.window_at, window = await self._render_window(off, max(size, STREAM_WINDOW))
                self.window = memoryview(window)
                hit = self._from_window(off, size)
        if hit is None:  # off is past the window's end (a short final chunk run)
            return await self.store.run_io(
                read_stream, self.fds, self.stream, self.index, off, size
            )
        return hit

    async def _render_window(self, off: int, at_least: int) -> tuple[int, bytes | memoryview]:
        self.store.stats.stream_windows += 1
        if self.inline:
            started = time.perf_counter()
            try:
                window = _without_waiting(
                    render_stream_window, self.fds, self.stream, self.index, off, at_least
                )
            except NoWaitRefusedError:
                self.inline = False
            else:
                if window is not None:
                    # The store's budget for quick calls: the QUICK_SLOW_CALLS-th slow
                    # window sends the handle's later ones to threads (a slow machine:
                    # keep the loop answering). Not the first: the first render of a
                    # stream builds its lookup tables.
                    if time.perf_counter() - started > QUICK_CALL_S:
                        self.slow_renders += 1
                        self.inline = self.slow_renders < QUICK_SLOW_CALLS
                    await trio.lowlevel.checkpoint()  # let the requests queued meanwhile run
                    return window
        self.store.stats.stream_windows_in_threads += 1
        return await self.store.run_io(
            render_stream_window, self.fds, self.stream, self.index, off, at_least
        )

    def _from_window(self, off: int, size: int) -> memoryview | None:
        rel, end = off - self.window_at, min(off + size, self.index.size)
        if rel >= 0 and end <= self.window_at + len(self.window):
            return self.window[rel : rel + size]
        return None

    @property
    def size(self) -> int | None:
        return self.index.size


@dataclass(slots=True)
class PassthroughFile(SourceBacked):
    """A non-footage source file shown with ``-o show_other``."""

    async def read(self, off: int, size: int) -> bytes:
        fd = self.fds[0]
        if isinstance(fd, int):
            data = await self.store.run_io(os.pread, fd, size, off)
            source.TOTALS.add(len(data))  # a remote Source counts its own reads
            return data
        return await self.store.run_io(fd.pread, off, size)
