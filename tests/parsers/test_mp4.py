"""MP4 box walker and sample tables, one edge case per test (ISO/IEC 14496-12 facts)."""

from __future__ import annotations

import io
import struct

import pytest

from telemetryfs.parsers.containers import mp4
from telemetryfs.parsers.errors import MalformedError, TruncatedError
from tests.builders import box, box64, full_box, gpmd_mp4
from tests.paths import SAMPLES
from tests.recording_source import RecordingSource


class CountingFile(io.BytesIO):
    """A file that counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        return data


def walk(data: bytes) -> list[tuple[bytes, int, int]]:
    f = io.BytesIO(data)
    return [(b.kind, b.offset, b.end) for b in mp4.iter_boxes(f, 0, len(data))]


# --- box walker ----------------------------------------------------------------------


def test_box_size_zero_extends_to_parent_end() -> None:
    data = box(b"ftyp", b"isom") + struct.pack(">I4s", 0, b"mdat") + bytes(100)
    assert walk(data)[-1] == (b"mdat", 12, len(data))


def test_box_64_bit_size() -> None:
    data = box64(b"mdat", bytes(40)) + box(b"moov")
    assert walk(data) == [(b"mdat", 0, 56), (b"moov", 56, 64)]
    assert next(mp4.iter_boxes(io.BytesIO(data), 0, len(data))).header_size == 16


def test_box_largesize_below_16_is_malformed() -> None:
    data = struct.pack(">I4sQ", 1, b"mdat", 8) + bytes(8)
    with pytest.raises(MalformedError):
        walk(data)


def test_box_size_below_header_is_malformed() -> None:
    with pytest.raises(MalformedError):
        walk(struct.pack(">I4s", 4, b"free"))


def test_box_running_past_its_parent_is_truncated() -> None:
    data = box(b"moov", bytes(32))[:-8]
    with pytest.raises(TruncatedError):
        walk(data)


def test_trailing_zero_padding_is_ignored() -> None:
    assert walk(box(b"free") + bytes(5)) == [(b"free", 0, 8)]


def test_trailing_partial_header_is_truncated() -> None:
    with pytest.raises(TruncatedError):
        walk(box(b"free") + b"\0\0\x01")


def test_child_box_must_fit_its_parent() -> None:
    inner = box(b"mvhd", bytes(100))
    data = struct.pack(">I4s", 8 + 50, b"moov") + inner
    f = io.BytesIO(data)
    moov = next(mp4.iter_boxes(f, 0, 58))
    with pytest.raises(TruncatedError):
        list(mp4.iter_children(f, moov))


def test_find_box_follows_a_path() -> None:
    data = box(b"moov", box(b"udta", box(b"GPMF", b"abcd")))
    found = mp4.find_box(io.BytesIO(data), (0, len(data)), b"moov/udta/GPMF")
    assert found is not None
    assert (found.data_offset, found.data_size) == (24, 4)
    assert mp4.find_box(io.BytesIO(data), (0, len(data)), b"moov/trak") is None


def test_find_moov_never_reads_mdat() -> None:
    data = box(b"ftyp", b"mp41") + box(b"mdat", bytes(1_000_000)) + box(b"moov", box(b"mvhd"))
    f = CountingFile(data)
    moov = mp4.find_moov(f)
    assert moov is not None
    assert moov.offset == 12 + 1_000_008
    assert f.bytes_read < 100  # three 8-byte headers


def test_find_moov_in_a_file_cut_inside_mdat_is_none() -> None:
    data = box(b"ftyp", b"mp41") + box(b"mdat", bytes(1000))[:500]
    assert mp4.find_moov(io.BytesIO(data)) is None


def test_find_moov_cut_short_raises() -> None:
    data = box(b"ftyp", b"mp41") + box(b"moov", bytes(100))[:50]
    with pytest.raises(TruncatedError):
        mp4.find_moov(io.BytesIO(data))


# --- movie, tracks, sample tables ---------------------------------------------------------


def movie(data: bytes) -> tuple[io.BytesIO, mp4.Movie]:
    f = io.BytesIO(data)
    moov = mp4.find_moov(f)
    assert moov is not None
    return f, mp4.read_movie(f, moov)


def test_mvhd_creation_time_counts_from_1904() -> None:
    _, m = movie(gpmd_mp4([b"x" * 8], creation=mp4.MP4_EPOCH_OFFSET + 1_500_000_000))
    assert m.creation_time == 1_500_000_000
    assert m.timescale == 1000
    assert m.duration == pytest.approx(1.001)


def test_unset_creation_time_is_none() -> None:
    _, m = movie(gpmd_mp4([b"x" * 8]))
    assert m.creation_time is None


def test_gpmd_track_is_found_and_the_fdsc_sos_track_skipped() -> None:
    _, m = movie(gpmd_mp4([b"x" * 8, b"y" * 8], fdsc=True))
    assert [t.sample_format for t in m.tracks] == [b"fdsc", b"gpmd"]
    track = mp4.find_track(m, b"meta", b"gpmd")
    assert track is not None
    assert (track.track_id, track.handler, track.handler_name) == (1, b"meta", "GoPro MET")


def test_samples_have_offsets_sizes_and_times() -> None:
    payloads = [b"a" * 12, b"b" * 20, b"c" * 4]
    f, m = movie(gpmd_mp4(payloads, durations=[1001, 1001, 500]))
    track = mp4.find_track(m, b"meta", b"gpmd")
    assert track is not None
    samples = mp4.read_samples(f, track)
    data = f.getvalue()
    assert [data[s.offset : s.offset + s.size] for s in samples] == payloads
    assert [s.start for s in samples] == pytest.approx([0, 1.001, 2.002])
    assert [s.duration for s in samples] == pytest.approx([1.001, 1.001, 0.5])


def test_co64_offsets() -> None:
    payloads = [b"a" * 12, b"b" * 20]
    f, m = movie(gpmd_mp4(payloads, co64=True))
    track = mp4.find_track(m, b"meta", b"gpmd")
    assert track is not None
    data = f.getvalue()
    assert [data[s.offset : s.offset + s.size] for s in mp4.read_samples(f, track)] == payloads


def test_empty_edit_delays_the_track() -> None:
    f, m = movie(gpmd_mp4([b"a" * 8], elst=(500, -1)))
    track = mp4.find_track(m, b"meta", b"gpmd")
    assert track is not None
    assert track.edit_shift == pytest.approx(0.5)
    assert mp4.read_samples(f, track)[0].start == pytest.approx(0.5)


def test_edit_media_time_skips_the_start() -> None:
    f, m = movie(gpmd_mp4([b"a" * 8, b"b" * 8], elst=(1001, 1001)))
    track = mp4.find_track(m, b"meta", b"gpmd")
    assert track is not None
    assert [s.start for s in mp4.read_samples(f, track)] == pytest.approx([-1.001, 0.0])


def stbl_track(*tables: bytes) -> tuple[io.BytesIO, mp4.Track]:
    stbl = box(b"stbl", b"".join(tables))
    data = bytes(64) + stbl
    f = io.BytesIO(data)
    (stbl_box,) = list(mp4.iter_boxes(f, 64, len(data)))
    track = mp4.Track(1, b"meta", "", b"gpmd", 1000, None, 0.0, stbl_box, "trak")
    return f, track


def stts(*runs: tuple[int, int]) -> bytes:
    return full_box(
        b"stts", 0, 0, struct.pack(">I", len(runs)) + b"".join(struct.pack(">II", *r) for r in runs)
    )


def stco(*offsets: int) -> bytes:
    return full_box(b"stco", 0, 0, struct.pack(f">I{len(offsets)}I", len(offsets), *offsets))


def stsc(*runs: tuple[int, int, int]) -> bytes:
    return full_box(
        b"stsc",
        0,
        0,
        struct.pack(">I", len(runs)) + b"".join(struct.pack(">III", *r) for r in runs),
    )


def test_stsz_uniform_size_and_several_samples_per_chunk() -> None:
    stsz = full_box(b"stsz", 0, 0, struct.pack(">II", 10, 5))
    f, track = stbl_track(stts((5, 100)), stsz, stsc((1, 2, 1), (3, 1, 1)), stco(1000, 2000, 3000))
    samples = mp4.read_samples(f, track)
    assert [s.offset for s in samples] == [1000, 1010, 2000, 2010, 3000]
    assert [s.start for s in samples] == pytest.approx([0, 0.1, 0.2, 0.3, 0.4])


@pytest.mark.parametrize(
    ("field_size", "packed", "sizes"),
    [
        (16, struct.pack(">3H", 300, 2, 65535), [300, 2, 65535]),
        (8, bytes([7, 8, 9]), [7, 8, 9]),
        (4, bytes([0x12, 0x30]), [1, 2, 3]),
    ],
)
def test_stz2_compact_sizes(field_size: int, packed: bytes, sizes: list[int]) -> None:
    stz2 = full_box(b"stz2", 0, 0, bytes(3) + bytes([field_size]) + struct.pack(">I", 3) + packed)
    f, track = stbl_track(stts((3, 1)), stz2, stsc((1, 3, 1)), stco(100))
    samples = mp4.read_samples(f, track)
    assert [s.size for s in samples] == sizes
    assert [s.offset for s in samples] == [100, 100 + sizes[0], 100 + sizes[0] + sizes[1]]


def test_table_announcing_more_entries_than_it_holds_is_malformed() -> None:
    stsz = full_box(b"stsz", 0, 0, struct.pack(">II", 0, 1000) + bytes(8))
    f, track = stbl_track(stts((2, 1)), stsz, stsc((1, 1, 1)), stco(0, 0))
    with pytest.raises(MalformedError):
        mp4.read_samples(f, track)


def test_missing_stts_is_malformed() -> None:
    stsz = full_box(b"stsz", 0, 0, struct.pack(">II", 4, 1))
    f, track = stbl_track(stsz, stsc((1, 1, 1)), stco(0))
    with pytest.raises(MalformedError):
        mp4.read_samples(f, track)


def test_stsc_pointing_past_the_chunks_is_malformed() -> None:
    stsz = full_box(b"stsz", 0, 0, struct.pack(">II", 4, 2))
    f, track = stbl_track(stts((2, 1)), stsz, stsc((1, 1, 1), (5, 1, 1)), stco(0, 4))
    with pytest.raises(MalformedError):
        mp4.read_samples(f, track)


def test_sample_count_is_the_smallest_the_tables_agree_on() -> None:
    stsz = full_box(b"stsz", 0, 0, struct.pack(">II", 4, 3))
    f, track = stbl_track(stts((2, 1)), stsz, stsc((1, 1, 1)), stco(0, 4, 8))
    assert len(mp4.read_samples(f, track)) == 2


# --- a real file -----------------------------------------------------------------------------


@pytest.mark.skipif(not (SAMPLES / "gopro").is_dir(), reason="shared samples not present")
def test_karma_gpmd_track_has_13_payloads_1001_ms_apart() -> None:
    # exiftool dump: Doc1..Doc13 "Sample Time" 0, 1.001 ... 12.012, "Sample Duration" 1.001;
    # ffprobe: stream 3 gpmd, nb_frames 13; stream 4 fdsc (GoPro SOS).
    with open(SAMPLES / "gopro" / "mp4" / "karma.mp4", "rb") as f:
        moov = mp4.find_moov(f)
        assert moov is not None
        m = mp4.read_movie(f, moov)
        track = mp4.find_track(m, b"meta", b"gpmd")
        assert track is not None
        samples = mp4.read_samples(f, track)
    assert [t.handler_name for t in m.tracks] == [
        "GoPro AVC",
        "GoPro AAC",
        "GoPro TCD",
        "GoPro MET",
        "GoPro SOS",
    ]
    assert len(samples) == 13
    assert [s.start for s in samples] == pytest.approx([k * 1.001 for k in range(13)])
    assert m.duration == pytest.approx(12.078733333333334)  # gpmf-extract videoDuration


def test_sample_data_is_announced_before_it_is_read() -> None:
    # A metadata track's samples a second apart through a video: announced to the
    # kernel a window ahead (binio.Readahead), not read cold one seek at a time.
    data = bytes(range(256)) * 4096
    samples = [mp4.Sample(1000 + i * 9000, 100, float(i), 1.0) for i in range(100)]
    src = RecordingSource(data)
    got = list(mp4.iter_sample_data(src, samples))  # type: ignore[arg-type]
    assert [d for _, d in got] == [data[s.offset : s.offset + 100] for s in samples]
    assert src.cold_reads == []
