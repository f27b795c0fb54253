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
import json
import os
import pickle
from pathlib import Path

from telemetryfs.fs import products, telemetry_pickle, view
from telemetryfs.fs.cache import DiskCache, SourceKey
from telemetryfs.parsers import extract
from telemetryfs.parsers.errors import ParseError
from telemetryfs.parsers.model import Telemetry

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
    try:
        telemetry, failure, transient = _parse(key, full, time_offset_s, keep_camera_clock)
        parts = telemetry_pickle.to_parts(telemetry) if telemetry is not None else None
        del telemetry
    finally:
        _after_job()
    return parts, failure, transient, _retiring


def _parse(
    key: SourceKey, full: bool, time_offset_s: float, keep_camera_clock: bool
) -> tuple[Telemetry | None, ParseError | None, bool]:
    """(the telemetry or None, the parse's failure or None, whether that failure says
    nothing about this version of the file: unreadable right now)."""
    try:
        telemetry = view.parse(
            key, full=full, time_offset_s=time_offset_s, keep_camera_clock=keep_camera_clock
        )
    except ParseError as exc:
        # The cause does not cross the process boundary: say here whether it was
        # the file being unreadable (an OSError), which is not a verdict on it.
        transient = isinstance(exc.__cause__, OSError)
        exc.__cause__ = exc.__context__ = None
        exc.__traceback__ = None
        return None, exc, transient
    return telemetry, None, False


def _after_job() -> None:
    """Give the job's freed memory back, and decide whether this worker retires."""
    _give_memory_back()
    global _retiring
    _retiring = _too_big()


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


def prepare(
    key: SourceKey,
    cache_base: str,
    cache_variant: str,
    time_offset_s: float,
    keep_camera_clock: bool,
) -> tuple[bool, int]:
    """Read ahead: parse one video fully and put everything its folder shows into the
    disk cache (the telemetry, its file list, every file's size, the bytes of its small
    files), as the daemon would have. The daemon then finds it all there and only reads
    (fs/fuse/store.py, "read-ahead"). Returns whether it parsed the video, and the bytes
    it wrote (0: nothing, and the daemon does the work if it is asked)."""
    disk = _disk_cache(cache_base, cache_variant)
    if disk.get(key, "entries.json") is not None or not _still(key):
        return False, 0
    try:
        return True, _prepare(disk, key, time_offset_s, keep_camera_clock)
    finally:
        _after_job()


def _prepare(disk: DiskCache, key: SourceKey, time_offset_s: float, keep_camera_clock: bool) -> int:
    """The bytes prepare() wrote for ``key`` (0: none)."""
    telemetry, failure, transient = _parse(key, True, time_offset_s, keep_camera_clock)
    if transient:
        return 0  # unreadable right now: no verdict, the daemon tries when asked
    if telemetry is not None and extract.looks_for_linked_logs(telemetry):
        return 0  # its result depends on a log the key does not cover: never on disk
    written = 0

    def put(item: str, data: bytes) -> None:
        nonlocal written
        disk.put(key, item, data)
        written += len(data)

    if telemetry is None:
        put("failure", pickle.dumps(failure, protocol=pickle.HIGHEST_PROTOCOL))
    else:
        parts = telemetry_pickle.to_parts(telemetry)
        put("telemetry.full", pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL))
        del parts
    entries = products.list_entries(telemetry)
    context = view.info_context(key, failure, time_offset_s)
    sizes: dict[str, int] = {}
    for entry in entries:
        if entry.kind == products.GENERATED:
            data = view.render(telemetry, entry.name, dict(context))
            put(entry.name, data)
            sizes[entry.name] = len(data)
        elif telemetry is not None and entry.kind == products.RAW:
            raw = products.find_raw(telemetry, entry.name)
            if raw is not None:
                sizes[entry.name] = raw.size
        elif telemetry is not None and entry.kind == products.STREAM:
            stream = products.find_stream(telemetry, entry.name)
            if stream is not None:
                sizes[entry.name] = products.build_stream_index(stream, telemetry).size
    put("sizes.json", json.dumps(sizes).encode())
    # Last: the daemon takes a folder whose file list is on disk as prepared.
    put("entries.json", products.encode_entries(entries))
    return written


_disk_caches: dict[tuple[str, str], DiskCache] = {}


def _disk_cache(base: str, variant: str) -> DiskCache:
    # No capacity here: the daemon counts what this writes (Store.read_ahead) and
    # prunes; two counters of one folder would each prune on their own.
    found = _disk_caches.get((base, variant))
    if found is None:
        found = _disk_caches[(base, variant)] = DiskCache(Path(base), variant)
    return found


def _still(key: SourceKey) -> bool:
    """Whether the file is still the version ``key`` names (a listing's stat can age)."""
    try:
        return key.describes(os.stat(key.path))
    except OSError:
        return False
