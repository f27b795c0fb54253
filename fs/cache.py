"""Caches: source identity, a byte-bounded LRU, single-flight, and the disk cache.

Content is keyed by :class:`SourceKey`: path, device, inode, size and mtime of
the source (and of its NMEA sidecar). Not just the mtime: FAT and exFAT cards
keep coarse mtimes, and size and inode catch most replacements. Everything
derived from a source is deterministic, so a key always maps to the same bytes.

The disk cache (ratarmount's index-cache idea) lives outside the footage, in
``$XDG_CACHE_HOME/telemetryfs``; an entry is valid while the key matches and
the GENERATOR_VERSION is the same. Writes are atomic (temporary file, then
``os.replace``), so a crash leaves either the old entry or the new one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import pickle
import tempfile
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import trio

log = logging.getLogger(__name__)

# Bump whenever any generated output or the pickled model changes shape:
# it invalidates every disk cache entry, like ratarmount's index version.
GENERATOR_VERSION = 2  # 2: track.gpx writes one line per point

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SourceKey:
    """One version of one source file (plus its sidecar log, if any)."""

    path: str
    dev: int
    ino: int
    size: int
    mtime_ns: int
    sidecar: str | None = None
    sidecar_size: int = 0
    sidecar_mtime_ns: int = 0

    @classmethod
    def from_stat(
        cls,
        path: str,
        st: os.stat_result,
        sidecar: str | None = None,
        sc: os.stat_result | None = None,
    ) -> SourceKey:
        return cls(
            path,
            st.st_dev,
            st.st_ino,
            st.st_size,
            st.st_mtime_ns,
            sidecar,
            sc.st_size if sc else 0,
            sc.st_mtime_ns if sc else 0,
        )


class LruCache(Generic[T]):
    """A least-recently-used map bounded by the total cost of its values."""

    def __init__(self, capacity: int, cost: Callable[[T], int]) -> None:
        self.capacity = capacity
        self._cost = cost
        self._items: OrderedDict[Hashable, tuple[T, int]] = OrderedDict()
        self.total = 0

    def get(self, key: Hashable) -> T | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: Hashable, value: T) -> None:
        cost = self._cost(value)
        self.pop(key)
        if cost > self.capacity:
            return  # would evict everything else and still not fit
        self._items[key] = (value, cost)
        self.total += cost
        while self.total > self.capacity:
            _, (_, old_cost) = self._items.popitem(last=False)
            self.total -= old_cost

    def pop(self, key: Hashable) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self.total -= item[1]

    def __len__(self) -> int:
        return len(self._items)


class SingleFlight:
    """Run one computation per key at a time; concurrent callers share its result.

    Like s3ql's MultiLock plus a re-check: the first caller computes, the
    others wait on the same lock and then find the result in the cache.
    """

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[trio.Lock, int]] = {}

    def busy(self, key: Hashable) -> bool:
        """Whether a computation for ``key`` is under way."""
        return key in self._locks

    async def wait(self, key: Hashable) -> None:
        """Wait until the computation for ``key`` under way (if any) is over; compute nothing."""
        entry = self._locks.get(key)
        if entry is not None:
            async with entry[0]:
                pass

    async def run(
        self, key: Hashable, lookup: Callable[[], T | None], compute: Callable[[], Awaitable[T]]
    ) -> T:
        found = lookup()
        if found is not None:
            return found
        lock, waiters = self._locks.get(key, (trio.Lock(), 0))
        self._locks[key] = (lock, waiters + 1)
        try:
            async with lock:
                found = lookup()
                if found is not None:
                    return found
                return await compute()
        finally:
            lock, waiters = self._locks[key]
            if waiters == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, waiters - 1)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "telemetryfs"


class DiskCache:
    """Derived data of each source version, in its own folder under ``root``.

    Layout: ``root/v<GENERATOR_VERSION>/<sha256 of path>/`` with ``key.json``
    (the SourceKey the entry belongs to) and one file per cached item. An
    entry whose key.json no longer matches is replaced on the next write.
    All methods are synchronous: call them from worker threads.
    """

    def __init__(self, root: Path) -> None:
        self.root = root / f"v{GENERATOR_VERSION}"

    def _dir(self, key: SourceKey) -> Path:
        return (
            self.root / hashlib.sha256(key.path.encode("utf-8", "surrogateescape")).hexdigest()[:40]
        )

    def _valid(self, key: SourceKey) -> Path | None:
        folder = self._dir(key)
        try:
            stored = json.loads((folder / "key.json").read_text())
        except (OSError, ValueError):
            return None
        return folder if stored == asdict(key) else None

    def get(self, key: SourceKey, item: str) -> bytes | None:
        folder = self._valid(key)
        if folder is None:
            return None
        try:
            return (folder / _item_file(item)).read_bytes()
        except OSError:
            return None

    def get_object(self, key: SourceKey, item: str) -> Any:
        data = self.get(key, item)
        if data is None:
            return None
        try:
            return pickle.loads(data)
        except Exception:  # a damaged cache file is a miss, never a failure
            log.debug("disk cache: unreadable %s for %s", item, key.path)
            return None

    def put(self, key: SourceKey, item: str, data: bytes) -> None:
        try:
            folder = self._dir(key)
            if self._valid(key) is None:
                _clear(folder)
                folder.mkdir(parents=True, exist_ok=True)
                _write_atomic(folder / "key.json", json.dumps(asdict(key)).encode())
            _write_atomic(folder / _item_file(item), data)
        except OSError as exc:  # a full or read-only cache disk must not break the mount
            log.warning("disk cache: cannot write %s: %s", item, exc)

    def put_object(self, key: SourceKey, item: str, value: Any) -> None:
        self.put(key, item, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def _item_file(item: str) -> str:
    return item.replace("%", "%25").replace("/", "%2F")


def _clear(folder: Path) -> None:
    if not folder.is_dir():
        return
    for child in folder.iterdir():
        with contextlib.suppress(OSError):
            child.unlink()


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
