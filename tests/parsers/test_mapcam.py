"""MAP CAM AVI: 58-byte GPS records between chunks, no length field (generated files)."""

from __future__ import annotations

import io
import struct

import pytest

from telemetryfs.parsers.errors import UnsupportedError
from telemetryfs.parsers.formats.mapcam import parse as mapcam
from telemetryfs.parsers.model import Extent, Telemetry
from telemetryfs.parsers.records import MPH
from tests import dashcam_builders as b
from tests.builders import riff_chunk
from tests.paths import SAMPLES

FIXES = [
    b.Fix((2023, 8, 1, 9, 30, s), 52.123456 + s * 1e-5, -1.654321 - s * 1e-5) for s in range(5)
]
VIDEO = riff_chunk(b"00dc", b"\x00\x00\x00\x01" + b"v" * 300)
AUDIO = riff_chunk(b"01wb", b"a" * 64)


def extract(data: bytes) -> Telemetry:
    return mapcam.extract(io.BytesIO(data), name="FILE0001.AVI")


def interleaved(records: list[bytes], video: bytes = VIDEO, audio: bytes = AUDIO) -> list[bytes]:
    items: list[bytes] = []
    for record in records:
        items += [video, record, audio]
    return items


def assert_fixes(t: Telemetry, fixes: list[b.Fix]) -> None:
    assert [s.utc for s in t.valid_gps] == [f.utc for f in fixes]
    for s, f in zip(t.valid_gps, fixes, strict=True):
        assert s.lat == pytest.approx(f.lat, abs=1e-6)
        assert s.lon == pytest.approx(f.lon, abs=1e-6)


def test_records_between_video_and_audio_chunks() -> None:
    records = [b.mapcam_record(f, counter=30 * (i + 1)) for i, f in enumerate(FIXES)]
    t = extract(b.mapcam_avi(interleaved(records)))
    assert t.format == "mapcam-avi"
    assert_fixes(t, FIXES)
    first = t.gps[0]
    assert first.ele == pytest.approx(123.4)  # altitude / 10
    assert first.speed_2d == pytest.approx(31.0 * MPH)  # raw / 1e6 read as mph
    assert t.warnings == ()


def test_every_field_is_exposed_raw() -> None:
    record = b.mapcam_record(
        FIXES[0], counter=90, speed_raw=28_500_000, distance=98765, voltage=3999
    )
    t = extract(b.mapcam_avi([VIDEO, record, AUDIO]))
    row = dict(zip(t.extra_columns, t.gps[0].extra, strict=True))
    assert row["counter"] == 90
    assert row["field_4"] == 50
    assert (row["status_8"], row["status_9"], row["status_10"], row["status_11"]) == (1, 2, 3, 4)
    assert row["lat_raw"] == 52123456
    assert row["speed_raw"] == 28_500_000
    assert row["speed_mph_uncertain"] == pytest.approx(28.5)
    assert row["distance_km"] == pytest.approx(9.8765)
    assert row["voltage_raw"] == 3999
    assert row["unknown_48"] == "01" * 10
    assert "uncertain" in t.info["speed_unit"]


def test_raw_file_is_the_records_as_stored() -> None:
    records = [b.mapcam_record(f) for f in FIXES[:2]]
    data = b.mapcam_avi(interleaved(records))
    t = extract(data)
    served = b"".join(
        data[p.offset : p.offset + p.size] for p in t.raw_files[0].pieces if isinstance(p, Extent)
    )
    assert served == b"".join(records)


def test_odd_sized_chunks_with_and_without_their_pad_byte() -> None:
    odd = riff_chunk(b"00dc", b"v" * 301)  # padded to 302
    unpadded = odd[:-1]  # a writer that forgets the pad byte
    records = [b.mapcam_record(f) for f in FIXES[:4]]
    items = [
        odd,
        records[0],
        unpadded,
        records[1],
        odd,
        AUDIO,
        records[2],
        unpadded,
        records[3],
        AUDIO,
    ]
    t = extract(b.mapcam_avi(items))
    assert_fixes(t, FIXES[:4])


def test_records_at_the_end_of_movi_and_after_it() -> None:
    records = [b.mapcam_record(f) for f in FIXES[:3]]
    avi = bytearray(b.mapcam_avi([VIDEO, records[0], AUDIO, records[1]], idx=False))
    t = extract(bytes(avi) + records[2])  # one record after the RIFF's declared end
    assert_fixes(t, FIXES[:3])


def test_records_that_do_not_look_like_chunks() -> None:
    # The reader must not rely on bytes 4..7 being 50 (the document only says "static").
    records = [b.mapcam_record(f, field4=7) for f in FIXES[:3]]
    t = extract(b.mapcam_avi(interleaved(records)))
    assert_fixes(t, FIXES[:3])


def test_garbage_between_chunks_is_skipped_with_a_warning() -> None:
    records = [b.mapcam_record(f) for f in FIXES[:2]]
    items = [VIDEO, records[0], b"\x99" * 37, AUDIO, records[1]]
    t = extract(b.mapcam_avi(items))
    assert_fixes(t, FIXES[:2])
    assert any("skipped" in w.reason for w in t.warnings)


def test_no_fix_records_stay_without_position() -> None:
    cold = b.mapcam_record(b.Fix((2023, 8, 1, 9, 29, 59), 0.0, 0.0))
    t = extract(b.mapcam_avi([VIDEO, cold, AUDIO, b.mapcam_record(FIXES[0])]))
    assert [s.valid for s in t.gps] == [False, True]
    assert t.gps[0].fix == 0


def test_file_cut_short_keeps_what_came_before() -> None:
    records = [b.mapcam_record(f) for f in FIXES]
    data = b.mapcam_avi(interleaved(records))
    cut = data[: data.index(records[3]) + 20]
    t = extract(cut)
    assert_fixes(t, FIXES[:3])
    assert t.warnings


def test_avi_without_gps_is_unsupported() -> None:
    with pytest.raises(UnsupportedError):
        extract(b.mapcam_avi([VIDEO, AUDIO, VIDEO]))


def test_not_an_avi_is_unsupported() -> None:
    with pytest.raises(UnsupportedError):
        extract(b"\0\0\0\x18ftypmp42")


def test_real_avi_without_gps() -> None:
    path = SAMPLES / "other" / "avi__100_0306.AVI"
    if not path.exists():
        pytest.skip("shared samples not present")
    with path.open("rb") as f, pytest.raises(UnsupportedError):
        mapcam.extract(f)


@pytest.mark.parametrize("inside", [3, 20, 57])
def test_record_straddling_the_end_of_movi(inside: int) -> None:
    # A writer that counted only the chunks in the movi size: the last record
    # starts inside the list and ends after it.
    records = [b.mapcam_record(f) for f in FIXES[:3]]
    movi_items = [VIDEO, records[0], AUDIO, records[1], AUDIO]
    avi = bytearray(b.mapcam_avi([*movi_items, records[2]], idx=False))
    movi = avi.index(b"movi") - 8
    struct.pack_into(
        "<I", avi, movi + 4, struct.unpack_from("<I", avi, movi + 4)[0] - (58 - inside)
    )
    t = extract(bytes(avi) + riff_chunk(b"idx1", b"\0" * 16))
    assert_fixes(t, FIXES[:3])
