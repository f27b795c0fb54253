"""Is a file whole? A container-level check for files cut short (card pulled, copy aborted).

A format parser reads what it needs and may find a complete GPS track in the
first half of a cut file, so a cut can go unnoticed. This walks only the
top-level structure each container announces and compares it with the bytes
present, so ``info.json`` can say what is wrong:

- MP4/MOV: top-level boxes (``ftyp``, ``mdat``, ``moov`` ...) must fit the
  file, and a file with media but no ``moov`` was interrupted while recording;
- AVI: the ``RIFF`` (and ``AVIX``) chunks must fit the file;
- raw GPMF: the top-level KLVs (``DEVC``) must fit;
- MPEG-TS: the file must hold whole packets;
- JPEG: the segments before the image data must fit, and the image must end
  with EOI.

Anything it does not recognise it leaves alone (returns None): this is a
hint for people, never a reason to refuse a file. Bounded: at most
``MAX_STEPS`` headers are read, each a few bytes.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from telemetryfs.parsers import detect
from telemetryfs.parsers.binio import file_size, read_upto
from telemetryfs.parsers.errors import ParseError

# A card holds at most a few thousand top-level boxes/chunks per file
# (fragmented MP4: one moof+mdat pair per fragment); more means garbage.
MAX_STEPS = 100_000

# Top-level MP4/QuickTime boxes we know; a cut is only reported for these, so
# a vendor trailer after the last box (Kenwood, Auto-Vox) is not taken for one.
_MP4_TOP = frozenset(
    {
        b"ftyp",
        b"moov",
        b"mdat",
        b"free",
        b"skip",
        b"wide",
        b"udta",
        b"uuid",
        b"meta",
        b"moof",
        b"mfra",
        b"pnot",
        b"styp",
        b"sidx",
        b"GPS ",
    }
)
_RIFF_TOP = frozenset({b"RIFF", b"LIST", b"JUNK"})


def cut_short(f: BinaryIO, kind: str | None) -> str | None:
    """Why the file looks cut short or interrupted, in one line, or None if it looks whole.

    Args:
        f: the file, opened for binary reading.
        kind: what detect.sniff said it is.
    """
    try:
        size = file_size(f)
        if kind == detect.MP4:
            return _mp4(f, size)
        if kind == detect.AVI:
            return _riff(f, size)
        if kind == detect.GPMF:
            return _gpmf(f, size)
        if kind == detect.TS:
            return _ts(f, size)
        if kind == detect.JPEG:
            return _jpeg(f, size)
    except ParseError:
        return None
    return None


def _short(what: str, offset: int, needed: int, size: int) -> str:
    return (
        f"file cut short: {what} at offset {offset} needs {needed} bytes, "
        f"the file has {size - offset} left"
    )


def _mp4(f: BinaryIO, size: int) -> str | None:
    pos, seen = 0, set()
    for _ in range(MAX_STEPS):
        if pos >= size:
            break
        head = read_upto(f, pos, 16)
        if len(head) < 8:
            return f"file cut short: {len(head)} stray bytes after the last box (offset {pos})"
        box_size, kind = struct.unpack_from(">I4s", head)
        header = 8
        if box_size == 1:
            if len(head) < 16:
                return f"file cut short inside the header of box '{_name(kind)}' at offset {pos}"
            box_size, header = struct.unpack_from(">Q", head, 8)[0], 16
        elif box_size == 0:
            box_size = size - pos  # extends to the end of the file
        if kind not in _MP4_TOP or box_size < header:
            break  # a trailer or garbage: not ours to judge
        seen.add(kind)
        if pos + box_size > size:
            return _short(f"box '{_name(kind)}'", pos, box_size, size)
        pos += box_size
    if b"mdat" in seen and b"moov" not in seen and b"moof" not in seen:
        return "no moov box: the recording was interrupted before its index was written"
    return None


def _riff(f: BinaryIO, size: int) -> str | None:
    pos = 0
    for _ in range(MAX_STEPS):
        if pos >= size:
            return None
        head = read_upto(f, pos, 8)
        if len(head) < 8:
            return f"file cut short: {len(head)} stray bytes after the last chunk (offset {pos})"
        kind, chunk_size = struct.unpack("<4sI", head)
        if kind not in _RIFF_TOP:
            return None
        needed = 8 + chunk_size + (chunk_size & 1)
        if pos + 8 + chunk_size > size:
            return _short(f"chunk '{_name(kind)}'", pos, needed, size)
        pos += needed
    return None


def _gpmf(f: BinaryIO, size: int) -> str | None:
    pos = 0
    for _ in range(MAX_STEPS):
        if pos >= size:
            return None
        head = read_upto(f, pos, 8)
        if len(head) < 8:
            if head.strip(b"\0"):
                return f"file cut short inside a KLV header at offset {pos}"
            return None  # zero padding
        key, struct_size, repeat = head[:4], head[5], struct.unpack_from(">H", head, 6)[0]
        if not all(48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 or c == 32 for c in key):
            return None  # not a KLV: padding or an unknown trailer
        length = (struct_size * repeat + 3) & ~3
        if pos + 8 + struct_size * repeat > size:
            return _short(f"KLV '{_name(key)}'", pos, 8 + length, size)
        pos += 8 + length
    return None


def _ts(f: BinaryIO, size: int) -> str | None:
    packet = 192 if read_upto(f, 4, 1) == b"\x47" and read_upto(f, 0, 1) != b"\x47" else 188
    rest = size % packet
    if rest:
        return f"file cut short: the last {packet}-byte TS packet has only {rest} bytes"
    return None


def _jpeg(f: BinaryIO, size: int) -> str | None:
    pos = 2
    for _ in range(MAX_STEPS):
        head = read_upto(f, pos, 4)
        if len(head) < 4 or head[0] != 0xFF:
            break
        marker = head[1]
        if marker in (0xD9, 0xDA):  # end of image / start of scan: entropy-coded data follows
            break
        length = struct.unpack_from(">H", head, 2)[0]
        if pos + 2 + length > size:
            return _short(f"JPEG segment 0x{marker:02X}", pos, 2 + length, size)
        pos += 2 + length
    tail = read_upto(f, max(size - 2, 0), 2)
    if tail != b"\xff\xd9":
        return "file cut short: the JPEG has no end-of-image marker"
    return None


def _name(kind: bytes) -> str:
    return kind.decode("latin-1")
