"""What one dashcam GPS block held, whichever layout decoded it."""

from __future__ import annotations

from dataclasses import dataclass

from telemetryfs.parsers.records import Record


@dataclass(frozen=True, slots=True)
class Decoded:
    """What one block held: its layout and records (empty when the block is cut short)."""

    layout: str
    records: tuple[Record, ...]
    note: str | None = None
    ring: bool = False  # a ring buffer: the same records repeat from block to block
    vendor: str | None = None  # a model or vendor string the block carries
