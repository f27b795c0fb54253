"""MAP CAM AVI files: MJPEG + PCM in RIFF, with 58-byte GPS records between chunks.

Record format: ``shared/seeds/mapcam-avi-gps-format.txt``. The records sit in
``LIST movi`` between the chunks, without a chunk header of their own, once
per second after that second's video frames. All little-endian:

==== =====================================================================
0    frame counter (u32): frames recorded so far, 30, 60, 90 ...
4    50 (u32), always (so the record looks like a chunk of 50 bytes whose
     ID is the binary counter: FORMAT-NOTES.md)
8    four status bytes, meaning unknown; we write fix (1/0), fix type
     (3/0), satellites in view, 0
12   year (u16), month (u8), day (u8)
16   hour (u8), minute (u8), milliseconds in the minute (u16, whole seconds)
20   latitude, longitude (i32, 1e-6 degree)
28   altitude (i32, 1/10 m)
32   speed (i32, / 1e6 gives "almost" mph: we write mph x 1e6)
36   unknown (i32): we write the course in 1/100 degree
40   distance travelled (i32, 1/10000 km)
44   battery-voltage-like value (i32, slowly dropping): we write millivolts
48   10 constant unknown bytes
==== =====================================================================

Variants for robustness tests: ``odd_chunks`` makes every video chunk
odd-sized (each gets RIFF's pad byte, so every record follows a pad byte),
``gps_at_end`` moves the last record to the very end of ``movi`` (after the
last audio chunk), ``gps=False`` writes no records at all. ``idx1`` lists
only the real chunks, never the records.

The video and audio payloads are holes (sparse file): only the RIFF headers,
chunk headers, the records and the index are written.
"""

from __future__ import annotations

import math
import os
import random
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.builders import riff_chunk
from tests.footage.route import Route
from tests.footage.truth import Footage, Sample, iso_utc

DEFAULT_START = datetime(2026, 4, 6, 14, 21, 22, tzinfo=UTC)

RECORD_SIZE = 58
RECORD_TAIL = bytes.fromhex("4d430103000000000000")  # the 10 constant bytes ("MC", 1, 3, zeros)
MPH = 0.44704  # m/s per mile per hour

AUDIO_RATE = 8000  # 8 kHz mono 16-bit PCM: a dashcam microphone
AVIF_HASINDEX = 0x10
AVIF_ISINTERLEAVED = 0x100
AVIIF_KEYFRAME = 0x10

# AVI 1.0 (no OpenDML): a RIFF must stay under 1 GiB to be read everywhere.
MAX_RIFF = 1 << 30


def mapcam_name(start: datetime, number: int) -> str:
    """A MAP CAM-style file name: ``MC_20260406_142122_0001.AVI``."""
    return f"MC_{start:%Y%m%d_%H%M%S}_{number:04d}.AVI"


@dataclass(frozen=True, slots=True)
class MapcamRecord:
    """The fields of one 58-byte record, as written."""

    counter: int
    fixed: bool
    satellites: int
    when: datetime
    lat_e6: int
    lon_e6: int
    alt_dm: int
    speed_raw: int
    unknown36: int
    distance_raw: int
    voltage: int

    @property
    def status(self) -> bytes:
        return bytes((1 if self.fixed else 0, 3 if self.fixed else 0, self.satellites, 0))

    def to_bytes(self) -> bytes:
        """The record, fields as the seed document describes them."""
        when = self.when
        ms_in_minute = when.second * 1000  # "milliseconds are only precise to the second"
        return (
            struct.pack("<II", self.counter, 50)
            + self.status
            + struct.pack("<HBB", when.year, when.month, when.day)
            + struct.pack("<BBH", when.hour, when.minute, ms_in_minute)
            + struct.pack(
                "<7i",
                self.lat_e6,
                self.lon_e6,
                self.alt_dm,
                self.speed_raw,
                self.unknown36,
                self.distance_raw,
                self.voltage,
            )
            + RECORD_TAIL
        )


def _avih(fps: int, frames: int, width: int, height: int, max_bytes: int) -> bytes:
    return riff_chunk(
        b"avih",
        struct.pack(
            "<10I4I",
            round(1_000_000 / fps),
            max_bytes,
            0,
            AVIF_HASINDEX | AVIF_ISINTERLEAVED,
            frames,
            0,
            2,
            max_bytes,
            width,
            height,
            0,
            0,
            0,
            0,
        ),
    )


def _strh(
    kind: bytes,
    handler: bytes,
    scale: int,
    rate: int,
    length: int,
    buffer: int,
    sample_size: int,
    rect: tuple[int, int],
) -> bytes:
    return riff_chunk(
        b"strh",
        kind
        + handler
        + struct.pack(
            "<IHHIIIIIIII", 0, 0, 0, 0, scale, rate, 0, length, buffer, 0xFFFFFFFF, sample_size
        )
        + struct.pack("<4h", 0, 0, rect[0], rect[1]),
    )


def make_mapcam(
    path: str | os.PathLike[str],
    *,
    duration_s: float = 60.0,
    start_utc: datetime | None = None,
    seed: int = 0,
    fps: int = 30,
    video_mbps: float = 12.0,
    width: int = 1280,
    height: int = 720,
    gps: bool = True,
    odd_chunks: bool = False,
    gps_at_end: bool = False,
    no_fix_first_s: float = 0.0,
    route: Route | None = None,
    route_offset_s: float = 0.0,
) -> Footage:
    """Write one MAP CAM AVI of ``duration_s`` seconds.

    Args:
        gps: write the per-second records (False: a plain AVI).
        odd_chunks: every video chunk has an odd size (pad byte before each record).
        gps_at_end: the last record sits at the very end of ``movi``.
        no_fix_first_s: records of the first seconds have no fix (zeros).
    """
    rng = random.Random(f"mapcam-{seed}-{route_offset_s}")
    start = (start_utc or DEFAULT_START).replace(microsecond=0)
    start_posix = start.timestamp()
    route = route or Route(seed=seed)
    seconds = max(1, math.ceil(duration_s))
    frames = seconds * fps
    mean = video_mbps * 1e6 / 8 / fps
    sizes = [max(1000, int(mean * rng.uniform(0.8, 1.2))) for _ in range(frames)]
    if odd_chunks:
        sizes = [s | 1 for s in sizes]
    audio_size = AUDIO_RATE * 2  # one second of 16-bit mono per chunk
    max_bytes = max(sizes)

    hdrl = riff_chunk(
        b"LIST",
        b"hdrl"
        + _avih(fps, frames, width, height, max_bytes)
        + riff_chunk(
            b"LIST",
            b"strl"
            + _strh(b"vids", b"MJPG", 1, fps, frames, max_bytes, 0, (width, height))
            # BITMAPINFOHEADER: 24-bit MJPG frames.
            + riff_chunk(
                b"strf",
                struct.pack(
                    "<IiiHH4sIiiII",
                    40,
                    width,
                    height,
                    1,
                    24,
                    b"MJPG",
                    width * height * 3,
                    0,
                    0,
                    0,
                    0,
                ),
            ),
        )
        + riff_chunk(
            b"LIST",
            b"strl"
            + _strh(
                b"auds", b"\0\0\0\0", 1, AUDIO_RATE, seconds * AUDIO_RATE, audio_size, 2, (0, 0)
            )
            # WAVEFORMATEX: PCM, mono, 8 kHz, 16 bits.
            + riff_chunk(
                b"strf", struct.pack("<HHIIHHH", 1, 1, AUDIO_RATE, AUDIO_RATE * 2, 2, 16, 0)
            ),
        ),
    )
    movi_start = 12 + len(hdrl)  # offset of the 'LIST' header of movi
    movi_type = movi_start + 8  # idx1 offsets count from the 'movi' FourCC

    writes: list[tuple[int, bytes]] = []
    index: list[bytes] = []
    samples: list[Sample] = []
    pos = movi_type + 4
    distance = 0.0
    previous = route.at(route_offset_s)
    pending_last: bytes | None = None
    for k in range(seconds):
        for i in range(fps):
            size = sizes[k * fps + i]
            writes.append((pos, b"00dc" + struct.pack("<I", size)))
            index.append(struct.pack("<4sIII", b"00dc", AVIIF_KEYFRAME, pos - movi_type, size))
            pos += 8 + size + (size & 1)
        if gps:
            when = datetime.fromtimestamp(start_posix + k, tz=UTC)
            point = route.at(route_offset_s + k)
            distance += point.distance - previous.distance
            previous = point
            fixed = k >= no_fix_first_s
            rec = MapcamRecord(
                counter=(k + 1) * fps,
                fixed=fixed,
                satellites=9 + (k // 37) % 4 if fixed else 2,
                when=when,
                lat_e6=round(point.lat * 1e6) if fixed else 0,
                lon_e6=round(point.lon * 1e6) if fixed else 0,
                alt_dm=round(point.ele * 10) if fixed else 0,
                speed_raw=round(point.speed_2d / MPH * 1e6) if fixed else 0,
                unknown36=round(point.course * 100) if fixed else 0,
                distance_raw=round(distance / 1000 * 10_000),
                voltage=12_600 - k * 600 // max(1, seconds) + (40 if rng.random() < 0.05 else 0),
            )
            record = rec.to_bytes()
            samples.append(_sample(rec, k, start_posix))
            if gps_at_end and k == seconds - 1:
                pending_last = record
            else:
                samples[-1]["offset"] = pos
                writes.append((pos, record))
                pos += RECORD_SIZE
        writes.append((pos, b"01wb" + struct.pack("<I", audio_size)))
        index.append(struct.pack("<4sIII", b"01wb", AVIIF_KEYFRAME, pos - movi_type, audio_size))
        pos += 8 + audio_size
    if pending_last is not None:
        samples[-1]["offset"] = pos
        writes.append((pos, pending_last))
        pos += RECORD_SIZE
    movi_end = pos
    idx1 = riff_chunk(b"idx1", b"".join(index))
    riff_size = movi_end + len(idx1) - 8
    if riff_size + 8 > MAX_RIFF:
        raise ValueError("MAP CAM AVIs are AVI 1.0: keep them under 1 GiB")

    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", riff_size) + b"AVI " + hdrl)
        f.write(b"LIST" + struct.pack("<I", movi_end - movi_type) + b"movi")
        for offset, data in writes:
            f.seek(offset)
            f.write(data)
        f.seek(movi_end)
        f.write(idx1)
        f.truncate(movi_end + len(idx1))

    return Footage(
        path=os.fspath(path),
        format="mapcam-avi",
        camera="MAP CAM",
        firmware=None,
        start_utc=start_posix,
        duration=float(seconds),
        gps_stream="mapcam" if gps else None,
        tracks={"mapcam": samples} if gps else {},
        info={
            "movi": {"offset": movi_start, "size": movi_end - movi_start},
            "idx1": {"offset": movi_end, "size": len(idx1)},
            "video_chunks": frames,
            "audio_chunks": seconds,
            "records": len(samples),
            "odd_chunks": odd_chunks,
            "gps_at_end": gps_at_end,
            "video": {"codec": "mjpeg", "width": width, "height": height, "fps": [fps, 1]},
        },
    )


def _sample(rec: MapcamRecord, k: int, start_posix: float) -> Sample:
    """Truth of one record: decoded values plus every raw field."""
    when = rec.when
    raw: dict[str, Any] = {
        "counter": rec.counter,
        "status": list(rec.status),
        "year": when.year,
        "month": when.month,
        "day": when.day,
        "hour": when.hour,
        "minute": when.minute,
        "ms_in_minute": when.second * 1000,
        "lat_e6": rec.lat_e6,
        "lon_e6": rec.lon_e6,
        "alt_dm": rec.alt_dm,
        "speed_raw": rec.speed_raw,
        "unknown36": rec.unknown36,
        "distance_raw": rec.distance_raw,
        "voltage": rec.voltage,
    }
    return {
        "utc": start_posix + k,
        "time": iso_utc(start_posix + k),
        "video_time": float(k),
        "lat": rec.lat_e6 / 1e6,
        "lon": rec.lon_e6 / 1e6,
        "ele": rec.alt_dm / 10,
        "speed_2d": rec.speed_raw / 1e6 * MPH,
        "speed_3d": None,
        "course": rec.unknown36 / 100 if rec.fixed else None,
        "fix": 3 if rec.fixed else 0,
        "dop": None,
        "valid": rec.fixed,
        "distance_km": rec.distance_raw / 10_000,
        "raw": raw,
    }
