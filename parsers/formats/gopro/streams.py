"""GoPro payload walker: one pass over a source's GPMF payloads gathers what the Telemetry needs.

For each DEVC (device) of each payload, _Walker records the device (DVID,
DVNM), the GPS blocks (GPS9, GPS5, Karma GPRI and SYST, found with
bytes.find rather than by parsing every STRM), every telemetry stream's data
chunks (byte ranges, row counts, TIMO), the udta/APP6 settings STRMs, and the
clocks that time payloads without an MP4 sample table (GPS time, STMP/TICK).
Damage skips the DEVC with a warning; a TSMP jump warns of lost samples.

A Payload is one payload's byte range and video time. Without a sample
table (raw GPMF, a cut MP4), _walk_devcs groups DEVCs into payloads: a new
one starts when a device id repeats or bytes intervene.

References: the GPMF spec ("GPMF Timing and Clocks", "Multi-sample and
Non-periodic data"), gopro-telemetry ``timeKLV.js``.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from telemetryfs.parsers.encodings import gpmf
from telemetryfs.parsers.encodings.gpmf import GPS5, GPS9, GPSF, GPSP, GPSU, Klv, StreamBlock
from telemetryfs.parsers.errors import MalformedError, ParseError
from telemetryfs.parsers.formats.gopro.gps import GPRI, SYST, _gps9_utc
from telemetryfs.parsers.formats.gopro.gps_blocks import GpsBlock
from telemetryfs.parsers.model import ParseWarning

_GPS_SCAN_KEYS = (GPS9, GPS5, GPRI, SYST)
# Columns each GPS stream must have to be read (spec; MAVLink GPS_RAW_INT; SYST pair).
_GPS_COLUMNS = {GPS9: 9, GPS5: 5, GPRI: 10, SYST: 2}


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


class ChunkSpecs:
    """Each data KLV of a stream as numbers, appended as the walk finds them: the
    payload, the KLV's place among its STRM's (step of steps), its value bytes'
    extent, its rows and the STRM's TIMO. An hour of a HERO11 has ~125,000 of
    them, which as tuples of objects held ~25 MB until the walk ended."""

    __slots__ = ("offset", "payload", "rows", "size", "step", "steps", "timo")

    def __init__(self) -> None:
        self.payload, self.step, self.steps = array("q"), array("q"), array("q")
        self.offset, self.size, self.rows = array("q"), array("q"), array("q")
        self.timo = array("d")

    def add(
        self, payload: int, step: int, steps: int, offset: int, size: int, rows: int, timo: float
    ) -> None:
        self.payload.append(payload)
        self.step.append(step)
        self.steps.append(steps)
        self.offset.append(offset)
        self.size.append(size)
        self.rows.append(rows)
        self.timo.append(timo)

    def __len__(self) -> int:
        return len(self.payload)


@dataclass(slots=True)
class _StreamAcc:
    device: int | str
    key: bytes
    codec: gpmf.Codec
    columns: tuple[str, ...]
    label: str | None
    chunks: ChunkSpecs = field(default_factory=ChunkSpecs)
    # Each STRM's extent in the source (its per-stream .gpmf file's pieces).
    strm_offsets: array[int] = field(default_factory=lambda: array("q"))
    strm_sizes: array[int] = field(default_factory=lambda: array("q"))
    count: int = 0


class _Walker:
    """Everything gathered while walking the payloads of one source, in order."""

    def __init__(self, *, streams: bool) -> None:
        self.want_streams = streams
        self.devices: dict[int | str, _Device] = {}
        self.gps: list[GpsBlock] = []
        self.syst: list[tuple[float, float]] = []
        self.streams: dict[tuple[int | str, bytes, gpmf.Codec], _StreamAcc] = {}
        self.gps_clock: dict[int, float] = {}
        self.dev_clock: dict[int, float] = {}
        self.settings: dict[str, Any] = {}
        self.warnings: list[ParseWarning] = []
        self.good = 0
        self.seen_gps9 = False
        self.altitude: dict[bytes, str] = {}
        self._by_dvid: dict[bytes, _Device] = {}

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
                    # Ten STRMs a payload, one or two hits: a plain loop (no
                    # generator per STRM) is a tenth of an hour's GPS-only walk.
                    lo = kid.offset + 8
                    hi = lo + kid.struct_size * kid.repeat
                    is_gps = False
                    for h in hits:
                        if lo <= h < hi:
                            is_gps = True
                            break
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
        # Every payload names its device again: known by its DVID's bytes, it is
        # not decoded again (the same bytes are the same id, so the same device).
        raw = buf[dvid.offset : dvid.end] if dvid is not None else b""
        device = self._by_dvid.get(raw)
        if device is None:
            device = self._by_dvid[raw] = self._new_device(buf, kids, dvid)
        return device

    def _new_device(self, buf: bytes, kids: list[Klv], dvid: Klv | None) -> _Device:
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
        div = codec.scale or (1.0,) * len(codec.fields)
        if block.key == SYST:
            rows = [r for k in block.data for r in gpmf.raw_rows(codec, _value(buf, k))]
            self.syst.extend(_syst_pairs(rows, div))
            if self.syst and index not in self.gps_clock:
                self.gps_clock[index] = self.syst[-1][1]
            return
        # The rows stay bytes (each value cut to whole structs, as raw_rows does):
        # the track decodes every payload's at once (gps.py).
        size = gpmf.raw_row_size(codec)
        data = b"".join(_whole_structs(_value(buf, k), size) for k in block.data)
        if not data or size <= 0:
            return
        first = gpmf.raw_rows(codec, data[:size])
        if not first:
            return
        self.seen_gps9 = self.seen_gps9 or block.key == GPS9
        if gpmf.GPSA in block.props:
            klv, gpsa_buf = block.props[gpmf.GPSA]
            self.altitude[block.key] = str(gpmf.read_value(gpsa_buf, klv))
        gps = GpsBlock(index, dev.id, block.key, codec, data, div, base + block.data[0].offset)
        gpsu = _local_prop(block, GPSU)
        if gpsu is not None:
            gps.gpsu_raw = _value(buf, gpsu)
            gps.gpsu = gpmf.parse_gpsu(gps.gpsu_raw)
        fix = _first_number(block, GPSF)
        gps.fix = int(fix) if fix is not None else None
        precision = _first_number(block, GPSP)
        gps.dop = precision / 100.0 if precision is not None else None
        self.gps.append(gps)
        clock = gps.gpsu if block.key == GPS5 else None
        if block.key == GPS9:
            clock = _gps9_utc(first[0][5] / div[5], first[0][6] / div[6])
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
                acc.chunks.add(index, step, steps, base + klv.value_offset, klv.size, rows, timo)
                acc.count += rows
        acc.strm_offsets.append(base + block.strm.offset)
        acc.strm_sizes.append(block.strm.end - block.strm.offset)
        if steps == 1:
            self._check_tsmp(block, dev, base)

    def _check_tsmp(self, block: StreamBlock, dev: _Device, base: int) -> None:
        """TSMP counts every sample since the recording started: a jump means lost payloads."""
        tsmp = _local_prop(block, gpmf.TSMP)
        if tsmp is None:
            return
        total = gpmf.read_numbers(block.props[gpmf.TSMP][1], tsmp)
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


def _whole_structs(value: bytes, size: int) -> bytes:
    cut = len(value) % size if size > 0 else 0
    return value[: len(value) - cut] if cut else value


def _padded(buf: bytes, klv: Klv) -> bytes:
    """A KLV's bytes with its 32-bit padding (written as zeros if the source lacks it)."""
    raw = buf[klv.offset : klv.value_offset + klv.size]
    return raw + b"\0" * (-len(raw) % 4)


def _local_prop(block: StreamBlock, key: bytes) -> Klv | None:
    """A property written in this very STRM (not carried over from an earlier payload)."""
    found = block.props.get(key)
    if found is None:
        return None
    klv = found[0]
    return klv if block.strm.value_offset <= klv.offset < block.strm.end else None


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
