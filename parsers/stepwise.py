"""Free a large object graph a slice at a time.

CPython frees what a container holds in one C call, during which no other
thread runs: dropping the full telemetry of an hour of real GoPro payloads
(some 200,000 objects) holds the GIL for ~40 ms, and the walk state it was
built from for ~20 ms. Beside a FUSE daemon's event loop that is 40 ms in
which no request is answered, whatever thread does the dropping. Here the
big sequences' items are first moved into lists, the objects are dropped
(each sequence then only decrements counts), and the lists are emptied a
slice at a time: between two slices the interpreter may switch threads.
"""

from __future__ import annotations

import dataclasses
from typing import Any

BIG = 512  # sequences at least this long are freed in slices
SLICE = 1024  # items freed in one C call: ~0.1-0.5 ms
_DEPTH = 4  # Parsed > Telemetry > streams > Stream > chunks


def free_in_steps(holder: list[Any]) -> None:
    """Drop every object of ``holder`` (emptied), freeing their big sequences in slices.

    The caller hands over its references: what others still hold lives on.
    """
    big: list[list[Any]] = []
    for i in range(len(holder)):  # no loop variable: it would keep the last object alive
        _collect(holder[i], big, 0)
    holder.clear()
    for items in big:  # outer sequences first: their items let go of the inner ones
        while items:
            del items[-SLICE:]


def _collect(obj: Any, big: list[list[Any]], depth: int) -> None:
    """Copy the big sequences reachable from ``obj`` (not through big ones) into ``big``."""
    if depth > _DEPTH or isinstance(obj, str | bytes | bytearray | int | float | type(None)):
        return
    if isinstance(obj, list | tuple):
        if len(obj) >= BIG:
            big.append(list(obj))
            return
        values: Any = obj
    elif isinstance(obj, dict):
        if len(obj) >= BIG:
            return  # a dict is freed in one call; our dicts of that size hold numbers
        values = obj.values()
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        values = [getattr(obj, f.name) for f in dataclasses.fields(obj)]
    elif hasattr(obj, "__dict__"):
        values = list(vars(obj).values())
    else:
        return
    for value in values:
        _collect(value, big, depth + 1)
