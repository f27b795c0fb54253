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

While the daemon answers requests (``note_request``, called as each one ends),
the pauses come every ``BUSY_EVERY_S`` instead: a request's answer hands the
GIL back and forth several times, and each hand-over waited for the next
pause. Three one-hour parses and renders: 95 % of the loop's requests within
1.5-3.6 ms instead of 10-11, of the I/O threads' within 6-9 ms instead of 33-40.
A lone ``cat`` makes no requests while its parse runs and pays nothing.

Freeing is the other long hold: CPython frees a container's contents in one
call, and dropping an hour's telemetry held the GIL for 12-40 ms, on the event
loop when the memory cache evicted it. ``drop_later`` hands such values to a
thread that frees them a slice at a time (parsers/stepwise.py).
"""

from __future__ import annotations

import ctypes
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from telemetryfs.parsers.source import LocalSource
from telemetryfs.parsers.stepwise import free_in_steps

from . import announce

EVERY_S = 0.005
PAUSE_S = 0.0002
BUSY_EVERY_S = 0.0005
BUSY_FOR_S = 0.02

_last_pause = threading.local()
_busy_until = 0.0


def note_request() -> None:
    """A request was answered: pause more often for a while (see the module docstring)."""
    global _busy_until
    _busy_until = time.monotonic() + BUSY_FOR_S


_to_drop: queue.SimpleQueue[tuple[Any, bool]] = queue.SimpleQueue()
_dropper_lock = threading.Lock()
_dropper: threading.Thread | None = None


def drop_later(value: Any, in_slices: bool = True) -> None:
    """Free ``value`` (the caller's last reference) in the dropping thread, in slices
    unless ``in_slices`` is False (a small value: finding its big sequences would cost
    more than freeing it at once)."""
    global _dropper
    _to_drop.put((value, in_slices))
    with _dropper_lock:
        if _dropper is None:
            _dropper = threading.Thread(target=_drop_forever, name="drop", daemon=True)
            _dropper.start()


def _drop_forever() -> None:
    while True:
        item = _to_drop.get()
        held, in_slices = [item[0]], item[1]
        del item
        # The caller may not have let go yet (it is returning from drop_later):
        # freeing in slices helps only once ours is the last reference. One held
        # for longer (a render still using the telemetry) frees it later, itself.
        for _ in range(100):
            if sys.getrefcount(held[0]) <= 2:  # ``held`` and the argument
                break
            time.sleep(0.001)
        if in_slices:
            free_in_steps(held)
        else:
            held.clear()
        if _to_drop.empty():
            _trim_heap()


# Parsed telemetry holds numpy columns (GpsTrack, ChunkTable): blocks of a few KB
# to MBs from the C heap, not Python's own arenas. Freed by evictions in any
# order, they leave holes that glibc keeps (only ``malloc_trim`` gives free pages
# inside the heap back), and the Python objects parsed next (a dashcam's samples)
# cannot use them: a card's rsync grew the daemon by ~20 MB more than with
# objects only. So after evictions, at most once a TRIM_EVERY_S, the free pages
# go back to the kernel (2-13 ms without the GIL; mallocs wait for the arena
# being trimmed meanwhile).
TRIM_EVERY_S = 1.0
_last_trim = -TRIM_EVERY_S


def _trim_heap() -> None:
    global _last_trim
    now = time.monotonic()
    if _malloc_trim is not None and now - _last_trim >= TRIM_EVERY_S:
        _malloc_trim(0)
        _last_trim = time.monotonic()


def _find_malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has none): nothing to trim
        return None
    return trim


_malloc_trim = _find_malloc_trim()


def _maybe_pause() -> None:
    now = time.monotonic()
    last = getattr(_last_pause, "at", None)
    if last is None:
        _last_pause.at = now
    elif now - last >= (BUSY_EVERY_S if now < _busy_until else EVERY_S):
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

    def prefetch(self, ranges: list[tuple[int, int]]) -> None:
        # The daemon's helper process announces them off this thread (announce.py).
        helper = announce.current()
        taken = helper.send(self.fileno(), ranges) if helper is not None else 0
        if taken < len(ranges):
            super().prefetch(ranges[taken:])


def open_sharing_gil(path: str) -> BinaryIO:
    return GilSharingFile(path)
