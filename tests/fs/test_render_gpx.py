"""track.gpx: golden bytes, fast path == gpxpy, segment rules, GPX 1.1 validity with outside tools."""

from __future__ import annotations

import dataclasses
import math
import re
import subprocess
import time
from pathlib import Path
from typing import Any
from unittest.mock import patch

import gpxpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemetryfs.fs import render_gpx_points
from telemetryfs.fs.render import render_gpx
from telemetryfs.fs.render_gpx import dop_kind
from telemetryfs.fs.render_segments import split_segments
from telemetryfs.parsers.model import FIX_3D, GpsSample, Telemetry
from tests.paths import GPX_XSD
from tests.render_samples import (
    T0,
    edge_track,
    random_track,
    realistic_track,
    require_tool,
    same_xml,
    three_points,
)

# Written by hand from the rules in fs/render_gpx.py, not pasted from output:
# gpxpy's two-space layout for the frame, one line per point, ms + Z times,
# GoPro DOP as <pdop>, speed/course in Garmin's TrackPointExtension v2, bounds
# from the valid points.
GOLDEN_THREE_POINTS = """\
<?xml version="1.0" encoding="UTF-8"?>
<gpx xmlns="http://www.topografix.com/GPX/1/1" \
xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd" \
version="1.1" creator="telemetryfs">
  <metadata>
    <name>GOPR0001.MP4</name>
    <time>2017-04-17T17:31:03.000Z</time>
    <bounds minlat="33.1264969" maxlat="33.126497" minlon="-117.3273542" maxlon="-117.327354" />
  </metadata>
  <trk>
    <name>GOPR0001.MP4</name>
    <src>HERO5 Black</src>
    <trkseg>
      <trkpt lat="33.1264969" lon="-117.3273542"><ele>-20.184</ele><time>2017-04-17T17:31:03.000Z</time><fix>3d</fix><pdop>6.06</pdop><extensions><gpxtpx:TrackPointExtension><gpxtpx:speed>0.167</gpxtpx:speed></gpxtpx:TrackPointExtension></extensions></trkpt>
      <trkpt lat="33.1264969" lon="-117.3273541"><ele>-20.146</ele><time>2017-04-17T17:31:03.055Z</time><fix>3d</fix><pdop>6.06</pdop><extensions><gpxtpx:TrackPointExtension><gpxtpx:speed>0.2</gpxtpx:speed><gpxtpx:course>271.5</gpxtpx:course></gpxtpx:TrackPointExtension></extensions></trkpt>
      <trkpt lat="33.126497" lon="-117.327354"><ele>-20.1</ele><time>2017-04-17T17:31:03.111Z</time><fix>2d</fix><pdop>1.0</pdop><extensions><gpxtpx:TrackPointExtension><gpxtpx:speed>0.0</gpxtpx:speed><gpxtpx:course>0.0</gpxtpx:course></gpxtpx:TrackPointExtension></extensions></trkpt>
    </trkseg>
  </trk>
</gpx>"""

# The edge track: a fix, a lost fix, a fix with no time and no elevation, and a
# fix 60 s later: three one-point segments; Novatek's DOP is HDOP; the course
# -90 is folded to 270; no camera, so no <src>.
GOLDEN_EDGE = """\
<?xml version="1.0" encoding="UTF-8"?>
<gpx xmlns="http://www.topografix.com/GPX/1/1" \
xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v2" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
xsi:schemaLocation="http://www.topografix.com/GPX/1/1 http://www.topografix.com/GPX/1/1/gpx.xsd" \
version="1.1" creator="telemetryfs">
  <metadata>
    <name>FILE0001.MP4</name>
    <time>2017-04-17T17:31:03.000Z</time>
    <bounds minlat="-33.6" maxlat="-33.5" minlon="151.25" maxlon="151.3" />
  </metadata>
  <trk>
    <name>FILE0001.MP4</name>
    <trkseg>
      <trkpt lat="-33.5" lon="151.25"><ele>10.0</ele><time>2017-04-17T17:31:03.000Z</time><fix>3d</fix><hdop>0.9</hdop><extensions><gpxtpx:TrackPointExtension><gpxtpx:speed>5.0</gpxtpx:speed><gpxtpx:course>90.0</gpxtpx:course></gpxtpx:TrackPointExtension></extensions></trkpt>
    </trkseg>
    <trkseg>
      <trkpt lat="-33.50001" lon="151.25002"></trkpt>
    </trkseg>
    <trkseg>
      <trkpt lat="-33.6" lon="151.3"><ele>12.5</ele><time>2017-04-17T17:32:05.500Z</time><fix>2d</fix><hdop>2.0</hdop><extensions><gpxtpx:TrackPointExtension><gpxtpx:speed>7.25</gpxtpx:speed><gpxtpx:course>270.0</gpxtpx:course></gpxtpx:TrackPointExtension></extensions></trkpt>
    </trkseg>
  </trk>
</gpx>"""


def test_three_points_golden() -> None:
    data = render_gpx(three_points(), name="GOPR0001.MP4")
    assert data.decode() == GOLDEN_THREE_POINTS
    assert same_xml(render_gpx(three_points(), name="GOPR0001.MP4", fast=False), data)


def test_edge_track_golden() -> None:
    data = render_gpx(edge_track(), name="FILE0001.MP4")
    assert data.decode() == GOLDEN_EDGE
    assert same_xml(render_gpx(edge_track(), name="FILE0001.MP4", fast=False), data)


def test_same_xml_sees_a_changed_value_or_element() -> None:
    data = render_gpx(three_points(), name="GOPR0001.MP4").decode()
    assert same_xml(data, data.replace("<trkpt", "\n  <trkpt"))
    assert not same_xml(data, data.replace("-20.184", "-20.185"))
    assert not same_xml(data, data.replace("<fix>2d</fix>", ""))


def test_one_line_per_point() -> None:
    t = realistic_track(500, course=True)
    lines = render_gpx(t, name="x").decode().splitlines()
    points = [line for line in lines if "<trkpt" in line]
    assert len(points) == sum(s.valid for s in t.gps)
    assert all(line.startswith("      <trkpt ") and line.endswith("</trkpt>") for line in points)


def test_empty_track_has_no_segment() -> None:
    text = render_gpx(Telemetry(format="gopro-mp4"), name="x.MP4").decode()
    assert "<trkseg>" not in text
    assert "<time>" not in text
    assert text.endswith("  <trk>\n    <name>x.MP4</name>\n  </trk>\n</gpx>")


def test_name_is_escaped_and_made_utf8_safe() -> None:
    name = "a&b <c> \udcff\x01.MP4"  # a lone surrogate from os.fsdecode, a control char
    data = render_gpx(three_points(), name=name)
    assert "<name>a&amp;b &lt;c&gt; \ufffd\ufffd.MP4</name>" in data.decode("utf-8")
    assert same_xml(render_gpx(three_points(), name=name, fast=False), data)


def test_dop_kind_per_format() -> None:
    assert dop_kind(Telemetry(format="gopro-mp4")) == "pdop"
    assert dop_kind(Telemetry(format="gpmf")) == "pdop"
    assert dop_kind(Telemetry(format="novatek")) == "hdop"
    assert dop_kind(Telemetry(format="novatek", info={"dop_kind": "pdop"})) == "pdop"
    assert dop_kind(Telemetry(format="gopro-mp4", info={"dop_kind": "bogus"})) == "pdop"


# --- segments and points -------------------------------------------------------


def _sample(utc: float | None, video: float | None, *, valid: bool = True) -> GpsSample:
    return GpsSample(utc=utc, video_time=video, lat=45.0, lon=7.0, fix=FIX_3D, valid=valid)


def _segment_sizes(samples: list[GpsSample]) -> list[int]:
    gpx = gpxpy.parse(render_gpx(Telemetry(format="x", gps=tuple(samples)), name="x").decode())
    return [len(seg.points) for seg in gpx.tracks[0].segments]


def test_segment_splits_where_the_fix_is_lost() -> None:
    samples = [_sample(T0 + i, i) for i in range(6)]
    samples[2] = _sample(T0 + 2, 2, valid=False)
    assert _segment_sizes(samples) == [2, 3]


def test_leading_and_trailing_invalid_samples_make_no_empty_segment() -> None:
    samples = [_sample(T0 + i, i, valid=0 < i < 4) for i in range(5)]
    assert _segment_sizes(samples) == [3]


def test_segment_splits_where_time_jumps() -> None:
    # 1 Hz with a 6 s gap (> 5 s floor) and a 4 s gap (kept).
    times = [0, 1, 2, 8, 9, 13, 14]
    assert _segment_sizes([_sample(T0 + t, t) for t in times]) == [3, 4]


def test_time_jump_threshold_scales_with_a_slow_sample_rate() -> None:
    # One sample every 2 s: the threshold is 10 s, so an 8 s gap is kept.
    times = [0, 2, 4, 6, 14, 16, 40]
    assert _segment_sizes([_sample(T0 + t, t) for t in times]) == [6, 1]


def test_time_jump_uses_video_time_without_utc() -> None:
    times = [0, 1, 2, 30, 31]
    assert _segment_sizes([_sample(None, t) for t in times]) == [3, 2]


def test_clock_stepping_back_is_a_jump() -> None:
    times = [100, 101, 102, 50, 51]
    assert _segment_sizes([_sample(T0 + t, None) for t in times]) == [3, 2]


def test_invalid_points_never_in_gpx_and_times_have_ms_and_z() -> None:
    t = realistic_track(2000)
    gpx = gpxpy.parse(render_gpx(t, name="x").decode())
    points = [p for seg in gpx.tracks[0].segments for p in seg.points]
    assert len(points) == sum(s.valid for s in t.gps) == 2000 - 18
    text = render_gpx(t, name="x").decode()
    times = re.findall(r"<time>[^<]*</time>", text)
    assert len(times) == len(points) + 1  # and the metadata's
    assert all(len(x) == len("<time>2017-04-17T17:31:03.000Z</time>") for x in times)
    assert all(x.endswith("Z</time>") for x in times)
    assert points[1].time is not None
    assert points[1].time.microsecond == 56_000


def test_sample_without_utc_is_a_point_without_time() -> None:
    samples = [_sample(None, 0.0), _sample(None, 0.1)]
    text = render_gpx(Telemetry(format="x", gps=tuple(samples)), name="x").decode()
    assert text.count("<trkpt ") == 2
    assert "<time>" not in text


# --- fast path == gpxpy ------------------------------------------------------------

_awkward_floats = st.sampled_from(
    [0.0, -0.0, 1e-9, -4e-8, 5e-8, 0.5, 2.5, 1e16, -1e17, math.nan, math.inf, 359.996, 360.0]
)


def _column(
    values: st.SearchStrategy[float | None],
) -> st.SearchStrategy[st.SearchStrategy[float | None]]:
    """Per track, a field is present everywhere, nowhere, or sometimes (all three fast-path modes)."""
    return st.sampled_from(["all", "none", "mixed"]).map(
        lambda mode: (
            values.filter(lambda v: v is not None)
            if mode == "all"
            else st.none()
            if mode == "none"
            else st.one_of(st.none(), values)
        )
    )


def _floats(lo: float, hi: float) -> st.SearchStrategy[float | None]:
    return st.one_of(st.floats(lo, hi), _awkward_floats)


@st.composite
def tracks(draw: st.DrawFn) -> Telemetry:
    n = draw(st.integers(0, 25))
    fields = {
        "utc": draw(
            _column(st.one_of(st.floats(0, 4e9), st.sampled_from([1e13, math.nan, -7e10])))
        ),
        "video_time": draw(_column(st.floats(0, 1e5))),
        "lat": draw(_column(_floats(-90, 90))),
        "lon": draw(_column(_floats(-180, 180))),
        "ele": draw(_column(_floats(-1e4, 1e5))),
        "speed_2d": draw(_column(_floats(-10, 1e3))),
        "course": draw(_column(_floats(-1e3, 1e3))),
        "dop": draw(_column(st.one_of(_floats(0, 100), st.integers(0, 50)))),
    }
    fix = draw(
        st.sampled_from(
            [st.none(), st.sampled_from([0, 2, 3]), st.sampled_from([None, 0, 1, 2, 3])]
        )
    )
    samples = []
    for _ in range(n):
        values: dict[str, Any] = {key: draw(strategy) for key, strategy in fields.items()}
        samples.append(
            GpsSample(**values, fix=draw(fix), valid=draw(st.booleans() | st.just(True)))
        )
    return Telemetry(
        format=draw(st.sampled_from(["gopro-mp4", "novatek", "gpmf", "avi"])),
        camera=draw(st.sampled_from([None, "", "HERO <&>", "Cam\x00"])),
        gps=tuple(samples),
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tracks(), st.text(max_size=12))
def test_fast_path_matches_pure_gpxpy(telemetry: Telemetry, name: str) -> None:
    assert same_xml(
        render_gpx(telemetry, name=name, fast=True), render_gpx(telemetry, name=name, fast=False)
    )


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(8, 300))
def test_fast_path_matches_pure_gpxpy_on_longer_tracks(seed: int, n: int) -> None:
    # Long enough for the repeated-value shortcut (it probes 256 values).
    t = random_track(seed, n)
    assert same_xml(render_gpx(t, name="x", fast=True), render_gpx(t, name="x", fast=False))


def test_fast_path_matches_pure_gpxpy_on_a_realistic_track() -> None:
    for course in (False, True):
        # Long enough for the numpy writer, in more than one chunk.
        t = realistic_track(render_gpx_points.ARRAY_MIN_POINTS + 5000, course=course)
        assert len(t.gps) > render_gpx_points.ARRAY_CHUNK_ROWS
        assert same_xml(render_gpx(t, name="x", fast=True), render_gpx(t, name="x", fast=False))


def _per_segment(telemetry: Telemetry) -> tuple[list[bytes], list[bytes]]:
    """array_point_pieces' texts and segment_points', segment by segment."""
    segments = split_segments(telemetry.gps, telemetry.breaks)
    kind = dop_kind(telemetry)
    expected = [render_gpx_points.segment_points(seg, kind).encode() for seg in segments]
    texts: list[list[bytes]] = [[] for _ in segments]
    for k, text in render_gpx_points.array_point_pieces(segments, kind):
        texts[k].append(text)
    return [b"".join(parts) for parts in texts], expected


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tracks(), st.sampled_from([3, 8192]))
def test_points_written_through_numpy_are_the_segment_by_segment_text(
    telemetry: Telemetry, chunk: int
) -> None:
    with patch.object(render_gpx_points, "ARRAY_CHUNK_ROWS", chunk):
        texts, expected = _per_segment(telemetry)
    assert texts == expected


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 300), st.sampled_from([1, 7, 64, 8192]))
def test_points_written_through_numpy_on_random_tracks(seed: int, n: int, chunk: int) -> None:
    with patch.object(render_gpx_points, "ARRAY_CHUNK_ROWS", chunk):
        texts, expected = _per_segment(random_track(seed, n))
    assert texts == expected


def test_an_hour_of_gopro_like_points_goes_through_numpy() -> None:
    for course in (False, True):
        t = realistic_track(3000, course=course)
        assert render_gpx_points.points_grid(list(t.gps), dop_kind(t)) is not None
        with patch.object(render_gpx_points, "ARRAY_CHUNK_ROWS", 1000):
            texts, expected = _per_segment(t)
        assert texts == expected


def test_what_numpy_cannot_write_goes_the_careful_way_chunk_by_chunk() -> None:
    base = realistic_track(50, course=True)
    awkward = {
        "lat": 0.0,  # a zero coordinate is written "0"
        "speed_2d": -1.0,  # a negative speed is left out
        "course": 360.5,  # folded into [0, 360)
        "ele": math.nan,
        "fix": 7,  # no GPX name
        "utc": 1e13,  # past year 9999
    }
    for field, value in awkward.items():
        gps = list(base.gps)
        gps[10] = dataclasses.replace(gps[10], **{field: value})
        t = dataclasses.replace(base, gps=tuple(gps))
        assert render_gpx_points.points_grid(gps, dop_kind(t)) is None, field
        with patch.object(render_gpx_points, "ARRAY_CHUNK_ROWS", 8):  # one chunk careful
            texts, expected = _per_segment(t)
        assert texts == expected, field
        assert same_xml(render_gpx(t, name="x"), render_gpx(t, name="x", fast=False)), field


# --- outside tools ---------------------------------------------------------------------


def _write_gpx_files(tmp_path: Path) -> dict[Path, int]:
    """GPX files worth validating, each with its number of valid points."""
    tracks = {
        "three.gpx": three_points(),
        "edge.gpx": edge_track(),
        "empty.gpx": Telemetry(format="novatek"),
        "real.gpx": realistic_track(3000, course=True),
        **{f"random{seed}.gpx": random_track(seed) for seed in range(8)},
    }
    files = {}
    for name, t in tracks.items():
        path = tmp_path / name
        path.write_bytes(render_gpx(t, name="<&>" + name))
        files[path] = sum(s.valid for s in t.gps)
    return files


def test_gpx_is_valid_against_the_gpx_1_1_schema(tmp_path: Path) -> None:
    xmllint = require_tool("xmllint")
    files = _write_gpx_files(tmp_path)
    result = subprocess.run(
        [xmllint, "--noout", "--schema", str(GPX_XSD), *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count(" validates") == len(files)


def test_ogr_gpsbabel_and_gpxpy_read_every_point(tmp_path: Path) -> None:
    ogrinfo = require_tool("ogrinfo")
    gpsbabel = require_tool("gpsbabel")
    for path, valid in _write_gpx_files(tmp_path).items():
        parsed = gpxpy.parse(path.read_text(encoding="utf-8"))
        assert sum(len(seg.points) for trk in parsed.tracks for seg in trk.segments) == valid
        ogr = subprocess.run(
            [ogrinfo, "-ro", "-q", "-al", str(path), "track_points"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert ogr.stdout.count("OGRFeature(track_points)") == valid, path.name
        babel = subprocess.run(
            [gpsbabel, "-t", "-i", "gpx", "-f", str(path), "-o", "unicsv", "-F", "-"],
            capture_output=True,
            text=True,
            check=True,
        )
        rows = babel.stdout.splitlines()[1:]  # after the header
        assert len(rows) == valid, path.name


def test_ogr_reads_times_with_milliseconds(tmp_path: Path) -> None:
    ogrinfo = require_tool("ogrinfo")
    path = tmp_path / "t.gpx"
    path.write_bytes(render_gpx(three_points(), name="t"))
    out = subprocess.run(
        [ogrinfo, "-ro", "-q", "-al", str(path), "track_points"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "time (DateTime) = 2017/04/17 17:31:03.055+00" in out
    assert "pdop (Real) = 6.06" in out


# --- speed -------------------------------------------------------------------------------


def test_one_hour_at_18_hz_renders_fast() -> None:
    t = realistic_track(65_000, course=True)
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        data = render_gpx(t, name="GX010001.MP4")
        best = min(best, time.perf_counter() - start)
    print(f"\nrender_gpx: 65,000 points in {best * 1000:.0f} ms ({len(data) / 1e6:.1f} MB)")
    assert best < 1.5
