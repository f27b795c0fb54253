"""Byte builders for test inputs (mutagen's ``Atom.render`` idea).

Small, exact and readable: each returns the bytes of one structure so a test
can say precisely which edge case it builds.
"""

from __future__ import annotations

import struct


def box(kind: bytes, payload: bytes = b"") -> bytes:
    """One ISO-BMFF box with a 32-bit size."""
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def box64(kind: bytes, payload: bytes = b"") -> bytes:
    """One box with size field 1 and a 64-bit size."""
    return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload


def full_box(kind: bytes, version: int, flags: int, payload: bytes = b"") -> bytes:
    """A full box: version byte and 24-bit flags before the payload."""
    return box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def pad4(data: bytes) -> bytes:
    """Pad to a multiple of four bytes, as GPMF requires."""
    return data + b"\0" * (-len(data) % 4)


def klv(fourcc: bytes, type_char: bytes, struct_size: int, repeat: int, payload: bytes) -> bytes:
    """One GPMF KLV: key, type, struct size, repeat (big-endian u16), padded payload."""
    assert len(fourcc) == 4
    assert len(type_char) == 1
    return fourcc + type_char + struct.pack(">BH", struct_size, repeat) + pad4(payload)


def klv_nest(fourcc: bytes, *children: bytes) -> bytes:
    """A nested GPMF KLV (type 0) holding the given KLVs."""
    body = b"".join(children)
    return fourcc + b"\0" + struct.pack(">BH", 1, len(body)) + body


def riff_chunk(chunk_id: bytes, data: bytes) -> bytes:
    """One RIFF chunk with little-endian size and even padding."""
    assert len(chunk_id) == 4
    return chunk_id + struct.pack("<I", len(data)) + data + b"\0" * (len(data) & 1)


def riff_list(list_type: bytes, form: bytes, *chunks: bytes) -> bytes:
    """A RIFF or LIST chunk of the given form type holding chunks."""
    return riff_chunk(list_type, form + b"".join(chunks))
