"""A raw file's pieces held as columns: GoPro's per-stream ``.gpmf`` files.

Each STRM of a stream becomes two pieces of its ``<name>.gpmf``: a synthesized
DEVC header (a few distinct byte strings, shared) and the STRM's extent of the
source. An hour of a HERO11 has ~75,000 such extents in 21 files; as
:class:`Extent` objects in tuples they took ~9 MB, as arrays ~2.4 MB.

:class:`PieceTable` is a ``Sequence[Piece]``: indexing or iterating gives the
literal bytes or an Extent, as a tuple would; slicing gives a table over views.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from telemetryfs.parsers.column_sequence import ColumnSequence
from telemetryfs.parsers.fastbuild import new_extent
from telemetryfs.parsers.model import Piece

Array = np.ndarray[Any, Any]

_EXTENT = -1  # ``which`` of a piece that is an extent of the source


class PieceTable(ColumnSequence[Piece]):
    """Pieces as columns: ``which`` is the index of a piece's bytes in ``literals``,
    or -1 for an extent (``offset``, ``size``, ``part``); ``size`` holds every
    piece's length."""

    __slots__ = ("_literals", "_offset", "_part", "_size", "_which")

    def __init__(
        self, literals: tuple[bytes, ...], which: Array, offset: Array, size: Array, part: Array
    ) -> None:
        if not len(which) == len(offset) == len(size) == len(part):
            raise ValueError("PieceTable columns of different lengths")
        self._literals = literals
        self._which, self._offset, self._size, self._part = which, offset, size, part

    @classmethod
    def from_pieces(cls, pieces: Sequence[Piece]) -> PieceTable:
        literals: dict[bytes, int] = {}
        which, offset, size, part = [], [], [], []
        for p in pieces:
            if isinstance(p, bytes):
                which.append(literals.setdefault(p, len(literals)))
                offset.append(0)
                size.append(len(p))
                part.append(0)
            else:
                which.append(_EXTENT)
                offset.append(p.offset)
                size.append(p.size)
                part.append(p.part)
        return cls(
            tuple(literals),
            np.array(which, dtype=np.int32),
            np.array(offset, dtype=np.int64),
            np.array(size, dtype=np.int64),
            np.array(part, dtype=np.int64),
        )

    @property
    def sizes(self) -> Array:
        """Each piece's length in bytes."""
        return self._size

    @property
    def nbytes(self) -> int:
        arrays = (self._which, self._offset, self._size, self._part)
        return sum(a.nbytes for a in arrays) + sum(len(b) for b in self._literals)

    def in_part(self, part: int) -> PieceTable:
        """The pieces with their extents in recording part ``part``."""
        parts = np.full(len(self), part, dtype=np.int64)
        return PieceTable(self._literals, self._which, self._offset, self._size, parts)

    def __len__(self) -> int:
        return len(self._which)

    def _sliced(self, index: slice) -> PieceTable:
        return PieceTable(
            self._literals,
            self._which[index],
            self._offset[index],
            self._size[index],
            self._part[index],
        )

    def _items(self, start: int, stop: int) -> Iterator[Piece]:
        literals = self._literals
        columns = (self._which, self._offset, self._size, self._part)
        which, offset, size, part = (c[start:stop].tolist() for c in columns)
        for w, o, s, p in zip(which, offset, size, part, strict=True):
            yield literals[w] if w != _EXTENT else new_extent(o, s, p)

    def __repr__(self) -> str:
        return f"PieceTable({len(self)} pieces)"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return PieceTable, (self._literals, self._which, self._offset, self._size, self._part)


def joined_pieces(tables: Sequence[PieceTable]) -> PieceTable:
    """Several tables end to end (their literals merged)."""
    literals: dict[bytes, int] = {}
    whiches = []
    for t in tables:
        remap = np.array([literals.setdefault(b, len(literals)) for b in t._literals], np.int32)
        which = t._which.copy()
        own = which != _EXTENT
        which[own] = remap[which[own]]
        whiches.append(which)
    return PieceTable(
        tuple(literals),
        np.concatenate(whiches),
        np.concatenate([t._offset for t in tables]),
        np.concatenate([t._size for t in tables]),
        np.concatenate([t._part for t in tables]),
    )
