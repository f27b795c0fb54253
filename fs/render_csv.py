"""``track.csv``, ``streams/gps.csv`` and ``streams/<FOURCC>.csv``: tables for spreadsheets.

Dialect (RFC 4180 with one documented choice):

- comma separated, UTF-8 without BOM, a header row;
- lines end with ``\\n`` (LF), as Python's csv module, pandas and most Unix
  tools write and every RFC 4180 reader we care about (pandas, LibreOffice,
  Excel, csvkit, ``csv.reader``) accepts; ``wc -l`` then counts rows;
- a field is quoted only when it holds a comma, a double quote, CR or LF,
  and quotes inside are doubled (csv.QUOTE_MINIMAL; a test checks that
  ``csv.reader`` reads back exactly what was written).

``track.csv`` has one row per GPS sample, valid or not (the GPX leaves the
invalid ones out; the CSV is the complete record). Columns::

    utc_time,video_time_s,lat,lon,ele_m,speed_mps,fix,dop,speed3d_mps,course_deg,valid,<extra…>

Numbers are fixed-point with a set number of decimals (``render_common``):
``lat``/``lon`` 7, ``video_time_s``/``ele_m``/speeds 3, ``dop``/``course_deg`` 2;
an unknown value is an empty field. ``utc_time`` is ISO 8601 UTC with
milliseconds and ``Z``; ``fix`` is ``none``/``2d``/``3d``; ``valid`` is
``true``/``false``; the course is written as recorded (not folded into
[0, 360) as in the GPX). ``Telemetry.extra_columns`` values follow: integers
as is, floats rounded to 6 decimals in their shortest form (no float32 noise,
no ``-0``), text quoted as needed.

``streams/gps.csv`` (the GPS stream of formats whose Stream has no codec) is the
same table, byte for byte: serve ``render_csv(telemetry)`` for it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import repeat
from operator import add
from typing import cast

from telemetryfs.parsers.model import FIX_NAMES, GpsSample, Telemetry, Value
from telemetryfs.parsers.track import field_values

from .render_common import (
    COURSE_DECIMALS,
    DOP_DECIMALS,
    ELE_DECIMALS,
    LATLON_DECIMALS,
    SLICE,
    SPEED_DECIMALS,
    TIME_DECIMALS,
    Piece,
    Sink,
    fixed_column,
    interleave,
    iso_column,
    rendered,
    safe_text,
)

TRACK_COLUMNS = (
    "utc_time",
    "video_time_s",
    "lat",
    "lon",
    "ele_m",
    "speed_mps",
    "fix",
    "dop",
    "speed3d_mps",
    "course_deg",
    "valid",
)
# Extra and stream values: 6 decimals keeps microsecond timestamps and sensor
# resolution, and drops the noise of float32 values seen as doubles.
VALUE_DECIMALS = 6
# Stream rows are spread over each chunk's duration; at up to 3.2 kHz (Fusion
# gyro) milliseconds would repeat, so stream times get microseconds.
STREAM_TIME_DECIMALS = 6
NEWLINE = "\n"
_SPECIAL = frozenset(',"\r\n')


def csv_field(text: str) -> str:
    """One field, quoted per RFC 4180 when it has to be (and made UTF-8 safe)."""
    text = safe_text(text)
    if _SPECIAL.isdisjoint(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def value_text(value: Value) -> str:
    """A free-form value (extra column or stream sample) as CSV field text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return repr(round(value, VALUE_DECIMALS) + 0.0)
    return csv_field(str(value))


def csv_row(fields: Iterable[str]) -> str:
    """Field texts (already quoted) joined into one line."""
    return ",".join(fields) + NEWLINE


def render_csv_header(telemetry: Telemetry) -> bytes:
    """The header line of ``track.csv``."""
    names = TRACK_COLUMNS + tuple(telemetry.extra_columns)
    return csv_row(map(csv_field, names)).encode("utf-8")


def render_csv(telemetry: Telemetry) -> bytes:
    """The ``track.csv`` of one video (also its ``streams/gps.csv``).

    Returns:
        UTF-8 CSV: the header, then one row per ``telemetry.gps`` sample.
    """
    return rendered(lambda out: write_csv(telemetry, out))


def write_csv(telemetry: Telemetry, out: Sink) -> None:
    """``render_csv``'s bytes, written into ``out`` as they come."""
    # Rows go SLICE at a time: an hour's columns at once held ~28 MB of strings at
    # the peak. The text is the same (each field depends on its sample alone).
    samples = telemetry.gps
    extra_count = len(telemetry.extra_columns)
    out.write(render_csv_header(telemetry))
    for start in range(0, len(samples), SLICE):
        out.write(_csv_rows(samples[start : start + SLICE], extra_count).encode("utf-8"))


def _csv_rows(samples: Sequence[GpsSample], extra_count: int) -> str:
    n = len(samples)
    columns: list[list[str]] = [
        [t or "" for t in iso_column(field_values(samples, "utc"))],
        fixed_column(field_values(samples, "video_time"), TIME_DECIMALS),
        fixed_column(field_values(samples, "lat"), LATLON_DECIMALS),
        fixed_column(field_values(samples, "lon"), LATLON_DECIMALS),
        fixed_column(field_values(samples, "ele"), ELE_DECIMALS),
        fixed_column(field_values(samples, "speed_2d"), SPEED_DECIMALS),
        [FIX_NAMES.get(s.fix, "") if s.fix is not None else "" for s in samples],
        fixed_column(field_values(samples, "dop"), DOP_DECIMALS),
        fixed_column(field_values(samples, "speed_3d"), SPEED_DECIMALS),
        fixed_column(field_values(samples, "course"), COURSE_DECIMALS),
        ["true" if s.valid else "false" for s in samples],
    ]
    columns += [_extra_column(field_values(samples, "extra"), k) for k in range(extra_count)]
    pieces: list[Piece] = []
    for column in columns:
        pieces += [column, ","]
    pieces[-1] = NEWLINE
    return interleave(pieces, n) if n else ""


def _extra_column(extras: Sequence[tuple[Value, ...]], k: int) -> list[str]:
    # A parser that filled fewer extras than it declared gets empty fields.
    values = [e[k] if k < len(e) else None for e in extras]
    kinds = set(map(type, values))
    if kinds == {int}:  # counters, raw GPSP: the common case, done in bulk
        return list(map(str, values))
    if kinds == {float}:
        floats = cast(list[float], values)
        if math.isfinite(sum(floats)):
            # value_text of finite floats, its three calls mapped over the column.
            rounded = map(add, map(round, floats, repeat(VALUE_DECIMALS)), repeat(0.0))
            return list(map(repr, rounded))
    if kinds == {str}:  # a status letter, a hemisphere: each text quoted once
        strings = cast(list[str], values)
        texts = {text: csv_field(text) for text in set(strings)}
        return list(map(texts.__getitem__, strings))
    return [value_text(v) for v in values]
