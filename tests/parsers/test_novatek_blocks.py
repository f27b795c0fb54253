"""Every real device block in shared/samples/novatek-blocks decodes to its documented values.

The expected values are read from the samples' expected.json (device,
container, what the bytes decode to), never from our own output. Most
blocks are the first 48-256 bytes of a larger block: those test what the
bytes shown can give (a layout told, a record, or an honest "cut short").
"""

from __future__ import annotations

import calendar
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from telemetryfs.parsers.formats.novatek import cousin_records as dashcam_records
from telemetryfs.parsers.formats.novatek.layouts import decode_block
from telemetryfs.parsers.formats.novatek.layouts import textual as freegps_text
from telemetryfs.parsers.records import KNOTS, Record, judge
from tests.paths import SAMPLES

BLOCKS = SAMPLES / "novatek-blocks"
pytestmark = pytest.mark.skipif(not BLOCKS.is_dir(), reason="shared samples not present")


@cache
def expected() -> dict[str, dict[str, Any]]:
    data = json.loads((BLOCKS / "expected.json").read_text())
    return {b["nn"]: b for b in data["blocks"]}


def block_bytes(nn: str, index: int = 0) -> bytes:
    return (BLOCKS / expected()[nn]["files"][index]["file"]).read_bytes()


def joined(nn: str) -> bytes:
    """A dump with an elided middle, its segments put back at their offsets (gaps zero)."""
    out = bytearray()
    for part in expected()[nn]["files"]:
        at = part["dump_offset"] or 0
        data = (BLOCKS / part["file"]).read_bytes()
        out[len(out) : at] = b"\0" * max(0, at - len(out))
        out[at : at + len(data)] = data
    return bytes(out)


def posix(text: str) -> float:
    """'2019-09-27 05:47:03' or '2018-10-08 06:42:46.5' (any trailing note ignored)."""
    m = re.match(r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d(?:\.\d+)?)", text)
    assert m, text
    y, mo, d, h, mi = (int(g) for g in m.groups()[:5])
    return calendar.timegm((y, mo, d, h, mi, 0, 0, 0, 0)) + float(m.group(6))


def check(record: Record, want: dict[str, Any]) -> None:
    """Compare a record with the documented values present in ``want``."""
    for key in ("gps_datetime_utc", "datetime_utc", "datetime"):
        if key in want:
            assert record.utc == pytest.approx(posix(want[key]), abs=0.01), key
            break
    if "lat" in want:
        assert record.lat == pytest.approx(want["lat"], abs=2e-6)
    if "lon" in want:
        assert record.lon == pytest.approx(want["lon"], abs=2e-6)
    if "speed_knots" in want:
        assert record.speed == pytest.approx(want["speed_knots"] * KNOTS, rel=1e-4)
    elif "speed_kmh" in want:
        assert record.speed is not None
        assert record.speed * 3.6 == pytest.approx(want["speed_kmh"], abs=0.01)
    if "track_deg" in want:
        assert record.course == pytest.approx(want["track_deg"], abs=0.01)
    accel = next((v for k, v in want.items() if k.startswith("accelerometer_int32le")), None)
    if accel is not None:
        extra = dict(record.extra)
        assert [extra["accel_x"], extra["accel_y"], extra["accel_z"]] == accel


def only_record(nn: str) -> Record:
    decoded = decode_block(block_bytes(nn))
    assert decoded is not None
    assert len(decoded.records) == 1
    return decoded.records[0]


# Blocks whose bytes hold one complete record with documented values.
WHOLE = ["10", "11", "12", "13", "20", "21", "25", "26", "32", "33", "35", "36", "37"]


@pytest.mark.parametrize("nn", WHOLE)
def test_block_decodes_to_documented_values(nn: str) -> None:
    record = only_record(nn)
    check(record, expected()[nn]["decoded_by_us"])
    sample, reason = judge(record)
    assert sample.valid, reason


def test_block_10_nextbase_camera_time_kept_beside_gps_time() -> None:
    record = only_record("10")
    stamp = expected()["10"]["decoded_by_us"]["camera_datetime_text_at_0x34"]
    assert dict(record.extra)["camera_time"] == stamp


def test_block_11_kenwood_four_digit_year_marked_local() -> None:
    # "this camera sometimes stores an absolute year with local time"
    record = only_record("11")
    assert (
        dict(record.extra)["year_raw"]
        == expected()["11"]["decoded_by_us"]["time_fields_u32le_at_0x40"][3]
    )
    assert "local" in str(dict(record.extra)["clock"])


def test_block_13_luckychip_plain_text_matches() -> None:
    want = expected()["13"]["decoded_by_us"]
    extra = dict(only_record("13").extra)
    assert extra["lat_raw"] == pytest.approx(float(want["lat_plain"]))
    assert extra["lon_raw"] == pytest.approx(float(want["lon_plain"]))


def test_block_20_akaso_speed_raw_and_track_plus_180() -> None:
    want = expected()["20"]["decoded_by_us"]
    record = only_record("20")
    assert dict(record.extra)["speed_raw"] == pytest.approx(want["speed"], abs=1e-4)
    assert dict(record.extra)["track_raw"] == pytest.approx(want["track_raw"], abs=0.01)


def test_block_21_anticlock_speed_and_accelerometer() -> None:
    want = expected()["21"]["decoded_by_us"]
    record = only_record("21")
    assert dict(record.extra)["speed_raw"] == pytest.approx(want["speed"], abs=1e-4)


def test_block_22_shifted_rmc_cut_before_the_date() -> None:
    want = expected()["22"]["decoded_by_us"]
    record = only_record("22")
    assert record.lat == pytest.approx(want["lat"], abs=2e-6)
    assert record.lon == pytest.approx(want["lon"], abs=2e-6)
    assert record.utc is None  # the date is "not in the dump"


@pytest.mark.parametrize("nn", ["23", "24"])
def test_block_akaso_v1_time_speed_track_and_enciphered_coordinates(nn: str) -> None:
    want = expected()[nn]["decoded_by_us"]
    record = only_record(nn)
    assert record.utc == pytest.approx(posix(want["datetime_utc"]))
    extra = dict(record.extra)
    assert extra["speed_raw"] == pytest.approx(want["speed_f32_at_0x60"], abs=1e-4)
    assert extra["track_raw"] == pytest.approx(want["track_f32_at_0x64"], abs=0.01)
    assert [extra["lat_enciphered"], extra["lon_enciphered"]] == pytest.approx(
        want["lat_lon_f64_at_0x50_0x58_enciphered"], abs=1e-5
    )
    sample, reason = judge(record)
    assert not sample.valid
    assert reason
    assert "enciphered" in reason


def test_block_26_vantrue_s1_altitude() -> None:
    want = expected()["26"]["decoded_by_us"]
    assert only_record("26").ele == pytest.approx(want["altitude_m"], abs=0.001)


def test_block_35_rexing_is_told_by_its_minutes() -> None:
    # Latitude 288.99 read as DDMM has 88.99 minutes: not DDMM, so the Rexing scaling applies.
    record = only_record("35")
    assert dict(record.extra)["deobfuscated"] == "rexing"
    check(record, expected()["35"]["decoded_by_us"])


@pytest.mark.parametrize("nn", ["30", "39", "31"])
def test_block_with_a_list_of_records(nn: str) -> None:
    decoded = decode_block(block_bytes(nn))
    assert decoded is not None
    wants = expected()[nn]["decoded_by_us"]["records"]
    if nn == "31":
        # the second XBHT record is cut at its speed field: only the first is whole
        wants = wants[:1]
    assert len(decoded.records) >= len(wants)
    for record, want in zip(decoded.records, wants, strict=False):
        check(record, want)
        if "accelerometer_int32le" in want:
            extra = dict(record.extra)
            assert [extra["accel_x"], extra["accel_y"], extra["accel_z"]] == want[
                "accelerometer_int32le"
            ]


def test_block_31_xbht_raw_integers_and_speed() -> None:
    want = expected()["31"]["decoded_by_us"]["records"][0]
    extra = dict(decode_block(block_bytes("31")).records[0].extra)  # type: ignore[union-attr]
    assert (extra["lat_raw"], extra["lon_raw"], extra["speed_raw"]) == (
        want["lat_u32le"],
        want["lon_u32le"],
        want["speed_u16le"],
    )


def test_block_38_70mai_a810() -> None:
    want = expected()["38"]["decoded_by_us"]
    record = only_record("38")
    assert record.status == want["status_at_0x1e"]
    assert record.lat == pytest.approx(want["lat"], abs=2e-6)
    assert record.lon == pytest.approx(want["lon"], abs=2e-6)
    extra = dict(record.extra)
    assert (extra["lat_raw"], extra["lon_raw"], extra["speed_raw"]) == (
        want["lat_int32le_at_31"],
        want["lon_int32le_at_35"],
        want["speed_int32le_at_43"],
    )


def test_block_08_eeekit_xor_text_from_byte_18() -> None:
    # 80 bytes: the deciphered text is cut before the speed digits (dump 09 has them).
    want = expected()["09"]["decoded_by_us"]
    record = only_record("08")
    assert record.lat == pytest.approx(want["lat"], abs=2e-6)
    assert record.lon == pytest.approx(want["lon"], abs=2e-6)
    assert record.utc == pytest.approx(posix(want["datetime"]))


def test_block_06_azdome_header_only_is_cut_short() -> None:
    decoded = decode_block(block_bytes("06"))
    assert decoded is not None
    assert decoded.layout == "xor-text"
    assert decoded.records == ()
    assert decoded.note
    assert "cut short" in decoded.note


@pytest.mark.parametrize("nn", ["03", "05", "07", "09"])
def test_deciphered_xor_text_views(nn: str) -> None:
    want = expected()[nn]["decoded_by_us"]
    record = freegps_text.parse_xor_text(joined(nn), 0)
    assert record is not None
    check(record, {k: v for k, v in want.items() if k in ("datetime", "lat", "lon")})
    assert dict(record.extra)["speed_kmh"] == want["speed"]
    if "altitude_m" in want:
        assert dict(record.extra)["altitude_text"] == want["altitude_m"]
    if "accelerometer_g" in want:
        extra = dict(record.extra)
        got = [extra["accel_x"], extra["accel_y"], extra["accel_z"]]
        assert [g / 100 for g in got] == pytest.approx(want["accelerometer_g"])


@pytest.mark.parametrize(("enciphered", "deciphered"), [("02", "03"), ("04", "05")])
def test_enciphered_text_samples_match_their_deciphered_views(
    enciphered: str, deciphered: str
) -> None:
    want = expected()[deciphered]["decoded_by_us"]
    record = freegps_text.decode_xor_sample(block_bytes(enciphered), 0)
    assert record is not None
    check(record, {k: v for k, v in want.items() if k in ("datetime", "lat", "lon")})


@pytest.mark.parametrize("nn", ["14", "15", "16", "17", "18"])
def test_ligogps_blocks_are_told_but_cut_short(nn: str) -> None:
    # Only the first 64-96 bytes of each block are known: no record can be deciphered.
    assert expected()[nn]["partial"]
    decoded = decode_block(block_bytes(nn))
    assert decoded is not None
    assert decoded.layout == "ligogps"
    assert decoded.records == ()
    assert decoded.note


def test_block_19_kingslim_prefix_time_speed_and_untrusted_coordinates() -> None:
    want = expected()["19"]["decoded_by_us"]
    record = only_record("19")
    assert record.utc == pytest.approx(posix(want["datetime"]))
    assert record.speed == pytest.approx(want["speed_knots"] * KNOTS, rel=1e-4)
    assert record.course == pytest.approx(want["track_deg"], abs=0.01)
    extra = dict(record.extra)
    assert [extra["lat_raw"], extra["lon_raw"]] == pytest.approx(
        want["lat_lon_f32_at_0x1c_0x20_not_trustworthy"], abs=1e-2
    )
    assert record.lat is None
    assert record.lon is None
    assert not judge(record)[0].valid


@pytest.mark.parametrize("nn", ["27", "28", "29", "34"])
def test_header_only_blocks_decode_nothing(nn: str) -> None:
    decoded = decode_block(block_bytes(nn))
    assert decoded is None or decoded.records == ()


@pytest.mark.parametrize("nn", ["01", "42", "44", "45", "46"])
def test_blocks_without_gps_give_no_fix(nn: str) -> None:
    data = block_bytes(nn)
    decoded = decode_block(data)
    assert decoded is None or not any(judge(r)[0].valid for r in decoded.records)
    assert dashcam_records.parse_aitg(data, 0) == []
    assert dashcam_records.parse_fmas(data, 0) == []
    assert dashcam_records.parse_wolfbox(data, 0) == []


def test_block_40_kenwood_udta_record() -> None:
    want = expected()["40"]["decoded_by_us"]
    (record,) = dashcam_records.parse_kenwood_udta(block_bytes("40"), 0)
    check(record, want)
    assert dict(record.extra)["second_time"] == re.sub(r"\D", "", want["second_datetime"])


def test_block_41_autovox_gps0_record() -> None:
    want = expected()["41"]["decoded_by_us"]
    (record,) = dashcam_records.parse_aitg(block_bytes("41"), 0)
    check(record, {k: v for k, v in want.items() if k != "lon"})
    assert record.lon == pytest.approx(want["lon_with_guessed_sign"], abs=2e-6)
    assert record.speed == pytest.approx(want["speed_knots_u16le_at_0x18"] * KNOTS)
    assert record.video_time == pytest.approx(want["ms_since_video_start_u32le_at_0x24"] / 1000)


def test_block_43_kenwood_gpsdata_trailer() -> None:
    want = expected()["43"]["decoded_by_us"]
    (record,) = dashcam_records.parse_gpsdata(block_bytes("43"), 0)
    check(record, {k: v for k, v in want.items() if k in ("datetime", "lat", "lon")})
    extra = dict(record.extra)
    assert extra["speed_raw"] == want["speed"]
    assert [extra["accel_x"], extra["accel_y"], extra["accel_z"]] == want["accelerometer"]


def test_block_47_vantrue_fmas() -> None:
    want = expected()["47"]["decoded_by_us"]
    (record,) = dashcam_records.parse_fmas(block_bytes("47"), 0)
    check(record, want)
    assert dict(record.extra)["speed_mph"] == want["speed_mph"]


@pytest.mark.parametrize("nn", ["48", "49"])
def test_wolfbox_value_divisor_pairs(nn: str) -> None:
    want = expected()[nn]["decoded_by_us"]
    (record,) = dashcam_records.parse_wolfbox(block_bytes(nn), 0)
    date = want["date"].split(" ")[0]
    assert record.utc == pytest.approx(posix(f"{date} {want['time_utc_at_0xa0']}"))
    assert record.lat == pytest.approx(want["lat"], abs=2e-6)
    assert record.lon == pytest.approx(want["lon"], abs=2e-6)
    pairs = want["pairs"]
    assert record.speed == pytest.approx(pairs["speed_knots"]["result"] * KNOTS)
    assert record.course == pytest.approx(pairs["track_deg"]["result"])
    assert record.ele == pytest.approx(pairs["altitude_m"]["result"])
    assert dict(record.extra)["time_on_video"] == want["time_on_video_at_0x10"]


def test_every_block_file_is_covered() -> None:
    names = {f["file"] for b in expected().values() for f in b["files"]}
    on_disk = {p.name for p in Path(BLOCKS).glob("*.bin")}
    assert names == on_disk


def test_block_11_kenwood_model_string_names_the_camera() -> None:
    # expected.json: "model string 'MN:DRV-A510W@V1.7_BDZICZ_C' ... come first"
    decoded = decode_block(block_bytes("11"))
    assert decoded is not None
    assert decoded.vendor
    assert f"MN:{decoded.vendor}@" in expected()["11"]["container"]
