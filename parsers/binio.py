"""Bounded binary reading: every read is checked against what the file holds.

Low-level errors (short reads, struct errors, OS errors on a damaged card)
become ParseError subclasses here, at the lowest level, so that nothing else
escapes a parser.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

from telemetryfs.parsers.errors import TruncatedError
from telemetryfs.parsers.source import SourceUnavailableError

U8 = struct.Struct(">B")
U16BE = struct.Struct(">H")
U32BE = struct.Struct(">I")
U64BE = struct.Struct(">Q")
U32LE = struct.Struct("<I")
BOX_HEADER = struct.Struct(">I4s")

# Never hold more than this from a single read: telemetry blocks are small,
# a bigger request means a lying size field.
MAX_READ = 256 * 1024 * 1024


def file_size(f: BinaryIO) -> int:
    """Size of an open file, without moving its position for long."""
    size = getattr(f, "size", None)
    if isinstance(size, int):  # a Source (parsers/source.py)
        return size
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
    try:
        data = _pread(f, offset, size)
    except SourceUnavailableError:
        raise  # not the file's fault: the caller tries again later
    except (OSError, ValueError, OverflowError) as exc:
        raise TruncatedError(f"read failed: {exc}", offset=offset) from exc
    if len(data) != size:
        raise TruncatedError(f"wanted {size} bytes, file has {len(data)}", offset=offset)
    return data


def read_upto(f: BinaryIO, offset: int, size: int) -> bytes:
    """Read at most ``size`` bytes at ``offset`` (fewer at end of file)."""
    if size < 0 or offset < 0 or size > MAX_READ:
        raise TruncatedError(f"refusing to read {size} bytes", offset=offset)
    try:
        return _pread(f, offset, size)
    except SourceUnavailableError:
        raise  # not the file's fault: the caller tries again later
    except (OSError, ValueError, OverflowError) as exc:
        raise TruncatedError(f"read failed: {exc}", offset=offset) from exc


def _pread(f: BinaryIO, offset: int, size: int) -> bytes:
    pread = getattr(f, "pread", None)
    if pread is not None:  # a Source: positioned reads, counted
        data: bytes = pread(offset, size)
        return data
    f.seek(offset)
    return f.read(size)


class Readahead:
    """Announce the ranges a parser will read next, a window ahead.

    A Source's ``prefetch`` gets each window as one batch (a local file: the
    kernel's POSIX_FADV_WILLNEED; a remote object: one round of range
    requests); any other file with a descriptor gets POSIX_FADV_WILLNEED.

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
        self._prefetch = getattr(f, "prefetch", None)
        try:
            self._fd: int | None = f.fileno()
        except (AttributeError, OSError, ValueError):
            self._fd = None

    def before(self, i: int) -> None:
        """Call before reading range ``i``: keeps WINDOW bytes announced beyond it."""
        done = self._ends[i - 1] if i else 0
        if self._prefetch is not None:
            # Batches, not one range at a time: a remote batch is a round of
            # requests, so refill only when less than half a window is ahead.
            ahead = (self._ends[self._next - 1] if self._next else 0) - done
            if self._next > i and ahead >= self.WINDOW // 2:
                return
            start = self._next
            while self._next < len(self.ranges) and self._ends[self._next] - done <= self.WINDOW:
                self._next += 1
            if self._next <= i < len(self.ranges):
                self._next = i + 1  # a range bigger than the window: fetch it alone
                start = min(start, i)
            if self._next > start:
                self._prefetch(self.ranges[start : self._next])
            return
        if self._fd is None:
            return
        while self._next < len(self.ranges) and self._ends[self._next] - done <= self.WINDOW:
            offset, size = self.ranges[self._next]
            try:
                os.posix_fadvise(self._fd, offset, size, os.POSIX_FADV_WILLNEED)
            except OSError:
                self._fd = None
                return
            self._next += 1
