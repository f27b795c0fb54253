"""Dashcam MP4s without freeGPS blocks: novatek.extract finds their GPS elsewhere.

Each file is generated around the bytes of a real device record from
shared/samples/novatek-blocks (Kenwood udta, Auto-Vox gps0, Vantrue FMAS,
Wolfbox, BlueSkySea text), placed where ExifTool's QuickTime.pm says the
camera puts it; the values expected are those of expected.json.
"""

from __future__ import annotations

import io
import json
import struct
from functools import cache
from typing import Any

import pytest

from telemetryfs.parsers.errors import UnsupportedError
from telemetryfs.parsers.formats.novatek import parse as novatek
from telemetryfs.parsers.model import Telemetry
from tests import dashcam_builders as b
from tests.builders import box
from tests.paths import SAMPLES

BLOCKS = SAMPLES / "novatek-blocks"
pytestmark = pytest.mark.skipif(not BLOCKS.is_dir(), reason="shared samples not present")


@cache
def expected() -> dict[str, dict[str, Any]]:
    return {blk["nn"]: blk for blk in json.loads((BLOCKS / "expected.json").read_text())["blocks"]}


def block(nn: str) -> bytes:
    return (BLOCKS / expected()[nn]["files"][0]["file"]).read_bytes()


def extract(data: bytes) -> Telemetry:
    return novatek.extract(io.BytesIO(data), name="clip.mp4")


HEAD = box(b"ftyp", b"isom") + box(b"mdat", b"\0" * 64)


def test_kenwood_udta_box() -> None:
    t = extract(HEAD + box(b"udta", block("40")) + box(b"moov", b.mvhd()))
    assert t.format == "kenwood-udta"
    want = expected()["40"]["decoded_by_us"]
    (sample,) = t.gps
    assert sample.lat == pytest.approx(want["lat"], abs=2e-6)
    assert sample.lon == pytest.approx(want["lon"], abs=2e-6)


def test_autovox_riff_trailer_after_the_boxes() -> None:
    trailer = b"gpsa" + struct.pack("<I", 8) + bytes.fromhex("0120000008030208")
    trailer += b"gps0" + struct.pack("<I", 40) + block("41")
    t = extract(HEAD + box(b"moov", b.mvhd()) + trailer)
    assert t.format == "autovox-trailer"
    want = expected()["41"]["decoded_by_us"]
    (sample,) = t.gps
    assert sample.lat == pytest.approx(want["lat"], abs=2e-6)
    assert sample.lon == pytest.approx(want["lon_with_guessed_sign"], abs=2e-6)
    assert sample.video_time == pytest.approx(want["ms_since_video_start_u32le_at_0x24"] / 1000)


def test_kenwood_gpsdata_trailer() -> None:
    t = extract(HEAD + box(b"moov", b.mvhd()) + block("43"))
    assert t.format == "kenwood-trailer"
    assert t.gps[0].lat == pytest.approx(expected()["43"]["decoded_by_us"]["lat"])


@pytest.mark.parametrize("nn", ["47", "48", "49"])
def test_gpmd_track_of_a_dashcam(nn: str) -> None:
    t = extract(b.mp4_with_track([block(nn), block(nn)], b"gpmd"))
    assert t.format == "dashcam-gpmd"
    want = expected()[nn]["decoded_by_us"]
    assert len(t.gps) == 2
    assert t.gps[0].lat == pytest.approx(want["lat"], abs=2e-6)
    assert t.gps[1].video_time == pytest.approx(1.0)


def test_text_track_with_xor_samples() -> None:
    sample = struct.pack(">H", len(block("02"))) + block("02")
    t = extract(b.mp4_with_track([sample], b"tx3g", b"sbtl"))
    assert t.format == "dashcam-text"
    assert t.gps[0].lat == pytest.approx(expected()["03"]["decoded_by_us"]["lat"], abs=2e-6)


def test_gopro_gpmf_track_is_left_alone() -> None:
    gpmf = b"DEVC\0\x01\0\x08" + b"DVID" + b"L\x04\x00\x01" + b"\0\0\0\1"
    with pytest.raises(UnsupportedError, match="no dashcam GPS"):
        extract(b.mp4_with_track([gpmf], b"gpmd"))
