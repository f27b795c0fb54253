"""Fuzz contract for every GoPro entry point: only ParseError escapes, time and memory stay bounded.

Two kinds of input: arbitrary bytes, and valid inputs built by tests/builders.py
then mutated (bytes flipped, overwritten with extreme sizes, cut, spliced) so
the fuzzer gets past the first header (STYLE §4.11, mutagen's harness).
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import tracemalloc
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telemetryfs.parsers.containers import jpeg, mp4
from telemetryfs.parsers.encodings import gpmf
from telemetryfs.parsers.errors import ParseError
from telemetryfs.parsers.formats.gopro import parse as gopro
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

FUZZ = settings(
    max_examples=int(os.environ.get("TELEMETRYFS_FUZZ_EXAMPLES", "300")),
    deadline=2000,  # ms per example: a hang or a quadratic blow-up fails
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _payload(second: int) -> bytes:
    strm_accl = gpmf_strm(b"ACCL", b"s", 3, list(range(12)), klv(b"SCAL", b"s", 2, 1, b"\x01\xa2"))
    faces = klv_nest(
        b"STRM",
        klv(b"TYPE", b"c", 1, 5, b"Lf[2]"),
        klv(b"FACE", b"?", 12, 1, bytes(12)),
        klv(b"FACE", b"?", 12, 0, b""),
    )
    fixes = [(33.1 + i * 1e-5, -117.3, 10.0, 1.0, 1.0) for i in range(6)]
    gps9 = [(33.1, -117.3, 10.0, 1.0, 1.0, 8298, 48577.5 + second, 1.5, 3)] * 3
    return gpmf_devc(
        1,
        b"HERO11 Black",
        strm_accl,
        faces,
        gpmf_gps5(fixes, gpsu=b"220920132938.%03d" % second),
        gpmf_gps9(gps9),
    ) + gpmf_devc(0x100E511, b"Drone", strm_accl)


PAYLOADS = [_payload(i) for i in range(3)]
RAW = b"".join(PAYLOADS)
MP4 = gpmd_mp4(PAYLOADS, udta=box(b"GPMF", PAYLOADS[0]), elst=(100, -1))
# moov first (faststart): damage in mdat then cannot hide the moov.
MP4_FRONT = gpmd_mp4(PAYLOADS, fdsc=True, co64=True, moov_first=True)
CUT_MP4 = box(b"ftyp", b"mp41") + box(b"mdat", box(b"free", bytes(300)).join(PAYLOADS))[:-50]
JPEG = (
    b"\xff\xd8"
    + b"\xff\xe1"
    + struct.pack(">H", 2 + 6 + 8)
    + b"Exif\0\0MM\0*\0\0\0\x08"
    + b"\xff\xe6"
    + struct.pack(">H", 2 + 6 + len(PAYLOADS[0]))
    + b"GoPro\0"
    + PAYLOADS[0]
    + b"\xff\xda\0\x02\xff\xd9"
)


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with a few random edits that keep most of its structure."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        # Uniform positions: hypothesis' own integers favour 0, i.e. always the first header.
        at = draw(st.randoms(use_true_random=False)).randrange(len(data))
        # Mostly edits that keep every offset valid, so the damage reaches deep structures.
        kind = draw(
            st.sampled_from(["flip"] * 3 + ["size"] * 3 + ["zero"] * 2 + ["cut", "insert", "dup"])
        )
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "size":  # an extreme length, count or offset
            value = draw(st.sampled_from([0, 1, 7, 8, 0xFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]))
            data[at : at + 4] = struct.pack(">I", value)
        elif kind == "zero":
            data[at : at + draw(st.integers(1, 16))] = b"\0" * 4
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            end = min(len(data), at + draw(st.integers(1, 64)))
            data[at:at] = data[at:end]
    return bytes(data)


def contract(entry: Callable[[io.BytesIO], Any], data: bytes) -> None:
    """Only ParseError may escape; whatever is returned is fully materialised."""
    try:
        result = entry(io.BytesIO(data))
    except ParseError:
        return
    if isinstance(result, gopro.Telemetry):
        _touch(result, data)


def _touch(t: gopro.Telemetry, data: bytes) -> None:
    """Decode every chunk of every stream: decode_chunk must hold the contract too."""
    for s in t.streams:
        for c in s.chunks:
            with contextlib.suppress(ParseError):
                gpmf.decode_chunk(s.codec, data[c.extent.offset : c.extent.offset + c.extent.size])
    for f in t.raw_files:
        assert f.size >= 0


def mp4_entry(f: io.BytesIO) -> Any:
    return gopro.extract_mp4(f)


def mp4_fast_entry(f: io.BytesIO) -> Any:
    return gopro.extract_mp4(f, streams=False)


def gpmf_entry(f: io.BytesIO) -> Any:
    return gopro.extract_gpmf(f)


def jpeg_entry(f: io.BytesIO) -> Any:
    return gopro.extract_jpeg(f)


def recover_entry(f: io.BytesIO) -> Any:
    return gopro.recover_mp4(f)


def boxes_entry(f: io.BytesIO) -> Any:
    end = len(f.getvalue())
    moov = mp4.find_moov(f)
    if moov is not None:
        movie = mp4.read_movie(f, moov)
        for track in movie.tracks:
            mp4.read_samples(f, track)
    return list(mp4.iter_boxes(f, 0, end))


def klv_entry(f: io.BytesIO) -> Any:
    data = f.getvalue()
    sticky: dict[bytes, gpmf.Props] = {}
    for devc in gpmf.iter_klv(data):
        if devc.nested:
            for strm in gpmf.children(data, devc):
                if strm.nested and strm.key == gpmf.STRM:
                    b = gpmf.parse_strm(data, strm, sticky)
                    if b is not None:
                        gpmf.stream_columns(b.key, b.codec, b.props)
    return gpmf.is_gpmf(data)


def exif_entry(f: io.BytesIO) -> Any:
    jpeg.find_gpmf_segments(f)
    return jpeg.read_exif_gps(f)


# --- arbitrary bytes -------------------------------------------------------------------


@FUZZ
@given(st.binary(max_size=512))
def test_extract_mp4_arbitrary_bytes_raise_only_parse_error(data: bytes) -> None:
    contract(mp4_entry, data)


@FUZZ
@given(st.binary(max_size=512))
def test_extract_gpmf_arbitrary_bytes_raise_only_parse_error(data: bytes) -> None:
    contract(gpmf_entry, b"DEVC\0\x01" + data)
    contract(gpmf_entry, data)


@FUZZ
@given(st.binary(max_size=512))
def test_extract_jpeg_arbitrary_bytes_raise_only_parse_error(data: bytes) -> None:
    contract(jpeg_entry, b"\xff\xd8" + data)


@FUZZ
@given(st.binary(max_size=512))
def test_recover_mp4_arbitrary_bytes_raise_only_parse_error(data: bytes) -> None:
    contract(recover_entry, data)


@FUZZ
@given(st.binary(max_size=512))
def test_box_walker_arbitrary_bytes_raise_only_parse_error(data: bytes) -> None:
    contract(boxes_entry, data)


@FUZZ
@given(st.binary(max_size=512))
def test_is_gpmf_never_raises(data: bytes) -> None:
    assert gpmf.is_gpmf(data) in (True, False)
    assert gpmf.is_gpmf(b"DEVC\0\x01" + data) in (True, False)


@FUZZ
@given(
    st.sampled_from("bBcdfFGjJlLqQsSU?x"),
    st.integers(0, 40),
    st.binary(max_size=40),
    st.binary(max_size=256),
)
def test_decode_chunk_raises_only_parse_error(
    type_char: str, size: int, spec: bytes, data: bytes
) -> None:
    props: dict[bytes, tuple[gpmf.Klv, bytes]] = {}
    if spec:
        buf = klv(b"TYPE", b"c", 1, len(spec), spec)
        props[gpmf.TYPE] = (gpmf.Klv(b"TYPE", ord("c"), 1, len(spec), 0), buf)
    codec = gpmf.make_codec(gpmf.Klv(b"DATA", ord(type_char), size, 1, 0), props)
    with contextlib.suppress(ParseError):
        gpmf.decode_chunk(codec, data)


# --- mutated valid inputs --------------------------------------------------------------


@FUZZ
@given(mutated(MP4))
def test_extract_mp4_mutated_raises_only_parse_error(data: bytes) -> None:
    contract(mp4_entry, data)


@FUZZ
@given(mutated(MP4_FRONT))
def test_extract_mp4_faststart_mutated_raises_only_parse_error(data: bytes) -> None:
    contract(mp4_entry, data)


@FUZZ
@given(mutated(MP4))
def test_extract_mp4_track_only_mutated_raises_only_parse_error(data: bytes) -> None:
    contract(mp4_fast_entry, data)


@FUZZ
@given(mutated(RAW))
def test_extract_gpmf_mutated_raises_only_parse_error(data: bytes) -> None:
    contract(gpmf_entry, data)


@FUZZ
@given(mutated(RAW))
def test_klv_walk_mutated_raises_only_parse_error(data: bytes) -> None:
    contract(klv_entry, data)


@FUZZ
@given(mutated(JPEG))
def test_extract_jpeg_mutated_raises_only_parse_error(data: bytes) -> None:
    contract(jpeg_entry, data)
    contract(exif_entry, data)


@FUZZ
@given(mutated(CUT_MP4))
def test_recover_mp4_mutated_raises_only_parse_error(data: bytes) -> None:
    contract(recover_entry, data)


@FUZZ
@given(mutated(MP4))
def test_box_walker_mutated_raises_only_parse_error(data: bytes) -> None:
    contract(boxes_entry, data)


# --- bounded memory ------------------------------------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(MP4))
def test_lying_sizes_do_not_allocate(data: bytes) -> None:
    """A size field claiming gigabytes must not make the parser allocate them."""
    tracemalloc.start()
    try:
        contract(mp4_entry, data)
        contract(gpmf_entry, data[data.find(b"DEVC") :] if b"DEVC" in data else data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 32 * 1024 * 1024


def test_seeds_are_valid() -> None:
    """The mutation seeds parse: otherwise the fuzzing above tests nothing."""
    assert len(gopro.extract_mp4(io.BytesIO(MP4)).gps) == 9
    assert len(gopro.extract_mp4(io.BytesIO(MP4_FRONT)).gps) == 9
    assert len(gopro.extract_gpmf(io.BytesIO(RAW)).gps) == 9
    assert gopro.extract_jpeg(io.BytesIO(JPEG)).camera == "HERO11 Black"
    assert len(gopro.recover_mp4(io.BytesIO(CUT_MP4)).gps) == 9
