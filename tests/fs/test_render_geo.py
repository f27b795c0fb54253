"""track.kml and track.geojson: golden bytes, structure, and what xmllint/ogrinfo read."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from telemetryfs.fs import render_geo
from telemetryfs.fs.render import render_geojson, render_kml
from telemetryfs.fs.render_common import SLICE
from telemetryfs.parsers.model import FIX_3D, GpsSample, Telemetry
from tests.render_samples import (
    T0,
    edge_track,
    random_track,
    realistic_track,
    require_tool,
    three_points,
)

# By hand: one feature per line, the track first, [lon, lat, ele] positions in
# the GPX's rounding, nulls for unknown values, segment numbers from 0.
GOLDEN_GEOJSON = (
    '{"type":"FeatureCollection","features":[\n'
    '{"type":"Feature","geometry":{"type":"LineString","coordinates":'
    "[[-117.3273542,33.1264969,-20.184],[-117.3273541,33.1264969,-20.146],[-117.327354,33.126497,-20.1]]},"
    '"properties":{"name":"GOPR0001.MP4","camera":"HERO5 Black","segments":1}},\n'
    '{"type":"Feature","geometry":{"type":"Point","coordinates":[-117.3273542,33.1264969,-20.184]},'
    '"properties":{"time":"2017-04-17T17:31:03.000Z","video_time_s":0.0,"ele_m":-20.184,"speed_mps":0.167,'
    '"course_deg":null,"fix":"3d","dop":6.06,"segment":0}},\n'
    '{"type":"Feature","geometry":{"type":"Point","coordinates":[-117.3273541,33.1264969,-20.146]},'
    '"properties":{"time":"2017-04-17T17:31:03.055Z","video_time_s":0.055,"ele_m":-20.146,"speed_mps":0.2,'
    '"course_deg":271.5,"fix":"3d","dop":6.06,"segment":0}},\n'
    '{"type":"Feature","geometry":{"type":"Point","coordinates":[-117.327354,33.126497,-20.1]},'
    '"properties":{"time":"2017-04-17T17:31:03.111Z","video_time_s":0.111,"ele_m":-20.1,"speed_mps":0.0,'
    '"course_deg":0.0,"fix":"2d","dop":1.0,"segment":0}}\n'
    "]}\n"
)

# By hand: name, description (camera), the two styles, one LineString placemark,
# then the Points folder with one placemark per UTC second (all three samples
# fall in the same second, so just the first).
GOLDEN_KML = """\
<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2">
<Document>
  <name>GOPR0001.MP4</name>
  <description>HERO5 Black</description>
  <Style id="track"><LineStyle><color>ff0000ff</color><width>3</width></LineStyle></Style>
  <Style id="point"><IconStyle><scale>0.4</scale><Icon>\
<href>http://maps.google.com/mapfiles/kml/shapes/shaded_dot.png</href></Icon></IconStyle>\
<LabelStyle><scale>0</scale></LabelStyle></Style>
  <Placemark>
    <name>Segment 1</name>
    <styleUrl>#track</styleUrl>
    <LineString>
      <tessellate>1</tessellate>
      <coordinates>
-117.3273542,33.1264969,-20.184
-117.3273541,33.1264969,-20.146
-117.327354,33.126497,-20.1
      </coordinates>
    </LineString>
  </Placemark>
  <Folder>
    <name>Points</name>
    <Placemark><TimeStamp><when>2017-04-17T17:31:03.000Z</when></TimeStamp>\
<styleUrl>#point</styleUrl><Point><coordinates>-117.3273542,33.1264969,-20.184</coordinates>\
</Point></Placemark>
  </Folder>
</Document>
</kml>
"""


def test_geojson_golden() -> None:
    assert render_geojson(three_points(), name="GOPR0001.MP4").decode() == GOLDEN_GEOJSON


def test_kml_golden() -> None:
    assert render_kml(three_points(), name="GOPR0001.MP4").decode() == GOLDEN_KML


def test_geojson_edge_track_has_only_points() -> None:
    # Three one-point segments: no line string can have two positions.
    doc = json.loads(render_geojson(edge_track(), name="x"))
    kinds = [f["geometry"]["type"] for f in doc["features"]]
    assert kinds == ["Point", "Point", "Point"]
    middle = doc["features"][1]
    assert middle["geometry"]["coordinates"] == [151.25002, -33.50001]  # no elevation
    assert middle["properties"]["time"] is None
    assert [f["properties"]["segment"] for f in doc["features"]] == [0, 1, 2]
    assert doc["features"][2]["properties"]["course_deg"] == 270.0


def test_geojson_multilinestring_for_several_segments() -> None:
    t = realistic_track(3000)
    doc = json.loads(render_geojson(t, name="x"))
    track, points = doc["features"][0], doc["features"][1:]
    assert track["geometry"]["type"] == "MultiLineString"
    assert track["properties"]["segments"] == 3
    assert all(len(line) >= 2 for line in track["geometry"]["coordinates"])
    assert len(points) == sum(s.valid for s in t.gps)
    assert all(-180 <= p["geometry"]["coordinates"][0] < 180 for p in points)


def test_geojson_points_longer_than_a_slice_are_each_sample_s_own() -> None:
    """Point features are rendered SLICE at a time (memory): the same features."""
    t = realistic_track(2 * SLICE + 500)
    doc = json.loads(render_geojson(t, name="x"))
    points = doc["features"][1:]
    valid = [s for s in t.gps if s.valid]
    assert len(points) > 2 * SLICE
    assert len(points) == len(valid)
    segments = [p["properties"].pop("segment") for p in points]
    for i in {*range(0, len(valid), 97), SLICE - 1, SLICE, 2 * SLICE, len(valid) - 1}:
        alone = json.loads(render_geojson(dataclasses.replace(t, gps=(valid[i],)), name="x"))
        feature = alone["features"][-1]
        assert feature["properties"].pop("segment") == 0
        assert points[i] == feature
    assert segments == sorted(segments)
    assert segments[-1] == doc["features"][0]["properties"]["segments"] - 1


@pytest.mark.parametrize("slice_size", [1, 2, 3, 7, 1000])
@pytest.mark.parametrize("seed", range(6))
def test_kml_and_geojson_are_the_same_whatever_the_slice(
    seed: int, slice_size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both files are written SLICE points at a time (memory); slices that start and end
    inside segments, one-point segments and invalid samples between them change no byte
    of what the whole track in one slice gives."""
    long = realistic_track(3000)
    # A one-point segment first, before any line: its point is no line of the track.
    lone_first = (long.gps[0], dataclasses.replace(long.gps[1], valid=False), *long.gps[2:])
    tracks = [random_track(seed, 60), long, dataclasses.replace(long, gps=lone_first)]
    tracks += [edge_track(), three_points()]
    monkeypatch.setattr(render_geo, "SLICE", 10**9)
    whole = [(render_kml(t, name="x"), render_geojson(t, name="x")) for t in tracks]
    monkeypatch.setattr(render_geo, "SLICE", slice_size)
    assert [(render_kml(t, name="x"), render_geojson(t, name="x")) for t in tracks] == whole
    for _, geojson in whole:  # and right: the lines are the points of segments of two or more
        features = json.loads(geojson)["features"]
        points = [f for f in features if f["geometry"]["type"] == "Point"]
        by_segment: dict[int, list[list[float]]] = {}
        for p in points:
            by_segment.setdefault(p["properties"]["segment"], []).append(
                p["geometry"]["coordinates"]
            )
        lines = [line for line in by_segment.values() if len(line) >= 2]
        drawn = [f for f in features if f["geometry"]["type"] != "Point"]
        if not lines:
            assert not drawn
            continue
        geometry = drawn[0]["geometry"]
        got = [geometry["coordinates"]] if len(lines) == 1 else geometry["coordinates"]
        assert got == lines


def test_geojson_empty_track() -> None:
    assert json.loads(render_geojson(Telemetry(format="x"), name="x")) == {
        "type": "FeatureCollection",
        "features": [],
    }


def test_kml_one_point_segment_is_a_point_placemark() -> None:
    text = render_kml(edge_track(), name="x").decode()
    assert text.count("<LineString>") == 0
    assert text.count("<name>Segment") == 3
    # Points folder: only samples with UTC, one per second.
    assert text.count("<TimeStamp>") == 2


def test_kml_without_times_has_no_points_folder() -> None:
    sample = GpsSample(utc=None, video_time=0.0, lat=1.0, lon=2.0)
    text = render_kml(Telemetry(format="x", gps=(sample, sample)), name="x").decode()
    assert "<Folder>" not in text
    assert "<LineString>" in text


def test_kml_points_one_per_second() -> None:
    t = realistic_track(18 * 20)
    text = render_kml(t, name="x").decode()
    assert text.count("<TimeStamp>") == 20


def test_antimeridian_longitude_is_wrapped() -> None:
    sample = GpsSample(utc=T0, video_time=0.0, lat=10.0, lon=179.99999999, fix=FIX_3D)
    t = Telemetry(format="x", gps=(sample, sample))
    assert json.loads(render_geojson(t, name="x"))["features"][1]["geometry"]["coordinates"] == [
        -180.0,
        10.0,
    ]
    assert "-180.0,10.0" in render_kml(t, name="x").decode()


def test_names_are_escaped() -> None:
    t = three_points()
    kml = render_kml(t, name='a&b<"c>.MP4').decode()
    assert '<name>a&amp;b&lt;"c&gt;.MP4</name>' in kml
    geo = json.loads(render_geojson(t, name='a"b\udcff'))
    assert geo["features"][0]["properties"]["name"] == 'a"b\ufffd'


@pytest.mark.parametrize("seed", range(6))
def test_random_tracks_are_valid_json_and_xml(seed: int, tmp_path: Path) -> None:
    xmllint = require_tool("xmllint")
    t = random_track(seed, 60)
    doc = json.loads(render_geojson(t, name="x"))
    assert sum(f["geometry"]["type"] == "Point" for f in doc["features"]) == sum(
        s.valid for s in t.gps
    )
    path = tmp_path / "t.kml"
    path.write_bytes(render_kml(t, name="<&>"))
    subprocess.run([xmllint, "--noout", str(path)], check=True)


# --- outside tools ---------------------------------------------------------------------


def _ogr_counts(path: Path) -> dict[str, int]:
    ogrinfo = require_tool("ogrinfo")
    out = subprocess.run(
        [ogrinfo, "-ro", "-so", "-al", str(path)], capture_output=True, text=True, check=True
    ).stdout
    names = re.findall(r"^Layer name: (.*)$", out, re.M)
    counts = [int(c) for c in re.findall(r"^Feature Count: (\d+)$", out, re.M)]
    return dict(zip(names, counts, strict=True))


def test_ogrinfo_reads_the_geojson(tmp_path: Path) -> None:
    t = realistic_track(3000)
    path = tmp_path / "track.geojson"
    path.write_bytes(render_geojson(t, name="x"))
    assert _ogr_counts(path) == {"track": 1 + sum(s.valid for s in t.gps)}


def test_kml_is_well_formed_and_ogrinfo_reads_it(tmp_path: Path) -> None:
    xmllint = require_tool("xmllint")
    t = realistic_track(3000)
    path = tmp_path / "track.kml"
    path.write_bytes(render_kml(t, name="GX010001.MP4"))
    subprocess.run([xmllint, "--noout", str(path)], check=True)
    seconds = len({int(s.utc) for s in t.gps if s.valid and s.utc is not None})
    assert _ogr_counts(path) == {"GX010001.MP4": 3, "Points": seconds}


def test_one_hour_kml_and_geojson_render_fast() -> None:
    t = realistic_track(65_000, course=True)
    for render in (render_kml, render_geojson):
        start = time.perf_counter()
        data = render(t, name="x")
        took = time.perf_counter() - start
        print(
            f"\n{render.__name__}: 65,000 points in {took * 1000:.0f} ms ({len(data) / 1e6:.1f} MB)"
        )
        assert took < 3.0
