"""GoPro parsing against real footage and what other projects say about it.

Every expected value here comes from a third party: exiftool 12.57 dumps,
gopro2gpx's own CSV outputs, the expectations of gopro-telemetry,
gpmf-extract and exiftool's test suites (shared/samples/expected), or the
GPMF spec. Where a third party disagrees with us, a test shows why it is
wrong instead of loosening the comparison.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from telemetryfs.parsers.encodings import gpmf
from telemetryfs.parsers.formats.gopro import gps as gopro_gps
from telemetryfs.parsers.formats.gopro import parse as gopro
from telemetryfs.parsers.model import Extent, RawFile, Stream, Telemetry
from tests.paths import SAMPLES

GOPRO = SAMPLES / "gopro"
MP4 = GOPRO / "mp4"
RAW = GOPRO / "gpmf"
REF = GOPRO / "reference"
EXPECTED = SAMPLES / "expected"
DUMPS = SAMPLES / "exiftool-dumps"

DEG = 1e-7  # GPMF stores degrees x 1e7
MM = 1e-3  # and metres, m/s x 1e3 (speed 3D x 1e2)

pytestmark = pytest.mark.skipif(not GOPRO.is_dir(), reason="shared samples not present")


def mp4(name: str, **kw: Any) -> Telemetry:
    with open(MP4 / name, "rb") as f:
        return gopro.extract_mp4(f, **kw)


def raw(name: str, **kw: Any) -> Telemetry:
    with open(RAW / name, "rb") as f:
        return gopro.extract_gpmf(f, **kw)


def expected(name: str) -> dict[str, Any]:
    return json.loads((EXPECTED / name).read_text())


def scenario(name: str) -> dict[str, Any]:
    """A gopro-telemetry test scenario (index.test.js) by the start of its name."""
    found = expected("gopro-telemetry__index.json")["scenarios"]
    return next(s for s in found if s["name"].startswith(name))


def stream(t: Telemetry, name: str) -> Stream:
    return next(s for s in t.streams if s.name == name)


def rows(path: Path, s: Stream) -> list[tuple[Any, ...]]:
    data = path.read_bytes()
    return [
        r
        for c in s.chunks
        for r in gpmf.decode_chunk(s.codec, data[c.extent.offset : c.extent.offset + c.extent.size])
    ]


def materialise(path: Path, f: RawFile) -> bytes:
    data = path.read_bytes()
    return b"".join(
        p if isinstance(p, bytes) else data[p.offset : p.offset + p.size] for p in f.pieces
    )


def posix(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def exif_time(text: str) -> float:
    """exiftool's "2017:04:17 17:31:03.985" (UTC, GPS clock) as POSIX seconds."""
    day, clock = text.split(" ")
    return posix(day.replace(":", "-") + "T" + clock + "+00:00")


# --- exiftool dumps (-a -ee -G3 -n) -----------------------------------------------


def exiftool_docs(name: str) -> list[list[tuple[str, str]]]:
    """The [DocN] groups of an exiftool dump: one per gpmd sample, tags in file order."""
    docs: dict[int, list[tuple[str, str]]] = {}
    for line in (DUMPS / name).read_text().splitlines():
        m = re.match(r"\[Doc(\d+)\]\s+(.+?)\s*: (.*)$", line)
        if m:
            docs.setdefault(int(m.group(1)), []).append((m.group(2), m.group(3)))
    return [docs[k] for k in sorted(docs)]


def exiftool_points(doc: list[tuple[str, str]]) -> list[dict[str, str]]:
    """Per-sample GPS tags of one doc: each "GPS Latitude" starts a new point."""
    points: list[dict[str, str]] = []
    for tag, value in doc:
        if tag == "GPS Latitude":
            points.append({})
        if points and tag.startswith("GPS ") and tag not in points[-1]:
            points[-1][tag] = value
    return points


def tag(doc: list[tuple[str, str]], name: str) -> str:
    return next(v for t, v in doc if t == name)


TRIMMED = {
    "hero5-trimmed.mp4": "gopro_dashcamigo-trimmed_hero5-trimmed.mp4.all.txt",
    "hero6-trimmed.mp4": "gopro_dashcamigo-trimmed_hero6-trimmed.mp4.all.txt",
    "hero8-trimmed.mp4": "gopro_dashcamigo-trimmed_hero8-trimmed.mp4.all.txt",
}


@pytest.mark.parametrize(("video", "dump"), TRIMMED.items())
def test_trimmed_mp4_gps5_equals_exiftool_sample_by_sample(video: str, dump: str) -> None:
    t = mp4(video)
    docs = exiftool_docs(dump)
    points = [p for d in docs for p in exiftool_points(d)]
    assert t.gps_stream == "GPS5"
    assert len(t.gps) == len(points) == 36  # FORMAT-NOTES: the naive grep says 37
    for ours, theirs in zip(t.gps, points, strict=True):
        assert ours.lat == pytest.approx(float(theirs["GPS Latitude"]), abs=DEG)
        assert ours.lon == pytest.approx(float(theirs["GPS Longitude"]), abs=DEG)
        assert ours.ele == pytest.approx(float(theirs["GPS Altitude"]), abs=MM)
        assert ours.speed_2d == pytest.approx(float(theirs["GPS Speed"]), abs=MM)
        assert ours.speed_3d == pytest.approx(float(theirs["GPS Speed 3D"]), abs=MM)


@pytest.mark.parametrize(("video", "dump"), TRIMMED.items())
def test_trimmed_mp4_payload_times_fix_and_dop_equal_exiftool(video: str, dump: str) -> None:
    t = mp4(video)
    docs = exiftool_docs(dump)
    gps5 = stream(t, "GPS5")
    first = 0
    for chunk, doc in zip(gps5.chunks, docs, strict=True):
        assert chunk.start == pytest.approx(float(tag(doc, "Sample Time")), abs=1e-9)
        assert chunk.duration == pytest.approx(float(tag(doc, "Sample Duration")), abs=1e-9)
        sample = t.gps[first]
        # exiftool prints each payload's GPSU: the time of its first sample.
        assert sample.utc == pytest.approx(exif_time(tag(doc, "GPS Date Time")), abs=1e-6)
        assert sample.video_time == pytest.approx(float(tag(doc, "Sample Time")), abs=1e-9)
        assert sample.fix == int(tag(doc, "GPS Measure Mode"))
        assert sample.dop == pytest.approx(float(tag(doc, "GPS Horizontal Positioning Error")))
        first += chunk.count


def test_hero8_without_fix_marks_every_sample_invalid() -> None:
    """PROVENANCE: GPSF is 0 on every sample of hero8-trimmed.mp4, the coordinates are junk."""
    t = mp4("hero8-trimmed.mp4")
    assert len(t.gps) == 36
    assert all(s.fix == 0 and not s.valid for s in t.gps)
    assert t.valid_gps == ()
    assert all(s.dop == pytest.approx(99.99) for s in t.gps)  # exiftool: 99.99


def test_trimmed_mp4_camera_names_come_from_dvnm() -> None:
    # exiftool's "Device Name" per doc.
    for video, dump in TRIMMED.items():
        assert mp4(video).camera == tag(exiftool_docs(dump)[0], "Device Name")


def test_karma_track_is_the_drones_gps_with_exiftools_count() -> None:
    t = mp4("karma.mp4")
    points = [
        p for d in exiftool_docs("gopro_gpmf-parser_karma.mp4.all.txt") for p in exiftool_points(d)
    ]
    assert len(points) == 47
    assert t.gps_stream == "GPRI"
    assert len(t.gps) == 47
    assert all(s.valid and s.fix == 3 for s in t.gps)
    assert t.info["gps_device"] == "GoPro Karma v1.0"
    assert t.camera == "HERO5 Black"  # exiftool: Camera Model Name (udta FIRM HD5...)
    assert t.firmware == "HD5.02.02.00.00"  # exiftool: Firmware Version


def test_karma_glpi_stream_equals_exiftool_gps_points() -> None:
    """exiftool's 47 "GPS Latitude" points are the drone's GLPI (Position) stream."""
    t = mp4("karma.mp4")
    points = [
        p for d in exiftool_docs("gopro_gpmf-parser_karma.mp4.all.txt") for p in exiftool_points(d)
    ]
    glpi = stream(t, "GLPI")
    assert glpi.columns[:4] == ("time (s)", "lat (deg)", "lon (deg)", "alt (m)")
    ours = rows(MP4 / "karma.mp4", glpi)
    assert len(ours) == len(points) == glpi.sample_count
    syst = sorted((float(r[0]), float(r[1])) for r in rows(MP4 / "karma.mp4", stream(t, "SYST")))
    docs = exiftool_docs("gopro_gpmf-parser_karma.mp4.all.txt")
    times = [exif_time(v) for d in docs for k, v in d if k == "GPS Date Time"]
    for row, p, when in zip(ours, points, times, strict=True):
        assert row[1] == pytest.approx(float(p["GPS Latitude"]), abs=DEG)
        assert row[2] == pytest.approx(float(p["GPS Longitude"]), abs=DEG)
        assert row[3] == pytest.approx(float(p["GPS Altitude"]), abs=MM)
        assert row[5:8] == pytest.approx(
            [float(p["GPS Speed X"]), float(p["GPS Speed Y"]), float(p["GPS Speed Z"])], abs=0.01
        )
        # exiftool maps the system time to UTC through the SYST pairs, as we do.
        utc = gopro_gps._system_to_utc(float(row[0]), syst)
        assert utc == pytest.approx(when, abs=1e-5)


def test_karma_all_gpmf_is_byte_identical_to_the_ffmpeg_dump() -> None:
    """FORMAT-NOTES / gpmf-extract: the gpmd samples concatenated = gopro2gpx-karma.bin."""
    exp = expected("gpmf-extract__node.test.json")["expect"]
    t = mp4("karma.mp4")
    all_gpmf = next(f for f in t.raw_files if f.name == "all.gpmf")
    assert materialise(MP4 / "karma.mp4", all_gpmf) == (RAW / "gopro2gpx-karma.bin").read_bytes()
    assert t.duration == pytest.approx(exp["timing.videoDuration"], abs=1e-9)


def test_karma_gpmd_payload_times_equal_exiftool() -> None:
    docs = exiftool_docs("gopro_gpmf-parser_karma.mp4.all.txt")
    starts = [float(tag(d, "Sample Time")) for d in docs if tag(d, "Sample Duration") != "0"]
    accl = stream(mp4("karma.mp4"), "ACCL")
    assert [c.start for c in accl.chunks] == pytest.approx(starts, abs=1e-9)


# --- gopro2gpx outputs for the raw track dumps -------------------------------------


def gopro2gpx(name: str) -> list[dict[str, str]]:
    with open(REF / f"gopro2gpx-{name}.csv", newline="") as f:
        return list(csv.DictReader(f))


GPS5_DUMPS = ["fusion", "hero05", "hero06+ble", "hero06", "hero07"]


@pytest.mark.parametrize("name", GPS5_DUMPS)
def test_raw_dump_points_equal_gopro2gpx(name: str) -> None:
    t = raw(f"gopro2gpx-{name}.bin")
    theirs = gopro2gpx(name)
    assert t.gps_stream == "GPS5"
    assert len(t.gps) == len(theirs)  # gopro2gpx keeps no-fix points too (no --skip)
    for ours, row in zip(t.gps, theirs, strict=True):
        assert ours.lat == pytest.approx(float(row["latitude"]), abs=DEG)
        assert ours.lon == pytest.approx(float(row["longitude"]), abs=DEG)
        assert ours.ele == pytest.approx(float(row["elevation"]), abs=MM)
        assert ours.speed_2d == pytest.approx(float(row["speed"]), abs=MM)
    lats = [s.lat for s in t.gps]
    assert min(lats) == pytest.approx(min(float(r["latitude"]) for r in theirs), abs=DEG)
    assert max(lats) == pytest.approx(max(float(r["latitude"]) for r in theirs), abs=DEG)


@pytest.mark.parametrize("name", GPS5_DUMPS)
def test_raw_dump_times_equal_gopro2gpx_at_each_gpsu(name: str) -> None:
    """Both tools stamp a payload's first sample with its GPSU.

    Inside a payload gopro2gpx assumes exactly 18 Hz (i/18 s); we spread the
    samples up to the next payload's GPSU, so the two differ by at most a
    tenth of a second there (the payloads hold 17 to 20 samples).
    """
    t = raw(f"gopro2gpx-{name}.bin")
    theirs = [posix(r["time"]) for r in gopro2gpx(name)]
    first = 0
    for chunk in stream(t, "GPS5").chunks:
        assert t.gps[first].utc == pytest.approx(theirs[first], abs=1e-6)
        first += chunk.count
    assert all(abs(s.utc - u) < 0.11 for s, u in zip(t.gps, theirs, strict=True))
    utcs = [s.utc for s in t.gps]
    assert all(a < b for a, b in itertools.pairwise(utcs))


def test_hero06_dump_part_without_fix_is_invalid() -> None:
    t = raw("gopro2gpx-hero06.bin")
    assert len(t.gps) == 417
    assert {s.fix for s in t.gps if not s.valid} == {0}
    assert {s.fix for s in t.valid_gps} == {2, 3}


def test_hero11_track_is_gps9_only_where_gopro2gpx_mixes_in_gps5() -> None:
    """HERO11 writes GPS5 and GPS9 for the same moments; gopro2gpx puts both in its track.

    Its CSV has 679 GPS5 + 679 GPS9 rows: the first two are the same fix at the
    same time (a duplicate point), and the interleaved GPS5 rows (stamped with
    GPSU) make its time go backwards. Ours: the 679 GPS9 rows, equal to its GPS9
    rows, strictly increasing.
    """
    t = raw("gopro2gpx-hero11.bin")
    theirs = gopro2gpx("hero11")
    assert (
        sum(r["name"] == "GPS5" for r in theirs) == sum(r["name"] == "GPS9" for r in theirs) == 679
    )
    first, second = theirs[0], theirs[1]
    assert (first["latitude"], first["longitude"], first["time"]) == (
        second["latitude"],
        second["longitude"],
        second["time"],
    )
    times = [posix(r["time"]) for r in theirs]
    assert any(b <= a for a, b in itertools.pairwise(times))
    gps9 = [r for r in theirs if r["name"] == "GPS9"]
    assert t.gps_stream == "GPS9"
    assert len(t.gps) == len(gps9) == 679
    for ours, row in zip(t.gps, gps9, strict=True):
        assert ours.lat == pytest.approx(float(row["latitude"]), abs=DEG)
        assert ours.lon == pytest.approx(float(row["longitude"]), abs=DEG)
        assert ours.ele == pytest.approx(float(row["elevation"]), abs=MM)
        assert ours.utc == pytest.approx(
            posix(row["time"]), abs=1e-6
        )  # FORMAT-NOTES: HERO11 agrees
    assert {s.name for s in t.streams} >= {"GPS5", "GPS9"}  # both stay available
    assert stream(t, "GPS5").sample_count == 679


def test_hero13_gopro2gpx_times_are_one_hour_early() -> None:
    """gopro2gpx subtracts 3600 s from GPS9 time (src/gopro2gpx/gopro2gpx.py:
    ``gps_time = (target_date + time_of_day) - timedelta(seconds=3600)``).

    GPS9's own fields are UTC: days since 2000-01-01 and seconds since midnight
    (spec, HERO11 table). Decoding them independently here gives our times.
    """
    t = raw("gopro2gpx-hero13.bin")
    theirs = gopro2gpx("hero13")
    assert len(t.gps) == len(theirs) == 407
    days_secs = [(r[5], r[6]) for r in rows(RAW / "gopro2gpx-hero13.bin", stream(t, "GPS9"))]
    for ours, row, (days, secs) in zip(t.gps, theirs, days_secs, strict=True):
        assert ours.utc == pytest.approx(946_684_800 + days * 86_400 + secs, abs=1e-6)
        assert ours.utc - posix(row["time"]) == pytest.approx(3600.0, abs=1e-6)
        assert ours.lat == pytest.approx(float(row["latitude"]), abs=DEG)
        assert ours.lon == pytest.approx(float(row["longitude"]), abs=DEG)


def test_karma_gopro2gpx_keeps_one_stale_stamped_fix_per_payload() -> None:
    """gopro2gpx reads only the first GPRI row of each payload (``d.data``) and stamps it
    with the SYST time seen before it: the previous payload's, so the first payload's
    fixes are dropped and every kept one is dated up to a second wrong.

    Each of its 11 points is the first GPRI row of payloads 2..12 of ours, and its
    time is exactly the UNIX second of the SYST of the payload before.
    """
    t = raw("gopro2gpx-karma.bin")
    theirs = gopro2gpx("karma")
    assert len(theirs) == 11
    assert len(t.gps) == 47
    gpri = stream(t, "GPRI")
    syst = rows(RAW / "gopro2gpx-karma.bin", stream(t, "SYST"))
    firsts = []
    at = 0
    for chunk in gpri.chunks:
        firsts.append(t.gps[at])
        at += chunk.count
    for k, row in enumerate(theirs, start=1):
        ours = firsts[k]
        assert ours.lat == pytest.approx(float(row["latitude"]), abs=DEG)
        assert ours.lon == pytest.approx(float(row["longitude"]), abs=DEG)
        assert ours.ele == pytest.approx(float(row["elevation"]), abs=MM)
        assert posix(row["time"]) == pytest.approx(syst[k - 1][1], abs=1e-6)
        assert ours.utc != pytest.approx(posix(row["time"]), abs=0.05)


# --- gopro-telemetry expectations -------------------------------------------------


def test_karma_device_list_equals_gopro_telemetry() -> None:
    exp = scenario("device list")["expect"]["result"]
    t = raw("gpmf-parser-karma.raw")
    assert {str(d["id"]): d["name"] for d in t.info["devices"]} == exp


def test_hero6_ble_device_streams_in_gopro_telemetry_order() -> None:
    sc = scenario("stream list")
    t = raw("gpmf-parser-hero6+ble.raw")
    camera = [s.fourcc for s in t.streams if s.device == "Hero6 Black"]
    assert camera == sc["expect"]["device_1_stream_keys_in_order"]
    ble = [s for s in t.streams if s.device == "SENSORB6"]
    assert [s.fourcc for s in ble] == ["acc1"]


def test_hero6_ble_acc1_keeps_its_sticky_mfgi() -> None:
    """gopro-telemetry (repeatSticky) shows MFGI on acc1 samples: it is acc1's property."""
    t = raw("gpmf-parser-hero6+ble.raw")
    acc1 = next(f for f in t.raw_files if f.name == "acc1.gpmf")
    data = materialise(RAW / "gpmf-parser-hero6+ble.raw", acc1)
    back = gopro.extract_gpmf(_bytes_file(data))
    assert b"MFGI" in data
    assert [s.fourcc for s in back.streams] == ["acc1"]
    assert back.streams[0].device == "SENSORB6"


def test_hero7_precision_filter_count_equals_gopro_telemetry() -> None:
    """gopro-telemetry keeps 219 GPS5 samples of hero7.raw with GPSPrecision 140 (GPSP < 140)."""
    sc = scenario("GPS5 filtered")
    t = raw("gopro-telemetry-hero7.raw")
    kept = [s for s in t.gps if s.dop is not None and s.dop * 100 < sc["options"]["GPSPrecision"]]
    assert len(kept) == sc["expect"]["device_1.GPS5.samples.length"]


def test_hero7_accl_columns_name_the_axes_like_gopro_telemetry() -> None:
    # gopro-telemetry: "Accelerometer (z) [m/s²]" first; ORIN is ZXY.
    t = raw("gopro-telemetry-hero7.raw")
    assert stream(t, "ACCL").columns == ("z (m/s²)", "x (m/s²)", "y (m/s²)")


def test_hero6_bad_fix_gps_discarded_and_faces_timed() -> None:
    t = raw("gpmf-parser-hero6.raw")
    assert t.gps
    assert not t.valid_gps  # gopro-telemetry GPSFix 2: GPS5 absent
    face = stream(t, "FACE")
    assert face.sample_count >= 2
    assert all(c.start is not None for c in face.chunks)


def test_fusion_first_altitude_is_the_ellipsoid_height() -> None:
    exp = scenario("ellipsoid")["expect"]
    t = raw("gpmf-parser-Fusion.raw")
    assert t.gps[0].ele == pytest.approx(exp["device_1.GPS5.samples[0].value[2]"], abs=MM)
    assert t.info["altitude"] == "WGS84 ellipsoid"  # pre-HERO11 GPS5 has no GPSA
    assert raw("gopro-telemetry-hero11.raw").info["altitude"] == "MSL"  # GPSA "MSLV"


def test_consecutive_chapters_accl_count_and_last_time_equal_gopro_telemetry() -> None:
    """1092 ACCL samples in both chapters; with the MP4 timing of consecutiveTiming.json the
    last one is at 10751.884 ms: chapter 2 starts 7 s later, its last payload at 2080 ms
    lasting 1680 ms, and our even spread puts sample i at start + i x duration / count.
    """
    sc = scenario("two consecutive")["expect"]
    timing = json.loads((REF / "gopro-telemetry-partials" / "consecutiveTiming.json").read_text())
    one = stream(raw("gopro-telemetry-consecutive1.raw"), "ACCL")
    two = stream(raw("gopro-telemetry-consecutive2.raw"), "ACCL")
    assert one.sample_count + two.sample_count == sc["device_1.ACCL.samples.length"]
    offset_ms = posix(timing[1]["start"]) * 1000 - posix(timing[0]["start"]) * 1000
    last = timing[1]["samples"][-1]
    n = two.chunks[-1].count
    cts = offset_ms + last["cts"] + (n - 1) * last["duration"] / n
    assert cts == pytest.approx(sc["device_1.ACCL.samples[1091].cts"], abs=1e-6)


def test_hero11_gps9_sample_10_time_and_fix() -> None:
    """gopro-telemetry says 13:29:37.898; the sample stores 48577899 ms of day: .899.

    gopro-telemetry (timeKLV.js GPS9toDate) computes the milliseconds as
    ``(seconds - floor(seconds)) * 1000`` in floating point and setUTCMilliseconds
    truncates: (48577.899 - 48577) * 1000 = 898.99999... -> 898.
    """
    sc = scenario("GPS9")["expect"]
    t = raw("gopro-telemetry-hero11.raw")
    sample = t.gps[10]
    assert sample.fix == sc["device_1.GPS9.samples[10].value[8]"]
    _, secs = rows(RAW / "gopro-telemetry-hero11.raw", stream(t, "GPS9"))[10][5:7]
    assert round(secs * 1000) == 48_577_899
    assert int((secs - int(secs)) * 1000) == 898  # their arithmetic
    assert sample.utc == pytest.approx(
        posix(sc["device_1.GPS9.samples[10].date"]) + 0.001, abs=1e-6
    )


def test_mp4_header_block_highlights_and_firmware() -> None:
    exp = expected("gopro-telemetry__mp4Header.json")["expect"]
    t = raw("gopro-telemetry-mp4header.raw")
    assert stream(t, "HLMT").sample_count == exp["HLMT.streams.HLMT.samples.length"]
    assert t.firmware == exp["device_1.streams['Data 0'][0].FMWR"]
    assert t.camera == "HERO7 Black"
    assert t.gps == ()


def test_hero6_ble_gps_is_all_rejected_like_gopro_telemetry() -> None:
    """processGPS5: GPSP 9999 and GPSF 0, so a 500 precision limit removes every sample."""
    t = raw("gpmf-parser-hero6+ble.raw")
    assert all(s.dop == pytest.approx(99.99) and s.fix == 0 and not s.valid for s in t.gps)


def test_hero5_payload_first_points_equal_gopro_telemetry_gpx_kml_geojson() -> None:
    """toGpx/toKml/toGeojson of hero5.raw: one lone payload.

    Both tools give a lone payload the nominal 1001 ms; gopro-telemetry's
    merge step then writes its samples 55 ms apart (1001/18 = 55.6 ms, its
    dates truncated to whole ms), so sample i differs from ours by under 2 ms.
    """
    gpx = expected("gopro-telemetry__toGpx.json")["expect"]["first_trkpts"]
    geo = expected("gopro-telemetry__toGeojson.json")["expect"]
    t = raw("gpmf-parser-hero5.raw")
    for ours, theirs in zip(t.gps, gpx, strict=False):
        assert (ours.lat, ours.lon) == pytest.approx((theirs["lat"], theirs["lon"]), abs=DEG)
        assert ours.ele == pytest.approx(theirs["ele"], abs=MM)
        assert ours.utc == pytest.approx(posix(theirs["time"]), abs=0.002)
        assert ours.fix == 3
        assert theirs["fix"] == "3d"
        assert ours.dop == pytest.approx(theirs["hdop"])
    assert t.gps[0].speed_2d == pytest.approx(gpx[0]["comment_2d_speed"])
    assert t.gps[0].speed_3d == pytest.approx(gpx[0]["comment_3d_speed"])
    lon, lat, alt = geo["coordinates_index_3_lon_lat_alt"]
    assert (t.gps[3].lon, t.gps[3].lat, t.gps[3].ele) == pytest.approx((lon, lat, alt), abs=DEG)
    assert t.gps[3].utc * 1000 == pytest.approx(
        geo["properties_AbsoluteUtcMicroSec_index_3"], abs=2
    )


# --- gopro-telemetry parseKLV / parseV facts ---------------------------------------


def strm_values(path: Path, devc: int, strm: int, key: bytes) -> Any:
    """The value of ``key`` in STRM ``strm`` of DEVC ``devc`` (file order), via our KLV walker."""
    data = path.read_bytes()
    devcs = [k for k in gpmf.iter_klv(data) if k.key == gpmf.DEVC]
    strms = [k for k in gpmf.children(data, devcs[devc]) if k.key == gpmf.STRM]
    klv = next(k for k in gpmf.children(data, strms[strm]) if k.key == key)
    return data, klv


def test_parse_klv_facts_hero5() -> None:
    path = RAW / "gpmf-parser-hero5.raw"
    data, klv = strm_values(path, 0, 2, gpmf.GPSU)
    assert gpmf.read_text(data, klv) == "170417173103.000"
    data, klv = strm_values(path, 0, 1, gpmf.SIUN)
    assert gpmf.read_text(data, klv) == "rad/s"
    data, klv = strm_values(path, 0, 0, gpmf.STNM)
    assert gpmf.read_text(data, klv) == "Accelerometer (up/down, right/left, forward/back)"
    data, klv = strm_values(path, 0, 3, b"ISOG")
    assert gpmf.read_numbers(data, klv)[0] < 2


def test_parse_klv_facts_hero6_and_ble() -> None:
    t = raw("gpmf-parser-hero6.raw")
    assert rows(RAW / "gpmf-parser-hero6.raw", stream(t, "ISOE"))[0] == (181,)
    assert stream(t, "FCNM").sample_count == 15
    assert stream(t, "WRGB").columns == ("r", "g", "b")
    b = raw("gpmf-parser-hero6+ble.raw")
    accl = stream(b, "ACCL")
    data = (RAW / "gpmf-parser-hero6+ble.raw").read_bytes()
    first = accl.chunks[0].extent
    stored = gpmf.raw_rows(accl.codec, data[first.offset : first.offset + first.size])
    assert stored[2] == (-31, 119, 4311)  # as stored (ORIN YxZ)
    # decoded: scaled (SCAL 418) and turned to the camera axes by MTRX (ORIO ZXY)
    assert accl.columns == ("z (m/s²)", "x (m/s²)", "y (m/s²)")
    assert rows(RAW / "gpmf-parser-hero6+ble.raw", accl)[2] == pytest.approx(
        (4311 / 418, -119 / 418, -31 / 418)
    )
    assert len(stream(b, "GPS5").columns) == 5
    data, klv = strm_values(RAW / "gpmf-parser-hero6+ble.raw", 0, 1, b"MTRX")
    assert len(gpmf.read_numbers(data, klv)) == 9
    assert [d["name"] for d in b.info["devices"]] == ["Hero6 Black", "SENSORB6"]


def test_parse_klv_facts_karma_and_hero7() -> None:
    t = raw("gpmf-parser-karma.raw")
    assert len(stream(t, "KBAT").columns) == 15
    h7 = raw("gopro-telemetry-hero7.raw")
    assert h7.info["payloads"] == 17  # 17 DEVC
    unif = rows(RAW / "gopro-telemetry-hero7.raw", stream(h7, "UNIF"))
    assert unif[8] == (0.572265625,)
    data, klv = strm_values(RAW / "gopro-telemetry-hero7.raw", 8, 2, gpmf.GPSP)
    assert gpmf.read_numbers(data, klv) == (143,)
    data, klv = strm_values(RAW / "gopro-telemetry-hero7.raw", 5, 0, b"ORIO")
    assert len(gpmf.read_text(data, klv)) == 3
    face = stream(h7, "FACE")
    first_face = rows(RAW / "gopro-telemetry-hero7.raw", face)
    assert face.sample_count == len(first_face)
    assert first_face


PARSE_V = expected("gopro-telemetry__parseV.json")["cases"] if EXPECTED.is_dir() else []


@pytest.mark.parametrize("case", PARSE_V, ids=lambda c: c["fourcc"] + c["sample_file"][-1])
def test_parse_v_buffers_decode_like_gopro_telemetry(case: dict[str, Any]) -> None:
    """Each buffer holds a KLV value; decode its first value with the stated layout."""
    data = (SAMPLES / case["sample_file"]).read_bytes()
    type_char, n = case["type_char"], case["read_length"]
    fields = "Lffff" if type_char == "?" else type_char * (n // gpmf.TYPES[type_char][1])
    codec = gpmf.Codec(type_char, n, fields, tuple(gpmf.TYPES[c][1] for c in fields))
    first = gpmf.decode_chunk(codec, data[:n])[0]
    want = case["expected"]
    assert list(first) == pytest.approx(want if isinstance(want, list) else [want], rel=1e-12)


# --- exiftool's GoPro.jpg ------------------------------------------------------------


def test_jpeg_app6_tags_equal_exiftools_test_output() -> None:
    exp = expected("exiftool__GoPro.t.json")
    with open(SAMPLES / "other" / "exiftool-GoPro.jpg", "rb") as f:
        t = gopro.extract_jpeg(f)
    tags = {e["id"]: e["value"] for e in exp["expected_tags"]}
    settings = t.info["settings"]
    assert t.format == "gopro-jpeg"
    assert t.camera == tags["MINF"] == "HERO6 Black"
    assert t.firmware == tags["FMWR"]
    assert t.info["devices"] == [{"id": 1, "name": tags["DVNM"]}]
    for key in ("LINF", "CASN", "PTWB", "PTSH", "PTCL", "EXPT", "PTEV", "RATE", "PRES"):
        assert settings[key] == tags[key]
    for key in ("TICK", "TSMP", "CMOD", "MTYP", "DZST", "PIMX", "PIMN", "PHDR", "PRAW", "HFLG"):
        assert settings[key] == int(tags[key])
    assert settings["CINF"] == [int(v) for v in tags["CINF"].split()]
    assert "".join(f"{v:08x}" for v in settings["MUID"]) == tags["MUID"]
    # PrintConv'd by exiftool: "Up", "Yes", "No", "On" are the letters U, Y, N, Y.
    assert (settings["OREN"], settings["DZOM"], settings["SMTR"], settings["PRTN"]) == (
        "U",
        "Y",
        "N",
        "Y",
    )


def test_jpeg_position_comes_from_exif_gps() -> None:
    """exiftool__GoPro.t.json notes the photo's EXIF GPS: 40.6584192 N, 73.9933543 W."""
    with open(SAMPLES / "other" / "exiftool-GoPro.jpg", "rb") as f:
        t = gopro.extract_jpeg(f)
    assert len(t.gps) == 1
    assert t.gps[0].lat == pytest.approx(40.6584192, abs=DEG)
    assert t.gps[0].lon == pytest.approx(-73.9933543, abs=DEG)


# --- the spec's own single-value examples (dustin/gpmf Spec.hs) -----------------------


@pytest.mark.parametrize(
    "case",
    expected("dustin-gpmf__Spec.hs.json")["single_value_examples"]["cases"]
    if EXPECTED.is_dir()
    else [],
    ids=lambda c: c["type_char"],
)
def test_single_values_decode_like_dustin_gpmf(case: dict[str, Any]) -> None:
    raw_bytes = bytes.fromhex(case["bytes_hex"])
    t = case["type_char"]
    codec = gpmf.Codec(t, len(raw_bytes), t, (len(raw_bytes),))
    (value,) = gpmf.decode_chunk(codec, raw_bytes)[0]
    want = case["value"]
    assert value == (want if isinstance(want, str) else pytest.approx(want[0], rel=1e-7))


# --- per-stream .gpmf files read back ------------------------------------------------


@pytest.mark.parametrize("name", ["gopro-telemetry-hero11.raw", "gpmf-parser-karma.raw"])
def test_per_stream_gpmf_reads_back_with_the_same_values(name: str) -> None:
    t = raw(name)
    for s in t.streams:
        f = next(r for r in t.raw_files if r.name == f"{s.name}.gpmf")
        back = gopro.extract_gpmf(_bytes_file(materialise(RAW / name, f)))
        (b,) = [x for x in back.streams if x.fourcc == s.fourcc]
        assert b.columns == s.columns
        assert b.sample_count == s.sample_count
        data = materialise(RAW / name, f)
        assert rows_of(data, b) == rows(RAW / name, s)


def rows_of(data: bytes, s: Stream) -> list[tuple[Any, ...]]:
    return [
        r
        for c in s.chunks
        for r in gpmf.decode_chunk(s.codec, data[c.extent.offset : c.extent.offset + c.extent.size])
    ]


def _bytes_file(data: bytes) -> Any:
    import io

    return io.BytesIO(data)


def test_extents_stay_inside_the_source() -> None:
    size = (MP4 / "karma.mp4").stat().st_size
    t = mp4("karma.mp4")
    for s in t.streams:
        for c in s.chunks:
            assert isinstance(c.extent, Extent)
            assert c.extent.offset >= 0
            assert c.extent.offset + c.extent.size <= size


@pytest.mark.parametrize("fourcc", ["ACCL", "GYRO", "GPS5", "FCNM", "ISOE", "SHUT", "WBAL", "WRGB"])
def test_scaled_and_rotated_values_equal_gopro_telemetry_interpreted_state(fourcc: str) -> None:
    """gopro-telemetry's interpretKLV state for hero6+ble.raw: SCAL applied, MTRX applied
    (ACCL/GYRO come out in ORIO order z, x, y), the same doubles as ours."""
    state = json.loads((REF / "gopro-telemetry-partials" / "interpreted.json").read_text())
    theirs = next(s[fourcc] for s in state["1"]["DEVC"][0]["STRM"] if fourcc in s)
    ours = rows(RAW / "gpmf-parser-hero6+ble.raw", stream(raw("gpmf-parser-hero6+ble.raw"), fourcc))
    assert len(ours) == len(theirs)
    for mine, their in zip(ours, theirs, strict=True):
        assert list(mine) == pytest.approx(their if isinstance(their, list) else [their], rel=1e-12)
