"""GoPro telemetry: a Telemetry from an MP4's GPMF track, a raw GPMF dump, a JPEG, or a cut MP4.

Where the bytes come from:
- MP4: the ``meta`` track whose sample entry is ``gpmd`` (the ``fdsc`` SOS
  track of HERO4/5 is ignored); its sample table gives every payload's byte
  range, start and duration. Only moov and those ranges are read.
- raw GPMF (``ffmpeg -map 0:<gpmd> -c copy -f data``): concatenated payloads;
  a new payload starts when a device id repeats. No MP4 timing: payload times
  come from the GPS clock (GPSU, GPS9, Karma SYST), else the camera clock
  (STMP, TICK), else the nominal 1.001 s.
- JPEG: the APP6 "GoPro" segment (see jpeg.py), one untimed payload.
- a cut MP4 (no moov, dead battery): mdat scanned for DEVC payloads.

Time (spec "GPMF Timing and Clocks"; gopro-telemetry ``timeKLV.js``):
- video time: samples spread evenly over their payload's duration, less TIMO;
- GPS5 UTC: the payload's GPSU is the first sample's time; the others are
  spread up to the next payload's GPSU, so no two samples share a time;
- GPS9 (HERO11+) carries its own time (days since 2000, seconds of day);
- Karma GPRI times are system times, mapped to UTC through the SYST pairs by
  piecewise-linear interpolation (as exiftool's ConvertSystemTime does).

The GPS quirks (garbage GPSU, GPS5 beside GPS9, Karma's GPRI) are handled,
and listed, in gps.py.

Modules: this one has the entry points and the payload readers, with the
read limits they use (READ_RUN, FIRST_PAYLOAD_WITHIN, MAX_UDTA_GPMF: tests
tune them as ``gopro.READ_RUN``...); streams.py walks the payloads,
gps.py builds the GPS track, raw.py the streams and the
synthesized .gpmf files, assemble.py the Telemetry.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import BinaryIO

from telemetryfs.parsers.binio import Readahead, file_size, read_at, read_upto
from telemetryfs.parsers.containers import jpeg, mp4
from telemetryfs.parsers.encodings import gpmf
from telemetryfs.parsers.encodings.gpmf import Klv
from telemetryfs.parsers.errors import MalformedError, ParseError, TruncatedError, UnsupportedError
from telemetryfs.parsers.formats.gopro.assemble import _assemble, _Header, _with_movie
from telemetryfs.parsers.formats.gopro.gps import (
    GPRI,
    GPS_KEYS,
    NOMINAL_PAYLOAD,
    SYST,
)
from telemetryfs.parsers.formats.gopro.gps_blocks import Times
from telemetryfs.parsers.formats.gopro.gps_columns import GPS_EPOCH_2000
from telemetryfs.parsers.formats.gopro.raw import _build_streams
from telemetryfs.parsers.formats.gopro.streams import Payload, _walk_devcs, _Walker
from telemetryfs.parsers.model import ParseWarning, Telemetry
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.stepwise import free_in_steps

__all__ = [
    "FIRST_PAYLOAD_WITHIN",
    "GPRI",
    "GPS_EPOCH_2000",
    "GPS_KEYS",
    "MAX_UDTA_GPMF",
    "NOMINAL_PAYLOAD",
    "READ_RUN",
    "SYST",
    "Payload",
    "Telemetry",
    "Times",
    "extract_gpmf",
    "extract_jpeg",
    "extract_mp4",
    "recover_mp4",
]

log = logging.getLogger(__name__)


# Reads are coalesced into runs of at most this many bytes.
READ_RUN = 8 * 1024 * 1024
# A GoPro writes its first payload after about one second of video (under 20 MB
# even at HERO11's 120 Mb/s): none in the first 128 MiB means no GoPro file.
FIRST_PAYLOAD_WITHIN = 128 * 1024 * 1024
# The udta GPMF block is a few KB; anything much bigger is damage.
MAX_UDTA_GPMF = 1024 * 1024


# --- public entry points ------------------------------------------------------


def extract_mp4(source: BinaryIO | Probe, *, streams: bool = True) -> Telemetry:
    """Telemetry of a GoPro MP4: its gpmd track, indexed by the MP4 sample table.

    Reads the moov and the GPMF payload byte ranges only (never the video).

    Args:
        f: the MP4, opened for binary reading.
        streams: also index every telemetry stream; False decodes only what
            the GPS track needs (the filesystem's fast path for track.gpx).

    Raises:
        UnsupportedError: an MP4 without a gpmd track (not a GoPro clip).
        MalformedError: no moov (see recover_mp4), or a damaged sample table,
            or no payload could be read.
        TruncatedError: the moov is cut short.
    """
    probe = Probe.of(source)
    f = probe.file
    movie = probe.movie()
    if movie is None:
        raise MalformedError("no moov box: the recording was cut short (see recover_mp4)")
    track = mp4.find_track(movie, b"meta", b"gpmd")
    if track is None:
        raise UnsupportedError("no GPMF (gpmd) track in this MP4")
    size = probe.size
    payloads: list[Payload] = []
    missing = 0
    for s in mp4.read_samples(f, track):
        if s.offset + s.size > size:
            missing += 1
        else:
            payloads.append(Payload(s.offset, s.size, s.start, s.duration))
    walker = _Walker(streams=streams)
    _walk_payloads(f, payloads, walker)
    header = _read_udta(f, movie, walker.warnings)
    error = f"file cut short: {missing} GPMF payloads lie past its end" if missing else None
    telemetry = _assemble(walker, payloads, "gopro-mp4", header, error)
    walked: list[object] = [walker, payloads]
    del walker, payloads
    _free_walk(walked)
    return _with_movie(telemetry, movie, track)


def extract_gpmf(f: BinaryIO, *, streams: bool = True) -> Telemetry:
    """Telemetry of a raw GPMF file: one payload or many concatenated (ffmpeg ``-f data``).

    Args:
        f: the GPMF bytes, opened for binary reading; recognised by content.
        streams: as for extract_mp4.

    Raises:
        MalformedError: the file does not start with a DEVC, or no payload is readable.
    """
    head = read_upto(f, 0, 4096)
    if not gpmf.is_gpmf(head):
        raise MalformedError("not GPMF: the data does not start with a DEVC KLV", offset=0)
    walker = _Walker(streams=streams)
    payloads, error = _walk_devcs(walker, _iter_raw_devcs(f, file_size(f), walker.warnings))
    telemetry = _assemble(walker, payloads, "gpmf", _Header(), error)
    walked: list[object] = [walker, payloads]
    del walker, payloads
    _free_walk(walked)
    return telemetry


# A walk of fewer payloads than this (five minutes) is freed at once: a few thousand
# objects, well under a millisecond, where looking for its big sequences to free in
# slices took longer (a card of one-minute clips spent ~10 % of its parses there).
STEPWISE_PAYLOADS = 300


def _free_walk(walked: list[object]) -> None:
    """Drop ``[walker, payloads]`` (the caller's last references), an hour's in slices."""
    payloads = walked[1]
    if isinstance(payloads, list) and len(payloads) < STEPWISE_PAYLOADS:
        del payloads
        walked.clear()
    else:
        del payloads
        free_in_steps(walked)


def extract_jpeg(f: BinaryIO) -> Telemetry:
    """Telemetry of a GoPro photo: the GPMF in its APP6 "GoPro" segment(s).

    Raises:
        UnsupportedError: a JPEG without GoPro APP6 data.
        MalformedError: the JPEG or its GPMF is damaged.
    """
    segments = jpeg.find_gpmf_segments(f)
    if not segments:
        raise UnsupportedError("no GoPro APP6 segment in this JPEG")
    walker = _Walker(streams=True)
    payloads: list[Payload] = []
    for extent in segments:
        buf = read_at(f, extent.offset, extent.size)
        walker.add_payload(buf, 0, len(buf), extent.offset, len(payloads))
        payloads.append(Payload(extent.offset, extent.size))
    if not walker.good:
        raise MalformedError("no readable GPMF in the APP6 segment")
    exif = jpeg.read_exif_gps(f)
    telemetry = _assemble(walker, payloads, "gopro-jpeg", _Header(), None)
    return jpeg.with_exif_gps(telemetry, exif) if exif and not telemetry.gps else telemetry


def recover_mp4(f: BinaryIO, *, max_scan: int | None = None) -> Telemetry:
    """Rebuild the telemetry of a GoPro MP4 whose moov is missing (dead battery).

    Scans mdat in bounded windows for DEVC KLVs that validate structurally and
    times them from their GPS clocks, as for a raw GPMF file. A file with no
    payload in its first FIRST_PAYLOAD_WITHIN bytes is not a GoPro file: the
    scan stops there instead of reading gigabytes of someone else's video.

    Args:
        f: the damaged MP4.
        max_scan: stop after scanning this many bytes (None: the whole file).

    Raises:
        MalformedError: no GPMF payload was found.
    """
    start = _mdat_data_start(f)
    end = file_size(f)
    if max_scan is not None:
        end = min(end, start + max_scan)
    walker = _Walker(streams=True)
    payloads, _ = _walk_devcs(walker, _scan_devcs(f, start, end, FIRST_PAYLOAD_WITHIN))
    if not payloads:
        raise MalformedError("no GPMF payload found in the damaged file")
    note = f"recovered from a file without moov: {len(payloads)} GPMF payloads found by scanning"
    telemetry = _assemble(walker, payloads, "gopro-mp4", _Header(), note)
    return telemetry


# --- reading payloads -----------------------------------------------------------


def _walk_payloads(f: BinaryIO, payloads: list[Payload], walker: _Walker) -> None:
    """Feed every payload to the walker, reading contiguous payloads in one go."""
    runs = list(_runs(payloads))
    spans = [
        (
            payloads[r[0]].offset,
            payloads[r[-1]].offset + payloads[r[-1]].size - payloads[r[0]].offset,
        )
        for r in runs
    ]
    readahead = Readahead(f, spans)
    for k, run in enumerate(runs):
        readahead.before(k)
        first, last = payloads[run[0]], payloads[run[-1]]
        try:
            buf = read_at(f, first.offset, last.offset + last.size - first.offset)
        except TruncatedError as exc:
            walker.warnings.append(ParseWarning(first.offset, f"payload unreadable: {exc}"))
            continue
        for i in run:
            p = payloads[i]
            walker.add_payload(
                buf, p.offset - first.offset, p.offset - first.offset + p.size, first.offset, i
            )


def _runs(payloads: list[Payload]) -> Iterator[list[int]]:
    """Indices of payloads grouped into contiguous runs of at most READ_RUN bytes."""
    run: list[int] = []
    for i, p in enumerate(payloads):
        if run:
            first, prev = payloads[run[0]], payloads[run[-1]]
            if p.offset != prev.offset + prev.size or p.offset + p.size - first.offset > READ_RUN:
                yield run
                run = []
        run.append(i)
    if run:
        yield run


def _read_udta(f: BinaryIO, movie: mp4.Movie, warnings: list[ParseWarning]) -> _Header:
    header = _Header()
    for box in movie.udta:
        try:
            if box.kind == b"GPMF":
                buf = mp4.read_box_data(f, box, MAX_UDTA_GPMF)
                walker = _Walker(streams=True)
                walker.add_payload(buf, 0, len(buf), box.data_offset, 0)
                header.settings.update(walker.settings)
                header.streams.extend(_build_streams(walker, [(None, None)])[0])
                warnings.extend(walker.warnings)
            elif box.kind in (b"GUMI", b"MUID"):  # session and media ids (see session.py)
                header.ids[box.kind.decode()] = mp4.read_box_data(f, box, 64)
            elif box.kind == b"FIRM":  # HERO4/5 firmware string
                header.firmware = mp4.read_box_data(f, box, 256).split(b"\0")[0].decode("latin-1")
        except ParseError as exc:
            warnings.append(ParseWarning(box.offset, f"udta {box.name} unreadable: {exc}"))
    return header


def _iter_raw_devcs(
    f: BinaryIO, size: int, warnings: list[ParseWarning]
) -> Iterator[tuple[bytes, Klv, int]]:
    """Top-level DEVC KLVs of a raw GPMF file, read in windows of READ_RUN bytes.

    Raises:
        MalformedError: a top-level KLV is not a KLV (damage: the caller keeps what came before).
        TruncatedError: a KLV runs past the end of the file.
    """
    pos = 0
    while pos + 8 <= size:
        buf = read_upto(f, pos, READ_RUN)
        at = 0
        while at + 8 <= len(buf):
            key, type_, struct_size, repeat = gpmf.KLV_HEADER.unpack_from(buf, at)
            body = struct_size * repeat
            # The last KLV of a dump may lack its padding.
            total = min(8 + ((body + 3) & ~3), size - pos - at)
            if key == gpmf.NULL_KEY and not buf[at:].strip(b"\0"):
                at = len(buf)  # zero padding (udta block dumps)
                break
            if not gpmf.is_fourcc(key):
                raise MalformedError(f"not a GPMF key: {key!r}", offset=pos + at)
            if 8 + body > size - pos - at:
                raise TruncatedError(f"KLV {key!r} runs past the end of the file", offset=pos + at)
            if at + total > len(buf):
                if at == 0:  # one KLV bigger than a window: read it alone
                    buf = read_at(f, pos, total)
                    continue
                break
            if key == gpmf.DEVC and type_ == 0:
                yield buf, Klv(key, type_, struct_size, repeat, at), pos
            else:
                warnings.append(ParseWarning(pos + at, f"top-level {key!r} KLV skipped"))
            at += total
        if at == 0:
            break
        pos += at


def _mdat_data_start(f: BinaryIO) -> int:
    """Where to start scanning a file without moov: after ftyp and the mdat header."""
    pos, size = 0, file_size(f)
    while pos + 8 <= size:
        head = read_upto(f, pos, 16)
        box_size = int.from_bytes(head[:4], "big")
        if head[4:8] == mp4.MDAT:
            return pos + (16 if box_size == 1 else 8)
        if box_size < 8 or head[4:8] == mp4.MOOV:
            break
        pos += box_size
    return 0


# The GPMF payload header a scan looks for: DEVC, nested.
_DEVC_MAGIC = re.compile(b"DEVC\x00")


def _scan_devcs(
    f: BinaryIO, start: int, end: int, give_up: int
) -> Iterator[tuple[bytes, Klv, int]]:
    """DEVC KLVs found anywhere in [start, end) that validate structurally (bounded windows).

    Stops after ``give_up`` bytes if none was found by then.
    """
    pos = start
    found = False
    while pos + 8 <= end and (found or pos - start < give_up):
        buf = read_upto(f, pos, min(READ_RUN, end - pos))
        # Headers starting in the last 7 bytes are looked at again in the next window.
        nxt = len(buf) if pos + len(buf) >= end else len(buf) - 7
        skip_until = 0
        for match in _DEVC_MAGIC.finditer(buf, 0, nxt + 4):
            at = match.start()
            if at >= nxt or at + 8 > len(buf):
                break
            if at < skip_until:
                continue
            klv = Klv(gpmf.DEVC, 0, buf[at + 5], int.from_bytes(buf[at + 6 : at + 8], "big"), at)
            if pos + klv.value_offset + klv.size > end:
                continue
            if klv.end > len(buf):
                if at == 0:  # bigger than a window (at most 16 MiB): read it alone
                    whole = read_at(f, pos, min(klv.end, end - pos))
                    if gpmf.is_gpmf(whole):
                        found = True
                        yield whole, klv, pos
                    nxt = len(whole)
                else:
                    nxt = at
                break
            if gpmf.is_gpmf(buf[at : klv.end]):
                found = True
                yield buf, klv, pos
                skip_until = klv.end
        pos += max(nxt, 1)
