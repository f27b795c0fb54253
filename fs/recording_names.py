"""Footage files grouped into recordings, from their relative paths alone.

Users think in recordings and drives, not files: a GoPro splits a long ride
into ~4 GB chapters, a dashcam writes a commute as one-minute segments. The
``recordings/`` view shows one folder per recording, so this module decides,
without opening anything, which files form which recording, where the
recording's folder lies and in which order and role its parts come.
Listing must stay cheap and a folder must keep its name while a card fills,
so names never hold a part count.

``files`` is what the caller recognised as footage (by content, so a
renamed clip counts): this module only sets aside ``.THM`` thumbnails (never
footage) and ``.LRV`` proxies whose full-resolution file is present. Every
other file lands in exactly one recording: as a part, an event, or (a
dashcam's locked duplicate, counted once) under ``copies``. Only the path
decides; size and mtime are carried for the caller, and deliberately unused
so that a file growing while the camera writes never moves between folders.

GoPro (matched case-insensitively at the end of the stem, so a Labs prefix
such as ``CamA-GX010042`` is part of the identity and of the folder name;
only ``.MP4``/``.360`` are chapters, ``.LRV`` proxies):

- HERO5 and earlier ``GOPR0042`` = chapter 1, ``GPnn0042`` = chapter nn+1;
  Fusion front ``GPFR0042`` + ``GFnn0042``, back ``GPBK0042`` + ``GBnn0042``
  (separate recordings); HERO6+ ``GH``/``GX`` and MAX ``GS`` + ``nn0042`` =
  chapter nn. Folder: prefix as written + family in capitals + number
  (``GX0042``, ``GOPR0042``, ``CamA-GX0042``).
- An LRV with the same stem (``GOPR0042.LRV``, ``GS010042.LRV``) or a
  ``GL`` LRV (HERO6+: ``GL010042`` for ``GX``/``GH``/``GS`` 010042) is used only
  when its chapter's video is missing; two copies would double the track.
- Chapters join within one root: a DCF folder (``100GOPRO``, any
  ``\\d{3}[A-Z0-9_]{5}``) counts as its parent, so ``100GOPRO`` and ``101GOPRO``
  share a recording, while ``cardA/DCIM`` and ``cardB/DCIM`` never do. If a
  chapter number repeats inside a root (two cameras copied onto one card, each
  numbering from 1), chapters are joined per folder instead (a chapter twice
  in one folder, e.g. ``.360`` and its ``.MP4`` export, makes a second
  recording). The recording's folder lies in the directory of its lowest
  present chapter.

Dashcams: see :mod:`telemetryfs.fs.recording_dashcam`. Anything else is a
recording of one part, kind "single", whose folder is the file's path with
its full name (``clip.mp4`` and ``clip.mov`` never collide). Folder names
that would clash (with each other or with a directory the view needs) get
``~2``, ``~3`` ...: camera recordings keep the plain name before singles,
then the first part's path decides.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from telemetryfs.fs.recording_dashcam import Drive, group_drives, read_segment

GROUPED_BY = "file names"
GOPRO_CHAPTERS = "gopro-chapters"
DASHCAM_DRIVE = "dashcam-drive"
SINGLE = "single"
LRV_FALLBACK = "lrv-fallback"

_GOPRO_STEM = re.compile(
    r"(?P<prefix>.*?)(?:(?P<first>GOPR|GPFR|GPBK)(?P<first_number>\d{4})"
    r"|(?P<letters>G[PFBHXSL])(?P<chapter>\d\d)(?P<number>\d{4}))",
    re.IGNORECASE,
)
_DCF_FOLDER = re.compile(r"\d{3}[A-Z0-9_]{5}", re.IGNORECASE)
_CHAPTER_EXTENSIONS = {"mp4", "360"}
# Older cameras number chapter 2 as 01: their letters name the first chapter's family.
_SECOND_CHAPTER_ON = {"GP": "GOPR", "GF": "GPFR", "GB": "GPBK"}
# A GL proxy belongs to the GH/GX/GS recording of its number; without one it
# stays GL (its own recording, as does a GL video, which trek-view's MAX notes show).
_PROXY_OF_GL = ("GH", "GX", "GS")


@dataclass(frozen=True, slots=True)
class FootageFile:
    path: str  # relative to SOURCE, '/'-separated, e.g. "DCIM/100GOPRO/GX010042.MP4"
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class Part:
    path: str
    number: int  # GoPro: chapter number (1 = first); dashcam: 1.. in clock order
    role: str  # "main", "lrv-fallback", "event", "parking"
    start: float | None = None  # dashcam: POSIX seconds of the name's clock (naive, read as UTC)


@dataclass(frozen=True, slots=True)
class Recording:
    folder: str  # its folder under recordings/, e.g. "DCIM/100GOPRO/GX0042"
    kind: str  # "gopro-chapters", "dashcam-drive" or "single"
    grouped_by: str  # "file names"
    parts: tuple[Part, ...]  # main parts in order (GoPro by chapter, dashcam by clock)
    events: tuple[Part, ...] = ()  # dashcam event/parking clips within this drive
    missing_parts: tuple[int, ...] = ()  # GoPro chapters absent below the highest present
    channel: str | None = None  # dashcam "F", "R", "I" (interior) or None
    gps_from: str | None = None  # rear/interior drive: folder of the front drive
    notes: tuple[str, ...] = ()  # e.g. "GX020042.LRV used: its MP4 is missing"
    copies: tuple[str, ...] = ()  # dashcam locked duplicates of its clips, counted once


def group_recordings(files: Iterable[FootageFile], *, trip_gap_s: float = 600.0) -> list[Recording]:
    """Group ``files`` into recordings, sorted by folder (see the module docstring)."""
    paths = sorted({f.path for f in files if _extension(f.path) != "thm"})
    gopro: list[_GoProName] = []
    rest: list[str] = []
    for path in paths:
        name = _read_gopro_name(path)
        if name is None:
            rest.append(path)
        else:
            gopro.append(name)
    segments = [s for path in rest if (s := read_segment(path)) is not None]
    dashcam_paths = {s.path for s in segments}
    drafts: list[tuple[Recording, int | None]] = [(r, None) for r in _gopro_recordings(gopro)]
    drafts += _dashcam_recordings(group_drives(segments, trip_gap_s), offset=len(drafts))
    singles = [path for path in rest if path not in dashcam_paths]
    drafts += [(r, None) for r in _single_recordings(singles, videos=_non_proxies(paths))]
    return _with_unique_folders(drafts)


def _extension(path: str) -> str:
    name = path.rpartition("/")[2]
    return name.rpartition(".")[2].lower() if "." in name else ""


def _stem(path: str) -> str:
    name = path.rpartition("/")[2]
    return name.rpartition(".")[0] or name


def _directory(path: str) -> str:
    return path.rpartition("/")[0]


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


# GoPro --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _GoProName:
    path: str
    root: str  # DCIM root: a DCF folder's parent, else the file's own directory
    prefix: str  # Labs prefix as written (identity uses it case-folded)
    family: str  # GOPR, GPFR, GPBK, GH, GX, GS or GL
    number: int
    chapter: int
    proxy: bool

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.root, self.prefix.casefold(), self.family, self.number)


def _read_gopro_name(path: str) -> _GoProName | None:
    extension = _extension(path)
    if extension not in _CHAPTER_EXTENSIONS and extension != "lrv":
        return None
    match = _GOPRO_STEM.fullmatch(_stem(path))
    if match is None:
        return None
    if match["first"]:
        family, chapter, number = match["first"].upper(), 1, match["first_number"]
    else:
        letters, chapter = match["letters"].upper(), int(match["chapter"])
        if chapter == 0:
            return None  # not a chapter number: the clip is a single
        family = _SECOND_CHAPTER_ON.get(letters, letters)
        if family != letters:
            chapter += 1  # GP01 follows GOPR
        number = match["number"]
    proxy = extension == "lrv"
    directory = _directory(path)
    last_folder = directory.rpartition("/")[2]
    root = _directory(directory) if _DCF_FOLDER.fullmatch(last_folder) else directory
    return _GoProName(path, root, match["prefix"], family, int(number), chapter, proxy)


def _gopro_recordings(names: list[_GoProName]) -> list[Recording]:
    videos = {name.key for name in names if not name.proxy}
    groups: dict[tuple[str, str, str, int], list[_GoProName]] = defaultdict(list)
    for name in names:
        resolved = _with_proxy_family(name, videos)
        groups[resolved.key].append(resolved)
    recordings: list[Recording] = []
    for key in sorted(groups):
        for members, note in _split_repeated_chapters(groups[key]):
            recordings.append(_gopro_recording(members, note))
    return recordings


def _with_proxy_family(name: _GoProName, videos: set[tuple[str, str, str, int]]) -> _GoProName:
    """A GL proxy joins the GH/GX/GS recording of its number (GL when there is none)."""
    if name.family != "GL":
        return name
    for family in _PROXY_OF_GL:
        if (name.root, name.prefix.casefold(), family, name.number) in videos:
            return replace(name, family=family)
    return name


def _split_repeated_chapters(
    members: list[_GoProName],
) -> list[tuple[list[_GoProName], str | None]]:
    """One group, or one per folder when a chapter repeats (two cameras, one card)."""
    if not _repeats(members):
        return [(members, None)]
    by_folder: dict[str, list[_GoProName]] = defaultdict(list)
    for member in members:
        by_folder[_directory(member.path)].append(member)
    if len(by_folder) > 1:
        note = "the same file number is in several folders: chapters joined per folder"
    else:
        note = "a chapter is here twice: each copy makes its own recording"
    return [(layer, note) for d in sorted(by_folder) for layer in _layers(by_folder[d])]


def _repeats(members: Sequence[_GoProName]) -> bool:
    roles = [(m.chapter, m.proxy) for m in members]
    return len(set(roles)) < len(roles)


def _layers(members: list[_GoProName]) -> list[list[_GoProName]]:
    """Same chapter twice in one folder (GS010042.360 and .MP4): one recording each."""
    layers: list[list[_GoProName]] = []
    for member in sorted(members, key=lambda m: m.path):
        free = next((layer for layer in layers if not _repeats([*layer, member])), None)
        if free is None:
            layers.append([member])
        else:
            free.append(member)
    return layers


def _gopro_recording(members: list[_GoProName], note: str | None) -> Recording:
    videos = {m.chapter: m for m in members if not m.proxy}
    proxies = {m.chapter: m for m in members if m.proxy}
    parts: list[Part] = []
    notes = [note] if note else []
    for chapter in sorted(videos.keys() | proxies.keys()):
        if chapter in videos:
            parts.append(Part(videos[chapter].path, chapter, "main"))
            continue
        proxy = proxies[chapter]
        parts.append(Part(proxy.path, chapter, LRV_FALLBACK))
        missing = "360" if proxy.family == "GS" else "MP4"
        notes.append(f"{proxy.path.rpartition('/')[2]} used: its {missing} is missing")
    present = {p.number for p in parts}
    first = videos.get(parts[0].number) or proxies[parts[0].number]
    name = f"{first.prefix}{first.family}{first.number:04d}"
    return Recording(
        folder=_join(_directory(first.path), name),
        kind=GOPRO_CHAPTERS,
        grouped_by=GROUPED_BY,
        parts=tuple(parts),
        missing_parts=tuple(c for c in range(1, parts[-1].number) if c not in present),
        notes=tuple(notes),
    )


# Dashcams and singles -------------------------------------------------------------------


def _dashcam_recordings(drives: list[Drive], offset: int) -> list[tuple[Recording, int | None]]:
    """Drives as recordings; the GPS source index is shifted to the caller's list."""
    drafts: list[tuple[Recording, int | None]] = []
    for drive in drives:
        recording = Recording(
            folder=drive.folder,
            kind=DASHCAM_DRIVE,
            grouped_by=GROUPED_BY,
            parts=tuple(Part(s.path, i, s.role, s.start) for i, s in enumerate(drive.parts, 1)),
            events=tuple(Part(s.path, i, s.role, s.start) for i, s in enumerate(drive.events, 1)),
            channel=drive.channel,
            notes=drive.notes,
            copies=drive.copies,
        )
        source = None if drive.gps_source is None else drive.gps_source + offset
        drafts.append((recording, source))
    return drafts


def _non_proxies(paths: Iterable[str]) -> set[tuple[str, str]]:
    return {(_directory(p), _stem(p).casefold()) for p in paths if _extension(p) != "lrv"}


def _single_recordings(paths: Iterable[str], videos: set[tuple[str, str]]) -> list[Recording]:
    """One recording per clip; a proxy only when no video of its name sits beside it."""
    recordings: list[Recording] = []
    for path in paths:
        if _extension(path) != "lrv":
            recordings.append(_single(path, "main", ()))
        elif (_directory(path), _stem(path).casefold()) not in videos:
            note = f"{path.rpartition('/')[2]} used: its video is missing"
            recordings.append(_single(path, LRV_FALLBACK, (note,)))
    return recordings


def _single(path: str, role: str, notes: tuple[str, ...]) -> Recording:
    return Recording(path, SINGLE, GROUPED_BY, (Part(path, 1, role),), notes=notes)


# Folder names -------------------------------------------------------------------------


def _with_unique_folders(drafts: list[tuple[Recording, int | None]]) -> list[Recording]:
    """Distinct folders, then each rear drive told its front drive's (final) folder."""
    order = sorted(range(len(drafts)), key=lambda i: _clash_order(drafts[i][0]))
    final = _distinct_folders([recording.folder for recording, _ in drafts], order)
    recordings = [
        replace(recording, folder=final[i], gps_from=None if source is None else final[source])
        for i, (recording, source) in enumerate(drafts)
    ]
    return sorted(recordings, key=lambda r: r.folder)


def _distinct_folders(wanted: list[str], order: list[int]) -> list[str]:
    """The first claim (in ``order``) on a name keeps it; later ones get ``~2``, ``~3`` ...

    Claims are settled before any suffix is handed out, so a clip really named
    ``x~2`` keeps its name; directories the view needs are never claimable.
    """
    taken = {folder.rsplit("/", i)[0] for folder in wanted for i in range(1, folder.count("/") + 1)}
    final = [""] * len(wanted)
    for i in order:
        if wanted[i] not in taken:
            final[i] = wanted[i]
            taken.add(wanted[i])
    for i in (i for i in order if not final[i]):
        suffix = 2
        while f"{wanted[i]}~{suffix}" in taken:
            suffix += 1
        final[i] = f"{wanted[i]}~{suffix}"
        taken.add(final[i])
    return final


def _clash_order(recording: Recording) -> tuple[str, int, str]:
    camera_first = 1 if recording.kind == SINGLE else 0
    return (recording.folder, camera_first, recording.parts[0].path)
