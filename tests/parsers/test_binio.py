"""binio: bounded reads."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from telemetryfs.parsers import binio, extract, source
from telemetryfs.parsers.errors import TruncatedError
from tests.recording_source import RecordingSource


def test_read_at_is_exact_or_an_error() -> None:
    f = io.BytesIO(b"0123456789")
    assert binio.read_at(f, 2, 3) == b"234"
    with pytest.raises(TruncatedError):
        binio.read_at(f, 8, 5)
    with pytest.raises(TruncatedError):
        binio.read_at(f, 0, binio.MAX_READ + 1)  # a lying size is refused, not allocated
    assert binio.read_upto(f, 8, 5) == b"89"


def test_a_source_is_read_by_pread_and_its_size() -> None:
    src = RecordingSource(b"0123456789")
    f: Any = src
    assert binio.file_size(f) == 10
    assert binio.read_at(f, 2, 3) == b"234"
    assert binio.read_upto(f, 8, 5) == b"89"
    with pytest.raises(TruncatedError):
        binio.read_at(f, 8, 5)
    assert src.preads == [(2, 3), (8, 5), (8, 5)]


def test_readahead_gives_a_source_whole_batches_each_range_once() -> None:
    window = binio.Readahead.WINDOW
    ranges = [(i * 1_000_000, 1_000_000) for i in range(100)] + [(10**9, 2 * window)]
    src = RecordingSource(b"")
    f: Any = src
    readahead = binio.Readahead(f, ranges)
    for i in range(len(ranges)):
        readahead.before(i)
        assert any(ranges[i] in batch for batch in src.batches), i  # announced before the read
    announced = [r for batch in src.batches for r in batch]
    assert announced == ranges
    # Batches of up to a window, refilled at half: a few rounds, not one per range.
    assert len(src.batches) <= 2 * (100 * 1_000_000 // window + 1) + 1


def test_local_source_counts_what_it_reads(tmp_path: Path) -> None:
    path = tmp_path / "clip.bin"
    path.write_bytes(bytes(range(256)) * 64)
    before = source.TOTALS.snapshot()
    with extract.open_file(str(path)) as f:
        assert isinstance(f, source.Source)
        assert binio.file_size(f) == 256 * 64
        f.prefetch([(0, 4096), (8192, 4096)])  # POSIX_FADV_WILLNEED: a hint
        assert binio.read_at(f, 256, 4) == bytes([0, 1, 2, 3])
    after = source.TOTALS.snapshot()
    assert after["source_bytes_read"] - before["source_bytes_read"] == 4
    assert after["source_requests"] - before["source_requests"] == 1
