"""A remote prefix as the mount's source tree (the interface of fs/tree.py's SourceTree).

The store's listing (one ``find`` below the prefix) is cached for
``list_ttl`` seconds; directories are the prefixes of the object names.
Stats are made up from the listing: size, LastModified as the mtime, read
bits only. The version of an object (its ETag, generation or VersionId)
goes into the stat's ``st_ino``, as a 63-bit hash: the mount's version key
is (path, size, st_ino, mtime), so a new ETag is a new version even when
size and LastModified (whole seconds) did not move. Heads are sniffed once
per version.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import posixpath
import stat
import threading
import time
from typing import Any

from telemetryfs.fs.cache import SourceKey
from telemetryfs.fs.remote.listing import RemoteObject, list_objects, pair_clips
from telemetryfs.fs.remote.source import RemoteSource, RemoteStore, version_of
from telemetryfs.fs.tree import Kind, SourceEntry
from telemetryfs.parsers.source import SourceUnavailableError

log = logging.getLogger(__name__)

DIR_MODE = stat.S_IFDIR | 0o555
RELIST_AFTER_FAILURE_S = 1.0
FILE_MODE = stat.S_IFREG | 0o444


def version_ino(version: str) -> int:
    """The version as a positive 63-bit number (see the module docstring)."""
    return int.from_bytes(hashlib.sha256(version.encode()).digest()[:8], "big") >> 1


def _stat(mode: int, size: int, mtime_ns: int, ino: int) -> os.stat_result:
    seconds = mtime_ns / 1e9
    fields = (mode, ino, 0, 1, os.getuid(), os.getgid(), size, seconds, seconds, seconds)
    times = {"st_atime_ns": mtime_ns, "st_mtime_ns": mtime_ns, "st_ctime_ns": mtime_ns}
    return os.stat_result(fields, times)


class _Listing:
    """One listing of the prefix: entries per directory, stats per path."""

    def __init__(self, root: str, objects: list[RemoteObject], show_other: bool) -> None:
        self.stats: dict[str, os.stat_result] = {}
        self.entries: dict[str, list[SourceEntry]] = {root: []}
        newest = 0
        for obj in objects:
            newest = max(newest, obj.mtime_ns)
            self.stats[obj.path] = _stat(
                FILE_MODE, obj.size, obj.mtime_ns, version_ino(obj.version)
            )
        dir_stat = _stat(DIR_MODE, 0, newest, 0)
        self.stats[root] = dir_stat
        for obj in objects:  # every prefix between the root and an object is a directory
            parent = posixpath.dirname(obj.path)
            while parent.startswith(root + "/") and parent not in self.stats:
                self.stats[parent] = dir_stat
                self.entries.setdefault(parent, [])
                grand = posixpath.dirname(parent)
                self.entries.setdefault(grand, []).append(self._entry(parent, Kind.DIR))
                parent = grand
        shown: set[str] = set()
        for video, sidecar in pair_clips(objects, root):
            shown.add(video.path)
            if sidecar is not None:
                shown.add(sidecar.path)
            entry = self._entry(video.path, Kind.VIDEO, sidecar.path if sidecar else None)
            self.entries.setdefault(posixpath.dirname(video.path), []).append(entry)
        if show_other:
            for obj in objects:
                if obj.path not in shown:
                    entry = self._entry(obj.path, Kind.OTHER)
                    self.entries.setdefault(posixpath.dirname(obj.path), []).append(entry)
        for listing in self.entries.values():
            listing.sort(key=lambda e: e.name)

    def _entry(self, path: str, kind: Kind, sidecar: str | None = None) -> SourceEntry:
        return SourceEntry(
            posixpath.basename(path).encode(),
            kind,
            path.encode(),
            self.stats[path],
            sidecar.encode() if sidecar else None,
        )


class RemoteTree:
    """The remote prefix as a source tree (synchronous; call from worker threads)."""

    def __init__(
        self, url: str, storage_options: dict[str, Any], *, show_other: bool, list_ttl: float
    ) -> None:
        self.store = RemoteStore.shared(url, storage_options)
        self.url = url
        self.root = self.store.root.encode()
        self.show_other = show_other
        self.list_ttl = list_ttl
        self.sniff_count = 0
        self._listing: _Listing | None = None
        self._listed_at = 0.0
        self._lock = threading.Lock()
        self._sniffed: dict[tuple[str, str], str | None] = {}

    def check(self) -> None:
        """List once now: a missing bucket or bad credentials fail before mounting."""
        self._current()

    def _current(self) -> _Listing:
        with self._lock:
            if self._listing is None or time.monotonic() - self._listed_at >= self.list_ttl:
                try:
                    objects = list_objects(self.store, self._sniffed)
                except SourceUnavailableError as exc:
                    if self._listing is None:
                        raise
                    # The server is away: keep showing the last listing, try again soon.
                    log.info("listing %s failed, keeping the last one: %s", self.url, exc)
                    self._listed_at = time.monotonic() - self.list_ttl + RELIST_AFTER_FAILURE_S
                    return self._listing
                self.sniff_count = len(self._sniffed)
                self._listing = _Listing(self.store.root, objects, self.show_other)
                self._listed_at = time.monotonic()
            return self._listing

    # --- the SourceTree interface ---------------------------------------------------------

    def scan(self, dir_path: bytes) -> list[SourceEntry]:
        return list(self._current().entries.get(dir_path.decode(), []))

    def classify(self, dir_path: bytes, name: bytes) -> SourceEntry | None:
        return next((e for e in self.scan(dir_path) if e.name == name), None)

    def stat(self, path: bytes) -> os.stat_result:
        st = self._current().stats.get(path.decode())
        if st is None:
            raise FileNotFoundError(errno.ENOENT, "no such object", path.decode())
        return st

    def open_other(self, path: bytes) -> RemoteSource:
        return RemoteSource(self.store, path.decode())

    def open_checked(self, key: SourceKey) -> RemoteSource:
        """Open the object at the version ``key`` names (ESTALE if it moved on)."""
        source = RemoteSource(self.store, key.path)
        if source.size != key.size or version_ino(source.version) != key.ino:
            source.closed = True
            raise OSError(errno.ESTALE, "source changed", key.path)
        return source

    def statvfs(self) -> os.statvfs_result:
        return os.statvfs_result((4096, 4096, 0, 0, 0, 0, 0, 0, 0, 1024))


def describe(exc: BaseException) -> str:
    """One line for a listing that failed (credentials, bucket, endpoint)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {text}"


__all__ = ["RemoteTree", "describe", "version_ino", "version_of"]
