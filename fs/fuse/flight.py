"""Single-flight: one computation per key at a time, everyone else waits for its result."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import TypeVar

import trio

T = TypeVar("T")


class SingleFlight:
    """Run one computation per key at a time; concurrent callers share its result.

    Like s3ql's MultiLock plus a re-check: the first caller computes, the
    others wait on the same lock and then find the result in the cache.
    """

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[trio.Lock, int]] = {}

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
