"""ISO base media (MP4/MOV) box walker: box headers and small payloads, never mdat.

Modelled on mutagen's ``_atom.py``: 32-bit sizes, 64-bit sizes (size field 1),
"to the end of the enclosing box" (size 0); every size is validated against
the parent and the file, so a lying size raises instead of allocating.
mdat is never read: walking past it is one seek.

References: ISO/IEC 14496-12 §4.2 and §8 (box structure), Apple QuickTime
File Format (``meta`` without the full-box header).

The movie (containers/mp4/__init__.py) and the sample tables (tables.py) are read with it.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from telemetryfs.parsers.binio import BOX_HEADER, U64BE, read_at, read_upto
from telemetryfs.parsers.errors import MalformedError, TruncatedError

MOOV = b"moov"
MDAT = b"mdat"
TRAK = b"trak"
UDTA = b"udta"

# Boxes whose payload is a plain list of child boxes.
CONTAINERS = frozenset(
    {MOOV, TRAK, b"mdia", b"minf", b"stbl", UDTA, b"edts", b"dinf", b"mvex", b"moof", b"traf"}
)


@dataclass(frozen=True, slots=True)
class Box:
    """One box: ``offset`` of its header, ``data_offset``/``end`` of its payload."""

    kind: bytes
    offset: int
    header_size: int
    end: int

    @property
    def data_offset(self) -> int:
        return self.offset + self.header_size

    @property
    def data_size(self) -> int:
        return self.end - self.data_offset

    @property
    def name(self) -> str:
        return self.kind.decode("latin-1")


def iter_boxes(f: BinaryIO, start: int, end: int, *, path: str = "") -> Iterator[Box]:
    """Yield the boxes between ``start`` and ``end``, in file order.

    A box whose size runs past ``end`` raises MalformedError, except at the
    top level of a file cut short, where it raises TruncatedError so callers
    can keep what came before.

    Raises:
        TruncatedError: a header is cut off by the end of the data.
        MalformedError: a size is impossible.
    """
    pos = start
    while pos < end:
        if end - pos < 8:
            # Trailing padding shorter than a header: some muxers write zeros.
            if read_upto(f, pos, end - pos).strip(b"\0"):
                raise TruncatedError("partial box header", offset=pos, path=path)
            return
        size, kind = BOX_HEADER.unpack(read_at(f, pos, 8))
        header = 8
        if size == 1:
            if end - pos < 16:
                raise TruncatedError("partial 64-bit box header", offset=pos, path=path)
            (size,) = U64BE.unpack(read_at(f, pos + 8, 8))
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            raise MalformedError(f"box {kind!r} has size {size}", offset=pos, path=path)
        if pos + size > end:
            raise TruncatedError(
                f"box {kind.decode('latin-1')!r} of {size} bytes runs past its parent",
                offset=pos,
                path=path,
            )
        yield Box(kind, pos, header, pos + size)
        pos += size


def iter_children(f: BinaryIO, box: Box, *, path: str = "") -> Iterator[Box]:
    """The child boxes of a container box (``meta`` full boxes handled)."""
    start = box.data_offset
    if box.kind == b"meta" and box.data_size >= 4:
        # ISO meta is a full box (4 bytes version/flags); QuickTime meta is not.
        head = read_at(f, start, min(8, box.data_size))
        if len(head) < 8 or head[4:8] not in (b"hdlr", b"keys", b"ilst"):
            start += 4
    yield from iter_boxes(f, start, box.end, path=f"{path}/{box.name}" if path else box.name)


def find_box(f: BinaryIO, parent: Box | tuple[int, int], kind_path: bytes) -> Box | None:
    """Find the first box along ``kind_path`` (``b"moov/udta/GPMF"``) under ``parent``.

    ``parent`` is a Box (search its children) or a ``(start, end)`` range.
    Returns None when any step is missing.

    Raises:
        TruncatedError, MalformedError: the structure on the way is damaged.
    """
    current: Box | tuple[int, int] = parent
    for kind in kind_path.split(b"/"):
        if isinstance(current, Box):
            children = iter_children(f, current)
        else:
            children = iter_boxes(f, current[0], current[1])
        found = next((b for b in children if b.kind == kind), None)
        if found is None:
            return None
        current = found
    return current if isinstance(current, Box) else None


def read_box_data(f: BinaryIO, box: Box, limit: int = 64 * 1024 * 1024) -> bytes:
    """The whole payload of a small box (moov children, never mdat).

    Raises:
        MalformedError: the box is bigger than ``limit``.
        TruncatedError: the file ends inside the box.
    """
    if box.data_size > limit:
        raise MalformedError(
            f"box {box.name!r} too large ({box.data_size} bytes)", offset=box.offset
        )
    return read_at(f, box.data_offset, box.data_size)


def _unpack(layout: str, data: bytes, offset: int, box: Box) -> tuple[int, ...]:
    try:
        return struct.unpack_from(layout, data, offset)
    except struct.error as exc:
        raise MalformedError(f"{box.name} too short", offset=box.offset) from exc
