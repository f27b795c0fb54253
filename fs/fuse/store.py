"""Parsed telemetry and built files per source version: cached, single-flight, off the loop.

A local video is parsed in a worker process (trio-parallel, fs/fuse/parse_worker.py),
every other computation runs in a worker thread (``trio.to_thread``), each under a
limiter, so a parse of a four-hour file never blocks the event loop; a stat
of the root answers while it runs. Results are cached in memory (bounded by
bytes) and on disk; failures are cached too (s3ql's "broken blocks"), so a
broken video costs one parse and one log line, not one per read.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar, overload

import trio
import trio_parallel

from telemetryfs.fs import joined_video, products, recordings, telemetry_pickle, view
from telemetryfs.fs.cache import (
    CachedFile,
    DiskCache,
    DiskKey,
    ItemWriter,
    LruCache,
    MemoryBudget,
    NotInPageCacheError,
    RecentKeys,
    SourceKey,
)
from telemetryfs.fs.fuse import announce, gil, parse_worker
from telemetryfs.fs.fuse.flight import SingleFlight
from telemetryfs.fs.fuse.gil import open_sharing_gil
from telemetryfs.fs.joined_video import JoinedVideo
from telemetryfs.fs.options import Options, Stats
from telemetryfs.fs.products import Entry, RawLayout, StreamIndex
from telemetryfs.fs.recordings import RecordingKey
from telemetryfs.parsers import extract, source
from telemetryfs.parsers.errors import ParseError, UnsupportedError
from telemetryfs.parsers.extract import Opener
from telemetryfs.parsers.join import PartInput
from telemetryfs.parsers.model import Stream, Telemetry

log = logging.getLogger(__name__)

T = TypeVar("T")

# Set in the background prefetch's task (fs/fuse/prefetch.py): its parses run on
# a thread of their own, through files that step aside while a user's parse runs.
BACKGROUND: ContextVar[bool] = ContextVar("telemetryfs_background", default=False)


# What the store keys its data by: one video's version, or one recording's
# (the versions of all its parts).
Key = SourceKey | RecordingKey


# An idle parse process stays for the mount's life (it would exit after this long,
# and the next parse would wait for another to start).
WORKER_IDLE_S = 30 * 24 * 3600.0

# The read-ahead worker exits after this long without work: it is wanted while a
# folder is being walked (rsync, find), not for the mount's life.
READ_AHEAD_IDLE_S = 60.0


# Metadata calls on a local source (stat, open) take microseconds once the kernel
# holds the inode, while a thread hop costs ~165 us on a 2-core VM (trio's to_thread:
# a futex wake out, a socketpair wake-up back): a card's rsync made 79,000 of them.
# Such calls run inline while they stay quick; QUICK_SLOW_CALLS of them slower than
# QUICK_CALL_S within QUICK_BACKOFF_S (a spun-down disk, a NAS on a slow link) send
# them to threads for QUICK_BACKOFF_S. One slow call alone is no verdict: an inline
# syscall gives up the GIL, and taking it back from a busy render thread can take
# a few ms (seen: 2 and 11 ms during a card's rsync, with the disk cache warm).
QUICK_CALL_S = 0.005
QUICK_SLOW_CALLS = 3
QUICK_BACKOFF_S = 30.0
# A disk cache item is read on the event loop when it is in the page cache and no
# bigger than this (~0.1 ms to copy); bigger ones, or ones on disk, in a thread.
QUICK_DISK_READ = 1024 * 1024
# A stream CSV's index of at most this many chunks (five minutes of a GoPro) is
# built on the event loop: ~0.1 ms for a minute's 60, where a thread hop costs
# ~0.2 ms; an hour's 3,600 take ~17 ms and go to a thread.
INLINE_INDEX_CHUNKS = 300
# How many videos' disk cache folders are remembered as warm or announced: hints
# only (forgetting one sends its next read through a thread), ~300 bytes each.
RECENT_KEYS = 20_000


class Parsed(NamedTuple):
    """A parsed video, and whether every stream was indexed (else the GPS track only)."""

    full: bool
    telemetry: Telemetry


def _telemetry_cost(item: Parsed) -> int:
    return view.telemetry_cost(item.telemetry)


# Evicted telemetry costing less than this (a clip of a few minutes) is freed at once
# in the dropping thread: looking for its big sequences to free in slices cost more.
SLICED_FREE_FROM = 1024 * 1024


def _drop_telemetry(item: Parsed) -> None:
    gil.drop_later(item, in_slices=_telemetry_cost(item) >= SLICED_FREE_FROM)


class Store:
    """The one owner of parsed and built data."""

    def __init__(self, options: Options, stats: Stats | None = None) -> None:
        self.options = options
        self.stats = stats or Stats()
        # How parses open a source: local files share the GIL (fuse/gil.py); a
        # remote source's opener (fs/remote/) is set by the command line.
        self.opener: Opener = open_sharing_gil
        budget = max(options.cache_mb, 8) * 1024 * 1024
        # Parsed telemetry and what is derived from it share most of the budget;
        # derived data gives its memory back first (it is cheap to rebuild from
        # the telemetry, which costs a parse), so a video is parsed at most once
        # per level whatever is read, and in whatever order.
        shared = MemoryBudget(budget * 7 // 8)
        self._bytes: LruCache[bytes] = LruCache(0, len, shared)
        self._indexes: LruCache[StreamIndex] = LruCache(
            0,
            lambda i: 2048 + 8 * len(i.ends),  # the layout's formatters weigh ~2 KB
            shared,
        )
        # An hour's telemetry takes 12-40 ms to free: not on the event loop (gil.py).
        self._telemetry: LruCache[Parsed] = LruCache(
            0, _telemetry_cost, shared, on_drop=_drop_telemetry
        )
        self._failures: dict[Key, ParseError] = {}
        self._entry_lists: LruCache[list[Entry]] = LruCache(
            budget // 32, lambda e: 100 + 80 * len(e)
        )
        self._sizes: LruCache[dict[str, int]] = LruCache(budget // 32, lambda d: 100 + 80 * len(d))
        # Entry lists from a GPS-only parse, good for the track files only (find_entry).
        self._track_entries: LruCache[list[Entry]] = LruCache(
            budget // 64, lambda e: 100 + 80 * len(e)
        )
        # Recordings' joined videos (-o video): a header of a few MB and the media's ranges.
        self._joined: LruCache[JoinedVideo] = LruCache(
            budget // 8,
            lambda j: (
                1024
                + sum(
                    len(p) if isinstance(p, bytes) else 64
                    for p in (j.layout.pieces if j.layout else ())
                )
            ),
        )
        self._flight = SingleFlight()
        self.parse_limiter = trio.CapacityLimiter(options.parse_threads)
        self.io_limiter = trio.CapacityLimiter(16)
        # The prefetch's own limiter: holding parse_limiter while it steps aside
        # for a user's parse would leave that parse waiting for it.
        self.background_limiter = trio.CapacityLimiter(1)
        self.user_parses = 0  # parses for users, running or waiting for the limiter
        self.background_opener: Opener | None = None
        # The parse process's context while parse_processes() runs (the mount), and
        # whether a worker has started: until then (a second or so after the mount,
        # or after a worker retired) parses run in threads, rather than wait for a
        # process to start and import the parsers.
        self._worker_context: trio_parallel.WorkerContext | None = None
        self._worker_ready = False
        self._worker_tasks: trio.Nursery | None = None
        self._warm_up_limiter = trio.CapacityLimiter(1)
        self.disk: DiskCache | None = None
        self._spill_over = options.spill_kb * 1024  # see generated()
        # Videos whose result depends on a log found by its name inside them (a VIRB
        # clip's FIT), which the key's stat does not cover: never kept on disk, so a
        # log copied onto the card later is seen at the next mount. Recordings joined
        # while a part could not be read, likewise.
        self._unkeyed: set[Key] = set()
        # Read-ahead (-o readahead=N, see read_ahead()): the videos to prepare next,
        # the one being prepared (set when done), and those already tried.
        self._ahead_on = False
        self._ahead_queue: OrderedDict[SourceKey, None] = OrderedDict()
        self._ahead_running: dict[SourceKey, trio.Event] = {}
        self._ahead_tried: set[SourceKey] = set()
        self._ahead_wakeup = trio.Event()
        self._ahead_limiter = trio.CapacityLimiter(1)
        self._quick_off_until = 0.0  # see run_quick: inline calls resume after this
        self._quick_slow: list[float] = []  # when the latest slow inline calls ended
        # Whether the source, and the disk cache, are on a local disk (fuse/mounts.py),
        # where run_quick may run their calls inline; set by the command line.
        self.quick_source = False
        self.quick_disk = False
        # Videos whose disk cache folder this mount wrote or read: its files' names
        # and bytes are likely in the kernel's caches (see _disk_read).
        self._disk_warm: RecentKeys[DiskKey] = RecentKeys(RECENT_KEYS)
        # Disk cache folders announced to the kernel (_disk_read).
        self._announced: RecentKeys[DiskKey] = RecentKeys(RECENT_KEYS)
        if options.disk_cache is not None:
            offset = f"-offset{options.time_offset_s:+g}" if options.time_offset_s else ""
            offset += "-keepclock" if options.keep_camera_clock else ""
            self.disk = DiskCache(
                options.disk_cache, offset, capacity=options.disk_cache_mb * 1024 * 1024
            )

    def _disk(self, key: Key) -> _KeyedDisk | None:
        """The disk cache for this key: videos only (a recording is re-joined from its
        parts, whose telemetry the disk cache keeps), and not those whose result
        depends on a log the key does not cover (see ``_unkeyed``)."""
        if self.disk is None or not isinstance(key, SourceKey) or key in self._unkeyed:
            return None
        return _KeyedDisk(self.disk, key)

    def _files_disk(self, key: Key, name: str) -> _KeyedDisk | None:
        """Where the generated file ``name`` is kept on disk: a video's entry, or a
        recording's own entry for the files made from its joined telemetry alone (big
        ones only: see generated). A recording's info.json and concat.txt also hold
        facts of the mount (its options, the parts' paths): never kept. Nor is a
        recording whose result is not its key's for good (``_unkeyed``: a part depends
        on a log, or could not be read when it was joined)."""
        if not isinstance(key, RecordingKey):
            return self._disk(key)
        if self.disk is None or name in (products.INFO, products.CONCAT):
            return None
        if key in self._unkeyed or any(p.key in self._unkeyed for p in key.parts):
            return None
        return _KeyedDisk(self.disk, key)

    # -- telemetry -------------------------------------------------------------

    async def telemetry(self, key: Key, *, full: bool) -> Telemetry:
        """The parsed video (``full``: with every stream indexed).

        Raises:
            ParseError: the video cannot be parsed (remembered for this version).
        """
        # A parse of this version at the other level already under way is waited
        # for, not run beside: a full one serves a GPS-only request, and for most
        # formats a GPS-only one is the full result too (same_as_full).
        await self._after_read_ahead(key)
        await self._flight.wait(("telemetry", key, not full))
        failure = self._failures.get(key)
        if failure is not None:
            raise failure

        def lookup() -> Telemetry | None:
            hit = self._telemetry.get(key)
            if hit is not None and (hit.full or not full):
                return hit.telemetry
            return None

        return await self._flight.run(
            ("telemetry", key, full), lookup, lambda: self._load(key, full)
        )

    async def _load(self, key: Key, full: bool) -> Telemetry:
        found = await self._from_disk(key, full)
        if isinstance(found, ParseError):
            self.stats.disk_hits += 1
            self._failures[key] = found
            raise found
        if found is not None:
            self.stats.disk_hits += 1
            self._telemetry.put(key, found)
            return found.telemetry
        if isinstance(key, RecordingKey):
            t = await self._join(key, full)
            self._telemetry.put(key, Parsed(full, t))
            return t
        background = BACKGROUND.get()
        if not background:
            self.user_parses += 1
        parts: list[bytes] | None = None
        try:
            workers = self._worker_context
            if (
                self._worker_ready
                and workers is not None
                and not background
                and self.opener is open_sharing_gil
            ):
                t, parts = await self._parse_in_process(workers, key, full)
            else:
                t = await trio.to_thread.run_sync(
                    self._parse,
                    key,
                    full,
                    limiter=self.background_limiter if background else self.parse_limiter,
                )
        except ParseError as exc:
            self.stats.parse_failures += 1
            if isinstance(exc.__cause__, OSError):
                # The card was pulled or the file is unreadable right now: not a
                # verdict on this version of the file, so nothing is remembered.
                log.info("%s: %s", key.path, exc)
                raise
            if not isinstance(exc, UnsupportedError):
                log.warning("%s: %s", key.path, exc)
            self._failures[key] = exc
            disk = self._disk(key)
            if disk is not None and not isinstance(exc.__cause__, trio_parallel.BrokenWorkerError):
                await trio.to_thread.run_sync(disk.put_object, "failure", exc)
            raise
        finally:
            if not background:
                self.user_parses -= 1
        full = full or extract.same_as_full(t)  # a dashcam: no second parse for info.json
        if extract.looks_for_linked_logs(t):
            self._unkeyed.add(key)
        self._telemetry.put(key, Parsed(full, t))
        if (disk := self._disk(key)) is not None:
            await trio.to_thread.run_sync(
                self._store_on_disk, disk, "telemetry.full" if full else "telemetry.gps", t, parts
            )
        return t

    @staticmethod
    def _store_on_disk(
        disk: _KeyedDisk, item: str, t: Telemetry, parts: list[bytes] | None
    ) -> None:
        # As parts, never one pickle: loading them never holds the GIL for long.
        disk.put_object(item, parts if parts is not None else telemetry_pickle.to_parts(t))

    async def _parse_in_process(
        self, workers: trio_parallel.WorkerContext, key: SourceKey, full: bool
    ) -> tuple[Telemetry, list[bytes]]:
        """Parse in the worker process; the telemetry, and the parts it came back as."""
        self._count_parse(key, full)
        self.stats.process_parses += 1
        try:
            parts, failure, transient, retiring = await workers.run_sync(
                parse_worker.parse_to_parts,
                key,
                full,
                self.options.time_offset_s,
                self.options.keep_camera_clock,
                kill_on_cancel=True,
                limiter=self.parse_limiter,
            )
        except trio_parallel.BrokenWorkerError as exc:
            # Killed (out of memory?) or crashed on this file: remembered for this
            # mount, so one bad video costs one worker, but not kept on disk.
            self._start_another_worker()
            raise ParseError(f"the parse process died on this file ({exc})") from exc
        if retiring:  # it grew too big and ends after this job (parse_worker.should_retire)
            self._start_another_worker()
        if failure is not None:
            if transient:
                raise failure from OSError(errno.EIO, str(failure))
            raise failure
        if parts is None:  # pragma: no cover - parse_to_parts returns one or the other
            raise ParseError("the parse process returned nothing")
        t = await trio.to_thread.run_sync(
            telemetry_pickle.from_parts, parts, limiter=self.io_limiter
        )
        return t, parts

    @asynccontextmanager
    async def parse_processes(self) -> AsyncIterator[None]:
        """While this runs (the mount), local videos are parsed in a worker process,
        unless ``-o parse_in=thread`` (the worker starts at once, in the background),
        and the read-ahead prepares videos in another (started when first needed)."""
        try:
            async with AsyncExitStack() as contexts:
                users = ahead = None
                if self.options.parse_in == "process":
                    users = await contexts.enter_async_context(
                        trio_parallel.open_worker_context(
                            idle_timeout=WORKER_IDLE_S,
                            retire=parse_worker.should_retire,
                            grace_period=5.0,
                        )
                    )
                if self.options.read_ahead > 0 and self.disk is not None:
                    ahead = await contexts.enter_async_context(
                        trio_parallel.open_worker_context(
                            idle_timeout=READ_AHEAD_IDLE_S,
                            retire=parse_worker.should_retire,
                            grace_period=5.0,
                        )
                    )
                async with trio.open_nursery() as tasks:
                    if users is not None:
                        self._worker_context, self._worker_tasks = users, tasks
                        tasks.start_soon(self.warm_up)
                    if ahead is not None:
                        self._ahead_on = True
                        tasks.start_soon(self._read_ahead_loop, ahead)
                    try:
                        yield
                    finally:
                        self._worker_context, self._worker_tasks = None, None
                        self._worker_ready = self._ahead_on = False
                        tasks.cancel_scope.cancel()
        except* trio_parallel.BrokenWorkerError as group:
            # Closing the context reports every worker that ever died (a video that
            # got one killed was already failed): the mount is ending cleanly anyway.
            log.info("parse process: %s", group.exceptions[0])

    # -- read-ahead ------------------------------------------------------------------
    # rsync, find and a file manager walk a folder's videos one after another, and
    # the daemon, on one core (the GIL), would parse and render each in turn while
    # the reader waits. When a video folder is listed, the next few videos of its
    # folder are prepared in a worker process, on the other core: parsed, every
    # small file rendered, the file list and sizes computed, all written to the
    # disk cache as the daemon would have. The daemon then only reads them. A
    # request for a video being prepared waits for it rather than doing it again.

    def read_ahead(self, keys: list[SourceKey]) -> None:
        """Prepare these videos next (they replace what was queued: readers move on)."""
        if not self._ahead_on or self.opener is not open_sharing_gil:
            return  # off, no disk cache, or a remote source
        self._ahead_queue = OrderedDict.fromkeys(k for k in keys if self._worth_reading_ahead(k))
        if self._ahead_queue:
            self._ahead_wakeup.set()

    def _worth_reading_ahead(self, key: SourceKey) -> bool:
        return not (
            key in self._ahead_tried
            or key in self._failures
            or key in self._unkeyed
            or key in self._telemetry
            or key in self._entry_lists
            or key in self._sizes
        )

    async def _after_read_ahead(self, key: Key) -> None:
        """Before a video is touched: unqueue it (the reader got there first), or wait
        for its preparation to finish if it has started."""
        if not (self._ahead_queue or self._ahead_running) or not isinstance(key, SourceKey):
            return
        self._ahead_queue.pop(key, None)
        running = self._ahead_running.get(key)
        if running is not None:
            await running.wait()

    async def _read_ahead_loop(self, context: trio_parallel.WorkerContext) -> None:
        disk = self.disk
        assert disk is not None
        while True:
            while not self._ahead_queue:
                self._ahead_wakeup = trio.Event()
                await self._ahead_wakeup.wait()
            # The farthest first: the reader does the nearest itself if it gets there
            # before the worker is free, so neither waits for the other. Nearest first,
            # a reader faster than the worker (find | xargs cat track.gpx) walked in
            # its step and the walk took longer than with no read-ahead at all.
            key, _ = self._ahead_queue.popitem(last=True)
            if not self._worth_reading_ahead(key):
                continue
            self._ahead_tried.add(key)
            done = self._ahead_running[key] = trio.Event()
            try:
                parsed, written = await context.run_sync(
                    parse_worker.prepare,
                    key,
                    str(disk.base),
                    disk.variant,
                    self.options.time_offset_s,
                    self.options.keep_camera_clock,
                    kill_on_cancel=True,
                    limiter=self._ahead_limiter,
                )
            except trio_parallel.BrokenWorkerError as exc:
                # Killed or crashed on this file: the daemon parses it if it is asked.
                log.info("read-ahead: the worker died on %s (%s)", key.path, exc)
                continue
            finally:
                del self._ahead_running[key]
                done.set()
            if parsed:
                self._count_parse(key, True)
                self.stats.read_ahead_parses += 1
            if written:
                self._disk_warm.add(key)
                await self.run_io(disk.written_elsewhere, key, written)

    async def warm_up(self) -> int | None:
        """Start a parse process and have it import the parsers; from then on local
        videos are parsed in it. Its pid; None when parses run in threads (or it did
        not start)."""
        context = self._worker_context
        if context is None:
            return None
        try:
            pid: int = await context.run_sync(parse_worker.warm_up, limiter=self._warm_up_limiter)
        except trio_parallel.BrokenWorkerError as exc:
            log.warning("the parse process did not start: %s", exc)
            return None
        if self._worker_context is context:
            self._worker_ready = True
        return pid

    def _start_another_worker(self) -> None:
        """The worker is gone (retired, killed): threads parse until another has started."""
        self._worker_ready = False
        if self._worker_tasks is not None:
            self._worker_tasks.start_soon(self.warm_up)

    async def _join(self, key: RecordingKey, full: bool) -> Telemetry:
        """A recording's telemetry: its parts' (from their own caches), joined."""
        inputs = []
        for part in key.parts:
            try:
                t: Telemetry | None = await self.telemetry(part.key, full=full)
                error = t.error if t is not None else None
            except ParseError as exc:
                t, error = None, str(exc)
                if part.key not in self._failures:  # unreadable now (the card pulled?)
                    self._unkeyed.add(key)  # so the join is not kept on disk
            inputs.append(
                PartInput(part.path, part.number, part.role, t, error, part.missing_before)
            )
        self.stats.joins += 1
        return await trio.to_thread.run_sync(
            recordings.join, key, inputs, limiter=self.parse_limiter
        )

    def _count_parse(self, key: SourceKey, full: bool) -> None:
        self.stats.parses += 1
        self.stats.by_path[key.path] = self.stats.by_path.get(key.path, 0) + 1
        log.debug("parse %s (full=%s)", key.path, full)

    def _parse(self, key: SourceKey, full: bool) -> Telemetry:
        self._count_parse(key, full)
        opener: Opener = self.opener
        if BACKGROUND.get() and self.background_opener is not None:
            opener = self.background_opener
        return view.parse(
            key,
            full=full,
            time_offset_s=self.options.time_offset_s,
            opener=opener,
            keep_camera_clock=self.options.keep_camera_clock,
        )

    async def _from_disk(self, key: Key, full: bool) -> Parsed | ParseError | None:
        """What an earlier mount learnt about this version: telemetry, or its failure."""
        disk = self._disk(key)
        if disk is None:
            return None

        def load() -> Parsed | ParseError | None:
            failure = disk.get_object("failure")
            if isinstance(failure, ParseError):
                return failure
            for item, level in (("telemetry.full", True), ("telemetry.gps", False)):
                if level or not full:
                    value = disk.get_object(item)
                    if isinstance(value, list):
                        try:
                            return Parsed(level, telemetry_pickle.from_parts(value))
                        except Exception:  # a damaged cache file is a miss
                            log.debug("disk cache: unreadable %s for %s", item, key.path)
                    elif isinstance(value, Telemetry):  # written by an earlier release
                        return Parsed(level, value)
            return None

        return await trio.to_thread.run_sync(load, limiter=self.io_limiter)

    async def telemetry_or_none(self, key: Key, *, full: bool) -> Telemetry | None:
        """Like telemetry(), but None when the video cannot be parsed."""
        try:
            return await self.telemetry(key, full=full)
        except ParseError:
            return None

    def _settled(self, key: Key) -> bool:
        """Whether this version's fate is known (parsed, or failed for good)."""
        return key in self._failures or self._telemetry.get(key) is not None

    def failure(self, key: Key) -> ParseError | None:
        return self._failures.get(key)

    # -- the files of a video folder ----------------------------------------------

    # -- metadata: entry lists and exact sizes ----------------------------------------
    # Small, and persisted per source version, so that ls, stat and a no-op rsync
    # after a remount never unpickle telemetry or read a cached file's body.

    async def entries(self, key: Key) -> list[Entry]:
        """The files of a video folder (parses the video fully the first time)."""
        return await self._with_video(key, await self._derived_entries(key))

    async def _derived_entries(self, key: Key) -> list[Entry]:
        """The files derived from the telemetry (kept per version, whatever the options)."""
        known = await self._known_entries(key)
        if known is None:
            t = await self.telemetry_or_none(key, full=True)
            known = products.list_entries(t)
            if not self._settled(key):
                return known  # the source could not be read: ask again next time
            self._entry_lists.put(key, known)
            if (disk := self._disk(key)) is not None:
                data = products.encode_entries(known)
                await self.run_io(disk.put, "entries.json", data)
        return known

    async def _known_entries(self, key: Key) -> list[Entry] | None:
        await self._after_read_ahead(key)
        known = self._entry_lists.get(key)
        if known is None and (disk := self._disk(key)) is not None:
            raw = await self._disk_read(disk, "entries.json")
            if raw is not None:
                known = products.decode_entries(raw)
                self._entry_lists.put(key, known)
        return known

    async def find_entry(self, key: Key, name: str) -> Entry | None:
        """The entry ``name`` of a video folder, parsing as little as that needs."""
        if name == products.INFO:
            return Entry(name, products.GENERATED)
        if self.options.video and self._named_like_video(key, name):
            return await self._video_entry(key, name)
        track_file = name in products.TRACK_FILES
        known = self._entry_lists.get(key)
        if known is None and track_file:
            known = self._track_entries.get(key)
        if known is None:
            known = await self._known_entries(key)
        if known is None and track_file:
            # A track file needs only the GPS track, not every stream indexed. The
            # list is remembered apart: it names the track files right, the streams not.
            known = products.list_entries(await self.telemetry_or_none(key, full=False))
            if self._settled(key):
                self._track_entries.put(key, known)
        elif known is None:
            known = await self._derived_entries(key)
        return next((e for e in known if e.name == name), None)

    async def top_entries(self, key: Key) -> list[Entry]:
        """Enough entries to list a video folder's top level (a GPS-only parse will do)."""
        known = await self._known_entries(key)
        if known is None:
            hit = self._telemetry.get(key)
            if hit is not None and hit.full:
                known = await self._derived_entries(key)
            else:
                known = products.list_entries(await self.telemetry_or_none(key, full=False))
        return await self._with_video(key, known)

    async def known_size(self, key: Key, name: str) -> int | None:
        """The size of ``name`` if it was ever computed for this version, else None."""
        return (await self._sizes_for(key)).get(name)

    async def _sizes_for(self, key: Key) -> dict[str, int]:
        await self._after_read_ahead(key)
        sizes = self._sizes.get(key)
        if sizes is None:
            sizes = {}
            if (disk := self._disk(key)) is not None:
                raw = await self._disk_read(disk, "sizes.json")
                sizes = json.loads(raw) if raw is not None else {}
            self._sizes.put(key, sizes)
        return sizes

    async def size(self, key: Key, entry: Entry) -> int:
        """The exact size of a file of a video folder (remembered per source version)."""
        sizes = await self._sizes_for(key)
        size = sizes.get(entry.name)
        if size is None:
            size = await self._compute_size(key, entry)
            if not self._settled(key):
                return size
            sizes[entry.name] = size
            if (disk := self._disk(key)) is not None:
                await self.run_io(disk.put, "sizes.json", json.dumps(sizes).encode())
        return size

    async def _compute_size(self, key: Key, entry: Entry) -> int:
        if entry.kind == products.VIDEO:
            return (await self.video_layout(key)).size
        if entry.kind == products.GENERATED:
            content = await self.generated(key, entry.name)
            return content.size if isinstance(content, CachedFile) else len(content)
        t = await self.telemetry(key, full=True)
        if entry.kind == products.RAW:
            raw = products.find_raw(t, entry.name)
            if raw is None:
                raise FileNotFoundError(entry.name)
            return raw.size
        stream = products.find_stream(t, entry.name)
        if stream is None:
            raise FileNotFoundError(entry.name)
        return (await self.stream_index(key, stream)).size

    async def has_streams_dir(self, key: Key) -> bool:
        prefix = products.STREAMS_DIR + "/"
        return any(e.name.startswith(prefix) for e in await self.top_entries(key))

    async def generated(self, key: Key, name: str) -> bytes | CachedFile:
        """A generated file (info.json, track files, GPS table): its bytes, or its file
        in the disk cache when it is bigger than ``-o spill_kb`` (never held whole:
        a 3-hour recording's track.geojson is 39 MB); without a disk cache, bytes."""
        cache_key = (key, name)
        await self._after_read_ahead(key)

        async def build() -> bytes | CachedFile:
            found = await self._disk_file(self._files_disk(key, name), name)
            if found is None:
                t = await self.telemetry_or_none(key, full=products.needs_full(name))
                context = self._info_context(key)
                if name == products.INFO and self.options.video and isinstance(key, RecordingKey):
                    context[joined_video.VIDEO_JOIN] = (await self.joined(key)).facts
                # Asked again after the parse, which may have found the result depends
                # on more than the key (_unkeyed), or a part unreadable for now.
                disk = self._files_disk(key, name)
                found = await trio.to_thread.run_sync(
                    self._render, t, name, context, disk, limiter=self.parse_limiter
                )
                # Small files of a recording stay in memory only: re-rendered from
                # the joined telemetry, they are not worth an entry's writes.
                if isinstance(found, bytes) and disk is not None and isinstance(key, SourceKey):
                    await trio.to_thread.run_sync(disk.put, name, found, limiter=self.io_limiter)
            if isinstance(found, bytes):
                self._bytes.put(cache_key, found)
            return found

        return await self._flight.run(
            ("bytes", cache_key), lambda: self._bytes.get(cache_key), build
        )

    def _render(
        self, t: Telemetry | None, name: str, context: dict[str, Any], disk: _KeyedDisk | None
    ) -> bytes | CachedFile:
        self.stats.renders += 1
        if disk is None:
            return view.render(t, name, context)
        writer = disk.writer(name, self._spill_over)
        try:
            view.write(t, name, context, writer)
            return writer.finish()
        except OSError as exc:  # the cache disk: full, read-only, gone
            writer.discard()
            log.warning("disk cache: cannot write %s: %s", name, exc)
            return view.render(t, name, context)
        except BaseException:
            writer.discard()
            raise

    def _info_context(self, key: Key) -> dict[str, Any]:
        if isinstance(key, RecordingKey):
            return recordings.info_context(key)
        return view.info_context(key, self._failures.get(key), self.options.time_offset_s)

    async def _disk_file(self, disk: _KeyedDisk | None, item: str) -> bytes | CachedFile | None:
        """A generated file from the disk cache: bytes, or its file if it is big."""
        if disk is None:
            return None
        # A file's content is read: a copy of the folder has begun, its other files follow.
        found = await self._disk_read(
            disk, item, announce_folder=True, whole_up_to=self._spill_over
        )
        if found is not None:
            self.stats.disk_hits += 1
        return found

    @overload
    async def _disk_read(
        self, disk: _KeyedDisk, item: str, announce_folder: bool = False
    ) -> bytes | None: ...

    @overload
    async def _disk_read(
        self, disk: _KeyedDisk, item: str, announce_folder: bool, whole_up_to: int
    ) -> bytes | CachedFile | None: ...

    async def _disk_read(
        self,
        disk: _KeyedDisk,
        item: str,
        announce_folder: bool = False,
        whole_up_to: int | None = None,
    ) -> bytes | CachedFile | None:
        """A disk cache item's bytes (or, past ``whole_up_to`` bytes, its file): on the
        event loop if they are in the page cache (see run_quick), else read in a
        thread. Only a folder this mount wrote or read is tried inline: after a remount
        the cache's folders are cold, and opening one blocks for a disk read (~1-10 ms)."""
        if self.quick_disk and disk.key in self._disk_warm:
            try:
                return await self.run_quick(disk.get_cached, item)
            except NotInPageCacheError:
                pass
        # The first content read of a folder this mount has not read yet announces its
        # other items to the kernel (DiskCache.get): their reads then run inline.
        announce = announce_folder and disk.key not in self._announced
        found: bytes | CachedFile | None
        if whole_up_to is None:
            found = await self.run_io(disk.get, item, announce)
        else:
            found = await self.run_io(disk.get_item, item, whole_up_to, announce)
        if announce:
            self._announced.add(disk.key)
        self._disk_warm.add(disk.key)
        return found

    async def stream_index(self, key: Key, stream: Stream) -> StreamIndex:
        """The layout and chunk offsets of a stream CSV (cheap: no decoding)."""
        cache_key = (key, stream.name)
        index = self._indexes.get(cache_key)
        if index is None:
            t = await self.telemetry(key, full=True)
            if len(stream.chunks) <= INLINE_INDEX_CHUNKS:
                index = products.build_stream_index(stream, t)
            else:
                index = await trio.to_thread.run_sync(
                    products.build_stream_index, stream, t, limiter=self.parse_limiter
                )
            self._indexes.put(cache_key, index)
        return index

    # -- the videos themselves (-o video) ------------------------------------------

    def _video_candidate(self, key: Key) -> str | None:
        """The name the folder's video would have, knowing nothing of its content."""
        if isinstance(key, SourceKey):
            return joined_video.own_video_name(os.path.basename(key.path))
        return joined_video.recording_video_name(key) if key.parts else None

    async def video_name(self, key: Key) -> str | None:
        """The video a folder shows (None: -o video is off, the source is no video, or the
        recording's parts do not join)."""
        name = self._video_candidate(key) if self.options.video else None
        if name is None:
            return None  # never join a recording's moovs for a video nobody shows
        joinable = not isinstance(key, RecordingKey) or (await self.joined(key)).layout
        return name if joinable else None

    async def _with_video(self, key: Key, entries: list[Entry]) -> list[Entry]:
        name = await self.video_name(key)
        return entries if name is None else products.with_video(entries, name)

    def _named_like_video(self, key: Key, name: str) -> bool:
        """Whether ``name`` would be the folder's video or its subtitles' alias."""
        candidate = self._video_candidate(key)
        return candidate is not None and name in (candidate, products.subtitles_alias(candidate))

    async def _video_entry(self, key: Key, name: str) -> Entry | None:
        """The video, or its subtitles under its stem, if the folder shows them."""
        video = await self.video_name(key)
        if video is None:
            return None
        if name == video:
            return Entry(name, products.VIDEO)
        if await self.find_entry(key, products.SRT) is None:
            return None
        return Entry(name, products.GENERATED)

    async def joined(self, key: RecordingKey) -> JoinedVideo:
        """A recording's joined video, built from its parts' moovs (once per version)."""

        def build() -> JoinedVideo:
            fds: list[int] = []
            try:
                for part in key.parts:
                    fds.append(open_source_checked(part.key))
                return joined_video.join_recording(key, fds)
            finally:
                for fd in fds:
                    os.close(fd)

        async def run() -> JoinedVideo:
            self.stats.video_joins += 1
            joined = await trio.to_thread.run_sync(build, limiter=self.parse_limiter)
            self._joined.put(key, joined)
            return joined

        return await self._flight.run(("joined", key), lambda: self._joined.get(key), run)

    async def video_layout(self, key: Key) -> RawLayout:
        """Where the folder's video's bytes come from (the source, or the parts joined)."""
        if isinstance(key, SourceKey):
            return joined_video.source_layout(key.size)
        layout = (await self.joined(key)).layout
        if layout is None:
            raise FileNotFoundError(joined_video.recording_video_name(key))
        return layout

    def users_busy(self) -> bool:
        """Whether a user's parse or render runs or waits (read from the prefetch's thread)."""
        return self.user_parses > 0 or self.parse_limiter.borrowed_tokens > 0

    def stats_dict(self, sniffs: int) -> dict[str, Any]:
        self.stats.sniffs = sniffs
        return {
            **self.stats.as_dict(),
            **source.TOTALS.snapshot(),
            "parse_worker": self.parse_worker_state(),
            "ranges_announced_by_helper": helper.ranges_sent
            if (helper := announce.current())
            else 0,
        }

    def parse_worker_state(self) -> str:
        """The parse process: ready (local videos are parsed in it), starting (they are
        parsed in threads meanwhile), or off (-o parse_in=thread)."""
        if self._worker_ready:
            return "ready"
        return "starting" if self._worker_context is not None else "off"

    async def run_quick(self, fn: Callable[..., T], *args: Any) -> T:
        """Blocking I/O that is nearly always quick (a local file's stat or open): run
        on the event loop, unless such a call lately was slow; then in a thread."""
        if time.monotonic() < self._quick_off_until:
            return await self.run_io(fn, *args)
        started = time.perf_counter()
        try:
            return fn(*args)
        finally:
            took = time.perf_counter() - started
            if took > QUICK_CALL_S:
                self._slow_quick_call(fn, took)
            await trio.lowlevel.checkpoint()

    def _slow_quick_call(self, fn: Callable[..., Any], took: float) -> None:
        now = time.monotonic()
        self._quick_slow = [t for t in self._quick_slow if now - t < QUICK_BACKOFF_S] + [now]
        if len(self._quick_slow) >= QUICK_SLOW_CALLS:
            name = getattr(fn, "__qualname__", fn)
            log.info(
                "%s took %.1f ms, the %d th slow call: to threads for %g s",
                name,
                took * 1e3,
                len(self._quick_slow),
                QUICK_BACKOFF_S,
            )
            self._quick_off_until = now + QUICK_BACKOFF_S
            self._quick_slow = []

    async def run_io(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking I/O in a worker thread under the I/O limiter."""
        return await trio.to_thread.run_sync(fn, *args, limiter=self.io_limiter)


@dataclass(frozen=True, slots=True)
class _KeyedDisk:
    """The disk cache's entry of one source version (or recording version)."""

    disk: DiskCache
    key: DiskKey

    def get(self, item: str, warm_folder: bool = False) -> bytes | None:
        return self.disk.get(self.key, item, warm_folder=warm_folder)

    def get_item(
        self, item: str, whole_up_to: int, warm_folder: bool = False
    ) -> bytes | CachedFile | None:
        return self.disk.get_item(self.key, item, whole_up_to, warm_folder=warm_folder)

    def get_cached(self, item: str) -> bytes | None:
        return self.disk.get_cached(self.key, item, QUICK_DISK_READ)

    def put(self, item: str, data: bytes) -> None:
        self.disk.put(self.key, item, data)

    def writer(self, item: str, spill_over: int) -> ItemWriter:
        return self.disk.writer(self.key, item, spill_over)

    def get_object(self, item: str) -> object:
        return self.disk.get_object(self.key, item)

    def put_object(self, item: str, value: object) -> None:
        self.disk.put_object(self.key, item, value)


def open_source_checked(key: SourceKey) -> int:
    """Open the source read-only and make sure it is still the version ``key`` names.

    Raises:
        OSError: ESTALE when the file changed since ``key`` was taken.
    """
    fd = os.open(key.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    st = os.fstat(fd)
    if not key.describes(st):
        os.close(fd)
        raise OSError(errno.ESTALE, "source changed", key.path)
    return fd
