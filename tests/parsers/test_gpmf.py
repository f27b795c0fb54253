"""GPMF KLV walking, type chars, sticky properties and decoding, one edge case per test.

Expected values are spec facts (shared/seeds/gpmf-format-readme.txt): type
sizes, Q-number formats, SCAL as a divisor, TYPE arrays, ORIN case, the
property hierarchy, the GPSU layout and its known garbage.
"""

from __future__ import annotations

import calendar
import datetime
import math
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetryfs.parsers.encodings import gpmf
from telemetryfs.parsers.errors import MalformedError
from tests.builders import klv, klv_nest


def kids(data: bytes) -> list[gpmf.Klv]:
    return list(gpmf.iter_klv(data))


_BUFFERS: dict[int, bytes] = {}


def block(*children: bytes, sticky: dict[bytes, gpmf.Props] | None = None) -> gpmf.StreamBlock:
    """Parse one STRM made of ``children``; decode() finds its bytes again."""
    data = klv_nest(b"STRM", *children)
    (strm,) = kids(data)
    found = gpmf.parse_strm(data, strm, {} if sticky is None else sticky)
    assert found is not None
    _BUFFERS[id(found)] = data
    return found


def decode(b: gpmf.StreamBlock) -> list[tuple[object, ...]]:
    data = _BUFFERS[id(b)]
    return [
        row
        for k in b.data
        for row in gpmf.decode_chunk(b.codec, data[k.value_offset : k.value_offset + k.size])
    ]


def one(type_char: str, raw: bytes, struct_size: int | None = None) -> object:
    size = struct_size or len(raw)
    fields = "" if type_char not in gpmf.TYPES else type_char * (size // gpmf.TYPES[type_char][1])
    if type_char == "c":
        fields = "c"
    widths = (size,) if type_char == "c" or not fields else tuple(gpmf.TYPES[c][1] for c in fields)
    codec = gpmf.Codec(type_char, size, fields, widths)
    (row,) = gpmf.decode_chunk(codec, raw)
    return row[0] if len(row) == 1 else row


# --- KLV structure ------------------------------------------------------------------


def test_klv_value_is_padded_to_32_bits() -> None:
    data = klv(b"DMO1", b"b", 1, 1, b"\x05") + klv(b"DMO2", b"b", 1, 15, bytes(15))
    first, second = kids(data)
    assert (first.offset, first.end) == (0, 12)  # spec: 1 byte + 3 pad bytes
    assert (second.offset, second.end) == (12, 12 + 8 + 16)  # 15 bytes + 1 pad byte


def test_klv_size_is_struct_size_times_repeat() -> None:
    (k,) = kids(klv(b"ACCL", b"s", 6, 3, bytes(18)))
    assert (k.struct_size, k.repeat, k.size) == (6, 3, 18)


def test_nested_klv_children_are_walked() -> None:
    data = klv_nest(
        b"DEVC", klv(b"DVID", b"L", 4, 1, b"\0\0\x10\x01"), klv(b"DVNM", b"c", 1, 6, b"Camera")
    )
    (devc,) = kids(data)
    assert devc.nested
    names = [k.key for k in gpmf.children(data, devc)]
    assert names == [b"DVID", b"DVNM"]


def test_klv_running_past_its_parent_is_malformed() -> None:
    data = klv(b"ACCL", b"s", 6, 3, bytes(18))[:-4]
    with pytest.raises(MalformedError):
        kids(data)


def test_child_running_past_nested_parent_is_malformed() -> None:
    inner = klv(b"ACCL", b"s", 6, 10, bytes(60))
    data = b"STRM\0\x01\x00\x10" + inner  # the parent claims 16 bytes only
    (strm,) = kids(data[:24])
    with pytest.raises(MalformedError):
        list(gpmf.children(data, strm))


def test_zero_key_padding_ends_the_level() -> None:
    data = klv(b"DVID", b"L", 4, 1, bytes(4)) + bytes(64)
    assert [k.key for k in kids(data)] == [b"DVID"]


def test_partial_header_with_nonzero_bytes_is_malformed() -> None:
    with pytest.raises(MalformedError):
        kids(klv(b"DVID", b"L", 4, 1, bytes(4)) + b"TS")


def test_last_klv_without_its_padding_is_accepted() -> None:
    data = klv(b"DVNM", b"c", 1, 6, b"Camera")[:-2]  # an ffmpeg dump can end unpadded
    (k,) = kids(data)
    assert gpmf.read_text(data, k) == "Camera"


# --- type chars -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_char", "raw", "value"),
    [
        ("b", b"\xd6", -42),
        ("B", b"\xff", 255),
        ("s", b"\xff\xd6", -42),
        ("S", b"\xff\xd6", 65494),
        ("l", b"\xff\xff\xff\xd6", -42),
        ("L", b"\xff\xff\xff\xd6", 4294967254),
        ("j", b"\xff" * 7 + b"\xd6", -42),
        ("J", b"\xff" * 8, 2**64 - 1),
        ("f", struct.pack(">f", 1.5), 1.5),
        ("d", struct.pack(">d", math.pi), math.pi),
        ("F", b"GPMF", "GPMF"),
        ("c", b"Camera\0\0", "Camera"),
        ("U", b"170417173103.000", "170417173103.000"),
        ("G", bytes(range(16)), bytes(range(16)).hex()),
    ],
)
def test_type_char_decodes_big_endian(type_char: str, raw: bytes, value: object) -> None:
    assert one(type_char, raw) == value


def test_q_is_signed_q15_16_fixed_point() -> None:
    assert one("q", b"\x00\x01\x80\x00") == 1.5  # 1 + 0x8000/65536
    assert one("q", b"\xff\xff\x80\x00") == -0.5


def test_big_q_is_signed_q31_32_fixed_point() -> None:
    assert one("Q", b"\x00\x00\x00\x01\x80\x00\x00\x00") == 1.5
    assert one("Q", b"\xff\xff\xff\xff\x80\x00\x00\x00") == -0.5


def test_struct_of_three_shorts_is_three_columns() -> None:
    # spec: three-axis GYRO, type 's', struct size 6 -> 6 / sizeof(short) = 3 axes
    b = block(klv(b"GYRO", b"s", 6, 2, struct.pack(">6h", 1, 2, 3, 4, 5, 6)))
    assert b.codec.fields == "sss"
    assert decode(b) == [(1, 2, 3), (4, 5, 6)]


def test_c_with_struct_size_one_is_one_string() -> None:
    b = block(klv(b"FWVS", b"c", 1, 8, b"1.1.11.0"))
    assert b.codec.row_count(8) == 1
    assert decode(b) == [("1.1.11.0",)]


def test_c_with_struct_size_n_is_one_string_per_struct() -> None:
    b = block(klv(b"LBLS", b"c", 4, 2, b"ab\0\0cd\0\0"))
    assert decode(b) == [("ab",), ("cd",)]


def test_text_is_latin1_so_siun_squared_survives() -> None:
    data = klv(b"SIUN", b"c", 4, 1, b"m/s\xb2")
    (k,) = kids(data)
    assert gpmf.read_text(data, k) == "m/s²"


def test_unknown_type_char_is_kept_raw_not_an_error() -> None:
    b = block(klv(b"XTRA", b"x", 2, 2, b"\x01\x02\x03\x04"))
    assert b.codec.fields == ""
    assert decode(b) == [("0102",), ("0304",)]


def test_struct_size_not_a_multiple_of_the_type_is_kept_raw() -> None:
    b = block(klv(b"ODDS", b"s", 3, 1, b"\x01\x02\x03"))
    assert decode(b) == [("010203",)]


# --- TYPE (complex structures) ------------------------------------------------------


def test_type_array_expands() -> None:
    assert gpmf.parse_type("f[8]L") == "ffffffffL"  # spec example
    assert gpmf.parse_type("fssL") == "fssL"


@pytest.mark.parametrize("bad", ["", "f[", "f[x]", "fz", "[8]", "f" * 300])
def test_bad_type_string_is_malformed(bad: str) -> None:
    with pytest.raises(MalformedError):
        gpmf.parse_type(bad)


def test_complex_structure_decodes_per_type() -> None:
    # spec: TYPE "fssL", myDD '?' 12
    value = struct.pack(">fhhI", 2.5, -3, 4, 7)
    b = block(klv(b"TYPE", b"c", 1, 4, b"fssL"), klv(b"myDD", b"?", 12, 1, value))
    assert decode(b) == [(2.5, -3, 4, 7)]


def test_complex_structure_with_array() -> None:
    value = struct.pack(">8fI", *range(8), 9)
    b = block(klv(b"TYPE", b"c", 1, 5, b"f[8]L"), klv(b"myDD", b"?", 36, 1, value))
    assert decode(b) == [(0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 9)]


def test_complex_structure_without_type_is_kept_raw() -> None:
    b = block(klv(b"myDD", b"?", 4, 1, b"\x00\x00\x00\x07"))
    assert decode(b) == [("00000007",)]


def test_type_that_does_not_fill_the_struct_is_kept_raw() -> None:
    b = block(klv(b"TYPE", b"c", 1, 2, b"ss"), klv(b"myDD", b"?", 6, 1, bytes(6)))
    assert decode(b) == [("000000000000",)]


# --- sticky properties: SCAL, units, names ----------------------------------------


def test_single_scal_divides_every_axis() -> None:
    b = block(
        klv(b"SCAL", b"s", 2, 1, struct.pack(">h", 418)),
        klv(b"ACCL", b"s", 6, 1, struct.pack(">3h", 4418, -628, 418)),
    )
    assert decode(b) == [pytest.approx((4418 / 418, -628 / 418, 1.0))]


def test_scal_per_column() -> None:
    b = block(
        klv(b"SCAL", b"l", 4, 2, struct.pack(">2l", 10, 100)),
        klv(b"DATA", b"l", 8, 1, struct.pack(">2l", 25, 250)),
    )
    assert decode(b) == [(2.5, 2.5)]


def test_scal_shorter_than_the_row_repeats_cyclically() -> None:
    # exiftool GoPro.pm ScaleValues: $scl[$_ % @scl]
    b = block(
        klv(b"SCAL", b"l", 4, 2, struct.pack(">2l", 10, 100)),
        klv(b"DATA", b"l", 16, 1, struct.pack(">4l", 10, 100, 20, 200)),
    )
    assert decode(b) == [(1.0, 1.0, 2.0, 2.0)]


def test_zero_scal_leaves_the_value_unscaled() -> None:
    b = block(klv(b"SCAL", b"s", 2, 1, b"\0\0"), klv(b"DATA", b"s", 2, 1, b"\0\x07"))
    assert decode(b) == [(7,)]


def test_scal_does_not_apply_to_text() -> None:
    b = block(
        klv(b"TYPE", b"c", 1, 2, b"Ff"),
        klv(b"SCAL", b"l", 4, 1, struct.pack(">l", 10)),
        klv(b"SCEN", b"?", 8, 1, b"SNOW" + struct.pack(">f", 5.0)),
    )
    assert decode(b) == [("SNOW", 0.5)]


def test_property_after_the_data_does_not_apply_to_it() -> None:
    b = block(klv(b"DATA", b"s", 2, 1, b"\0\x0a"), klv(b"SCAL", b"s", 2, 1, b"\0\x02"))
    assert decode(b) == [(10,)]


def test_properties_stick_to_the_next_payload() -> None:
    sticky: dict[bytes, gpmf.Props] = {}
    block(klv(b"SCAL", b"s", 2, 1, b"\0\x02"), klv(b"DATA", b"s", 2, 1, b"\0\x0a"), sticky=sticky)
    later = block(klv(b"DATA", b"s", 2, 1, b"\0\x0c"), sticky=sticky)
    assert later.codec.scale == (2.0,)


def test_siun_applies_to_every_axis() -> None:
    # spec: SIUN "m/s²" applies to x, y and z; no need for three
    b = block(
        klv(b"SIUN", b"c", 4, 1, b"m/s\xb2"),
        klv(b"ACCL", b"s", 6, 1, bytes(6)),
    )
    assert gpmf.stream_columns(b.key, b.codec, b.props) == ("x (m/s²)", "y (m/s²)", "z (m/s²)")


def test_unit_per_column_and_known_gps5_labels() -> None:
    b = block(
        klv(b"UNIT", b"c", 3, 5, b"degdegm\0\0m/sm/s"),
        klv(b"GPS5", b"l", 20, 1, bytes(20)),
    )
    assert gpmf.stream_columns(b.key, b.codec, b.props) == (
        "lat (deg)",
        "lon (deg)",
        "alt (m)",
        "speed_2d (m/s)",
        "speed_3d (m/s)",
    )


def test_siun_is_preferred_over_unit() -> None:
    b = block(
        klv(b"UNIT", b"c", 3, 1, b"RPM"),
        klv(b"SIUN", b"c", 5, 1, b"rad/s"),
        klv(b"SPIN", b"f", 4, 1, bytes(4)),
    )
    assert gpmf.stream_columns(b.key, b.codec, b.props) == ("SPIN (rad/s)",)


def test_orin_names_axes_and_lower_case_is_negative() -> None:
    b = block(klv(b"ORIN", b"c", 1, 3, b"YxZ"), klv(b"ACCL", b"s", 6, 1, bytes(6)))
    assert gpmf.stream_columns(b.key, b.codec, b.props) == ("y", "-x", "z")


def test_stream_name_lists_axes_when_nothing_else_does() -> None:
    b = block(klv(b"STNM", b"c", 1, 17, b"Gyroscope (z,x,y)"), klv(b"GYRX", b"s", 6, 1, bytes(6)))
    assert gpmf.stream_columns(b.key, b.codec, b.props) == ("z", "x", "y")


def test_mtrx_turns_sensor_axes_into_camera_axes() -> None:
    """HERO6/7: ORIN YxZ, MTRX [[0,0,1],[0,-1,0],[1,0,0]], ORIO ZXY (gopro-telemetry columns z, x, y)."""
    matrix = struct.pack(">9f", 0, 0, 1, 0, -1, 0, 1, 0, 0)
    b = block(
        klv(b"MTRX", b"f", 36, 1, matrix),
        klv(b"ORIN", b"c", 1, 3, b"YxZ"),
        klv(b"ORIO", b"c", 1, 3, b"ZXY"),
        klv(b"ACCL", b"s", 6, 1, struct.pack(">3h", -31, 119, 4311)),
    )
    assert decode(b) == [(4311, -119, -31)]
    assert gpmf.stream_columns(b.key, b.codec, b.props) == ("z", "x", "y")


def test_mtrx_that_is_no_signed_permutation_is_ignored() -> None:
    # Only GoPro's kind of matrix is applied: columns keep their type's range.
    matrix = struct.pack(">4f", 0.5, 0.5, 1, -1)
    b = block(klv(b"MTRX", b"f", 16, 1, matrix), klv(b"XY__", b"f", 8, 1, struct.pack(">2f", 2, 4)))
    assert decode(b) == [(2.0, 4.0)]


def test_mtrx_on_unsigned_columns_is_ignored() -> None:
    matrix = struct.pack(">4f", 0, -1, 1, 0)
    b = block(klv(b"MTRX", b"f", 16, 1, matrix), klv(b"XY__", b"S", 4, 1, struct.pack(">2H", 2, 4)))
    assert decode(b) == [(2, 4)]


def test_mtrx_of_the_wrong_size_is_ignored() -> None:
    b = block(
        klv(b"MTRX", b"f", 16, 1, bytes(16)), klv(b"ACCL", b"s", 6, 1, struct.pack(">3h", 1, 2, 3))
    )
    assert decode(b) == [(1, 2, 3)]


# --- streams inside a STRM ----------------------------------------------------------


def test_last_non_property_key_is_the_data() -> None:
    # hero6+ble: MFGI is acc1's sticky property (gopro-telemetry repeatSticky)
    b = block(
        klv(b"TSMP", b"L", 4, 1, bytes(4)),
        klv(b"MFGI", b"b", 4, 1, bytes(4)),
        klv(b"acc1", b"b", 4, 2, bytes(8)),
    )
    assert b.key == b"acc1"
    assert b"MFGI" in b.props


def test_one_klv_per_frame_gives_one_data_entry_each() -> None:
    # spec "Multi-sample and Non-periodic data": FACE '?' 20 3, then 20 4, then 20 0
    face = klv(b"TYPE", b"c", 1, 5, b"SSfff")
    b = block(
        face,
        klv(b"FACE", b"?", 16, 3, bytes(48)),
        klv(b"FACE", b"?", 16, 4, bytes(64)),
        klv(b"FACE", b"?", 16, 0, b""),
    )
    assert [k.repeat for k in b.data] == [3, 4, 0]


def test_nested_face_with_tick_tock_reads_the_inner_data() -> None:
    inner = klv_nest(
        b"FACE",
        klv(b"TICK", b"L", 4, 1, struct.pack(">I", 10023)),
        klv(b"TOCK", b"L", 4, 1, struct.pack(">I", 10320)),
        klv(b"FACE", b"?", 4, 2, struct.pack(">4H", 1, 2, 3, 4)),
    )
    b = block(klv(b"TYPE", b"c", 1, 2, b"SS"), inner)
    assert [k.repeat for k in b.data] == [2]
    assert decode(b) == [(1, 2), (3, 4)]


def test_strm_with_only_a_name_has_no_data() -> None:
    data = klv_nest(b"STRM", klv(b"STNM", b"c", 1, 4, b"none"))
    (strm,) = kids(data)
    assert gpmf.parse_strm(data, strm, {}) is None


def test_settings_block_is_recognised_and_read() -> None:
    data = klv_nest(
        b"STRM",
        klv(b"FMWR", b"c", 1, 15, b"HD7.01.01.90.00"),
        klv(b"MINF", b"c", 1, 11, b"HERO7 Black"),
        klv(b"CASN", b"c", 1, 4, b"C328"),
        klv(b"OREN", b"c", 1, 1, b"U"),
        klv(b"PIMX", b"L", 4, 1, struct.pack(">I", 1600)),
        klv(b"MUID", b"L", 4, 2, struct.pack(">2I", 1, 2)),
        klv(b"DVLA", b"F", 4, 1, b"HLMT"),
    )
    (strm,) = kids(data)
    assert gpmf.parse_strm(data, strm, {}) is None
    assert gpmf.is_settings(data, strm)
    assert gpmf.parse_settings(data, strm) == {
        "FMWR": "HD7.01.01.90.00",
        "MINF": "HERO7 Black",
        "CASN": "C328",
        "OREN": "U",
        "PIMX": 1600,
        "MUID": (1, 2),
        "DVLA": "HLMT",
    }


# --- decoding chunks ------------------------------------------------------------------


def test_decode_ignores_a_trailing_partial_struct() -> None:
    codec = gpmf.Codec("s", 2, "s", (2,))
    assert gpmf.decode_chunk(codec, b"\0\x01\0\x02\0") == [(1,), (2,)]


def test_decode_of_no_bytes_is_no_rows() -> None:
    assert gpmf.decode_chunk(gpmf.Codec("s", 2, "s", (2,)), b"") == []
    assert gpmf.decode_chunk(gpmf.Codec("c", 1, "c", (0,), (), True), b"") == []


def test_codec_with_zero_struct_size_is_malformed() -> None:
    with pytest.raises(MalformedError):
        gpmf.decode_chunk(gpmf.Codec("s", 0, "s", (2,)), b"\0\x01")


def test_codec_is_picklable_and_hashable() -> None:
    import pickle

    codec = block(klv(b"SCAL", b"s", 2, 1, b"\x01\xa2"), klv(b"ACCL", b"s", 6, 1, bytes(6))).codec
    assert pickle.loads(pickle.dumps(codec)) == codec
    assert hash(codec) == hash(pickle.loads(pickle.dumps(codec)))


# --- content sniffing ------------------------------------------------------------------


def test_is_gpmf_accepts_a_devc() -> None:
    data = klv_nest(
        b"DEVC", klv(b"DVID", b"L", 4, 1, b"\0\0\0\x01"), klv(b"DVNM", b"c", 1, 6, b"Camera")
    )
    assert gpmf.is_gpmf(data)
    assert gpmf.is_gpmf(data[:20])  # only the head of a big file


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"DEVC",
        b"STRM\0\x01\0\x10" + bytes(16),  # not a DEVC
        b"DEVC\x73\x01\0\x10" + bytes(16),  # DEVC not nested
        b"DEVC\0\x01\0\x10DV\xffD" + bytes(12),  # child key not printable
        b"DEVC\0\x01\0\x10DVIDz\x04\0\x01" + bytes(4),  # unknown type char
        b"DEVC\0\x01\0\x10DVIDL\x04\0\x09" + bytes(4),  # child runs past the DEVC
    ],
)
def test_is_gpmf_rejects(head: bytes) -> None:
    assert not gpmf.is_gpmf(head)


# --- GPSU ------------------------------------------------------------------------------


def test_gpsu_is_utc() -> None:
    # exiftool: GPSU 170417173103.000 = 2017:04:17 17:31:03.000 (gopro-telemetry: ...03.000Z)
    assert gpmf.parse_gpsu(b"170417173103.000") == 1492450263.0
    assert gpmf.parse_gpsu(b"170417173103.985") == pytest.approx(1492450263.985)


@pytest.mark.parametrize(
    "raw",
    [
        b"5509100082240400",  # gpmf-parser #162 firmware garbage
        b"000101000000.000",  # year 2000: no GPS time yet
        b"170230120000.000",  # 30 February
        b"171317120000.000",  # month 13
        b"170417250000.000",  # hour 25
        b"",
        b"not a time",
    ],
)
def test_garbage_gpsu_is_rejected(raw: bytes) -> None:
    assert gpmf.parse_gpsu(raw) is None


@given(
    st.datetimes(datetime.datetime(2015, 1, 1), datetime.datetime(2099, 12, 31, 23, 59, 59)),
    st.sampled_from(["000", "5", "999", "123456"]),
)
def test_gpsu_is_the_calendar_time(when: datetime.datetime, fraction: str) -> None:
    """The date's start is looked up once per date; the sum is calendar.timegm's."""
    raw = when.strftime("%y%m%d%H%M%S").encode() + b"." + fraction.encode()
    expected = calendar.timegm(when.timetuple()) + float("0." + fraction)
    assert gpmf.parse_gpsu(raw) == expected
    leap = when.replace(second=59).strftime("%y%m%d%H%M").encode() + b"60.000"
    assert gpmf.parse_gpsu(leap) == calendar.timegm(when.replace(second=59).timetuple()) + 1


def test_char_array_in_a_type_is_one_text_column() -> None:
    b = block(
        klv(b"TYPE", b"c", 1, 6, b"c[4]Ls"),
        klv(b"NAMD", b"?", 10, 1, b"abc\0" + struct.pack(">Ih", 7, -2)),
    )
    assert b.codec.fields == "cLs"
    assert decode(b) == [("abc", 7, -2)]
