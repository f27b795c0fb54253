"""RIFF chunk walker: sizes, even padding, lists, files cut short."""

from __future__ import annotations

import io

import pytest

from telemetryfs.parsers.containers import riff
from telemetryfs.parsers.errors import TruncatedError
from tests.builders import riff_chunk, riff_list
from tests.paths import SAMPLES


def chunks(data: bytes, start: int = 0) -> list[riff.Chunk]:
    return list(riff.iter_chunks(io.BytesIO(data), start, len(data)))


def test_odd_sized_chunk_is_followed_after_its_pad_byte() -> None:
    data = riff_chunk(b"00dc", b"abc") + riff_chunk(b"01wb", b"xy")
    first, second = chunks(data)
    assert (first.kind, first.size, first.end) == (b"00dc", 3, 12)
    assert (second.kind, second.offset) == (b"01wb", 12)


def test_list_has_a_form_and_children() -> None:
    data = riff_list(b"RIFF", b"AVI ", riff_list(b"LIST", b"movi", riff_chunk(b"00dc", b"1234")))
    (top,) = chunks(data)
    assert (top.kind, top.form) == (b"RIFF", b"AVI ")
    (movi,) = chunks(data[: top.end], top.children_offset)
    assert movi.form == b"movi"
    (frame,) = list(
        riff.iter_chunks(io.BytesIO(data), movi.children_offset, movi.data_offset + movi.size)
    )
    assert frame.kind == b"00dc"


def test_chunk_running_past_its_parent_is_truncation() -> None:
    data = riff_chunk(b"00dc", b"x" * 10)
    with pytest.raises(TruncatedError):
        list(riff.iter_chunks(io.BytesIO(data[:-4]), 0, len(data) - 4))


def test_trailing_zeros_are_padding() -> None:
    data = riff_chunk(b"JUNK", b"1234") + b"\0\0\0"
    assert [c.kind for c in chunks(data)] == [b"JUNK"]


@pytest.mark.parametrize(
    ("kind", "ok"),
    [(b"00dc", True), (b"idx1", True), (b"LIST", True), (b"\x1e\0\0\0", False), (b" abc", False)],
)
def test_chunk_ids(kind: bytes, ok: bool) -> None:
    assert riff.is_chunk_id(kind) is ok


def test_is_avi() -> None:
    assert riff.is_avi(b"RIFF\0\0\0\0AVI LIST")
    assert not riff.is_avi(b"RIFF\0\0\0\0WAVEfmt ")


def test_real_avi_walks_to_its_end() -> None:
    path = SAMPLES / "other" / "avi__100_0306.AVI"
    if not path.exists():
        pytest.skip("shared samples not present")
    data = path.read_bytes()
    (top,) = chunks(data)
    assert top.form == b"AVI "
    kinds = [
        c.kind
        for c in riff.iter_chunks(io.BytesIO(data), top.children_offset, top.data_offset + top.size)
    ]
    assert kinds[0] == b"LIST"
    assert b"idx1" in kinds
