"""GoPro streams and raw files: the Stream list and the .gpmf files synthesized from the source.

Each (device, key, codec) the walker indexed becomes one Stream, named by its
FOURCC, '<device>-<FOURCC>' where devices share it, '-2' for a changed
layout; its chunks are the data KLVs, timed from their payload less TIMO
(per-frame KLVs get an instant each). Its raw file ``<name>.gpmf`` is valid
GPMF and copies nothing: per STRM, a synthesized DEVC header and the
device's DVID/DVNM KLVs, then the STRM's extent of the source.
``all.gpmf`` is the payloads' extents, coalesced.
"""

from __future__ import annotations

import re
import struct
from array import array
from collections.abc import Iterator
from typing import Any

import numpy as np

from telemetryfs.parsers.chunk_table import ChunkTable
from telemetryfs.parsers.encodings import gpmf
from telemetryfs.parsers.errors import MalformedError
from telemetryfs.parsers.formats.gopro.gps_blocks import Times
from telemetryfs.parsers.formats.gopro.streams import ChunkSpecs, _StreamAcc, _Walker
from telemetryfs.parsers.model import Extent, RawFile, Stream
from telemetryfs.parsers.piece_table import PieceTable

Array = np.ndarray[Any, Any]


def _coalesce(extents: Iterator[Extent] | list[Extent]) -> list[Extent]:
    out: list[Extent] = []
    for e in extents:
        if out and out[-1].offset + out[-1].size == e.offset:
            out[-1] = Extent(out[-1].offset, out[-1].size + e.size)
        else:
            out.append(e)
    return out


def _build_streams(walker: _Walker, times: Times) -> tuple[list[Stream], list[RawFile]]:
    names = _stream_names(walker)
    streams: list[Stream] = []
    files: list[RawFile] = []
    for key, acc in walker.streams.items():
        device = walker.devices[acc.device]
        chunks = _chunk_table(acc.chunks, times)
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
        files.append(RawFile(f"{name}.gpmf", _stream_pieces(acc, device.prefix)))
    return streams, files


def _stream_pieces(acc: _StreamAcc, prefix: bytes) -> PieceTable:
    """Per STRM: a DEVC header with the device's DVID/DVNM, then the STRM's extent."""
    offsets = np.frombuffer(acc.strm_offsets, dtype=np.int64)
    sizes = np.frombuffer(acc.strm_sizes, dtype=np.int64)
    # One header per distinct STRM size (a stream's STRMs are most often alike).
    distinct, which = np.unique(sizes, return_inverse=True)
    headers = tuple(_devc_header(len(prefix) + int(size)) + prefix for size in distinct.tolist())
    header_sizes = np.array([len(h) for h in headers], dtype=np.int64)
    n = len(sizes)
    return PieceTable(
        headers,
        _interleaved(n, which, -1).astype(np.int32),
        _interleaved(n, 0, offsets),
        _interleaved(n, header_sizes[which], sizes),
        np.zeros(2 * n, dtype=np.int64),
    )


def _interleaved(n: int, header: Array | int, extent: Array | int) -> Array:
    """A column of ``n`` header, extent pairs: ``header`` at even places, ``extent`` at odd."""
    out = np.empty(2 * n, dtype=np.int64)
    out[0::2], out[1::2] = header, extent
    return out


def _chunk_table(specs: ChunkSpecs, times: Times) -> ChunkTable:
    """Each data KLV's chunk: its payload's time less TIMO; the KLVs of a STRM that
    holds several (one per frame) get an instant each, spread over the payload."""

    def column(values: array[Any]) -> Array:
        return np.frombuffer(values, dtype=np.int64 if values.typecode == "q" else np.float64)

    untimed_by_payload = np.array([s is None or d is None for s, d in times], dtype=bool)
    start_by_payload = np.array([np.nan if s is None else s for s, _ in times], np.float64)
    dur_by_payload = np.array([np.nan if d is None else d for _, d in times], np.float64)
    payload = column(specs.payload)
    if len(payload) and not 0 <= int(payload.min()) <= int(payload.max()) < len(times):
        raise MalformedError("a chunk's payload has no time")
    start, dur = start_by_payload[payload], dur_by_payload[payload]
    step, steps = column(specs.step).astype(np.float64), column(specs.steps)
    timo = column(specs.timo)
    with np.errstate(all="ignore"):
        # The arithmetic of the per-chunk rule, in the same order: the same doubles.
        instants = start + step * dur / steps.astype(np.float64) - timo
        starts = np.where(steps > 1, instants, start - timo)
        durations = np.where(steps > 1, 0.0, dur)
    return ChunkTable(
        column(specs.offset).copy(),
        column(specs.size).copy(),
        np.zeros(len(payload), dtype=np.int64),
        column(specs.rows).copy(),
        starts,
        durations,
        untimed_by_payload[payload],
    )


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
