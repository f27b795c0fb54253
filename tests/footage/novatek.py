"""Novatek dashcam MP4/MOV files with 'freeGPS' blocks and the moov 'gps ' index.

Format (``shared/seeds/novatek-mp4-gps-article.txt``, FORMAT-NOTES.md
"Novatek layouts", ExifTool 12.57 ``QuickTimeStream.pl`` ProcessFreeGPS):

- once per second the camera writes, between its media chunks inside mdat, a
  4096-byte box: size, ``free``, ``GPS ``, LE u32 76, 32 zero bytes, then at
  offset 48 the record: hour, minute, second, year (two digits), month, day
  as LE u32; status ``A`` (fix) or ``V``; latitude hemisphere; longitude
  hemisphere; one unknown byte (0); latitude and longitude as LE float32 in
  DDDmm.mmmm; speed in knots and bearing in degrees, LE float32. This is the
  Viofo A119S layout of ``novatek-blocks/33-viofo-a119s.bin``.
- ``moov`` holds a ``gps `` box: 8 header bytes, then big-endian (offset,
  size) pairs, one per block. The article calls the header "version and build
  date"; ExifTool reads its bytes 4..7 as the entry count, so we write a
  version (1) and the count.
- No fix: status ``V``. During a cold start the receiver has nothing: ``V``,
  hemispheres ``0``/``0`` and zero coordinates, as in the real Viofo A119
  Mini 2 cold-start blocks of ``dashcam/dashcamigo``; when the fix is lost
  later we write ``V`` with the last known position (so a parser that
  ignores the status gets plausible but wrong points).
- The camera's clock may be local time (``local_offset_h``); the record then
  holds local time, which a parser cannot tell from UTC.

File names: Novatek's default ``2026_0406_142122_001.MP4`` and Viofo's
``20260406142122_000022F.MP4`` (local time of the first frame); two-channel
cameras add the channel letter (``2026_0406_142122_001F.MP4`` front,
``..._001R.MP4`` rear). ``gps=False`` writes a clip without GPS blocks or
index, as a rear channel whose camera keeps the GPS in the front file.
"""

from __future__ import annotations

import math
import os
import random
import struct
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from tests.builders import box
from tests.footage import codecs, mp4write
from tests.footage.route import Route
from tests.footage.truth import Footage, Sample, iso_utc

DEFAULT_START = datetime(2026, 4, 6, 14, 21, 22, tzinfo=UTC)

BLOCK_SIZE = 4096  # the article's dump: 00 00 10 00 'free' 'GPS '
RECORD_OFFSET = 48  # current layout (article comments; A119S block)
HEADER_VALUE = 76  # LE u32 at offset 12 in the article's dump ("GPS L")

KNOT = 1852 / 3600  # m/s per knot

AUDIO_RATE = 32_000
AUDIO_FRAME = 1024
AUDIO_FRAMES_PER_CHUNK = 8  # several AAC frames per chunk: stsc with more than one run


def novatek_name(
    start_local: datetime,
    number: int,
    *,
    style: str = "novatek",
    ext: str = "MP4",
    channel: str = "",
) -> str:
    """``2026_0406_142122_001.MP4`` (Novatek; ``_001F``/``_001R`` with a channel) or Viofo's
    ``20260406142122_000022F.MP4``."""
    if style == "viofo":
        return f"{start_local:%Y%m%d%H%M%S}_{number:06d}{channel or 'F'}.{ext}"
    return f"{start_local:%Y_%m%d_%H%M%S}_{number:03d}{channel}.{ext}"


def ddmm(value: float) -> float:
    """Degrees to the DDDmm.mmmm form, rounded to float32 as the camera stores it."""
    a = abs(value)
    deg = int(a)
    return f32(deg * 100 + (a - deg) * 60)


def from_ddmm(value: float) -> float:
    """DDDmm.mmmm back to degrees, as ExifTool's ConvertLatLon does it."""
    deg = int(value / 100)
    return deg + (value - deg * 100) / 60


def f32(value: float) -> float:
    """The float32 nearest to ``value``, as a Python float."""
    result: float = struct.unpack("<f", struct.pack("<f", value))[0]
    return result


def record_block(
    when: datetime,
    status: bytes,
    lat_hemi: bytes,
    lon_hemi: bytes,
    lat: float,
    lon: float,
    knots: float,
    bearing: float,
) -> bytes:
    """One 4096-byte ``free`` box holding one offset-48 GPS record."""
    head = struct.pack(">I4s4s", BLOCK_SIZE, b"free", b"GPS ") + struct.pack("<I", HEADER_VALUE)
    head += b"\0" * (RECORD_OFFSET - len(head))
    record = (
        struct.pack(
            "<6I", when.hour, when.minute, when.second, when.year % 100, when.month, when.day
        )
        + status
        + lat_hemi
        + lon_hemi
        + b"\0"
        + struct.pack("<4f", lat, lon, knots, bearing)
    )
    return (head + record).ljust(BLOCK_SIZE, b"\0")


def gps_index(entries: Sequence[tuple[int, int]]) -> bytes:
    """The moov ``gps `` box: version, entry count, then (offset, size) pairs, big-endian."""
    body = struct.pack(">II", 1, len(entries))
    body += b"".join(struct.pack(">II", o, s) for o, s in entries)
    return box(b"gps ", body)


def _in_any(t: float, spans: Sequence[tuple[float, float]]) -> bool:
    return any(a <= t < b for a, b in spans)


def make_novatek(
    path: str | os.PathLike[str],
    *,
    duration_s: float = 180.0,
    start_utc: datetime | None = None,
    index: bool = True,
    container: str = "mp4",
    lost_fix_s: Sequence[tuple[float, float]] = (),
    cold_start_s: float = 0.0,
    local_offset_h: float = 0.0,
    seed: int = 0,
    video_mbps: float = 20.0,
    fps: int = 30,
    route: Route | None = None,
    route_offset_s: float = 0.0,
    camera: str = "Viofo A119 V3",
    gps: bool = True,
) -> Footage:
    """Write one Novatek dashcam clip with one GPS record per second.

    Args:
        start_utc: UTC time of the first frame (whole seconds; the fraction is dropped).
        index: write the moov ``gps `` index (False: the blocks are only in mdat).
        container: "mp4" or "mov" (QuickTime ftyp ``qt  ``).
        lost_fix_s: (start, end) spans, in seconds of this clip, without fix.
        cold_start_s: the first seconds have no fix and no coordinates at all.
        local_offset_h: the camera clock runs at UTC + this many hours.
        route, route_offset_s: the drive, and where in it this clip starts
            (consecutive loop-recording clips continue one drive).
        gps: False writes no GPS blocks and no index (a rear channel).
    """
    if container not in ("mp4", "mov"):
        raise ValueError(f"container must be mp4 or mov, not {container!r}")
    rng = random.Random(f"novatek-{seed}-{route_offset_s}")
    start = (start_utc or DEFAULT_START).replace(microsecond=0)
    start_posix = start.timestamp()
    route = route or Route(seed=seed)
    n_frames = max(1, round(duration_s * fps))
    duration = n_frames / fps
    n_seconds = math.ceil(duration)
    frame_mean = video_mbps * 1e6 / 8 / fps

    # -- GPS records ------------------------------------------------------------------
    blocks: list[bytes] = []
    samples: list[Sample] = []
    last = (b"N", b"E", 0.0, 0.0, 0.0)
    for k in range(n_seconds if gps else 0):
        utc = start_posix + k
        camera_time = datetime.fromtimestamp(utc, tz=UTC) + timedelta(hours=local_offset_h)
        point = route.at(route_offset_s + k)
        if k < cold_start_s:
            status, lat_h, lon_h, lat, lon, knots, bearing = b"V", b"0", b"0", 0.0, 0.0, 0.0, 0.0
        else:
            fix = (
                b"N" if point.lat >= 0 else b"S",
                b"E" if point.lon >= 0 else b"W",
                ddmm(point.lat),
                ddmm(point.lon),
                f32(point.speed_2d / KNOT),
            )
            if _in_any(k, lost_fix_s):
                status, (lat_h, lon_h, lat, lon, knots) = b"V", last
                bearing = f32(samples[-1]["course"] or 0.0) if samples else 0.0
            else:
                status, (lat_h, lon_h, lat, lon, knots) = b"A", fix
                bearing = f32(point.course)
                last = fix
        blocks.append(record_block(camera_time, status, lat_h, lon_h, lat, lon, knots, bearing))
        sign_lat = -1 if lat_h == b"S" else 1
        sign_lon = -1 if lon_h == b"W" else 1
        samples.append(
            {
                "utc": float(utc),
                "time": iso_utc(utc),
                "camera_time": camera_time.replace(tzinfo=None).isoformat(),
                "video_time": float(k),
                "lat": sign_lat * from_ddmm(lat),
                "lon": sign_lon * from_ddmm(lon),
                "ele": None,
                "speed_2d": knots * KNOT,
                "speed_3d": None,
                "course": bearing,
                "fix": None,
                "dop": None,
                "valid": status == b"A",
                "raw": {
                    "hour": camera_time.hour,
                    "minute": camera_time.minute,
                    "second": camera_time.second,
                    "year": camera_time.year % 100,
                    "month": camera_time.month,
                    "day": camera_time.day,
                    "status": status.decode(),
                    "lat_hemisphere": lat_h.decode(),
                    "lon_hemisphere": lon_h.decode(),
                    "lat_ddmm": lat,
                    "lon_ddmm": lon,
                    "speed_knots": knots,
                    "bearing": bearing,
                },
            }
        )

    # -- tracks and interleaving ---------------------------------------------------------
    gop = fps  # one I-frame per second
    sizes = [
        max(
            64,
            int(
                frame_mean
                * (2.5 if i % gop == 0 else 1.0)
                * rng.uniform(0.85, 1.15)
                * gop
                / (gop + 1.5)
            ),
        )
        for i in range(n_frames)
    ]
    video = mp4write.Track(
        handler=b"vide",
        name="Video Media Handler",
        timescale=fps * 1000,
        sample_entry=codecs.avc1_entry(compressor="AVC Coding"),
        media_header=mp4write.vmhd(),
        sizes=sizes,
        stts=[(n_frames, 1000)],
        chunk_samples=[1] * n_frames,
        sync=list(range(1, n_frames + 1, gop)),
        width=1920,
        height=1080,
    )
    n_audio = math.ceil(duration * AUDIO_RATE / AUDIO_FRAME)
    audio_sizes = [180 + rng.randrange(-20, 21) for _ in range(n_audio)]
    chunks = [
        min(AUDIO_FRAMES_PER_CHUNK, n_audio - i) for i in range(0, n_audio, AUDIO_FRAMES_PER_CHUNK)
    ]
    audio = mp4write.Track(
        handler=b"soun",
        name="Sound Media Handler",
        timescale=AUDIO_RATE,
        sample_entry=codecs.mp4a_entry(
            sample_rate=AUDIO_RATE, channels=1, bitrate=48_000, config=codecs.AAC_LC_32K_MONO
        ),
        media_header=mp4write.smhd(),
        sizes=audio_sizes,
        stts=[(n_audio, AUDIO_FRAME)],
        chunk_samples=chunks,
        volume=0x0100,
    )
    frame_s = 1 / fps
    video_pieces: list[mp4write.Piece] = [(i * frame_s, 0, 0, s, None) for i, s in enumerate(sizes)]
    audio_pieces: list[mp4write.Piece] = []
    for c, first in enumerate(range(0, n_audio, AUDIO_FRAMES_PER_CHUNK)):
        size = sum(audio_sizes[first : first + chunks[c]])
        audio_pieces.append((first * AUDIO_FRAME / AUDIO_RATE, 1, 1, size, None))
    gps_pieces: list[mp4write.Piece] = [
        (min(k + 1.0, duration), 2, -1, BLOCK_SIZE, b) for k, b in enumerate(blocks)
    ]
    pieces = mp4write.order_pieces([video_pieces, audio_pieces, gps_pieces])
    if container == "mov":
        ftyp = box(b"ftyp", b"qt  " + (0x20050300).to_bytes(4, "big") + b"qt  ")
    else:
        ftyp = box(b"ftyp", b"isom" + (0x200).to_bytes(4, "big") + b"isomavc1mp41")
    plan = mp4write.layout(pieces, [video, audio], len(ftyp))
    if plan.large:
        raise ValueError("Novatek clips are limited to 4 GiB (32-bit gps index offsets)")
    for offset, sample in zip(plan.untracked, samples, strict=True):
        sample["offset"] = offset
    local_start = datetime.fromtimestamp(start_posix, tz=UTC) + timedelta(hours=local_offset_h)
    created = mp4write.mac_time(local_start.replace(tzinfo=None))
    extra = gps_index([(o, BLOCK_SIZE) for o in plan.untracked]) if index and gps else b""
    tail = mp4write.moov(
        [video, audio], created=created, movie_timescale=1000, large=False, extra=extra
    )
    mp4write.write_file(path, ftyp, plan, tail)
    return Footage(
        path=os.fspath(path),
        format=f"novatek-{container}",
        camera=camera,
        firmware=None,
        start_utc=start_posix,
        duration=duration,
        gps_stream="novatek" if gps else None,
        tracks={"novatek": samples} if gps else {},
        info={
            "index": index,
            "container": container,
            "local_offset_h": local_offset_h,
            "cold_start_s": cold_start_s,
            "lost_fix_s": [list(s) for s in lost_fix_s],
            "block_size": BLOCK_SIZE,
            "record_offset": RECORD_OFFSET,
            "blocks": len(blocks),
            "mdat": {"offset": plan.mdat_offset, "size": plan.mdat_end - plan.mdat_offset},
            "video": {
                "codec": "avc",
                "width": 1920,
                "height": 1080,
                "fps": [fps, 1],
                "frames": n_frames,
            },
        },
    )
