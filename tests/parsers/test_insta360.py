"""Insta360 trailers built from the documented layout: both IMU entry kinds, exposure,
GPS hemispheres, and stream timing (video time 0 at the metadata's first frame)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from telemetryfs.parsers.extract import extract
from telemetryfs.parsers.formats.insta360 import parse
from telemetryfs.parsers.model import Stream, Telemetry
from tests.footage import insta360 as build

FIRST_FRAME = 5_000_000  # µs on the camera clock


def _stream(t: Telemetry, name: str) -> Stream:
    return next(s for s in t.streams if s.name == name)


def _rows(path: Path, stream: Stream) -> list[tuple[object, ...]]:
    data = path.read_bytes()
    rows: list[tuple[object, ...]] = []
    for chunk in stream.chunks:
        at = chunk.extent.offset
        rows += stream.codec.decode(data[at : at + chunk.extent.size])  # type: ignore[union-attr]
    return rows


def _video_times(stream: Stream) -> list[float]:
    out = []
    for c in stream.chunks:
        assert c.start is not None
        step = (c.duration or 0.0) / c.count
        out += [c.start + i * step for i in range(c.count)]
    return out


def test_float_imu_entries_without_the_raw_flag(tmp_path: Path) -> None:
    rows = [
        (FIRST_FRAME - 2000 + 1000 * i, 0.1 * i, -1.0, 0.25, 0.01, -0.02, 1e-3 * i)
        for i in range(10)
    ]
    path = tmp_path / "float.insv"
    build.make_insv(
        path,
        [
            (1, build.metadata("Insta360 X3", first_frame_us=FIRST_FRAME)),
            (3, build.imu_float(rows)),
        ],
    )
    t = extract(path)
    imu = _stream(t, "imu")
    assert imu.columns[-1] == "gyro_z_rad_s"
    assert _rows(path, imu) == [tuple(r) for r in rows]  # doubles pass through as written
    assert _video_times(imu) == pytest.approx([-0.002 + 0.001 * i for i in range(10)])


def test_raw_imu_counts_scale_by_the_metadata_ranges(tmp_path: Path) -> None:
    # ±8 g and ±500 dps full scale: 4096 counts a g, 65.536 counts a dps.
    rows = [(FIRST_FRAME + 1000 * i, 4096, -4096, 2048, 655, -32768, 32767) for i in range(5)]
    path = tmp_path / "raw.insv"
    meta = build.metadata(
        "Insta360 GO 3", first_frame_us=FIRST_FRAME, raw_imu=True, ranges=(8, 500)
    )
    build.make_insv(path, [(1, meta), (3, build.imu_raw(rows))])
    imu = _stream(extract(path), "imu")
    assert imu.columns[4:] == ("gyro_x_dps", "gyro_y_dps", "gyro_z_dps")
    first = _rows(path, imu)[0]
    assert first[0] == FIRST_FRAME
    assert first[1:4] == (1.0, -1.0, 0.5)
    assert first[4:] == pytest.approx((655 / 65.536, -500.0, 32767 / 65.536))


def test_without_metadata_the_entry_size_is_guessed_as_exiftool_does(tmp_path: Path) -> None:
    # 280 bytes are 14 entries of 20 or 5 of 56: the size cannot tell, so the zero bytes
    # at 16-18 of a float entry (the high bytes of a small double's mantissa) decide.
    floats = [(1000 * i, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0) for i in range(5)]
    path = tmp_path / "guess.insv"
    build.make_insv(path, [(3, build.imu_float(floats))])
    imu = _stream(extract(path), "imu")
    assert imu.sample_count == 5
    assert _rows(path, imu)[0][1:4] == (0.5, 0.5, 0.5)
    # No first-frame time: the rows have no video time rather than a made-up one.
    assert all(c.start is None for c in imu.chunks)


def test_a_gap_in_the_entries_cuts_the_chunks_so_video_times_stay_true(tmp_path: Path) -> None:
    # One exposure entry a second early, then one a frame: an even spread over all
    # of them would put every frame ~25 ms off.
    times = [FIRST_FRAME - 1_000_000] + [FIRST_FRAME + 33_367 * i for i in range(40)]
    path = tmp_path / "exposure.insv"
    records = [(1, build.metadata("Insta360 OneR", first_frame_us=FIRST_FRAME))]
    records.append((4, build.exposure([(t, 1 / 30) for t in times])))
    build.make_insv(path, records)
    exposure = _stream(extract(path), "exposure")
    assert [r[0] for r in _rows(path, exposure)] == times
    assert _video_times(exposure) == pytest.approx([(t - FIRST_FRAME) / 1e6 for t in times])


def test_a_record_too_big_to_read_whole_is_timed_by_its_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parse, "EXACT_TIMES_BYTES", 100)
    monkeypatch.setattr(parse, "CHUNK_ROWS", 7)
    rows = [(FIRST_FRAME + 1000 * i, 0, 0, 4096, 0, 0, 0) for i in range(30)]
    path = tmp_path / "long.insv"
    meta = build.metadata("Insta360 X4", first_frame_us=FIRST_FRAME, raw_imu=True)
    build.make_insv(path, [(1, meta), (3, build.imu_raw(rows))])
    imu = _stream(extract(path), "imu")
    assert [c.count for c in imu.chunks] == [7, 7, 7, 7, 2]
    assert _video_times(imu) == pytest.approx([0.001 * i for i in range(30)])
    assert [r[0] for r in _rows(path, imu)] == [r[0] for r in rows]


def test_gps_hemispheres_west_as_o_and_unknown_letters(tmp_path: Path) -> None:
    # Metres apart around 0/0, so that every hemisphere is a plausible next fix.
    d = 1e-5
    fixes = [
        (1_700_000_000.0, b"A", d, b"N", d, b"W", 1.0, 0.0, 10.0),
        (1_700_000_001.0, b"A", d, b"N", d, b"O", 1.0, 0.0, 10.0),  # "ouest"
        (1_700_000_002.0, b"A", d, b"S", d, b"E", 1.0, 0.0, 10.0),
        (1_700_000_003.0, b"A", d, b"?", d, b"E", 1.0, 0.0, 10.0),  # not a fix we trust
    ]
    path = tmp_path / "gps.insv"
    build.make_insv(path, [(7, build.gps(fixes))])
    gps = extract(path).gps
    assert [(s.lat, s.lon) for s in gps[:3]] == [(d, -d), (d, -d), (-d, d)]
    assert [s.valid for s in gps] == [True, True, True, False]
    assert math.isclose(gps[1].utc or 0, 1_700_000_001.0)
