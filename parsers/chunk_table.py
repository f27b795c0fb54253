"""A stream's chunks held as columns: what GoPro streams and joined recordings hold.

An hour of a HERO11 writes 21 streams in ~125,000 data KLVs: as :class:`Chunk`
objects with their :class:`Extent` they took ~24 MB (two objects and their
boxed numbers, ~190 bytes a chunk); as six arrays they take ~6 MB, and pickle
as a few buffers (the disk cache, the parse process).

:class:`ChunkTable` is a ``Sequence[Chunk]``: iterating or indexing gives the
chunks a tuple would hold, built on the way; slicing gives a table over views.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from telemetryfs.parsers.column_sequence import ColumnSequence
from telemetryfs.parsers.fastbuild import new_chunk, new_extent
from telemetryfs.parsers.model import Chunk

Array = np.ndarray[Any, Any]


class ChunkTable(ColumnSequence[Chunk]):
    """Chunks as columns: each extent's offset, size and part, each chunk's sample
    count, start and duration (NaN where None, told apart by ``untimed``: a chunk
    has both or neither, as parsers build them)."""

    __slots__ = ("_count", "_duration", "_offset", "_part", "_size", "_start", "_untimed")

    def __init__(
        self,
        offset: Array,
        size: Array,
        part: Array,
        count: Array,
        start: Array,
        duration: Array,
        untimed: Array | None = None,
    ) -> None:
        n = len(offset)
        arrays = (size, part, count, start, duration, *(() if untimed is None else (untimed,)))
        if any(len(a) != n for a in arrays):
            raise ValueError("ChunkTable columns of different lengths")
        self._offset, self._size, self._part, self._count = offset, size, part, count
        self._start, self._duration = start, duration
        self._untimed = untimed if untimed is not None and untimed.any() else None

    @classmethod
    def from_chunks(cls, chunks: Sequence[Chunk]) -> ChunkTable | None:
        """The chunks as a table, or None when one would not come back the same
        (only one of start and duration None, a number of another type)."""
        starts = [c.start for c in chunks]
        durations = [c.duration for c in chunks]
        untimed = [s is None for s in starts]
        if untimed != [d is None for d in durations]:
            return None
        numbers = [v for v in (*starts, *durations) if v is not None]
        if any(type(v) is not float for v in numbers):
            return None
        extents = [c.extent for c in chunks]
        ints = [(e.offset, e.size, e.part, c.count) for e, c in zip(extents, chunks, strict=True)]
        if any(type(v) is not int for row in ints for v in row):
            return None
        table = np.array(ints, dtype=np.int64).reshape(len(chunks), 4)
        return cls(
            table[:, 0].copy(),
            table[:, 1].copy(),
            table[:, 2].copy(),
            table[:, 3].copy(),
            np.array([np.nan if v is None else v for v in starts], dtype=np.float64),
            np.array([np.nan if v is None else v for v in durations], dtype=np.float64),
            np.array(untimed, dtype=bool),
        )

    @property
    def nbytes(self) -> int:
        arrays = (self._offset, self._size, self._part, self._count, self._start, self._duration)
        return sum(a.nbytes for a in arrays) + (
            0 if self._untimed is None else self._untimed.nbytes
        )

    def moved(self, part: int, offset: float) -> ChunkTable:
        """The chunks of recording part ``part``, their starts moved by ``offset``."""
        start = self._start + offset if offset else self._start
        return ChunkTable(
            self._offset,
            self._size,
            np.full(len(self), part, dtype=np.int64),
            self._count,
            start,
            self._duration,
            self._untimed,
        )

    def __len__(self) -> int:
        return len(self._offset)

    def _sliced(self, index: slice) -> ChunkTable:
        return ChunkTable(
            self._offset[index],
            self._size[index],
            self._part[index],
            self._count[index],
            self._start[index],
            self._duration[index],
            None if self._untimed is None else self._untimed[index],
        )

    def _items(self, start: int, stop: int) -> Iterator[Chunk]:
        extents = map(
            new_extent,
            self._offset[start:stop].tolist(),
            self._size[start:stop].tolist(),
            self._part[start:stop].tolist(),
        )
        starts: Any = self._start[start:stop].tolist()
        durations: Any = self._duration[start:stop].tolist()
        if self._untimed is not None:
            for i in np.flatnonzero(self._untimed[start:stop]).tolist():
                starts[i] = durations[i] = None
        return map(new_chunk, extents, self._count[start:stop].tolist(), starts, durations)

    def __repr__(self) -> str:
        return f"ChunkTable({len(self)} chunks)"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        columns = (self._offset, self._size, self._part, self._count, self._start, self._duration)
        return ChunkTable, (*columns, self._untimed)


def joined_tables(tables: Sequence[ChunkTable]) -> ChunkTable:
    """Several tables end to end."""

    def cat(name: str) -> Array:
        return np.concatenate([getattr(t, name) for t in tables])

    untimed = None
    if any(t._untimed is not None for t in tables):
        untimed = np.concatenate(
            [np.zeros(len(t), bool) if t._untimed is None else t._untimed for t in tables]
        )
    return ChunkTable(
        cat("_offset"), cat("_size"), cat("_part"), cat("_count"), cat("_start"), cat("_duration"),
        untimed,
    )  # fmt: skip
