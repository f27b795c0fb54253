"""The Sequence side of the column tables (GpsTrack, ChunkTable, PieceTable).

Each keeps its items as arrays and builds them only when read: a slice is
another table over views of the same arrays, an index one item, iteration
SLICE items at a time (one ``tolist`` a column per slice, not per item).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Self, TypeVar, overload

T = TypeVar("T")

SLICE = 4096  # items built at a time when iterating


class ColumnSequence(Sequence[T]):
    """A Sequence over columns: subclasses give ``__len__``, ``_sliced`` and ``_items``."""

    __slots__ = ()

    def _sliced(self, index: slice) -> Self:
        """The table of the items ``index`` selects (views of the arrays)."""
        raise NotImplementedError

    def _items(self, start: int, stop: int) -> Iterator[T]:
        """The items from ``start`` to ``stop`` (within bounds), built."""
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> Self: ...

    def __getitem__(self, index: int | slice) -> T | Self:
        if isinstance(index, slice):
            return self._sliced(index)
        n = len(self)
        i = index + n if index < 0 else index
        if not 0 <= i < n:
            raise IndexError(f"{type(self).__name__} index out of range")
        return next(self._items(i, i + 1))

    def __iter__(self) -> Iterator[T]:
        for start in range(0, len(self), SLICE):
            yield from self._items(start, min(start + SLICE, len(self)))

    def __eq__(self, other: object) -> bool:
        # Equal to any sequence of the same items: a tuple of them, another table.
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]
