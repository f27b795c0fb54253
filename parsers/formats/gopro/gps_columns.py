"""GPS5 and GPS9 tracks decoded with numpy across all payloads, as a GpsTrack.

The same values as the per-sample path in gps.py, double for double (tests
compare both on every sample and on the hour-long footage): the same
divisions by the same divisors, the same ``anchor + i * span / n`` in the same
order, so a CSV or GPX written from either is byte-identical. Built once per
track from every payload's raw rows laid end to end, which is where it pays:
an hour is 3,600 payloads of 18 rows, ~65,000 samples.

Returns None (the caller takes the per-sample path) when the blocks do not
share one numeric row layout.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from typing import Any

import numpy as np

from telemetryfs.parsers.encodings import gpmf
from telemetryfs.parsers.formats.gopro.gps_blocks import GpsBlock, Times
from telemetryfs.parsers.model import ParseWarning
from telemetryfs.parsers.track import GpsTrack

Array = np.ndarray[Any, Any]

GPS_EPOCH_2000 = 946_684_800  # 2000-01-01T00:00:00Z, GPS9 day 0
MIN_UTC = calendar.timegm((gpmf.MIN_GPS_YEAR, 1, 1, 0, 0, 0))
MAX_UTC = calendar.timegm((gpmf.MAX_GPS_YEAR + 1, 1, 1, 0, 0, 0))


class _Rows:
    """Every block's raw rows as float64 columns, with each row's block."""

    def __init__(self, blocks: Sequence[GpsBlock], dtype: np.dtype[Any], width: int) -> None:
        self.counts = np.array([b.count for b in blocks], dtype=np.intp)
        self.n = int(self.counts.sum())
        self.records = np.frombuffer(b"".join(b.data for b in blocks), dtype, count=self.n)
        self.block = np.repeat(np.arange(len(blocks)), self.counts)
        starts = np.cumsum(self.counts) - self.counts
        # Each row's index within its block, and its block's row count.
        self.index = (np.arange(self.n) - starts[self.block]).astype(np.float64)
        self.size = self.counts[self.block].astype(np.float64)
        self.divisors = np.array([b.div[:width] for b in blocks], dtype=np.float64)

    def raw(self, column: int) -> Array:
        return self.records[f"c{column}"].astype(np.float64)

    def scaled(self, column: int) -> Array:
        """raw / the block's divisor: what ``r[column] / div[column]`` gives."""
        scaled: Array = self.raw(column) / self.divisors[self.block, column]
        return scaled

    def per_row(self, values: Sequence[float | None]) -> tuple[Array, Array | None]:
        """A value per block, repeated for its rows (NaN for None), and the None mask."""
        none = [v is None for v in values]
        array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        mask = np.array(none, dtype=bool)[self.block] if any(none) else None
        return array[self.block], mask


def _rows(blocks: Sequence[GpsBlock], width: int) -> _Rows | None:
    if not blocks:
        return None
    codec = blocks[0].codec
    if any(b.codec.fields != codec.fields or b.codec.widths != codec.widths for b in blocks):
        return None
    dtype = gpmf.raw_dtype(codec)
    if dtype is None or len(codec.fields) < width:
        return None
    return _Rows(blocks, dtype, width)


def _video_times(
    rows: _Rows, times: Times, blocks: Sequence[GpsBlock]
) -> tuple[Array, Array | None]:
    """``start + i * (dur or 0.0) / n`` of each row (gps._video_times)."""
    starts, start_none = rows.per_row([times[b.payload][0] for b in blocks])
    durations, _ = rows.per_row([times[b.payload][1] or 0.0 for b in blocks])
    return starts + rows.index * durations / rows.size, start_none


def _in_range(lat: Array, lon: Array) -> Array:
    """gps._in_range of each row."""
    on_earth = (lat >= -90) & (lat <= 90) & (lon >= -180) & (lon <= 180)
    inside: Array = on_earth & ~((lat == 0) & (lon == 0))
    return inside


def gps5_track(
    blocks: Sequence[GpsBlock], times: Times, anchors: Sequence[tuple[float | None, float]]
) -> GpsTrack | None:
    """GPS5 rows: lat, lon, alt, 2D speed, 3D speed; fix and DOP are the payload's."""
    rows = _rows(blocks, 5)
    if rows is None:
        return None
    with np.errstate(all="ignore"):
        lat, lon, ele, speed_2d, speed_3d = (rows.scaled(c) for c in range(5))
        anchor, anchor_none = rows.per_row([a for a, _ in anchors])
        spans, _ = rows.per_row([span for _, span in anchors])
        utc = anchor + rows.index * spans / rows.size
        video, video_none = _video_times(rows, times, blocks)
        fix, fix_none = rows.per_row([b.fix for b in blocks])
        dop, dop_none = rows.per_row([b.dop for b in blocks])
        fix_ok = [
            not (b.fix is not None and b.fix < 2) and a is not None
            for b, (a, _) in zip(blocks, anchors, strict=True)
        ]
        valid = np.array(fix_ok, dtype=bool)[rows.block] & _in_range(lat, lon)
    columns = {
        "utc": utc, "video_time": video, "lat": lat, "lon": lon, "ele": ele,
        "speed_2d": speed_2d, "speed_3d": speed_3d, "fix": fix, "dop": dop,
    }  # fmt: skip
    missing = {"utc": anchor_none, "video_time": video_none, "fix": fix_none, "dop": dop_none}
    return GpsTrack(columns, {f: m for f, m in missing.items() if m is not None}, valid)


def gps9_track(
    blocks: Sequence[GpsBlock], times: Times, warnings: list[ParseWarning]
) -> GpsTrack | None:
    """GPS9 rows: lat, lon, alt, 2D, 3D, days since 2000, seconds of day, DOP, fix."""
    rows = _rows(blocks, 9)
    if rows is None:
        return None
    with np.errstate(all="ignore"):
        lat, lon, ele, speed_2d, speed_3d, days, seconds, dop, fix = (
            rows.scaled(c) for c in range(9)
        )
        utc = GPS_EPOCH_2000 + days * 86400 + seconds
        utc_ok = (utc >= MIN_UTC) & (utc < MAX_UTC)
        fix = np.trunc(fix)  # int(r[8] / d[8])
        valid = (fix >= 2) & utc_ok & _in_range(lat, lon)
        video, video_none = _video_times(rows, times, blocks)
    if not np.isfinite(fix).all():
        return None  # int() of it raises in the per-sample path
    for i in np.flatnonzero(~utc_ok).tolist():
        raw = (rows.records["c5"][i].item(), rows.records["c6"][i].item())
        warnings.append(
            ParseWarning(blocks[rows.block[i]].offset, f"GPS9 time out of range: {raw}")
        )
    columns = {
        "utc": utc, "video_time": video, "lat": lat, "lon": lon, "ele": ele,
        "speed_2d": speed_2d, "speed_3d": speed_3d, "fix": fix, "dop": dop,
    }  # fmt: skip
    missing = {"utc": ~utc_ok, "video_time": video_none}
    return GpsTrack(columns, {f: m for f, m in missing.items() if m is not None}, valid)
