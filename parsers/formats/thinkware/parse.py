"""Thinkware F-series: a tx3g subtitle track of ``gsensori,...;GPRMC,...;CAR,...`` cues.

Each cue (u16 BE length, then text) is ``;``-separated segments: the
G-sensor (``gsensori,<range>,<sensitivity>,X,Y,Z``, ~10 Hz), at 1 Hz an RMC
sentence written without its ``$``, and ``CAR,<OBD fields>``. Only the front
file carries GPS; a rear file has no subtitle track and no telemetry, which
is not an error (dashcamigo's Thinkware fixtures README).
"""

from __future__ import annotations

import dataclasses
from typing import BinaryIO

from telemetryfs.parsers.binio import read_upto
from telemetryfs.parsers.containers import mp4
from telemetryfs.parsers.encodings.nmea import parse_text
from telemetryfs.parsers.errors import ParseError, UnsupportedError
from telemetryfs.parsers.model import Extent, ParseWarning, Telemetry
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.records import Record, Source, to_telemetry

SOURCE = Source("thinkware", "tx3g", "Thinkware subtitle GPS")
CUE_START = b"gsensori,"
MAX_CUE = 4096  # a cue is one line of text; a bigger sample is not a cue


def subtitle_track(probe: Probe) -> mp4.Track | None:
    """The tx3g track whose cues are Thinkware's (its first cue starts ``gsensori,``)."""
    movie = probe.movie_if_readable()
    if movie is None:
        return None
    for track in movie.tracks:
        if track.sample_format != b"tx3g":
            continue
        try:
            first = mp4.first_sample_offset(probe.file, track)
        except ParseError:
            continue
        if first is not None and read_upto(probe.file, first + 2, len(CUE_START)) == CUE_START:
            return track
    return None


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """The RMC fixes (and the G-sensor of their cue) from the subtitle track.

    Raises:
        UnsupportedError: no tx3g track with Thinkware cues.
        TruncatedError, MalformedError: the moov or sample table is damaged.
    """
    probe = Probe.of(source, name)
    track = subtitle_track(probe)
    movie = probe.movie()
    if track is None or movie is None:
        raise UnsupportedError("no Thinkware subtitle track")
    records: list[Record] = []
    extents: list[Extent] = []
    warnings: list[str] = []
    cues = [s for s in mp4.read_samples(probe.file, track) if 2 < s.size <= MAX_CUE]
    for sample, data in mp4.iter_sample_data(probe.file, cues):
        extents.append(Extent(sample.offset, len(data)))  # to_telemetry joins adjacent ones
        text = data[2 : 2 + int.from_bytes(data[:2], "big")]
        # Nine cues in ten carry only the G-sensor: a fix needs an RMC (or GGA).
        if b"RMC," not in text and b"GGA," not in text:
            continue
        found, notes = _cue(text, sample.offset + 2, sample.start)
        warnings += notes
        records += found
    return to_telemetry(
        SOURCE,
        records,
        raw=extents,
        creation_time=movie.creation_time,
        duration=movie.duration,
        info={"cues": len(cues), "records": len(records), "container": "tx3g subtitle track"},
        warnings=[ParseWarning(None, w) for w in dict.fromkeys(warnings)],
    )


def _cue(text: bytes, base: int, video_time: float) -> tuple[list[Record], list[str]]:
    """The RMC of one cue at ``video_time``, with the cue's G-sensor values as extra columns."""
    gsensor: tuple[tuple[str, int], ...] = ()
    records: list[Record] = []
    notes: list[str] = []
    at = 0
    for segment in text.split(b";"):
        if segment.startswith(CUE_START):
            gsensor = _gsensor(segment)
        elif segment[2:5] in (b"RMC", b"GGA"):
            # The sentence without its '$' (and a stray '.' after the checksum).
            found, notes = parse_text(b"$" + segment.rstrip(b"."), base + at - 1)
            records += found
        at += len(segment) + 1
    return [
        dataclasses.replace(r, extra=r.extra + gsensor, video_time=video_time) for r in records
    ], notes


def _gsensor(segment: bytes) -> tuple[tuple[str, int], ...]:
    fields = segment.split(b",")
    if len(fields) != 6:
        return ()
    try:
        return tuple(("gsensor_" + axis, int(v)) for axis, v in zip("xyz", fields[3:], strict=True))
    except ValueError:
        return ()
