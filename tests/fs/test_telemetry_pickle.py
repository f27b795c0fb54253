"""Telemetry as small pickles (fs/telemetry_pickle.py): what the parse process and disk cache pass."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import cast

import pytest

from telemetryfs.fs import telemetry_pickle, view
from telemetryfs.parsers.chunk_table import ChunkTable
from telemetryfs.parsers.model import Telemetry
from telemetryfs.parsers.piece_table import PieceTable
from telemetryfs.parsers.track import GpsTrack
from tests.footage import make_novatek
from tests.footage.real_payloads import make_real_gopro


@pytest.fixture(scope="module")
def hero11_telemetry(tmp_path_factory: pytest.TempPathFactory) -> Telemetry:
    """Eight minutes of a real HERO11's payloads: 21 streams, GPS5 and GPS9 (4,800 samples:
    a GpsTrack), raw files."""
    path = tmp_path_factory.mktemp("pickle") / "GX010001.MP4"
    make_real_gopro(path, duration_s=480, source="hero11", video_mbps=1.0)
    return view.parse(view.source_key(path), full=True)


def test_parts_give_back_equal_telemetry(hero11_telemetry: Telemetry) -> None:
    t = hero11_telemetry
    parts = telemetry_pickle.to_parts(t)
    back = telemetry_pickle.from_parts(parts)
    assert back == t
    assert len(back.gps) == len(t.gps) > telemetry_pickle.SLICE  # long enough to be cut
    assert [len(s.chunks) for s in back.streams] == [len(s.chunks) for s in t.streams]
    assert type(back.gps[0]) is type(t.gps[0])  # the frozen class, not its fast twin


def test_no_part_holds_more_than_a_slice(hero11_telemetry: Telemetry) -> None:
    """What bounds how long one pickle.loads holds the GIL: every long tuple is cut."""
    parts = telemetry_pickle.to_parts(hero11_telemetry)
    slices = [pickle.loads(part) for part in parts[1:]]
    assert slices
    assert all(0 < len(s) <= telemetry_pickle.SLICE for s in slices)
    items = len(hero11_telemetry.gps) + sum(len(s.chunks) for s in hero11_telemetry.streams)
    items += sum(len(r.pieces) for r in hero11_telemetry.raw_files)
    # The skeleton keeps only what is short, and the columns of the GPS track, the
    # streams' chunks and their files' pieces (arrays, loaded as buffers, no object
    # built an item).
    t = hero11_telemetry
    assert isinstance(t.gps, GpsTrack)
    assert all(isinstance(s.chunks, ChunkTable) for s in t.streams)
    tables = [r.pieces for r in t.raw_files if isinstance(r.pieces, PieceTable)]
    assert len(tables) == len(t.raw_files) - 1  # all but all.gpmf
    columns = t.gps.nbytes + sum(cast(ChunkTable, s.chunks).nbytes for s in t.streams)
    columns += sum(table.nbytes for table in tables)
    whole = pickle.dumps(t, protocol=pickle.HIGHEST_PROTOCOL)
    assert len(parts[0]) - columns < len(whole) / 50, (len(parts[0]), len(whole), items)


def test_short_telemetry_is_one_part(tmp_path: Path) -> None:
    make_novatek(tmp_path / "n.MP4", duration_s=10.0, video_mbps=1.0)
    t = view.parse(view.source_key(tmp_path / "n.MP4"), full=True)
    parts = telemetry_pickle.to_parts(t)
    assert len(parts) == 1
    assert telemetry_pickle.from_parts(parts) == t


@pytest.mark.parametrize(
    "parts",
    [[], [b"not a pickle"], [pickle.dumps(["a list, not telemetry"])]],
    ids=["empty", "garbage", "wrong-object"],
)
def test_damaged_parts_raise(parts: list[bytes]) -> None:
    with pytest.raises(Exception) as caught:  # noqa: PT011 - pickle raises what it likes
        telemetry_pickle.from_parts(parts)
    assert not isinstance(caught.value, (SystemExit, KeyboardInterrupt))


def test_a_missing_slice_is_an_error_not_short_telemetry(hero11_telemetry: Telemetry) -> None:
    parts = telemetry_pickle.to_parts(hero11_telemetry)
    with pytest.raises(ValueError, match="items"):
        telemetry_pickle.from_parts(parts[:-1])
