"""Insta360 files built from the trailer's documented layout (FORMAT-NOTES, telemetry-parser,
exiftool ProcessInsta360): records (payload, then u8 format, u8 id, u32le size) before a
72-byte footer (32 bytes of padding, u32le trailer size, u32le version, the marker)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

MARKER = b"8db42d694ccc418790edff439fe026bf"


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def field_bytes(number: int, data: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(data)) + data


def field_varint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def metadata(
    model: str,
    *,
    first_frame_us: int | None = None,
    raw_imu: bool | None = None,
    ranges: tuple[int, int] | None = None,
) -> bytes:
    """The protobuf metadata record: camera_type (2), first_frame_timestamp (24),
    is_raw_gyro (62), gyro_cfg_info (65: acc_range 1, gyro_range 2)."""
    out = field_bytes(2, model.encode())
    if first_frame_us is not None:
        out += field_varint(24, first_frame_us)
    if raw_imu is not None:
        out += field_varint(62, int(raw_imu))
    if ranges is not None:
        out += field_bytes(65, field_varint(1, ranges[0]) + field_varint(2, ranges[1]))
    return out


def imu_float(rows: Sequence[tuple[int, float, float, float, float, float, float]]) -> bytes:
    """56-byte entries: u64 camera µs, accelerometer x/y/z (g), gyro x/y/z (rad/s) as f64."""
    return b"".join(struct.pack("<Q6d", *row) for row in rows)


def imu_raw(rows: Sequence[tuple[int, int, int, int, int, int, int]]) -> bytes:
    """20-byte entries: u64 camera µs, six signed counts stored as u16 around 0x8000."""
    return b"".join(struct.pack("<Q6H", row[0], *(v + 0x8000 for v in row[1:])) for row in rows)


def exposure(rows: Sequence[tuple[int, float]]) -> bytes:
    return b"".join(struct.pack("<Qd", t, s) for t, s in rows)


def gps(
    rows: Sequence[tuple[float, bytes, float, bytes, float, bytes, float, float, float]],
) -> bytes:
    """53-byte entries: (unix s with ms, fix, lat, N/S, lon, E/W, speed m/s, track, alt)."""
    out = b""
    for utc, fix, lat, ns, lon, ew, speed, track, alt in rows:
        secs, ms = int(utc), round((utc - int(utc)) * 1000)
        out += struct.pack("<QHcdcdcddd", secs, ms, fix, lat, ns, lon, ew, speed, track, alt)
    return out


# Stand-in for the video: an ftyp and an mdat of zeros (the container is sniffed from the head).
VIDEO = struct.pack(">I4s4sI4s", 20, b"ftyp", b"isom", 0, b"isom") + struct.pack(
    ">I4s", 72, b"mdat"
)
VIDEO += b"\0" * 64


def insv_bytes(records: Sequence[tuple[int, bytes]], head: bytes = VIDEO) -> bytes:
    """``head`` and a trailer of ``records`` (id, payload), written in order: the
    parser walks them back from the last."""
    trailer = b"".join(
        payload + struct.pack("<BBI", 0, rid, len(payload)) for rid, payload in records
    )
    size = len(trailer) + 72
    return head + trailer + b"\0" * 32 + struct.pack("<II", size, 3) + MARKER


def make_insv(path: Path, records: Sequence[tuple[int, bytes]], head: bytes = VIDEO) -> None:
    path.write_bytes(insv_bytes(records, head))


def seeds() -> list[bytes]:
    """Small files of every record kind the parser decodes (fuzzing seeds)."""
    first = 1_000_000
    imu = [(first + 1000 * i, 100 * i, -4096, 2048, 7, -7, 0) for i in range(6)]
    floats = [(first + 1000 * i, 0.5, -1.0, 0.25, 0.1, 0.2, 0.3) for i in range(4)]
    fixes = [(1_700_000_000.5, b"A", 45.5, b"N", 73.5, b"O", 3.0, 90.0, 12.0)]
    meta = metadata("Insta360 X3", first_frame_us=first, raw_imu=True, ranges=(16, 2000))
    return [
        insv_bytes(
            [(1, meta), (3, imu_raw(imu)), (4, exposure([(first, 1 / 30)])), (7, gps(fixes))]
        ),
        insv_bytes([(1, metadata("Insta360 ONE X2")), (3, imu_float(floats)), (12, exposure([]))]),
    ]
