"""Fuzz contract for every dashcam entry point: only ParseError escapes, in bounded time.

Inputs are arbitrary bytes and valid files (built from the format documents,
or real device blocks) with bytes flipped, cut or inserted, so the fuzzer gets
past the first header.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemetryfs.parsers import timebase
from telemetryfs.parsers.containers import mpegts, riff
from telemetryfs.parsers.encodings import nmea
from telemetryfs.parsers.errors import ParseError
from telemetryfs.parsers.formats import nmea_log
from telemetryfs.parsers.formats._dashcam import ligo
from telemetryfs.parsers.formats.ligogps import parse as ligogps
from telemetryfs.parsers.formats.mapcam import parse as mapcam
from telemetryfs.parsers.formats.novatek import cousin_records as dashcam_records
from telemetryfs.parsers.formats.novatek import cousins as dashcam_mp4
from telemetryfs.parsers.formats.novatek import layouts as freegps_layouts
from telemetryfs.parsers.formats.novatek import parse as novatek
from telemetryfs.parsers.formats.seventymai import parse as seventymai
from telemetryfs.parsers.formats.sstar import parse as sstar
from tests import dashcam_builders as b
from tests.builders import box, riff_chunk
from tests.paths import SAMPLES

FIX = b.Fix((2024, 5, 6, 7, 8, 9), 50.1, -3.2)
BLOCKS = SAMPLES / "novatek-blocks"
REAL_BLOCKS = sorted(BLOCKS.glob("*.bin")) if BLOCKS.is_dir() else []

SEEDS: dict[str, list[bytes]] = {
    "mp4": [
        b.novatek_mp4([b.novatek_block(FIX), b.novatek_block(FIX, layout=16)], frame=b"\0" * 64),
        b.novatek_mp4([b.novatek_block(FIX)], index=False, frame=b"\0" * 64),
        box(b"ftyp", b"mp42")
        + box(b"moov", b.mvhd())
        + box(b"GPS ", b.seventymai_slot(0, 1, 2, 3) * 2),
    ],
    "ts": [b.ts_file([b.novatek_record(FIX)] * 2)],
    "avi": [
        b.mapcam_avi(
            [riff_chunk(b"00dc", b"v" * 33), b.mapcam_record(FIX), riff_chunk(b"01wb", b"a")]
        )
    ],
    "nmea": [
        b"$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A\r\n$GPGGA,123519,"
    ],
    "block": [b.novatek_block(FIX, size=256), *(p.read_bytes() for p in REAL_BLOCKS)],
}
FUZZ = settings(
    max_examples=int(__import__("os").environ.get("FUZZ_EXAMPLES", "300")),
    deadline=2000,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def mutated(draw: st.DrawFn, kind: str) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS[kind])))
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "cut", "insert"]))
        if action == "flip":
            data[pos] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[pos:]
        else:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


def inputs(kind: str) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=1024), mutated(kind))


def only_parse_errors(fn: Callable[[], Any]) -> None:
    with contextlib.suppress(ParseError):
        fn()


def on_file(parser: Callable[..., Any], data: bytes) -> None:
    only_parse_errors(lambda: parser(io.BytesIO(data), name="20240506070809_000001.MP4"))


@FUZZ
@given(inputs("mp4"))
def test_novatek_extract_mp4(data: bytes) -> None:
    on_file(novatek.extract, data)


@FUZZ
@given(inputs("ts"))
def test_novatek_extract_ts(data: bytes) -> None:
    on_file(novatek.extract, data)


@FUZZ
@given(inputs("mp4"))
def test_seventymai_extract(data: bytes) -> None:
    on_file(seventymai.extract, data)


@FUZZ
@given(inputs("mp4"))
def test_sstar_and_ligogps_extract(data: bytes) -> None:
    on_file(sstar.extract, data)
    on_file(ligogps.extract, data)


@FUZZ
@given(inputs("mp4"))
def test_dashcam_mp4_extract(data: bytes) -> None:
    on_file(dashcam_mp4.extract, data)


@FUZZ
@given(inputs("avi"))
def test_mapcam_extract(data: bytes) -> None:
    on_file(mapcam.extract, data)


@FUZZ
@given(inputs("avi"))
def test_riff_iter_chunks(data: bytes) -> None:
    only_parse_errors(lambda: list(riff.iter_chunks(io.BytesIO(data), 0, len(data))))


@FUZZ
@given(inputs("nmea"))
def test_nmea_extract_and_parse_text(data: bytes) -> None:
    on_file(nmea_log.extract, data)
    nmea.parse_text(data)  # never raises


@FUZZ
@given(inputs("block"))
def test_decode_block_never_raises(data: bytes) -> None:
    freegps_layouts.decode_block(data)
    freegps_layouts.decode_block(data, scaled=True)
    novatek.decode_payload(data, 0)
    ligo.decrypt(b"####" + data)
    for parse in (
        dashcam_records.parse_aitg,
        dashcam_records.parse_fmas,
        dashcam_records.parse_gpsdata,
        dashcam_records.parse_kenwood_udta,
        dashcam_records.parse_wolfbox,
    ):
        parse(data, 0)


@FUZZ
@given(inputs("ts"))
def test_mpegts_iter_pes(data: bytes) -> None:
    only_parse_errors(lambda: list(mpegts.iter_pes(io.BytesIO(data))))


@FUZZ
@given(
    st.text(max_size=64), st.floats(allow_nan=True), st.one_of(st.none(), st.floats(allow_nan=True))
)
def test_timebase_never_raises(name: str, gps: float, other: float | None) -> None:
    timebase.name_time(name)
    timebase.detect_offset(gps, other, name, other_clock=other)
