"""A GPS track held as columns: what a parser of hour-long footage hands back.

An hour of GoPro is ~65,000 samples. As :class:`GpsSample` objects they take
~20 MB (a 12-slot object and its boxed floats, ~300 bytes a sample) and cost
~1.5 µs each to build; as ten float64 columns they take ~5 MB, are decoded
from the payloads by numpy in a few calls, pickle as a few buffers (the disk
cache, the parse process) and are read by the renderers a column at a time.

:class:`GpsTrack` is a ``Sequence[GpsSample]``: code that iterates or indexes
it gets the same samples a tuple would hold (built on the way, a slice of
samples at a time); code that wants columns asks :meth:`GpsTrack.column`.
Slicing gives a track over views of the same arrays.

A field is None where its column holds NaN and the field's "missing" mask
says so: a NaN a parser really produced stays NaN.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import repeat
from operator import attrgetter
from typing import Any

import numpy as np

from telemetryfs.parsers.column_sequence import ColumnSequence
from telemetryfs.parsers.fastbuild import new_gps_sample
from telemetryfs.parsers.model import GpsSample, Value

Array = np.ndarray[Any, Any]

# GpsSample's fields held as float64 columns, in constructor order (fix is a
# small integer, held as a double and given back as int).
FLOAT_FIELDS = ("utc", "video_time", "lat", "lon", "ele", "speed_2d", "speed_3d", "course")
FIELDS = (*FLOAT_FIELDS, "fix", "dop")
# Parsers hand back a track this long or longer as columns, a shorter one as a
# tuple: renderers read a long track a column at a time, but iterate a short
# one (below their array thresholds), and building its samples again for each
# of a clip's ten files made a card's cold rsync ~10% slower.
COLUMNS_FROM = 4096


class GpsTrack(ColumnSequence[GpsSample]):
    """GPS samples as columns (see the module docstring).

    ``columns`` maps a field of FIELDS to its float64 values; a field it lacks
    is None in every sample. ``missing`` maps a field to a bool mask of the
    samples where it is None (a field without a mask has a value everywhere).
    ``valid`` is each sample's verdict; ``extra`` each sample's extra values,
    or None when every sample has none.
    """

    __slots__ = ("_columns", "_extra", "_missing", "_valid")

    def __init__(
        self,
        columns: Mapping[str, Array],
        missing: Mapping[str, Array],
        valid: Array,
        extra: Sequence[tuple[Value, ...]] | None = None,
    ) -> None:
        n = len(valid)
        if any(len(c) != n for c in (*columns.values(), *missing.values())) or (
            extra is not None and len(extra) != n
        ):
            raise ValueError("GpsTrack columns of different lengths")
        self._columns = {f: columns[f] for f in FIELDS if f in columns}
        self._missing = {f: m for f, m in missing.items() if f in self._columns and m.any()}
        self._valid = valid
        self._extra = extra

    # --- columns ---------------------------------------------------------------

    def column(self, field: str) -> Array:
        """A field of every sample as float64, NaN where it is None (as ``np.fromiter``
        reads None); ``valid`` as bool. Read-only: may be the track's own array."""
        if field == "valid":
            return self._valid
        if field not in FIELDS:
            raise KeyError(field)
        values = self._columns.get(field)
        if values is None:
            return np.full(len(self), np.nan)
        return values

    def has_none(self, field: str) -> bool:
        """Whether some sample's ``field`` is None."""
        return len(self) > 0 and (field not in self._columns or field in self._missing)

    def nones(self, field: str) -> int:
        """How many samples' ``field`` is None."""
        if field not in self._columns:
            return len(self)
        mask = self._missing.get(field)
        return 0 if mask is None else int(np.count_nonzero(mask))

    @property
    def nbytes(self) -> int:
        """Bytes the arrays hold (what the memory cache charges)."""
        arrays = (*self._columns.values(), *self._missing.values(), self._valid)
        return sum(a.nbytes for a in arrays) + (64 * len(self) if self._extra else 0)

    # --- Sequence --------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._valid)

    def _sliced(self, index: slice) -> GpsTrack:
        return self._picked(index, None if self._extra is None else self._extra[index])

    def _items(self, start: int, stop: int) -> Iterator[GpsSample]:
        part = self[start:stop]
        lists = [part.values(field) for field in (*FIELDS, "valid", "extra")]
        return map(new_gps_sample, *lists)

    def values(self, field: str) -> list[Any]:
        """A field of every sample as a list: what ``[getattr(s, field) for s in track]``
        gives, without building the samples."""
        if field == "valid":
            return self._valid.tolist()  # type: ignore[no-any-return]
        if field == "extra":
            return [()] * len(self) if self._extra is None else list(self._extra)
        column = self._columns.get(field)
        if column is None:
            if field not in FIELDS:
                raise KeyError(field)
            return [None] * len(self)
        if field == "fix":  # NaN (None) as 0 before the cast; masked below
            column = np.nan_to_num(column, nan=0.0, posinf=0.0, neginf=0.0).astype(np.int64)
        items: list[Any] = column.tolist()
        mask = self._missing.get(field)
        if mask is not None:
            for i in np.flatnonzero(mask).tolist():
                items[i] = None
        return items

    def __repr__(self) -> str:
        return f"GpsTrack({len(self)} samples)"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Views pickle as their own bytes only; the arrays go as a few buffers.
        return GpsTrack, (self._columns, self._missing, self._valid, self._extra)

    def present(self, field: str) -> Array:
        """A bool mask of the samples whose ``field`` is not None."""
        if field not in self._columns:
            return np.zeros(len(self), dtype=bool)
        mask = self._missing.get(field)
        return np.ones(len(self), dtype=bool) if mask is None else ~mask

    def take(self, indices: Array) -> GpsTrack:
        """The samples at ``indices`` (an int array), in that order."""
        extra = self._extra
        return self._picked(
            indices, None if extra is None else [extra[i] for i in indices.tolist()]
        )

    def _picked(self, index: slice | Array, extra: Sequence[tuple[Value, ...]] | None) -> GpsTrack:
        """The samples ``index`` selects from every column (``extra`` already picked)."""
        return GpsTrack(
            {f: c[index] for f, c in self._columns.items()},
            {f: m[index] for f, m in self._missing.items()},
            self._valid[index],
            extra,
        )

    def with_invalid(self, indices: Sequence[int]) -> GpsTrack:
        """The samples with those marked invalid."""
        valid = self._valid.copy()
        valid[list(indices)] = False
        return GpsTrack(self._columns, self._missing, valid, self._extra)

    def moved(self, offset: float) -> GpsTrack:
        """The samples with ``offset`` added to their video times (None stays None)."""
        if not offset or "video_time" not in self._columns:
            return self
        columns = dict(self._columns, video_time=self._columns["video_time"] + offset)
        return GpsTrack(columns, self._missing, self._valid, self._extra)

    # --- building --------------------------------------------------------------

    @classmethod
    def from_samples(cls, samples: Sequence[GpsSample]) -> GpsTrack | None:
        """The samples as a track, or None when a value would not come back the same
        (a float field holding an int or a bool, a fix that is not an int)."""
        n = len(samples)
        columns: dict[str, Array] = {}
        missing: dict[str, Array] = {}
        for field in FIELDS:
            values = [getattr(s, field) for s in samples]
            wanted = int if field == "fix" else float
            none = [v is None for v in values]
            if all(none):
                continue
            if any(
                not isinstance(v, wanted) or isinstance(v, bool) for v in values if v is not None
            ):
                return None
            if any(type(v) is not wanted for v in values if v is not None):
                return None  # a subclass (numpy float64) would come back as float
            columns[field] = np.array([np.nan if v is None else v for v in values], np.float64)
            if any(none):
                missing[field] = np.array(none, dtype=bool)
        extras = [s.extra for s in samples]
        extra = tuple(extras) if any(extras) else None
        valid = np.fromiter((s.valid is True for s in samples), bool, n)
        if any(type(s.valid) is not bool for s in samples):
            return None
        return cls(columns, missing, valid, extra)


def joined_tracks(tracks: Sequence[GpsTrack]) -> GpsTrack:
    """One track of several, end to end."""
    n = [len(t) for t in tracks]
    fields = [f for f in FIELDS if any(f in t._columns for t in tracks)]
    columns = {f: np.concatenate([t.column(f) for t in tracks]) for f in fields}
    missing = {}
    for f in fields:
        if any(t.has_none(f) for t in tracks):
            missing[f] = np.concatenate(
                [
                    t._missing[f]
                    if f in t._missing
                    else np.full(k, f not in t._columns, dtype=bool)
                    for t, k in zip(tracks, n, strict=True)
                ]
            )
    valid = np.concatenate([t._valid for t in tracks]) if tracks else np.zeros(0, bool)
    extra = None
    if any(t._extra is not None for t in tracks):
        extra = tuple(
            e
            for t, k in zip(tracks, n, strict=True)
            for e in (t._extra if t._extra is not None else repeat((), k))
        )
    return GpsTrack(columns, missing, valid, extra)


def field_values(samples: Sequence[GpsSample], field: str) -> list[Any]:
    """``[getattr(s, field) for s in samples]``, read from the columns of a GpsTrack."""
    if isinstance(samples, GpsTrack):
        return samples.values(field)
    return list(map(attrgetter(field), samples))


def has_valid(samples: Sequence[GpsSample]) -> bool:
    """Whether some sample is valid."""
    if isinstance(samples, GpsTrack):
        return bool(samples.column("valid").any())
    return any(s.valid for s in samples)
