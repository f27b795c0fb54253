"""Helpers shared by the renderers: number and time text, safe text, row assembly.

Everything here is pure and deterministic: the same input always gives the
same text, because ``st_size`` and rsync depend on byte-identical output.

Precision, chosen once for every output format:

- latitude/longitude: 7 decimals (1e-7 deg is about 1 cm, GoPro's GPS5 scale);
- elevation, speeds, video time: 3 decimals (mm, mm/s, ms);
- course, DOP: 2 decimals.

Values are rounded to that precision before they are written, so no text
carries float noise such as ``22.633333206176758`` (a float32 seen as a double).

Speed: an hour of 18 Hz GPS is 65,000 samples, and formatting a float costs
about 0.3 µs in CPython, so the ``*_column`` helpers format a whole column with
C-level ``map`` calls and check the rare awkward cases (None, NaN, ``-0``,
huge values) in bulk, falling back to the per-value reference only then.
"""

from __future__ import annotations

import functools
import io
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from itertools import repeat
from operator import floordiv, mod, mul
from typing import Any, Protocol, TypeGuard, TypeVar, cast

LATLON_DECIMALS = 7  # 1e-7 deg ~ 1.1 cm at the equator
ELE_DECIMALS = 3  # millimetres
SPEED_DECIMALS = 3  # mm/s
TIME_DECIMALS = 3  # milliseconds of video time
COURSE_DECIMALS = 2
DOP_DECIMALS = 2

# datetime's range (years 1..9999): a time outside it is treated as unknown,
# since neither gpxpy nor xsd:dateTime consumers handle 5-digit years well.
_MIN_UTC_S = -62_135_596_800
_MAX_UTC_S = 253_402_300_799
MIN_UTC_MS, MAX_UTC_MS = _MIN_UTC_S * 1000, _MAX_UTC_S * 1000 + 999
_MILLIS_TEXT = tuple(f".{i:03d}Z" for i in range(1000))


class Sink(Protocol):
    """Where a big file's renderer writes its bytes as they come: a BytesIO, or the
    disk cache's file (fs/cache.py ``ItemWriter``), so an hour's track is never held
    whole in memory."""

    def write(self, data: bytes, /) -> object: ...


def rendered(write: Callable[[Sink], None]) -> bytes:
    """The bytes ``write`` writes, in one buffer that becomes the result (BytesIO.getvalue
    shares it)."""
    out = io.BytesIO()
    write(out)
    return out.getvalue()


def finite(value: float | None) -> TypeGuard[float]:
    """A number that is neither None, NaN nor infinite."""
    return value is not None and math.isfinite(value)


def ground_speed(speed_2d: float | None, speed_3d: float | None) -> float | None:
    """The speed a sample shows (m/s): its 2D speed, else its 3D one; None if neither
    is finite."""
    speed = speed_2d if finite(speed_2d) else speed_3d
    return speed if finite(speed) else None


def complete(values: Sequence[float | None]) -> TypeGuard[Sequence[float]]:
    """True when ``values`` is non-empty and holds no None (one C-level scan)."""
    return bool(values) and None not in values


def complete_text(texts: Sequence[str | None]) -> TypeGuard[list[str]]:
    """True when the text column ``texts`` (a list) holds no None."""
    return isinstance(texts, list) and None not in texts


# --- time --------------------------------------------------------------------


def utc_millis(utc: float | None) -> int | None:
    """POSIX seconds → integer milliseconds, or None when unknown or out of range."""
    if utc is None or not math.isfinite(utc):
        return None
    ms = round(utc * 1000.0)
    if not MIN_UTC_MS <= ms <= MAX_UTC_MS:
        return None
    return ms


def second_text(secs: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS`` of POSIX seconds (UTC)."""
    # Not strftime: glibc's %Y does not pad years below 1000 to four digits,
    # which xsd:dateTime requires.
    t = time.gmtime(secs)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
        f"T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    )


def iso_millis(ms: int) -> str:
    """Integer milliseconds since the epoch → ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    secs, milli = divmod(ms, 1000)
    return second_text(secs) + _MILLIS_TEXT[milli]


def iso_utc(utc: float | None) -> str | None:
    """POSIX seconds → ISO 8601 UTC text with milliseconds and ``Z`` (None if unknown)."""
    ms = utc_millis(utc)
    return None if ms is None else iso_millis(ms)


# The column formatters below run loops in C (map over a C function), which hold
# the GIL from start to end: 17 ms for the latitudes of an hour of GoPro, during
# which the daemon's event loop answers nothing. A column longer than SLICE goes
# a slice at a time, and other threads may run between slices. The texts are
# the same: each value's text depends on that value alone.
SLICE = 4096

_Column = TypeVar("_Column", bound=Callable[..., list[Any]])


def in_slices(column: _Column) -> _Column:
    """``column(values, ...)``, computed SLICE values at a time (see above)."""

    @functools.wraps(column)
    def sliced(values: Sequence[Any], *args: Any) -> list[Any]:
        if len(values) <= SLICE:
            return column(values, *args)
        texts: list[Any] = []
        for start in range(0, len(values), SLICE):
            texts += column(values[start : start + SLICE], *args)
        return texts

    return cast(_Column, sliced)


# A video's track files (GPX, GeoJSON, KML, CSV) format the same columns of its
# samples: its times, latitudes, longitudes, elevations. Rendered one after the
# other (the read-ahead worker prepares a folder at once), each column was
# formatted up to four times: about a fifth of a card clip's rendering. The
# texts of the last few columns are kept, keyed by the values themselves (equal
# values give equal texts: the formatting is a function of them). Long columns
# are not kept: the renderers take them through numpy, and they would weigh.
REMEMBER_MAX_VALUES = SLICE
REMEMBERED_COLUMNS = 12


def remembered(column: _Column) -> _Column:
    """``column(values, ...)``, answered from the last REMEMBERED_COLUMNS calls when
    one had equal values and arguments (a copy: callers may change their list)."""
    kept: OrderedDict[tuple[Any, ...], tuple[tuple[Any, ...], list[Any]]] = OrderedDict()
    lock = threading.Lock()

    @functools.wraps(column)
    def recall(values: Sequence[Any], *args: Any) -> list[Any]:
        if len(values) > REMEMBER_MAX_VALUES:
            return column(values, *args)
        frozen = tuple(values)
        key = (args, hash(frozen))
        with lock:
            found = kept.get(key)
            if found is not None:
                kept.move_to_end(key)
        if found is not None and found[0] == frozen:
            return list(found[1])
        texts = column(values, *args)
        with lock:
            kept[key] = (frozen, list(texts))
            while len(kept) > REMEMBERED_COLUMNS:
                kept.popitem(last=False)
        return texts

    return cast(_Column, recall)


@remembered
@in_slices
def iso_column(utcs: Sequence[float | None]) -> list[str | None]:
    """``[iso_utc(u) for u in utcs]``, fast: each second is formatted once."""
    if not complete(utcs) or not math.isfinite(sum(utcs)):
        return [iso_utc(u) for u in utcs]
    ms = list(map(round, map(mul, utcs, repeat(1000.0))))
    if not MIN_UTC_MS <= min(ms) <= max(ms) <= MAX_UTC_MS:
        return [iso_utc(u) for u in utcs]
    secs = list(map(floordiv, ms, repeat(1000)))
    seconds = {s: second_text(s) for s in set(secs)}
    millis = map(_MILLIS_TEXT.__getitem__, map(mod, ms, repeat(1000)))
    return list(map(str.__add__, map(seconds.__getitem__, secs), millis))


# --- numbers -------------------------------------------------------------------


def rounded(value: float | None, decimals: int) -> float | None:
    """Round for output; None for missing or non-finite values; never ``-0.0``."""
    if value is None or not math.isfinite(value):
        return None
    # Adding 0.0 turns -0.0 into 0.0, so "-0" never appears in any output.
    return round(value, decimals) + 0.0


def gpx_number(value: float) -> str:
    """A number as gpxpy writes it (``gpxpy.utils.make_str``): ``str()``, never exponents."""
    text = str(value)
    if "e" not in text:
        return text
    return format(value, ".10f").rstrip("0").rstrip(".")


def short_number(value: float | None, decimals: int) -> str | None:
    """The reference short form: ``gpx_number(rounded(value, decimals))``."""
    result = rounded(value, decimals)
    return None if result is None else gpx_number(result)


# number_column's fast path is exact while the rounded value has at most 15
# significant digits: then the shortest repr of the rounded double is that
# decimal itself, i.e. the fixed-point text without its trailing zeros.
_SHORT_LIMITS = {n: 10.0 ** (15 - n) for n in range(11)}
# Format distinct values once when, in a probe of the first values, each
# repeats this many times on average (a cheap guess; the text is the same
# either way, only the speed differs).
_REPEAT_FACTOR = 4
_REPEAT_PROBE = 256


def _repetitive(values: Sequence[float]) -> bool:
    probe = values[:_REPEAT_PROBE]
    return len(probe) >= 2 * _REPEAT_FACTOR and len(set(probe)) * _REPEAT_FACTOR <= len(probe)


@remembered
@in_slices
def number_column(values: Sequence[float | None], decimals: int) -> list[str | None]:
    """``[short_number(v, decimals) for v in values]``, about 3x faster.

    Both round the exact binary value half-to-even (``round`` and ``%f`` are
    correctly rounded), so the texts agree; a hypothesis test checks it.
    """
    if not complete(values):
        if values.count(None) == len(values):  # a field the device never records
            return [None] * len(values)
        return [short_number(v, decimals) for v in values]
    floats = values
    if _repetitive(floats):
        # DOP changes once a second at 18 Hz: format each distinct value once.
        # (0.0 and -0.0 share a key; both are written "0.0".)
        distinct = list(set(floats))
        table = dict(zip(distinct, number_column(distinct, decimals), strict=True))
        return list(map(table.__getitem__, floats))
    limit = _SHORT_LIMITS[decimals]
    if not (math.isfinite(sum(floats)) and -limit < min(floats) and max(floats) < limit):
        return [short_number(v, decimals) for v in values]
    texts = list(map(str.rstrip, map(f"%.{decimals}f".__mod__, floats), repeat("0")))
    if "-0." in texts:  # a negative value that rounds to zero: written "0.0"
        return [short_number(v, decimals) for v in values]
    if ".\n" in "\n".join(texts) + "\n":  # whole numbers: "20." is written "20.0"
        return [t + "0" if t[-1] == "." else t for t in texts]
    return list(texts)


def fixed(value: float | None, decimals: int) -> str:
    """Fixed-point text for CSV (``''`` when missing); ``-0.000`` is written ``0.000``."""
    if value is None or not math.isfinite(value):
        return ""
    text = f"{value:.{decimals}f}"
    if text[0] == "-" and not text.strip("-0."):
        return text[1:]
    return text


@in_slices
def fixed_column(values: Sequence[float | None], decimals: int) -> list[str]:
    """``[fixed(v, decimals) for v in values]``, with the common case done in bulk."""
    if not complete(values):
        if values.count(None) == len(values):
            return [""] * len(values)
        return [fixed(v, decimals) for v in values]
    floats = values
    if _repetitive(floats):
        distinct = list(set(floats))
        table = dict(zip(distinct, fixed_column(distinct, decimals), strict=True))
        return list(map(table.__getitem__, floats))
    if not math.isfinite(sum(floats)):
        return [fixed(v, decimals) for v in values]
    texts = list(map(f"%.{decimals}f".__mod__, floats))
    if f"-{0:.{decimals}f}" in texts:
        return [fixed(v, decimals) for v in values]
    return texts


def course_deg(value: float | None) -> float | None:
    """A course folded into [0, 360) after rounding, as bearing schemas require."""
    course = rounded(value, COURSE_DECIMALS)
    if course is None:
        return None
    course = rounded(course % 360.0, COURSE_DECIMALS)
    return 0.0 if course is None or course >= 360.0 else course


# Courses in [0, this) round to a value below 360 and need no folding.
COURSE_FAST_MAX = 359.995


def course_column(values: Sequence[float | None]) -> list[str | None]:
    """Course text per sample: ``gpx_number(course_deg(v))``, fast when no folding is needed."""
    if (
        complete(values)
        and math.isfinite(sum(values))
        and min(values) >= 0.0
        and max(values) < COURSE_FAST_MAX
    ):
        return number_column(values, COURSE_DECIMALS)
    if values.count(None) == len(values):  # GoPro's GPS5 has no course
        return [None] * len(values)
    return [None if (c := course_deg(v)) is None else gpx_number(c) for v in values]


def speed_column(values: Sequence[float | None]) -> list[str | None]:
    """Speed text per sample; a negative speed (no schema allows one) becomes None."""
    texts = number_column(values, SPEED_DECIMALS)
    if (complete(values) and min(values) >= 0.0) or texts.count(None) == len(texts):
        return texts
    return [None if t is None or t[0] == "-" else t for t in texts]


# --- assembly ------------------------------------------------------------------

# A piece of a row or point template: literal text, or one text per row.
Piece = str | list[str]


def interleave(pieces: Sequence[Piece], n: int) -> str:
    """Join a template for ``n`` rows: row i takes element i of every column piece.

    Slice assignment into one flat list, then joins: no Python code per row.
    One join of an hour of CSV rows (1.3 million strings) would hold the GIL for
    ~20 ms: SLICE rows are joined at a time.
    """
    merged: list[Piece] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    width = len(merged)
    out = [""] * (n * width)
    for j, piece in enumerate(merged):
        out[j::width] = [piece] * n if isinstance(piece, str) else piece
    step = SLICE * width
    return "".join(["".join(out[start : start + step]) for start in range(0, len(out), step)])


# --- text ----------------------------------------------------------------------


def safe_text(text: str) -> str:
    """Text that encodes to UTF-8 and is legal in XML 1.0.

    File names come from ``os.fsdecode`` and may hold lone surrogates (bytes that
    were not UTF-8); XML 1.0 forbids most control characters. Both become U+FFFD
    rather than making a renderer fail on a strangely named video.
    """
    if text.isprintable():
        return text
    return "".join(
        ch
        if (ch in "\t\n\r" or ch >= " ")
        and not ("\ud800" <= ch <= "\udfff" or ch in "\ufffe\uffff")
        else "\ufffd"
        for ch in text
    )
