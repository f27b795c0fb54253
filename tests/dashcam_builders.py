"""Byte builders for dashcam fixtures: Novatek MP4/TS, MAP CAM AVI, 70mai GPS box.

Each function returns the bytes of one structure, laid out as the format
documents describe (shared/seeds/ and the module docstrings' sources), so a
test states exactly which case it builds. Values go in as the camera would
store them (DDMM.MMMM, knots, 1e-6 degrees); tests compare the decoded
output with the decimal values they started from.
"""

from __future__ import annotations

import calendar
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from tests.builders import box, full_box, riff_chunk, riff_list

MP4_EPOCH = 2_082_844_800


def to_ddmm(degrees: float) -> float:
    """Decimal degrees to NMEA DDDmm.mmmm (magnitude)."""
    d = int(abs(degrees))
    return d * 100 + (abs(degrees) - d) * 60


@dataclass(frozen=True)
class Fix:
    """One GPS record to write: UTC time, position, knots, course, status."""

    when: tuple[int, int, int, int, int, int]  # year, month, day, hour, minute, second
    lat: float
    lon: float
    knots: float = 10.0
    course: float = 90.0
    status: bytes = b"A"

    @property
    def utc(self) -> float:
        return float(calendar.timegm((*self.when, 0, 0, 0)))


def novatek_record(fix: Fix, *, two_digit_year: bool = True) -> bytes:
    """The 40-byte Novatek record: h, m, s, y, mo, d (u32), status, N/S, E/W, 0, f32 x4."""
    y, mo, d, h, mi, s = fix.when
    year = y - 2000 if two_digit_year else y
    if fix.status == b"A":
        refs = (b"N" if fix.lat >= 0 else b"S") + (b"E" if fix.lon >= 0 else b"W")
        values = (to_ddmm(fix.lat), to_ddmm(fix.lon), fix.knots, fix.course)
    else:
        refs, values = b"\0\0", (0.0, 0.0, 0.0, 0.0)
    return (
        struct.pack("<6I", h, mi, s, year, mo, d)
        + fix.status
        + refs
        + b"\0"
        + struct.pack("<4f", *values)
    )


def free_gps(payload_at_16: bytes, *, size: int = 0x1000, value: int = 0x4C) -> bytes:
    """A freeGPS block: BE size, ``free``, ``GPS ``, LE u32, then payload from byte 16."""
    body = b"free" + b"GPS " + struct.pack("<I", value) + payload_at_16
    block = struct.pack(">I", size) + body
    if len(block) > size:
        raise ValueError("payload larger than the block")
    return block + b"\0" * (size - len(block))


def novatek_block(fix: Fix, *, layout: int = 48, size: int = 0x1000) -> bytes:
    """A freeGPS block with the Novatek record at ``layout`` (16, 48 or 64)."""
    return free_gps(b"\0" * (layout - 16) + novatek_record(fix), size=size)


def mvhd(creation_posix: int = 0, timescale: int = 1000, duration: int = 60000) -> bytes:
    created = creation_posix + MP4_EPOCH if creation_posix else 0
    body = struct.pack(">IIII", created, created, timescale, duration) + b"\0" * 80
    return full_box(b"mvhd", 0, 0, body)


def gps_index(entries: Sequence[tuple[int, int]], *, count: int | None = None) -> bytes:
    """The moov ``gps `` box: version, count, then BE offset/size pairs."""
    n = len(entries) if count is None else count
    pairs = b"".join(struct.pack(">II", o, s) for o, s in entries)
    return box(b"gps ", struct.pack(">II", 0x00000001, n) + pairs)


def video_trak(
    chunks: Sequence[tuple[int, int]],
    timescale: int = 30,
    *,
    sample_format: bytes = b"avc1",
    handler: bytes = b"vide",
) -> bytes:
    """A minimal trak whose samples are the given (offset, size) chunks, one per chunk."""
    stsd = full_box(b"stsd", 0, 0, struct.pack(">I", 1) + box(sample_format, b"\0" * 70))
    stts = full_box(b"stts", 0, 0, struct.pack(">III", 1, len(chunks), 1))
    stsc = full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, 1, 1))
    stsz = full_box(
        b"stsz",
        0,
        0,
        struct.pack(">II", 0, len(chunks)) + b"".join(struct.pack(">I", s) for _, s in chunks),
    )
    stco = full_box(
        b"stco",
        0,
        0,
        struct.pack(">I", len(chunks)) + b"".join(struct.pack(">I", o) for o, _ in chunks),
    )
    stbl = box(b"stbl", stsd + stts + stsc + stsz + stco)
    hdlr = full_box(b"hdlr", 0, 0, b"\0" * 4 + handler + b"\0" * 12 + b"Handler\0")
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, len(chunks), 0, 0))
    tkhd = full_box(b"tkhd", 0, 0, struct.pack(">IIIII", 0, 0, 1, 0, len(chunks)) + b"\0" * 60)
    return box(b"trak", tkhd + box(b"mdia", mdhd + hdlr + box(b"minf", stbl)))


def novatek_mp4(
    blocks: Sequence[bytes],
    *,
    index: bool = True,
    tracks: bool = True,
    frame: bytes = b"\x00\x00\x00\x10" + b"\x65" * 0x1C0,
    creation: int = 0,
) -> bytes:
    """A small Novatek-like MP4: ftyp, mdat with a media chunk before each block, moov last.

    Args:
        blocks: freeGPS blocks, in order.
        index: write the moov ``gps `` index.
        tracks: write a video trak covering the media chunks (so gaps can be scanned).
        frame: the bytes of each media chunk.
        creation: mvhd creation time (POSIX seconds; 0 = unset).
    """
    ftyp = box(b"ftyp", b"isom\0\0\x02\0isomavc1mp41")
    mdat_start = len(ftyp) + 8
    body = b""
    chunks: list[tuple[int, int]] = []
    entries: list[tuple[int, int]] = []
    for block in blocks:
        chunks.append((mdat_start + len(body), len(frame)))
        body += frame
        entries.append((mdat_start + len(body), len(block)))
        body += block
    mdat = box(b"mdat", body)
    moov_body = mvhd(creation)
    if tracks:
        moov_body += video_trak(chunks)
    if index:
        moov_body += gps_index(entries)
    return ftyp + mdat + box(b"moov", moov_body)


def ts_packet(pid: int, payload: bytes, *, start: bool, counter: int = 0) -> bytes:
    """One 188-byte TS packet; short payloads are stuffed with an adaptation field."""
    if len(payload) > 184:
        raise ValueError("payload too large for one packet")
    header = struct.pack(">BHB", 0x47, (0x4000 if start else 0) | pid, 0x10 | (counter & 0xF))
    stuffing = 184 - len(payload)
    if stuffing == 0:
        return header + payload
    header = header[:3] + bytes([0x30 | (counter & 0xF)])
    adaptation = bytes([stuffing - 1]) + (b"\0" + b"\xff" * (stuffing - 2) if stuffing > 1 else b"")
    return header + adaptation + payload


def _psi(table_id: int, body: bytes) -> bytes:
    section = bytes([table_id]) + struct.pack(">H", 0xB000 | (len(body) + 5 + 4)) + body
    return b"\0" + section[:3] + b"\x00\x01\xc1\x00\x00" + section[3:] + b"\0\0\0\0"


def ts_tables(pmt_pid: int, streams: Sequence[tuple[int, int]]) -> bytes:
    """PAT and PMT packets declaring ``streams`` as (stream_type, pid)."""
    pat = _psi(0x00, struct.pack(">HH", 1, 0xE000 | pmt_pid))
    loop = b"".join(struct.pack(">BHH", kind, 0xE000 | pid, 0xF000) for kind, pid in streams)
    pmt = _psi(0x02, struct.pack(">HH", 0xE100, 0xF000) + loop)
    return ts_packet(0, pat.ljust(184, b"\xff"), start=True) + ts_packet(
        pmt_pid, pmt.ljust(184, b"\xff"), start=True
    )


def pes(payload: bytes, stream_id: int = 0xBD) -> bytes:
    """A PES packet with a minimal optional header (no PTS)."""
    return (
        b"\0\0\1"
        + bytes([stream_id])
        + struct.pack(">H", len(payload) + 3)
        + b"\x80\x00\x00"
        + payload
    )


def ts_file(
    gps_payloads: Sequence[bytes], *, gps_pid: int = 0x300, video_pid: int = 0x100
) -> bytes:
    """A TS with a video PID and a private GPS PID carrying one PES per payload."""
    out = ts_tables(0x1000, [(0x1B, video_pid), (0x06, gps_pid)])
    for i, payload in enumerate(gps_payloads):
        out += ts_packet(video_pid, b"\0\0\1\xe0" + b"\x11" * 180, start=True, counter=i)
        data = pes(payload)
        for j in range(0, len(data), 184):
            out += ts_packet(gps_pid, data[j : j + 184], start=j == 0, counter=j // 184)
    return out


def mapcam_record(
    fix: Fix,
    *,
    counter: int = 30,
    altitude_dm: int = 1234,
    speed_raw: int = 31_000_000,
    distance: int = 12345,
    voltage: int = 4100,
    field4: int = 50,
) -> bytes:
    """A 58-byte MAP CAM record (seeds/mapcam-avi-gps-format.txt)."""
    y, mo, d, h, mi, s = fix.when
    return struct.pack(
        "<iI4BHBBBBHiiiiiii10s",
        counter, field4, 1, 2, 3, 4, y, mo, d, h, mi, s * 1000,
        round(fix.lat * 1e6), round(fix.lon * 1e6), altitude_dm, speed_raw, 77, distance,
        voltage, b"\x01" * 10,
    )  # fmt: skip


def mapcam_avi(movi_items: Sequence[bytes], *, idx: bool = True) -> bytes:
    """An AVI: RIFF AVI (hdrl LIST, movi LIST holding ``movi_items`` as given, idx1)."""
    hdrl = riff_list(b"LIST", b"hdrl", riff_chunk(b"avih", b"\0" * 56))
    movi = riff_list(b"LIST", b"movi", *movi_items)
    tail = riff_chunk(b"idx1", b"\0" * 16) if idx else b""
    return riff_list(b"RIFF", b"AVI ", hdrl, movi, tail)


def seventymai_slot(second: int, lat: float, lon: float, kmh: float, *, fix: bool = True) -> bytes:
    """A 36-byte 70mai slot: in use, has fix, seconds, m/h, N/S + DDMMmmm, E/W + DDMMmmm."""

    def enc(v: float) -> int:
        d = int(abs(v))
        return d * 100000 + round((abs(v) - d) * 60000)

    ns = b"N" if lat >= 0 else b"S"
    ew = b"E" if lon >= 0 else b"W"
    return struct.pack(
        "<4IcIcI10s", 1, int(fix), second, round(kmh * 1000), ns, enc(lat), ew, enc(lon), b"\0" * 10
    )


def mp4_with_track(
    samples: Sequence[bytes], sample_format: bytes, handler: bytes = b"meta"
) -> bytes:
    """ftyp, mdat holding ``samples``, moov with one track of them (1 s each)."""
    ftyp = box(b"ftyp", b"isom\0\0\x02\0isommp41")
    start = len(ftyp) + 8
    chunks, pos = [], start
    for sample in samples:
        chunks.append((pos, len(sample)))
        pos += len(sample)
    trak = video_trak(chunks, timescale=1, sample_format=sample_format, handler=handler)
    return ftyp + box(b"mdat", b"".join(samples)) + box(b"moov", mvhd() + trak)
