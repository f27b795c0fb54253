"""Caches: source identity, a byte-bounded LRU, single-flight, and the disk cache.

Content is keyed by :class:`SourceKey`: path, device, inode, size and mtime of
the source (and of its NMEA sidecar). Not just the mtime: FAT and exFAT cards
keep coarse mtimes, and size and inode catch most replacements. Everything
derived from a source is deterministic, so a key always maps to the same bytes.

The disk cache (ratarmount's index-cache idea) lives outside the footage, in
``$XDG_CACHE_HOME/telemetryfs``; an entry is valid while the key matches and
the GENERATOR_VERSION is the same. Writes are atomic (temporary file, then
``os.replace``), so a crash leaves either the old entry or the new one. A
recording (fs/recordings.py) keys an entry too, by its parts' keys.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import logging
import os
import pickle
import re
import shutil
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Generic, Protocol, TypeVar

log = logging.getLogger(__name__)

# Bump whenever any generated output or the pickled model changes shape:
# it invalidates every disk cache entry, like ratarmount's index version.
GENERATOR_VERSION = 6  # 2: track.gpx one line per point; 3: Extent.part, StreamCodec;
# 4: preview.svg, track.srt/.vtt; 5: info clock/time_zone/utc_offset_s, camera-local
# clocks (70mai, DJI SRT) moved to UTC, Garmin dashcam and Vueroid tracks;
# 6: Insta360 IMU and exposure streams (FixedRecords.offsets)

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

    def describes(self, st: os.stat_result) -> bool:
        """Whether ``st`` (the video's stat now) is still of this version."""
        return (st.st_ino, st.st_size, st.st_mtime_ns) == (self.ino, self.size, self.mtime_ns)

    @property
    def disk_name(self) -> str:
        return self.path

    def disk_identity(self) -> dict[str, Any]:
        return asdict(self)


class DiskKey(Protocol):
    """What keys a disk cache entry: a name (its folder) and the version it holds."""

    @property
    def disk_name(self) -> str:
        """Unique to the source (or recording) across versions: names the entry's folder."""
        ...

    def disk_identity(self) -> dict[str, Any]:
        """The version, as JSON values (lists, not tuples): an entry's key.json."""
        ...


@dataclass(frozen=True, slots=True)
class CachedFile:
    """A disk cache item too big to read whole: served by range from its file."""

    path: str
    size: int


class MemoryBudget:
    """One memory budget shared by several LRU caches, with an eviction order.

    Caches join in the order they give memory back: derived data that is cheap
    to rebuild (rendered bytes, stream indexes) goes before parsed telemetry,
    which costs a parse or a disk-cache load to get again. A put evicts only
    from its own cache and the ones before it: what is rendered from a video's
    telemetry never pushes that telemetry out (a clip whose telemetry fills the
    budget would otherwise be parsed again for each of its files). The item
    being put is never evicted by its own put: a single item larger than the
    budget (the full telemetry of an hour of a real camera's 20 streams, a
    recording's track) stays until another parse needs the room. So memory is
    bounded by the budget plus the largest telemetry plus the largest derived
    item, and nothing is rebuilt on every read because it did not fit.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.total = 0
        self._order: list[LruCache[Any]] = []

    def join(self, cache: LruCache[Any]) -> None:
        self._order.append(cache)

    def make_room(self, keep: tuple[LruCache[Any], Hashable]) -> None:
        for cache in self._order:
            while self.total > self.capacity and cache.evict_oldest(keep):
                pass
            if self.total <= self.capacity or cache is keep[0]:
                return  # the caches after this one hold what this one is made from


class LruCache(Generic[T]):
    """A least-recently-used map bounded by the total cost of its values.

    Bounded by its own ``capacity`` (a value bigger than it is refused), or, with
    a ``budget``, by the budget it shares with other caches (see MemoryBudget).
    """

    def __init__(
        self,
        capacity: int,
        cost: Callable[[T], int],
        budget: MemoryBudget | None = None,
        on_drop: Callable[[T], None] | None = None,
    ) -> None:
        """``on_drop`` is handed each value the cache lets go of (evicted or replaced)."""
        self.capacity = capacity
        self._cost = cost
        self._on_drop = on_drop
        self._items: OrderedDict[Hashable, tuple[T, int]] = OrderedDict()
        self.total = 0
        self._budget = budget
        if budget is not None:
            budget.join(self)

    def get(self, key: Hashable) -> T | None:
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def __contains__(self, key: Hashable) -> bool:
        """Whether ``key`` is held (without marking it used)."""
        return key in self._items

    def put(self, key: Hashable, value: T) -> None:
        cost = self._cost(value)
        self.pop(key)
        if self._budget is None and cost > self.capacity:
            return  # would evict everything else and still not fit
        self._items[key] = (value, cost)
        self._add(cost)
        if self._budget is not None:
            self._budget.make_room((self, key))
        else:
            while self.total > self.capacity:
                self.evict_oldest((self, key))

    def evict_oldest(self, keep: tuple[LruCache[Any], Hashable]) -> bool:
        """Drop the least recently used item other than ``keep``; False if none."""
        for key in self._items:
            if (self, key) != keep:
                self.pop(key)
                return True
        return False

    def pop(self, key: Hashable) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self._add(-item[1])
            if self._on_drop is not None:
                self._on_drop(item[0])

    def _add(self, cost: int) -> None:
        self.total += cost
        if self._budget is not None:
            self._budget.total += cost

    def __len__(self) -> int:
        return len(self._items)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "telemetryfs"


class RecentKeys(Generic[T]):
    """The last ``limit`` keys added: a hint that forgets its oldest entries, so a
    mount that sees a NAS of a million clips does not keep every key it met."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._keys: OrderedDict[T, None] = OrderedDict()

    def add(self, key: T) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        if len(self._keys) > self.limit:
            self._keys.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)


class NotInPageCacheError(Exception):
    """A disk cache item that cannot be read without waiting (see DiskCache.get_cached)."""


class DiskCache:
    """Derived data of each source version, in its own folder under ``root``.

    Layout: ``base/v<GENERATOR_VERSION><variant>/<sha256 of path>/`` with
    ``key.json`` (the SourceKey the entry belongs to) and one file per cached
    item. An entry whose key.json no longer matches is replaced on the next
    write. Folders of other generator versions can never be read again and are
    removed at the first write. All methods are synchronous: call them from
    worker threads.

    Bounded by ``capacity`` bytes: when a write takes the total past it, whole
    entries are removed, least recently used first (a hit marks an entry used,
    once per mount, by touching its key.json), down to 80% of the capacity so
    that pruning is rare. The total is counted once, at the first write, and
    kept up to date after; other mounts sharing the folder may make it drift,
    which the next pruning's recount corrects.
    """

    def __init__(self, base: Path, variant: str = "", capacity: int | None = None) -> None:
        self.base = base
        self.variant = variant
        self.root = base / f"v{GENERATOR_VERSION}{variant}"
        self.capacity = capacity
        self._lock = threading.Lock()
        self._used: int | None = None  # bytes, counted at the first write
        self._touched: set[Path] = set()
        # Folders whose key.json was read and matched, by that file's identity:
        # a get or put then costs one stat, not a read, a JSON parse and asdict.
        # A key.json replaced (atomically, by any mount) or touched changes ctime.
        self._matched: dict[Path, tuple[int, int, DiskKey]] = {}

    def _dir(self, key: DiskKey) -> Path:
        name = key.disk_name.encode("utf-8", "surrogateescape")
        return self.root / hashlib.sha256(name).hexdigest()[:40]

    def _valid(self, key: DiskKey) -> Path | None:
        folder = self._dir(key)
        key_file = folder / "key.json"
        try:
            st = os.stat(key_file)
            if self._matched.get(folder) == (st.st_ino, st.st_ctime_ns, key):
                return folder
            stored = json.loads(key_file.read_text())
        except (OSError, ValueError):
            return None
        if stored != key.disk_identity():
            return None
        self._matched[folder] = (st.st_ino, st.st_ctime_ns, key)
        return folder

    def get(self, key: DiskKey, item: str, *, warm_folder: bool = False) -> bytes | None:
        """An item's bytes (None: not cached).

        ``warm_folder``: also ask the kernel to read the entry's other items in the
        background (POSIX_FADV_WILLNEED), for a reader about to ask for them. After a
        remount every item is on disk only: a copy of a video folder then waits for
        one disk read per file, one after the other, instead of one batch.
        """
        folder = self._valid(key)
        return None if folder is None else self._read(folder, item, warm_folder)

    def _read(self, folder: Path, item: str, warm_folder: bool) -> bytes | None:
        try:
            data = (folder / _item_file(item)).read_bytes()
        except OSError:
            return None
        self._mark_used(folder)
        if warm_folder:
            _announce_folder(folder)
        return data

    def get_cached(self, key: DiskKey, item: str, max_size: int) -> bytes | None:
        """As get, if that needs no disk read for the item's bytes (``RWF_NOWAIT``):
        an entry just written, or read lately, is in the page cache.

        Raises:
            NotInPageCacheError: reading would wait for the disk, or the item is bigger
                than ``max_size``: call get (in a thread).
        """
        folder = self._valid(key)
        if folder is None:
            return None
        try:
            fd = os.open(folder / _item_file(item), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            size = os.fstat(fd).st_size
            if size > max_size:
                raise NotInPageCacheError(item)
            data = bytearray(size)
            try:
                got = os.preadv(fd, [data], 0, os.RWF_NOWAIT) if size else 0
            except OSError as exc:  # EAGAIN, or a filesystem without RWF_NOWAIT
                raise NotInPageCacheError(item) from exc
            if got != size:
                raise NotInPageCacheError(item)
        finally:
            os.close(fd)
        self._mark_used(folder)
        return bytes(data)

    def get_object(self, key: DiskKey, item: str) -> Any:
        data = self.get(key, item)
        if data is None:
            return None
        try:
            return pickle.loads(data)
        except Exception:  # a damaged cache file is a miss, never a failure
            log.debug("disk cache: unreadable %s for %s", item, key.disk_name)
            return None

    def get_item(
        self, key: DiskKey, item: str, whole_up_to: int, *, warm_folder: bool = False
    ) -> bytes | CachedFile | None:
        """An item's bytes, or where its file is if it is bigger than ``whole_up_to``
        (None: not cached). ``warm_folder``: as get."""
        folder = self._valid(key)
        if folder is None:
            return None
        path = folder / _item_file(item)
        try:
            size = path.stat().st_size
            if size > whole_up_to:
                self._mark_used(folder)
                return CachedFile(str(path), size)
        except OSError:
            return None
        return self._read(folder, item, warm_folder)

    def put(self, key: DiskKey, item: str, data: bytes) -> None:
        try:
            folder, grown = self._prepare(key)
            path = folder / _item_file(item)
            grown += len(data) - _size_or_zero(path)
            _write_atomic(path, data)
            self._mark_used(folder)
            self._account(grown, keep=folder)
        except OSError as exc:  # a full or read-only cache disk must not break the mount
            log.warning("disk cache: cannot write %s: %s", item, exc)

    def writer(self, key: DiskKey, item: str, spill_over: int) -> ItemWriter:
        """A file-like object to render ``item`` into: see ItemWriter."""
        return ItemWriter(self, key, item, spill_over)

    def _prepare(self, key: DiskKey) -> tuple[Path, int]:
        """The key's entry folder, made valid for it; the bytes that took."""
        folder, grown = self._dir(key), 0
        if self._valid(key) is None:
            grown -= _clear(folder)
            folder.mkdir(parents=True, exist_ok=True)
            grown += _write_atomic(folder / "key.json", json.dumps(key.disk_identity()).encode())
        return folder, grown

    def put_object(self, key: DiskKey, item: str, value: Any) -> None:
        self.put(key, item, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def written_elsewhere(self, key: DiskKey, grown: int) -> None:
        """Count ``grown`` bytes another process wrote into ``key``'s entry (the read-ahead
        worker, which keeps no count), pruning if the cache is now over capacity."""
        self._account(grown, keep=self._dir(key))

    def used(self) -> int:
        """Bytes in the cache now (counted on disk)."""
        return sum(size for _, _, size in self._entries())

    def used_so_far(self) -> int:
        """Bytes in the cache as this mount counts them (the prefetch asks before
        every video): the folder is walked once, as at the first write."""
        with self._lock:
            return self._count_once()

    def _count_once(self) -> int:
        if self._used is None:
            self._remove_other_versions()
            self._used = self.used()
        return self._used

    def _mark_used(self, folder: Path) -> None:
        if folder in self._touched:
            return
        self._touched.add(folder)
        with contextlib.suppress(OSError):
            os.utime(folder / "key.json")

    def _account(self, grown: int, keep: Path) -> None:
        if self.capacity is None:
            return
        with self._lock:
            if self._used is None:
                self._used = self._count_once()
            else:
                self._used += grown
            if self._used > self.capacity:
                self._used = self._prune(keep)

    def _remove_other_versions(self) -> None:
        current = f"v{GENERATOR_VERSION}"
        with contextlib.suppress(OSError):
            for folder in self.base.iterdir():
                version = _VERSION_DIR.match(folder.name)
                if version and version.group(1) != current and folder.is_dir():
                    log.info("disk cache: removing %s (an older telemetryfs)", folder)
                    shutil.rmtree(folder, ignore_errors=True)

    def _prune(self, keep: Path) -> int:
        """Remove least recently used entries down to 80% of the capacity; the bytes left."""
        assert self.capacity is not None
        entries = sorted(self._entries())  # oldest use first
        total = sum(size for _, _, size in entries)
        for _, folder, _ in entries:
            if total <= self.capacity * 0.8:
                break
            if folder == keep:
                continue  # the entry just written is the most recent use
            total -= _clear(folder)
            with contextlib.suppress(OSError):
                folder.rmdir()
            self._touched.discard(folder)
            log.debug("disk cache: pruned %s", folder.name)
        return total

    def _entries(self) -> list[tuple[float, Path, int]]:
        """(last use, folder, bytes) of every entry."""
        found = []
        try:
            folders = list(self.root.iterdir())
        except OSError:
            return []
        for folder in folders:
            size, last_use = 0, 0.0
            try:
                for child in folder.iterdir():
                    st = child.stat()
                    size += st.st_size
                    if child.name == "key.json":
                        last_use = st.st_mtime
            except OSError:
                continue
            found.append((last_use, folder, size))
        return found


class ItemWriter:
    """One item of a disk cache entry, written as a renderer produces it.

    The bytes stay in memory up to ``spill_over``; past that they go into a
    temporary file of the entry, renamed into place by ``finish``. A 3-hour
    recording's track.geojson (39 MB) is then never held whole: it is served by
    range from its file. Synchronous, like DiskCache: use it in a worker thread.
    Its writes raise OSError when the cache disk fails (full, read-only).
    """

    def __init__(self, cache: DiskCache, key: DiskKey, item: str, spill_over: int) -> None:
        self._cache, self._key, self._item = cache, key, item
        self._spill_over = spill_over
        self._memory: io.BytesIO | None = io.BytesIO()
        self._file: BinaryIO | None = None
        self._folder: Path | None = None
        self._tmp = ""
        self._grown = 0
        self.size = 0

    def write(self, data: bytes, /) -> int:
        self.size += len(data)
        if self._memory is not None:
            self._memory.write(data)
            if self.size > self._spill_over:
                self._spill(self._memory)
        else:
            assert self._file is not None
            self._file.write(data)
        return len(data)

    def _spill(self, memory: io.BytesIO) -> None:
        self._folder, self._grown = self._cache._prepare(self._key)
        self._tmp = _tmp_name(self._folder)
        fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        self._file = os.fdopen(fd, "wb")
        self._memory = None
        self._file.write(memory.getbuffer())

    def finish(self) -> bytes | CachedFile:
        """The bytes, if they stayed in memory (not written: see DiskCache.put), or the
        item's file, in place in the entry."""
        if self._memory is not None:
            return self._memory.getvalue()
        assert self._file is not None
        assert self._folder is not None
        self._file.close()
        path = self._folder / _item_file(self._item)
        grown = self._grown + self.size - _size_or_zero(path)
        os.replace(self._tmp, path)
        self._tmp = ""
        self._cache._mark_used(self._folder)
        self._cache._account(grown, keep=self._folder)
        return CachedFile(str(path), self.size)

    def discard(self) -> None:
        """Give up: remove what was written (after an error)."""
        self._memory = None
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
        if self._tmp:
            with contextlib.suppress(OSError):
                os.unlink(self._tmp)


# A version folder: v<N>, then the variant (e.g. v2-offset+7200); g<N> held
# generator version 1's layout (g1/v1/...).
_VERSION_DIR = re.compile(r"^([gv]\d+)(?:-|$)")


def _item_file(item: str) -> str:
    return item.replace("%", "%25").replace("/", "%2F")


def _clear(folder: Path) -> int:
    """Empty ``folder``; the bytes freed."""
    freed = 0
    if not folder.is_dir():
        return 0
    for child in folder.iterdir():
        with contextlib.suppress(OSError):
            size = child.stat().st_size
            child.unlink()
            freed += size
    return freed


_tmp_names = itertools.count()


# Items bigger than this are not announced ahead (the pickled telemetry of an hour):
# the reader may never need them, and they would push other pages out.
ANNOUNCE_ITEM_MAX = 4 * 1024 * 1024


def _announce_folder(folder: Path) -> None:
    """POSIX_FADV_WILLNEED on every small file of a cache entry (a hint: errors end it)."""
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not entry.is_file(follow_symlinks=False):
                    continue
                fd = os.open(entry.path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    size = os.fstat(fd).st_size
                    if size <= ANNOUNCE_ITEM_MAX:
                        os.posix_fadvise(fd, 0, size, os.POSIX_FADV_WILLNEED)
                finally:
                    os.close(fd)
    except OSError:
        return


def _tmp_name(folder: Path) -> str:
    # A name unique to this process and write (tempfile.mkstemp's random names
    # cost more than the write of a small item); O_EXCL still refuses a clash.
    return f"{folder}/.tmp-{os.getpid()}-{next(_tmp_names)}"


def _size_or_zero(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _write_atomic(path: Path, data: bytes) -> int:
    tmp = _tmp_name(path.parent)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return len(data)
