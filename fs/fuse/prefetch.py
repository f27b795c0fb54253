"""``-o prefetch``: parse the whole card in the background, GPS-only first, then fully.

Started once the mount is up, so the card is ready before the user opens it:
a first pass parses every video's GPS track (what a map tool reads first), a
second indexes every stream and stores the folder's entry list, all through
the store, so the results land in the memory and disk caches where a user's
request (or a later mount) finds them. Videos the disk cache already holds
cost no parse.

Lowest priority: its parses run on a thread of their own (the store's
``background_limiter``), through source files that step aside at every read
while a user's parse or render runs or waits; the event loop gets the GIL as
it does during a user's parse (fs/fuse/gil.py). Bounded by the caches: it
stops once the disk cache is three quarters full, so that it never evicts
what it (or the user) put there. After a pass it looks at the card again
every RESCAN_S: files copied in while mounted join the queue.

Its figures are part of the root's ``user.telemetryfs.stats`` xattr, which
``telemetryfs status MOUNTPOINT`` reads.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any

import trio

from telemetryfs.fs.cache import SourceKey
from telemetryfs.fs.tree import Kind, SourceTree

from .gil import GilSharingFile
from .store import BACKGROUND, Store

log = logging.getLogger(__name__)

RESCAN_S = 5.0
STEP_ASIDE_S = 0.005
# Stop before the disk cache starts evicting (it prunes at its capacity): a
# video's entries are far smaller than the quarter left (a few kB to a few
# hundred kB), so checking before every video keeps the prune from running.
DISK_FILL_LIMIT = 0.75


@dataclass(slots=True)
class Progress:
    """What ``telemetryfs status`` shows; updated by the prefetch task only."""

    state: str = "scanning"  # scanning, gps, full, done
    videos: int = 0
    gps_done: int = 0
    done: int = 0  # fully parsed (or failed) of ``videos``
    failed: int = 0
    bytes_read: int = 0  # from the source, by the prefetch's parses
    started: float = field(default_factory=time.monotonic)
    active_s: float = 0.0  # time spent on passes (not waiting for new files)
    pass_started: float | None = None
    stopped: str = ""  # why it stopped early (the disk cache filled up)

    def as_dict(self) -> dict[str, Any]:
        active = self.active_s
        if self.pass_started is not None:
            active += time.monotonic() - self.pass_started
        units, done_units = 2 * self.videos, self.gps_done + self.done
        eta = None
        if self.state in ("gps", "full") and done_units and active > 0:
            eta = round((units - done_units) * active / done_units, 1)
        return {
            "state": self.state,
            "videos": self.videos,
            "gps_parsed": self.gps_done,
            "parsed": self.done,
            "failed": self.failed,
            "bytes_read": self.bytes_read,
            "elapsed_s": round(active, 2),
            "rate_bps": round(self.bytes_read / active) if active > 0 else 0,
            "eta_s": eta,
            "stopped": self.stopped,
        }


class BackgroundFile(GilSharingFile):
    """A source file of the prefetch: every read waits while a user's work runs."""

    def __init__(self, path: str, prefetcher: Prefetcher) -> None:
        super().__init__(path)
        self._prefetcher = prefetcher

    def read(self, size: int | None = -1, /) -> bytes:
        self._prefetcher.step_aside()
        data = super().read(size)
        self._prefetcher.progress.bytes_read += len(data)
        return data

    def readinto(self, buffer: bytearray | memoryview, /) -> int:  # type: ignore[override]
        self._prefetcher.step_aside()
        n = super().readinto(buffer)
        self._prefetcher.progress.bytes_read += n
        return n

    def pread(self, offset: int, size: int) -> bytes:
        # Parsers read sample tables and telemetry by pread (parsers/source.py).
        self._prefetcher.step_aside()
        data = super().pread(offset, size)
        self._prefetcher.progress.bytes_read += len(data)
        return data


class Prefetcher:
    def __init__(self, store: Store, source: SourceTree) -> None:
        self.store = store
        self.source = source
        self.progress = Progress()
        self._gps: dict[str, SourceKey] = {}  # path -> the version whose GPS pass is done
        self._full: dict[str, SourceKey] = {}
        self._failed: set[SourceKey] = set()
        store.background_opener = lambda path: BackgroundFile(path, self)
        store.stats.prefetch = self.progress.as_dict

    def step_aside(self) -> None:
        """In the prefetch's parse thread: wait while a user's parse or render runs."""
        while self.store.users_busy():
            time.sleep(STEP_ASIDE_S)

    async def run(self) -> None:
        BACKGROUND.set(True)
        log.info("prefetch started: %s", os.fsdecode(self.source.root))
        first = True
        while True:
            keys = await trio.to_thread.run_sync(self._walk, limiter=self.store.io_limiter)
            todo = [k for k in keys if self._full.get(k.path) != k]
            self._count(keys)
            if todo and not self.progress.stopped:
                await self._pass(keys, todo)
            if first or todo:
                p = self.progress
                level = logging.INFO if first else logging.DEBUG
                log.log(
                    level,
                    "prefetch done: %d of %d videos parsed, %d failed, %.1f MB read in %.1f s%s",
                    p.done,
                    p.videos,
                    p.failed,
                    p.bytes_read / 1e6,
                    p.active_s,
                    f" ({p.stopped})" if p.stopped else "",
                )
                first = False
            await trio.sleep(RESCAN_S)

    async def _pass(self, keys: list[SourceKey], todo: list[SourceKey]) -> None:
        p = self.progress
        p.pass_started = time.monotonic()
        try:
            p.state = "gps"
            for key in todo:
                if await self._disk_full():
                    break
                if self._gps.get(key.path) != key:
                    await self._parse(key, full=False)
                    self._gps[key.path] = key
                    self._count(keys)
            p.state = "full"
            for key in todo:
                if await self._disk_full():
                    break
                if key not in self._failed:
                    await self._parse(key, full=True)
                self._full[key.path] = key
                self._count(keys)
        finally:
            p.active_s += time.monotonic() - p.pass_started
            p.pass_started = None
            p.state = "done"

    async def _parse(self, key: SourceKey, *, full: bool) -> None:
        try:
            if full:
                # The full parse, and the folder's entry list kept on disk: a later
                # mount lists the folder without unpickling anything.
                await self.store.entries(key)
            else:
                await self.store.telemetry_or_none(key, full=False)
        except OSError as exc:  # the file went away, the cache disk failed: next video
            log.debug("prefetch: %s: %s", key.path, exc)
            self._failed.add(key)
        except Exception:
            # A bug in a parser: as fs/fuse/guard.py does for a request, log it and go
            # on; escaping here would end the serving nursery, and the mount with it.
            log.exception("prefetch: internal error on %s", key.path)
            self._failed.add(key)
        if self.store.failure(key) is not None:
            self._failed.add(key)

    async def _disk_full(self) -> bool:
        disk = self.store.disk
        if disk is None or disk.capacity is None or self.progress.stopped:
            return bool(self.progress.stopped)
        used = await trio.to_thread.run_sync(disk.used_so_far, limiter=self.store.io_limiter)
        if used >= disk.capacity * DISK_FILL_LIMIT:
            self.progress.stopped = f"disk cache {used * 100 // disk.capacity}% full"
            return True
        return False

    def _count(self, keys: list[SourceKey]) -> None:
        p = self.progress
        p.videos = len(keys)
        p.gps_done = sum(1 for k in keys if self._gps.get(k.path) == k or k in self._failed)
        p.done = sum(1 for k in keys if self._full.get(k.path) == k)
        p.failed = sum(1 for k in keys if k in self._failed)

    def _walk(self) -> list[SourceKey]:
        """Every video of the source, in tree order (run in a worker thread)."""
        keys: list[SourceKey] = []
        pending = [self.source.root]
        while pending:
            folder = pending.pop()
            try:
                entries = self.source.scan(folder)
            except OSError:
                continue  # vanished or unreadable: the next rescan looks again
            for entry in reversed(entries):
                if entry.kind is Kind.DIR:
                    pending.append(entry.path)
            for entry in entries:
                if entry.kind is Kind.VIDEO:
                    keys.append(_key(entry.path, entry.st, entry.sidecar))
        return keys


def _key(path: bytes, st: os.stat_result, sidecar: bytes | None) -> SourceKey:
    """The key Operations._key gives the same video (the caches are shared)."""
    sidecar_st = None
    if sidecar is not None:
        try:
            sidecar_st = os.stat(sidecar)
        except OSError:
            sidecar_st = None
    name = os.fsdecode(sidecar) if sidecar is not None and sidecar_st is not None else None
    return SourceKey.from_stat(os.fsdecode(path), st, name, sidecar_st)
