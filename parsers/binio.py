"""Bounded binary reading: every read is checked against what the file holds.

Low-level errors (short reads, struct errors, OS errors on a damaged card)
become ParseError subclasses here, at the lowest level, so that nothing else
escapes a parser.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

from .errors import TruncatedError

U8 = struct.Struct(">B")
U16BE = struct.Struct(">H")
U32BE = struct.Struct(">I")
U64BE = struct.Struct(">Q")
U32LE = struct.Struct("<I")
BOX_HEADER = struct.Struct(">I4s")

# Never hold more than this from a single read: telemetry blocks are small,
# a bigger request means a lying size field.
MAX_READ = 256 * 1024 * 1024


def file_size(f: BinaryIO) -> int:
    """Size of an open file, without moving its position for long."""
    try:
        return os.fstat(f.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        pos = f.tell()
        end = f.seek(0, os.SEEK_END)
        f.seek(pos)
        return end


def read_at(f: BinaryIO, offset: int, size: int) -> bytes:
    """Read exactly ``size`` bytes at ``offset``.

    Raises:
        TruncatedError: the file ends first, or the request is absurd.
    """
    if size < 0 or offset < 0 or size > MAX_READ:
        raise TruncatedError(f"refusing to read {size} bytes", offset=offset)
    try:
        f.seek(offset)
        data = f.read(size)
    except (OSError, ValueError, OverflowError) as exc:
        raise TruncatedError(f"read failed: {exc}", offset=offset) from exc
    if len(data) != size:
        raise TruncatedError(f"wanted {size} bytes, file has {len(data)}", offset=offset)
    return data


def read_upto(f: BinaryIO, offset: int, size: int) -> bytes:
    """Read at most ``size`` bytes at ``offset`` (fewer at end of file)."""
    if size < 0 or offset < 0 or size > MAX_READ:
        raise TruncatedError(f"refusing to read {size} bytes", offset=offset)
    try:
        f.seek(offset)
        return f.read(size)
    except (OSError, ValueError, OverflowError) as exc:
        raise TruncatedError(f"read failed: {exc}", offset=offset) from exc
