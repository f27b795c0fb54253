"""ChunkTable (parsers/chunk_table.py): the same chunks as a tuple, held as columns;
and the GoPro walker's chunk table equals the per-chunk timing rule."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetryfs.parsers.chunk_table import ChunkTable, joined_tables
from telemetryfs.parsers.formats.gopro import parse as gopro
from telemetryfs.parsers.formats.gopro import raw
from telemetryfs.parsers.model import Chunk, Extent
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


@given(st.lists(chunks, max_size=30), st.integers(-35, 35), st.integers(-35, 35))
def test_a_table_gives_back_its_chunks(items: list[Chunk], a: int, b: int) -> None:
    table = ChunkTable.from_chunks(items)
    assert table is not None
    assert len(table) == len(items)
    assert _same(table, items)
    assert _same(table[a:b], items[a:b])
    assert _same(pickle.loads(pickle.dumps(table[a:b])), items[a:b])
    assert table == tuple(items)
    for i in (a, b):
        if -len(items) <= i < len(items):
            assert table[i] == items[i]
        else:
            with pytest.raises(IndexError):
                table[i]


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
