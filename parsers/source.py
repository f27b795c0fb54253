"""What the parsers read through: a size, positioned reads, and a batch prefetch.

Every parser reads a source with ``binio`` (``file_size``, ``read_at``,
``read_upto``, ``Readahead``), which use this small interface when the open
file offers it:

- ``size``: the length of the source in bytes;
- ``pread(offset, size)``: up to ``size`` bytes at ``offset`` (fewer at the end);
- ``prefetch(ranges)``: a hint that these ``(offset, size)`` ranges come next,
  fetched in one batch (a local file asks the kernel with POSIX_FADV_WILLNEED;
  a remote object fetches them in one round of requests, see fs/remote/).

A plain file object (``open(path, "rb")``, a ``BytesIO``) still works: binio
falls back to seek and read. Every source counts what it read in
:data:`TOTALS`, which the mount's stats xattr reports.
"""

from __future__ import annotations

import io
import os
import threading
from typing import Protocol, runtime_checkable


@runtime_checkable
class Source(Protocol):
    """The reads a parser needs from a source (see the module docstring)."""

    @property
    def size(self) -> int: ...

    def pread(self, offset: int, size: int) -> bytes: ...

    def prefetch(self, ranges: list[tuple[int, int]]) -> None: ...

    def close(self) -> None: ...


class SourceUnavailableError(OSError):
    """The source could not be read just now (a network error, a server gone).

    Not the file's fault: extract() lets it through rather than calling the file
    damaged, so nothing remembers it as a parse failure; the next try reads again.
    """


class Counters:
    """Bytes read from sources and the requests that read them (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.bytes_read = 0
        self.requests = 0

    def add(self, nbytes: int, requests: int = 1) -> None:
        with self._lock:
            self.bytes_read += nbytes
            self.requests += requests

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"source_bytes_read": self.bytes_read, "source_requests": self.requests}


# One process, one set of totals: the mount reports them for all its sources.
TOTALS = Counters()


class LocalSource(io.FileIO):
    """A local file opened read-only, read with ``os.pread`` (no shared position)."""

    def __init__(self, path: str) -> None:
        super().__init__(path, "r")
        self._size: int | None = None
        self._advise = True

    @property
    def size(self) -> int:
        if self._size is None:
            self._size = os.fstat(self.fileno()).st_size
        return self._size

    def pread(self, offset: int, size: int) -> bytes:
        data = os.pread(self.fileno(), size, offset)
        TOTALS.add(len(data))
        return data

    def prefetch(self, ranges: list[tuple[int, int]]) -> None:
        """Ask the kernel for these ranges in the background (a hint: errors end the hints)."""
        if not self._advise:
            return
        for offset, size in ranges:
            try:
                os.posix_fadvise(self.fileno(), offset, size, os.POSIX_FADV_WILLNEED)
            except OSError:
                self._advise = False
                return

    def read(self, size: int | None = -1, /) -> bytes:
        data = super().read(size)
        TOTALS.add(len(data))
        return data
