"""RIFF (AVI) chunk walker: headers only, payloads skipped by offset arithmetic.

A chunk is a four-character ID, a little-endian u32 size and the data, padded
to an even length (the pad byte is not counted in the size). ``RIFF`` and
``LIST`` chunks start with a four-character form type and hold chunks.
AVI files of more than 1 GB continue in ``RIFF AVIX`` chunks (OpenDML).

References: Microsoft "AVI RIFF File Reference"; hachoir's ``riff.py``.

Quirks: some writers omit the pad byte after an odd-sized chunk, and some
(MAP CAM) put records without a chunk header between chunks; callers that
meet those use :func:`read_header` and :func:`is_chunk_id` to resynchronise
(see :mod:`.mapcam`).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from telemetryfs.parsers.binio import read_at, read_upto
from telemetryfs.parsers.errors import TruncatedError

log = logging.getLogger(__name__)

RIFF = b"RIFF"
LIST = b"LIST"
_HEADER = struct.Struct("<4sI")
_ID_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 _")


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk: ``offset`` of its header, its declared ``size``, and ``form`` for lists."""

    kind: bytes
    offset: int
    size: int
    form: bytes | None = None

    @property
    def data_offset(self) -> int:
        return self.offset + 8

    @property
    def end(self) -> int:
        """Where the next chunk starts (after the pad byte of an odd size)."""
        return self.data_offset + self.size + (self.size & 1)

    @property
    def children_offset(self) -> int:
        return self.data_offset + 4

    @property
    def name(self) -> str:
        return self.kind.decode("latin-1")


def is_avi(head: bytes) -> bool:
    """A cheap sniff: ``RIFF`` + size + ``AVI `` (or ``AVIX``)."""
    return head[:4] == RIFF and head[8:12] in (b"AVI ", b"AVIX")


def is_chunk_id(kind: bytes) -> bool:
    """Four letters, digits or spaces, as every RIFF chunk ID is (``00dc``, ``idx1``)."""
    return len(kind) == 4 and all(c in _ID_CHARS for c in kind) and kind[0] != 0x20


def read_header(data: bytes, pos: int) -> Chunk | None:
    """The chunk header at ``pos`` of a buffer (form read for RIFF/LIST), or None past its end."""
    if pos < 0 or pos + 8 > len(data):
        return None
    kind, size = _HEADER.unpack_from(data, pos)
    form = data[pos + 8 : pos + 12] if kind in (RIFF, LIST) and pos + 12 <= len(data) else None
    return Chunk(kind, pos, size, form)


def iter_chunks(f: BinaryIO, start: int, end: int) -> Iterator[Chunk]:
    """The chunks between ``start`` and ``end``, in file order.

    Raises:
        TruncatedError: a header is cut off, or a chunk runs past ``end``
            (a file cut short: the chunks before it were yielded).
    """
    pos = start
    while pos + 8 <= end:
        kind, size = _HEADER.unpack(read_at(f, pos, 8))
        if pos + 8 + size > end:
            raise TruncatedError(f"chunk {kind!r} of {size} bytes runs past its parent", offset=pos)
        form = read_at(f, pos + 8, 4) if kind in (RIFF, LIST) and size >= 4 else None
        chunk = Chunk(kind, pos, size, form)
        yield chunk
        pos = chunk.end
    if pos < end and read_upto(f, pos, end - pos).strip(b"\0"):
        raise TruncatedError("partial chunk header", offset=pos)
