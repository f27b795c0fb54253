"""The GPS rows a GoPro walk collects, one block a payload and stream, kept as stored.

A leaf module: the per-sample decoder (gps) and the column decoder (gps_columns)
both read these blocks, so neither imports the other for their type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telemetryfs.parsers.encodings import gpmf

# Each payload's (first-sample UTC or None, span in seconds or None).
Times = list[tuple[float | None, float | None]]


@dataclass(slots=True)
class GpsBlock:
    payload: int
    device: int | str
    key: bytes
    codec: gpmf.Codec
    data: bytes  # the rows, unscaled, as stored (whole rows only)
    div: tuple[float, ...]  # SCAL divisor of each column
    offset: int
    gpsu: float | None = None
    gpsu_raw: bytes = b""
    fix: int | None = None
    dop: float | None = None

    @property
    def count(self) -> int:
        return len(self.data) // gpmf.raw_row_size(self.codec)

    @property
    def rows(self) -> list[tuple[Any, ...]]:
        return gpmf.raw_rows(self.codec, self.data)
