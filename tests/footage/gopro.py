"""GoPro HERO MP4s with a GPMF track, sized like real footage but sparse on disk.

Layout, measured on ``shared/samples/gopro/mp4/karma.mp4`` (an untrimmed
HERO5 file; the trimmed hero5/6/8 samples were re-muxed by ffmpeg and say
nothing about layout):

- ``ftyp`` (mp41), ``mdat`` first, ``moov`` last; ``moov`` = mvhd, udta, then
  traks: video (``vide``, "GoPro AVC", timescale 90000, delta 3003 at
  29.97 fps), audio (``soun``, "GoPro AAC", 48 kHz, 1024 per frame), timecode
  (``tmcd``, "GoPro TCD", one 4-byte sample), GPMF (``meta``, "GoPro MET",
  ``gmhd``/``gpmd``, stsd entry ``gpmd``, mdhd timescale 1000, every stts
  delta 1001: one payload per 1.001 s, the last one too), and on HERO5 the
  "GoPro SOS" ``fdsc`` track (stts delta 0).
- One sample per chunk in every track; mdat interleaves video frames and
  audio frames in time order, and GPMF payload k is written right after the
  frames of its second: before payload k lie exactly 30(k+1) video frames
  and 47(k+1) audio frames in karma.mp4.
- GOP of 8 frames (karma.mp4: 46 sync samples in 362 frames).

Only the GPMF payloads, the 4-byte timecode sample, the headers and moov are
written; video and audio are holes of the right size. Offsets past 4 GiB
switch every track to ``co64`` and mdat to a 64-bit size.

GPS streams: GPS5 at 18 Hz (HERO5..HERO10); HERO11 writes GPS5 and GPS9 from
the same 10 Hz samples (``gopro-telemetry-hero11.raw``: 10/11 of each per
payload); HERO13 writes GPS9 only. GPSU is the UTC time of the payload's first
GPS5 sample; without fix GPSF is 0, GPSP 9999 and the coordinates are a stale
position far from the truth (the HERO8 sample shows GPSF 0 with such values).

Chapters (``make_gopro_recording``): a recording longer than the chapter
length is split into GX01nnnn, GX02nnnn ... (GOPRnnnn, GP01nnnn on HERO5;
GPFRnnnn, GF01nnnn front and GPBKnnnn, GB01nnnn back on Fusion, whose
GPS and IMU are in the front file only: trekview.org, "GoPro camera modes
metadata tests", 2022), continuing the same route, GPS clock and STMP; TSMP
restarts per chapter, as in ``gopro-telemetry-consecutive1/2.raw``. The
chapters share the udta session id of their generation
(:class:`tests.footage.gpmf.Identity`); ``foreign`` gives a chapter another
recording's id, ``proxy`` writes the LRV proxies (same telemetry and udta),
``cut_last`` leaves the last chapter without moov (the battery died).
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

from tests.builders import box
from tests.footage import codecs, gpmf, mp4write
from tests.footage.route import Route, RoutePoint
from tests.footage.truth import Footage, Sample, iso_utc

DEFAULT_START = datetime(2026, 4, 6, 14, 21, 22, tzinfo=UTC)

# GoPro splits recordings into chapters of just under 4 GB (FAT32 limit).
CHAPTER_BYTES = 4_000_000_000

AUDIO_RATE = 48_000
AUDIO_FRAME = 1024  # AAC samples per frame
AUDIO_BYTES = 504  # ~189 kb/s AAC (hero8-trimmed.mp4 esds: 188613 b/s)

# ACCL/GYRO clocks run slightly fast: gpmf-parser's README measured 201.9 Hz
# for "200 Hz"; we use +0.2 %, which with jitter gives 199..202 per payload.
IMU_DRIFT = 1.002

# Days from 1970-01-01 to 2000-01-01 (GPS9 counts days since 2000).
DAYS_1970_2000 = 10_957


def parse_fps(fps: float | Fraction) -> Fraction:
    """Camera frame rates: 29.97 means 30000/1001, 59.94 means 60000/1001, etc."""
    if isinstance(fps, Fraction):
        return fps
    for nominal in (24, 30, 60, 120, 240):
        if abs(fps - nominal * 1000 / 1001) < 0.01:
            return Fraction(nominal * 1000, 1001)
    return Fraction(fps).limit_denominator(1001)


def video_clock(fps: Fraction) -> tuple[int, int]:
    """(timescale, frame delta): 90000/3003 as GoPro writes 29.97, else the exact fraction."""
    if (90_000 * fps.denominator) % fps.numerator == 0:
        return 90_000, 90_000 * fps.denominator // fps.numerator
    return fps.numerator, fps.denominator


def gopro_name(
    number: int,
    chapter: int = 1,
    *,
    model: str = "HERO8 Black",
    codec: str = "hevc",
    lens: str = "front",
    prefix: str = "",
) -> str:
    """GoPro file naming: GX010042.MP4 (HEVC) / GH010042.MP4 (AVC); GOPR0042/GP010042 on HERO5.

    Fusion: GPFR0042/GF010042 (``lens`` "front"), GPBK0042/GB010042 ("back").
    ``prefix``: the file name prefix GoPro Labs firmware can add ("CamA-").
    """
    profile = gpmf.profile_for(model)
    if profile.file_prefix == "GP":
        name = f"GOPR{number:04d}" if chapter == 1 else f"GP{chapter - 1:02d}{number:04d}"
    elif profile.file_prefix == "GF":
        first, later = ("GPFR", "GF") if lens == "front" else ("GPBK", "GB")
        name = f"{first}{number:04d}" if chapter == 1 else f"{later}{chapter - 1:02d}{number:04d}"
    else:
        name = f"{'GX' if codec == 'hevc' else 'GH'}{chapter:02d}{number:04d}"
    return f"{prefix}{name}.MP4"


def lrv_name(name: str) -> str:
    """The low-resolution proxy's name: GX010001.MP4 -> GL010001.LRV (HERO6+), GOPR0001.LRV.

    A GoPro Labs prefix stays in front: CamA-GX010011.MP4 -> CamA-GL010011.LRV.
    """
    stem = name.rsplit(".", 1)[0]
    head, base = stem[:-8], stem[-8:]
    if base[:2] in ("GX", "GH"):
        base = "GL" + base[2:]
    return f"{head}{base}.LRV"


@dataclass
class _Recording:
    """What the chapters of one recording share."""

    profile: gpmf.CameraProfile
    firmware: str
    serial: str
    seed: int
    route: Route
    start: float  # POSIX seconds of the recording's first frame
    gps5: bool
    gps9: bool
    no_fix_first_s: float
    boot_s: float  # camera uptime when recording started (STMP origin)
    local_offset_h: float
    gps_phase5: float
    gps_phase9: float
    stale: tuple[float, float, float]  # where the receiver thinks it is before a fix
    camera_id: bytes  # 16 bytes fixed by the serial
    session: bytes  # 32 bytes: what this recording's chapters share
    foreign: dict[int, bytes] = field(default_factory=dict)  # chapter -> another session

    def identity(self, chapter: int) -> gpmf.Identity:
        """The udta ids of ``chapter``: the recording's session unless ``foreign`` says otherwise."""
        return gpmf.Identity(
            key=self.profile.session_key,
            camera=self.camera_id,
            session=self.foreign.get(chapter, self.session),
            clip=random.Random(f"clip-{self.seed}-{chapter}").randbytes(32),
            chapter=chapter,
            year=datetime.fromtimestamp(self.start, tz=UTC).year,
        )


def _recording(
    *,
    model: str,
    firmware: str | None,
    gps: str | None,
    start_utc: datetime | None,
    seed: int,
    route: Route | None,
    no_fix_first_s: float,
    local_offset_h: float,
    serial: str | None = None,
    foreign: Mapping[int, int] | None = None,
) -> _Recording:
    profile = gpmf.profile_for(model)
    gps = gps or profile.gps
    if gps not in ("gps5", "gps9", "both"):
        raise ValueError(f"gps must be gps5, gps9 or both, not {gps!r}")
    rng = random.Random(f"gopro-{seed}")
    start = (start_utc or DEFAULT_START).timestamp()
    route = route or Route(seed=seed)
    first = route.at(0.0)
    drawn = f"{profile.serial_prefix}{rng.randrange(10**6):06d}"  # drawn anyway: same rng stream
    serial = serial or drawn
    return _Recording(
        profile=profile,
        firmware=firmware or profile.firmware,
        serial=serial,
        seed=seed,
        route=route,
        start=start,
        gps5=gps in ("gps5", "both"),
        gps9=gps in ("gps9", "both"),
        no_fix_first_s=no_fix_first_s,
        boot_s=rng.uniform(20.0, 300.0),
        local_offset_h=local_offset_h,
        gps_phase5=rng.uniform(0.0, 1 / 18),
        gps_phase9=rng.uniform(0.0, 0.1),
        stale=(
            first.lat + rng.uniform(-0.8, 0.8),
            first.lon + rng.uniform(-0.8, 0.8),
            rng.uniform(5000, 9000),
        ),
        camera_id=gpmf.camera_bytes(serial),
        session=gpmf.session_bytes(seed),
        foreign={k: gpmf.session_bytes(v) for k, v in (foreign or {}).items()},
    )


def make_gopro(
    path: str | os.PathLike[str],
    *,
    duration_s: float,
    gps: str | None = None,
    start_utc: datetime | None = None,
    model: str = "HERO8 Black",
    firmware: str | None = None,
    seed: int = 0,
    video_mbps: float = 45.0,
    fps: float | Fraction = 29.97,
    codec: str | None = None,
    moov: bool = True,
    fdsc: bool = False,
    no_fix_first_s: float = 0.0,
    local_offset_h: float = 0.0,
    route: Route | None = None,
) -> Footage:
    """Write one GoPro MP4 of ``duration_s`` seconds at ``path``.

    Args:
        gps: "gps5", "gps9" or "both" (default: what ``model`` records:
            GPS5 up to HERO10, both on HERO11/12, GPS9 on HERO13).
        start_utc: UTC time of the first frame (default 2026-04-06 14:21:22Z).
        model: "HERO5 Black", "HERO8 Black", "HERO11 Black", "HERO13 Black"
            or any other name (then HERO8's behaviour).
        video_mbps: sets the size of the (sparse) video: mdat is as big as a
            real file's.
        moov: False leaves the file as an interrupted recording: mdat only.
        fdsc: add the HERO5 "SOS" fdsc track a parser must ignore.
        no_fix_first_s: the receiver has no fix for the first seconds (GPSF 0,
            GPS9 fix 0, GPSP 9999 and stale coordinates, as real cameras write).
        local_offset_h: the camera clock's offset from UTC (creation times).
        route: the drive to encode (default: ``Route(seed=seed)``).

    Returns:
        What was written: every GPS sample as encoded, payload offsets, counts.
    """
    rec = _recording(
        model=model,
        firmware=firmware,
        gps=gps,
        start_utc=start_utc,
        seed=seed,
        route=route,
        no_fix_first_s=no_fix_first_s,
        local_offset_h=local_offset_h,
    )
    return _write_chapter(
        path,
        rec,
        chapter=1,
        offset_s=0.0,
        duration_s=duration_s,
        video_mbps=video_mbps,
        fps=parse_fps(fps),
        codec=codec,
        moov=moov,
        fdsc=fdsc,
        telemetry=True,
    )


def make_gopro_recording(
    directory: str | os.PathLike[str],
    *,
    duration_s: float,
    number: int = 1,
    chapter_s: float | None = None,
    gps: str | None = None,
    start_utc: datetime | None = None,
    model: str = "HERO8 Black",
    firmware: str | None = None,
    seed: int = 0,
    video_mbps: float = 45.0,
    fps: float | Fraction = 29.97,
    codec: str | None = None,
    fdsc: bool = False,
    no_fix_first_s: float = 0.0,
    local_offset_h: float = 0.0,
    route: Route | None = None,
    serial: str | None = None,
    prefix: str = "",
    lens: str = "front",
    proxy: bool = False,
    cut_last: bool = False,
    foreign: Mapping[int, int] | None = None,
) -> list[Footage]:
    """Write one recording as GoPro chapters (GX01nnnn.MP4, GX02nnnn.MP4 ...) in ``directory``.

    ``chapter_s`` defaults to what fits in 4 GB at ``video_mbps``. Chapters
    hold whole frames; time, route, GPS and STMP run on across them, and they
    share the recording's session id (GUMI, MUID or CPID by generation).

    Args:
        serial: the camera's serial number (CASN), default drawn from ``seed``;
            recordings of one camera share it.
        prefix: a GoPro Labs file name prefix ("CamA-").
        lens: "front" or "back" for a Fusion; the back files carry no GPMF track.
        proxy: write the LRV proxies (GL010042.LRV, AVC at ``video_mbps``)
            instead of the MP4s: same telemetry and udta as the MP4s.
        cut_last: the last chapter ends without moov, as when the battery dies.
        foreign: chapter number -> seed of another recording whose session id
            that chapter carries (a chapter that does not belong).
    """
    rec = _recording(
        model=model,
        firmware=firmware,
        gps=gps,
        start_utc=start_utc,
        seed=seed,
        route=route,
        no_fix_first_s=no_fix_first_s,
        local_offset_h=local_offset_h,
        serial=serial,
        foreign=foreign,
    )
    rate = parse_fps(fps)
    codec = codec or ("avc" if rec.profile.file_prefix in ("GP", "GF") else "hevc")
    if chapter_s is None:
        chapter_s = CHAPTER_BYTES * 8 / (video_mbps * 1e6)
    frames_total = round(duration_s * rate)
    frames_per_chapter = max(1, round(chapter_s * rate))
    out: list[Footage] = []
    done = 0
    chapter = 1
    while done < frames_total:
        frames = min(frames_per_chapter, frames_total - done)
        name = gopro_name(
            number, chapter, model=rec.profile.model, codec=codec, lens=lens, prefix=prefix
        )
        out.append(
            _write_chapter(
                Path(directory) / (lrv_name(name) if proxy else name),
                rec,
                chapter=chapter,
                offset_s=float(done / rate),
                duration_s=float(frames / rate),
                video_mbps=video_mbps,
                fps=rate,
                codec=codec,
                moov=not (cut_last and done + frames >= frames_total),
                fdsc=fdsc,
                telemetry=lens == "front",
            )
        )
        done += frames
        chapter += 1
    return out


# -- one file -------------------------------------------------------------------------


def _frame_sizes(
    count: int, fps: Fraction, video_mbps: float, rng: random.Random
) -> tuple[list[int], list[int]]:
    """Frame sizes with I-frames every GOP (3x a P-frame), and the 1-based sync samples."""
    gop = max(1, round(float(fps) * 8 / 29.97))
    mean = video_mbps * 1e6 / 8 / float(fps)
    p_size = mean * gop / (gop + 2)
    sizes = [0] * count
    for i in range(count):
        base = 3 * p_size if i % gop == 0 else p_size
        sizes[i] = max(64, int(base * rng.uniform(0.85, 1.15)))
    return sizes, list(range(1, count + 1, gop))


def _imu_boundaries(
    hz: float, t0: float, payload_s: float, count: int, rng: random.Random
) -> list[int]:
    """Cumulative sample counts at each payload boundary, with flush jitter of +-1."""
    eff = hz * IMU_DRIFT
    base = math.floor(eff * t0)
    marks = [base]
    for k in range(1, count + 1):
        mark = math.floor(eff * (t0 + k * payload_s)) + rng.choice((-1, 0, 0, 1))
        marks.append(max(marks[-1], mark))
    return marks


def _gps_sample_times(
    hz: float, phase: float, t0: float, duration: float
) -> list[tuple[int, float]]:
    """(global index, recording time) of the receiver's samples inside [t0, t0 + duration)."""
    first = max(0, math.ceil((t0 - phase) * hz - 1e-9))
    out: list[tuple[int, float]] = []
    i = first
    while True:
        r = phase + i / hz
        if r >= t0 + duration:
            return out
        if r >= t0:
            out.append((i, r))
        i += 1


def _dop(t: float, seed: int) -> int:
    """A slowly wandering DOP x100, between about 0.9 and 2.7."""
    phase = (seed % 97) / 7.0
    return round(
        100 * (1.6 + 0.55 * math.sin(t / 97.0 + phase) + 0.25 * math.sin(t / 23.0 + 2 * phase))
    )


def _gps_values(rec: _Recording, point: RoutePoint, fixed: bool) -> tuple[int, int, int, int, int]:
    """lat, lon, alt, 2D and 3D speed in GPS5/GPS9 integer units (stale junk without fix)."""
    if not fixed:
        lat, lon, alt = rec.stale
        return round(lat * 1e7), round(lon * 1e7), round(alt * 1000), 0, 0
    return (
        round(point.lat * 1e7),
        round(point.lon * 1e7),
        round(point.ele * 1000),
        round(point.speed_2d * 1000),
        round(point.speed_3d * 100),
    )


def _write_chapter(
    path: str | os.PathLike[str],
    rec: _Recording,
    *,
    chapter: int,
    offset_s: float,
    duration_s: float,
    video_mbps: float,
    fps: Fraction,
    codec: str | None,
    moov: bool,
    fdsc: bool,
    telemetry: bool,
) -> Footage:
    profile = rec.profile
    codec = codec or ("avc" if profile.file_prefix in ("GP", "GF") else "hevc")
    rng = random.Random(f"gopro-file-{rec.seed}-{chapter}")
    timescale, delta = video_clock(fps)
    n_frames = max(1, round(duration_s * fps))
    duration = float(n_frames / fps)
    payload_ms = 1001 if fps.denominator == 1001 else 1000
    payload_s = payload_ms / 1000
    n_payloads = math.ceil(duration / payload_s - 1e-9)
    n_audio = math.ceil(duration * AUDIO_RATE / AUDIO_FRAME)

    # -- media tracks -------------------------------------------------------------
    sizes, sync = _frame_sizes(n_frames, fps, video_mbps, rng)
    if codec == "hevc":
        entry, width, height = codecs.hvc1_entry(), 3840, 2160
    else:
        entry, width, height = codecs.avc1_entry(), 1920, 1080
    video = mp4write.Track(
        handler=b"vide",
        name="GoPro AVC",
        timescale=timescale,
        sample_entry=entry,
        media_header=mp4write.vmhd(),
        sizes=sizes,
        stts=[(n_frames, delta)],
        chunk_samples=[1] * n_frames,
        sync=sync,
        width=width,
        height=height,
        edit_list=True,
    )
    audio_sizes = [AUDIO_BYTES + rng.randrange(-60, 61) for _ in range(n_audio)]
    audio = mp4write.Track(
        handler=b"soun",
        name="GoPro AAC",
        timescale=AUDIO_RATE,
        sample_entry=codecs.mp4a_entry(),
        media_header=mp4write.smhd(),
        sizes=audio_sizes,
        stts=[(n_audio, AUDIO_FRAME)],
        chunk_samples=[1] * n_audio,
        volume=0x0100,
    )
    fps_round = round(float(fps))
    timecode = mp4write.Track(
        handler=b"tmcd",
        name="GoPro TCD",
        timescale=timescale,
        sample_entry=codecs.tmcd_entry(timescale, delta, fps_round),
        media_header=mp4write.gmhd(mp4write.tmcd_info(), tmcd_style=True),
        sizes=[4],
        stts=[(1, n_frames * delta)],
        chunk_samples=[1],
    )

    # -- telemetry (none in a Fusion's back file) ---------------------------------
    tracks = [video, audio, timecode]
    payloads: list[bytes] = []
    tracks_truth: dict[str, list[Sample]] = {}
    counts: dict[str, int] = {}
    if telemetry:
        payloads, tracks_truth, counts = _payloads(
            rec, chapter, offset_s, duration, payload_s, n_payloads, rng
        )
        tracks.append(
            mp4write.Track(
                handler=b"meta",
                name="GoPro MET",
                timescale=1000,
                sample_entry=codecs.gpmd_entry(),
                media_header=mp4write.gmhd(box(b"gpmd", b"\0" * 4)),
                sizes=[len(p) for p in payloads],
                stts=[(n_payloads, payload_ms)],
                chunk_samples=[1] * n_payloads,
            )
        )

    # -- interleave: (time, priority, track, size, bytes) ---------------------------
    frame_s = 1 / float(fps)
    video_pieces: list[mp4write.Piece] = [(i * frame_s, 0, 0, s, None) for i, s in enumerate(sizes)]
    audio_pieces: list[mp4write.Piece] = [
        (j * AUDIO_FRAME / AUDIO_RATE, 1, 1, s, None) for j, s in enumerate(audio_sizes)
    ]
    local = rec.start + offset_s + rec.local_offset_h * 3600
    seconds_of_day = local % 86400
    tc_frame = int(seconds_of_day * fps_round)
    tc_piece: mp4write.Piece = (0.0, 2, 2, 4, tc_frame.to_bytes(4, "big"))
    gpmf_pieces: list[mp4write.Piece] = [
        (min((k + 1) * payload_s, duration), 3, 3, len(p), p) for k, p in enumerate(payloads)
    ]
    groups: list[list[mp4write.Piece]] = [video_pieces, audio_pieces, [tc_piece], gpmf_pieces]
    if fdsc:
        # HERO5's SOS track: two header samples at the very start, then one small
        # sample per second (karma.mp4: 300, 152, then 16-byte samples).
        fdsc_sizes = [300, 152] + [16] * math.ceil(duration)
        index = len(tracks)
        fdsc_pieces: list[mp4write.Piece] = [
            (-1.0, 0, index, 300, None),
            (-1.0, 0, index, 152, None),
        ]
        fdsc_pieces += [(k + 0.5, 0, index, 16, None) for k in range(math.ceil(duration))]
        tracks.append(
            mp4write.Track(
                handler=b"meta",
                name="GoPro SOS",
                timescale=timescale,
                sample_entry=codecs.fdsc_entry(),
                media_header=mp4write.gmhd(box(b"fdsc")),
                sizes=fdsc_sizes,
                stts=[(len(fdsc_sizes), 0)],
                chunk_samples=[1] * len(fdsc_sizes),
            )
        )
        groups.append(fdsc_pieces)
    pieces = mp4write.order_pieces(groups)

    # ftyp as karma.mp4: major mp41, minor 0x20131018, compatible mp41.
    ftyp = box(b"ftyp", b"mp41" + (0x20131018).to_bytes(4, "big") + b"mp41")
    plan = mp4write.layout(pieces, tracks, len(ftyp))
    created = mp4write.mac_time(datetime.fromtimestamp(local, tz=UTC).replace(tzinfo=None))
    tail = b""
    identity = rec.identity(chapter)
    if moov:
        udta = gpmf.udta(profile, firmware=rec.firmware, serial=rec.serial, identity=identity)
        # mvhd says the video's duration; the GPMF track runs to its last
        # payload's end, past it (karma.mp4: 12.079 s movie, 13.013 s gpmd).
        tail = mp4write.moov(
            tracks,
            created=created,
            movie_timescale=timescale,
            large=plan.large,
            udta=udta,
            duration=video.duration,
        )
    mp4write.write_file(path, ftyp, plan, tail)

    info = {
        "chapter": chapter,
        "recording_offset": offset_s,
        "serial": rec.serial,
        "moov": moov,
        "co64": plan.large and moov,
        "mdat": {"offset": plan.mdat_offset, "size": plan.mdat_end - plan.mdat_offset},
        "video": {
            "codec": codec,
            "width": width,
            "height": height,
            "fps": [fps.numerator, fps.denominator],
            "frames": n_frames,
            "timescale": timescale,
        },
        "audio_frames": n_audio,
        "gpmf": {
            "timescale": 1000,
            "sample_delta": payload_ms,
            "payloads": [
                {"offset": o, "size": len(p), "time": k * payload_s, "duration": payload_s}
                for k, (o, p) in enumerate(zip(tracks[3].offsets, payloads, strict=True))
            ],
        }
        if telemetry
        else None,
        "stream_counts": counts,
        "fdsc": fdsc,
        # What udta says (nothing without moov): the session id is what chapters share.
        "session": {"key": identity.key, "id": identity.shared.hex()} if moov else None,
        "udta": {
            "MUID": identity.media_uid.hex(),
            "GUMI": identity.gumi.hex(),
            "CPID": identity.capture_id.hex() if identity.capture_id else None,
            "CPIN": chapter if identity.capture_id else None,
        }
        if moov
        else None,
        "foreign_identity": chapter in rec.foreign,
    }
    preferred = "GPS9" if rec.gps9 else "GPS5"
    return Footage(
        path=os.fspath(path),
        format="gopro-mp4",
        camera=profile.model,
        firmware=rec.firmware,
        start_utc=rec.start + offset_s,
        duration=duration,
        gps_stream=preferred if telemetry else None,
        tracks=tracks_truth,
        info=info,
    )


def _payloads(
    rec: _Recording,
    chapter: int,
    t0: float,
    duration: float,
    payload_s: float,
    n_payloads: int,
    rng: random.Random,
) -> tuple[list[bytes], dict[str, list[Sample]], dict[str, int]]:
    """Build every GPMF payload of one file and the truth of its GPS samples."""
    profile = rec.profile
    accl_marks = _imu_boundaries(profile.accl_hz, t0, payload_s, n_payloads, rng)
    gyro_marks = _imu_boundaries(profile.gyro_hz, t0, payload_s, n_payloads, rng)
    accl_table = gpmf.imu_table(rec.seed, "ACCL", profile.accl_scale)
    gyro_table = gpmf.imu_table(rec.seed, "GYRO", profile.gyro_scale)

    def by_payload(hz: float, phase: float) -> list[list[tuple[int, float]]]:
        groups: list[list[tuple[int, float]]] = [[] for _ in range(n_payloads)]
        for i, r in _gps_sample_times(hz, phase, t0, duration):
            groups[min(n_payloads - 1, int((r - t0) / payload_s))].append((i, r))
        return groups

    gps9_groups = by_payload(profile.gps9_hz or 10.0, rec.gps_phase9) if rec.gps9 else None
    if rec.gps5 and gps9_groups is not None:
        # One receiver feeds both streams: HERO11 writes the same 10 Hz samples twice.
        gps5_groups: list[list[tuple[int, float]]] | None = gps9_groups
    else:
        gps5_groups = by_payload(profile.gps5_hz or 18.0, rec.gps_phase5) if rec.gps5 else None
    truth: dict[str, list[Sample]] = {}
    if rec.gps5:
        truth["GPS5"] = []
    if rec.gps9:
        truth["GPS9"] = []
    tsmp5 = tsmp9 = 0
    payloads: list[bytes] = []
    for k in range(n_payloads):
        start = t0 + k * payload_s
        fixed = start >= rec.no_fix_first_s
        tick_ms = round((rec.boot_s + start) * 1000) & 0xFFFFFFFF
        temperature = 38.0 + 12.0 * (1 - math.exp(-start / 600.0))
        streams = []
        for key, marks, table, hz in (
            (b"ACCL", accl_marks, accl_table, profile.accl_hz),
            (b"GYRO", gyro_marks, gyro_table, profile.gyro_hz),
        ):
            count = marks[k + 1] - marks[k]
            streams.append(
                gpmf.imu_stream(
                    profile,
                    key,
                    samples=gpmf.imu_window(table, count, k + 1000 * chapter),
                    count=count,
                    tsmp=marks[k + 1] - marks[0],
                    stmp_us=round((rec.boot_s + marks[k] / (hz * IMU_DRIFT)) * 1e6),
                    tick_ms=tick_ms,
                    temperature=temperature,
                )
            )
        dop = _dop(start, rec.seed) if fixed else gpmf.NO_FIX_DOP
        fix = 3 if fixed else 0
        if gps5_groups is not None and gps5_groups[k]:
            group = gps5_groups[k]
            tsmp5 += len(group)
            gpsu_ms = round((rec.start + group[0][1]) * 1000)
            records5 = []
            for idx, (_, r) in enumerate(group):
                point = rec.route.at(r)
                values = _gps_values(rec, point, fixed)
                records5.append(values)
                truth["GPS5"].append(
                    _sample(
                        rec, values, r, t0, fix=fix, dop=dop, payload=k, index=idx, gpsu_ms=gpsu_ms
                    )
                )
            streams.append(
                gpmf.gps5_stream(
                    profile,
                    records=records5,
                    tsmp=tsmp5,
                    stmp_us=round((rec.boot_s + group[0][1]) * 1e6),
                    tick_ms=tick_ms,
                    fix=fix,
                    dop=dop,
                    gpsu=gpmf.gpsu_string(gpsu_ms),
                )
            )
        if gps9_groups is not None and gps9_groups[k]:
            group = gps9_groups[k]
            tsmp9 += len(group)
            records9 = []
            for idx, (_, r) in enumerate(group):
                point = rec.route.at(r)
                values = _gps_values(rec, point, fixed)
                utc_ms = round((rec.start + r) * 1000)
                days, ms = divmod(utc_ms, 86_400_000)
                full = (*values, days - DAYS_1970_2000, ms, dop, fix)
                records9.append(full)
                truth["GPS9"].append(
                    _sample(rec, full, r, t0, fix=fix, dop=dop, payload=k, index=idx)
                )
            streams.append(
                gpmf.gps9_stream(
                    profile,
                    records=records9,
                    tsmp=tsmp9,
                    stmp_us=round((rec.boot_s + group[0][1]) * 1e6),
                )
            )
        payloads.append(gpmf.devc(profile, *streams, tick_ms=tick_ms))
    counts = {"ACCL": accl_marks[-1] - accl_marks[0], "GYRO": gyro_marks[-1] - gyro_marks[0]}
    counts.update({name: len(samples) for name, samples in truth.items()})
    return payloads, truth, counts


def _sample(
    rec: _Recording,
    raw: tuple[int, ...],
    r: float,
    t0: float,
    *,
    fix: int,
    dop: int,
    payload: int,
    index: int,
    gpsu_ms: int | None = None,
) -> Sample:
    """The truth of one GPS5/GPS9 sample, decoded from the integers written."""
    utc_ms = round((rec.start + r) * 1000)
    sample: Sample = {
        "utc": utc_ms / 1000,
        "time": iso_utc(utc_ms / 1000),
        "video_time": round(r - t0, 6),
        "lat": raw[0] / 1e7,
        "lon": raw[1] / 1e7,
        "ele": raw[2] / 1000,
        "speed_2d": raw[3] / 1000,
        "speed_3d": raw[4] / 100,
        "course": None,
        "fix": fix,
        "dop": dop / 100,
        "valid": fix >= 2,
        "payload": payload,
        "index": index,
        "raw": list(raw),
    }
    if gpsu_ms is not None:
        sample["gpsu"] = gpsu_ms / 1000
    return sample
