"""Tests of the footage generator (tests/footage), checked against outside tools.

What a generator says it wrote (its ``Footage`` truth) is compared with what
exiftool and ffprobe/ffmpeg read from the file, and with an independently
rebuilt :class:`Route`; structure is checked with small walkers written here.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import re
import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from telemetryfs.parsers.containers.mp4 import find_box, iter_boxes, iter_children, read_box_data
from tests.footage import (
    Footage,
    Route,
    make_card,
    make_demo,
    make_gopro,
    make_gopro_recording,
    make_mapcam,
    make_novatek,
)
from tests.footage.novatek import KNOT

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 4, 6, 14, 21, 22, tzinfo=UTC)

# Skip without the outside tools locally; in CI (CI=true) a missing tool fails the tests instead.
_IN_CI = bool(os.environ.get("CI"))
needs_exiftool = pytest.mark.skipif(
    shutil.which("exiftool") is None and not _IN_CI, reason="exiftool not installed"
)
needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffprobe") is None and not _IN_CI, reason="ffmpeg not installed"
)

TAG_LINE = re.compile(r"^\[(\w+)\]\s+(\S+)\s+: (.*)$")


def exiftool(
    path: str | os.PathLike[str], *tags: str, large: bool = False
) -> list[tuple[str, str, str]]:
    """(group, tag, value) for every tag exiftool prints, embedded documents included."""
    cmd = ["exiftool", "-ee", "-U", "-n", "-a", "-G3", "-s"]
    if large:
        cmd += ["-api", "LargeFileSupport=1"]
    cmd += [f"-{t}" for t in tags]
    out = subprocess.run([*cmd, os.fspath(path)], capture_output=True, text=True, check=True).stdout
    return [m.groups() for line in out.splitlines() if (m := TAG_LINE.match(line))]  # type: ignore[misc]


def doc_values(rows: list[tuple[str, str, str]], tag: str) -> list[str]:
    """Values of ``tag`` in embedded documents (Doc1, Doc2 ...), in file order."""
    return [v for g, t, v in rows if t == tag and g.startswith("Doc")]


def ffprobe(path: str | os.PathLike[str]) -> dict[str, Any]:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "quiet",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
            os.fspath(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def gpmf_stream_bytes(path: Path, tmp: Path) -> bytes:
    """The gpmd track as ffmpeg extracts it (its own reading of stsz/stco)."""
    streams = ffprobe(path)["streams"]
    index = next(s["index"] for s in streams if s.get("codec_tag_string") == "gpmd")
    out = tmp / (path.name + ".gpmf")
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-i",
            os.fspath(path),
            "-map",
            f"0:{index}",
            "-c",
            "copy",
            "-f",
            "data",
            os.fspath(out),
        ],
        check=True,
    )
    return out.read_bytes()


def iter_klv(
    data: bytes, start: int = 0, end: int | None = None
) -> Iterator[tuple[bytes, bytes, int, int, int]]:
    """(key, type, struct size, repeat, value offset) of each KLV; checks 32-bit alignment."""
    end = len(data) if end is None else end
    pos = start
    while pos < end:
        assert pos % 4 == 0, f"KLV at {pos} is not 32-bit aligned"
        key, kind, size, repeat = struct.unpack_from(">4scBH", data, pos)
        length = size * repeat
        assert pos + 8 + length <= end, f"KLV {key!r} at {pos} runs past its parent"
        yield key, kind, size, repeat, pos + 8
        pos += 8 + (length + 3) // 4 * 4


def nested(
    data: bytes, offset: int, size: int, repeat: int
) -> Iterator[tuple[bytes, bytes, int, int, int]]:
    return iter_klv(data, offset, offset + size * repeat)


@pytest.fixture(scope="module")
def footage_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("footage")


@pytest.fixture(scope="module")
def hero8(footage_dir: Path) -> Footage:
    return make_gopro(
        footage_dir / "GX010042.MP4", duration_s=30.0, model="HERO8 Black", start_utc=START, seed=7
    )


@pytest.fixture(scope="module")
def hero13(footage_dir: Path) -> Footage:
    return make_gopro(
        footage_dir / "GX010043.MP4", duration_s=20.0, model="HERO13 Black", start_utc=START, seed=8
    )


@pytest.fixture(scope="module")
def hero11(footage_dir: Path) -> Footage:
    return make_gopro(
        footage_dir / "GX010044.MP4", duration_s=20.0, gps="both", model="HERO11 Black", seed=9
    )


# -- route ----------------------------------------------------------------------------


def test_route_is_deterministic_per_seed() -> None:
    a, b, c = Route(seed=3), Route(seed=3), Route(seed=4)
    assert a.at(1234.5) == b.at(1234.5)
    assert a.at(1234.5) != c.at(1234.5)


def test_route_moves_like_a_vehicle() -> None:
    route = Route(seed=0)
    points = [route.at(t / 10) for t in range(0, 36_000)]  # one hour at 10 Hz
    speeds = [p.speed_2d for p in points]
    assert max(speeds) <= 30.0
    assert min(speeds) == 0.0
    assert len(route.stops(3600.0)) >= 3
    for p, q in itertools.pairwise(points):
        assert abs(q.speed_2d - p.speed_2d) <= 2.5 * 0.1 + 1e-9  # braking limit
        turn = abs((q.course - p.course + 180) % 360 - 180)
        if p.speed_2d > 1.0:
            # lateral acceleration v * omega stays near 3 m/s²
            assert p.speed_2d * math.radians(turn / 0.1) <= 3.5
    elevations = [p.ele for p in points]
    assert 300 < min(elevations) < max(elevations) < 460
    # distance travelled agrees with the haversine length of the track
    hav = 0.0
    for p, q in zip(points[::10], points[10::10], strict=False):
        dlat, dlon = math.radians(q.lat - p.lat), math.radians(q.lon - p.lon)
        h = (
            math.sin(dlat / 2) ** 2
            + math.cos(math.radians(p.lat))
            * math.cos(math.radians(q.lat))
            * math.sin(dlon / 2) ** 2
        )
        hav += 2 * 6_371_008.8 * math.asin(math.sqrt(h))
    assert hav == pytest.approx(points[-10].distance, rel=0.01)


# -- GoPro ----------------------------------------------------------------------------


@needs_exiftool
def test_gopro_gps5_points_read_back_by_exiftool(hero8: Footage) -> None:
    rows = exiftool(hero8.path)
    lats = [float(v) for v in doc_values(rows, "GPSLatitude")]
    lons = [float(v) for v in doc_values(rows, "GPSLongitude")]
    alts = [float(v) for v in doc_values(rows, "GPSAltitude")]
    speeds = [float(v) for v in doc_values(rows, "GPSSpeed")]
    samples = hero8.samples
    assert len(samples) == len(lats) == len(lons) > 500  # 18 Hz for 30 s
    for s, lat, lon, alt, speed in zip(samples, lats, lons, alts, speeds, strict=True):
        assert lat == pytest.approx(s["lat"], abs=0.6e-7)
        assert lon == pytest.approx(s["lon"], abs=0.6e-7)
        assert alt == pytest.approx(s["ele"], abs=1e-3)
        assert speed == pytest.approx(s["speed_2d"], abs=1e-3)
    assert dict((t, v) for g, t, v in rows if g == "Main")["Model"] == "HERO8 Black"
    assert "HD8.01.02.51.00" in [v for _, t, v in rows if t == "FirmwareVersion"]
    # one GPSU per payload: the time of the payload's first GPS5 sample
    gpsu = doc_values(rows, "GPSDateTime")
    firsts = [s for s in samples if s["index"] == 0]
    assert len(gpsu) == len(firsts) == 30
    for text, s in zip(gpsu, firsts, strict=True):
        when = datetime.strptime(text, "%Y:%m:%d %H:%M:%S.%f").replace(tzinfo=UTC)
        assert when.timestamp() == pytest.approx(s["utc"], abs=1e-3)


def test_gopro_samples_encode_the_route_at_their_times(hero8: Footage) -> None:
    route = Route(seed=7)  # rebuilt here, independently of the generator's instance
    for s in hero8.samples[::7]:
        p = route.at(s["video_time"])  # one file: video time = time since the route start
        assert s["lat"] == pytest.approx(p.lat, abs=0.6e-7)
        assert s["lon"] == pytest.approx(p.lon, abs=0.6e-7)
        assert s["ele"] == pytest.approx(p.ele, abs=2e-3)
        assert s["speed_2d"] == pytest.approx(p.speed_2d, abs=0.02)
    times = [s["utc"] for s in hero8.samples]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(abs(g - 1 / 18) < 1.5e-3 for g in gaps)


@needs_exiftool
def test_gopro_gps9_points_read_back_by_exiftool(hero13: Footage) -> None:
    rows = exiftool(hero13.path)
    assert doc_values(rows, "GPSLatitude") == []  # HERO13: no GPS5 at all
    # exiftool 12.57 has no GPS9 table; -U decodes it with our TYPE and SCAL.
    records = [r.split() for v in doc_values(rows, "GoPro_GPS9") for r in v.split(", ")]
    samples = hero13.samples
    assert len(records) == len(samples) == 200  # 10 Hz for 20 s
    for s, r in zip(samples, records, strict=True):
        lat, lon, alt, s2d, s3d, days, secs, dop, fix = map(float, r)
        assert lat == pytest.approx(s["lat"], abs=0.6e-7)
        assert lon == pytest.approx(s["lon"], abs=0.6e-7)
        assert alt == pytest.approx(s["ele"], abs=1e-3)
        assert (s2d, s3d) == pytest.approx((s["speed_2d"], s["speed_3d"]), abs=1e-3)
        utc = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(days=days, seconds=secs)
        assert utc.timestamp() == pytest.approx(s["utc"], abs=1e-3)
        assert (dop, fix) == (s["dop"], 3)


@needs_exiftool
def test_gopro_both_streams_agree(hero11: Footage) -> None:
    rows = exiftool(hero11.path)
    gps5 = [float(v) for v in doc_values(rows, "GPSLatitude")]
    gps9 = [float(r.split()[0]) for v in doc_values(rows, "GoPro_GPS9") for r in v.split(", ")]
    assert len(gps5) == len(gps9) == len(hero11.tracks["GPS5"]) == len(hero11.tracks["GPS9"]) == 200
    assert gps5 == gps9
    assert hero11.gps_stream == "GPS9"


@needs_ffmpeg
def test_gopro_opens_in_ffprobe_with_a_gpmd_stream(hero8: Footage, footage_dir: Path) -> None:
    probe = ffprobe(hero8.path)
    kinds = [(s["codec_type"], s.get("codec_tag_string")) for s in probe["streams"]]
    assert kinds == [("video", "hvc1"), ("audio", "mp4a"), ("data", "tmcd"), ("data", "gpmd")]
    video = probe["streams"][0]
    assert (video["width"], video["height"], video["r_frame_rate"]) == (3840, 2160, "30000/1001")
    assert probe["streams"][3]["tags"]["handler_name"].strip() == "GoPro MET"
    # ~45 Mb/s: the file is as big as the camera's
    assert int(probe["format"]["size"]) == pytest.approx(45e6 / 8 * 30, rel=0.05)
    # ffmpeg's extraction of the track is the concatenation of the payloads
    stream = gpmf_stream_bytes(Path(hero8.path), footage_dir)
    payloads = hero8.info["gpmf"]["payloads"]
    assert len(stream) == sum(p["size"] for p in payloads)
    with open(hero8.path, "rb") as f:
        direct = b""
        for p in payloads:
            f.seek(p["offset"])
            direct += f.read(p["size"])
    assert stream == direct


@needs_ffmpeg
def test_gopro_payloads_are_shaped_like_a_hero(hero8: Footage, footage_dir: Path) -> None:
    data = gpmf_stream_bytes(Path(hero8.path), footage_dir)
    devcs = list(iter_klv(data))
    assert [k for k, *_ in devcs] == [b"DEVC"] * 30
    totals: dict[bytes, int] = {}
    for number, (_, kind, size, repeat, off) in enumerate(devcs):
        last = number == len(devcs) - 1  # the last payload covers a partial second
        assert kind == b"\0"
        children = list(nested(data, off, size, repeat))
        assert [k for k, *_ in children[:2]] == [b"DVID", b"DVNM"]
        for key, _, s, r, o in children[2:]:
            assert key == b"STRM"
            strm = list(nested(data, o, s, r))
            keys = [k for k, *_ in strm]
            assert keys[:3] == [b"STMP", b"TSMP", b"STNM"]
            data_key, _, item_size, count, _ = strm[-1]
            tsmp = struct.unpack_from(">I", data, strm[1][4])[0]
            totals[data_key] = totals.get(data_key, 0) + count
            assert tsmp == totals[data_key]  # TSMP counts every sample so far
            if data_key in (b"ACCL", b"GYRO"):
                # 200 Hz plus clock drift and flush jitter (README: 199, 202, 201, 198 ...)
                assert item_size == 6
                assert 198 <= count <= 203 or last
                assert keys.index(b"SCAL") < keys.index(data_key)
            elif data_key == b"GPS5":
                assert item_size == 20
                assert count in (18, 19) or last
                assert keys[3:8] == [b"GPSF", b"GPSU", b"GPSP", b"UNIT", b"SCAL"]
    assert totals[b"GPS5"] == len(hero8.samples)
    assert totals[b"ACCL"] == hero8.info["stream_counts"]["ACCL"]


def _moov_tables(path: str) -> list[tuple[bytes, list[bytes]]]:
    """(handler, stbl child kinds) for each trak, walked with the project's box walker."""
    out = []
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        moov = find_box(f, (0, size), b"moov")
        assert moov is not None
        for trak in (b for b in iter_children(f, moov) if b.kind == b"trak"):
            hdlr = find_box(f, trak, b"mdia/hdlr")
            stbl = find_box(f, trak, b"mdia/minf/stbl")
            assert hdlr is not None
            assert stbl is not None
            out.append((read_box_data(f, hdlr)[8:12], [b.kind for b in iter_children(f, stbl)]))
    return out


@pytest.mark.slow
@pytest.mark.timeout(600)
@needs_exiftool
def test_one_hour_gopro_is_fast_sparse_and_uses_co64(tmp_path: Path) -> None:
    path = tmp_path / "GX010001.MP4"
    began = time.monotonic()
    footage = make_gopro(path, duration_s=3600.0, gps="gps5", video_mbps=10.0, seed=5)
    elapsed = time.monotonic() - began
    assert elapsed < 30.0
    st = path.stat()
    assert st.st_size >= 4 * 2**30
    assert st.st_blocks * 512 < 64 * 2**20  # holes: a few MB of GPMF and moov
    with open(path, "rb") as f:
        top = list(iter_boxes(f, 0, st.st_size))
        assert [b.kind for b in top] == [b"ftyp", b"mdat", b"moov"]
        assert top[1].header_size == 16  # 64-bit mdat size
    for _, kinds in _moov_tables(os.fspath(path)):
        assert b"co64" in kinds
        assert b"stco" not in kinds
    lats = [float(v) for v in doc_values(exiftool(path, "GPSLatitude", large=True), "GPSLatitude")]
    assert len(lats) == len(footage.samples) > 64_000
    assert lats == pytest.approx([s["lat"] for s in footage.samples], abs=0.6e-7)


@needs_exiftool
def test_gopro_without_fix_at_first(tmp_path: Path) -> None:
    footage = make_gopro(tmp_path / "GX010001.MP4", duration_s=12.0, no_fix_first_s=5.0, seed=1)
    rows = exiftool(footage.path)
    modes = [int(v) for v in doc_values(rows, "GPSMeasureMode")]
    errors = [float(v) for v in doc_values(rows, "GPSHPositioningError")]
    assert modes[:5] == [0] * 5
    assert set(modes[5:]) == {3}
    assert errors[:5] == [99.99] * 5
    valid = [s["valid"] for s in footage.samples]
    assert valid.count(False) == sum(1 for s in footage.samples if s["payload"] < 5)
    # without a fix the receiver repeats a stale position, far from the truth
    lats = [float(v) for v in doc_values(rows, "GPSLatitude")]
    route = Route(seed=1)
    for lat, s in zip(lats, footage.samples, strict=True):
        near = lat == pytest.approx(route.at(s["video_time"]).lat, abs=1e-6)
        assert near == s["valid"]


def test_gopro_without_moov_is_ftyp_and_mdat(tmp_path: Path) -> None:
    footage = make_gopro(tmp_path / "GX010001.MP4", duration_s=10.0, moov=False)
    path = footage.path
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        assert [b.kind for b in iter_boxes(f, 0, size)] == [b"ftyp", b"mdat"]
        first = footage.info["gpmf"]["payloads"][0]
        f.seek(first["offset"])
        assert f.read(4) == b"DEVC"


@needs_ffmpeg
def test_gopro_fdsc_track_is_listed_and_gps_unchanged(tmp_path: Path) -> None:
    footage = make_gopro(tmp_path / "GOPR0001.MP4", duration_s=8.0, model="HERO5 Black", fdsc=True)
    tags = [s.get("codec_tag_string") for s in ffprobe(footage.path)["streams"]]
    assert tags == ["avc1", "mp4a", "tmcd", "gpmd", "fdsc"]
    handlers = [h for h, _ in _moov_tables(footage.path)]
    assert handlers == [b"vide", b"soun", b"tmcd", b"meta", b"meta"]
    if shutil.which("exiftool") or _IN_CI:
        lats = doc_values(exiftool(footage.path, "GPSLatitude"), "GPSLatitude")
        assert len(lats) == len(footage.samples)


@needs_exiftool
def test_gopro_chapters_continue_one_recording(tmp_path: Path) -> None:
    chapters = make_gopro_recording(
        tmp_path, duration_s=130.0, chapter_s=60.0, number=42, seed=3, start_utc=START
    )
    assert [Path(c.path).name for c in chapters] == ["GX010042.MP4", "GX020042.MP4", "GX030042.MP4"]
    assert sum(c.duration for c in chapters) == pytest.approx(130.0, abs=0.05)
    route = Route(seed=3)
    previous_end = None
    for c in chapters:
        rows = exiftool(c.path)
        gpsu = doc_values(rows, "GPSDateTime")
        first = datetime.strptime(gpsu[0], "%Y:%m:%d %H:%M:%S.%f").replace(tzinfo=UTC).timestamp()
        assert first - c.start_utc < 1 / 18 + 1e-3
        lat = float(doc_values(rows, "GPSLatitude")[0])
        assert lat == pytest.approx(route.at(first - START.timestamp()).lat, abs=1e-7)
        if previous_end is not None:
            assert c.start_utc == pytest.approx(previous_end, abs=1e-6)
        previous_end = c.start_utc + c.duration
        # TSMP restarts in every chapter: the first ACCL total is one payload's worth
        assert 198 <= int(doc_values(rows, "TotalSamples")[0]) <= 203


# -- Novatek --------------------------------------------------------------------------


@needs_exiftool
def test_novatek_points_read_back_by_exiftool(tmp_path: Path) -> None:
    footage = make_novatek(
        tmp_path / "2026_0406_142122_001.MP4",
        duration_s=120.0,
        start_utc=START,
        cold_start_s=4,
        lost_fix_s=[(60, 70)],
    )
    rows = exiftool(footage.path)
    lats = [float(v) for v in doc_values(rows, "GPSLatitude")]
    lons = [float(v) for v in doc_values(rows, "GPSLongitude")]
    speeds = [float(v) for v in doc_values(rows, "GPSSpeed")]
    times = doc_values(rows, "GPSDateTime")
    valid = footage.valid_samples
    assert len(valid) == 120 - 4 - 10
    assert len(lats) == len(lons) == len(times) == len(valid)  # exiftool skips 'V' records
    route = Route(seed=0)
    for s, lat, lon, speed, when in zip(valid, lats, lons, speeds, times, strict=True):
        assert lat == pytest.approx(s["lat"], abs=1e-9)
        assert lon == pytest.approx(s["lon"], abs=1e-9)
        assert speed == pytest.approx(s["speed_2d"] / KNOT * 1.852, abs=1e-6)  # km/h
        assert (
            datetime.strptime(when, "%Y:%m:%d %H:%M:%SZ").replace(tzinfo=UTC).timestamp()
            == s["utc"]
        )
        # float32 DDDmm.mmmm keeps about a metre
        p = route.at(s["video_time"])
        assert (lat, lon) == pytest.approx((p.lat, p.lon), abs=2e-5)


@needs_exiftool
def test_novatek_local_clock_and_mov_container(tmp_path: Path) -> None:
    footage = make_novatek(
        tmp_path / "a.MOV", duration_s=10.0, start_utc=START, container="mov", local_offset_h=2.0
    )
    rows = exiftool(footage.path)
    assert dict((t, v) for g, t, v in rows if g == "Main")["MajorBrand"].strip() == "qt"
    times = doc_values(rows, "GPSDateTime")
    assert len(times) == 10
    first = datetime.strptime(times[0], "%Y:%m:%d %H:%M:%SZ").replace(tzinfo=UTC)
    assert first == START + timedelta(hours=2)  # the camera wrote local time


@needs_exiftool
def test_novatek_without_index_keeps_blocks_in_mdat(tmp_path: Path) -> None:
    footage = make_novatek(tmp_path / "20260406142122_000022F.MP4", duration_s=15.0, index=False)
    with open(footage.path, "rb") as f:
        moov = find_box(f, (0, os.fstat(f.fileno()).st_size), b"moov")
        assert moov is not None
        assert [b.kind for b in iter_children(f, moov)] == [b"mvhd", b"trak", b"trak"]
        for s in footage.samples:
            f.seek(s["offset"])
            block = f.read(92)
            assert block[:12] == b"\0\0\x10\0freeGPS "
            hour, minute, second, year, month, day = struct.unpack_from("<6I", block, 48)
            assert (
                datetime(2000 + year, month, day, hour, minute, second, tzinfo=UTC).timestamp()
                == s["utc"]
            )
            assert block[72:73] == b"A"
    # exiftool 12.57 then scans mdat for freeGPS blocks; it misses a block in the
    # last 32 kB of the file (it reads 0x8000-byte windows), here the last one.
    times = doc_values(exiftool(footage.path, "GPSDateTime"), "GPSDateTime")
    assert times == [
        datetime.fromtimestamp(s["utc"], tz=UTC).strftime("%Y:%m:%d %H:%M:%SZ")
        for s in footage.samples[:-1]
    ]


# -- MAP CAM --------------------------------------------------------------------------


def walk_riff(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(id, data offset, size) of each chunk; any 4-byte id, even padding, strict bounds."""
    pos = start
    while pos < end:
        assert end - pos >= 8, f"partial chunk header at {pos}"
        cid, size = struct.unpack_from("<4sI", data, pos)
        assert pos + 8 + size <= end, f"chunk {cid!r} at {pos} runs past its parent"
        yield cid, pos + 8, size
        pos += 8 + size + (size & 1)


def read_sparse(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


@pytest.mark.parametrize(
    "options",
    [{}, {"odd_chunks": True}, {"odd_chunks": True, "gps_at_end": True}, {"gps": False}],
    ids=["plain", "odd", "odd-gps-at-end", "no-gps"],
)
def test_mapcam_riff_walks_cleanly(tmp_path: Path, options: dict[str, bool]) -> None:
    footage = make_mapcam(tmp_path / "MC.AVI", duration_s=12.0, start_utc=START, seed=2, **options)
    data = read_sparse(footage.path)
    riff, body, size = next(walk_riff(data, 0, len(data)))
    assert riff == b"RIFF"
    assert data[body : body + 4] == b"AVI "
    assert body + size == len(data)
    top = list(walk_riff(data, body + 4, body + size))
    assert [(c, data[o : o + 4]) for c, o, _ in top[:2]] == [(b"LIST", b"hdrl"), (b"LIST", b"movi")]
    assert top[2][0] == b"idx1"
    _, movi, movi_size = top[1]
    chunks = list(walk_riff(data, movi + 4, movi + movi_size))
    media = [(c, o) for c, o, _ in chunks if c in (b"00dc", b"01wb")]
    records = [(c, o, s) for c, o, s in chunks if c not in (b"00dc", b"01wb")]
    assert len([c for c, _ in media if c == b"00dc"]) == 12 * 30
    # every record looks like a 50-byte chunk whose id is the frame counter
    assert len(records) == (0 if options.get("gps") is False else 12)
    for (cid, off, size), s in zip(records, footage.samples, strict=True):
        assert size == 50
        assert off - 8 == s["offset"]
        counter = struct.unpack("<I", cid)[0]
        assert counter == s["raw"]["counter"]
        year, month, day, hour, minute, ms = struct.unpack_from("<HBBBBH", data, off + 4)
        when = datetime(year, month, day, hour, minute, ms // 1000, tzinfo=UTC)
        assert when.timestamp() == s["utc"]
        lat, lon = struct.unpack_from("<ii", data, off + 12)
        assert (lat / 1e6, lon / 1e6) == (s["lat"], s["lon"])
    if options.get("gps_at_end"):
        last = records[-1]
        assert last[1] + last[2] == movi + movi_size  # the very end of movi
        assert chunks[-2][0] == b"01wb"
    if options.get("odd_chunks"):
        video_sizes = [s for c, _, s in chunks if c == b"00dc"]
        assert all(s % 2 == 1 for s in video_sizes)
    # idx1 lists exactly the media chunks, relative to the 'movi' FourCC
    _, idx, idx_size = top[2]
    entries = [struct.unpack_from("<4sIII", data, idx + i) for i in range(0, idx_size, 16)]
    assert [(e[0], movi + e[2] + 8) for e in entries] == media


@needs_ffmpeg
def test_mapcam_opens_in_ffprobe(tmp_path: Path) -> None:
    footage = make_mapcam(tmp_path / "MC.AVI", duration_s=20.0, odd_chunks=True)
    probe = ffprobe(footage.path)
    assert probe["format"]["format_name"] == "avi"
    assert float(probe["format"]["duration"]) == pytest.approx(20.0)
    streams = [(s["codec_type"], s["codec_name"], s.get("nb_frames")) for s in probe["streams"]]
    assert streams == [("video", "mjpeg", "600"), ("audio", "pcm_s16le", str(20 * 8000))]


# -- card, demo, CLI --------------------------------------------------------------------


def test_card_is_a_realistic_sparse_tree(tmp_path: Path) -> None:
    footage = make_card(tmp_path, clips=25, seed=1)
    videos = [f for f in footage if not f.path.endswith(".LRV")]
    assert len(videos) == 25
    names = {Path(f.path).name for f in footage}
    pattern = re.compile(
        r"^(G[XH]\d{6}\.MP4|GL\d{6}\.LRV|GOPR\d{4}\.(MP4|LRV)|GP\d{6}\.(MP4|LRV)|\d{4}_\d{4}_\d{6}_\d{3}\.MP4|MC_\d{8}_\d{6}_\d{4}\.AVI)$"
    )
    assert all(pattern.match(n) for n in names), names
    on_disk = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert {p.suffix for p in on_disk} >= {".MP4", ".THM", ".LRV", ".txt"}
    assert (tmp_path / "MISC" / "version.txt").read_text().startswith("{")
    apparent = sum(p.stat().st_size for p in on_disk)
    used = sum(p.stat().st_blocks * 512 for p in on_disk)
    assert used < apparent / 50
    for f in footage:
        if f.format.endswith(("mp4", "mov")):
            with open(f.path, "rb") as fh:
                kinds = [b.kind for b in iter_boxes(fh, 0, os.fstat(fh.fileno()).st_size)]
            assert kinds[0] == b"ftyp"
            assert kinds[-1] == b"moov"
    starts = [f.start_utc for f in videos]
    assert len(set(starts)) == len(starts)


def test_demo_is_quick_and_small(tmp_path: Path) -> None:
    began = time.monotonic()
    footage = make_demo(tmp_path)
    assert time.monotonic() - began < 5.0
    names = sorted(str(Path(f.path).relative_to(tmp_path)) for f in footage)
    assert names == [
        "DCIM/100GOPRO/GX010001.MP4",
        "DCIM/100GOPRO/GX020001.MP4",
        "DCIM/101GOPRO/GX010002.MP4",
        "DCIM/MAPCAM/MC_20260406_150512_0001.AVI",
        "DCIM/Movie/2026_0406_164510_001.MP4",
    ]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert sum(p.stat().st_blocks * 512 for p in files) < 20 * 2**20
    assert sum(p.stat().st_size for p in files) > 500 * 2**20
    first, second = footage[0], footage[1]
    assert second.start_utc == pytest.approx(first.start_utc + first.duration)
    assert {f.camera for f in footage} == {
        "HERO8 Black",
        "HERO11 Black",
        "Viofo A119 V3",
        "MAP CAM",
    }


@needs_exiftool
def test_cli_writes_file_and_route_json(tmp_path: Path) -> None:
    from scripts.make_footage import main

    out, route_json = tmp_path / "GX010001.MP4", tmp_path / "route.json"
    assert (
        main(
            ["gopro", str(out), "--duration", "5", "--gps", "gps5", "--route-out", str(route_json)]
        )
        == 0
    )
    truth = json.loads(route_json.read_text())
    lats = [float(v) for v in doc_values(exiftool(out, "GPSLatitude"), "GPSLatitude")]
    assert truth["sample_count"] == len(truth["samples"]) == len(lats)
    assert [s["lat"] for s in truth["samples"]] == pytest.approx(lats, abs=0.6e-7)
    assert main(["mapcam", str(tmp_path / "x.AVI"), "--duration", "3"]) == 0
    assert main(["novatek", str(tmp_path / "n.MP4"), "--duration", "3", "--lost-fix", "1:2"]) == 0


def test_cli_help_runs_as_a_script() -> None:
    result = subprocess.run(
        [os.fspath(ROOT / ".venv" / "bin" / "python"), "scripts/make_footage.py", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("no .venv")
    assert result.returncode == 0
    assert "gopro" in result.stdout
    assert "card" in result.stdout


def test_truth_json_is_plain_data(hero8: Footage, tmp_path: Path) -> None:
    hero8.write_json(tmp_path / "t.json")
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["format"] == "gopro-mp4"
    assert data["camera"] == "HERO8 Black"
    assert data["sample_count"] == len(data["samples"]) == len(hero8.samples)
    first = data["samples"][0]
    assert first["time"].endswith("Z")
    assert first["raw"][0] == round(first["lat"] * 1e7)
