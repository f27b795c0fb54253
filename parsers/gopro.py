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

Quirks:
- GPSU can be garbage (gpmf-parser #162: ``5509100082240400``), stuck, or a
  year before the GPS had a fix: such payloads get a time derived from their
  neighbours, with a warning;
- HERO11 and later write GPS5 and GPS9 for the same fixes: the track uses
  GPS9 only, both stay available as streams;
- Karma's GPRI is MAVLink GPS_RAW_INT: fix_type 0/1 mean no fix, eph is HDOP x100.
"""

from __future__ import annotations

import bisect
import calendar
import logging
import math
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from . import gpmf, jpeg, mp4
from .binio import file_size, read_at, read_upto
from .errors import MalformedError, ParseError, TruncatedError, UnsupportedError
from .gpmf import GPS5, GPS9, GPSF, GPSP, GPSU, Klv, StreamBlock
from .model import (
    Chunk,
    Extent,
    GpsSample,
    ParseWarning,
    Piece,
    RawFile,
    Stream,
    Telemetry,
)

log = logging.getLogger(__name__)

GPRI = b"GPRI"
SYST = b"SYST"
# Track stream preference: GPS9 (own time, fix, DOP) over GPS5; Karma drones have GPRI only.
GPS_KEYS = (GPS9, GPS5, GPRI)
_GPS_SCAN_KEYS = (GPS9, GPS5, GPRI, SYST)
# Columns each GPS stream must have to be read (spec; MAVLink GPS_RAW_INT; SYST pair).
_GPS_COLUMNS = {GPS9: 9, GPS5: 5, GPRI: 10, SYST: 2}
# GoPro writes one payload per 1.001 s (29.97 fps timebase); gopro-telemetry
# invents the same 1001 ms for a lone payload.
NOMINAL_PAYLOAD = 1.001
GPS_EPOCH_2000 = 946_684_800  # 2000-01-01T00:00:00Z, GPS9 day 0
# Reads are coalesced into runs of at most this many bytes.
READ_RUN = 8 * 1024 * 1024
# A GoPro writes its first payload after about one second of video (under 20 MB
# even at HERO11's 120 Mb/s): none in the first 128 MiB means no GoPro file.
FIRST_PAYLOAD_WITHIN = 128 * 1024 * 1024
# The udta GPMF block is a few KB; anything much bigger is damage.
MAX_UDTA_GPMF = 1024 * 1024
# Firmware prefixes of cameras whose GPMF names the device only "Camera".
_FIRMWARE_MODELS = {"HD5": "HERO5 Black", "HD6": "HERO6 Black", "FS1": "Fusion"}


@dataclass(frozen=True, slots=True)
class Payload:
    """One GPMF payload: its bytes in the source and its video time (None if unknown)."""

    offset: int
    size: int
    start: float | None = None
    duration: float | None = None


@dataclass(slots=True)
class _Device:
    id: int | str
    name: str | None
    prefix: bytes  # the DVID and DVNM KLVs, copied into per-stream .gpmf files
    sticky: dict[bytes, gpmf.Props] = field(default_factory=dict)
    tsmp: dict[bytes, float] = field(default_factory=dict)  # last TSMP per stream


@dataclass(slots=True)
class _GpsBlock:
    payload: int
    device: int | str
    key: bytes
    rows: list[tuple[Any, ...]]  # unscaled, as stored
    div: tuple[float, ...]  # SCAL divisor of each column
    offset: int
    gpsu: float | None = None
    gpsu_raw: bytes = b""
    fix: int | None = None
    dop: float | None = None


@dataclass(slots=True)
class _StreamAcc:
    device: int | str
    key: bytes
    codec: gpmf.Codec
    columns: tuple[str, ...]
    label: str | None
    chunks: list[tuple[int, int, int, Extent, int, float]] = field(default_factory=list)
    strms: list[tuple[int, Extent]] = field(default_factory=list)
    count: int = 0


class _Walker:
    """Everything gathered while walking the payloads of one source, in order."""

    def __init__(self, *, streams: bool) -> None:
        self.want_streams = streams
        self.devices: dict[int | str, _Device] = {}
        self.gps: list[_GpsBlock] = []
        self.syst: list[tuple[float, float]] = []
        self.streams: dict[tuple[int | str, bytes, gpmf.Codec], _StreamAcc] = {}
        self.gps_clock: dict[int, float] = {}
        self.dev_clock: dict[int, float] = {}
        self.settings: dict[str, Any] = {}
        self.warnings: list[ParseWarning] = []
        self.good = 0
        self.seen_gps9 = False
        self.altitude: dict[bytes, str] = {}

    def add_payload(self, buf: bytes, start: int, end: int, base: int, index: int) -> None:
        """Walk one payload's DEVCs; damage skips the DEVC with a warning."""
        for devc in _top_level(buf, start, end, base, self.warnings):
            self.add_devc(buf, devc, base, index)

    def add_devc(self, buf: bytes, devc: Klv, base: int, index: int) -> None:
        try:
            kids = list(gpmf.children(buf, devc))
            device = self._device(buf, kids)
            hits = self._gps_hits(buf, devc)
            for kid in kids:
                if kid.key == gpmf.STRM:
                    lo, hi = kid.value_offset, kid.value_offset + kid.size
                    is_gps = any(lo <= h < hi for h in hits)
                    if is_gps or self.want_streams:
                        self._add_strm(buf, kid, base, index, device, is_gps)
                elif kid.key == gpmf.TICK and index not in self.dev_clock:
                    self._clock(self.dev_clock, index, gpmf.read_numbers(buf, kid), 1000.0)
        except ParseError as exc:
            self.warnings.append(ParseWarning(base + devc.offset, f"damaged DEVC skipped: {exc}"))
            return
        self.good += 1

    def _gps_hits(self, buf: bytes, devc: Klv) -> list[int]:
        """Where GPS keys occur in a DEVC (bytes.find is far cheaper than walking every STRM)."""
        hits = []
        end = devc.value_offset + devc.size
        for key in _GPS_SCAN_KEYS:
            if key == GPS5 and self.seen_gps9 and not self.want_streams:
                continue  # HERO11+: the track uses GPS9, GPS5 is not needed
            at = buf.find(key, devc.value_offset, end)
            while at >= 0:
                hits.append(at)
                at = buf.find(key, at + 4, end)
        return hits

    def _device(self, buf: bytes, kids: list[Klv]) -> _Device:
        dvid = next((k for k in kids if k.key == gpmf.DVID), None)
        dvnm = next((k for k in kids if k.key == gpmf.DVNM), None)
        dev_id: int | str = 0
        if dvid is not None:
            value = gpmf.read_value(buf, dvid)
            dev_id = value if isinstance(value, int | str) else str(value)
        if dev_id not in self.devices:
            name = gpmf.read_text(buf, dvnm) if dvnm is not None else None
            prefix = b"".join(_padded(buf, k) for k in (dvid, dvnm) if k is not None)
            self.devices[dev_id] = _Device(dev_id, name, prefix)
        return self.devices[dev_id]

    @staticmethod
    def _clock(
        clocks: dict[int, float], index: int, values: tuple[float, ...], unit: float
    ) -> None:
        if values:
            clocks[index] = float(values[0]) / unit

    def _add_strm(
        self, buf: bytes, strm: Klv, base: int, index: int, device: _Device, is_gps: bool
    ) -> None:
        block = gpmf.parse_strm(buf, strm, device.sticky)
        if block is None:
            if gpmf.is_settings(buf, strm):
                self._add_settings(buf, strm)
            return
        if gpmf.STMP in block.props and index not in self.dev_clock:
            klv, stmp_buf = block.props[gpmf.STMP]
            if stmp_buf is buf and strm.value_offset <= klv.offset < strm.end:  # not a stale one
                self._clock(self.dev_clock, index, gpmf.read_numbers(stmp_buf, klv), 1e6)
        if is_gps:
            self._add_gps(buf, block, base, index, device)
        if self.want_streams:
            self._add_stream(block, base, index, device)

    def _add_settings(self, buf: bytes, strm: Klv) -> None:
        for key, value in gpmf.parse_settings(buf, strm).items():
            # info.json is strict JSON: no NaN or infinity.
            values = list(value) if isinstance(value, tuple) else [value]
            clean = [None if isinstance(v, float) and not math.isfinite(v) else v for v in values]
            self.settings.setdefault(key, clean if isinstance(value, tuple) else clean[0])

    def _add_gps(self, buf: bytes, block: StreamBlock, base: int, index: int, dev: _Device) -> None:
        codec = block.codec
        if block.key not in _GPS_COLUMNS or len(codec.fields) < _GPS_COLUMNS[block.key]:
            return
        rows = [r for k in block.data for r in gpmf.raw_rows(codec, _value(buf, k))]
        div = codec.scale or (1.0,) * len(codec.fields)
        if block.key == SYST:
            self.syst.extend(_syst_pairs(rows, div))
            if self.syst and index not in self.gps_clock:
                self.gps_clock[index] = self.syst[-1][1]
            return
        if not rows:
            return
        self.seen_gps9 = self.seen_gps9 or block.key == GPS9
        if gpmf.GPSA in block.props:
            klv, gpsa_buf = block.props[gpmf.GPSA]
            self.altitude[block.key] = str(gpmf.read_value(gpsa_buf, klv))
        gps = _GpsBlock(index, dev.id, block.key, rows, div, base + block.data[0].offset)
        local = _local_props(block)
        if GPSU in local:
            gps.gpsu_raw = _value(buf, local[GPSU])
            gps.gpsu = gpmf.parse_gpsu(gps.gpsu_raw)
        fix = _first_number(block, GPSF)
        gps.fix = int(fix) if fix is not None else None
        precision = _first_number(block, GPSP)
        gps.dop = precision / 100.0 if precision is not None else None
        self.gps.append(gps)
        clock = gps.gpsu if block.key == GPS5 else None
        if block.key == GPS9:
            clock = _gps9_utc(rows[0][5] / div[5], rows[0][6] / div[6])
        if clock is not None and index not in self.gps_clock:
            self.gps_clock[index] = clock

    def _add_stream(self, block: StreamBlock, base: int, index: int, dev: _Device) -> None:
        key = (dev.id, block.key, block.codec)
        acc = self.streams.get(key)
        if acc is None:
            columns = gpmf.stream_columns(block.key, block.codec, block.props)
            label = None
            if gpmf.STNM in block.props:
                klv, buf = block.props[gpmf.STNM]
                label = gpmf.read_text(buf, klv)
            acc = self.streams[key] = _StreamAcc(dev.id, block.key, block.codec, columns, label)
        timo = _first_number(block, gpmf.TIMO) or 0.0
        timo = timo if math.isfinite(timo) else 0.0
        steps = len(block.data)
        for step, klv in enumerate(block.data):
            rows = block.codec.row_count(klv.repeat)
            if rows:
                extent = Extent(base + klv.value_offset, klv.size)
                acc.chunks.append((index, step, steps, extent, rows, float(timo)))
                acc.count += rows
        acc.strms.append(
            (index, Extent(base + block.strm.offset, block.strm.end - block.strm.offset))
        )
        if steps == 1:
            self._check_tsmp(block, dev, base)

    def _check_tsmp(self, block: StreamBlock, dev: _Device, base: int) -> None:
        """TSMP counts every sample since the recording started: a jump means lost payloads."""
        local = _local_props(block)
        if gpmf.TSMP not in local:
            return
        total = gpmf.read_numbers(block.props[gpmf.TSMP][1], local[gpmf.TSMP])
        if not total:
            return
        previous = dev.tsmp.get(block.key)
        dev.tsmp[block.key] = total[0]
        if previous is not None and total[0] - previous > block.data[0].repeat:
            lost = int(total[0] - previous - block.data[0].repeat)
            reason = f"{block.key.decode('latin-1')}: {lost} samples missing (TSMP jumps)"
            self.warnings.append(ParseWarning(base + block.strm.offset, reason))


def _value(buf: bytes, klv: Klv) -> bytes:
    return buf[klv.value_offset : klv.value_offset + klv.size]


def _padded(buf: bytes, klv: Klv) -> bytes:
    """A KLV's bytes with its 32-bit padding (written as zeros if the source lacks it)."""
    raw = buf[klv.offset : klv.value_offset + klv.size]
    return raw + b"\0" * (-len(raw) % 4)


def _local_props(block: StreamBlock) -> dict[bytes, Klv]:
    """Properties written in this very STRM (not carried over from an earlier payload)."""
    lo, hi = block.strm.value_offset, block.strm.end
    return {k: klv for k, (klv, _) in block.props.items() if lo <= klv.offset < hi}


def _first_number(block: StreamBlock, key: bytes) -> float | None:
    if key not in block.props:
        return None
    klv, buf = block.props[key]
    numbers = gpmf.read_numbers(buf, klv)
    return float(numbers[0]) if numbers else None


def _syst_pairs(rows: list[tuple[Any, ...]], div: tuple[float, ...]) -> list[tuple[float, float]]:
    """Karma SYST rows: (system seconds, UNIX seconds); zeros mean "not set"."""
    return [(r[0] / div[0], r[1] / div[1]) for r in rows if r[0] and r[1]]


def _top_level(
    buf: bytes, start: int, end: int, base: int, warnings: list[ParseWarning]
) -> Iterator[Klv]:
    """The DEVC KLVs of one payload; other keys are skipped, damage ends the payload."""
    try:
        for klv in gpmf.iter_klv(buf, start, end):
            if klv.key == gpmf.DEVC and klv.nested:
                yield klv
    except MalformedError as exc:
        warnings.append(ParseWarning(base + (exc.offset or start), f"damaged payload: {exc}"))


# --- public entry points ------------------------------------------------------


def extract_mp4(f: BinaryIO, *, streams: bool = True) -> Telemetry:
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
    moov = mp4.find_moov(f)
    if moov is None:
        raise MalformedError("no moov box: the recording was cut short (see recover_mp4)")
    movie = mp4.read_movie(f, moov)
    track = mp4.find_track(movie, b"meta", b"gpmd")
    if track is None:
        raise UnsupportedError("no GPMF (gpmd) track in this MP4")
    size = file_size(f)
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
    return _assemble(walker, payloads, "gpmf", _Header(), error)


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


@dataclass(slots=True)
class _Header:
    """What the MP4's udta says: GPMF settings (model, firmware), HLMT, older FIRM boxes."""

    settings: dict[str, Any] = field(default_factory=dict)
    streams: list[Stream] = field(default_factory=list)
    firmware: str | None = None


def _walk_payloads(f: BinaryIO, payloads: list[Payload], walker: _Walker) -> None:
    """Feed every payload to the walker, reading contiguous payloads in one go."""
    for run in _runs(payloads):
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
            elif box.kind == b"FIRM":  # HERO4/5 firmware string
                header.firmware = mp4.read_box_data(f, box, 256).split(b"\0")[0].decode("latin-1")
        except ParseError as exc:
            warnings.append(ParseWarning(box.offset, f"udta {box.name} unreadable: {exc}"))
    return header


def _walk_devcs(
    walker: _Walker, devcs: Iterator[tuple[bytes, Klv, int]]
) -> tuple[list[Payload], str | None]:
    """Group DEVCs into payloads: a new one starts when a device repeats or bytes intervene."""
    payloads: list[Payload] = []
    seen: set[int | str] = set()
    error = None
    try:
        for buf, devc, base in devcs:
            dev_id = _devc_id(buf, devc)
            start, end = base + devc.offset, base + devc.end
            last = payloads[-1] if payloads else None
            if last is None or dev_id in seen or start != last.offset + last.size:
                payloads.append(Payload(start, end - start))
                seen = set()
            else:
                payloads[-1] = Payload(last.offset, end - last.offset)
            seen.add(dev_id)
            walker.add_devc(buf, devc, base, len(payloads) - 1)
    except ParseError as exc:
        if not walker.good:
            raise
        error = f"GPMF damaged after {len(payloads)} payloads: {exc}"
        walker.warnings.append(ParseWarning(exc.offset, error))
    return payloads, error


def _devc_id(buf: bytes, devc: Klv) -> int | str:
    try:
        for kid in gpmf.children(buf, devc):
            if kid.key == gpmf.DVID:
                value = gpmf.read_value(buf, kid)
                return value if isinstance(value, int | str) else str(value)
    except MalformedError:
        pass
    return 0


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


# --- assembling the result ------------------------------------------------------

Times = list[tuple[float | None, float | None]]


def _assemble(
    walker: _Walker, payloads: list[Payload], fmt: str, header: _Header, error: str | None
) -> Telemetry:
    """Turn what the walker gathered into the common Telemetry."""
    if not walker.good:
        raise MalformedError("no readable GPMF payload")
    times, timing = _payload_times(payloads, walker, derive=fmt != "gopro-jpeg")
    key, blocks = _choose_gps(walker.gps)
    gps = _gps_samples(key, blocks, times, walker) if key else ()
    streams: tuple[Stream, ...] = ()
    raw = [RawFile("all.gpmf", tuple(_coalesce(Extent(p.offset, p.size) for p in payloads)))]
    if walker.want_streams:
        built, per_stream = _build_streams(walker, times)
        streams = (*built, *_unique_names(header.streams, {s.name for s in built}))
        raw.extend(per_stream)
    settings = {**walker.settings, **header.settings}
    firmware = _text_setting(settings, "FMWR") or header.firmware
    info: dict[str, Any] = {
        "devices": [{"id": d.id, "name": d.name} for d in walker.devices.values()],
        "payloads": len(payloads),
        "timing": timing,
        "gps_streams": sorted({b.key.decode() for b in walker.gps}),
    }
    if key:
        info["gps_stream"] = key.decode()
        info["gps_device"] = walker.devices[blocks[0].device].name
        # GPSA "MSLV": altitude above mean sea level (HERO11+); before, GPS5 altitude
        # is the WGS84 ellipsoid height (spec, HERO5 table).
        # Karma's GPRI is MAVLink GPS_RAW_INT, whose alt is above mean sea level.
        reference = walker.altitude.get(key, "MSLV" if key == GPRI else None)
        info["altitude"] = "MSL" if reference == "MSLV" else reference or "WGS84 ellipsoid"
    if settings:
        info["settings"] = settings
    info["sample_rates"] = _sample_rates(streams, times)
    return Telemetry(
        format=fmt,
        camera=_camera(settings, walker, firmware),
        firmware=firmware,
        gps=gps,
        gps_stream=key.decode() if key else None,
        streams=streams,
        raw_files=tuple(raw),
        duration=_end(times),
        info=info,
        warnings=tuple(walker.warnings),
        error=error,
    )


def _with_movie(telemetry: Telemetry, movie: mp4.Movie, track: mp4.Track) -> Telemetry:
    import dataclasses

    info = dict(telemetry.info, gpmd_track=track.track_id, gpmd_timescale=track.timescale)
    return dataclasses.replace(
        telemetry,
        duration=movie.duration if movie.duration is not None else telemetry.duration,
        creation_time=movie.creation_time,
        info=info,
    )


def _text_setting(settings: dict[str, Any], key: str) -> str | None:
    value = settings.get(key)
    return value if isinstance(value, str) and value else None


def _camera(settings: dict[str, Any], walker: _Walker, firmware: str | None) -> str | None:
    """MINF (udta/APP6), else the camera device's own name, else the firmware family."""
    model = _text_setting(settings, "MINF")
    if model:
        return model
    # Device 1 is the camera itself (a Karma drone or BLE sensor has its own id).
    camera = walker.devices.get(1) or next(iter(walker.devices.values()), None)
    name = camera.name if camera else None
    if name in (None, "Camera") and firmware and firmware[:3] in _FIRMWARE_MODELS:
        return _FIRMWARE_MODELS[firmware[:3]]
    return name


def _end(times: Times) -> float | None:
    ends = [s + d for s, d in times if s is not None and d is not None]
    return max(ends) if ends else None


def _coalesce(extents: Iterator[Extent] | list[Extent]) -> list[Extent]:
    out: list[Extent] = []
    for e in extents:
        if out and out[-1].offset + out[-1].size == e.offset:
            out[-1] = Extent(out[-1].offset, out[-1].size + e.size)
        else:
            out.append(e)
    return out


def _payload_times(payloads: list[Payload], walker: _Walker, *, derive: bool) -> tuple[Times, str]:
    """Each payload's (start, duration) in video time, and how it was found."""
    if payloads and all(p.start is not None for p in payloads):
        return [(p.start, p.duration) for p in payloads], "mp4 sample table"
    if not derive:
        return [(None, None)] * len(payloads), "none"
    for clocks, name in ((walker.gps_clock, "gps clock"), (walker.dev_clock, "camera clock")):
        times = _from_clock(len(payloads), clocks)
        if times is not None:
            return times, name
    return [(k * NOMINAL_PAYLOAD, NOMINAL_PAYLOAD) for k in range(len(payloads))], "nominal 1.001 s"


def _from_clock(n: int, clocks: dict[int, float]) -> Times | None:
    """Payload times from a clock read in some payloads; gaps interpolated, ends extrapolated.

    Readings that go backwards or imply payloads shorter than 10 ms or longer
    than a minute are dropped (a garbage GPSU, a clock reset).
    """
    points: list[tuple[int, float]] = []
    for k, t in sorted(clocks.items()):
        if 0 <= k < n and (not points or 0.01 <= (t - points[-1][1]) / (k - points[-1][0]) <= 60):
            points.append((k, t))
    if not points or (len(points) < 2 and n > 1):
        return None
    step = NOMINAL_PAYLOAD
    if len(points) >= 2:
        step = (points[-1][1] - points[0][1]) / (points[-1][0] - points[0][0])
    ks = [k for k, _ in points]
    at = [_clock_at(k, points, ks, step) for k in range(n + 1)]
    origin = at[0]
    return [(at[k] - origin, at[k + 1] - at[k]) for k in range(n)]


def _clock_at(k: int, points: list[tuple[int, float]], ks: list[int], step: float) -> float:
    i = bisect.bisect_left(ks, k)
    if i < len(ks) and ks[i] == k:
        return points[i][1]
    if i == 0:
        return points[0][1] - (points[0][0] - k) * step
    if i == len(ks):
        return points[-1][1] + (k - points[-1][0]) * step
    (k0, t0), (k1, t1) = points[i - 1], points[i]
    return t0 + (t1 - t0) * (k - k0) / (k1 - k0)


def _sample_rates(streams: tuple[Stream, ...], times: Times) -> dict[str, float]:
    rates: dict[str, float] = {}
    for s in streams:
        timed = [c for c in s.chunks if c.start is not None]
        if len(timed) < 2 or not s.sample_count:
            continue
        last = timed[-1]
        span = (last.start or 0.0) + (last.duration or 0.0) - (timed[0].start or 0.0)
        if span > 0:
            rates[s.name] = round(sum(c.count for c in timed) / span, 3)
    return rates


# --- GPS ------------------------------------------------------------------------

_MIN_UTC = calendar.timegm((gpmf.MIN_GPS_YEAR, 1, 1, 0, 0, 0))
_MAX_UTC = calendar.timegm((gpmf.MAX_GPS_YEAR + 1, 1, 1, 0, 0, 0))


def _choose_gps(blocks: list[_GpsBlock]) -> tuple[bytes | None, list[_GpsBlock]]:
    """The track's stream: GPS9 over GPS5 over GPRI; of several devices, the one with most data."""
    for key in GPS_KEYS:
        mine = [b for b in blocks if b.key == key]
        if mine:
            counts: dict[int | str, int] = {}
            for b in mine:
                counts[b.device] = counts.get(b.device, 0) + len(b.rows)
            device = max(counts, key=lambda d: counts[d])
            return key, [b for b in mine if b.device == device]
    return None, []


def _gps_samples(
    key: bytes, blocks: list[_GpsBlock], times: Times, walker: _Walker
) -> tuple[GpsSample, ...]:
    out: list[GpsSample] = []
    if key == GPS5:
        anchors = _gps5_anchors(blocks, times, walker.warnings)
        for block, (anchor, span) in zip(blocks, anchors, strict=True):
            out.extend(_gps5_block(block, times[block.payload], anchor, span))
    elif key == GPS9:
        for block in blocks:
            out.extend(_gps9_block(block, times[block.payload], walker.warnings))
    else:
        syst = sorted(walker.syst)
        for block in blocks:
            out.extend(_gpri_block(block, times[block.payload], syst))
    return tuple(out)


def _video_times(n: int, time: tuple[float | None, float | None]) -> list[float | None]:
    start, dur = time
    if start is None:
        return [None] * n
    return [start + i * (dur or 0.0) / n for i in range(n)]


def _gps5_block(
    block: _GpsBlock, time: tuple[float | None, float | None], anchor: float | None, span: float
) -> list[GpsSample]:
    """GPS5 rows: lat, lon, alt, 2D speed, 3D speed; fix and DOP are the payload's."""
    d0, d1, d2, d3, d4 = block.div[:5]
    n, fix, dop = len(block.rows), block.fix, block.dop
    bad_fix = fix is not None and fix < 2
    videos = _video_times(n, time)
    out = []
    for i, r in enumerate(block.rows):
        utc = anchor + i * span / n if anchor is not None else None
        lat, lon = r[0] / d0, r[1] / d1
        valid = not bad_fix and utc is not None and _in_range(lat, lon)
        out.append(
            GpsSample(
                utc, videos[i], lat, lon, r[2] / d2, r[3] / d3, r[4] / d4, None, fix, dop, valid
            )
        )
    return out


def _gps9_block(
    block: _GpsBlock, time: tuple[float | None, float | None], warnings: list[ParseWarning]
) -> list[GpsSample]:
    """GPS9 rows: lat, lon, alt, 2D, 3D, days since 2000, seconds of day, DOP, fix."""
    d = block.div
    videos = _video_times(len(block.rows), time)
    out = []
    for i, r in enumerate(block.rows):
        utc = _gps9_utc(r[5] / d[5], r[6] / d[6])
        if utc is None:
            warnings.append(ParseWarning(block.offset, f"GPS9 time out of range: {r[5:7]}"))
        lat, lon, fix = r[0] / d[0], r[1] / d[1], int(r[8] / d[8])
        valid = fix >= 2 and utc is not None and _in_range(lat, lon)
        speeds = (r[3] / d[3], r[4] / d[4])
        out.append(
            GpsSample(utc, videos[i], lat, lon, r[2] / d[2], *speeds, None, fix, r[7] / d[7], valid)
        )
    return out


def _gpri_block(
    block: _GpsBlock, time: tuple[float | None, float | None], syst: list[tuple[float, float]]
) -> list[GpsSample]:
    """Karma GPRI (MAVLink GPS_RAW_INT): time, lat, lon, alt, eph, epv, vel, cog, fix, sats."""
    d = block.div
    videos = _video_times(len(block.rows), time)
    out = []
    for i, r in enumerate(block.rows):
        utc = _system_to_utc(r[0] / d[0], syst)
        fix_type = r[8] / d[8]
        fix = 0 if fix_type < 2 else 2 if fix_type == 2 else 3  # 0/1: no fix; 4+: DGPS, RTK
        lat, lon = r[1] / d[1], r[2] / d[2]
        valid = fix >= 2 and utc is not None and _in_range(lat, lon)
        motion = (r[6] / d[6], None, r[7] / d[7])  # ground speed, no 3D speed, course
        out.append(
            GpsSample(utc, videos[i], lat, lon, r[3] / d[3], *motion, fix, r[4] / d[4], valid)
        )
    return out


def _in_range(lat: float, lon: float) -> bool:
    """Coordinates on Earth and not the 0/0 a receiver reports before its first fix."""
    return -90 <= lat <= 90 and -180 <= lon <= 180 and not (lat == 0 and lon == 0)


def _gps5_anchors(
    blocks: list[_GpsBlock], times: Times, warnings: list[ParseWarning]
) -> list[tuple[float | None, float]]:
    """Each GPS5 payload's first-sample UTC (its GPSU) and the span its samples cover.

    A GPSU that is garbage, or does not advance, is replaced by a neighbour's
    GPSU moved by the video-time distance between the payloads.
    """
    valid: list[float | None] = []
    last = None
    for b in blocks:
        t = b.gpsu
        if t is None and b.gpsu_raw:
            warnings.append(ParseWarning(b.offset, f"bad GPSU {b.gpsu_raw!r}: time derived"))
        elif t is not None and last is not None and t <= last:
            warnings.append(ParseWarning(b.offset, f"GPSU {b.gpsu_raw!r} does not advance"))
            t = None
        last = t if t is not None else last
        valid.append(t)
    known = [i for i, t in enumerate(valid) if t is not None]
    anchors: list[float | None] = []
    for i, b in enumerate(blocks):
        t = valid[i]
        if t is None and known:
            j = max((k for k in known if k < i), default=known[0])
            s_i, s_j = times[b.payload][0], times[blocks[j].payload][0]
            t_j = valid[j]
            t = t_j + (s_i - s_j) if s_i is not None and s_j is not None and t_j else None
        anchors.append(t)
    out: list[tuple[float | None, float]] = []
    for i, b in enumerate(blocks):
        dur = times[b.payload][1] or NOMINAL_PAYLOAD
        span = dur
        a, nxt = anchors[i], anchors[i + 1] if i + 1 < len(anchors) else None
        if a is not None and nxt is not None and 0 < nxt - a < max(3 * dur, dur + 2):
            span = nxt - a
        out.append((a, span))
    return out


def _gps9_utc(days: float, seconds: float) -> float | None:
    """GPS9 days since 2000-01-01 and seconds since midnight, as POSIX seconds (UTC)."""
    utc = GPS_EPOCH_2000 + days * 86400 + seconds
    return utc if _MIN_UTC <= utc < _MAX_UTC else None


def _system_to_utc(t: float, syst: list[tuple[float, float]]) -> float | None:
    """Map a Karma system time to UTC through the SYST pairs (exiftool ConvertSystemTime)."""
    if not syst:
        return None
    if len(syst) == 1:
        return syst[0][1] + (t - syst[0][0])
    i = bisect.bisect_right([s for s, _ in syst], t)
    i = min(max(i, 1), len(syst) - 1)
    (s0, u0), (s1, u1) = syst[i - 1], syst[i]
    if s1 == s0:
        return u0
    return u0 + (u1 - u0) * (t - s0) / (s1 - s0)


# --- streams and raw files ------------------------------------------------------


def _build_streams(walker: _Walker, times: Times) -> tuple[list[Stream], list[RawFile]]:
    names = _stream_names(walker)
    streams: list[Stream] = []
    files: list[RawFile] = []
    prefixes: dict[tuple[int | str, int], bytes] = {}
    for key, acc in walker.streams.items():
        device = walker.devices[acc.device]
        chunks = tuple(_chunk(spec, times) for spec in acc.chunks)
        name = names[key]
        streams.append(
            Stream(
                name,
                _fourcc_text(acc.key),
                device.name,
                acc.label,
                acc.columns,
                acc.count,
                chunks,
                acc.codec,
            )
        )
        pieces: list[Piece] = []
        for _, extent in acc.strms:
            inner = len(device.prefix) + extent.size
            if (acc.device, inner) not in prefixes:
                prefixes[(acc.device, inner)] = _devc_header(inner) + device.prefix
            pieces.extend((prefixes[(acc.device, inner)], extent))
        files.append(RawFile(f"{name}.gpmf", tuple(pieces)))
    return streams, files


def _chunk(spec: tuple[int, int, int, Extent, int, float], times: Times) -> Chunk:
    """One data KLV's chunk: payload time, less TIMO; per-frame KLVs get an instant each."""
    index, step, steps, extent, rows, timo = spec
    start, dur = times[index]
    if start is None or dur is None:
        return Chunk(extent, rows, None, None)
    if steps > 1:
        return Chunk(extent, rows, start + step * dur / steps - timo, 0.0)
    return Chunk(extent, rows, start - timo, dur)


_DEVC_TAIL = struct.Struct(">BBH")


def _devc_header(inner: int) -> bytes:
    """A DEVC KLV header for ``inner`` bytes (struct size x repeat must equal it exactly)."""
    for struct_size in (1, *range(4, 256, 4)):
        if inner % struct_size == 0 and inner // struct_size <= 0xFFFF:
            return gpmf.DEVC + _DEVC_TAIL.pack(0, struct_size, inner // struct_size)
    raise MalformedError(f"a STRM of {inner} bytes cannot be wrapped in a DEVC")


def _fourcc_text(key: bytes) -> str:
    return key.decode("latin-1")


def _safe(name: str) -> str:
    """A file stem anyone can type: letters, digits, '.', '_' and '-'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "stream"


def _stream_names(walker: _Walker) -> dict[tuple[int | str, bytes, gpmf.Codec], str]:
    """FOURCC, or '<device>-<FOURCC>' where devices share it; '-2' for a changed layout."""
    devices_per_key: dict[bytes, set[int | str]] = {}
    for dev, key, _ in walker.streams:
        devices_per_key.setdefault(key, set()).add(dev)
    names: dict[tuple[int | str, bytes, gpmf.Codec], str] = {}
    used: set[str] = set()
    for skey in walker.streams:
        dev, key, _ = skey
        base = _safe(_fourcc_text(key))
        if len(devices_per_key[key]) > 1:
            device = walker.devices[dev]
            base = _safe(f"{device.name or device.id}-{_fourcc_text(key)}")
        name, n = base, 1
        while name.lower() in used:
            n += 1
            name = f"{base}-{n}"
        used.add(name.lower())
        names[skey] = name
    return names


def _unique_names(streams: list[Stream], taken: set[str]) -> list[Stream]:
    import dataclasses

    out = []
    for s in streams:
        name, n = s.name, 1
        while name in taken:
            n += 1
            name = f"{s.name}-{n}"
        taken.add(name)
        out.append(dataclasses.replace(s, name=name))
    return out
