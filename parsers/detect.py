"""Recognise footage by content, from its first few kilobytes, without parsing.

Listing a folder of a thousand clips must stay fast, so this looks only at a
small head of each file (the filesystem caches the answer per file version).
The extension is a tie-breaker for text sidecars only: a GoPro clip renamed
``.bin`` or a raw GPMF dump named ``.raw`` is still recognised.
"""

from __future__ import annotations

import re
import struct
from typing import BinaryIO

from telemetryfs.parsers.binio import read_upto
from telemetryfs.parsers.encodings.nmea import looks_like_nmea

# How much of the head sniff() wants; callers read this many bytes (or fewer at EOF).
HEAD_SIZE = 4096

# Top-level box types that can start an ISO/QuickTime file (QuickTime allows
# wide/free/skip/mdat before ftyp/moov; 'pnot' is a QuickTime preview).
_MP4_FIRST_BOXES = frozenset(
    {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot", b"uuid"}
)

# MPEG-TS packets are 188 bytes and start with 0x47; M2TS (.MTS/.M2TS, some
# dashcams) prefixes each with a 4-byte timestamp (192 bytes).
_TS_SYNC = 0x47


# Sniff results, also the names shown in info.json "container".
MP4 = "mp4"
AVI = "avi"
TS = "ts"
GPMF = "gpmf"
JPEG = "jpeg"
NMEA = "nmea"
SRT = "srt"  # DJI drone subtitles
FIT = "fit"  # Garmin FIT (a VIRB's GPS log)
BLACKVUE_GPS = "blackvue-gps"  # NMEA lines prefixed [unix ms] (BlackVue .gps sidecars)

VIDEO_KINDS = frozenset({MP4, AVI, TS})

# A file named like a video is shown as one even when its content is not
# recognised (a clip cut to a few bytes, a card's damaged file): its folder's
# info.json then says what is wrong, instead of the clip silently vanishing.
VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".mov", ".m4v", ".lrv", ".avi", ".ts", ".mts", ".m2ts", ".3gp", ".360", ".insv"}
)
UNRECOGNISED = "unrecognised"

# Words only a drone's SRT carries: a film's subtitles are not footage.
_DJI_SRT_MARKS = (b"GPS", b"latitude", b"FrameCnt", b"SrtCnt", b"HOME", b"ISO", b"iso", b"uavBat")


def named_like_video(name: str) -> bool:
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in VIDEO_EXTENSIONS


def sniff(head: bytes, name: str = "") -> str | None:
    """Name the container of a file from its first bytes, or None.

    Args:
        head: the first bytes of the file (up to HEAD_SIZE).
        name: the file name, used only to tell an NMEA log from other text.

    Returns:
        One of MP4, AVI, TS, GPMF, JPEG, BLACKVUE_GPS, NMEA, or None when not footage.
        (sniff_file also answers UNRECOGNISED for a file named like a video.)
    """
    if len(head) >= 8 and head[4:8] in _MP4_FIRST_BOXES:
        size = struct.unpack_from(">I", head)[0]
        if size in (0, 1) or size >= 8:
            return MP4
    if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"AVIX"):
        return AVI
    if len(head) >= 12 and head[0] in (12, 14) and head[8:12] == b".FIT":
        return FIT
    if _is_ts(head):
        return TS
    if _is_gpmf(head):
        return GPMF
    if head[:2] == b"\xff\xd8" and _jpeg_has_gpmf(head):
        return JPEG
    if _BLACKVUE_LINE.match(head):
        return BLACKVUE_GPS
    if looks_like_nmea(head) or (name.lower().endswith(".nmea") and b"$G" in head[:512]):
        return NMEA
    if name.lower().endswith(".srt") and any(m in head for m in _DJI_SRT_MARKS):
        return SRT
    return None


_BLACKVUE_LINE = re.compile(rb"[ \t\r\n]*\[\d{10,16}\][ \t]*\$[A-Z]{2}[A-Z]{3},")


def _is_ts(head: bytes) -> bool:
    for packet, skip in ((188, 0), (192, 4)):
        if len(head) >= 3 * packet and all(
            head[skip + i * packet] == _TS_SYNC for i in range(min(len(head) // packet, 8))
        ):
            return True
    return False


def _is_gpmf(head: bytes) -> bool:
    """A raw GPMF stream starts with a nested DEVC KLV (type 0, struct size 1)."""
    if len(head) < 16 or head[:4] != b"DEVC" or head[4] != 0:
        return False
    # The first child is a KLV too: a printable FourCC key.
    key = head[8:12]
    return all(48 <= c <= 57 or 65 <= c <= 90 or 97 <= c <= 122 for c in key)


def _jpeg_has_gpmf(head: bytes) -> bool:
    """GoPro photos carry GPMF in an APP6 segment whose payload starts with 'GoPro'."""
    pos = 2
    while pos + 4 <= len(head) and head[pos] == 0xFF:
        marker = head[pos + 1]
        if marker in (0xD9, 0xDA):  # end of image / start of scan: no more APPn
            return False
        length = struct.unpack_from(">H", head, pos + 2)[0]
        if marker == 0xE6 and head[pos + 4 : pos + 9] == b"GoPro":
            return True
        if length < 2:
            return False
        pos += 2 + length
    return False


# APPn segments of a JPEG sit before the image data; EXIF (APP1) can take up
# to 64 KiB, so the GoPro APP6 segment may start beyond HEAD_SIZE.
_JPEG_SEGMENT_LIMIT = 32


def sniff_file(f: BinaryIO, name: str = "", head: bytes | None = None) -> str | None:
    """Like sniff(), reading what it needs from an open file (a few small reads).

    ``head``: the first HEAD_SIZE bytes when the caller already has them.

    Raises:
        ParseError: the file could not be read.
    """
    if head is None:
        head = read_upto(f, 0, HEAD_SIZE)
    kind = sniff(head, name)
    if kind is None and head[:2] == b"\xff\xd8":
        kind = JPEG if _jpeg_file_has_gpmf(f) else None
    if kind is None and named_like_video(name):
        kind = UNRECOGNISED
    return kind


def _jpeg_file_has_gpmf(f: BinaryIO) -> bool:
    pos = 2
    for _ in range(_JPEG_SEGMENT_LIMIT):
        seg = read_upto(f, pos, 9)
        if len(seg) < 4 or seg[0] != 0xFF or seg[1] in (0xD9, 0xDA):
            return False
        if seg[1] == 0xE6 and seg[4:9] == b"GoPro":
            return True
        length = struct.unpack_from(">H", seg, 2)[0]
        if length < 2:
            return False
        pos += 2 + length
    return False
