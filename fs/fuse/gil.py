"""Parse threads that leave the GIL to the event loop now and then.

A parser run in a worker thread beside an event loop (the FUSE daemon) makes
thousands of short syscalls, each releasing the GIL and taking it back within
microseconds, before the waiting loop thread has woken up. A waiter asks the
holder to let go only after a whole switch interval in which the GIL did not
change hands, and each of those re-takes counts as a change: the loop waits
up to hundreds of ms (measured: one-hour GoPro parse, worst gaps 84-216 ms).

The daemon opens sources through :func:`open_sharing_gil`: a thread that has
run ``EVERY_S`` since its last pause sleeps ``PAUSE_S`` at its next read,
leaving the GIL to whoever waits. Measured during the parse of three one-hour
files: worst wait of a request answered on the loop 101-123 ms -> 13-16 ms, of
one through an I/O thread 309-473 ms -> 43-53 ms; the cold track time did not
move beyond its noise (every 10 ms for 50 us kept the loop's figure but left
the I/O threads' p95 at ~73 ms). A lone parse (a library call, the exporter)
has nobody to wait for and opens plain files.
"""

from __future__ import annotations

import threading
import time
from typing import BinaryIO

from telemetryfs.parsers.source import LocalSource

EVERY_S = 0.005
PAUSE_S = 0.0002

_last_pause = threading.local()


def _maybe_pause() -> None:
    now = time.monotonic()
    last = getattr(_last_pause, "at", None)
    if last is None:
        _last_pause.at = now
    elif now - last >= EVERY_S:
        time.sleep(PAUSE_S)
        _last_pause.at = time.monotonic()


class GilSharingFile(LocalSource):
    """A read-only file whose reads pause now and then (see the module docstring)."""

    def read(self, size: int | None = -1, /) -> bytes:
        _maybe_pause()
        return super().read(size)

    def pread(self, offset: int, size: int) -> bytes:
        _maybe_pause()
        return super().pread(offset, size)

    def readinto(self, buffer: bytearray | memoryview, /) -> int:  # type: ignore[override]
        _maybe_pause()
        return super().readinto(buffer)


def open_sharing_gil(path: str) -> BinaryIO:
    return GilSharingFile(path)
