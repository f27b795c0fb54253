"""MP4 sample tables: every sample of a track as a byte range, start and duration.

The sample tables (stsz/stz2, stts, stsc, stco/co64 in the track's stbl) give
every sample of a track its byte range, start time and duration, which is all
a timed-metadata track (GoPro ``gpmd``) needs. The edit-list shift comes
with the Track (mp4.py reads tkhd, mdhd, hdlr, stsd and elst).

References: ISO/IEC 14496-12 §8.6-§8.7 (sample tables), gpmf-parser's
sample-count sanity cap.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO

from telemetryfs.parsers.binio import U32BE, Readahead, file_size, read_upto
from telemetryfs.parsers.containers.mp4.boxes import Box, _unpack, iter_children, read_box_data
from telemetryfs.parsers.errors import MalformedError

# gpmf-parser's sanity cap: 24 h of samples at 60 per second, per table.
MAX_SAMPLES = 24 * 3600 * 60
# Samples that follow each other in the file are read together, up to this much at once.
MAX_RUN = 1 << 20


@dataclass(frozen=True, slots=True)
class Sample:
    """One sample of a track: its bytes in the file and its presentation time (seconds)."""

    offset: int
    size: int
    start: float
    duration: float


@dataclass(frozen=True, slots=True)
class Track:
    """What a trak says about itself; the sample table is read on demand (read_samples)."""

    track_id: int
    handler: bytes
    handler_name: str
    sample_format: bytes
    timescale: int
    duration: float | None
    edit_shift: float
    stbl: Box | None
    path: str


def read_samples(f: BinaryIO, track: Track) -> list[Sample]:
    """Every sample of a track: byte range, start and duration in seconds.

    Start times include the edit-list shift. Tables are cross-checked: the
    sample count is the smallest that stsz, stts and stsc/stco agree on.

    Raises:
        MalformedError: a table is missing or announces more entries than it holds.
        TruncatedError: a table is cut short.
    """
    if track.stbl is None or not track.timescale:
        raise MalformedError("track without sample table or timescale", path=track.path)
    tables = {b.kind: b for b in iter_children(f, track.stbl, path=track.path)}
    sizes = _read_sizes(f, tables)
    durations = _read_times(f, _need(tables, b"stts", track), len(sizes))
    offsets = _read_offsets(f, tables, track, sizes)
    count = min(len(sizes), len(durations), len(offsets))
    samples: list[Sample] = []
    t = 0
    for i in range(count):
        start = t / track.timescale + track.edit_shift
        samples.append(Sample(offsets[i], sizes[i], start, durations[i] / track.timescale))
        t += durations[i]
    return samples


def iter_sample_data(f: BinaryIO, samples: Sequence[Sample]) -> Iterator[tuple[Sample, bytes]]:
    """Each sample with its bytes, reading back-to-back samples in one read (up to
    MAX_RUN): a subtitle track of 36,000 cues an hour is a few dozen reads, not
    36,000. A sample cut by the end of the file comes with the bytes that are there.

    The reads are announced a window ahead (binio.Readahead): a metadata track's
    samples sit a second apart through gigabytes of video, and read one by one,
    cold, each would wait for a seek.
    """
    runs: list[tuple[int, int]] = []  # (first sample, one past the last) of each read
    ranges: list[tuple[int, int]] = []  # (offset, size) of each read
    i = 0
    while i < len(samples):
        first = samples[i]
        end = i + 1
        run_end = first.offset + first.size
        while (
            end < len(samples)
            and samples[end].offset == run_end
            and run_end + samples[end].size - first.offset <= MAX_RUN
        ):
            run_end += samples[end].size
            end += 1
        runs.append((i, end))
        ranges.append((first.offset, run_end - first.offset))
        i = end
    readahead = Readahead(f, ranges)
    for n, (a, b) in enumerate(runs):
        readahead.before(n)
        # A run is one sample or samples within MAX_RUN; callers skip samples too big to read.
        start, size = ranges[n]
        data = read_upto(f, start, size)
        for sample in samples[a:b]:
            at = sample.offset - start
            yield sample, data[at : at + sample.size]


def first_sample_offset(f: BinaryIO, track: Track) -> int | None:
    """Where a track's first sample starts (its first chunk), without reading the tables.

    Raises:
        TruncatedError, MalformedError: the stbl is damaged.
    """
    if track.stbl is None:
        return None
    for box in iter_children(f, track.stbl, path=track.path):
        if box.kind in (b"stco", b"co64"):
            wide = box.kind == b"co64"
            head = read_upto(f, box.data_offset, 16 if wide else 12)
            if len(head) < (16 if wide else 12) or not U32BE.unpack_from(head, 4)[0]:
                return None
            return int.from_bytes(head[8:], "big")
    return None


def _need(tables: dict[bytes, Box], kind: bytes, track: Track) -> Box:
    if kind not in tables:
        raise MalformedError(f"no {kind.decode('latin-1')} box", path=f"{track.path}/stbl")
    return tables[kind]


def _table(f: BinaryIO, box: Box, head: int, entry_size: int) -> tuple[bytes, int]:
    """Read a full box table: returns its data and the entry count, checked against its size."""
    data = read_box_data(f, box)
    if len(data) < head:
        raise MalformedError(f"{box.name} too short", offset=box.offset)
    (count,) = U32BE.unpack_from(data, head - 4)
    if count > MAX_SAMPLES or count * entry_size > len(data) - head:
        raise MalformedError(f"{box.name} announces {count} entries", offset=box.offset)
    return data, count


def _read_sizes(f: BinaryIO, tables: dict[bytes, Box]) -> list[int]:
    if b"stsz" in tables:
        box = tables[b"stsz"]
        data = read_box_data(f, box)
        uniform, count = _unpack(">II", data, 4, box)
        if count > MAX_SAMPLES:
            raise MalformedError(f"stsz announces {count} samples", offset=box.offset)
        if uniform:
            # Every sample lies in the file: a count beyond that is a lying table.
            return [uniform] * min(count, file_size(f) // uniform)
        data, count = _table(f, box, 12, 4)
        return list(struct.unpack_from(f">{count}I", data, 12))
    if b"stz2" in tables:
        return _read_stz2(f, tables[b"stz2"])
    raise MalformedError("no stsz or stz2 box")


def _read_stz2(f: BinaryIO, box: Box) -> list[int]:
    data = read_box_data(f, box)
    field_size, count = _unpack(">xxxxxxxBI", data, 0, box)
    if field_size not in (4, 8, 16) or count > MAX_SAMPLES:
        raise MalformedError(f"stz2 field size {field_size}, {count} entries", offset=box.offset)
    body = data[12:]
    if (count * field_size + 7) // 8 > len(body):
        raise MalformedError(f"stz2 announces {count} entries", offset=box.offset)
    if field_size == 16:
        return list(struct.unpack_from(f">{count}H", body))
    if field_size == 8:
        return list(body[:count])
    # Two 4-bit sizes per byte, high nibble first.
    return [(body[i // 2] >> (0 if i % 2 else 4)) & 0xF for i in range(count)]


def _read_times(f: BinaryIO, box: Box, limit: int) -> list[int]:
    data, count = _table(f, box, 8, 8)
    durations: list[int] = []
    for sample_count, delta in struct.iter_unpack(">II", data[8 : 8 + count * 8]):
        take = min(sample_count, limit - len(durations))
        durations.extend([delta] * take)
        if len(durations) >= limit:
            break
    return durations


def _read_offsets(
    f: BinaryIO, tables: dict[bytes, Box], track: Track, sizes: list[int]
) -> list[int]:
    """Sample offsets from stsc (samples per chunk) and stco/co64 (chunk offsets)."""
    limit = len(sizes)
    if b"stco" in tables:
        data, n = _table(f, tables[b"stco"], 8, 4)
        chunks = list(struct.unpack_from(f">{n}I", data, 8))
    elif b"co64" in tables:
        data, n = _table(f, tables[b"co64"], 8, 8)
        chunks = list(struct.unpack_from(f">{n}Q", data, 8))
    else:
        raise MalformedError("no stco or co64 box", path=f"{track.path}/stbl")
    data, n = _table(f, _need(tables, b"stsc", track), 8, 12)
    runs = list(struct.iter_unpack(">III", data[8 : 8 + n * 12]))
    offsets: list[int] = []
    for r, (first, per_chunk, _) in enumerate(runs):
        last = runs[r + 1][0] - 1 if r + 1 < len(runs) else len(chunks)
        if first < 1 or last > len(chunks):
            raise MalformedError(f"stsc refers to chunk {first}..{last}", path=f"{track.path}/stbl")
        for chunk in range(first - 1, last):
            pos = chunks[chunk]
            for _ in range(min(per_chunk, limit - len(offsets))):
                offsets.append(pos)
                pos += sizes[len(offsets) - 1]
            if len(offsets) >= limit:
                return offsets
    return offsets
