"""Whole SD-card trees and the built-in demo footage.

:func:`make_card` fills a directory the way cards look after a few weeks of
use by several cameras (copied side by side, as people do): GoPro folders
``DCIM/100GOPRO`` ... (one camera model per folder, 999 files at most per
folder as GoPro numbers them) with chapters, ``.THM`` thumbnails and ``.LRV``
low-resolution proxies (which carry GPMF too), ``MISC/version.txt``; a
Novatek dashcam's loop recordings in ``DCIM/Movie`` (consecutive clips of one
drive, some locked in ``DCIM/Movie/RO``); a few MAP CAM AVIs. Every video is
a real generator output, so its truth is known.

:func:`make_demo` is the small set ``scripts/run`` mounts when given nothing.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.footage.gopro import gopro_name, make_gopro, make_gopro_recording
from tests.footage.gpmf import profile_for
from tests.footage.mapcam import make_mapcam, mapcam_name
from tests.footage.novatek import make_novatek, novatek_name
from tests.footage.route import Route
from tests.footage.truth import Footage

CARD_START = datetime(2026, 4, 6, 7, 12, 5, tzinfo=UTC)

# One GoPro model per DCIM folder: (folder, model, GPS streams it records).
GOPRO_FOLDERS = (
    ("100GOPRO", "HERO8 Black"),
    ("101GOPRO", "HERO11 Black"),
    ("102GOPRO", "HERO13 Black"),
    ("103GOPRO", "HERO5 Black"),
)

# A 160x120 JPEG is about 8 KB; only its markers matter to anything reading a card.
THM_SIZE = 8192


def write_thumbnail(video: Path) -> Path:
    """The .THM beside ``video``: JPEG SOI + JFIF APP0, zeros, EOI (sparse-free, 8 KB)."""
    jfif = bytes.fromhex("ffd8ffe000104a46494600010100000100010000")
    path = video.with_suffix(".THM")
    path.write_bytes(jfif + b"\0" * (THM_SIZE - len(jfif) - 2) + b"\xff\xd9")
    return path


def _version_txt(model: str, firmware: str, serial: str) -> str:
    """GoPro's MISC/version.txt, a JSON-like text the camera writes at format time."""
    return (
        "{\n"
        '"info version":"1.1",\n'
        f'"firmware version":"{firmware}",\n'
        '"wifi mac":"d89685c0ffee",\n'
        f'"camera type":"{model}",\n'
        f'"camera serial number":"{serial}",\n'
        "}\n"
    )


def make_card(
    directory: str | os.PathLike[str],
    *,
    clips: int = 1000,
    seed: int = 0,
    gopro_clip_s: float = 6.0,
    novatek_clip_s: float = 60.0,
    mapcam_clip_s: float = 10.0,
    lrv: bool = True,
) -> list[Footage]:
    """Fill ``directory`` with ``clips`` video files (chapters count one each).

    About 70 % of the drives are GoPro recordings, 24 % Novatek loop clips
    (one to three consecutive clips), 6 % MAP CAM. Clips are short but their
    mdat is as big as the camera's would be (sparse). Returns every video's
    truth (LRV proxies included), in creation order.
    """
    root = Path(directory)
    rng = random.Random(f"card-{seed}")
    out: list[Footage] = []
    when = CARD_START
    counters = {folder: 0 for folder, _ in GOPRO_FOLDERS}
    novatek_number = 0
    mapcam_number = 0
    drive = 0
    misc = root / "MISC"
    misc.mkdir(parents=True, exist_ok=True)
    (root / "DCIM" / "Photo").mkdir(parents=True, exist_ok=True)
    (root / "Get_started_with_GoPro.url").write_text("[InternetShortcut]\nURL=https://gopro.com/\n")
    made = 0
    while made < clips:
        left = clips - made
        drive += 1
        route = Route(seed=seed * 100_003 + drive)
        pick = rng.random()
        if pick < 0.7:
            folder, model = GOPRO_FOLDERS[rng.randrange(len(GOPRO_FOLDERS))]
            counters[folder] += 1
            number = counters[folder]
            chapters = min(left, 1 if rng.random() < 0.85 else rng.randint(2, 3))
            target = root / "DCIM" / folder
            target.mkdir(parents=True, exist_ok=True)
            recording_args: dict[str, Any] = {
                "duration_s": gopro_clip_s * chapters,
                "chapter_s": gopro_clip_s,
                "number": number,
                "model": model,
                "start_utc": when,
                "seed": seed * 1000 + drive,
                "route": route,
            }
            recording = make_gopro_recording(target, **recording_args)
            out.extend(recording)
            profile = profile_for(model)
            for footage in recording:
                write_thumbnail(Path(footage.path))
            if lrv:  # the proxies: same telemetry, AVC at 2.5 Mb/s
                out.extend(
                    make_gopro_recording(
                        target, proxy=True, video_mbps=2.5, codec="avc", **recording_args
                    )
                )
            serial = str(recording[0].info["serial"])
            (misc / "version.txt").write_text(_version_txt(model, profile.firmware, serial))
            elapsed = sum(f.duration for f in recording)
            made += len(recording)
        elif pick < 0.94:
            movie = root / "DCIM" / "Movie"
            loops = min(left, rng.randint(1, 3))
            offset = 0.0
            for _ in range(loops):
                novatek_number += 1
                locked = rng.random() < 0.08
                clip_dir = movie / "RO" if locked else movie
                clip_dir.mkdir(parents=True, exist_ok=True)
                start = when + timedelta(seconds=offset)
                local = start + timedelta(hours=2)  # the dashcam's clock is set to CEST
                name = novatek_name(local.replace(tzinfo=None), novatek_number % 1000)
                out.append(
                    make_novatek(
                        clip_dir / name,
                        duration_s=novatek_clip_s,
                        start_utc=start,
                        seed=seed * 1000 + drive,
                        route=route,
                        route_offset_s=offset,
                        local_offset_h=2.0,
                        cold_start_s=rng.choice((0, 0, 0, 8)) if offset == 0 else 0,
                    )
                )
                offset += novatek_clip_s
                made += 1
            elapsed = offset
        else:
            mapcam_number += 1
            mapcam_dir = root / "DCIM" / "MAPCAM"
            mapcam_dir.mkdir(parents=True, exist_ok=True)
            out.append(
                make_mapcam(
                    mapcam_dir / mapcam_name(when, mapcam_number),
                    duration_s=mapcam_clip_s,
                    start_utc=when,
                    seed=seed * 1000 + drive,
                    route=route,
                )
            )
            elapsed = mapcam_clip_s
            made += 1
        when += timedelta(seconds=elapsed + rng.uniform(30, 3600))
    return out


def make_demo(directory: str | os.PathLike[str]) -> list[Footage]:
    """The built-in demo: a few files of each kind, quick to make, small on disk.

    - ``DCIM/100GOPRO/GX010001.MP4`` + ``GX020001.MP4``: a HERO8 (GPS5) drive
      of about two minutes in two chapters;
    - ``DCIM/101GOPRO/GX010002.MP4``: a HERO11 clip with GPS5 and GPS9;
    - ``DCIM/Movie/2026_0406_164510_001.MP4``: a Novatek dashcam minute,
      local-time clock, a short loss of fix;
    - ``DCIM/MAPCAM/MC_20260406_150512_0001.AVI``: 30 s of MAP CAM.
    """
    root = Path(directory)
    out: list[Footage] = []
    gopro8 = root / "DCIM" / "100GOPRO"
    gopro11 = root / "DCIM" / "101GOPRO"
    movie = root / "DCIM" / "Movie"
    mapcam = root / "DCIM" / "MAPCAM"
    for d in (gopro8, gopro11, movie, mapcam):
        d.mkdir(parents=True, exist_ok=True)
    start = datetime(2026, 4, 6, 14, 21, 22, tzinfo=UTC)
    out += make_gopro_recording(
        gopro8,
        duration_s=120.0,
        chapter_s=60.0,
        number=1,
        model="HERO8 Black",
        start_utc=start,
        seed=1,
    )
    out.append(
        make_gopro(
            gopro11 / gopro_name(2, model="HERO11 Black"),
            duration_s=30.0,
            model="HERO11 Black",
            start_utc=start + timedelta(minutes=10),
            seed=2,
        )
    )
    novatek_start = datetime(2026, 4, 6, 14, 45, 10, tzinfo=UTC)
    out.append(
        make_novatek(
            movie / novatek_name((novatek_start + timedelta(hours=2)).replace(tzinfo=None), 1),
            duration_s=60.0,
            start_utc=novatek_start,
            local_offset_h=2.0,
            lost_fix_s=[(40.0, 46.0)],
            seed=3,
        )
    )
    mapcam_start = datetime(2026, 4, 6, 15, 5, 12, tzinfo=UTC)
    out.append(
        make_mapcam(
            mapcam / mapcam_name(mapcam_start, 1), duration_s=30.0, start_utc=mapcam_start, seed=4
        )
    )
    return out
