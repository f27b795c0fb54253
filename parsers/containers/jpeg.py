"""GoPro photos: the GPMF in the JPEG's APP6 segment, and the EXIF GPS position.

GoPro cameras (HERO5 and later) write an APP6 segment whose payload starts
with ``GoPro\\0`` and continues with GPMF (settings: model MINF, firmware
FMWR, serial CASN ...; spec "Where to find GPMF data"). The photo's position
is in the usual EXIF GPS IFD (APP1), not in the GPMF.

References: ITU T.81 (JPEG markers: every segment before SOS carries a
16-bit big-endian length that counts itself), CIPA DC-008 Exif 2.3 §4.6.6
(GPS IFD tags 1-7 and 29), TIFF 6.0 (IFD entries: tag, type, count, value).

Quirks: markers may be preceded by 0xFF fill bytes; standalone markers
(RSTn, TEM) have no length; EXIF offsets are relative to the TIFF header.
"""

from __future__ import annotations

import calendar
import dataclasses
import logging
import struct
from typing import BinaryIO

from telemetryfs.parsers.binio import read_at, read_upto
from telemetryfs.parsers.errors import MalformedError, TruncatedError
from telemetryfs.parsers.model import Extent, GpsSample, Telemetry

log = logging.getLogger(__name__)

SOI = b"\xff\xd8"
APP1, APP6, SOS, EOI = 0xE1, 0xE6, 0xDA, 0xD9
GOPRO_MAGIC = b"GoPro\0"
EXIF_MAGIC = b"Exif\0\0"
# APPn segments come first; a photo with more than this many is not a camera's.
MAX_SEGMENTS = 256
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_GPS_IFD_TAG = 0x8825
# TIFF value types used by GPS tags: BYTE, ASCII, SHORT, LONG, RATIONAL.
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8}
_MAX_IFD_ENTRIES = 512


def iter_segments(f: BinaryIO) -> list[tuple[int, int, int]]:
    """The segments before the image data: (marker, payload offset, payload size).

    Raises:
        MalformedError: not a JPEG, or a marker is not where one must be.
        TruncatedError: a segment runs past the end of the file.
    """
    if read_upto(f, 0, 2) != SOI:
        raise MalformedError("not a JPEG (no SOI marker)", offset=0)
    segments: list[tuple[int, int, int]] = []
    pos = 2
    for _ in range(MAX_SEGMENTS):
        head = read_upto(f, pos, 4)
        while head[:2] == b"\xff\xff":  # fill bytes before a marker
            pos += 1
            head = read_upto(f, pos, 4)
        if len(head) < 2 or head[0] != 0xFF:
            raise MalformedError("expected a JPEG marker", offset=pos)
        marker = head[1]
        if marker in (SOS, EOI):
            break
        if marker in _STANDALONE:
            pos += 2
            continue
        if len(head) < 4:
            raise TruncatedError("JPEG segment header cut short", offset=pos)
        length = int.from_bytes(head[2:4], "big")
        if length < 2:
            raise MalformedError(f"JPEG segment length {length}", offset=pos)
        segments.append((marker, pos + 4, length - 2))
        pos += 2 + length
    return segments


def find_gpmf_segments(f: BinaryIO) -> list[Extent]:
    """Byte ranges of the GPMF inside the APP6 "GoPro" segments, in file order.

    Raises:
        MalformedError, TruncatedError: the JPEG segment structure is damaged.
    """
    found = []
    for marker, offset, size in iter_segments(f):
        n = len(GOPRO_MAGIC)
        if marker == APP6 and size > n and read_at(f, offset, n) == GOPRO_MAGIC:
            found.append(Extent(offset + n, size - n))
    return found


def read_exif_gps(f: BinaryIO) -> GpsSample | None:
    """The photo's EXIF GPS position and time, or None (no EXIF, no GPS IFD, damage)."""
    try:
        for marker, offset, size in iter_segments(f):
            if marker == APP1 and size > 14 and read_at(f, offset, 6) == EXIF_MAGIC:
                return _parse_exif_gps(read_at(f, offset + 6, size - 6))
    except (MalformedError, TruncatedError) as exc:
        log.debug("EXIF unreadable: %s", exc)
    return None


def with_exif_gps(telemetry: Telemetry, sample: GpsSample) -> Telemetry:
    """The telemetry with the photo's EXIF position as its one GPS sample."""
    return dataclasses.replace(telemetry, gps=(sample,), gps_stream="EXIF")


class _Tiff:
    """Bounded reads inside one TIFF block (EXIF offsets are relative to its start)."""

    def __init__(self, data: bytes) -> None:
        if data[:4] not in (b"II*\0", b"MM\0*"):
            raise MalformedError("EXIF without a TIFF header")
        self.data = data
        self.order = "<" if data[:2] == b"II" else ">"

    def unpack(self, fmt: str, offset: int) -> tuple[int, ...]:
        try:
            return struct.unpack_from(self.order + fmt, self.data, offset)
        except struct.error as exc:
            raise MalformedError("EXIF offset outside its segment", offset=offset) from exc

    def ifd(self, offset: int) -> dict[int, tuple[int, int, int]]:
        """Tag -> (type, count, offset of the value) for one IFD."""
        (count,) = self.unpack("H", offset)
        if count > _MAX_IFD_ENTRIES:
            raise MalformedError(f"IFD with {count} entries", offset=offset)
        entries = {}
        for i in range(count):
            tag, type_, n, value = self.unpack("HHII", offset + 2 + 12 * i)
            size = _TYPE_SIZES.get(type_, 0) * n
            # Values of four bytes or fewer sit in the entry itself.
            entries[tag] = (type_, n, offset + 2 + 12 * i + 8 if size <= 4 else value)
        return entries

    def rationals(self, entry: tuple[int, int, int]) -> list[float]:
        type_, n, offset = entry
        if type_ != 5 or n > 16:
            raise MalformedError("EXIF GPS value is not a short list of rationals")
        pairs = [self.unpack("II", offset + 8 * i) for i in range(n)]
        return [a / b if b else 0.0 for a, b in pairs]

    def text(self, entry: tuple[int, int, int]) -> str:
        type_, n, offset = entry
        if type_ != 2 or n > 64 or offset + n > len(self.data):
            raise MalformedError("EXIF GPS text is not short ASCII")
        return self.data[offset : offset + n].split(b"\0")[0].decode("latin-1")


def _parse_exif_gps(data: bytes) -> GpsSample | None:
    tiff = _Tiff(data)
    (ifd0,) = tiff.unpack("I", 4)
    pointer = tiff.ifd(ifd0).get(_GPS_IFD_TAG)
    if pointer is None:
        return None
    gps = tiff.ifd(tiff.unpack("I", pointer[2])[0])
    if not {1, 2, 3, 4} <= gps.keys():
        return None
    lat = _degrees(tiff.rationals(gps[2])) * (-1 if tiff.text(gps[1]) == "S" else 1)
    lon = _degrees(tiff.rationals(gps[4])) * (-1 if tiff.text(gps[3]) == "W" else 1)
    ele = None
    if 6 in gps:
        ele = tiff.rationals(gps[6])[0]
        if 5 in gps and tiff.unpack("B", gps[5][2])[0] == 1:  # below sea level
            ele = -ele
    utc = _exif_time(tiff, gps)
    valid = -90 <= lat <= 90 and -180 <= lon <= 180 and not (lat == 0 and lon == 0)
    return GpsSample(utc, None, lat, lon, ele, valid=valid)


def _degrees(dms: list[float]) -> float:
    parts = [*dms, 0.0, 0.0, 0.0][:3]
    return parts[0] + parts[1] / 60 + parts[2] / 3600


def _exif_time(tiff: _Tiff, gps: dict[int, tuple[int, int, int]]) -> float | None:
    """GPSDateStamp (29) "YYYY:MM:DD" + GPSTimeStamp (7) h, m, s, in UTC."""
    if 7 not in gps or 29 not in gps:
        return None
    try:
        year, month, day = (int(p) for p in tiff.text(gps[29]).split(":"))
        h, m, s = [*tiff.rationals(gps[7]), 0.0, 0.0, 0.0][:3]
        return calendar.timegm((year, month, day, 0, 0, 0)) + h * 3600 + m * 60 + s
    except (ValueError, OverflowError):
        return None
