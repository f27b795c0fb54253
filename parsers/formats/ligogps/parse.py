"""LigoGPS dashcams: LIGOGPSINFO records in the ``ssmd`` metadata tracks of an MP4.

The records' cipher and text are decoded by ``formats/_dashcam/ligo.py``,
which the Novatek family shares (some cameras put LIGOGPSINFO in freeGPS
blocks instead).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import BinaryIO

from telemetryfs.parsers.containers import mp4
from telemetryfs.parsers.errors import ParseError, UnsupportedError
from telemetryfs.parsers.formats._dashcam.ligo import MARKER, SOURCE, records_after
from telemetryfs.parsers.model import Extent, ParseWarning, Telemetry
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.records import Record, to_telemetry

log = logging.getLogger(__name__)

_MAX_SAMPLE = 1 << 20  # an ssmd sample bigger than this is not GPS


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """LIGOGPSINFO records from the ``ssmd`` metadata tracks of an MP4.

    Raises:
        UnsupportedError: no metadata track carries LIGOGPSINFO.
        TruncatedError, MalformedError: the moov is damaged.
    """
    probe = Probe.of(source, name)
    f, movie = probe.file, probe.movie()
    if movie is None:
        raise UnsupportedError("no moov")
    records: list[Record] = []
    extents: list[Extent] = []
    failed = 0
    for track in movie.tracks:
        if track.sample_format != b"ssmd":
            continue
        samples = [s for s in _samples(f, track) if 0 < s.size <= _MAX_SAMPLE]
        for sample, data in mp4.iter_sample_data(f, samples):
            marker = data.find(MARKER)
            if marker < 0:
                continue
            found, bad = records_after(data, marker, sample.offset, fuzz=False)
            records += [_timed(r, sample.start) for r in found]
            failed += bad
            # What was read, not what the table claims: a cut file ends mid-sample.
            extents.append(Extent(sample.offset, len(data)))
    if not extents:
        raise UnsupportedError("no LIGOGPSINFO in any ssmd track")
    warnings = (
        [ParseWarning(None, f"{failed} LIGOGPSINFO records not deciphered")] if failed else []
    )
    info = {"records": len(records), "container": "ssmd metadata track"}
    return to_telemetry(
        SOURCE,
        records,
        raw=extents,
        creation_time=movie.creation_time,
        duration=movie.duration,
        info=info,
        warnings=warnings,
    )


def _samples(f: BinaryIO, track: mp4.Track) -> list[mp4.Sample]:
    try:
        return mp4.read_samples(f, track)
    except ParseError as exc:
        log.debug("ssmd track %s: %s", track.path, exc)
        return []


def _timed(record: Record, start: float) -> Record:
    return replace(record, video_time=start)
