"""Novatek freeGPS in generated files: index, gap scan, whole-file scan and TS agree.

The fixtures are built from the format documents (tests/dashcam_builders.py):
the values written in are the values expected out.
"""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest

from telemetryfs.parsers.errors import UnsupportedError
from telemetryfs.parsers.formats.novatek import parse as novatek
from telemetryfs.parsers.model import FIX_NONE, Extent, Telemetry
from tests import dashcam_builders as b
from tests.paths import SAMPLES
from tests.recording_source import RecordingSource

FIXES = [
    b.Fix((2024, 5, 6, 7, 8, s), 50.1 + s * 1e-4, -3.2 - s * 1e-4, knots=10 + s, course=90 + s)
    for s in range(6)
]


def extract(data: bytes, name: str = "") -> Telemetry:
    return novatek.extract(io.BytesIO(data), name=name)


def assert_track(t: Telemetry, fixes: list[b.Fix]) -> None:
    valid = t.valid_gps
    assert len(valid) == len(fixes)
    for sample, fix in zip(valid, fixes, strict=True):
        assert sample.utc == fix.utc
        assert sample.lat == pytest.approx(fix.lat, abs=1e-5)  # f32 DDMM
        assert sample.lon == pytest.approx(fix.lon, abs=1e-5)
        assert sample.speed_2d == pytest.approx(fix.knots * 1852 / 3600, rel=1e-6)
        assert sample.course == pytest.approx(fix.course, abs=1e-3)


def test_index_gap_scan_and_whole_file_scan_agree() -> None:
    blocks = [b.novatek_block(f) for f in FIXES]
    indexed = extract(b.novatek_mp4(blocks, index=True))
    gaps = extract(b.novatek_mp4(blocks, index=False))
    whole = extract(b.novatek_mp4(blocks, index=False, tracks=False))
    assert indexed.info["blocks_found_by"] == "index"
    assert gaps.info["blocks_found_by"] == "scan of the gaps between media samples"
    assert whole.info["blocks_found_by"] == "scan of the whole file"
    for t in (indexed, gaps, whole):
        assert t.format == "novatek-mp4"
        assert_track(t, FIXES)
    assert indexed.gps == gaps.gps == whole.gps
    assert indexed.raw_files == gaps.raw_files == whole.raw_files


def test_raw_file_is_the_blocks_as_stored() -> None:
    blocks = [b.novatek_block(f) for f in FIXES[:2]]
    data = b.novatek_mp4(blocks)
    t = extract(data)
    (raw,) = t.raw_files
    assert raw.name == "gps.raw"
    served = b"".join(
        data[p.offset : p.offset + p.size] for p in raw.pieces if isinstance(p, Extent)
    )
    assert served == b"".join(blocks)


def test_stream_and_info_describe_the_layout() -> None:
    t = extract(b.novatek_mp4([b.novatek_block(f) for f in FIXES]))
    (stream,) = t.streams
    assert (stream.name, stream.codec, stream.sample_count) == ("gps", None, len(FIXES))
    assert t.info["layout"] == "novatek"
    assert "lat_raw" in t.extra_columns
    assert "speed_knots" in t.extra_columns
    assert all(len(s.extra) == len(t.extra_columns) for s in t.gps)


@pytest.mark.parametrize(
    ("layout", "name"), [(16, "novatek-16"), (48, "novatek"), (64, "novatek-64")]
)
def test_record_offset_is_told_from_the_data(layout: int, name: str) -> None:
    t = extract(b.novatek_mp4([b.novatek_block(f, layout=layout) for f in FIXES]))
    assert t.info["layout"] == name
    assert_track(t, FIXES)


def test_cold_start_records_stay_without_fix() -> None:
    cold = [b.Fix((2024, 5, 6, 7, 7, s), 0, 0, status=b"V") for s in range(55, 60)]
    t = extract(b.novatek_mp4([b.novatek_block(f) for f in cold + FIXES[:2]]))
    assert len(t.gps) == 7
    for sample in t.gps[:5]:
        assert (sample.valid, sample.fix, sample.lat, sample.lon) == (False, FIX_NONE, None, None)
        assert (sample.speed_2d, sample.course) == (None, None)
        assert sample.utc is not None
    assert_track(t, FIXES[:2])
    assert not t.warnings  # no fix yet is not damage


def test_impossible_values_are_invalid_with_one_warning() -> None:
    bad = [b.Fix((2024, 5, 6, 7, 8, 10 + s), 0.0, 0.0) for s in range(3)]
    t = extract(b.novatek_mp4([b.novatek_block(f) for f in FIXES[:1] + bad]))
    assert [s.valid for s in t.gps] == [True, False, False, False]
    (warning,) = t.warnings
    assert "0/0" in warning.reason
    assert "3 records" in warning.reason


def test_index_entries_past_the_end_are_dropped() -> None:
    blocks = [b.novatek_block(f) for f in FIXES]
    data = b.novatek_mp4(blocks)
    moov_at = data.rindex(b"moov") - 4
    # Point the last two index entries past the end of the file (a file cut short).
    body = bytearray(data)
    gps = data.index(b"gps ", moov_at) + 4 + 8
    for i in (4, 5):
        struct.pack_into(">I", body, gps + 8 * i, len(data) + 100)
    t = extract(bytes(body))
    assert t.info["blocks_found_by"] == "index"
    assert_track(t, FIXES[:4])
    assert any("2 of 6" in w.reason for w in t.warnings)


def test_damaged_index_falls_back_to_scanning() -> None:
    blocks = [b.novatek_block(f) for f in FIXES]
    data = bytearray(b.novatek_mp4(blocks))
    gps = data.index(b"gps ", data.rindex(b"moov")) + 4 + 8
    for i in range(6):
        struct.pack_into(">I", data, gps + 8 * i, 7 + i)  # offsets that point at no block
    t = extract(bytes(data))
    assert t.info["blocks_found_by"].startswith("scan")
    assert_track(t, FIXES)


def test_interrupted_recording_without_moov_is_scanned() -> None:
    data = b.novatek_mp4([b.novatek_block(f) for f in FIXES])
    cut = data[: data.rindex(b"moov") - 4 - 700]  # mdat cut short, no moov
    t = extract(cut)
    assert t.info["blocks_found_by"] == "scan of the whole file"
    assert len(t.valid_gps) >= 5


def test_block_size_fields_that_lie_are_bounded_by_the_next_block() -> None:
    # dashcamigo's stubs wrap every block in a second 'free': the size field reads "free".
    wrapped = [b.box(b"free", b.novatek_block(f)[4:0x104]) for f in FIXES[:3]]
    data = b.box(b"ftyp", b"isom") + b"".join(wrapped) + b.box(b"moov", b.mvhd())
    t = extract(data)
    assert_track(t, FIXES[:3])
    assert [p.size for p in t.raw_files[0].pieces if isinstance(p, Extent)] == [0x104] * 3


def test_rexing_scaling_applies_to_the_whole_file() -> None:
    # Two Rexing-scaled records: the first has minutes >= 60 (not DDMM), the
    # second's scaled value happens to read as DDMM; both must be unscaled.
    def scaled(lat: float, lon: float, second: int) -> bytes:
        rec = bytearray(b.novatek_record(b.Fix((2020, 2, 22, 14, 34, second), 1, 1)))
        struct.pack_into(
            "<2f", rec, 28, lat * 3 + 187.982162849635, abs(lon) * 2 + 2199.19873715495
        )
        rec[26:27] = b"W"
        return b.free_gps(b"\0" * 32 + bytes(rec))

    blocks = [scaled(33.6697742, -112.0969205, 40), scaled(33.0, -112.0, 41)]
    t = extract(b.novatek_mp4(blocks))
    assert [(s.lat, s.lon) for s in t.gps] == [
        pytest.approx((33.6697742, -112.0969205), abs=1e-4),
        pytest.approx((33.0, -112.0), abs=1e-4),
    ]


def test_mixed_layouts_get_a_layout_column() -> None:
    blocks = [b.novatek_block(FIXES[0], layout=48), b.novatek_block(FIXES[1], layout=16)]
    t = extract(b.novatek_mp4(blocks))
    assert t.extra_columns[0] == "layout"
    assert [s.extra[0] for s in t.gps] == ["novatek", "novatek-16"]


def test_unknown_layout_blocks_are_reported() -> None:
    blocks = [b.free_gps(b"\x01" * 80) for _ in range(2)]
    t = extract(b.novatek_mp4(blocks))
    assert t.gps == ()
    assert t.error
    assert "unknown layout" in t.warnings[-1].reason


def test_reads_only_moov_and_blocks_when_indexed() -> None:
    big_frame = b"\x00\x00\x00\x10" + b"\x65" * 200_000
    data = b.novatek_mp4([b.novatek_block(f) for f in FIXES], frame=big_frame)

    class Counting(io.BytesIO):
        read_bytes = 0

        def read(self, size: int | None = -1, /) -> bytes:
            out = super().read(size)
            Counting.read_bytes += len(out)
            return out

    novatek.extract(Counting(data))
    assert Counting.read_bytes < len(data) // 20


def test_marker_across_a_scan_window_boundary_is_found() -> None:
    block = b.novatek_block(FIXES[0])
    pad = novatek.SCAN_WINDOW - 6  # "freeGPS " straddles the first window's end
    data = b"\0" * pad + block + b"\0" * 64
    t = extract(data)
    assert_track(t, FIXES[:1])


def test_scan_gives_up_on_a_big_file_without_blocks(tmp_path: Path) -> None:
    path = tmp_path / "big.mp4"
    with path.open("wb") as f:
        f.truncate(novatek.GIVE_UP + (8 << 20))
        f.seek(novatek.GIVE_UP + (4 << 20))
        f.write(b.novatek_block(FIXES[0]))
    with path.open("rb") as f, pytest.raises(UnsupportedError):
        novatek.extract(f)


def test_non_novatek_mp4_is_unsupported() -> None:
    sample = SAMPLES / "other" / "mp4__with-gps.mp4"
    if not sample.exists():
        pytest.skip("shared samples not present")
    with sample.open("rb") as f, pytest.raises(UnsupportedError):
        novatek.extract(f)


def test_ts_without_index_reads_the_private_stream() -> None:
    data = b.ts_file([b.novatek_record(f) for f in FIXES])
    t = extract(data)
    assert t.format == "novatek-ts"
    assert (
        t.info["layout"] == "novatek-16"
    )  # ExifTool: the TS record is a block without its 16-byte header
    assert_track(t, FIXES)
    (raw,) = t.raw_files
    assert all(isinstance(p, Extent) and p.offset % 188 != 0 for p in raw.pieces)


def test_ts_whole_freegps_block_split_over_packets() -> None:
    blocks = [b.novatek_block(f, size=0x200) for f in FIXES[:3]]
    t = extract(b.ts_file(blocks))
    assert_track(t, FIXES[:3])


def test_ts_without_tables_uses_the_known_gps_pid() -> None:
    data = b.ts_file([b.novatek_record(f) for f in FIXES[:2]])
    t = extract(data[2 * 188 :])  # PAT and PMT cut off
    assert_track(t, FIXES[:2])


def test_ts_without_gps_is_unsupported() -> None:
    data = b.ts_tables(0x1000, [(0x1B, 0x100)]) + b.ts_packet(
        0x100, b"\0\0\1\xe0" + b"\x11" * 180, start=True
    )
    with pytest.raises(UnsupportedError):
        extract(data * 3)


def test_index_header_is_not_trusted_as_a_count() -> None:
    # The header's second word is a version/build date on some firmware: all
    # pairs the box holds are read, and preallocated zero pairs are skipped.
    blocks = [b.novatek_block(f) for f in FIXES]
    data = b.novatek_mp4(blocks, index=False)
    moov_at = data.rindex(b"moov") - 4
    entries = [(m - 4, 0x1000) for m in _markers(data)]
    index = b.gps_index([*entries, (0, 0), (0, 0)], count=2)
    moov = b.box(b"moov", data[moov_at + 8 :] + index)
    t = extract(data[:moov_at] + moov)
    assert t.info["blocks_found_by"] == "index"
    assert_track(t, FIXES)
    assert not t.warnings


def _markers(data: bytes) -> list[int]:
    found, at = [], data.find(b"freeGPS ")
    while at >= 0:
        found.append(at)
        at = data.find(b"freeGPS ", at + 1)
    return found


def test_blocks_beyond_2_gib_through_the_index(tmp_path: Path) -> None:
    # sergei.nz readers: "finally I could extract all gps tracks even from the >2GB large ones".
    path = tmp_path / "long.mp4"
    head = b.box(b"ftyp", b"isom")
    offsets = [(1 << 31) + i * (1 << 24) for i in range(len(FIXES))]
    with path.open("wb") as f:
        f.write(head + struct.pack(">I4sQ", 1, b"mdat", offsets[-1] + 0x1000 - len(head)))
        for offset, fix in zip(offsets, FIXES, strict=True):
            f.seek(offset)
            f.write(b.novatek_block(fix))
        f.write(b.box(b"moov", b.mvhd() + b.gps_index([(o, 0x1000) for o in offsets])))
    with path.open("rb") as f:
        t = novatek.extract(f)
    assert t.info["blocks_found_by"] == "index"
    assert_track(t, FIXES)


def test_indexed_blocks_are_announced_before_any_of_them_is_read() -> None:
    # A marker check per index entry, one cold read at a time, waited for a seek
    # each (on a card: most of a dashcam clip's parse): the blocks are announced
    # to the kernel first, then checked and decoded.
    data = b.novatek_mp4([b.novatek_block(f) for f in FIXES], frame=b"\0\0\0\x10" + b"\x65" * 9000)
    blocks = set()
    at = data.find(b"freeGPS ")
    while at >= 0:
        blocks.add(at - 4)
        at = data.find(b"freeGPS ", at + 1)
    assert len(blocks) == len(FIXES)
    src = RecordingSource(data)
    t = novatek.extract(src)  # type: ignore[arg-type]
    assert t.info["blocks_found_by"] == "index"
    assert_track(t, FIXES)
    # Each block is read at its start (decoding) or 4 bytes in (its marker).
    assert [r for r in src.cold_reads if {r[0], r[0] - 4} & blocks] == []
    assert any({r[0], r[0] - 4} & blocks for r in src.preads)
