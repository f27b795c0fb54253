"""A card of recordings to join, with the truth of every join: :func:`make_recordings_card`.

The ``recordings/`` view joins GoPro chapters and dashcam loop segments into
one folder with one track. This card holds one case of each difficulty the
view meets, every file a real generator output (sparse), so the truth of each
recording is known part by part:

GoPro (20 s chapters; chapters share their generation's udta session id,
see :class:`tests.footage.gpmf.Identity`):

- ``DCIM/100GOPRO/GX0042``: HERO8 (GUMI), 3 chapters, the third spilled
  into ``DCIM/101GOPRO``; a ``.THM`` and a ``.LRV`` beside every chapter.
- ``DCIM/101GOPRO/GX0043``: HERO8, same camera, 2 chapters; the battery
  died in the second (shorter, no moov, so no udta id either).
- ``DCIM/102GOPRO/GX0051``: HERO11 (MUID), 3 chapters, LRVs beside all;
  ``GX020051.MP4`` is gone, its ``GL020051.LRV`` stands in (same telemetry).
- ``DCIM/102GOPRO/GX0052``: HERO11, 4 chapters, chapters 1 and 3 gone
  entirely: the join of chapters 2 and 4 has a 20 s gap.
- ``DCIM/103GOPRO/GX0061``: HERO13 (CPID/CPIN), 2 chapters.
- ``DCIM/103GOPRO/GX0062``: HERO13, 2 chapters, but ``GX020062.MP4``
  carries another capture's CPID: the clocks run on, the identities differ;
  the recording is chapter 1 alone and ``GX020062.MP4`` is :attr:`RecordingsCard.unjoined`.
- ``DCIM/104GOPRO/GOPR0007``: HERO5, ``GOPR0007``, ``GP010007``, ``GP020007``.
- ``DCIM/100GFRNT/GPFR0009`` and ``DCIM/100GBACK/GPBK0009``: a Fusion
  capture, front ``GPFR0009`` + ``GF010009``, back ``GPBK0009`` +
  ``GB010009`` (the two lenses' folders, as on its two cards). Both halves
  share the session id; only the front carries GPMF (no GPS in the back).
- ``DCIM/105GOPRO/CamA-GX0011`` and ``DCIM/105GOPRO/CamB-GX0011``: two
  HERO11s with GoPro Labs name prefixes, same file number, overlapping in
  time; CamA 2 chapters, CamB 1.

Dashcam, a two-channel Novatek camera laid out the Viofo way (loop clips in
``DCIM/Movie``, a G-sensor event locks the running clip into
``DCIM/Movie/RO``, parking-mode clips in ``DCIM/Movie/Parking``), names
``YYYY_MMDD_HHMMSS_NNNF.MP4`` / ``...R.MP4`` in the camera's local clock
(UTC+2); the rear channel has no GPS (the camera keeps it in the front file):

- ``DCIM/Movie/2026-04-06_092000_F`` and ``..._R``: drive 1, four one-minute
  segments; the third was locked by an event and lives in ``RO``;
- ``DCIM/Movie/2026-04-06_093400_F`` and ``..._R``: a 30 s parking clip, the
  car standing where drive 1 ended (its own recording: another mode);
- ``DCIM/Movie/2026-04-06_095400_F`` and ``..._R``: drive 2, three segments,
  30 minutes after drive 1 ended, continuing the same route;
- ``DCIM/Movie/RO/2026_0406_092100_002F.MP4``: a locked copy of drive 1's
  second front segment, byte for byte (:attr:`RecordingsCard.duplicates`).

Expected folders: GoPro ``<folder of the lowest present chapter>/<family><number>``,
dashcam ``DCIM/Movie/<YYYY-MM-DD_HHMMSS of the first segment's name>_<channel>``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.footage.card import write_thumbnail
from tests.footage.gopro import make_gopro_recording
from tests.footage.novatek import make_novatek, novatek_name
from tests.footage.route import Route, RoutePoint
from tests.footage.truth import Footage

DAY_START = datetime(2026, 4, 6, 6, 30, tzinfo=UTC)
CHAPTER_S = 20.0  # short chapters: the view's tests care about joins, not length
SEGMENT_S = 60.0  # the dashcam's loop length
DASHCAM = "Viofo A129 Duo"
DASHCAM_CLOCK_H = 2.0  # the dashcam's clock runs on CEST
LRV_MBPS = 2.5  # GoPro proxies: low-bitrate AVC

# A join "shows a track gap" when video time is missing between its parts;
# consecutive chapters and segments abut exactly (0 s).
GAP_S = 1.0


@dataclass
class Part:
    """One file of a recording, in order."""

    path: str  # relative to the card root, POSIX separators
    role: str  # "main", "lrv-fallback", "event" or "parking"
    chapter: int  # GoPro chapter number, or the segment's place in the drive (1-based)
    footage: Footage

    @property
    def gps_samples(self) -> int:
        """GPS samples the file holds (its preferred stream: GPS9 over GPS5), valid or not."""
        return len(self.footage.samples)

    @property
    def end_utc(self) -> float:
        return self.footage.start_utc + self.footage.duration


@dataclass
class Join:
    """Two consecutive parts of a recording and what lies between them."""

    before: str
    after: str
    gap_s: float  # video time missing between the end of ``before`` and the start of ``after``
    gps_step_s: float | None  # first GPS sample of ``after`` minus the last of ``before``

    @property
    def track_gap(self) -> bool:
        """The joined track must show a gap here (a chapter or segment is missing)."""
        return self.gap_s > GAP_S


@dataclass
class RecordingTruth:
    """One folder the ``recordings/`` view must show, and what it joins."""

    folder: str  # e.g. "DCIM/100GOPRO/GX0042", "DCIM/Movie/2026-04-06_092000_F"
    kind: str  # "gopro" or "dashcam"
    camera: str
    parts: list[Part]
    missing: list[int] = field(default_factory=list)  # chapter numbers absent from the card
    session: dict[str, str] | None = None  # {"key": "GUMI", "id": hex} of its chapters
    channel: str | None = None  # dashcam "F" or "R"

    @property
    def paths(self) -> list[str]:
        return [p.path for p in self.parts]

    @property
    def gps_counts(self) -> list[int]:
        return [p.gps_samples for p in self.parts]

    @property
    def gps_total(self) -> int:
        return sum(self.gps_counts)

    @property
    def valid_total(self) -> int:
        return sum(len(p.footage.valid_samples) for p in self.parts)

    @property
    def utc_span(self) -> tuple[float, float] | None:
        """UTC of the first and the last GPS sample of the joined track (None: no GPS)."""
        utcs = [s["utc"] for p in self.parts for s in p.footage.samples]
        return (utcs[0], utcs[-1]) if utcs else None

    @property
    def video_duration(self) -> float:
        return sum(p.footage.duration for p in self.parts)

    @property
    def joins(self) -> list[Join]:
        out = []
        for a, b in zip(self.parts, self.parts[1:], strict=False):
            last, first = a.footage.samples[-1:], b.footage.samples[:1]
            step = first[0]["utc"] - last[0]["utc"] if last and first else None
            out.append(Join(a.path, b.path, b.footage.start_utc - a.end_utc, step))
        return out

    @property
    def track_gaps(self) -> list[Join]:
        return [j for j in self.joins if j.track_gap]

    def to_json(self) -> dict[str, Any]:
        return {
            "folder": self.folder,
            "kind": self.kind,
            "camera": self.camera,
            "channel": self.channel,
            "session": self.session,
            "missing": self.missing,
            "parts": [
                {
                    "path": p.path,
                    "role": p.role,
                    "chapter": p.chapter,
                    "gps_samples": p.gps_samples,
                    "start_utc": p.footage.start_utc,
                    "duration": p.footage.duration,
                }
                for p in self.parts
            ],
            "gps_total": self.gps_total,
            "valid_total": self.valid_total,
            "utc_span": self.utc_span,
            "video_duration": self.video_duration,
            "joins": [dict(dataclasses.asdict(j), track_gap=j.track_gap) for j in self.joins],
        }


@dataclass
class RecordingsCard:
    """The card's tree and the truth of every recording on it."""

    root: Path
    recordings: list[RecordingTruth]
    unjoined: list[str]  # files that must not join a recording (another session's chapter)
    duplicates: dict[str, str]  # locked copy -> the clip it copies byte for byte
    footage: list[Footage]  # every video on the card (LRVs included), in creation order

    def recording(self, folder: str) -> RecordingTruth:
        """The expected recording at ``folder`` (relative to ``recordings/``)."""
        return next(r for r in self.recordings if r.folder == folder)

    def to_json(self) -> dict[str, Any]:
        return {
            "generator": "tests.footage.recordings",
            "root": os.fspath(self.root),
            "recordings": [r.to_json() for r in self.recordings],
            "unjoined": self.unjoined,
            "duplicates": self.duplicates,
        }

    def write_json(self, path: str | os.PathLike[str]) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, indent=1)
            f.write("\n")


class _Parked(Route):
    """Where a drive ended, the car standing still (a parking-mode clip)."""

    def __init__(self, point: RoutePoint) -> None:
        super().__init__()
        self._point = point

    def at(self, t: float) -> RoutePoint:
        return dataclasses.replace(self._point, t=t, speed_2d=0.0, speed_3d=0.0)


class _Builder:
    """Writes the card's files and keeps paths relative to its root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.footage: list[Footage] = []

    def rel(self, footage: Footage) -> str:
        return Path(footage.path).relative_to(self.root).as_posix()

    def gopro(
        self,
        folder: str,
        model: str,
        number: int,
        duration_s: float,
        slot: float,
        *,
        seed: int | None = None,
        lrv: bool = False,
        **kwargs: Any,
    ) -> tuple[list[Footage], list[Footage]]:
        """One recording (chapters, LRV proxies) in ``DCIM/<folder>``, ``slot`` x 5 min into the day."""
        target = self.root / "DCIM" / folder
        target.mkdir(parents=True, exist_ok=True)
        kwargs.update(
            model=model,
            number=number,
            duration_s=duration_s,
            seed=number if seed is None else seed,
            start_utc=DAY_START + timedelta(minutes=5 * slot),
            chapter_s=CHAPTER_S,
        )
        chapters = make_gopro_recording(target, **kwargs)
        proxies: list[Footage] = []
        if lrv:
            proxies = make_gopro_recording(
                target, proxy=True, video_mbps=LRV_MBPS, codec="avc", **kwargs
            )
        for f in chapters:
            if f.info["moov"]:  # a chapter cut by a dead battery gets no thumbnail
                write_thumbnail(Path(f.path))
        self.footage += chapters + proxies
        return chapters, proxies

    def move(self, footage: Footage, folder: str) -> None:
        """Move a file (and its .THM) to ``DCIM/<folder>``: a chapter written after a folder change."""
        target = self.root / "DCIM" / folder
        target.mkdir(parents=True, exist_ok=True)
        old = Path(footage.path)
        for src in (old, old.with_suffix(".THM")):
            if src.exists():
                src.replace(target / src.name)
        footage.path = os.fspath(target / old.name)

    def remove(self, footage: Footage) -> None:
        """Delete a file and its thumbnail from the card (its truth stays out of the card's list)."""
        path = Path(footage.path)
        path.unlink()
        path.with_suffix(".THM").unlink(missing_ok=True)
        self.footage.remove(footage)

    def truth(
        self, parts: list[tuple[Footage, str]], *, missing: tuple[int, ...] = ()
    ) -> RecordingTruth:
        """A GoPro recording's truth; its folder is the lowest present chapter's + family + number."""
        first = parts[0][0]
        name = Path(first.path).name
        stem = name.split(".")[0]
        head, base = stem[:-8], stem[-8:]
        family = base[:4] if base[:4] in ("GOPR", "GPFR", "GPBK") else base[:2]
        return RecordingTruth(
            folder=f"{Path(self.rel(first)).parent.as_posix()}/{head}{family}{base[-4:]}",
            kind="gopro",
            camera=first.camera or "",
            parts=[Part(self.rel(f), role, int(f.info["chapter"]), f) for f, role in parts],
            missing=list(missing),
            session=next(f.info["session"] for f, _ in parts if f.info["session"]),
        )


def _main(footage: list[Footage]) -> list[tuple[Footage, str]]:
    return [(f, "main") for f in footage]


def _gopro_recordings(b: _Builder) -> tuple[list[RecordingTruth], list[str]]:
    out: list[RecordingTruth] = []
    hero8, hero11, hero13 = "HERO8 Black", "HERO11 Black", "HERO13 Black"
    serial8, serial11, serial13 = "C3331325412345", "C3471325654321", "C3531350777777"

    # HERO8: three chapters over two folders, THM and LRV beside each.
    chapters, proxies = b.gopro("100GOPRO", hero8, 42, 50.0, 0, lrv=True, serial=serial8)
    b.move(chapters[2], "101GOPRO")
    b.move(proxies[2], "101GOPRO")
    out.append(b.truth(_main(chapters)))

    # HERO8, same camera: the battery dies in chapter 2 (no moov).
    chapters, _ = b.gopro("101GOPRO", hero8, 43, 32.0, 1, cut_last=True, serial=serial8)
    out.append(b.truth(_main(chapters)))

    # HERO11: chapter 2's MP4 is gone, its LRV stands in.
    chapters, proxies = b.gopro("102GOPRO", hero11, 51, 55.0, 2, lrv=True, serial=serial11)
    b.remove(chapters[1])
    out.append(
        b.truth([(chapters[0], "main"), (proxies[1], "lrv-fallback"), (chapters[2], "main")])
    )

    # HERO11: chapters 1 and 3 gone entirely (MP4 and THM, no LRV was kept).
    chapters, _ = b.gopro("102GOPRO", hero11, 52, 68.0, 3, serial=serial11)
    b.remove(chapters[0])
    b.remove(chapters[2])
    out.append(b.truth(_main([chapters[1], chapters[3]]), missing=(1, 3)))

    # HERO13: one capture of two chapters, and one whose chapter 2 is another capture's.
    chapters, _ = b.gopro("103GOPRO", hero13, 61, 34.0, 4, serial=serial13)
    out.append(b.truth(_main(chapters)))
    chapters, _ = b.gopro("103GOPRO", hero13, 62, 36.0, 5, serial=serial13, foreign={2: 63})
    out.append(b.truth(_main(chapters[:1])))
    unjoined = [b.rel(chapters[1])]

    # HERO5: GOPR0007, GP010007, GP020007.
    chapters, _ = b.gopro("104GOPRO", "HERO5 Black", 7, 50.0, 6)
    out.append(b.truth(_main(chapters)))

    # Fusion: one capture, the front and back lenses in their own folders.
    front, _ = b.gopro("100GFRNT", "Fusion", 9, 30.0, 7, lens="front")
    back, _ = b.gopro("100GBACK", "Fusion", 9, 30.0, 7, lens="back")
    out += [b.truth(_main(front)), b.truth(_main(back))]

    # GoPro Labs prefixes: two HERO11s, same file number, overlapping in time.
    cam_a, _ = b.gopro("105GOPRO", hero11, 11, 32.0, 8, prefix="CamA-", serial="C3471325000111")
    cam_b, _ = b.gopro(  # 3 s after CamA
        "105GOPRO", hero11, 11, 18.0, 8.01, seed=111, prefix="CamB-", serial="C3471325000222"
    )
    out += [b.truth(_main(cam_a)), b.truth(_main(cam_b))]
    return out, unjoined


def _dashcam_clip(
    b: _Builder, folder: str, start: datetime, number: int, channel: str, **kwargs: Any
) -> Footage:
    target = b.root / "DCIM" / folder
    target.mkdir(parents=True, exist_ok=True)
    local = (start + timedelta(hours=DASHCAM_CLOCK_H)).replace(tzinfo=None)
    footage = make_novatek(
        target / novatek_name(local, number, channel=channel),
        start_utc=start,
        local_offset_h=DASHCAM_CLOCK_H,
        camera=DASHCAM,
        gps=channel == "F",
        **kwargs,
    )
    b.footage.append(footage)
    return footage


def _dashcam_truth(b: _Builder, parts: list[tuple[Footage, str]], channel: str) -> RecordingTruth:
    local = datetime.fromtimestamp(parts[0][0].start_utc, tz=UTC) + timedelta(hours=DASHCAM_CLOCK_H)
    return RecordingTruth(
        folder=f"DCIM/Movie/{local:%Y-%m-%d_%H%M%S}_{channel}",
        kind="dashcam",
        camera=DASHCAM,
        parts=[Part(b.rel(f), role, k + 1, f) for k, (f, role) in enumerate(parts)],
        channel=channel,
    )


def _drive(
    b: _Builder,
    channel: str,
    start: datetime,
    number: int,
    offset: float,
    count: int,
    **kwargs: Any,
) -> list[tuple[Footage, str]]:
    """``count`` consecutive loop segments from ``offset`` s into the route; ``event``: locked one."""
    event = kwargs.pop("event", None)
    parts = []
    for k in range(count):
        role = "event" if k == event else "main"
        when = start + timedelta(seconds=k * SEGMENT_S)
        folder = "Movie/RO" if role == "event" else "Movie"
        at = offset + k * SEGMENT_S
        clip = _dashcam_clip(
            b, folder, when, number + k, channel, duration_s=SEGMENT_S, route_offset_s=at, **kwargs
        )
        parts.append((clip, role))
    return parts


def _dashcam_recordings(b: _Builder) -> tuple[list[RecordingTruth], dict[str, str]]:
    route = Route(seed=900)
    drive1 = DAY_START + timedelta(minutes=50)  # 07:20Z, 09:20 on the camera's clock
    parking = drive1 + timedelta(minutes=14)
    drive2 = drive1 + timedelta(minutes=4 + 30)  # 30 minutes after drive 1 ended
    out: list[RecordingTruth] = []
    duplicates: dict[str, str] = {}
    for channel in ("F", "R"):
        parts = _drive(b, channel, drive1, 1, 0.0, 4, route=route, seed=900, event=2)
        out.append(_dashcam_truth(b, parts, channel))
        if channel == "F":  # a locked copy of segment 2, byte for byte
            (copy, _), *_ = _drive(
                b,
                channel,
                drive1 + timedelta(seconds=SEGMENT_S),
                2,
                SEGMENT_S,
                1,
                route=route,
                seed=900,
                event=0,
            )
            duplicates[b.rel(copy)] = b.rel(parts[1][0])

        stand = _Parked(route.at(4 * SEGMENT_S))
        clip = _dashcam_clip(b, "Movie/Parking", parking, 5, channel, duration_s=30.0, route=stand)
        out.append(_dashcam_truth(b, [(clip, "parking")], channel))

        # Drive 2 continues the route where the car was parked.
        parts = _drive(b, channel, drive2, 6, 4 * SEGMENT_S, 3, route=route, seed=901)
        out.append(_dashcam_truth(b, parts, channel))
    return out, duplicates


def make_recordings_card(directory: str | os.PathLike[str]) -> RecordingsCard:
    """Write the recordings card (see the module docstring) into ``directory``.

    Takes a few seconds; a few MB on disk (every video is sparse).
    """
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    b = _Builder(root)
    gopro, unjoined = _gopro_recordings(b)
    dashcam, duplicates = _dashcam_recordings(b)
    return RecordingsCard(root, gopro + dashcam, unjoined, duplicates, b.footage)
