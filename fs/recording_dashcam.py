"""Dashcam clips grouped into drives, from their file names and folders alone.

A loop-recording dashcam writes a drive as many short segments whose names
carry the camera's clock. This module reads that clock (naive, read as UTC:
the clock is whatever the camera was set to), the channel and the mode, and
cuts each camera's timeline into drives. It never opens a file.

Names understood (case-insensitive, whole stem; anything else is not a
dashcam name and stays a single clip):

- Novatek / Viofo ``2024_0406_164510_001[P|E|N|M][F|R|I|T]`` (sequence of 3-8
  digits, optional ``_`` before the letters; Anticlock-style ``2020_1125_1455_007``
  without seconds), Viofo A119 V3 ``20210318153933_000188``;
- 70mai ``NO|EV|PA`` + ``20191130-120156-000121`` (other prefixes are not
  70mai modes: the shared sample folder holds fuzz-corpus names such as AA, BB);
- BlackVue ``20260718_070333_<mode>[F|R|I|O]`` + optional flag letter
  (N normal, P parking motion, I parking impact, M manual, any other letter an
  event trigger such as E);
- Vantrue ``20250607_180617_00001_N_A`` (N/E/P; A front, B interior, C rear);
- Thinkware ``REC_2026_06_01_21_16_47_F`` (also ``REC_20260601_211647_F``; the
  mode is in the folder: ``cont_rec``, ``evt_rec``, ``parking_rec`` ...);
- MAP CAM ``MC_20260406_142122_0001``;
- normal-loop names seen in real samples whose other modes are not known:
  Neoline ``INF20260520-143412-26-F``, Vueroid ``20251111_085423_INF_F_N``,
  Mio MiVue ``FILE260819-071804F`` (two-digit year, 20xx).

Phone names (``VID_20240101_120000``) are deliberately not here: a phone's
clips are not loop segments and must not be glued into drives.

Drives: per camera root and channel, normal segments in clock order; a new
drive starts when a start follows the previous one by more than the usual
segment length (median of the steps up to 15 minutes; 60 s when there is
none) plus ``trip_gap_s``. Event and parking clips never join a drive's
parts: they are the events of the drive of their root and channel whose
[first start, last start + usual length] holds their clock, else each is a
recording of its own. A locked copy (same clock, channel and file number in
RO/Locked or another mode folder) counts once: the unlocked clip filed as
normal is kept, the others are its ``copies``. A clip found only in RO is a
normal minute the camera locked (Novatek moves it there), so it stays a part
of its drive. Rear, interior, telephoto or option recordings take GPS from
the front recording of their root that overlaps them most (channel F, or the
unlettered channel when the root has no F): front and rear clocks skew by a
second or more, so overlap is used, never equal names.

Folders: the *camera root* is the file's directory with trailing known
sub-folders removed (Movie, Normal, Event, EMR, Parking, RO, Locked, Front,
Rear, Back, F, R, NO, EV, PA, Thinkware's ``*_rec`` ...). Segments of one
drive share root and channel; event folders of that root hold its events.
A drive's folder is placed where its first segment lies, minus trailing
*channel* and *lock* folders only: ``DCIM/Movie/F/x`` and ``DCIM/Movie/R/y``
both land in ``DCIM/Movie`` side by side (``..._F`` next to ``..._R``), a
drive whose first minute was locked into ``DCIM/Movie/RO`` still lands in
``DCIM/Movie``, while mode folders (Movie, Normal, Event, cont_rec) are kept
so the view mirrors the card. The folder is named from the first segment's
clock, ``YYYY-MM-DD_HHMMSS[_<channel>]``; an event outside every drive adds
``_event`` or ``_parking``. Nothing in a name counts segments, so a folder
keeps its name while the card fills (loop overwriting of a drive's first
segment is the one thing that renames it).
"""

from __future__ import annotations

import re
import statistics
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import pairwise

MAIN = "main"
EVENT = "event"
PARKING = "parking"

# Mode words to the role a clip plays; a manual save is an event the driver triggered.
_ROLE_OF_MODE = {"normal": MAIN, "event": EVENT, "manual": EVENT, "parking": PARKING}

DEFAULT_SEGMENT_S = 60.0
# Loop lengths on offer are 1-10 minutes (Viofo's menu; BlackVue and 70mai fix
# one minute). A longer step between two starts is a pause, not a segment, so
# it must not set the usual length of a folder with only a few clips.
LONGEST_SEGMENT_S = 900.0

_LETTER_CHANNELS = {"F": "F", "R": "R", "I": "I", "T": "T", "O": "O"}
_LETTER_MODES = {"N": "normal", "E": "event", "P": "parking", "M": "manual"}

_Y, _MO, _D = r"(?P<y>\d{4})", r"(?P<mo>\d\d)", r"(?P<d>\d\d)"
_H, _MI, _S = r"(?P<h>\d\d)", r"(?P<mi>\d\d)", r"(?P<s>\d\d)"


@dataclass(frozen=True, slots=True)
class _Grammar:
    """One camera family's file names: where the clock, mode and channel are."""

    pattern: re.Pattern[str]
    modes: Mapping[str, str]  # the name's mode token (upper case) -> mode
    channels: Mapping[str, str]  # the name's channel token -> F/R/I/T/O
    other_mode: str | None = None  # mode of a token not in `modes` (BlackVue's triggers)


def _grammar(
    pattern: str,
    modes: Mapping[str, str],
    channels: Mapping[str, str],
    other_mode: str | None = None,
) -> _Grammar:
    return _Grammar(re.compile(pattern, re.IGNORECASE), modes, channels, other_mode)


_GRAMMARS = (
    _grammar(  # Novatek and Viofo
        rf"{_Y}_{_MO}{_D}_{_H}{_MI}{_S}?_(?P<seq>\d{{3,8}})_?(?P<mode>[NEPM])?(?P<ch>[FRIT])?",
        _LETTER_MODES,
        _LETTER_CHANNELS,
    ),
    _grammar(  # Viofo A119 V3
        rf"{_Y}{_MO}{_D}{_H}{_MI}{_S}_(?P<seq>\d{{6}})_?(?P<mode>[NEPM])?(?P<ch>[FRIT])?",
        _LETTER_MODES,
        _LETTER_CHANNELS,
    ),
    _grammar(  # 70mai
        rf"(?P<mode>NO|EV|PA){_Y}{_MO}{_D}-{_H}{_MI}{_S}-(?P<seq>\d{{6}})",
        {"NO": "normal", "EV": "event", "PA": "parking"},
        {},
    ),
    _grammar(  # BlackVue
        rf"{_Y}{_MO}{_D}_{_H}{_MI}{_S}_(?P<mode>[A-Z])(?P<ch>[FRIO])?[A-Z]?",
        {"N": "normal", "P": "parking", "I": "parking", "M": "manual"},
        _LETTER_CHANNELS,
        other_mode="event",
    ),
    _grammar(  # Vantrue
        rf"{_Y}{_MO}{_D}_{_H}{_MI}{_S}_(?P<seq>\d{{4,6}})_(?P<mode>[NEP])_(?P<ch>[ABC])",
        _LETTER_MODES,
        {"A": "F", "B": "I", "C": "R"},
    ),
    _grammar(  # Thinkware: REC_ everywhere, the folder says the mode
        rf"(?P<mode>REC|EVT|MAN|MOT|PAK|SOS)_{_Y}_?{_MO}_?{_D}_{_H}_?{_MI}_?{_S}_(?P<ch>[FRI])",
        {"EVT": "event", "SOS": "event", "MAN": "manual", "MOT": "parking", "PAK": "parking"},
        _LETTER_CHANNELS,
    ),
    _grammar(rf"MC_{_Y}{_MO}{_D}_{_H}{_MI}{_S}_(?P<seq>\d{{4}})", {}, {}),  # MAP CAM
    _grammar(  # Neoline (SigmaStar)
        rf"(?P<mode>INF){_Y}{_MO}{_D}-{_H}{_MI}{_S}-(?P<seq>\d{{1,6}})-(?P<ch>[FRI])",
        {"INF": "normal"},
        _LETTER_CHANNELS,
    ),
    _grammar(  # Vueroid
        rf"{_Y}{_MO}{_D}_{_H}{_MI}{_S}_(?P<mode>INF)_(?P<ch>[FRI])_[A-Z]",
        {"INF": "normal"},
        _LETTER_CHANNELS,
    ),
    _grammar(  # Mio MiVue
        rf"(?P<mode>FILE)(?P<y>\d\d){_MO}{_D}-{_H}{_MI}{_S}(?P<ch>[FR])?",
        {"FILE": "normal"},
        _LETTER_CHANNELS,
    ),
)


def _folder_meanings() -> dict[str, tuple[str, str]]:
    """Known sub-folder names (case-folded) -> (aspect, value)."""
    groups = {
        ("mode", "normal"): "movie normal no cont_rec record video loop",
        ("mode", "event"): "event events emr ev evt evt_rec sos_rec emergency",
        ("mode", "manual"): "manual manual_rec",
        ("mode", "parking"): "parking park pa parking_rec motion_rec motion_timelapse_rec",
        ("lock", "locked"): "ro locked lock",
        ("channel", "F"): "f front",
        ("channel", "R"): "r rear back",
        ("channel", "I"): "i interior inside cabin incabin_rec",
    }
    return {name: meaning for meaning, names in groups.items() for name in names.split()}


_FOLDERS = _folder_meanings()


@dataclass(frozen=True, slots=True)
class Segment:
    """One dashcam clip as its path describes it."""

    path: str
    start: float  # POSIX seconds of the clock in the name, naive clock read as UTC
    role: str  # MAIN, EVENT or PARKING
    channel: str | None
    root: str  # camera root: the directory without known sub-folders
    placement: str  # where a recording starting with this clip puts its folder
    locked: bool  # lies in an RO/Locked folder
    folder_mode: str | None  # what its mode folder says (Event, Parking ...), if any
    sequence: str | None  # the camera's file number, when the name has one


@dataclass(frozen=True, slots=True)
class Drive:
    """Segments of one drive (or one event outside every drive)."""

    folder: str
    channel: str | None
    parts: tuple[Segment, ...]
    events: tuple[Segment, ...]
    copies: tuple[str, ...]  # locked duplicates of parts or events, not counted
    gps_source: int | None  # index of the front drive in the returned list
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _ClipName:
    start: float
    mode: str | None
    channel: str | None
    sequence: str | None


@dataclass(frozen=True, slots=True)
class _Folders:
    root: str
    placement: str
    mode: str | None
    channel: str | None
    locked: bool


def read_segment(path: str) -> Segment | None:
    """The segment ``path`` names, or None when its name carries no dashcam clock."""
    directory, _, name = path.rpartition("/")
    clip = _parse_clip_name(name.rpartition(".")[0] or name)
    if clip is None:
        return None
    folders = _read_folders(directory)
    mode = clip.mode or folders.mode or "normal"
    return Segment(
        path=path,
        start=clip.start,
        role=_ROLE_OF_MODE[mode],
        channel=clip.channel or folders.channel,
        root=folders.root,
        placement=folders.placement,
        locked=folders.locked,
        folder_mode=folders.mode,
        sequence=clip.sequence,
    )


def _parse_clip_name(stem: str) -> _ClipName | None:
    for grammar in _GRAMMARS:
        match = grammar.pattern.fullmatch(stem)
        if match is None:
            continue
        start = _clock(match)
        if start is None:
            return None
        fields = match.groupdict()
        token = (fields.get("mode") or "").upper()
        mode = grammar.modes.get(token, grammar.other_mode if token else None)
        channel = grammar.channels.get((fields.get("ch") or "").upper())
        return _ClipName(start, mode, channel, fields.get("seq"))
    return None


def _clock(match: re.Match[str]) -> float | None:
    """POSIX seconds of the name's clock, or None for an impossible date."""
    year, month, day, hour, minute = (int(match[g]) for g in ("y", "mo", "d", "h", "mi"))
    year += 2000 if len(match["y"]) == 2 else 0
    second = int(match["s"]) if match["s"] else 0  # some Novateks name minutes only
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp()
    except ValueError:
        return None


@lru_cache(maxsize=4096)  # a card has few directories and many clips in each
def _read_folders(directory: str) -> _Folders:
    """Camera root, placement and what the trailing known folders say."""
    parts = directory.split("/") if directory else []
    mode = channel = None
    locked = False
    placement_depth = len(parts)
    while parts and (meaning := _FOLDERS.get(parts[-1].casefold())):
        aspect, value = meaning
        if aspect == "mode":
            mode = mode or value
        elif aspect == "channel":
            channel = channel or value
        else:
            locked = True
        if aspect != "mode" and placement_depth == len(parts):
            placement_depth -= 1  # channel and lock folders close to the file only
        parts.pop()
    placement = "/".join(directory.split("/")[:placement_depth]) if directory else ""
    return _Folders("/".join(parts), placement, mode, channel, locked)


def group_drives(segments: Iterable[Segment], trip_gap_s: float) -> list[Drive]:
    """Cut each camera root and channel into drives; events join the drive they fall in."""
    kept, copies = _drop_locked_copies(segments)
    streams: dict[tuple[str, str], list[Segment]] = defaultdict(list)
    for segment in kept:
        streams[(segment.root, segment.channel or "")].append(segment)
    spans: list[_Span] = []
    for key in sorted(streams):
        spans.extend(_stream_spans(streams[key], trip_gap_s))
    sources = _gps_sources(spans)
    return [_drive(span, copies, source) for span, source in zip(spans, sources, strict=True)]


def _drop_locked_copies(segments: Iterable[Segment]) -> tuple[list[Segment], dict[str, list[str]]]:
    """One clip per clock, channel and file number: the unlocked one filed as normal wins."""
    by_identity: dict[tuple[str, str, float, str], list[Segment]] = defaultdict(list)
    for segment in segments:
        key = (segment.root, segment.channel or "", segment.start, segment.sequence or "")
        by_identity[key].append(segment)
    kept: list[Segment] = []
    copies: dict[str, list[str]] = {}
    for same in by_identity.values():
        same.sort(key=_copy_preference)
        kept.append(same[0])
        if len(same) > 1:
            copies[same[0].path] = [s.path for s in same[1:]]
    return kept, copies


def _copy_preference(segment: Segment) -> tuple[bool, bool, bool, str, str]:
    filed_elsewhere = segment.folder_mode not in (None, "normal")
    return (segment.locked, segment.role != MAIN, filed_elsewhere, segment.role, segment.path)


@dataclass(frozen=True, slots=True)
class _Span:
    parts: tuple[Segment, ...]  # main segments, or the one lone event
    events: tuple[Segment, ...]
    usual_s: float

    @property
    def root(self) -> str:
        return self.parts[0].root

    @property
    def channel(self) -> str | None:
        return self.parts[0].channel

    @property
    def first(self) -> float:
        return self.parts[0].start

    @property
    def end(self) -> float:
        return self.parts[-1].start + self.usual_s

    def covers(self, when: float) -> bool:
        return self.first <= when <= self.end


def _stream_spans(segments: list[Segment], trip_gap_s: float) -> list[_Span]:
    """Drives of one root and channel, then its events outside every drive."""
    segments.sort(key=lambda s: (s.start, s.path))
    mains = [s for s in segments if s.role == MAIN]
    usual = usual_segment_length([s.start for s in mains])
    runs = _split_at_pauses(mains, usual + trip_gap_s)
    bare = [_Span(run, (), usual) for run in runs]
    firsts = [drive.first for drive in bare]
    attached: list[list[Segment]] = [[] for _ in runs]
    lone: list[_Span] = []
    for event in (s for s in segments if s.role != MAIN):
        home = (
            bisect_right(firsts, event.start) - 1
        )  # drives never overlap: only this one can hold it
        if home >= 0 and bare[home].covers(event.start):
            attached[home].append(event)
        else:
            lone.append(_Span((event,), (), usual))
    drives = [_Span(run, tuple(events), usual) for run, events in zip(runs, attached, strict=True)]
    return drives + lone


def usual_segment_length(starts: Sequence[float]) -> float:
    """Median start-to-start step, ignoring steps no loop setting would make."""
    steps = [b - a for a, b in pairwise(sorted(starts)) if 0 < b - a <= LONGEST_SEGMENT_S]
    return statistics.median(steps) if steps else DEFAULT_SEGMENT_S


def _split_at_pauses(mains: list[Segment], longest_step_s: float) -> list[tuple[Segment, ...]]:
    runs: list[list[Segment]] = []
    for segment in mains:
        if runs and segment.start - runs[-1][-1].start <= longest_step_s:
            runs[-1].append(segment)
        else:
            runs.append([segment])
    return [tuple(run) for run in runs]


def _gps_sources(spans: list[_Span]) -> list[int | None]:
    """For a rear/interior/... recording, the front one of its root that overlaps it most."""
    fronts = _front_spans(spans)
    sources: list[int | None] = []
    for span in spans:
        near = [] if span.channel in (None, "F") else _fronts_near(span, fronts.get(span.root))
        overlap, best = max(((_overlap(span, spans[i]), -i) for i in near), default=(0.0, 0))
        sources.append(-best if overlap > 0 else None)
    return sources


@dataclass(frozen=True, slots=True)
class _Fronts:
    """One camera root's front spans in start order, for overlap look-ups."""

    indices: list[int]
    firsts: list[float]
    longest_s: float


def _front_spans(spans: list[_Span]) -> dict[str, _Fronts]:
    """Per camera root, its channel-F spans; a camera may write no letter on its front."""
    by_channel: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for i, span in enumerate(spans):
        by_channel[(span.root, span.channel)].append(i)
    fronts: dict[str, _Fronts] = {}
    for root in {root for root, _ in by_channel}:
        indices = by_channel.get((root, "F")) or by_channel.get((root, None), [])
        indices = sorted(indices, key=lambda i: spans[i].first)
        longest = max((spans[i].end - spans[i].first for i in indices), default=0.0)
        fronts[root] = _Fronts(indices, [spans[i].first for i in indices], longest)
    return fronts


def _fronts_near(span: _Span, fronts: _Fronts | None) -> list[int]:
    """Front spans that can overlap ``span``: one starting earlier than this ends before it."""
    if fronts is None:
        return []
    low = bisect_left(fronts.firsts, span.first - fronts.longest_s)
    return fronts.indices[low : bisect_right(fronts.firsts, span.end)]


def _overlap(a: _Span, b: _Span) -> float:
    return min(a.end, b.end) - max(a.first, b.first)


def _drive(span: _Span, copies: Mapping[str, list[str]], gps_source: int | None) -> Drive:
    first = span.parts[0]
    label = datetime.fromtimestamp(first.start, UTC).strftime("%Y-%m-%d_%H%M%S")
    if first.channel:
        label += f"_{first.channel}"
    if first.role != MAIN:
        label += f"_{first.role}"
    duplicates = [(c, s.path) for s in span.parts + span.events for c in copies.get(s.path, [])]
    return Drive(
        folder=f"{first.placement}/{label}" if first.placement else label,
        channel=first.channel,
        parts=span.parts,
        events=span.events,
        copies=tuple(copy for copy, _ in duplicates),
        gps_source=gps_source,
        notes=tuple(f"{c} is a locked copy of {kept}: counted once" for c, kept in duplicates),
    )
