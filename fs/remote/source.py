"""One remote object read as a Source: ranges in batches, one version per parse.

Reads go through fsspec's ``cat_file``/``cat_ranges`` only, never ``fs.open``:
s3fs's default file cache reads ahead 50 MiB (nearly a whole clip for a few
KiB of moov) and its "parts" cache returns zeros on a miss. ``prefetch``
merges neighbouring ranges with ``fsspec.utils.merge_offset_ranges``
(``cat_ranges(max_gap=)`` is not implemented) and fetches the lot in one
concurrent round; ``pread`` serves from what was fetched, or fetches a small
block.

Versions: the key of an object is (path, size, ETag / generation /
VersionId), never ``fs.ukey`` (which hashes a listing's whole info dict,
LastModified included, and differs between backends). A read never mixes
two versions: on S3 and HTTP every range request carries ``If-Match: ETAG``
(s3fs's ``cat_file`` cannot pass one, so S3 ranges are the same GetObject
calls made here), and a 412 raises :class:`SourceChangedError`; on other
stores closing the source checks the version again. Either way the parse
is dropped, its cached blocks too, and the next one reads the new object.

Transient failures (a 503, a timeout, a dropped connection) are retried a
few times with a backoff inside a bounded total time; then the read fails
with an OSError, which the parsers turn into a ParseError and the mount
into EIO.
"""

from __future__ import annotations

import asyncio
import bisect
import errno
import os
import threading
import time
from collections import OrderedDict
from typing import Any, BinaryIO, ClassVar, cast

import fsspec
from fsspec.asyn import sync
from fsspec.utils import merge_offset_ranges

from telemetryfs.parsers.extract import Opener
from telemetryfs.parsers.source import TOTALS, SourceUnavailableError

# The smallest request: a box header read costs a round trip either way.
MIN_FETCH = 64 * 1024
# Ranges closer than this are fetched as one. Small: the requests of a batch run
# concurrently, so a gap saves no round trip, only a request, and a low-bitrate
# clip (telemetry every ~250 KB) would otherwise be fetched whole.
MERGE_GAP = 32 * 1024
# No single merged request larger than this (so a batch spreads over connections).
MAX_BLOCK = 8 * 1024 * 1024
# What is kept of the fetched bytes of one object version, and of how many
# versions: the handles of a video's stream files share them (an IMU CSV and
# its raw file read the same ranges).
CACHE_BYTES = 48 * 1024 * 1024
CACHED_OBJECTS = 2
# Concurrent connections per filesystem (botocore's default of 10 starves batches).
POOL_CONNECTIONS = 64
RETRIES = 3
RETRY_DEADLINE_S = 30.0
TIMEOUT_S = 10.0

IF_MATCH_PROTOCOLS = ("s3", "s3a", "http", "https")

VERSION_FIELDS = ("ETag", "etag", "generation", "VersionId", "version_id")


class SourceChangedError(SourceUnavailableError):
    """The object changed while it was read: the parse must not be used (read it again)."""

    def __init__(self, path: str) -> None:
        super().__init__(errno.ESTALE, f"{path} changed while it was read")


def version_of(info: dict[str, Any]) -> str:
    """The version part of an object's key: its ETag, generation or VersionId."""
    for name in VERSION_FIELDS:
        value = info.get(name)
        if value:
            return str(value).strip('"')
    # A server with no ETag (a plain HTTP file server): size and mtime are all there is.
    return f"{info.get('size')}:{info.get('LastModified') or info.get('mtime') or ''}"


def _precondition_failed(exc: BaseException) -> bool:
    """Whether a failed read was the server refusing an If-Match (the object changed)."""
    seen: BaseException | None = exc
    while seen is not None:
        text = f"{type(seen).__name__} {seen}"
        if any(
            m in text for m in ("412", "PreconditionFailed", "Precondition Failed", "pre-condition")
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _transient(exc: BaseException) -> bool:
    if isinstance(exc, FileNotFoundError | PermissionError | SourceChangedError):
        return False
    text = f"{type(exc).__name__} {exc}"
    return any(
        word in text
        for word in (
            "503",
            "500",
            "502",
            "504",
            "SlowDown",
            "Timeout",
            "timeout",
            "Connect",
            "connection",
            "Connection",
            "reset",
            "ServerDisconnected",
        )
    ) or isinstance(exc, TimeoutError | ConnectionError)


def _storage_defaults(protocol: str, options: dict[str, Any]) -> dict[str, Any]:
    """fsspec options that keep reads small, pooled, retried and bounded in time."""
    opts = dict(options)
    if protocol in ("s3", "s3a"):
        config = dict(opts.get("config_kwargs") or {})
        config.setdefault("max_pool_connections", POOL_CONNECTIONS)
        config.setdefault("connect_timeout", TIMEOUT_S)
        config.setdefault("read_timeout", TIMEOUT_S)
        config.setdefault("retries", {"max_attempts": RETRIES, "mode": "standard"})
        opts["config_kwargs"] = config
        opts.setdefault("default_cache_type", "none")
        opts.setdefault("default_fill_cache", False)
    elif protocol in ("http", "https"):
        import aiohttp

        client = dict(opts.get("client_kwargs") or {})
        client.setdefault(
            "timeout", aiohttp.ClientTimeout(total=TIMEOUT_S * 3, sock_read=TIMEOUT_S)
        )
        opts["client_kwargs"] = client
    return opts


class BlockCache:
    """Fetched byte ranges of one object version, least recently used first out."""

    def __init__(self, limit: int = CACHE_BYTES) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._blocks: OrderedDict[int, bytes] = OrderedDict()
        self._starts: list[int] = []
        self._held = 0

    def get(self, start: int, end: int) -> bytes | None:
        with self._lock:
            i = bisect.bisect_right(self._starts, start) - 1
            if i < 0:
                return None
            block_start = self._starts[i]
            block = self._blocks[block_start]
            if block_start + len(block) < end:
                return None
            self._blocks.move_to_end(block_start)
            return block[start - block_start : end - block_start]

    def put(self, start: int, data: bytes) -> None:
        with self._lock:
            if start in self._blocks:
                self._held -= len(self._blocks.pop(start))
                self._starts.remove(start)
            self._blocks[start] = data
            bisect.insort(self._starts, start)
            self._held += len(data)
            while self._held > self.limit and len(self._blocks) > 1:
                old, block = self._blocks.popitem(last=False)
                self._starts.remove(old)
                self._held -= len(block)


class RemoteStore:
    """A filesystem (one per URL and options in a process) and what its listing said."""

    _shared: ClassVar[dict[tuple[str, str, int], RemoteStore]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, url: str, storage_options: dict[str, Any]) -> None:
        protocol = url.split("://", 1)[0]
        self.fs, self.root = fsspec.url_to_fs(url, **_storage_defaults(protocol, storage_options))
        self.root = self.root.rstrip("/")
        self.protocol = protocol
        self._known: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._caches: OrderedDict[tuple[str, str], BlockCache] = OrderedDict()

    @classmethod
    def shared(cls, url: str, storage_options: dict[str, Any]) -> RemoteStore:
        # By process too: a forked daemon (or a Dask worker) must not reuse its
        # parent's filesystem, whose event loop thread did not survive the fork.
        key = (url, repr(sorted(storage_options.items())), os.getpid())
        with cls._shared_lock:
            store = cls._shared.get(key)
            if store is None:
                store = cls._shared[key] = cls(url, storage_options)
            return store

    def cache_for(self, path: str, version: str) -> BlockCache:
        """The shared block cache of one object version."""
        with self._lock:
            cache = self._caches.get((path, version))
            if cache is None:
                cache = self._caches[(path, version)] = BlockCache()
                while len(self._caches) > CACHED_OBJECTS:
                    self._caches.popitem(last=False)
            self._caches.move_to_end((path, version))
            return cache

    def forget(self, path: str, version: str) -> None:
        """Drop what is known of an object that changed (its cache, its listed info)."""
        with self._lock:
            self._caches.pop((path, version), None)
            self._known.pop(path, None)

    def remember(self, path: str, info: dict[str, Any]) -> None:
        """What a listing said of an object (its size and version), to skip a HEAD."""
        with self._lock:
            self._known[path] = info

    def info(self, path: str, *, fresh: bool = False) -> dict[str, Any]:
        if not fresh:
            with self._lock:
                known = self._known.get(path)
            if known is not None:
                return known
        self.fs.invalidate_cache(path)
        info: dict[str, Any] = retrying(lambda: self.fs.info(path))
        TOTALS.add(0)
        return info

    def opener(self) -> Opener:
        """Opens objects of this store for the parsers (binio reads them as Sources)."""
        return lambda path: cast(BinaryIO, RemoteSource(self, path))


def retrying(call: Any) -> Any:
    """``call()``, again after transient failures, within RETRY_DEADLINE_S."""
    deadline = time.monotonic() + RETRY_DEADLINE_S
    delay = 0.2
    for attempt in range(RETRIES + 1):
        try:
            return call()
        except Exception as exc:
            if not _transient(exc) or attempt == RETRIES or time.monotonic() + delay > deadline:
                if isinstance(exc, FileNotFoundError | PermissionError | SourceUnavailableError):
                    raise
                raise SourceUnavailableError(errno.EIO, f"remote read failed: {exc}") from exc
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


class RemoteSource:
    """A remote object as a Source (size, pread, prefetch), file-like enough for binio."""

    def __init__(self, store: RemoteStore, path: str) -> None:
        self.store = store
        self.path = path
        info = store.info(path)
        self._size = int(info["size"])
        self.version = version_of(info)
        # S3 and HTTP servers check an If-Match on every range request: a read can
        # then never return bytes of another version (412 instead). Elsewhere the
        # version is checked again when the source is closed.
        etag = info.get("ETag") or info.get("etag")
        self._if_match = str(etag) if etag and store.protocol in IF_MATCH_PROTOCOLS else None
        self._pos = 0
        self.closed = False
        # A mount may read one open handle from two worker threads at once.
        self._lock = threading.RLock()
        self.requests = 0
        self.bytes_fetched = 0
        self.rounds = 0

    # --- the Source interface ---------------------------------------------------------

    @property
    def size(self) -> int:
        return self._size

    def pread(self, offset: int, size: int) -> bytes:
        with self._lock:
            return self._pread(offset, size)

    def _pread(self, offset: int, size: int) -> bytes:
        end = min(offset + size, self._size)
        if offset >= end:
            return b""
        found = self._cached(offset, end)
        if found is not None:
            return found
        fetch_end = min(max(end, offset + MIN_FETCH), self._size)
        self._fetch([(offset, fetch_end)])
        found = self._cached(offset, end)
        assert found is not None
        return found

    def prefetch(self, ranges: list[tuple[int, int]]) -> None:
        with self._lock:
            self._prefetch(ranges)

    def _prefetch(self, ranges: list[tuple[int, int]]) -> None:
        wanted = [
            (o, min(o + s, self._size))
            for o, s in ranges
            if s > 0 and o < self._size and self._cached(o, min(o + s, self._size)) is None
        ]
        if wanted:
            self._fetch(wanted)

    def preload(self, offset: int, data: bytes) -> None:
        """Bytes already fetched elsewhere (a listing's batch of heads)."""
        if data:
            self._keep(offset, data)

    # --- file-like, for code that seeks and reads ---------------------------------------

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = self._size - self._pos
        data = self.pread(self._pos, size)
        self._pos += len(data)
        return data

    def close(self) -> None:
        """Check that the object is still the version that was read (see module docstring)."""
        if self.closed:
            return
        self.closed = True
        if self._if_match is not None or not self.requests:
            return  # every fetch was pinned to the version, or nothing was fetched
        if version_of(self.store.info(self.path, fresh=True)) != self.version:
            self.store.forget(self.path, self.version)  # its cached blocks may mix versions
            raise SourceChangedError(self.path)

    def __enter__(self) -> RemoteSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- fetching and the block cache --------------------------------------------------

    @property
    def _cache(self) -> BlockCache:
        # Looked up on every use, so that an evicted object's blocks really go.
        return self.store.cache_for(self.path, self.version)

    def _cached(self, start: int, end: int) -> bytes | None:
        return self._cache.get(start, end)

    def _fetch(self, ranges: list[tuple[int, int]]) -> None:
        """One round: the ranges, merged with their neighbours, fetched concurrently."""
        starts, ends = [r[0] for r in ranges], [r[1] for r in ranges]
        paths, starts, ends = merge_offset_ranges(
            [self.path] * len(ranges),
            starts,
            ends,
            max_gap=MERGE_GAP,
            max_block=MAX_BLOCK,
            sort=True,
        )
        try:
            blocks = retrying(lambda: self._get(paths, starts, ends))
        except SourceUnavailableError as exc:
            if _precondition_failed(exc):
                self.store.forget(self.path, self.version)
                raise SourceChangedError(self.path) from exc
            raise
        self.rounds += 1
        for start, end, data in zip(starts, ends, blocks, strict=True):
            if len(data) != end - start:
                raise SourceUnavailableError(errno.EIO, f"{self.path}: short read at {start}")
            self._keep(start, bytes(data))
        self.requests += len(starts)
        nbytes = sum(e - s for s, e in zip(starts, ends, strict=True))
        self.bytes_fetched += nbytes
        TOTALS.add(nbytes, len(starts))

    def _get(self, paths: list[str], starts: list[int], ends: list[int]) -> list[bytes]:
        """The ranges, concurrently, pinned to the version read so far where the store can."""
        fs = self.store.fs
        if self._if_match is None:
            blocks: list[bytes] = fs.cat_ranges(paths, starts, ends, on_error="raise")
            return blocks
        if self.store.protocol in ("http", "https"):
            headers = {"If-Match": self._if_match}
            blocks = fs.cat_ranges(paths, starts, ends, on_error="raise", headers=headers)
            return blocks
        # s3fs's cat_file passes no IfMatch: the same GetObject calls, with it.
        bucket, key, _ = fs.split_path(self.path)
        etag = self._if_match

        async def one(start: int, end: int) -> bytes:
            resp = await fs._call_s3(
                "get_object", Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}", IfMatch=etag
            )
            try:
                data: bytes = await resp["Body"].read()
                return data
            finally:
                resp["Body"].close()

        async def every() -> list[bytes]:
            return list(
                await asyncio.gather(*(one(s, e) for s, e in zip(starts, ends, strict=True)))
            )

        result: list[bytes] = sync(fs.loop, every)
        return result

    def _keep(self, start: int, data: bytes) -> None:
        self._cache.put(start, data)
