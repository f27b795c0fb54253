"""The renderer API as the FUSE layer uses it: bytes out, deterministic, no FUSE imports."""

from __future__ import annotations

import ast
import pickle
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import gpxpy
import pytest

from telemetryfs.fs import render
from telemetryfs.parsers.model import Telemetry
from tests.paths import GPX_XSD, ROOT, SAMPLES
from tests.render_samples import (
    edge_track,
    random_track,
    realistic_track,
    require_tool,
    same_xml,
    three_points,
)

# Every renderer module must stay free of FUSE imports, ours or not.
RENDER_MODULES = sorted((ROOT / "fs").glob("render*.py"))
OUR_MODULES = [
    ROOT / "fs" / f"{name}.py"
    for name in (
        "render",
        "render_common",
        "render_segments",
        "render_gpx",
        "render_gpx_points",
        "render_csv",
        "render_geo",
        "render_info",
    )
]


def _all_outputs(t: Telemetry) -> dict[str, bytes]:
    return {
        "track.gpx": render.render_gpx(t, name="GOPR0001.MP4"),
        "track.csv": render.render_csv(t),
        "track.kml": render.render_kml(t, name="GOPR0001.MP4"),
        "track.geojson": render.render_geojson(t, name="GOPR0001.MP4"),
        "info.json": render.render_info(t, source_name="GOPR0001.MP4"),
    }


def test_every_renderer_returns_bytes() -> None:
    for name, data in _all_outputs(three_points()).items():
        assert isinstance(data, bytes), name
        data.decode("utf-8")


def test_same_telemetry_same_bytes_even_after_a_pickle_round_trip() -> None:
    # The disk cache pickles Telemetry: a reloaded one must render identically.
    for t in (three_points(), edge_track(), random_track(3), realistic_track(500)):
        first = _all_outputs(t)
        assert _all_outputs(t) == first
        assert _all_outputs(pickle.loads(pickle.dumps(t))) == first


def test_same_bytes_in_a_fresh_interpreter() -> None:
    # Nothing may depend on hash seeds or process state.
    code = (
        "import hashlib, sys; sys.path.insert(0, '.');"
        "from tests.render_samples import random_track;"
        "from tests.fs.test_render import _all_outputs;"
        "print(hashlib.sha256(b''.join(_all_outputs(random_track(11)).values())).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={"PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1


def test_no_fuse_imports_in_renderers() -> None:
    assert RENDER_MODULES
    for path in RENDER_MODULES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] in {"pyfuse3", "trio"} for n in names), path


def test_render_modules_stay_small() -> None:
    for path in OUR_MODULES:
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 400, path.name


def test_gps_table_is_the_track_csv() -> None:
    t = edge_track()
    assert render.render_gps_table(t) == render.render_csv(t)


def test_failed_video_still_has_info() -> None:
    data = render.render_info(None, source_name="broken.MP4", error="truncated")
    assert b'"error": "truncated"' in data


def test_one_hour_every_file() -> None:
    t = realistic_track(65_000, course=True)
    lines = []
    renderers: list[tuple[str, Callable[[], bytes]]] = [
        ("track.gpx", lambda: render.render_gpx(t, name="x")),
        ("track.csv", lambda: render.render_csv(t)),
        ("track.kml", lambda: render.render_kml(t, name="x")),
        ("track.geojson", lambda: render.render_geojson(t, name="x")),
        ("info.json", lambda: render.render_info(t, source_name="x")),
    ]
    for name, fn in renderers:
        start = time.perf_counter()
        data = fn()
        took = time.perf_counter() - start
        lines.append(f"{name:14} {took * 1000:6.0f} ms {len(data) / 1e6:6.1f} MB")
        assert took < 3.0, name
    print("\n65,000 samples:\n" + "\n".join(lines))


def test_render_is_a_module_of_the_file_view() -> None:
    assert Path(render.__file__).name == "render.py"


@pytest.mark.parametrize("sample", ["hero5-trimmed.mp4", "karma.mp4"])
def test_real_gopro_footage_renders_valid_gpx(sample: str, tmp_path: Path) -> None:
    # End to end with the real parsers: whatever they produce must render to a
    # GPX that validates and that gpxpy reads back point for point.
    from telemetryfs.parsers.extract import extract

    xmllint = require_tool("xmllint")
    t = extract(SAMPLES / "gopro" / "mp4" / sample)
    assert t.valid_gps
    data = render.render_gpx(t, name=sample)
    assert same_xml(render.render_gpx(t, name=sample, fast=False), data)
    path = tmp_path / "track.gpx"
    path.write_bytes(data)
    subprocess.run([xmllint, "--noout", "--schema", str(GPX_XSD), str(path)], check=True)
    parsed = gpxpy.parse(data.decode())
    assert sum(len(seg.points) for seg in parsed.tracks[0].segments) == len(t.valid_gps)
    for output in _all_outputs(t).values():
        output.decode("utf-8")
