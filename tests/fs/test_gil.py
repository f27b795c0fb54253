"""The daemon's GIL-sharing source files (fs/fuse/gil.py)."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import pytest

from telemetryfs.fs.fuse import gil
from telemetryfs.parsers import binio, extract


def _timed_reads(opener: Callable[[str], BinaryIO], path: Path, n: int) -> float:
    with opener(str(path)) as f:
        start = time.monotonic()
        for i in range(n):
            binio.read_at(f, i, 1)
        return time.monotonic() - start


def test_a_gil_sharing_file_pauses_a_reading_thread_now_and_then(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f"
    path.write_bytes(bytes(100))
    assert _timed_reads(extract.open_file, path, 50) < 0.05  # plain files: no pause
    monkeypatch.setattr(gil, "EVERY_S", 0.0)
    monkeypatch.setattr(gil, "PAUSE_S", 0.01)  # pause 10 ms at every read
    took: list[float] = []
    reader = threading.Thread(
        target=lambda: took.append(_timed_reads(gil.open_sharing_gil, path, 6))
    )
    reader.start()
    reader.join()
    assert took[0] >= 0.04  # the first read starts the clock, the next five pause


def test_a_gil_sharing_file_reads_the_same_bytes(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(bytes(range(256)) * 3)
    with gil.open_sharing_gil(str(path)) as f:
        assert binio.read_at(f, 250, 10) == (bytes(range(256)) * 3)[250:260]
        assert binio.file_size(f) == 768
        with pytest.raises(io.UnsupportedOperation):
            f.write(b"x")  # opened read-only


def test_while_requests_are_answered_a_reading_thread_pauses_more_often(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "f"
    path.write_bytes(bytes(100))
    monkeypatch.setattr(gil, "EVERY_S", 60.0)  # idle: no pause within the test
    monkeypatch.setattr(gil, "BUSY_EVERY_S", 0.0)  # busy: at every read
    monkeypatch.setattr(gil, "PAUSE_S", 0.01)
    monkeypatch.setattr(gil, "BUSY_FOR_S", 60.0)
    monkeypatch.setattr(gil, "_busy_until", 0.0)

    def reads_in_a_thread() -> float:
        took: list[float] = []
        reader = threading.Thread(
            target=lambda: took.append(_timed_reads(gil.open_sharing_gil, path, 6))
        )
        reader.start()
        reader.join()
        return took[0]

    assert reads_in_a_thread() < 0.04  # nobody asked: no pause
    gil.note_request()
    assert reads_in_a_thread() >= 0.04  # five pauses of 10 ms
    monkeypatch.setattr(gil, "_busy_until", 0.0)  # as BUSY_FOR_S later
    assert reads_in_a_thread() < 0.04


@pytest.mark.parametrize("in_slices", [True, False])
def test_drop_later_frees_the_value_in_the_dropping_thread(in_slices: bool) -> None:
    freed = threading.Event()
    threads: list[str] = []

    class Tracked:
        def __del__(self) -> None:
            threads.append(threading.current_thread().name)
            freed.set()

    value = [[Tracked()] + [object() for _ in range(2000)]]
    gil.drop_later(value, in_slices=in_slices)
    time.sleep(0.01)  # the dropping thread waits for the last reference
    del value
    assert freed.wait(5)
    assert threads == ["drop"]


def _rss_kb() -> int:
    status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return int(status["VmRSS"].split()[0])


def test_after_a_drop_the_heap_gives_free_pages_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """Numpy blocks freed in a scattered order leave holes glibc keeps; the drop thread's
    malloc_trim returns them (this machine's libc is glibc: the trim must be there)."""
    import numpy as np

    assert gil._malloc_trim is not None
    blocks = [np.ones(3000) for _ in range(10000)]  # ~240 MB of 24 KB blocks
    keep = blocks[::7]  # holes all over the heap, none at its top
    del blocks
    gc_free = _rss_kb()
    trimmed = threading.Event()
    real_trim = gil._malloc_trim

    def trim(pad: int) -> int:
        result = real_trim(pad)
        trimmed.set()
        return result

    # A drop left by an earlier test may be trimming meanwhile and stamp _last_trim
    # after we reset it, so that our drop skips its trim: drop again until one trims.
    monkeypatch.setattr(gil, "_malloc_trim", trim)
    deadline = time.monotonic() + 5
    while not trimmed.is_set() and time.monotonic() < deadline:
        monkeypatch.setattr(gil, "_last_trim", -gil.TRIM_EVERY_S)
        gil.drop_later([object()])
        trimmed.wait(0.2)
    assert trimmed.is_set()
    assert _rss_kb() < gc_free - 50_000  # >50 MB of the ~200 MB of holes went back
    del keep
