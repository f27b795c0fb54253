"""The file view without FUSE (fs/view.py): what a batch exporter calls."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from telemetryfs.fs import view
from tests.gpx_tools import gpsbabel_points, validate
from tests.paths import SAMPLES

KARMA = SAMPLES / "gopro/mp4/karma.mp4"


def test_build_gives_every_small_file_of_a_video_folder(tmp_path: Path) -> None:
    files = view.build(KARMA)
    assert {"info.json", "track.gpx", "track.csv", "track.kml", "track.geojson"} <= set(files)
    assert {"preview.svg", "track.srt", "track.vtt"} <= set(files)
    assert not any(name.endswith(".gpmf") for name in files)  # raw files are products, not built
    info = json.loads(files["info.json"])
    gpx = tmp_path / "track.gpx"
    gpx.write_bytes(files["track.gpx"])
    validate(gpx)
    assert gpsbabel_points(gpx) == info["gps_valid"] > 0


def test_open_product_serves_raw_files_from_the_source(tmp_path: Path) -> None:
    # gopro2gpx-karma.bin is the ffmpeg extract of karma.mp4's gpmd track (PROVENANCE.md).
    truth = (SAMPLES / "gopro/gpmf/gopro2gpx-karma.bin").read_bytes()
    with view.open_product(KARMA, "streams/all.gpmf") as f:
        assert f.read() == truth
        f.seek(100)
        assert f.read(50) == truth[100:150]


def test_open_product_decodes_stream_csvs_as_they_are_read() -> None:
    with view.open_product(KARMA, "streams/ACCL.csv") as f:
        text = f.read().decode()
        size = f.seek(0, io.SEEK_END)
    assert size == len(text.encode())
    rows = list(csv.reader(io.StringIO(text)))
    info = json.loads(view.build(KARMA)["info.json"])
    accl = next(s for s in info["stream_details"] if s["name"] == "ACCL")
    assert len(rows) - 1 == accl["samples"] > 0
    with pytest.raises(FileNotFoundError):
        view.open_product(KARMA, "streams/NOPE.csv")
