"""BlackVue: the real .gps/.3gf sidecars (dashcamigo), the same payloads in a free box, and
exiftool's reading of them.

Expected values come from the sample's expected__blackvue.json (dashcamigo's and
mapillary_tools' tests) and from exiftool -ee; none from this project's code.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import statistics
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from telemetryfs.parsers import detect, registry
from telemetryfs.parsers import extract as extraction
from telemetryfs.parsers.errors import ParseError, UnsupportedError
from telemetryfs.parsers.formats import blackvue
from telemetryfs.parsers.formats.blackvue import parse, sidecar
from telemetryfs.parsers.model import Telemetry
from tests.footage.blackvue import JSON_CPRT, LEGACY_CPRT, blackvue_mp4
from tests.paths import SAMPLES

DIR = SAMPLES / "blackvue" / "dashcamigo"
GPS = DIR / "20260718_070333_N.gps"
ACCEL = DIR / "20260718_070333_N.3gf"
EXPECTED = json.loads((SAMPLES / "blackvue" / "expected__blackvue.json").read_text())
SIDECAR_FACTS = EXPECTED["dashcamigo"]["20260718_070333_N.gps"]
ACCEL_FACTS = EXPECTED["dashcamigo"]["20260718_070333_N.3gf"]
MAPILLARY = EXPECTED["mapillary_tools_inline"]


def utc(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@functools.cache
def exiftool_docs(path: Path) -> list[dict[str, str]]:
    """exiftool -ee's embedded documents (Doc1, Doc2, ...) of a file, tag -> value."""
    out = subprocess.run(
        ["exiftool", "-ee", "-n", "-G3", "-s", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    docs: dict[str, dict[str, str]] = {}
    for line in out.splitlines():
        group, _, rest = line.partition("]")
        tag, _, value = rest.partition(":")
        if group.startswith("[Doc"):
            docs.setdefault(group[1:], {})[tag.strip()] = value.strip()
    return [docs[k] for k in sorted(docs, key=lambda k: int(k[3:]))]


def exif_time(value: str) -> float:
    return datetime.strptime(value, "%Y:%m:%d %H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A newer BlackVue's MP4: the real sidecar payloads inside its free box."""
    path = tmp_path_factory.mktemp("blackvue") / "20260718_070333_NF.mp4"
    path.write_bytes(blackvue_mp4(gps=GPS.read_bytes(), accel=ACCEL.read_bytes()))
    return path


def test_sidecar_times_come_from_rmc_not_from_the_camera_clock() -> None:
    t = extraction.extract(GPS)
    assert t.format == "blackvue"
    assert len(t.gps) >= SIDECAR_FACTS["records_min"]
    assert all(s.valid for s in t.gps)
    first = SIDECAR_FACTS["first_fix_utc"].split()[0]
    assert t.gps[0].utc == utc(first)
    assert max(s.utc or 0 for s in t.gps) <= utc(SIDECAR_FACTS["last_fix_must_be_le"].split()[0])
    # The prefix of the first line is the camera's local clock, ~3602 s ahead.
    prefix = int(GPS.read_bytes()[1:14]) / 1000
    assert 3590 < prefix - t.gps[0].utc < 3610
    low, high = SIDECAR_FACTS["speed_ms_range"]
    assert all(low <= s.speed_2d <= high for s in t.gps if s.speed_2d is not None)
    assert all(s.lat is not None and s.lon is not None for s in t.gps)
    assert {round(s.lat or 0) for s in t.gps} == {SIDECAR_FACTS["lat"]}
    assert {abs(round(s.lon or 0)) for s in t.gps} == {SIDECAR_FACTS["lon"]}
    # Video times run at the receiver's pace from the first line.
    assert [s.video_time for s in t.gps] == [float(i) for i in range(len(t.gps))]


def test_sidecar_carries_the_3gf_beside_it() -> None:
    t = extraction.extract(GPS)
    stream = next(s for s in t.streams if s.name == "3gf")
    assert stream.sample_count == ACCEL_FACTS["samples"]
    rows = extraction.decode_chunk(stream, b"")
    assert rows[0][0] == ACCEL_FACTS["first_ms"]
    low, high = ACCEL_FACTS["mean_vertical_g"]
    assert low <= statistics.mean(float(r[1] or 0) for r in rows) <= high
    limit = ACCEL_FACTS["abs_lateral_longitudinal_g_max"]
    assert max(abs(float(r[i] or 0)) for r in rows for i in (2, 3)) <= limit


def test_free_box_matches_exiftool(built: Path) -> None:
    t = extraction.extract(built)
    assert t.format == "blackvue"
    assert t.camera == "DR900S-1CH"
    docs = exiftool_docs(built)
    fixes = [d for d in docs if "GPSDateTime" in d]
    # exiftool's documents are the RMC fixes; ours add the last second's lone GGA.
    with_rmc = [s for s in t.gps if s.speed_2d is not None]
    assert len(with_rmc) == len(fixes) == 8
    for ours, theirs in zip(with_rmc, fixes, strict=True):
        assert ours.utc == exif_time(theirs["GPSDateTime"])
        assert ours.lat == pytest.approx(float(theirs["GPSLatitude"]))
        assert ours.lon == pytest.approx(float(theirs["GPSLongitude"]))
        assert ours.speed_2d == pytest.approx(float(theirs["GPSSpeed"]) / 3.6)
        assert ours.course == pytest.approx(float(theirs["GPSTrack"]))
        if "GPSAltitude" in theirs:
            assert ours.ele == pytest.approx(float(theirs["GPSAltitude"]))
    lone = [s for s in t.gps if s.speed_2d is None]
    assert [s.utc for s in lone] == [utc("2026-07-18T06:03:37Z")]
    assert {r.name: r.size for r in t.raw_files} == {"gps.raw": 3985, "3gf.raw": 500}


def test_accelerometer_in_g_where_exiftool_divides_by_ten(built: Path) -> None:
    """exiftool's Process_3gf divides the raw counts by 10; dashcamigo by 128 (1/128 g).

    A parked or driving car feels 1 g downwards: raw/128 averages 0.97, raw/10
    averages 12.1, which is neither 1 g nor 9.81 m/s^2. The times agree.
    """
    t = extraction.extract(built)
    stream = next(s for s in t.streams if s.name == "3gf")
    rows = extraction.decode_chunk(stream, ACCEL.read_bytes()[: stream.chunks[0].extent.size])
    docs = [d for d in exiftool_docs(built) if "Accelerometer" in d]
    assert len(docs) == len(rows) == 50
    theirs = [[float(v) for v in d["Accelerometer"].split()] for d in docs]
    for ours, their, doc in zip(rows, theirs, docs, strict=True):
        assert float(ours[0] or 0) / 1000 == pytest.approx(float(doc["TimeCode"]))
        assert [round(float(v or 0) * 128 / 10, 1) for v in ours[1:]] == their
    assert statistics.mean(float(r[1] or 0) for r in rows) == pytest.approx(1.0, abs=0.05)
    their_mean = statistics.mean(v[0] for v in theirs)
    assert abs(their_mean - 1.0) > 5
    assert abs(their_mean - 9.81) > 0.15 * 9.81


def test_model_from_cprt_in_both_spellings(tmp_path: Path) -> None:
    assert parse.model_of(LEGACY_CPRT) == MAPILLARY["cprt_model"]["legacy"].split("-> ")[1]
    assert parse.model_of(JSON_CPRT) == MAPILLARY["cprt_model"]["json"].split("-> ")[1]
    assert parse.model_of(b"") is None
    assert parse.model_of(b'{"model": 5}') is None
    path = tmp_path / "json.mp4"
    path.write_bytes(blackvue_mp4(gps=GPS.read_bytes(), accel=None, cprt=JSON_CPRT))
    assert extraction.extract(path).camera == "DR900X Plus"


def test_gga_only_log_is_dated_by_the_camera_day() -> None:
    fact = MAPILLARY["test_gpspoint_gga"]
    records, _ = parse.read_nmea(fact["line"].encode() + b"\n")
    assert len(records) == 1
    assert records[0].utc == pytest.approx(fact["time"])
    assert records[0].lat == pytest.approx(fact["lat"])
    assert records[0].lon == pytest.approx(fact["lon"])


def test_gll_only_log_is_dated_by_the_camera_day() -> None:
    fact = MAPILLARY["test_gpspoint_gll"]
    records, _ = parse.read_nmea(fact["line"].encode() + b"\n")
    assert len(records) == 1
    assert records[0].utc == pytest.approx(fact["time"])
    assert records[0].lat == pytest.approx(fact["lat"])
    assert records[0].lon == pytest.approx(fact["lon"])


def _nmea(body: str) -> str:
    checksum = functools.reduce(lambda a, c: a ^ ord(c), body, 0)
    return f"${body}*{checksum:02X}"


def test_gga_before_the_first_rmc_takes_the_rmc_offset() -> None:
    # Camera clock two hours ahead of UTC, just before midnight UTC: the GGA's date is
    # the day before the camera's.
    camera = int(utc("2024-03-02T01:59:58Z") * 1000)
    text = (
        f"[{camera}]{_nmea('GPGGA,235958.00,4807.0,N,01131.0,E,1,08,0.9,545.4,M,46.9,M,,')}\n"
        f"[{camera + 2000}]{_nmea('GPRMC,000000.00,A,4807.0,N,01131.0,E,010.0,084.4,020324,,,A')}\n"
    )
    records, _ = parse.read_nmea(text.encode())
    assert [r.utc for r in records] == [utc("2024-03-01T23:59:58Z"), utc("2024-03-02T00:00:00Z")]
    assert [r.video_time for r in records] == [0.0, 2.0]


def test_sniff_and_pairing() -> None:
    assert detect.sniff(GPS.read_bytes()[:4096], GPS.name) == detect.BLACKVUE_GPS
    assert detect.sniff(ACCEL.read_bytes(), ACCEL.name) is None  # merged, never shown alone
    stem = "20260718_070333_N"
    for video in (stem + "F", stem + "R"):
        assert registry.sidecar_belongs(stem, detect.BLACKVUE_GPS, video)
        assert stem in registry.sidecar_stems(video)
    assert not registry.sidecar_belongs(stem, detect.BLACKVUE_GPS, stem + "X")
    assert not registry.sidecar_belongs(stem, detect.NMEA, stem + "F")  # NMEA: same stem only


def test_merge_into_a_clip_without_telemetry_takes_the_blackvue_clock() -> None:
    clip = Telemetry(format="mp4", duration=60.0, info={"note": "no telemetry found"})
    with GPS.open("rb") as f:
        side = sidecar.extract(f)
    merged = sidecar.merge(clip, side)
    assert merged.format == "blackvue"  # GPS clock: -o time_offset leaves it alone
    assert registry.traits_of(merged.format).clock.value == "gps"
    assert len(merged.gps) == len(side.gps)
    assert merged.raw_files == ()  # gps.raw lives in the sidecar, not in the clip
    assert [s.name for s in merged.streams] == ["gps", "3gf"]
    assert "note" not in merged.info
    assert sidecar.merge(None, side).raw_files == ()


def _cuts(data: bytes) -> list[bytes]:
    return [data[: len(data) * i // 10] for i in range(10)] + [data[:-1]]


def test_cut_and_damaged_inputs_raise_only_parse_errors(built: Path) -> None:
    for whole in (built.read_bytes(), GPS.read_bytes()):
        for data in _cuts(whole):
            for entry in (*blackvue.FORMATS[0].fuzz, *blackvue.FORMATS[1].fuzz):
                with contextlib.suppress(ParseError):
                    entry.run(io.BytesIO(data))
    # Cut inside the 3gf box (no end mark): the whole records before the cut stay,
    # and the GPS before it.
    data = blackvue_mp4(gps=GPS.read_bytes(), accel=ACCEL.read_bytes())
    cut = data.index(b"3gf ") + 4 + 25
    t = blackvue.extract(io.BytesIO(data[:cut]))
    assert [s.sample_count for s in t.streams] == [9, 2]
    cut = data.index(b"gps ") + 4 + 2000
    t = blackvue.extract(io.BytesIO(data[:cut]))
    assert 3 <= len(t.gps) < 9
    assert [s.name for s in t.streams] == ["gps"]
    with pytest.raises(UnsupportedError):
        blackvue.extract(io.BytesIO(blackvue_mp4(gps=None, accel=None, cprt=None)))
    with pytest.raises(UnsupportedError):
        blackvue.extract(io.BytesIO(bytes.fromhex("0000001066726565") + b"\0" * 8))


def test_without_gps_the_model_stays_and_no_fix_is_no_error() -> None:
    t = blackvue.extract(io.BytesIO(blackvue_mp4(gps=None, accel=None, cprt=JSON_CPRT)))
    assert (t.format, t.camera, t.gps, t.error) == ("blackvue", "DR900X Plus", (), None)
    empty = sidecar.extract(io.BytesIO(b"[1623057074211]$GPVTG,,T,,M,0.078,N,0.144,K,D*28\n"))
    assert (empty.gps, empty.error) == ((), None)
    clip = Telemetry(format="mp4", duration=60.0)
    merged = sidecar.merge(clip, empty)
    assert (merged.gps, merged.duration) == ((), 60.0)


def test_a_linked_3gf_is_not_followed(tmp_path: Path) -> None:
    (tmp_path / "a.gps").write_bytes(GPS.read_bytes())
    (tmp_path / "a.3gf").symlink_to(ACCEL)
    with (tmp_path / "a.gps").open("rb") as f:
        assert [s.name for s in sidecar.extract(f).streams] == ["gps"]
