"""Join the telemetry of a recording's parts (GoPro chapters, dashcam segments) into one.

A GoPro splits a recording into chapters (GX010042.MP4, GX020042.MP4, ...), a
dashcam writes a drive as one-minute segments; the mount shows one folder per
recording, built from the one Telemetry made here. Which files form the
recording, and in which order, was decided elsewhere (from the names).

- Video time runs on across the parts as in the concatenated video (part k is
  shifted by the durations before it); UTC stays per sample (from the GPS).
- Byte ranges are tagged with the part they live in (``Extent.part``).
- ``Telemetry.breaks`` starts a new track segment after a missing or failed
  part, a battery swap or a chapter of another session: never a straight line.
- Where parts overlap (a dashcam's event clip copies the minute it interrupted)
  the samples not later than those kept are dropped and counted.

Pure: no I/O, no logging; failed, empty, GPS-less or duration-less parts are
normal input and end up as warnings and facts.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import chain, islice
from typing import TYPE_CHECKING, cast

from telemetryfs.parsers.chunk_table import ChunkTable, joined_tables
from telemetryfs.parsers.fastbuild import new_chunk, new_extent, new_gps_sample
from telemetryfs.parsers.model import (
    Chunk,
    GpsSample,
    ParseWarning,
    Piece,
    RawFile,
    Stream,
    Telemetry,
    Value,
)
from telemetryfs.parsers.piece_table import PieceTable, joined_pieces
from telemetryfs.parsers.track import GpsTrack, joined_tracks

if TYPE_CHECKING:
    pass

GOPRO_CHAPTERS = "gopro-chapters"
DASHCAM_DRIVE = "dashcam-drive"

# A chapter continues the previous one when it starts between EARLY_S before and
# LATE_S after the previous one ends. The start is extrapolated from the first
# fix (UTC minus its video time) and GoPro stamps GPS time once per ~1 s payload,
# so a second or two of jitter is normal; a battery swap or a new recording
# leaves a gap of tens of seconds at least.
CONTINUITY_EARLY_S = 2.0
CONTINUITY_LATE_S = 3.0

# The recording kinds, and what their parts are called in messages.
KINDS = {GOPRO_CHAPTERS: "chapters", DASHCAM_DRIVE: "segments"}

# Where each joined extra column comes from in a part's ``extra`` (None: keep it as it is).
_Pick = tuple[int | None, ...] | None


@dataclass(frozen=True, slots=True)
class PartInput:
    """One source file of the recording, as parsed."""

    path: str  # relative path, for messages
    number: int  # chapter number / sequence number
    role: str  # "main", "lrv-fallback", "event", "parking"
    telemetry: Telemetry | None  # None when the part failed entirely
    error: str | None = None  # why it failed, or what is damaged (Telemetry.error)
    missing_before: bool = False  # one or more chapters are missing right before this part


@dataclass(frozen=True, slots=True)
class PartFacts:
    """What info.json says about one part."""

    path: str
    number: int
    role: str
    duration_s: float | None
    video_offset_s: float  # where the part starts in the joined video time
    start_utc: float | None  # UTC at the part's video time 0
    end_utc: float | None  # start_utc + duration_s
    gap_before_s: float | None  # start_utc - the previous part's end_utc
    gps_samples: int  # samples this part adds to the joined track
    error: str | None
    session: str | None  # the GoPro session id, when the part carries one
    overlap_dropped: int = 0  # samples left out: not later than the previous part's last


@dataclass(frozen=True, slots=True)
class Gap:
    """Time missing between two parts (more than CONTINUITY_LATE_S, or missing files)."""

    after_part: str | None  # path of the part before the gap (None: the recording starts with it)
    before_part: str  # path of the part after the gap
    seconds: float | None  # None when either side has no UTC
    missing_parts: bool  # one or more files of the recording are missing here


@dataclass(frozen=True, slots=True)
class JoinFacts:
    """What info.json says about the recording as a whole."""

    start_utc: float | None
    end_utc: float | None
    duration_s: float | None  # wall clock: end_utc - start_utc
    recorded_s: float  # sum of the parts' known durations
    gaps: tuple[Gap, ...] = ()
    overlaps: int = 0  # GPS samples dropped at the joins
    warnings: tuple[str, ...] = ()  # the join's own; the parts' are in Telemetry.warnings


@dataclass(slots=True)
class _Place:
    """Where one part sits in the recording (worked out before any sample is copied)."""

    part: PartInput
    offset: float
    duration: float | None
    start_utc: float | None
    end_utc: float | None
    gap_before: float | None = None
    breaks_before: bool = False  # a track segment must start with this part's first sample
    kept: int = 0  # GPS samples it adds to the joined track
    dropped: int = 0  # GPS samples not later than the last one kept before it


def join_parts(
    parts: Sequence[PartInput], *, kind: str
) -> tuple[Telemetry, list[PartFacts], JoinFacts]:
    """Join the parts of one recording, in the order given, into one Telemetry.

    Args:
        parts: the recording's files in recording order.
        kind: ``"gopro-chapters"`` (chapters are checked for continuity) or
            ``"dashcam-drive"``.

    Returns:
        The joined telemetry, one PartFacts per part and the recording's facts.

    Raises:
        ValueError: ``kind`` is not one of KINDS (a caller's mistake, not bad data).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown recording kind {kind!r}")
    notes: list[str] = []
    places = _place_parts(parts, kind, notes)
    columns, picks = _joined_columns(parts)
    gps, breaks = _join_gps(places, picks)
    streams = _join_streams(places, len(gps), notes)
    durations = [p.duration for p in places if p.duration is not None]
    # What is not joined here (format, camera, firmware, gps_stream, creation_time)
    # comes from the first part that was read.
    first = next((p.telemetry for p in parts if p.telemetry is not None), None)
    failure = f"{parts[0].path}: {_error(parts[0])}" if parts else "the recording has no parts"
    telemetry = replace(
        first or Telemetry(format=kind),
        gps=gps,
        extra_columns=columns,
        streams=streams,
        raw_files=_join_raw_files(parts),
        duration=sum(durations) if durations else None,
        info=dict(first.info) if first else {},
        warnings=(*(ParseWarning(None, n) for n in notes), *_part_warnings(parts)),
        error=None if first else failure,
        breaks=tuple(breaks),
    )
    return telemetry, [_part_facts(p) for p in places], _join_facts(places, notes)


# -- where each part sits -----------------------------------------------------
def _place_parts(parts: Sequence[PartInput], kind: str, notes: list[str]) -> list[_Place]:
    """Each part's video offset, UTC span and whether the track must break before it."""
    places: list[_Place] = []
    offset = 0.0
    for k, part in enumerate(parts):
        duration, start = _duration(part.telemetry), _utc_start(part.telemetry)
        end = start + duration if start is not None and duration is not None else None
        place = _Place(part, offset, duration, start, end)
        places.append(place)
        _tell_problems(part, duration, kind, notes)
        if k:
            previous = places[-2]
            if previous.end_utc is not None and start is not None:
                place.gap_before = start - previous.end_utc
            place.breaks_before = _must_break(places, kind, notes)
        offset += duration or 0.0
    return places


def _tell_problems(part: PartInput, duration: float | None, kind: str, notes: list[str]) -> None:
    if part.missing_before:
        notes.append(
            f"one or more {KINDS[kind]} are missing before {part.path}: the track breaks there"
        )
    if part.telemetry is None:
        notes.append(
            f"{part.path} could not be read ({_error(part)}): the track breaks there "
            "and its duration counts as 0 s in the video times after it"
        )
    elif duration is None:
        notes.append(f"{part.path}: duration unknown, counted as 0 s in the video times after it")


def _duration(telemetry: Telemetry | None) -> float | None:
    duration = telemetry.duration if telemetry else None
    return duration if duration is not None and math.isfinite(duration) and duration >= 0 else None


def _utc_start(telemetry: Telemetry | None) -> float | None:
    """UTC at video time 0: the first timed fix's UTC minus its video time."""
    for sample in telemetry.gps if telemetry else ():
        utc, video_time = _finite(sample.utc), _finite(sample.video_time)
        if utc is not None and video_time is not None:
            return utc - video_time
    return None


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _must_break(places: list[_Place], kind: str, notes: list[str]) -> bool:
    """Whether a track segment must start at the last part placed (warns why, unless told)."""
    previous, place = places[-2], places[-1]
    forced = place.part.missing_before or previous.part.telemetry is None
    # Sessions are compared across failed parts: they carry no session to compare.
    before = next((p.part for p in islice(reversed(places), 1, None) if p.part.telemetry), None)
    if before is not None and place.part.telemetry is not None:
        forced = _other_session(before, place.part, notes) or forced
    if not forced and kind == GOPRO_CHAPTERS:
        forced = not _continues(previous, place, notes)
    return forced


def _other_session(before: PartInput, after: PartInput, notes: list[str]) -> bool:
    """Whether two parts carry different session ids or camera serials (a warning if so)."""
    for key, what in (("session_id", "session"), ("serial", "camera serial")):
        a, b = _identity(before.telemetry, key), _identity(after.telemetry, key)
        if a is not None and b is not None and a != b:
            notes.append(
                f"{after.path} belongs to another recording session than {before.path} "
                f"({what} {b} vs {a}): the track breaks there"
            )
            return True
    return False


def _identity(telemetry: Telemetry | None, key: str) -> str | None:
    value = telemetry.info.get(key) if telemetry else None
    return value if isinstance(value, str) and value else None


def _continues(previous: _Place, place: _Place, notes: list[str]) -> bool:
    """Whether a chapter starts where the previous one ends (True when either lacks UTC)."""
    if previous.end_utc is None or place.start_utc is None:
        return True
    # The end is start + duration, not the last fix: a chapter's last second or
    # so of video carries no GPS.
    delta = place.start_utc - previous.end_utc
    if -CONTINUITY_EARLY_S <= delta <= CONTINUITY_LATE_S:
        return True
    side, before = "after" if delta > 0 else "before", previous.part.path
    notes.append(
        f"{place.part.path} does not continue {before}: it starts {abs(delta):.1f} s {side} "
        f"{before} ends (expected {CONTINUITY_EARLY_S:g} s before to "
        f"{CONTINUITY_LATE_S:g} s after): the track breaks there"
    )
    return False


# -- GPS -----------------------------------------------------------------------
def _joined_columns(parts: Sequence[PartInput]) -> tuple[tuple[str, ...], list[_Pick]]:
    """The joined extra columns, and per part where each comes from."""
    told = [p.telemetry.extra_columns for p in parts if p.telemetry is not None and p.telemetry.gps]
    if len(set(told)) <= 1:
        first = next((p.telemetry for p in parts if p.telemetry is not None), None)
        columns = told[0] if told else first.extra_columns if first else ()
        return columns, [None] * len(parts)
    union = tuple(dict.fromkeys(chain.from_iterable(told)))
    picks: list[_Pick] = []
    for part in parts:
        own = part.telemetry.extra_columns if part.telemetry else union
        index = {name: i for i, name in enumerate(own)}
        picks.append(None if own == union else tuple(index.get(name) for name in union))
    return union, picks


def _join_gps(places: list[_Place], picks: list[_Pick]) -> tuple[Sequence[GpsSample], list[int]]:
    """The joined track and its forced segment starts (sets each place's kept and dropped).

    Parts whose tracks are GpsTracks (GoPro) are joined as columns: three hours
    of chapters are ~200,000 samples, which as objects would be built again
    with their video times moved (~20 MB and ~0.3 s more).
    """
    tracks = [p.part.telemetry.gps if p.part.telemetry else () for p in places]
    as_columns = all(pick is None for pick in picks) and all(
        isinstance(t, GpsTrack) or not t for t in tracks
    )
    kept_parts: list[Sequence[GpsSample]] = []
    count = 0
    breaks: list[int] = []
    pending_break = False  # carried over parts that add no sample
    last: GpsSample | None = None
    for place, pick, samples in zip(places, picks, tracks, strict=True):
        pending_break = pending_break or place.breaks_before
        place.dropped = _overlap(last, samples, place.offset) if last is not None else 0
        rest = samples[place.dropped :]
        if isinstance(rest, GpsTrack) and pick is None:
            kept: Sequence[GpsSample] = rest.moved(place.offset)
        else:
            kept = _moved(rest, place.offset, pick)
        if kept:
            if pending_break and count:
                breaks.append(count)
            pending_break = False
            kept_parts.append(kept)
            count += len(kept)
            last = kept[-1]
        place.kept = len(kept)
    if as_columns and kept_parts:
        return joined_tracks(cast("list[GpsTrack]", kept_parts)), breaks
    return tuple(chain.from_iterable(kept_parts)), breaks


def _overlap(last: GpsSample, samples: Sequence[GpsSample], offset: float) -> int:
    """How many of a part's first samples are not later than the last sample kept."""
    later = (i for i, sample in enumerate(samples) if not _not_later(sample, last, offset))
    return next(later, len(samples))


def _not_later(sample: GpsSample, last: GpsSample, offset: float) -> bool:
    """Whether a part's sample is not later than the last one kept (by UTC, else video time)."""
    utc, last_utc = _finite(sample.utc), _finite(last.utc)
    if utc is not None and last_utc is not None:
        return utc <= last_utc
    video_time, last_video_time = _finite(sample.video_time), _finite(last.video_time)
    if video_time is not None and last_video_time is not None:
        return video_time + offset <= last_video_time
    return False  # cannot be judged: keep it


def _moved(samples: Sequence[GpsSample], offset: float, pick: _Pick) -> Sequence[GpsSample]:
    """The samples with video time shifted by ``offset`` and ``extra`` realigned by ``pick``."""
    if not offset and pick is None:
        return samples
    return [
        new_gps_sample(
            s.utc,
            None if (video_time := s.video_time) is None else video_time + offset,
            s.lat,
            s.lon,
            s.ele,
            s.speed_2d,
            s.speed_3d,
            s.course,
            s.fix,
            s.dop,
            s.valid,
            s.extra if pick is None else _picked(s.extra, pick),
        )
        for s in samples
    ]


def _picked(extra: tuple[Value, ...], pick: tuple[int | None, ...]) -> tuple[Value, ...]:
    # A sample may carry fewer values than its part's columns (damaged input).
    return tuple(None if i is None or i >= len(extra) else extra[i] for i in pick)


# -- streams and raw files ------------------------------------------------------
def _join_streams(places: list[_Place], gps_count: int, notes: list[str]) -> tuple[Stream, ...]:
    """Streams of the same name joined across parts; a part whose layout differs is left out."""
    first: dict[str, tuple[Stream, str]] = {}  # name -> (first stream of that name, its path)
    chunks: defaultdict[str, list[Sequence[Chunk]]] = defaultdict(list)
    counts: Counter[str] = Counter()
    for k, place in enumerate(places):
        part = place.part
        for stream in part.telemetry.streams if part.telemetry else ():
            reference, reference_path = first.setdefault(stream.name, (stream, part.path))
            if (stream.columns, stream.codec) != (reference.columns, reference.codec):
                what = "columns differ" if stream.columns != reference.columns else "codec differs"
                notes.append(
                    f"{part.path}: stream {stream.name} left out of the joined stream: "
                    f"its {what} from {reference_path}'s"
                )
                continue
            chunks[stream.name].append(_moved_chunks(stream.chunks, k, place.offset))
            counts[stream.name] += stream.sample_count
    return tuple(
        # A stream without a codec is the GPS table, rendered from the joined track.
        replace(s, chunks=(), sample_count=gps_count)
        if s.codec is None
        else replace(s, chunks=_joined_chunks(chunks[name]), sample_count=counts[name])
        for name, (s, _) in first.items()
    )


def _joined_chunks(parts: list[Sequence[Chunk]]) -> Sequence[Chunk]:
    """Every part's chunks end to end: columns when every part holds a ChunkTable."""
    if parts and all(isinstance(p, ChunkTable) for p in parts):
        return joined_tables(cast("list[ChunkTable]", parts))
    return tuple(chain.from_iterable(parts))


def _moved_chunks(chunks: Sequence[Chunk], part: int, offset: float) -> Sequence[Chunk]:
    if isinstance(chunks, ChunkTable):
        return chunks.moved(part, offset)
    if not offset and all(c.extent.part == part for c in chunks):
        return chunks
    return [
        new_chunk(
            new_extent((e := c.extent).offset, e.size, part),
            c.count,
            None if (start := c.start) is None else start + offset,
            c.duration,
        )
        for c in chunks
    ]


def _join_raw_files(parts: Sequence[PartInput]) -> tuple[RawFile, ...]:
    """Each raw file is its parts' pieces in order (concatenated GPMF is valid GPMF)."""
    pieces: defaultdict[str, list[Sequence[Piece]]] = defaultdict(list)
    for k, part in enumerate(parts):
        for raw in part.telemetry.raw_files if part.telemetry else ():
            if isinstance(raw.pieces, PieceTable):
                pieces[raw.name].append(raw.pieces.in_part(k))
                continue
            pieces[raw.name].append(
                [
                    p if isinstance(p, bytes) or p.part == k else new_extent(p.offset, p.size, k)
                    for p in raw.pieces
                ]
            )
    return tuple(RawFile(name, _joined_pieces(p)) for name, p in pieces.items())


def _joined_pieces(parts: list[Sequence[Piece]]) -> Sequence[Piece]:
    """Every part's pieces end to end: columns when every part holds a PieceTable."""
    if parts and all(isinstance(p, PieceTable) for p in parts):
        return joined_pieces(cast("list[PieceTable]", parts))
    return tuple(chain.from_iterable(parts))


# -- facts and messages -----------------------------------------------------------
def _error(part: PartInput) -> str | None:
    """Why a part failed (never None then), or what is damaged in it."""
    if part.error:
        return part.error
    return part.telemetry.error if part.telemetry else "no telemetry could be read"


def _part_warnings(parts: Sequence[PartInput]) -> list[ParseWarning]:
    """Each part's own warnings (and damage, when it still yielded telemetry), named by file."""
    warnings: list[ParseWarning] = []
    for part in parts:
        if part.telemetry is None:
            continue  # the join's own warning says why it failed
        damage = _error(part)
        own = (ParseWarning(None, damage),) if damage else ()
        for w in (*own, *part.telemetry.warnings):
            warnings.append(ParseWarning(w.offset, f"{part.path}: {w.reason}"))
    return warnings


def _part_facts(place: _Place) -> PartFacts:
    part = place.part
    return PartFacts(
        path=part.path,
        number=part.number,
        role=part.role,
        duration_s=place.duration,
        video_offset_s=place.offset,
        start_utc=place.start_utc,
        end_utc=place.end_utc,
        gap_before_s=place.gap_before,
        gps_samples=place.kept,
        error=_error(part),
        session=_identity(part.telemetry, "session_id"),
        overlap_dropped=place.dropped,
    )


def _join_facts(places: list[_Place], notes: list[str]) -> JoinFacts:
    start = next((p.start_utc for p in places if p.start_utc is not None), None)
    end = next((p.end_utc for p in reversed(places) if p.end_utc is not None), None)
    return JoinFacts(
        start_utc=start,
        end_utc=end,
        duration_s=end - start if start is not None and end is not None else None,
        recorded_s=sum(p.duration for p in places if p.duration is not None),
        gaps=tuple(_gaps(places)),
        overlaps=sum(p.dropped for p in places),
        warnings=tuple(notes),
    )


def _gaps(places: list[_Place]) -> list[Gap]:
    gaps, after = [], None
    for place in places:
        late = place.gap_before is not None and place.gap_before > CONTINUITY_LATE_S
        if place.part.missing_before or late:
            gaps.append(Gap(after, place.part.path, place.gap_before, place.part.missing_before))
        after = place.part.path
    return gaps
