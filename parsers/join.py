"""Join the telemetry of a recording's parts (GoPro chapters, dashcam segments) into one.

A GoPro splits a recording into chapters (GX010042.MP4, GX020042.MP4, ...) and a
dashcam writes a drive as one-minute segments; the mount shows each recording
as one folder whose files come from the one Telemetry built here. Which files
form the recording, and in which order, was decided elsewhere (from the names).

How the parts are joined:
- video time runs on across the parts, as in the concatenated video: part k's
  samples and chunks are shifted by the durations of the parts before it. UTC
  stays per sample: it comes from the GPS.
- byte ranges are re-tagged with the index of the part they live in
  (``Extent.part``), so one raw file or stream can span several source files.
- the track must not draw a straight line across a missing chapter, a failed
  part, a battery swap or a chapter of another recording: ``Telemetry.breaks``
  forces a new segment there, whatever the times say.
- where parts overlap in time (a dashcam's event clip copies the minute it
  interrupted), the later samples that are not later than the ones kept are
  dropped and counted.

Pure: no I/O, no logging; bad parts (failed, empty, no GPS, no duration) are
normal input and end up as warnings and facts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import chain

from .model import Chunk, Extent, GpsSample, ParseWarning, Piece, RawFile, Stream, Telemetry, Value

GOPRO_CHAPTERS = "gopro-chapters"
DASHCAM_DRIVE = "dashcam-drive"
KINDS = (GOPRO_CHAPTERS, DASHCAM_DRIVE)

# A chapter continues the previous one when it starts between EARLY_S before and
# LATE_S after the previous one ends. The start is extrapolated from the first
# fix (UTC minus its video time) and GoPro stamps GPS time once per ~1 s payload,
# so a second or two of jitter is normal; a battery swap or a new recording
# leaves a gap of tens of seconds at least.
CONTINUITY_EARLY_S = 2.0
CONTINUITY_LATE_S = 3.0

_PART_NOUNS = {GOPRO_CHAPTERS: "chapters", DASHCAM_DRIVE: "segments"}


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
    """Where one part sits in the recording, worked out before any sample is copied."""

    offset: float
    duration: float | None
    start_utc: float | None
    end_utc: float | None
    gap_before: float | None = None
    breaks_before: bool = False  # a track segment must start with this part's first sample


@dataclass(slots=True)
class _GpsJoin:
    samples: list[GpsSample] = field(default_factory=list)
    breaks: list[int] = field(default_factory=list)
    kept: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)


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
    gps = _join_gps(parts, places, picks)
    first = next((p.telemetry for p in parts if p.telemetry is not None), None)
    durations = [p.duration for p in places if p.duration is not None]
    telemetry = Telemetry(
        format=first.format if first else kind,
        camera=first.camera if first else None,
        firmware=first.firmware if first else None,
        gps=tuple(gps.samples),
        gps_stream=first.gps_stream if first else None,
        extra_columns=columns,
        streams=_join_streams(parts, places, len(gps.samples), notes),
        raw_files=_join_raw_files(parts),
        duration=sum(durations) if durations else None,
        creation_time=first.creation_time if first else None,
        info=dict(first.info) if first else {},
        warnings=(*(ParseWarning(None, n) for n in notes), *_part_warnings(parts)),
        error=None if first else _first_error(parts),
        breaks=tuple(gps.breaks),
    )
    facts = [_part_facts(p, places[k], gps, k) for k, p in enumerate(parts)]
    return telemetry, facts, _join_facts(parts, places, sum(durations), sum(gps.dropped), notes)


# -- where each part sits -----------------------------------------------------


def _place_parts(parts: Sequence[PartInput], kind: str, notes: list[str]) -> list[_Place]:
    """Each part's video offset, UTC span and whether the track must break before it."""
    places: list[_Place] = []
    offset = 0.0
    for k, part in enumerate(parts):
        duration = _duration(part.telemetry)
        start = _utc_start(part.telemetry)
        end = start + duration if start is not None and duration is not None else None
        place = _Place(offset, duration, start, end)
        if part.missing_before:
            noun = _PART_NOUNS[kind]
            notes.append(
                f"one or more {noun} are missing before {part.path}: the track breaks there"
            )
        if part.telemetry is None:
            notes.append(
                f"{part.path} could not be read ({_failure(part)}): the track breaks there "
                "and its duration counts as 0 s in the video times after it"
            )
        elif duration is None:
            notes.append(
                f"{part.path}: duration unknown, counted as 0 s in the video times after it"
            )
        if k:
            previous = places[-1]
            if previous.end_utc is not None and start is not None:
                place.gap_before = start - previous.end_utc
            place.breaks_before = _must_break(parts, k, previous, place, kind, notes)
        places.append(place)
        offset += duration or 0.0
    return places


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


def _must_break(
    parts: Sequence[PartInput], k: int, previous: _Place, place: _Place, kind: str, notes: list[str]
) -> bool:
    """Whether a track segment must start at part k (adds the warnings that say why).

    A missing or failed part before it has been told about already.
    """
    part = parts[k]
    forced = part.missing_before or parts[k - 1].telemetry is None
    before = next((p for p in reversed(parts[:k]) if p.telemetry is not None), None)
    if before is not None and part.telemetry is not None:
        forced = _other_session(before, part, notes) or forced
    if not forced and kind == GOPRO_CHAPTERS:
        forced = not _continues(parts[k - 1], previous, part, place, notes)
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


def _continues(
    before: PartInput, previous: _Place, after: PartInput, place: _Place, notes: list[str]
) -> bool:
    """Whether a chapter starts where the previous one ends (True when either lacks UTC)."""
    if previous.end_utc is None or place.start_utc is None:
        return True
    # The end is start + duration, not the last fix: a chapter's last second or
    # so of video carries no GPS.
    delta = place.start_utc - previous.end_utc
    if -CONTINUITY_EARLY_S <= delta <= CONTINUITY_LATE_S:
        return True
    side = "after" if delta > 0 else "before"
    notes.append(
        f"{after.path} does not continue {before.path}: it starts {abs(delta):.1f} s {side} "
        f"{before.path} ends (expected {CONTINUITY_EARLY_S:g} s before to "
        f"{CONTINUITY_LATE_S:g} s after): the track breaks there"
    )
    return False


# -- GPS -----------------------------------------------------------------------


def _joined_columns(
    parts: Sequence[PartInput],
) -> tuple[tuple[str, ...], list[tuple[int | None, ...] | None]]:
    """The joined extra columns, and per part where each comes from (None: as it is)."""
    told = [p.telemetry.extra_columns for p in parts if p.telemetry is not None and p.telemetry.gps]
    if len(set(told)) <= 1:
        first = next((p.telemetry for p in parts if p.telemetry is not None), None)
        columns = told[0] if told else first.extra_columns if first else ()
        return columns, [None] * len(parts)
    union = tuple(dict.fromkeys(chain.from_iterable(told)))
    picks: list[tuple[int | None, ...] | None] = []
    for part in parts:
        own = part.telemetry.extra_columns if part.telemetry else union
        index = {name: i for i, name in enumerate(own)}
        picks.append(None if own == union else tuple(index.get(name) for name in union))
    return union, picks


def _join_gps(
    parts: Sequence[PartInput], places: list[_Place], picks: list[tuple[int | None, ...] | None]
) -> _GpsJoin:
    joined = _GpsJoin()
    pending_break = False  # carried over parts that add no sample
    for part, place, pick in zip(parts, places, picks, strict=True):
        pending_break = pending_break or place.breaks_before
        samples = part.telemetry.gps if part.telemetry else ()
        dropped = _overlap(joined.samples[-1], samples, place.offset) if joined.samples else 0
        kept = _moved(samples[dropped:], place.offset, pick)
        if kept:
            if pending_break and joined.samples:
                joined.breaks.append(len(joined.samples))
            pending_break = False
            joined.samples.extend(kept)
        joined.kept.append(len(kept))
        joined.dropped.append(dropped)
    return joined


def _overlap(last: GpsSample, samples: Sequence[GpsSample], offset: float) -> int:
    """How many of a part's first samples are not later than the last sample kept."""
    for i, sample in enumerate(samples):
        if not _not_later(sample, last, offset):
            return i
    return len(samples)


def _not_later(sample: GpsSample, last: GpsSample, offset: float) -> bool:
    """Whether ``sample`` (of a part at ``offset``) is not later than the joined ``last``.

    UTC when both have it, else video time; with neither, it cannot be judged
    and counts as later (kept).
    """
    utc, last_utc = _finite(sample.utc), _finite(last.utc)
    if utc is not None and last_utc is not None:
        return utc <= last_utc
    video_time, last_video_time = _finite(sample.video_time), _finite(last.video_time)
    if video_time is not None and last_video_time is not None:
        return video_time + offset <= last_video_time
    return False


def _moved(
    samples: Sequence[GpsSample], offset: float, pick: tuple[int | None, ...] | None
) -> Sequence[GpsSample]:
    """The samples with video time shifted by ``offset`` and ``extra`` realigned by ``pick``."""
    if not offset and pick is None:
        return samples
    # Positional construction: about 3x faster than dataclasses.replace, and this
    # runs once per sample of an hours-long recording.
    return [
        GpsSample(
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


def _join_streams(
    parts: Sequence[PartInput], places: list[_Place], gps_count: int, notes: list[str]
) -> tuple[Stream, ...]:
    """Streams of the same name joined across parts; a part whose layout differs is left out."""
    first: dict[str, tuple[Stream, str]] = {}  # name -> (first stream of that name, its path)
    chunks: dict[str, list[Sequence[Chunk]]] = {}
    counts: dict[str, int] = {}
    for k, (part, place) in enumerate(zip(parts, places, strict=True)):
        for stream in part.telemetry.streams if part.telemetry else ():
            if stream.name not in first:
                first[stream.name] = (stream, part.path)
                chunks[stream.name], counts[stream.name] = [], 0
            reference, reference_path = first[stream.name]
            if (stream.columns, stream.codec) != (reference.columns, reference.codec):
                notes.append(
                    f"{part.path}: stream {stream.name} left out of the joined stream: "
                    f"its {_difference(stream, reference)} differ from {reference_path}'s"
                )
                continue
            chunks[stream.name].append(_moved_chunks(stream.chunks, k, place.offset))
            counts[stream.name] += stream.sample_count
    return tuple(
        # A stream without a codec is the GPS table, rendered from the joined track.
        replace(s, chunks=(), sample_count=gps_count)
        if s.codec is None
        else replace(s, chunks=tuple(chain.from_iterable(chunks[name])), sample_count=counts[name])
        for name, (s, _) in first.items()
    )


def _difference(stream: Stream, reference: Stream) -> str:
    return "columns" if stream.columns != reference.columns else "sample layout (codec)"


def _moved_chunks(chunks: Sequence[Chunk], part: int, offset: float) -> Sequence[Chunk]:
    if not offset and all(c.extent.part == part for c in chunks):
        return chunks
    # Positional construction, as in _moved: ~100,000 chunks per hour of GoPro.
    return [
        Chunk(
            Extent((e := c.extent).offset, e.size, part),
            c.count,
            None if (start := c.start) is None else start + offset,
            c.duration,
        )
        for c in chunks
    ]


def _join_raw_files(parts: Sequence[PartInput]) -> tuple[RawFile, ...]:
    """Each raw file is its parts' pieces in order (concatenated GPMF is valid GPMF)."""
    pieces: dict[str, list[Piece]] = {}
    for k, part in enumerate(parts):
        for raw in part.telemetry.raw_files if part.telemetry else ():
            pieces.setdefault(raw.name, []).extend(_tagged(raw.pieces, k))
    return tuple(RawFile(name, tuple(p)) for name, p in pieces.items())


def _tagged(pieces: Sequence[Piece], part: int) -> Sequence[Piece]:
    return [
        p if isinstance(p, bytes) or p.part == part else Extent(p.offset, p.size, part)
        for p in pieces
    ]


# -- facts and messages -----------------------------------------------------------


def _error(part: PartInput) -> str | None:
    """Why a part failed, or what is damaged in it."""
    if part.error:
        return part.error
    return part.telemetry.error if part.telemetry else "no telemetry could be read"


def _failure(part: PartInput) -> str:
    return _error(part) or "no telemetry could be read"


def _first_error(parts: Sequence[PartInput]) -> str:
    if not parts:
        return "the recording has no parts"
    return f"{parts[0].path}: {_failure(parts[0])}"


def _part_warnings(parts: Sequence[PartInput]) -> list[ParseWarning]:
    """Each part's own warnings (and damage, when it still yielded telemetry), named by file."""
    warnings: list[ParseWarning] = []
    for part in parts:
        if part.telemetry is None:
            continue  # the join's own warning says why it failed
        damage = _error(part)
        if damage:
            warnings.append(ParseWarning(None, f"{part.path}: {damage}"))
        warnings.extend(
            ParseWarning(w.offset, f"{part.path}: {w.reason}") for w in part.telemetry.warnings
        )
    return warnings


def _part_facts(part: PartInput, place: _Place, gps: _GpsJoin, k: int) -> PartFacts:
    return PartFacts(
        path=part.path,
        number=part.number,
        role=part.role,
        duration_s=place.duration,
        video_offset_s=place.offset,
        start_utc=place.start_utc,
        end_utc=place.end_utc,
        gap_before_s=place.gap_before,
        gps_samples=gps.kept[k],
        error=_error(part),
        session=_identity(part.telemetry, "session_id"),
        overlap_dropped=gps.dropped[k],
    )


def _join_facts(
    parts: Sequence[PartInput],
    places: list[_Place],
    recorded: float,
    overlaps: int,
    notes: list[str],
) -> JoinFacts:
    starts = [p.start_utc for p in places if p.start_utc is not None]
    ends = [p.end_utc for p in places if p.end_utc is not None]
    start, end = (starts[0] if starts else None), (ends[-1] if ends else None)
    return JoinFacts(
        start_utc=start,
        end_utc=end,
        duration_s=end - start if start is not None and end is not None else None,
        recorded_s=recorded,
        gaps=tuple(_gaps(parts, places)),
        overlaps=overlaps,
        warnings=tuple(notes),
    )


def _gaps(parts: Sequence[PartInput], places: list[_Place]) -> list[Gap]:
    gaps = []
    for k, (part, place) in enumerate(zip(parts, places, strict=True)):
        late = place.gap_before is not None and place.gap_before > CONTINUITY_LATE_S
        if part.missing_before or late:
            before = parts[k - 1].path if k else None
            gaps.append(Gap(before, part.path, place.gap_before, part.missing_before))
    return gaps
