"""freeGPS layouts known only from ExifTool's description (no real bytes in the samples).

Blocks are built from the layouts the comments give (expected.json
"layout_from_comment" for blocks 27-29 and 34); the values written in are
the values expected out.
"""

from __future__ import annotations

import struct

import pytest

from telemetryfs.parsers.formats.novatek.layouts import decode_block
from telemetryfs.parsers.formats.novatek.layouts.binary import atc_decipher
from telemetryfs.parsers.records import KNOTS
from tests import dashcam_builders as b

WHEN = (2023, 6, 1, 12, 30, 15)
UTC = b.Fix(WHEN, 0, 0).utc


def atc_record(lat: float, lon: float, second: int, key1: int = 0x5A, key2: int = 0xC3) -> bytes:
    y, mo, d, h, mi, _ = WHEN
    plain = bytearray(52)
    plain[0x0D:0x10] = bytes([h - 1, mi, second])  # the hour is stored minus one
    struct.pack_into("<i", plain, 0x10, round(lat * 1e7))
    plain[0x15:0x18] = b"ATC"
    struct.pack_into("<i", plain, 0x18, round(lon * 1e7))
    plain[0x1D:0x20] = b"001"
    struct.pack_into("<ihhi", plain, 0x20, 1234, -9000, 0, 250500)  # 12.34 m/s, -90 deg, 250.5 m
    struct.pack_into("<HBB", plain, 0x2C, y, mo, d)
    stored = bytearray(plain)
    for i in (*range(0x00, 0x15), *range(0x18, 0x1C)):
        stored[i] ^= key1
    for i in (0x1C, *range(0x20, 0x33)):
        stored[i] ^= key2
    return bytes(stored)


def test_atc_cipher_round_trip() -> None:
    stored = atc_record(1.0, 2.0, 3)
    assert stored[0x15:0x18] == b"ATC"
    assert atc_decipher(stored)[0x10:0x14] == struct.pack("<i", 10_000_000)


def test_atc_ring_buffer_block() -> None:
    records = b"".join(atc_record(48.1 + s * 1e-4, 11.5, 15 + s) for s in range(3))
    block = b.free_gps(b"IQS20130306B\0\0\0\0" + b"May 15 2015, 19:" + records, value=0x638)
    decoded = decode_block(block)
    assert decoded is not None
    assert decoded.layout == "atc"
    assert decoded.ring
    assert [r.utc for r in decoded.records] == [UTC, UTC + 1, UTC + 2]
    first = decoded.records[0]
    assert (first.lat, first.lon) == (pytest.approx(48.1), pytest.approx(11.5))
    assert first.speed == pytest.approx(12.34)
    assert first.course == pytest.approx(270.0)
    assert first.ele == pytest.approx(250.5)


def test_double_precision_layout() -> None:
    y, mo, d, h, mi, s = WHEN
    body = bytearray(0x88 - 16)
    struct.pack_into("<3I", body, 0x30 - 16, h, mi, s)
    struct.pack_into("<I", body, 0x3C - 16, ord("A"))
    struct.pack_into("<dIxxxx", body, 0x40 - 16, b.to_ddmm(-33.8), ord("S"))
    struct.pack_into("<dIxxxx", body, 0x50 - 16, b.to_ddmm(151.2), ord("E"))
    struct.pack_into("<dd", body, 0x60 - 16, 20.0, 45.5)
    struct.pack_into("<3I3i", body, 0x70 - 16, y - 2000, mo, d, 10, -20, 980)
    decoded = decode_block(
        b.free_gps(b"20130815.01\0\0\0\0\0Jun 10 2017, 14:" + bytes(body[32:]), value=0x108)
    )
    assert decoded is not None
    assert decoded.layout == "doubles"
    (record,) = decoded.records
    assert record.utc == UTC
    assert (record.lat, record.lon) == (pytest.approx(-33.8), pytest.approx(151.2))
    assert record.speed == pytest.approx(20.0 * KNOTS)
    assert dict(record.extra)["accel_z"] == 980


def test_iqs_variant_degrees_and_metres_per_second() -> None:
    y, mo, d, h, mi, s = WHEN
    record = struct.pack("<6I", h, mi, s, y - 2000, mo, d) + b"ASW\0"
    record += struct.pack("<3if", 338_000_000, 1_512_000_000, 1500, 12345.0)
    block = b.free_gps(b"IQS_A7_20150417\0" + b"Mar 29 2017, 16:" + record)
    decoded = decode_block(block)
    assert decoded is not None
    assert decoded.layout == "novatek-iqs"
    (rec,) = decoded.records
    assert (rec.lat, rec.lon) == (pytest.approx(-33.8), pytest.approx(-151.2))
    assert rec.speed == pytest.approx(15.0)


def test_transcend_f64_copies_are_preferred_when_they_agree() -> None:
    fix = b.Fix(WHEN, 54.4549235, 18.5493062)
    rec = bytearray(b.free_gps(b"\0" * 32 + b.novatek_record(fix), size=0x200))
    struct.pack_into("<d", rec, 0x70, b.to_ddmm(54.4549235) + 1e-6)
    struct.pack_into("<d", rec, 0x80, b.to_ddmm(18.5493062) + 1e-6)
    struct.pack_into("<d", rec, 0xA0, 42.5)
    (record,) = decode_block(bytes(rec)).records  # type: ignore[union-attr]
    assert record.lat == pytest.approx(54.4549235 + 1e-6 / 60, abs=1e-9)
    assert record.ele == pytest.approx(42.5)
