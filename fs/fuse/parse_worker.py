"""What runs in the parse process (trio-parallel's worker), beside the FUSE daemon.

A parse in a thread of the daemon holds the GIL for most of a second per hour
of footage: every request the daemon answers meanwhile waits for it (the
GIL-sharing files of fuse/gil.py cut the waits, not to zero). In a process of
its own the parse competes for nothing but a core. It hands the telemetry back
cut into small pickles (fs/telemetry_pickle.py), which the daemon loads a few
milliseconds at a time, and which the disk cache stores as they are.

This module imports neither trio nor pyfuse3: it is what the worker imports.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os

from telemetryfs.fs import telemetry_pickle, view
from telemetryfs.fs.cache import SourceKey
from telemetryfs.parsers.errors import ParseError

# A worker that holds more than this after a job (and after giving freed memory
# back to the system) is replaced by a fresh one.
RETIRE_RSS_BYTES = 160 * 1024 * 1024

# (the telemetry's parts, or None; the parse's failure, or None; whether that
# failure says nothing about this version of the file: unreadable right now;
# whether this worker retires after this job, see should_retire)
Outcome = tuple[list[bytes] | None, ParseError | None, bool, bool]

_retiring = False

_libc_path = ctypes.util.find_library("c")
_libc = ctypes.CDLL(_libc_path) if _libc_path else None


def warm_up() -> int:
    """Nothing: run once at mount, so the first user's parse does not wait for the
    process to start and import the parsers (importing this module did). Returns
    the worker's pid."""
    return os.getpid()


def parse_to_parts(
    key: SourceKey, full: bool, time_offset_s: float, keep_camera_clock: bool
) -> Outcome:
    """Parse one source version; its telemetry as telemetry_pickle parts."""
    parts: list[bytes] | None = None
    failure: ParseError | None = None
    transient = False
    try:
        telemetry = view.parse(
            key, full=full, time_offset_s=time_offset_s, keep_camera_clock=keep_camera_clock
        )
        parts = telemetry_pickle.to_parts(telemetry)
        del telemetry
    except ParseError as exc:
        # The cause does not cross the process boundary: say here whether it was
        # the file being unreadable (an OSError), which is not a verdict on it.
        transient = isinstance(exc.__cause__, OSError)
        exc.__cause__ = exc.__context__ = None
        exc.__traceback__ = None
        failure = exc
    _give_memory_back()
    global _retiring
    _retiring = _too_big()
    return parts, failure, transient, _retiring


def should_retire() -> bool:
    """Whether this worker grew too large to keep (trio-parallel asks after each job):
    the verdict its last parse told the daemon, so the two never disagree."""
    return _retiring


def _too_big() -> bool:
    try:
        with open("/proc/self/statm", "rb") as statm:
            resident_pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return False
    return resident_pages * os.sysconf("SC_PAGE_SIZE") > RETIRE_RSS_BYTES


def _give_memory_back() -> None:
    """Return the parse's freed memory to the system (glibc keeps it otherwise)."""
    if _libc is not None and hasattr(_libc, "malloc_trim"):
        _libc.malloc_trim(0)
