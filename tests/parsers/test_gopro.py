"""Assembling GoPro Telemetry: time, GPS choice, devices, streams, raw files, recovery.

Inputs are built byte by byte (tests/builders.py) or generated (tests/footage);
expected values are spec facts or what the builders wrote, never our output.
"""

from __future__ import annotations

import io
import os
import struct
import time
from pathlib import Path
from typing import Any

import pytest

from telemetryfs.parsers.encodings import gpmf
from telemetryfs.parsers.errors import MalformedError, UnsupportedError
from telemetryfs.parsers.formats.gopro import parse as gopro
from telemetryfs.parsers.model import RawFile, Stream, Telemetry
from tests.builders import (
    box,
    gpmd_mp4,
    gpmf_devc,
    gpmf_gps5,
    gpmf_gps9,
    gpmf_strm,
    klv,
    klv_nest,
)

HERE = (33.1264969, -117.3273542, -20.184, 0.167, 0.19)


def fixes(n: int, lat: float = HERE[0]) -> list[tuple[float, float, float, float, float]]:
    return [(lat + i * 1e-6, HERE[1], HERE[2], HERE[3], HERE[4]) for i in range(n)]


def payload(gpsu: bytes | None, n: int = 18, **kw: Any) -> bytes:
    return gpmf_devc(1, b"Camera", gpmf_gps5(fixes(n), gpsu=gpsu, **kw))


def from_mp4(payloads: list[bytes], **kw: Any) -> Telemetry:
    streams = kw.pop("streams", True)
    return gopro.extract_mp4(io.BytesIO(gpmd_mp4(payloads, **kw)), streams=streams)


def from_raw(data: bytes, **kw: Any) -> Telemetry:
    return gopro.extract_gpmf(io.BytesIO(data), **kw)


def stream(t: Telemetry, name: str) -> Stream:
    return next(s for s in t.streams if s.name == name)


def materialise(source: bytes, f: RawFile) -> bytes:
    return b"".join(
        p if isinstance(p, bytes) else source[p.offset : p.offset + p.size] for p in f.pieces
    )


# --- GPS5 time --------------------------------------------------------------------------


def test_gps5_samples_are_spread_up_to_the_next_gpsu() -> None:
    t = from_mp4(
        [payload(b"170417173103.000"), payload(b"170417173103.900"), payload(b"170417173104.950")]
    )
    utcs = [s.utc for s in t.gps]
    assert utcs[0] == gpmf.parse_gpsu(b"170417173103.000")
    assert utcs[18] == gpmf.parse_gpsu(b"170417173103.900")
    assert utcs[1] - utcs[0] == pytest.approx(0.9 / 18, abs=1e-6)
    assert utcs[19] - utcs[18] == pytest.approx(1.05 / 18, abs=1e-6)
    # The last payload has no next GPSU: its samples span its MP4 duration (1.001 s).
    assert utcs[37] - utcs[36] == pytest.approx(1.001 / 18, abs=1e-6)
    assert len(set(utcs)) == len(utcs)
    assert utcs == sorted(utcs)


def test_video_time_is_payload_start_plus_even_spread() -> None:
    t = from_mp4(
        [payload(b"170417173103.000"), payload(b"170417173104.000")], durations=[1000, 1200]
    )
    assert [s.video_time for s in t.gps[:2]] == pytest.approx([0.0, 1 / 18])
    assert t.gps[18].video_time == pytest.approx(1.0)
    assert t.gps[19].video_time == pytest.approx(1.0 + 1.2 / 18)


def test_gpsu_malformed_timestamp_skips_sample_time_with_a_warning() -> None:
    """gpmf-parser #162: "5509100082240400"; the time comes from the neighbours."""
    t = from_mp4(
        [payload(b"170417173103.000"), payload(b"5509100082240400"), payload(b"170417173105.000")]
    )
    assert any("5509100082240400" in w.reason for w in t.warnings)
    start = gpmf.parse_gpsu(b"170417173103.000")
    assert start is not None
    assert t.gps[18].utc == pytest.approx(start + 1.001)  # previous GPSU + video distance
    assert all(s.valid for s in t.gps)


def test_gpsu_that_does_not_advance_is_replaced() -> None:
    t = from_mp4([payload(b"170417173103.000"), payload(b"170417173103.000")])
    assert any("does not advance" in w.reason for w in t.warnings)
    assert t.gps[18].utc == pytest.approx(t.gps[0].utc + 1.001)
    assert len({s.utc for s in t.gps}) == 36


def test_no_valid_gpsu_at_all_leaves_utc_unknown_and_samples_invalid() -> None:
    t = from_mp4([payload(b"000101000000.000")])
    assert all(s.utc is None and not s.valid for s in t.gps)


def test_first_gpsu_garbage_is_derived_backwards() -> None:
    t = from_mp4([payload(b"garbage garbage."), payload(b"170417173104.001")])
    assert t.gps[0].utc == pytest.approx(t.gps[18].utc - 1.001)


def test_fix_and_precision_attach_to_every_gps5_sample() -> None:
    t = from_mp4([payload(b"170417173103.000", fix=2, precision=250)])
    assert {(s.fix, s.dop) for s in t.gps} == {(2, 2.5)}


def test_no_fix_makes_samples_invalid() -> None:
    t = from_mp4([payload(b"170417173103.000", fix=0, precision=9999)])
    assert t.gps
    assert t.valid_gps == ()


def test_zero_zero_and_out_of_range_coordinates_are_invalid() -> None:
    bad = [(0.0, 0.0, 0.0, 0.0, 0.0), (91.0, 10.0, 0.0, 0.0, 0.0), (10.0, 181.0, 0.0, 0.0, 0.0)]
    p = gpmf_devc(1, b"Camera", gpmf_gps5([*bad, HERE]))
    t = from_mp4([p])
    assert [s.valid for s in t.gps] == [False, False, False, True]


# --- GPS9 and the choice of stream --------------------------------------------------------


def gps9_rows(
    n: int, days: int = 8298, secs: float = 48577.899, fix: int = 3
) -> list[tuple[float, ...]]:
    return [(*HERE, days, secs + i * 0.1, 1.79, fix) for i in range(n)]


def test_gps9_carries_its_own_time_fix_and_dop() -> None:
    t = from_mp4([gpmf_devc(1, b"HERO11 Black", gpmf_gps9(gps9_rows(10)))])
    assert t.gps_stream == "GPS9"
    # days since 2000-01-01 + seconds since midnight, UTC
    assert t.gps[0].utc == pytest.approx(946_684_800 + 8298 * 86400 + 48577.899)
    assert t.gps[9].utc == pytest.approx(t.gps[0].utc + 0.9)
    assert {(s.fix, s.dop) for s in t.gps} == {(3, 1.79)}


def test_gps9_time_out_of_range_is_a_warning_and_an_invalid_sample() -> None:
    t = from_mp4([gpmf_devc(1, b"HERO11 Black", gpmf_gps9(gps9_rows(2, days=0)))])
    assert all(s.utc is None and not s.valid for s in t.gps)
    assert any("GPS9 time" in w.reason for w in t.warnings)


def test_hero11_gps5_and_gps9_track_uses_gps9_only() -> None:
    p = gpmf_devc(1, b"HERO11 Black", gpmf_gps5(fixes(10)), gpmf_gps9(gps9_rows(10)))
    for streams in (True, False):
        t = from_mp4([p, p], streams=streams)
        assert t.gps_stream == "GPS9"
        assert len(t.gps) == 20  # no duplicate points
    assert {s.name for s in from_mp4([p]).streams} == {"GPS5", "GPS9"}


def test_streams_false_gives_the_same_track_without_streams() -> None:
    ps = [payload(b"170417173103.000"), payload(b"170417173104.000")]
    full, fast = from_mp4(ps), from_mp4(ps, streams=False)
    assert fast.streams == ()
    assert fast.gps == full.gps
    assert [f.name for f in fast.raw_files] == ["all.gpmf"]


# --- devices and streams -----------------------------------------------------------------


def accl(values: list[int]) -> bytes:
    return gpmf_strm(b"ACCL", b"s", 3, values, klv(b"SCAL", b"s", 2, 1, struct.pack(">h", 100)))


def test_two_devices_sharing_a_fourcc_get_device_prefixed_names() -> None:
    p = gpmf_devc(1, b"Camera", accl([100, 200, 300])) + gpmf_devc(
        0x1000001, b"BLE Sensor/2", accl([1, 2, 3])
    )
    t = from_mp4([p])
    names = {s.name: s.device for s in t.streams}
    assert names == {"Camera-ACCL": "Camera", "BLE_Sensor_2-ACCL": "BLE Sensor/2"}
    assert [d["name"] for d in t.info["devices"]] == ["Camera", "BLE Sensor/2"]


def test_stream_chunks_index_the_value_bytes_per_payload() -> None:
    ps = [
        gpmf_devc(1, b"Camera", accl([100, 200, 300, 400, 500, 600])),
        gpmf_devc(1, b"Camera", accl([7, 8, 9])),
    ]
    source = gpmd_mp4(ps)
    t = gopro.extract_mp4(io.BytesIO(source))
    s = stream(t, "ACCL")
    assert s.sample_count == 3
    assert [(c.count, c.start, c.duration) for c in s.chunks] == [
        (2, 0.0, 1.001),
        (1, 1.001, 1.001),
    ]
    first = s.chunks[0].extent
    assert gpmf.decode_chunk(s.codec, source[first.offset : first.offset + first.size]) == [
        (1.0, 2.0, 3.0),
        (4.0, 5.0, 6.0),
    ]
    assert s.columns == ("x", "y", "z")


def test_timo_moves_the_chunk_earlier() -> None:
    strm = gpmf_strm(
        b"SHUT", b"f", 1, [0.5, 0.5], klv(b"TIMO", b"f", 4, 1, struct.pack(">f", 0.25))
    )
    t = from_mp4([gpmf_devc(1, b"Camera", strm)], durations=[1000], elst=(250, -1))
    (chunk,) = stream(t, "SHUT").chunks
    assert chunk.start == pytest.approx(0.25 - 0.25)


def test_one_klv_per_frame_streams_get_one_instant_per_frame() -> None:
    faces = klv_nest(
        b"STRM",
        klv(b"TYPE", b"c", 1, 2, b"SS"),
        klv(b"FACE", b"?", 4, 2, struct.pack(">4H", 1, 2, 3, 4)),
        klv(b"FACE", b"?", 4, 0, b""),
        klv(b"FACE", b"?", 4, 1, struct.pack(">2H", 5, 6)),
        klv(b"FACE", b"?", 4, 1, struct.pack(">2H", 7, 8)),
    )
    t = from_mp4([gpmf_devc(1, b"Camera", faces)], durations=[1000])
    s = stream(t, "FACE")
    assert s.sample_count == 4
    assert [(c.count, c.start, c.duration) for c in s.chunks] == [
        (2, 0.0, 0.0),
        (1, 0.5, 0.0),
        (1, 0.75, 0.0),
    ]


def test_codec_change_mid_file_opens_a_second_stream() -> None:
    def shut(scale: int) -> bytes:
        return gpmf_devc(
            1,
            b"Camera",
            gpmf_strm(b"SHUT", b"s", 1, [10], klv(b"SCAL", b"s", 2, 1, struct.pack(">h", scale))),
        )

    t = from_mp4([shut(10), shut(100)])
    assert [(s.name, s.codec.scale) for s in t.streams] == [("SHUT", (10.0,)), ("SHUT-2", (100.0,))]


# --- raw files -----------------------------------------------------------------------


def test_all_gpmf_is_the_payloads_concatenated() -> None:
    ps = [payload(b"170417173103.000"), payload(b"170417173104.000")]
    source = gpmd_mp4(ps)
    t = gopro.extract_mp4(io.BytesIO(source))
    all_gpmf = next(f for f in t.raw_files if f.name == "all.gpmf")
    assert materialise(source, all_gpmf) == b"".join(ps)
    assert all_gpmf.size == sum(map(len, ps))


def test_per_stream_gpmf_is_valid_and_reads_back_the_same() -> None:
    ps = [
        gpmf_devc(1, b"Camera", accl([1, 2, 3]), gpmf_gps5(fixes(18), gpsu=b"170417173103.000")),
        gpmf_devc(1, b"Camera", accl([4, 5, 6]), gpmf_gps5(fixes(18), gpsu=b"170417173104.000")),
    ]
    source = gpmd_mp4(ps)
    t = gopro.extract_mp4(io.BytesIO(source))
    for name in ("ACCL", "GPS5"):
        data = materialise(source, next(f for f in t.raw_files if f.name == f"{name}.gpmf"))
        assert gpmf.is_gpmf(data)
        back = from_raw(data)
        (s,) = back.streams
        assert (s.fourcc, s.device, s.sample_count) == (
            name,
            "Camera",
            stream(t, name).sample_count,
        )
    back = from_raw(materialise(source, next(f for f in t.raw_files if f.name == "GPS5.gpmf")))
    assert [(g.lat, g.lon, g.ele, g.fix, g.dop) for g in back.gps] == [
        (g.lat, g.lon, g.ele, g.fix, g.dop) for g in t.gps
    ]
    # Without the MP4 the last payload's span is a guess (the GPS clock's mean, not 1.001 s).
    assert [g.utc for g in back.gps[:19]] == [g.utc for g in t.gps[:19]]


# --- raw GPMF dumps --------------------------------------------------------------------


def test_raw_gpmf_payloads_split_where_a_device_repeats() -> None:
    karma_like = gpmf_devc(1, b"Camera", accl([1, 2, 3])) + gpmf_devc(
        0x100E511, b"Drone", accl([1, 2, 3])
    )
    t = from_raw(karma_like * 3)
    assert t.info["payloads"] == 3
    assert stream(t, "Camera-ACCL").sample_count == 3


def test_raw_gpmf_times_come_from_the_gps_clock() -> None:
    data = (
        payload(b"170417173103.000") + payload(b"170417173103.990") + payload(b"170417173105.000")
    )
    t = from_raw(data)
    assert t.info["timing"] == "gps clock"
    assert [c.start for c in stream(t, "GPS5").chunks] == pytest.approx([0, 0.99, 2.0])
    assert stream(t, "GPS5").chunks[-1].duration == pytest.approx(1.0)  # the file's mean


def test_raw_gpmf_without_gps_uses_the_camera_clock() -> None:
    def tick(ms: int) -> bytes:
        return gpmf_devc(
            1, b"Camera", klv(b"TICK", b"L", 4, 1, struct.pack(">I", ms)), accl([1, 2, 3])
        )

    t = from_raw(tick(1000) + tick(2010) + tick(3000))
    assert t.info["timing"] == "camera clock"
    assert [c.start for c in stream(t, "ACCL").chunks] == pytest.approx([0, 1.01, 2.0])


def test_raw_gpmf_without_any_clock_uses_the_nominal_rate() -> None:
    t = from_raw(gpmf_devc(1, b"Camera", accl([1, 2, 3])) * 2)
    assert t.info["timing"] == "nominal 1.001 s"
    assert [c.start for c in stream(t, "ACCL").chunks] == pytest.approx([0, 1.001])


def test_raw_gpmf_is_recognised_by_content_not_name() -> None:
    with pytest.raises(MalformedError):
        from_raw(b"RIFF" + bytes(100))


def test_raw_gpmf_damaged_after_good_payloads_keeps_them_with_an_error() -> None:
    data = payload(b"170417173103.000") + payload(b"170417173104.000") + b"\xff\xfe junk junk junk"
    t = from_raw(data)
    assert len(t.gps) == 36
    assert t.error is not None


def test_damaged_devc_is_skipped_with_a_warning() -> None:
    good = payload(b"170417173103.000")
    broken = bytearray(payload(b"170417173104.000"))
    broken[42:44] = b"\xff\xff"  # the STRM now claims 65535 bytes, past its DEVC
    t = from_mp4([good, bytes(broken), payload(b"170417173105.000")])
    assert len(t.gps) == 36
    assert any("damaged" in w.reason for w in t.warnings)


# --- MP4 specifics ---------------------------------------------------------------------


def test_mp4_without_gpmd_track_is_unsupported() -> None:
    data = box(b"ftyp", b"isom") + box(b"moov", box(b"mvhd", bytes(100)))
    with pytest.raises(UnsupportedError):
        gopro.extract_mp4(io.BytesIO(data))


def test_mp4_without_moov_is_malformed() -> None:
    data = box(b"ftyp", b"mp41") + box(b"mdat", payload(b"170417173103.000"))
    with pytest.raises(MalformedError):
        gopro.extract_mp4(io.BytesIO(data))


def test_payloads_past_the_end_of_a_cut_file_are_reported() -> None:
    source = gpmd_mp4([payload(b"170417173103.000"), payload(b"170417173104.000")])
    moov_at = source.index(b"moov") - 4
    # Keep the moov but lose the second payload's bytes (moved past the end).
    first_len = len(payload(b"170417173103.000"))
    cut = source[: 28 + first_len]
    moov = source[moov_at:]
    fixed = bytearray(cut[:20] + struct.pack(">I", 8 + first_len) + b"mdat" + cut[28:] + moov)
    t = gopro.extract_mp4(io.BytesIO(bytes(fixed)))
    assert len(t.gps) == 18
    assert t.error is not None
    assert "past its end" in t.error


def test_udta_gpmf_gives_camera_and_firmware() -> None:
    settings = klv_nest(
        b"STRM",
        klv(b"FMWR", b"c", 1, 15, b"HD7.01.01.90.00"),
        klv(b"MINF", b"c", 1, 11, b"HERO7 Black"),
        klv(b"CASN", b"c", 1, 4, b"C328"),
        klv(b"OREN", b"c", 1, 1, b"U"),
        klv(b"PIMX", b"L", 4, 1, struct.pack(">I", 1600)),
    )
    udta = box(b"GPMF", gpmf_devc(1, b"Video Global Settings", settings))
    t = from_mp4([payload(b"170417173103.000")], udta=udta)
    assert (t.camera, t.firmware) == ("HERO7 Black", "HD7.01.01.90.00")
    assert t.info["settings"]["CASN"] == "C328"


def test_hero5_firm_box_names_firmware_and_camera() -> None:
    t = from_mp4([payload(b"170417173103.000")], udta=box(b"FIRM", b"HD5.02.02.00.00"))
    assert (t.camera, t.firmware) == ("HERO5 Black", "HD5.02.02.00.00")


def test_creation_time_and_duration_come_from_mvhd() -> None:
    t = from_mp4([payload(b"170417173103.000")], creation=2_082_844_800 + 1_492_450_000)
    assert t.creation_time == 1_492_450_000
    assert t.duration == pytest.approx(1.001)


# --- JPEG ------------------------------------------------------------------------------


def jpeg(*segments: bytes) -> bytes:
    return b"\xff\xd8" + b"".join(segments) + b"\xff\xda\0\x02" + b"\xff\xd9"


def app(marker: int, body: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(body) + 2) + body


def exif_gps(
    lat: tuple[int, int, int], ref: bytes, lon: tuple[int, int, int], lon_ref: bytes
) -> bytes:
    """A big-endian TIFF with IFD0 -> GPS IFD (tags 1-4), rationals with denominator 1."""
    ifd0 = struct.pack(">H", 1) + struct.pack(">HHII", 0x8825, 4, 1, 26) + b"\0\0\0\0"
    entries = [
        struct.pack(">HHI", 1, 2, 2) + ref + b"\0\0\0",
        struct.pack(">HHII", 2, 5, 3, 26 + 2 + 4 * 12 + 4),
        struct.pack(">HHI", 3, 2, 2) + lon_ref + b"\0\0\0",
        struct.pack(">HHII", 4, 5, 3, 26 + 2 + 4 * 12 + 4 + 24),
    ]
    gps_ifd = struct.pack(">H", 4) + b"".join(entries) + b"\0\0\0\0"
    values = b"".join(struct.pack(">II", v, 1) for v in (*lat, *lon))
    return b"MM\0*" + struct.pack(">I", 8) + ifd0 + gps_ifd + values


def test_jpeg_app6_gpmf_and_exif_position() -> None:
    gpmf_block = gpmf_devc(
        1,
        b"Photo Global Settings",
        klv_nest(
            b"STRM",
            klv(b"FMWR", b"c", 1, 15, b"HD6.01.01.51.00"),
            klv(b"MINF", b"c", 1, 11, b"HERO6 Black"),
            klv(b"CASN", b"c", 1, 4, b"C322"),
            klv(b"OREN", b"c", 1, 1, b"U"),
            klv(b"PIMX", b"L", 4, 1, struct.pack(">I", 3200)),
        ),
    )
    data = jpeg(
        app(0xE1, b"Exif\0\0" + exif_gps((40, 39, 30), b"N", (73, 59, 36), b"W")),
        app(0xE6, b"GoPro\0" + gpmf_block),
    )
    t = gopro.extract_jpeg(io.BytesIO(data))
    assert (t.format, t.camera, t.firmware) == ("gopro-jpeg", "HERO6 Black", "HD6.01.01.51.00")
    (fix,) = t.gps
    assert (fix.lat, fix.lon) == pytest.approx(
        (40 + 39 / 60 + 30 / 3600, -(73 + 59 / 60 + 36 / 3600))
    )


def test_jpeg_without_gopro_segment_is_unsupported() -> None:
    with pytest.raises(UnsupportedError):
        gopro.extract_jpeg(io.BytesIO(jpeg(app(0xE1, b"Exif\0\0MM\0*\0\0\0\x08\0\0"))))


# --- recovery and the one-hour file --------------------------------------------------------


def test_recover_mp4_without_moov_rebuilds_the_track() -> None:
    ps = [payload(b"170417173103.000"), payload(b"170417173104.000"), payload(b"170417173105.000")]
    filler = box(b"free", bytes(5000))
    data = box(b"ftyp", b"mp41") + box(b"mdat", filler.join(ps) + bytes(3000))[:-1000]
    t = gopro.recover_mp4(io.BytesIO(data))
    assert len(t.gps) == 54
    assert t.error is not None
    assert "recovered" in t.error
    assert [c.start for c in stream(t, "GPS5").chunks] == pytest.approx([0, 1, 2])


def test_recover_mp4_of_a_file_without_gpmf_is_malformed() -> None:
    data = box(b"ftyp", b"mp41") + box(b"mdat", bytes(10_000))
    with pytest.raises(MalformedError):
        gopro.recover_mp4(io.BytesIO(data))


class CountingFile(io.RawIOBase):
    """A read-only file that counts the bytes handed out (and keeps a real fileno)."""

    def __init__(self, path: Path) -> None:
        self.raw = open(path, "rb", buffering=0)  # noqa: SIM115
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def fileno(self) -> int:
        return self.raw.fileno()

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)
        self.bytes_read += n or 0
        return n or 0

    def close(self) -> None:
        self.raw.close()
        super().close()


@pytest.fixture(scope="module")
def one_hour(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    from tests.footage.gopro import make_gopro

    path = tmp_path_factory.mktemp("hour") / "GX010001.MP4"
    footage = make_gopro(path, duration_s=3600, model="HERO8 Black")
    return path, footage


@pytest.mark.slow
def test_one_hour_track_reads_only_moov_and_gpmf_payloads(one_hour: tuple[Path, Any]) -> None:
    path, footage = one_hour
    f = CountingFile(path)
    try:
        t = gopro.extract_mp4(f, streams=False)  # type: ignore[arg-type]
    finally:
        f.close()
    payload_bytes = sum(p["size"] for p in footage.info["gpmf"]["payloads"])
    mdat = footage.info["mdat"]
    moov_bytes = os.path.getsize(path) - (mdat["offset"] + mdat["size"])  # moov is last
    assert len(t.gps) == len(footage.samples)
    assert os.path.getsize(path) > 10_000_000_000
    # moov, the payloads, and the 8-byte headers of ftyp, mdat and moov: nothing else.
    assert f.bytes_read <= moov_bytes + payload_bytes + 3 * 16
    assert f.bytes_read < 32_000_000  # of a ~20 GB file


@pytest.mark.slow
def test_one_hour_track_takes_well_under_a_second(one_hour: tuple[Path, Any]) -> None:
    path, footage = one_hour
    best = float("inf")
    for _ in range(3):
        # CPU time, best of three: other test processes may share the machine, and the
        # page cache holds the ~15 MB read after the first run (I/O is counted above).
        started = time.process_time()
        with open(path, "rb") as f:
            t = gopro.extract_mp4(f, streams=False)
        best = min(best, time.process_time() - started)
    assert len(t.gps) == len(footage.samples) == 64_800
    assert best < 1.0


def test_tsmp_jump_reports_lost_samples() -> None:
    def accl_at(total: int) -> bytes:
        tsmp = klv(b"TSMP", b"L", 4, 1, struct.pack(">I", total))
        return gpmf_devc(1, b"Camera", gpmf_strm(b"ACCL", b"s", 3, [1, 2, 3, 4, 5, 6], tsmp))

    whole = from_raw(accl_at(2) + accl_at(4) + accl_at(6))
    assert not whole.warnings
    gap = from_raw(accl_at(2) + accl_at(6))  # the middle payload is lost
    assert [w.reason for w in gap.warnings] == ["ACCL: 2 samples missing (TSMP jumps)"]


def test_recover_a_generated_recording_cut_before_its_moov(tmp_path: Path) -> None:
    from tests.footage.gopro import make_gopro

    footage = make_gopro(tmp_path / "GX010001.MP4", duration_s=20, model="HERO8 Black", moov=False)
    with open(footage.path, "rb") as f:
        t = gopro.recover_mp4(f)
    assert len(t.gps) == len(footage.samples)
    for ours, truth in zip(t.gps, footage.samples, strict=True):
        assert (ours.lat, ours.lon) == pytest.approx((truth["lat"], truth["lon"]), abs=1e-7)
        if truth["index"] == 0:  # each payload's first sample carries the GPSU
            assert ours.utc == pytest.approx(truth["gpsu"], abs=1e-3)
    assert t.info["payloads"] == len(footage.info["gpmf"]["payloads"])


def _script(name: str) -> Any:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dump_scripts_print_boxes_klvs_and_streams(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(gpmd_mp4([payload(b"170417173103.000"), payload(b"170417173104.000")]))
    assert _script("dump_boxes").main([str(path), "--samples"]) == 0
    out = capsys.readouterr().out
    assert "'moov'" in out
    assert "gpmd track 1 (GoPro MET): 2 samples" in out
    assert _script("dump_gpmf").main([str(path), "--payloads", "1"]) == 0
    out = capsys.readouterr().out
    assert "GPSU U 16x1" in out
    assert "170417173103.000" in out
    assert _script("dump_gpmf").main([str(path), "--summary"]) == 0
    assert "GPS GPS5: 36 samples, 36 valid" in capsys.readouterr().out
    assert _script("dump_gpmf").main([str(tmp_path / "missing.mp4")]) == 2


def test_recover_gives_up_on_a_file_with_no_payload_early(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken dashcam MP4 must not be read to its end looking for GoPro payloads."""
    monkeypatch.setattr(gopro, "FIRST_PAYLOAD_WITHIN", 64 * 1024)
    monkeypatch.setattr(gopro, "READ_RUN", 16 * 1024)
    late = bytes(200_000) + payload(b"170417173103.000")
    data = box(b"ftyp", b"mp41") + box(b"mdat", late)
    f = CountingBytes(data)
    with pytest.raises(MalformedError):
        gopro.recover_mp4(f)
    assert f.bytes_read < 100_000
    monkeypatch.setattr(gopro, "FIRST_PAYLOAD_WITHIN", 1024 * 1024)
    assert len(gopro.recover_mp4(io.BytesIO(data)).gps) == 18


class CountingBytes(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data
