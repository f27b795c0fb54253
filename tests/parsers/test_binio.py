"""binio: bounded reads, and the opt-in GIL sharing of reading threads."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest

from telemetryfs.parsers import binio
from telemetryfs.parsers.errors import TruncatedError


def test_read_at_is_exact_or_an_error() -> None:
    f = io.BytesIO(b"0123456789")
    assert binio.read_at(f, 2, 3) == b"234"
    with pytest.raises(TruncatedError):
        binio.read_at(f, 8, 5)
    with pytest.raises(TruncatedError):
        binio.read_at(f, 0, binio.MAX_READ + 1)  # a lying size is refused, not allocated
    assert binio.read_upto(f, 8, 5) == b"89"


def _timed_reads(path: Path, n: int) -> float:
    with path.open("rb") as f:
        start = time.monotonic()
        for i in range(n):
            binio.read_at(f, i, 1)
        return time.monotonic() - start


def test_share_gil_pauses_a_reading_thread_now_and_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f"
    path.write_bytes(bytes(100))
    monkeypatch.setattr(binio, "_share", None)
    assert _timed_reads(path, 50) < 0.05  # off (the default): no pause
    monkeypatch.setattr(binio, "_share", (0.0, 0.01))  # pause 10 ms at every read
    took: list[float] = []
    reader = threading.Thread(target=lambda: took.append(_timed_reads(path, 6)))
    reader.start()
    reader.join()
    assert took[0] >= 0.04  # the first read starts the clock, the next five pause


def test_share_gil_sets_the_rhythm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(binio, "_share", None)
    binio.share_gil()
    assert binio._share == (0.005, 0.0002)
    binio.share_gil(0.01, 0.001)
    assert binio._share == (0.01, 0.001)
