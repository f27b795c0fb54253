"""A Source (parsers/source.py) over bytes that records what a parser asks of it."""

from __future__ import annotations


class RecordingSource:
    """Serves ``data``; records each pread, each batch of ranges announced ahead
    (``prefetch``), and the reads that no earlier announcement covered."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.preads: list[tuple[int, int]] = []
        self.batches: list[list[tuple[int, int]]] = []
        self.cold_reads: list[tuple[int, int]] = []  # (offset, size), not announced before

    @property
    def size(self) -> int:
        return len(self.data)

    def pread(self, offset: int, size: int) -> bytes:
        self.preads.append((offset, size))
        announced = (r for batch in self.batches for r in batch)
        if not any(o <= offset and offset + size <= o + n for o, n in announced):
            self.cold_reads.append((offset, size))
        return self.data[offset : offset + size]

    def prefetch(self, ranges: list[tuple[int, int]]) -> None:
        self.batches.append(list(ranges))
