"""MPEG transport streams (.TS): the private streams where dashcams put GPS.

A TS has no index (sergei.nz: "the approach would be more of brute force
search type"), so GPS is found by walking packets: 188 bytes (192 for M2TS,
a 4-byte time code first), sync byte 0x47, a 13-bit PID. The program tables
(PAT, PMT; ISO/IEC 13818-1 §2.4.4) say which PIDs are video and audio;
every other elementary PID is a candidate, as are the PIDs ExifTool knows
dashcams use without declaring them (0x0300 Novatek/INNOVV, 0x01e4 VSYS,
0x0e1b Jomise).

Only the candidate PIDs' packets are touched: the PID bytes of a whole
window of packets are sliced out at once and searched, so a 4 GB clip is one
sequential read with little Python work per packet. Payloads are joined into
PES packets (payload_unit_start_indicator starts one) and the PES header is
removed; a PES bigger than a GPS record can be is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from telemetryfs.parsers.binio import file_size, read_upto
from telemetryfs.parsers.model import Extent

log = logging.getLogger(__name__)

SYNC = 0x47
KNOWN_GPS_PIDS = (0x0300, 0x01E4, 0x0E1B)  # ExifTool M2TS.pm
# Stream types that are audio or video (ISO/IEC 13818-1 table 2-34 and common
# private ones: 0x81 AC-3, 0x87 E-AC-3): never GPS.
_MEDIA_TYPES = frozenset({0x01, 0x02, 0x03, 0x04, 0x0F, 0x10, 0x11, 0x1B, 0x24, 0x42, 0x81, 0x87})
_WINDOW_PACKETS = 4096  # packets read at a time (about 770 KiB)
_TABLE_PACKETS = 2000  # where to look for the PAT and PMT
MAX_PES = 64 * 1024  # a GPS PES is at most a few KiB; bigger is video


def packet_size(head: bytes) -> int | None:
    """188 or 192 when ``head`` starts with aligned TS packets, else None."""
    for size, skip in ((188, 0), (192, 4)):
        n = min(len(head) // size, 8)
        if n >= 3 and all(head[skip + i * size] == SYNC for i in range(n)):
            return size
    return None


def is_ts(head: bytes) -> bool:
    """A cheap sniff: three or more aligned sync bytes."""
    return packet_size(head) is not None


@dataclass(slots=True)
class Pes:
    """One reassembled PES payload of a PID, and where its bytes sit in the file."""

    pid: int
    data: bytearray = field(default_factory=bytearray)
    extents: list[Extent] = field(default_factory=list)


def _payload(packet: bytes, at: int) -> tuple[bool, int, int] | None:
    """(unit start, payload offset, payload length) of one 188-byte packet, or None."""
    if packet[0] != SYNC or packet[1] & 0x80:  # transport error
        return None
    control = (packet[3] >> 4) & 0x3
    start = 4
    if control & 0x2:
        start += 1 + packet[4]
    if not control & 0x1 or start >= 188:
        return None
    return bool(packet[1] & 0x40), at + start, 188 - start


def _pid(packet: bytes) -> int:
    return ((packet[1] & 0x1F) << 8) | packet[2]


def _section(packet: bytes) -> bytes | None:
    """The PSI section in a packet that starts one (pointer field skipped)."""
    info = _payload(packet, 0)
    if info is None or not info[0]:
        return None
    body = packet[info[1] :]
    pointer = body[0]
    return body[1 + pointer :] if 1 + pointer < len(body) else None


def read_tables(f: BinaryIO, size: int, skip: int) -> tuple[set[int], set[int]]:
    """PIDs that are media, and PIDs that may carry GPS, from the PAT/PMT at the start."""
    head = read_upto(f, 0, size * _TABLE_PACKETS)
    pmts: set[int] = set()
    media: set[int] = set()
    other: set[int] = set()
    for i in range(len(head) // size):
        packet = head[i * size + skip : (i + 1) * size]
        if len(packet) < 188 or packet[0] != SYNC:
            continue
        pid = _pid(packet)
        section = _section(packet) if pid == 0 or pid in pmts else None
        if section is None:
            continue
        if pid == 0 and section[:1] == b"\x00":
            pmts |= _pat_programs(section)
        elif section[:1] == b"\x02":
            _pmt_streams(section, media, other)
    return media, other


def _pat_programs(section: bytes) -> set[int]:
    if len(section) < 8:
        return set()
    length = ((section[1] & 0x0F) << 8) | section[2]
    body = section[8 : min(len(section), 3 + length - 4)]
    found = set()
    for i in range(0, len(body) - 3, 4):
        program = (body[i] << 8) | body[i + 1]
        if program:
            found.add(((body[i + 2] & 0x1F) << 8) | body[i + 3])
    return found


def _pmt_streams(section: bytes, media: set[int], other: set[int]) -> None:
    if len(section) < 12:
        return
    length = ((section[1] & 0x0F) << 8) | section[2]
    end = min(len(section), 3 + length - 4)
    if end < 12:
        return
    pos = 12 + (((section[10] & 0x0F) << 8) | section[11])
    while pos + 5 <= end:
        kind, pid = section[pos], ((section[pos + 1] & 0x1F) << 8) | section[pos + 2]
        (media if kind in _MEDIA_TYPES else other).add(pid)
        pos += 5 + (((section[pos + 3] & 0x0F) << 8) | section[pos + 4])


def iter_pes(f: BinaryIO, pids: set[int] | None = None) -> Iterator[Pes]:
    """The PES payloads of the GPS candidate PIDs, in file order.

    Args:
        f: the transport stream.
        pids: the PIDs to collect; None reads them from the PMT (plus the
            dashcam PIDs ExifTool knows).
    """
    head = read_upto(f, 0, 192 * 8)
    size = packet_size(head)
    if size is None:
        return
    skip = size - 188
    if pids is None:
        media, other = read_tables(f, size, skip)
        pids = (other | set(KNOWN_GPS_PIDS)) - media
    end = file_size(f)
    open_pes: dict[int, Pes] = {}
    pos = 0
    while pos + size <= end:
        window = read_upto(f, pos, size * _WINDOW_PACKETS)
        count = len(window) // size
        if count == 0:
            break
        for index in _packets_of(window, size, skip, count, pids):
            at = index * size + skip
            yield from _feed(open_pes, window[at : at + 188], pos + at)
        pos += count * size
    for pes in open_pes.values():
        if pes.data:
            yield pes


def _packets_of(window: bytes, size: int, skip: int, count: int, pids: set[int]) -> list[int]:
    """Indices of the packets in ``window`` whose PID is in ``pids`` (found by slicing)."""
    hi = window[skip + 1 :: size][:count]
    lo = window[skip + 2 :: size][:count]
    found: list[int] = []
    for pid in pids:
        want_hi, want_lo = pid >> 8, bytes((pid & 0xFF,))
        i = lo.find(want_lo)
        while i >= 0:
            if hi[i] & 0x1F == want_hi:
                found.append(i)
            i = lo.find(want_lo, i + 1)
    return sorted(found)


def _feed(open_pes: dict[int, Pes], packet: bytes, at: int) -> Iterator[Pes]:
    info = _payload(packet, 0)
    if info is None:
        return
    start, offset, length = info
    pid = _pid(packet)
    pes = open_pes.get(pid)
    if start:
        if pes is not None and pes.data:
            yield pes
        pes = open_pes[pid] = Pes(pid)
    if pes is None:
        return  # a continuation whose start we never saw
    if len(pes.data) + length > MAX_PES:
        open_pes.pop(pid, None)  # too big for GPS: video or garbage
        return
    pes.data += packet[offset : offset + length]
    pes.extents.append(Extent(at + offset, length))


def strip_pes_header(data: bytes) -> tuple[bytes, int]:
    """A PES packet's payload and how many header bytes were removed.

    Data that does not start with a PES start code is returned as is.
    """
    if len(data) < 6 or data[:3] != b"\x00\x00\x01":
        return data, 0
    stream_id = data[3]
    # private_stream_2, padding and a few system streams have no optional header.
    if stream_id in (0xBC, 0xBE, 0xBF, 0xF0, 0xF1, 0xF2, 0xF8, 0xFF) or len(data) < 9:
        return data[6:], 6
    header = 9 + data[8]
    return data[header:], header
