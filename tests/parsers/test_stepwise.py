"""Freeing a large object graph a slice at a time (parsers/stepwise.py)."""

from __future__ import annotations

import dataclasses
import sys
import threading
import time
import weakref
from collections.abc import Callable

import pytest

from telemetryfs.parsers.formats.gopro import parse as gopro_parse
from telemetryfs.parsers.stepwise import free_in_steps


class Leaf:
    """A weak-referenceable item."""


@dataclasses.dataclass(frozen=True)
class Holder:
    items: tuple[Leaf, ...]
    nested: tuple[list[Leaf], ...]
    note: str = "x"


def _graph(n: int) -> tuple[Holder, list[weakref.ref[Leaf]]]:
    items = tuple(Leaf() for _ in range(n))
    nested = ([Leaf() for _ in range(n)], [Leaf()])
    refs = [weakref.ref(x) for x in (*items, *nested[0], *nested[1])]
    return Holder(items, nested), refs


def test_everything_is_freed_and_the_holder_emptied() -> None:
    holder_value, refs = _graph(5000)
    holder: list[object] = [holder_value, {"k": [Leaf() for _ in range(600)]}]
    del holder_value
    free_in_steps(holder)
    assert holder == []
    assert all(r() is None for r in refs)


def test_what_others_still_hold_lives_on() -> None:
    value, refs = _graph(1000)
    kept = value.items[10]
    free_in_steps([value])
    del value
    alive = [r() for r in refs if r() is not None]
    assert alive == [kept]


def _longest_wait_of_another_thread(free: Callable[[], None]) -> float:
    """The longest another thread waited to run (its 0.5 ms sleeps) while ``free`` ran."""
    gaps: list[float] = []
    running = True

    def watch() -> None:
        last = time.perf_counter()
        while running:
            time.sleep(0.0005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    watcher = threading.Thread(target=watch)
    watcher.start()
    time.sleep(0.01)
    gaps.clear()
    free()
    time.sleep(0.01)
    running = False
    watcher.join()
    return max(gaps)


def test_other_threads_run_while_a_big_graph_is_freed() -> None:
    """Dropped at once, a million objects hold the GIL throughout; in slices, not."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(0.0002)  # the daemon's (fs/fuse/cli.py)
    try:
        plain: list[object] = [_graph(500_000)[0]]
        at_once = _longest_wait_of_another_thread(plain.clear)
        sliced: list[object] = [_graph(500_000)[0]]
        in_steps = _longest_wait_of_another_thread(lambda: free_in_steps(sliced))
    finally:
        sys.setswitchinterval(old)
    assert at_once > 0.01  # a million objects, one C call (~30 ms here)
    assert in_steps < at_once / 3, (in_steps, at_once)
    print(f"longest wait: {at_once * 1000:.1f} ms at once, {in_steps * 1000:.1f} ms in slices")


def test_a_short_walk_is_freed_at_once_and_an_hours_in_slices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stepped: list[int] = []

    def in_steps(holder: list[object]) -> None:
        stepped.append(len(holder[1]))  # type: ignore[arg-type]
        free_in_steps(holder)

    monkeypatch.setattr(gopro_parse, "free_in_steps", in_steps)
    for count in (1, gopro_parse.STEPWISE_PAYLOADS - 1, gopro_parse.STEPWISE_PAYLOADS, 3600):
        walker = Leaf()
        seen = weakref.ref(walker)
        walked: list[object] = [walker, [Leaf() for _ in range(count)]]
        del walker
        gopro_parse._free_walk(walked)
        assert walked == []
        assert seen() is None  # freed, whichever way
    assert stepped == [gopro_parse.STEPWISE_PAYLOADS, 3600]
