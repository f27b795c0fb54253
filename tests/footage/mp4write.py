"""Write sparse ISO-BMFF / QuickTime files: real tables, placeholder media.

The generators describe a file as tracks (sample sizes, durations, chunking)
and a time-ordered list of pieces (one chunk of a track, or an untracked box
such as a Novatek ``free`` GPS block). :func:`layout` places the pieces in
``mdat`` in time order, exactly as a camera interleaves what it records, and
fills in each track's chunk offsets; :func:`write_file` writes only the bytes
that matter (telemetry, headers, ``moov``) and leaves the media as holes, so
a 20 GB hour of video costs a few MB of disk and a few seconds.

Box layouts follow ISO/IEC 14496-12 and Apple's QuickTime File Format; the
choices that vary between muxers (handler names, ``gmhd`` for timed metadata,
one sample per chunk) copy what a real GoPro wrote in
``shared/samples/gopro/mp4/karma.mp4``.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tests.builders import box, full_box

# Seconds from the QuickTime epoch (1904-01-01) to the Unix epoch.
MAC_EPOCH_OFFSET = 2_082_844_800

U32_MAX = 0xFFFF_FFFF

# tkhd flags as karma.mp4 has them: enabled | in movie | in preview | in poster.
TKHD_FLAGS = 0x0F

# The unity matrix of mvhd/tkhd: 16.16 fixed point, w in 2.30.
UNITY_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


@dataclass
class Track:
    """One track: what its ``trak`` box says, plus the offsets layout fills in."""

    handler: bytes  # b"vide", b"soun", b"tmcd", b"meta"
    name: str  # handler name, e.g. "GoPro AVC"
    timescale: int
    sample_entry: bytes  # the one stsd entry (a complete box)
    media_header: bytes  # vmhd / smhd / gmhd / nmhd box
    sizes: list[int]
    stts: list[tuple[int, int]]  # (sample count, sample delta) runs
    chunk_samples: list[int]  # samples per chunk, in chunk order
    sync: list[int] | None = None  # 1-based sync samples (stss), None: all are sync
    width: int = 0
    height: int = 0
    volume: int = 0  # 8.8 fixed point, 0x0100 for audio
    edit_list: bool = False
    offsets: list[int] = field(default_factory=list)

    @property
    def duration(self) -> int:
        """Track duration in its own timescale."""
        return sum(count * delta for count, delta in self.stts)


# One piece of mdat, in the order the camera writes it:
# (time in seconds, priority at equal time, track index or -1, size, real bytes or None).
Piece = tuple[float, int, int, int, bytes | None]


@dataclass
class Layout:
    """Where everything went: offsets of untracked pieces, bytes to write, mdat extent."""

    mdat_offset: int
    mdat_header: bytes
    mdat_end: int
    writes: list[tuple[int, bytes]]
    untracked: list[int]  # offsets of pieces with track -1, in order
    large: bool  # some offset needs 64 bits: use co64 everywhere


def mac_time(when: datetime) -> int:
    """Seconds since 1904-01-01 as QuickTime stores creation times.

    Cameras write their clock's local time without a zone; a naive datetime
    is taken as that wall-clock time, an aware one is converted to UTC.
    """
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    epoch = datetime(1970, 1, 1)
    return int((when - epoch).total_seconds()) + MAC_EPOCH_OFFSET


def layout(pieces: Sequence[Piece], tracks: Sequence[Track], start: int) -> Layout:
    """Place ``pieces`` (already in file order) in an mdat starting at ``start``.

    Appends each tracked piece's offset to its track's ``offsets``.
    """
    payload = sum(p[3] for p in pieces)
    large = 8 + payload > U32_MAX
    if large:
        # size field 1 and a 64-bit size, ISO 14496-12 §4.2.
        header = struct.pack(">I4sQ", 1, b"mdat", 16 + payload)
    else:
        header = struct.pack(">I4s", 8 + payload, b"mdat")
    pos = start + len(header)
    writes: list[tuple[int, bytes]] = []
    untracked: list[int] = []
    track_offsets = [t.offsets for t in tracks]
    for _, _, track, size, data in pieces:
        if track < 0:
            untracked.append(pos)
        else:
            track_offsets[track].append(pos)
        if data is not None:
            writes.append((pos, data))
        pos += size
    return Layout(
        mdat_offset=start,
        mdat_header=header,
        mdat_end=pos,
        writes=writes,
        untracked=untracked,
        large=pos > U32_MAX,
    )


def order_pieces(groups: Iterable[Iterable[Piece]]) -> list[Piece]:
    """Merge per-track piece lists into file order (time, then priority, then sequence)."""
    merged = [p for g in groups for p in g]
    merged.sort(key=lambda p: (p[0], p[1]))  # stable: a track's own order is kept
    return merged


def write_file(path: str | os.PathLike[str], head: bytes, plan: Layout, tail: bytes) -> None:
    """Write ``head`` (ftyp...), the mdat header, the real pieces, then ``tail`` (moov).

    Everything else in mdat stays a hole: the file is sparse.
    """
    with open(path, "wb") as f:
        f.write(head)
        f.seek(plan.mdat_offset)
        f.write(plan.mdat_header)
        for offset, data in plan.writes:
            f.seek(offset)
            f.write(data)
        f.seek(plan.mdat_end)
        f.write(tail)
        f.truncate(plan.mdat_end + len(tail))


def write_timed_track(
    path: str | os.PathLike[str],
    *,
    handler: bytes,
    name: str,
    sample_entry: bytes,
    samples: Sequence[bytes],
    sample_ms: int,
    brand: bytes = b"isom",
    created: int = 0,
) -> None:
    """A file of one timed-metadata or text track: ``samples`` of ``sample_ms`` each, one
    per chunk, in mdat before the moov (what the family builders of tests/footage need)."""
    track = Track(
        handler=handler,
        name=name,
        timescale=1000,
        sample_entry=sample_entry,
        media_header=full_box(b"nmhd", 0, 0),
        sizes=[len(s) for s in samples],
        stts=[(len(samples), sample_ms)],
        chunk_samples=[1] * len(samples),
    )
    pieces: list[Piece] = [(i * sample_ms / 1000, 0, 0, len(s), s) for i, s in enumerate(samples)]
    ftyp = box(b"ftyp", brand + bytes(4) + brand + b"mp41")
    plan = layout(pieces, [track], len(ftyp))
    tail = moov([track], created=created, movie_timescale=1000, large=False)
    write_file(path, ftyp, plan, tail)


# -- moov ---------------------------------------------------------------------


def mvhd(*, created: int, timescale: int, duration: int, next_track_id: int) -> bytes:
    """Movie header, version 0 (32-bit times)."""
    return full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIII", created, created, timescale, duration)
        + struct.pack(">IH", 0x10000, 0x0100)  # rate 1.0, volume 1.0
        + b"\0" * 10
        + UNITY_MATRIX
        + b"\0" * 24  # pre_defined (QuickTime preview/poster/selection times)
        + struct.pack(">I", next_track_id),
    )


def hdlr(handler: bytes, name: str, *, component: bytes = b"mhlr") -> bytes:
    """Handler box in the QuickTime style GoPro writes: 'mhlr' component, Pascal name."""
    raw = name.encode("latin-1")
    return full_box(b"hdlr", 0, 0, component + handler + b"\0" * 12 + bytes([len(raw)]) + raw)


def dinf() -> bytes:
    """Data reference: the media is in this file ('url ' with flag 1)."""
    return box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1) + full_box(b"url ", 0, 1)))


def vmhd() -> bytes:
    return full_box(b"vmhd", 0, 1, b"\0" * 8)


def smhd() -> bytes:
    return full_box(b"smhd", 0, 0, b"\0" * 4)


def gmhd(*children: bytes, tmcd_style: bool = False) -> bytes:
    """Base media header for timecode/metadata tracks (QuickTime), as in karma.mp4."""
    if tmcd_style:
        # graphics mode 0x40 (ditherCopy), opcolor 0x8000 x3: karma's tmcd gmin.
        gmin = full_box(b"gmin", 0, 0, struct.pack(">HHHHhH", 0x40, 0x8000, 0x8000, 0x8000, 0, 0))
    else:
        gmin = full_box(b"gmin", 0, 0, b"\0" * 12)
    return box(b"gmhd", gmin + b"".join(children))


def tmcd_info() -> bytes:
    """The 'tmcd' media info box of a timecode track: a 'tcmi' text style (karma.mp4: 50 bytes)."""
    style = struct.pack(">hhhH", 0, 0, 12, 0)  # font 0, face 0, 12 pt, reserved
    colors = struct.pack(">6H", 0xFFFF, 0xFFFF, 0xFFFF, 0, 0, 0)  # white on black
    return box(b"tmcd", full_box(b"tcmi", 0, 0, style + colors + b"\x09Helvetica"))


def _runs(values: Sequence[int]) -> list[tuple[int, int]]:
    """Run-length encode: (first 1-based index, value) at each change."""
    out: list[tuple[int, int]] = []
    last = None
    for i, v in enumerate(values):
        if v != last:
            out.append((i + 1, v))
            last = v
    return out


def stbl(track: Track, large: bool) -> bytes:
    """Sample table: stsd, stts, (stss), stsc, stsz, stco or co64."""
    stsd = full_box(b"stsd", 0, 0, struct.pack(">I", 1) + track.sample_entry)
    stts = full_box(
        b"stts",
        0,
        0,
        struct.pack(">I", len(track.stts))
        + b"".join(struct.pack(">II", c, d) for c, d in track.stts),
    )
    parts = [stsd, stts]
    if track.sync is not None:
        parts.append(
            full_box(
                b"stss", 0, 0, struct.pack(f">I{len(track.sync)}I", len(track.sync), *track.sync)
            )
        )
    runs = _runs(track.chunk_samples)
    parts.append(
        full_box(
            b"stsc",
            0,
            0,
            struct.pack(">I", len(runs)) + b"".join(struct.pack(">III", c, n, 1) for c, n in runs),
        )
    )
    sizes = track.sizes
    if sizes and all(s == sizes[0] for s in sizes):
        parts.append(full_box(b"stsz", 0, 0, struct.pack(">II", sizes[0], len(sizes))))
    else:
        parts.append(
            full_box(b"stsz", 0, 0, struct.pack(f">II{len(sizes)}I", 0, len(sizes), *sizes))
        )
    offsets = track.offsets
    if len(offsets) != len(track.chunk_samples):
        raise ValueError(
            f"{track.name}: {len(offsets)} offsets for {len(track.chunk_samples)} chunks"
        )
    if large:
        parts.append(
            full_box(b"co64", 0, 0, struct.pack(f">I{len(offsets)}Q", len(offsets), *offsets))
        )
    else:
        parts.append(
            full_box(b"stco", 0, 0, struct.pack(f">I{len(offsets)}I", len(offsets), *offsets))
        )
    return box(b"stbl", b"".join(parts))


def trak(track: Track, *, track_id: int, created: int, movie_timescale: int, large: bool) -> bytes:
    """One complete trak box."""
    movie_duration = track.duration * movie_timescale // track.timescale
    tkhd = full_box(
        b"tkhd",
        0,
        TKHD_FLAGS,
        struct.pack(">IIIII", created, created, track_id, 0, movie_duration)
        + b"\0" * 8
        + struct.pack(">hhHH", 0, 0, track.volume, 0)
        + UNITY_MATRIX
        + struct.pack(">II", track.width << 16, track.height << 16),
    )
    parts = [tkhd]
    if track.edit_list:
        # One edit: the whole media from time 0 at rate 1.0.
        elst = full_box(b"elst", 0, 0, struct.pack(">IIiI", 1, movie_duration, 0, 0x10000))
        parts.append(box(b"edts", elst))
    # Language: ISO 639-2 packed in 15 bits; "eng" as GoPro writes it.
    lang = sum((ord(c) - 0x60) << s for c, s in zip("eng", (10, 5, 0), strict=True))
    mdhd = full_box(
        b"mdhd",
        0,
        0,
        struct.pack(">IIIIHH", created, created, track.timescale, track.duration, lang, 0),
    )
    minf = box(b"minf", track.media_header + dinf() + stbl(track, large))
    parts.append(box(b"mdia", mdhd + hdlr(track.handler, track.name) + minf))
    return box(b"trak", b"".join(parts))


def moov(
    tracks: Sequence[Track],
    *,
    created: int,
    movie_timescale: int,
    large: bool,
    udta: bytes = b"",
    extra: bytes = b"",
    duration: int | None = None,
) -> bytes:
    """The moov box: mvhd, udta (GoPro puts it before the tracks), traks, extra boxes.

    ``duration`` (movie timescale) defaults to the longest track's.
    """
    if duration is None:
        duration = max(t.duration * movie_timescale // t.timescale for t in tracks)
    head = mvhd(
        created=created, timescale=movie_timescale, duration=duration, next_track_id=len(tracks) + 1
    )
    traks = b"".join(
        trak(t, track_id=i + 1, created=created, movie_timescale=movie_timescale, large=large)
        for i, t in enumerate(tracks)
    )
    return box(b"moov", head + udta + traks + extra)
