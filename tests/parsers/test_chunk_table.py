"""ChunkTable and PieceTable (parsers/chunk_table.py, parsers/piece_table.py): the same
chunks and pieces as a tuple, held as columns; and GoPro's tables follow their rules."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetryfs.parsers.chunk_table import ChunkTable, joined_tables
from telemetryfs.parsers.formats.gopro import parse as gopro
from telemetryfs.parsers.formats.gopro import raw
from telemetryfs.parsers.model import Chunk, Extent, Piece, RawFile
from telemetryfs.parsers.piece_table import PieceTable, joined_pieces
from tests.footage.real_payloads import make_real_gopro

times = st.floats(allow_nan=False, allow_infinity=False, width=64)
chunks = st.builds(
    lambda offset, size, part, count, timed: Chunk(
        Extent(offset, size, part), count, *(timed if timed else (None, None))
    ),
    st.integers(0, 2**40),
    st.integers(0, 2**20),
    st.integers(0, 9),
    st.integers(0, 400),
    st.none() | st.tuples(times, times),
)


def _same(table: object, expected: list[Chunk]) -> bool:
    got = list(table)  # type: ignore[call-overload]
    return got == expected and all(
        type(g.start) is type(e.start) and type(g.extent.part) is type(e.extent.part)
        for g, e in zip(got, expected, strict=True)
    )


def _indexes_like(table: Sequence[Any], items: list[Any], indices: tuple[int, ...]) -> None:
    """``table[i]`` is ``items[i]`` where that is an item, an IndexError elsewhere."""
    for i in indices:
        if -len(items) <= i < len(items):
            assert table[i] == items[i]
        else:
            with pytest.raises(IndexError):
                table[i]


@given(st.lists(chunks, max_size=30), st.integers(-35, 35), st.integers(-35, 35))
def test_a_table_gives_back_its_chunks(items: list[Chunk], a: int, b: int) -> None:
    table = ChunkTable.from_chunks(items)
    assert table is not None
    assert len(table) == len(items)
    assert _same(table, items)
    assert _same(table[a:b], items[a:b])
    assert _same(pickle.loads(pickle.dumps(table[a:b])), items[a:b])
    assert table == tuple(items)
    _indexes_like(table, items, (a, b))


@given(st.lists(st.lists(chunks, max_size=8), max_size=4), st.floats(-1e4, 1e4))
def test_moved_and_joined_tables(parts: list[list[Chunk]], offset: float) -> None:
    tables = [ChunkTable.from_chunks(p) for p in parts]
    moved = [t.moved(k, offset) for k, t in enumerate(tables) if t is not None]
    expected = [
        Chunk(
            Extent(c.extent.offset, c.extent.size, k),
            c.count,
            None if c.start is None else c.start + offset,
            c.duration,
        )
        for k, p in enumerate(parts)
        for c in p
    ]
    if moved:
        assert _same(joined_tables(moved), expected)


def test_chunks_that_would_not_come_back_the_same_are_refused() -> None:
    e = Extent(0, 8)
    assert ChunkTable.from_chunks([Chunk(e, 1, 0.0, None)]) is None  # only one time
    assert ChunkTable.from_chunks([Chunk(e, 1, 0, 1.0)]) is None  # an int start
    assert ChunkTable.from_chunks([Chunk(e, 1, 0.0, 1.0)]) is not None


def _per_chunk(specs: Any, times: list[tuple[float | None, float | None]]) -> list[Chunk]:
    """The timing rule one chunk at a time (the code the table replaced)."""
    out = []
    for i in range(len(specs)):
        index, step, steps = specs.payload[i], specs.step[i], specs.steps[i]
        extent = Extent(specs.offset[i], specs.size[i])
        rows, timo = specs.rows[i], specs.timo[i]
        start, dur = times[index]
        if start is None or dur is None:
            out.append(Chunk(extent, rows, None, None))
        elif steps > 1:
            out.append(Chunk(extent, rows, start + step * dur / steps - timo, 0.0))
        else:
            out.append(Chunk(extent, rows, start - timo, dur))
    return out


@pytest.mark.parametrize("source", ["hero7", "hero11"])
def test_gopro_chunk_tables_follow_the_per_chunk_rule(
    source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "GX010001.MP4"
    make_real_gopro(path, duration_s=120, source=source, video_mbps=1.0)
    checked: list[int] = []
    build = raw._chunk_table

    def checking(specs: Any, times: Any) -> ChunkTable:
        table = build(specs, times)
        assert _same(table, _per_chunk(specs, times))
        checked.append(len(table))
        return table

    monkeypatch.setattr(raw, "_chunk_table", checking)
    with path.open("rb") as f:
        t = gopro.extract_mp4(f, streams=True)
    assert len(checked) == len(t.streams) >= 10
    assert sum(checked) > 1000


pieces = st.lists(
    st.sampled_from([b"DEVC\x00\x04\x00\x10", b"DVID", b""])
    | st.builds(Extent, st.integers(0, 2**40), st.integers(0, 2**20), st.integers(0, 5)),
    max_size=30,
)


@given(pieces, st.integers(-35, 35), st.integers(-35, 35))
def test_a_piece_table_gives_back_its_pieces(items: list[Piece], a: int, b: int) -> None:
    table = PieceTable.from_pieces(items)
    assert list(table) == items
    assert list(table[a:b]) == items[a:b]
    assert list(pickle.loads(pickle.dumps(table[a:b]))) == items[a:b]
    assert table.sizes.tolist() == [len(p) if isinstance(p, bytes) else p.size for p in items]
    assert RawFile("x", table).size == RawFile("x", tuple(items)).size
    _indexes_like(table, items, (a, b))


@given(st.lists(pieces, max_size=4))
def test_joined_piece_tables_move_their_extents_to_their_part(parts: list[list[Piece]]) -> None:
    tables = [PieceTable.from_pieces(p).in_part(k) for k, p in enumerate(parts)]
    expected = [
        p if isinstance(p, bytes) else Extent(p.offset, p.size, k)
        for k, part in enumerate(parts)
        for p in part
    ]
    if tables:
        assert list(joined_pieces(tables)) == expected


def test_gopro_stream_files_are_a_header_then_the_strm_each(tmp_path: Path) -> None:
    path = tmp_path / "GX010001.MP4"
    make_real_gopro(path, duration_s=30, source="hero7", video_mbps=1.0)
    with path.open("rb") as f:
        t = gopro.extract_mp4(f, streams=True)
    data = path.read_bytes()
    streams = [r for r in t.raw_files if r.name != "all.gpmf"]
    assert streams
    assert all(isinstance(r.pieces, PieceTable) for r in streams)
    for stream_file in streams:
        items = list(stream_file.pieces)
        headers, extents = items[0::2], items[1::2]
        assert all(isinstance(h, bytes) and h.startswith(b"DEVC") for h in headers)
        assert all(
            isinstance(e, Extent) and data[e.offset : e.offset + 4] == b"STRM" for e in extents
        )
        # Each header announces exactly what follows it: its DVID/DVNM and the STRM.
        for h, e in zip(headers, extents, strict=True):
            struct_size, repeat = h[5], int.from_bytes(h[6:8], "big")
            assert struct_size * repeat == len(h) - 8 + e.size
