"""Parsed telemetry as a list of small pickles, loaded without holding the GIL for long.

An hour of GoPro telemetry is ~65,000 GPS samples and ~30,000 chunks (each with
its extent). One ``pickle.loads`` of it is one C call of 0.1-0.25 s that holds
the GIL throughout: the FUSE event loop, beside it, would answer nothing for
that long. Cut into slices of ``SLICE`` items, each call takes a few
milliseconds and the loop gets the GIL between them.

The first part is the skeleton: the Telemetry with its long tuples (the GPS
track, each stream's chunks, each raw file's pieces) left as references to the
slices that follow. The disk cache stores this list, and the parse process
(fs/fuse/parse_worker.py) hands it back.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from telemetryfs.fs.view import GC_PAUSE
from telemetryfs.parsers.model import Telemetry

# ~1-2 ms per slice to load (GPS samples ~1.4 us each, a chunk with its extent ~5 us).
SLICE = 2000
# Tuples this short stay in the skeleton.
_KEPT = 16
_PROTOCOL = pickle.HIGHEST_PROTOCOL


class _SkeletonPickler(pickle.Pickler):
    """Pickles everything but the long tuples, which it names by their items' range."""

    def __init__(self, file: io.BytesIO, cut: dict[int, tuple[int, int]]) -> None:
        super().__init__(file, protocol=_PROTOCOL)
        self._cut = cut

    def persistent_id(self, obj: Any) -> tuple[int, int] | None:
        return self._cut.get(id(obj))


class _SkeletonUnpickler(pickle.Unpickler):
    def __init__(self, data: bytes, items: list[Any]) -> None:
        super().__init__(io.BytesIO(data))
        self._items = items

    def persistent_load(self, pid: Any) -> tuple[Any, ...]:
        first, end = pid
        if not 0 <= first <= end <= len(self._items):  # parts lost: no short telemetry
            raise ValueError(f"items {first}-{end} of {len(self._items)}")
        return tuple(self._items[first:end])


def to_parts(telemetry: Telemetry) -> list[bytes]:
    """The skeleton's pickle, then the slices (see the module docstring).

    The items of every tuple worth cutting (longer than ``_KEPT``) are laid end
    to end and cut every ``SLICE`` items, so many short tuples (a five-minute
    clip's 21 streams of 300 chunks) are cut as finely as one long one.
    """
    # A GpsTrack or a ChunkTable (parsers/track.py, parsers/chunk_table.py) is a few
    # arrays, pickled as buffers: never cut.
    candidates = [
        items
        for items in (
            telemetry.gps,
            *(stream.chunks for stream in telemetry.streams),
            *(raw.pieces for raw in telemetry.raw_files),
        )
        if isinstance(items, tuple)
    ]
    laid: list[Any] = []
    cut: dict[int, tuple[int, int]] = {}
    for items in candidates:
        if len(items) > _KEPT and id(items) not in cut:
            cut[id(items)] = (len(laid), len(laid) + len(items))
            laid.extend(items)
    parts = [b""]
    for start in range(0, len(laid), SLICE):
        parts.append(pickle.dumps(laid[start : start + SLICE], protocol=_PROTOCOL))
    skeleton = io.BytesIO()
    _SkeletonPickler(skeleton, cut).dump(telemetry)
    parts[0] = skeleton.getvalue()
    return parts


def from_parts(parts: list[bytes]) -> Telemetry:
    """The Telemetry ``to_parts`` cut up.

    Raises:
        ValueError: the parts are not what ``to_parts`` makes (a damaged cache file).
    """
    if not parts:
        raise ValueError("no parts")
    with GC_PAUSE:  # a collection amid 100,000 new objects holds the GIL for tens of ms
        items: list[Any] = []
        for part in parts[1:]:  # the GIL can change hands between two loads
            items += pickle.loads(part)
        telemetry = _SkeletonUnpickler(parts[0], items).load()
    if not isinstance(telemetry, Telemetry):
        raise ValueError(f"not telemetry: {type(telemetry).__name__}")
    return telemetry
