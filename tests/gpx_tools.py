"""The tools users open our GPX in, as tests call them: xmllint, GDAL, gpsbabel."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.paths import GPX_XSD


def validate(gpx: Path) -> None:
    """xmllint against the official GPX 1.1 schema (raises CalledProcessError if invalid)."""
    subprocess.run(
        ["xmllint", "--noout", "--schema", str(GPX_XSD), str(gpx)], check=True, capture_output=True
    )


def ogr_points(gpx: Path) -> int:
    """Track points as GDAL's GPX driver counts them."""
    ogr = subprocess.run(
        ["ogrinfo", "-ro", "-so", str(gpx), "track_points"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(next(line for line in ogr.splitlines() if "Feature Count" in line).split(":")[1])


def gpsbabel_points(gpx: Path) -> int:
    """Track points as gpsbabel reads them (rows of its unicsv output)."""
    rows = subprocess.run(
        ["gpsbabel", "-t", "-i", "gpx", "-f", str(gpx), "-o", "unicsv", "-F", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return len(rows.splitlines()) - 1
