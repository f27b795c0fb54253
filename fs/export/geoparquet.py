"""GeoParquet 1.1 tables of parsed clips: one row per GPS sample, one row per clip.

Pure functions from a parsed clip to Arrow tables, and the writer that adds
the ``geo`` metadata (WKB geometry, OGC:CRS84, the bbox, and for clips a bbox
covering column). pyarrow is imported here only, so the core install, which
never exports, does not need it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from telemetryfs.parsers.model import GpsSample, Telemetry
from telemetryfs.parsers.track import field_values

GEO_VERSION = "1.1.0"
UNKNOWN_DATE = "unknown"  # the partition of samples with no UTC time

# OGC:CRS84 (WGS 84, longitude first) as PROJJSON: GeoParquet's default CRS,
# named explicitly so readers need not know the default.
CRS84: dict[str, Any] = {
    "$schema": "https://proj.org/schemas/v0.7/projjson.schema.json",
    "type": "GeographicCRS",
    "name": "WGS 84 (CRS84)",
    "datum": {
        "type": "GeodeticReferenceFrame",
        "name": "World Geodetic System 1984",
        "ellipsoid": {
            "name": "WGS 84",
            "semi_major_axis": 6378137,
            "inverse_flattening": 298.257223563,
        },
    },
    "coordinate_system": {
        "subtype": "ellipsoidal",
        "axis": [
            {
                "name": "Geodetic longitude",
                "abbreviation": "Lon",
                "direction": "east",
                "unit": "degree",
            },
            {
                "name": "Geodetic latitude",
                "abbreviation": "Lat",
                "direction": "north",
                "unit": "degree",
            },
        ],
    },
    "id": {"authority": "OGC", "code": "CRS84"},
}

UTC_TYPE = pa.timestamp("us", tz="UTC")

SAMPLE_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("version", pa.string()),
        ("camera", pa.string()),
        ("format", pa.string()),
        ("utc", UTC_TYPE),
        ("video_time_s", pa.float64()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("ele", pa.float64()),
        ("speed", pa.float64()),
        ("speed3d", pa.float64()),
        ("course", pa.float64()),
        ("fix", pa.int8()),
        ("dop", pa.float64()),
        ("valid", pa.bool_()),
        ("geometry", pa.binary()),
    ]
)

BBOX_TYPE = pa.struct(
    [("xmin", pa.float64()), ("ymin", pa.float64()), ("xmax", pa.float64()), ("ymax", pa.float64())]
)

CLIP_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("size", pa.int64()),
        ("version", pa.string()),
        ("format", pa.string()),
        ("camera", pa.string()),
        ("start", UTC_TYPE),
        ("end", UTC_TYPE),
        ("samples", pa.int64()),
        ("valid_samples", pa.int64()),
        ("error", pa.string()),
        ("bbox", BBOX_TYPE),
        ("geometry", pa.binary()),
    ]
)

_POINT_Z = struct.Struct("<BIddd")
_WKB_POINT_Z = 1001  # ISO WKB type codes
_WKB_LINESTRING = 2


@dataclass(frozen=True, slots=True)
class ClipId:
    """Which clip a row comes from: its path below SOURCE, size and version key."""

    path: str
    size: int
    version: str


def point_z(lon: float, lat: float, ele: float | None) -> bytes:
    """ISO WKB of a Point Z (a missing height is NaN, as WKB allows)."""
    return _POINT_Z.pack(1, _WKB_POINT_Z, lon, lat, math.nan if ele is None else ele)


def linestring(points: Sequence[tuple[float, float]]) -> bytes:
    """ISO WKB of a 2-D LineString."""
    head = struct.pack("<BII", 1, _WKB_LINESTRING, len(points))
    return head + b"".join(struct.pack("<dd", x, y) for x, y in points)


def _utc(seconds: float | None) -> dt.datetime | None:
    if seconds is None or not math.isfinite(seconds):
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def date_of(seconds: float | None) -> str:
    """The hive partition value of a sample time (YYYY-MM-DD, UTC)."""
    when = _utc(seconds)
    return UNKNOWN_DATE if when is None else when.date().isoformat()


def _located(s: GpsSample) -> bool:
    return s.lat is not None and s.lon is not None


def sample_rows(clip: ClipId, t: Telemetry) -> dict[str, list[Any]]:
    """The samples table's columns for one parsed clip (every sample, valid or not)."""
    gps = t.gps
    return {
        "source": [clip.path] * len(gps),
        "version": [clip.version] * len(gps),
        "camera": [t.camera] * len(gps),
        "format": [t.format] * len(gps),
        "utc": [_utc(u) for u in field_values(gps, "utc")],
        "video_time_s": field_values(gps, "video_time"),
        "lat": field_values(gps, "lat"),
        "lon": field_values(gps, "lon"),
        "ele": field_values(gps, "ele"),
        "speed": field_values(gps, "speed_2d"),
        "speed3d": field_values(gps, "speed_3d"),
        "course": field_values(gps, "course"),
        "fix": field_values(gps, "fix"),
        "dop": field_values(gps, "dop"),
        "valid": field_values(gps, "valid"),
        "geometry": [
            point_z(s.lon, s.lat, s.ele) if s.lon is not None and s.lat is not None else None
            for s in gps
        ],
    }


def clip_row(clip: ClipId, t: Telemetry | None, error: str | None) -> dict[str, Any]:
    """The clips table's row of one clip; a clip that failed has its ``error`` and no track."""
    gps = t.gps if t is not None else ()
    valid = [s for s in gps if s.valid and _located(s)]
    times = [s.utc for s in gps if s.utc is not None and math.isfinite(s.utc)]
    points = [(s.lon, s.lat) for s in valid if s.lon is not None and s.lat is not None]
    bbox = None
    if points:
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        bbox = {"xmin": min(xs), "ymin": min(ys), "xmax": max(xs), "ymax": max(ys)}
    return {
        "path": clip.path,
        "size": clip.size,
        "version": clip.version,
        "format": t.format if t is not None else None,
        "camera": t.camera if t is not None else None,
        "start": _utc(min(times)) if times else None,
        "end": _utc(max(times)) if times else None,
        "samples": len(gps),
        "valid_samples": len(valid),
        "error": error if error is not None else (t.error if t is not None else None),
        "bbox": bbox,
        "geometry": linestring(points) if len(points) >= 2 else None,
    }


def samples_table(columns: dict[str, list[Any]]) -> pa.Table:
    """Samples sorted by source and time (UTC, then video time)."""
    table = pa.table(columns, schema=SAMPLE_SCHEMA)
    return table.sort_by(
        [("source", "ascending"), ("utc", "ascending"), ("video_time_s", "ascending")]
    )


def clips_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(sorted(rows, key=lambda r: r["path"]), schema=CLIP_SCHEMA)


def _bbox_of(xmin: Any, ymin: Any, xmax: Any, ymax: Any) -> list[float]:
    values = [xmin, ymin, xmax, ymax]
    return [float(v) if v is not None else math.nan for v in values]


def geo_metadata(table: pa.Table, kind: str) -> dict[str, Any]:
    """The ``geo`` key of a samples (``Point Z``) or clips (``LineString``) file."""
    import pyarrow.compute as pc

    if kind == "samples":
        located = table.filter(pc.is_valid(table["geometry"]))
        lon, lat = located["lon"], located["lat"]
        bbox = _bbox_of(
            *(pc.min(lon).as_py(), pc.min(lat).as_py(), pc.max(lon).as_py(), pc.max(lat).as_py())
        )
        column: dict[str, Any] = {"geometry_types": ["Point Z"]}
    else:
        boxes = table["bbox"]
        bbox = _bbox_of(
            pc.min(pc.struct_field(boxes, "xmin")).as_py(),
            pc.min(pc.struct_field(boxes, "ymin")).as_py(),
            pc.max(pc.struct_field(boxes, "xmax")).as_py(),
            pc.max(pc.struct_field(boxes, "ymax")).as_py(),
        )
        column = {
            "geometry_types": ["LineString"],
            "covering": {"bbox": {k: ["bbox", k] for k in ("xmin", "ymin", "xmax", "ymax")}},
        }
    column = {"encoding": "WKB", **column, "crs": CRS84}
    if all(math.isfinite(v) for v in bbox):
        column["bbox"] = bbox
    return {"version": GEO_VERSION, "primary_column": "geometry", "columns": {"geometry": column}}


def write(table: pa.Table, path: Path, kind: str) -> None:
    """Write one GeoParquet file atomically (a reader never sees half a file)."""
    meta = dict(table.schema.metadata or {})
    meta[b"geo"] = json.dumps(geo_metadata(table, kind)).encode()
    table = table.replace_schema_metadata(meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    pq.write_table(table, partial, compression="zstd")
    partial.replace(path)
