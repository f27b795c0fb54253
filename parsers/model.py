"""The common result model every parser produces, whatever the format.

A parser turns one source file into one :class:`Telemetry`: the GPS samples
(the track), the other telemetry streams (decoded lazily, chunk by chunk, so a
one-hour file never holds a million accelerometer values in memory), raw
files made of byte ranges of the source, camera info and warnings.

Conventions:
- times are floats: ``utc`` is POSIX seconds in UTC, ``video_time`` is seconds
  from the start of the recording;
- speeds are m/s, elevations metres, angles degrees;
- everything here is frozen, picklable (the disk cache pickles it) and holds no
  file handle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any, Protocol, TypeVar, runtime_checkable

# GPS fix kinds, as GPMF's GPSF and NMEA's GGA/GSA report them.
FIX_NONE = 0
FIX_2D = 2
FIX_3D = 3

FIX_NAMES = {FIX_NONE: "none", FIX_2D: "2d", FIX_3D: "3d"}

Value = float | int | str | None

_T = TypeVar("_T")


# What rebuilds each class's objects when unpickled: the class itself, unless a
# faster constructor was registered (parsers/fastbuild.py, for the classes an
# hour of telemetry holds by the tens of thousands).
_UNPICKLED_BY: dict[type, Callable[..., Any]] = {}


def pickled_by_fields(cls: type[_T]) -> type[_T]:
    """Pickle a frozen slotted dataclass as its constructor and field values.

    A slotted dataclass pickles through ``dataclasses``' generic ``__getstate__``,
    which calls ``fields()`` for every object: the disk cache's pickle of a clip's
    1,000 GPS samples took 5.7 ms, 1.4 ms this way (loads 5.9 -> 3.8 ms).
    Decorate the class *after* ``@dataclass`` (``slots=True`` makes a new class).
    """
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    values = attrgetter(*names)
    if len(names) == 1:  # attrgetter of one name gives the value, not a tuple

        def reduce(self: _T) -> tuple[Callable[..., Any], tuple[Any, ...]]:
            return _UNPICKLED_BY.get(cls, cls), (values(self),)
    else:

        def reduce(self: _T) -> tuple[Callable[..., Any], tuple[Any, ...]]:
            return _UNPICKLED_BY.get(cls, cls), values(self)

    cls.__reduce__ = reduce  # type: ignore[assignment,method-assign]
    return cls


def unpickle_with(cls: type[_T], constructor: Callable[..., _T]) -> None:
    """Have pickles of ``cls`` (made by pickled_by_fields) rebuilt by ``constructor``,
    which takes the field values positionally and must be picklable by name."""
    _UNPICKLED_BY[cls] = constructor


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class ParseWarning:
    """Damage inside one record that was skipped, or a doubt worth telling the user."""

    offset: int | None
    reason: str


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class GpsSample:
    """One GPS sample as the device recorded it.

    ``valid`` is the parser's verdict: a real fix with plausible coordinates.
    Invalid samples stay in CSV output and stay out of GPX/KML/GeoJSON.
    ``extra`` holds the values of ``Telemetry.extra_columns``, in order.
    """

    utc: float | None
    video_time: float | None
    lat: float | None
    lon: float | None
    ele: float | None = None
    speed_2d: float | None = None
    speed_3d: float | None = None
    course: float | None = None
    fix: int | None = None
    dop: float | None = None
    valid: bool = True
    extra: tuple[Value, ...] = ()


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Extent:
    """A byte range of the source file.

    ``part`` says which source file: always 0 for one video; in a joined
    recording (parsers/join.py) the index of the part the bytes live in.
    """

    offset: int
    size: int
    part: int = 0


# A piece of a virtual file: literal bytes, or a byte range of the source.
Piece = bytes | Extent


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class RawFile:
    """A file served byte for byte from pieces (``all.gpmf``, ``ACCL.gpmf``, ``gps.raw``)."""

    name: str
    # A tuple, or a PieceTable (parsers/piece_table.py: the same pieces as columns).
    pieces: Sequence[Piece]

    @property
    def size(self) -> int:
        sizes = getattr(self.pieces, "sizes", None)  # a PieceTable's, summed at once
        if sizes is not None:
            return int(sizes.sum())
        return sum(len(p) if isinstance(p, bytes) else p.size for p in self.pieces)


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Chunk:
    """One run of a stream's samples, stored contiguously in the source.

    The samples are spread evenly from ``start`` over ``duration`` (video time).
    """

    extent: Extent
    count: int
    start: float | None
    duration: float | None


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class ColumnFormat:
    """How one value column of a stream CSV is written, known before decoding.

    ``spec`` is a printf spec for numbers (``"%12.6f"``) whose output is always
    ``width`` characters for the column's value range; ``spec`` None means
    text (or a hex id) padded or cut to exactly ``width`` characters.
    """

    spec: str | None
    width: int


class StreamCodec(Protocol):
    """How a stream's chunks turn into rows: what renderers know of any encoding.

    Implementations are picklable (the disk cache keeps them) and comparable.
    """

    @property
    def whole_text(self) -> bool:
        """A chunk is one text value (one row), not one row per sample."""
        ...

    def column_formats(self) -> tuple[ColumnFormat, ...]:
        """One format per value column, in order."""
        ...

    def decode(self, data: bytes) -> list[tuple[Value, ...]]:
        """The rows of one chunk's bytes (raises ParseError when they do not fit)."""
        ...


@runtime_checkable
class ArrayCodec(StreamCodec, Protocol):
    """A codec that can also decode a chunk of numbers into one (n, columns)
    float64 array, value for value equal to ``decode`` (None when it cannot):
    what lets renderers format whole columns at once."""

    def decode_array(self, data: bytes) -> Any:
        """The chunk's rows as a numpy array, or None."""
        ...


@pickled_by_fields
@dataclass(frozen=True, slots=True)
class Stream:
    """A decoded telemetry stream, served as ``streams/<name>.csv``.

    ``codec`` turns one chunk's bytes into rows (a :class:`StreamCodec`). A
    stream whose codec is None is the GPS track itself: its CSV is the full
    sample table.
    """

    name: str
    fourcc: str
    device: str | None
    label: str | None
    columns: tuple[str, ...]
    sample_count: int
    # A tuple, or a ChunkTable (parsers/chunk_table.py: the same chunks as columns).
    chunks: Sequence[Chunk] = ()
    codec: StreamCodec | None = None


@pickled_by_fields
@dataclass(frozen=True, slots=True, weakref_slot=True)
class Telemetry:
    """Everything one source file yields (weakly referable: renderers remember what
    they derived from one, fs/render_subtitles.py)."""

    format: str
    camera: str | None = None
    firmware: str | None = None
    # A tuple, or a GpsTrack (parsers/track.py: the same samples held as columns).
    gps: Sequence[GpsSample] = ()
    gps_stream: str | None = None
    extra_columns: tuple[str, ...] = ()
    streams: tuple[Stream, ...] = ()
    raw_files: tuple[RawFile, ...] = ()
    duration: float | None = None
    creation_time: float | None = None
    info: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[ParseWarning, ...] = ()
    error: str | None = None
    # Indices into ``gps`` where a track segment must start whatever the times
    # say: the joins of a recording across a missing or failed part.
    breaks: tuple[int, ...] = ()

    @property
    def valid_gps(self) -> tuple[GpsSample, ...]:
        return tuple(s for s in self.gps if s.valid)
