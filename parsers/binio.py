"""Bounded binary reading: every read is checked against what the file holds.

Low-level errors (short reads, struct errors, OS errors on a damaged card)
become ParseError subclasses here, at the lowest level, so that nothing else
escapes a parser.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from typing import BinaryIO

from .errors import TruncatedError

U8 = struct.Struct(">B")
U16BE = struct.Struct(">H")
U32BE = struct.Struct(">I")
U64BE = struct.Struct(">Q")
U32LE = struct.Struct("<I")
BOX_HEADER = struct.Struct(">I4s")

# Never hold more than this from a single read: telemetry blocks are small,
# a bigger request means a lying size field.
MAX_READ = 256 * 1024 * 1024


# -- sharing the GIL -------------------------------------------------------------
# A parser run in a worker thread beside an event loop (the FUSE daemon) makes
# thousands of short syscalls, each releasing the GIL and taking it back within
# microseconds, before the waiting loop thread has woken up. A waiter asks the
# holder to let go only after a whole switch interval in which the GIL did not
# change hands, and each of those re-takes counts as a change: the loop waits
# up to hundreds of ms (measured: one-hour GoPro parse, worst gaps 84-216 ms).
# When enabled, a thread that has run ``every_s`` since its last pause sleeps
# ``pause_s`` at its next read, leaving the GIL to whoever waits. Measured during the
# parse of three one-hour files: worst wait of a request answered on the loop
# 101-123 ms -> 13-16 ms, of one through an I/O thread 309-473 ms -> 43-53 ms;
# the cold track time did not move beyond its noise (every 10 ms for 50 us kept
# the loop's figure but left the I/O threads' p95 at ~73 ms). Off by default: a
# lone parse has nobody to wait for.

_share: tuple[float, float] | None = None
_last_pause = threading.local()


def share_gil(every_s: float = 0.005, pause_s: float = 0.0002) -> None:
    """Let threads that read through this module pause ``pause_s`` every ``every_s``."""
    global _share
    _share = (every_s, pause_s)


def _maybe_pause() -> None:
    if _share is None:
        return
    now = time.monotonic()
    last = getattr(_last_pause, "at", None)
    if last is None:
        _last_pause.at = now
    elif now - last >= _share[0]:
        time.sleep(_share[1])
        _last_pause.at = time.monotonic()


def file_size(f: BinaryIO) -> int:
    """Size of an open file, without moving its position for long."""
    try:
        return os.fstat(f.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        pos = f.tell()
        end = f.seek(0, os.SEEK_END)
        f.seek(pos)
        return end


def read_at(f: BinaryIO, offset: int, size: int) -> bytes:
    """Read exactly ``size`` bytes at ``offset``.

    Raises:
        TruncatedError: the file ends first, or the request is absurd.
    """
    if size < 0 or offset < 0 or size > MAX_READ:
        raise TruncatedError(f"refusing to read {size} bytes", offset=offset)
    _maybe_pause()
    try:
        f.seek(offset)
        data = f.read(size)
    except (OSError, ValueError, OverflowError) as exc:
        raise TruncatedError(f"read failed: {exc}", offset=offset) from exc
    if len(data) != size:
        raise TruncatedError(f"wanted {size} bytes, file has {len(data)}", offset=offset)
    return data


def read_upto(f: BinaryIO, offset: int, size: int) -> bytes:
    """Read at most ``size`` bytes at ``offset`` (fewer at end of file)."""
    if size < 0 or offset < 0 or size > MAX_READ:
        raise TruncatedError(f"refusing to read {size} bytes", offset=offset)
    _maybe_pause()
    try:
        f.seek(offset)
        return f.read(size)
    except (OSError, ValueError, OverflowError) as exc:
        raise TruncatedError(f"read failed: {exc}", offset=offset) from exc


class Readahead:
    """Announce the ranges a parser will read next (POSIX_FADV_WILLNEED), a window ahead.

    Telemetry sits in thousands of small ranges spread through a video of
    gigabytes; read one by one, each costs a disk seek while the CPU waits.
    Announced ahead, the kernel fetches them in the background (and in its own
    order) while the parser decodes what it already has. A hint only: files
    without a descriptor, or filesystems without readahead, read the same.
    """

    # Far enough ahead to keep the disk busy, not so far that a huge file floods
    # the page cache.
    WINDOW = 32 * 1024 * 1024

    def __init__(self, f: BinaryIO, ranges: list[tuple[int, int]]) -> None:
        self.ranges = ranges
        self._next = 0
        self._ends: list[int] = []
        total = 0
        for _, size in ranges:
            total += size
            self._ends.append(total)
        try:
            self._fd: int | None = f.fileno()
        except (AttributeError, OSError, ValueError):
            self._fd = None

    def before(self, i: int) -> None:
        """Call before reading range ``i``: keeps WINDOW bytes announced beyond it."""
        if self._fd is None:
            return
        done = self._ends[i - 1] if i else 0
        while self._next < len(self.ranges) and self._ends[self._next] - done <= self.WINDOW:
            offset, size = self.ranges[self._next]
            try:
                os.posix_fadvise(self._fd, offset, size, os.POSIX_FADV_WILLNEED)
            except OSError:
                self._fd = None
                return
            self._next += 1
