"""Byte builders for test inputs (mutagen's ``Atom.render`` idea).

Small, exact and readable: each returns the bytes of one structure so a test
can say precisely which edge case it builds.
"""

from __future__ import annotations

import struct


def box(kind: bytes, payload: bytes = b"") -> bytes:
    """One ISO-BMFF box with a 32-bit size."""
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def box64(kind: bytes, payload: bytes = b"") -> bytes:
    """One box with size field 1 and a 64-bit size."""
    return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload


def full_box(kind: bytes, version: int, flags: int, payload: bytes = b"") -> bytes:
    """A full box: version byte and 24-bit flags before the payload."""
    return box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def pad4(data: bytes) -> bytes:
    """Pad to a multiple of four bytes, as GPMF requires."""
    return data + b"\0" * (-len(data) % 4)


def klv(fourcc: bytes, type_char: bytes, struct_size: int, repeat: int, payload: bytes) -> bytes:
    """One GPMF KLV: key, type, struct size, repeat (big-endian u16), padded payload."""
    assert len(fourcc) == 4
    assert len(type_char) == 1
    return fourcc + type_char + struct.pack(">BH", struct_size, repeat) + pad4(payload)


def klv_nest(fourcc: bytes, *children: bytes) -> bytes:
    """A nested GPMF KLV (type 0) holding the given KLVs."""
    body = b"".join(children)
    return fourcc + b"\0" + struct.pack(">BH", 1, len(body)) + body


def riff_chunk(chunk_id: bytes, data: bytes) -> bytes:
    """One RIFF chunk with little-endian size and even padding."""
    assert len(chunk_id) == 4
    return chunk_id + struct.pack("<I", len(data)) + data + b"\0" * (len(data) & 1)


def riff_list(list_type: bytes, form: bytes, *chunks: bytes) -> bytes:
    """A RIFF or LIST chunk of the given form type holding chunks."""
    return riff_chunk(list_type, form + b"".join(chunks))


# --- GoPro GPMF and MP4 (appended for the GoPro parser tests) -------------------------


def gpmf_devc(dvid: int, name: bytes, *children: bytes) -> bytes:
    """A DEVC with its DVID (L) and DVNM (c) before the given KLVs (usually STRMs)."""
    return klv_nest(
        b"DEVC",
        klv(b"DVID", b"L", 4, 1, struct.pack(">I", dvid)),
        klv(b"DVNM", b"c", 1, len(name), name),
        *children,
    )


def gpmf_gps5(
    samples: list[tuple[float, float, float, float, float]],
    *,
    gpsu: bytes | None = b"170417173103.000",
    fix: int = 3,
    precision: int = 606,
) -> bytes:
    """A GPS5 STRM as HERO5-10 write it (SCAL 1e7, 1e7, 1e3, 1e3, 1e2)."""
    scal = (10_000_000, 10_000_000, 1000, 1000, 100)
    body = b"".join(
        struct.pack(">5l", *(round(v * s) for v, s in zip(sample, scal, strict=True)))
        for sample in samples
    )
    parts = [klv(b"GPSF", b"L", 4, 1, struct.pack(">I", fix))]
    if gpsu is not None:
        parts.append(klv(b"GPSU", b"U", 16, 1, gpsu))
    parts += [
        klv(b"GPSP", b"S", 2, 1, struct.pack(">H", precision)),
        klv(b"UNIT", b"c", 3, 5, b"degdegm\0\0m/sm/s"),
        klv(b"SCAL", b"l", 4, 5, struct.pack(">5l", *scal)),
        klv(b"GPS5", b"l", 20, len(samples), body),
    ]
    return klv_nest(b"STRM", *parts)


def gpmf_gps9(samples: list[tuple[float, ...]]) -> bytes:
    """A GPS9 STRM (HERO11+): lat, lon, alt, 2D, 3D, days since 2000, secs of day, DOP, fix."""
    scal = (10_000_000, 10_000_000, 1000, 1000, 100, 1, 1000, 100, 1)
    body = b"".join(
        struct.pack(">7l2H", *(round(v * s) for v, s in zip(sample, scal, strict=True)))
        for sample in samples
    )
    return klv_nest(
        b"STRM",
        klv(b"TYPE", b"c", 9, 1, b"lllllllSS"),
        klv(b"SCAL", b"l", 4, 9, struct.pack(">9l", *scal)),
        klv(b"GPS9", b"?", 32, len(samples), body),
    )


def gpmf_strm(
    fourcc: bytes,
    type_char: bytes,
    per_sample: int,
    values: list[int] | list[float],
    *props: bytes,
) -> bytes:
    """A simple STRM: the given property KLVs, then ``values`` as samples of ``per_sample``."""
    fmt = {b"s": "h", b"S": "H", b"l": "i", b"L": "I", b"f": "f", b"b": "b", b"B": "B"}
    code = fmt[type_char]
    width = struct.calcsize(code)
    data = struct.pack(f">{len(values)}{code}", *values)
    return klv_nest(
        b"STRM", *props, klv(fourcc, type_char, width * per_sample, len(values) // per_sample, data)
    )


def gpmd_mp4(
    payloads: list[bytes],
    *,
    durations: list[int] | None = None,
    timescale: int = 1000,
    co64: bool = False,
    elst: tuple[int, int] | None = None,
    udta: bytes = b"",
    fdsc: bool = False,
    creation: int = 0,
    moov_first: bool = False,
) -> bytes:
    """A minimal GoPro-like MP4: ftyp, mdat with the payloads, moov with one gpmd track.

    ``elst`` is (segment duration in movie ticks, media time); ``fdsc`` adds a
    HERO5 "SOS" meta track first (a parser must skip it); ``moov_first`` writes
    moov before mdat (ffmpeg's faststart layout).
    """
    kw = {"durations": durations, "timescale": timescale, "co64": co64, "elst": elst}
    if moov_first:
        plain = gpmd_mp4(payloads, udta=udta, fdsc=fdsc, creation=creation, **kw)
        moov_len = len(plain) - plain.rindex(b"moov") + 4
        shifted = _gpmd_parts(payloads, moov_len, udta, fdsc, creation, **kw)
        return shifted[0] + shifted[2] + shifted[1]
    ftyp, mdat, moov = _gpmd_parts(payloads, 0, udta, fdsc, creation, **kw)
    return ftyp + mdat + moov


def _gpmd_parts(
    payloads: list[bytes],
    shift: int,
    udta: bytes,
    fdsc: bool,
    creation: int,
    *,
    durations: list[int] | None,
    timescale: int,
    co64: bool,
    elst: tuple[int, int] | None,
) -> tuple[bytes, bytes, bytes]:
    ftyp = box(b"ftyp", b"mp41\0\0\0\0mp41")
    mdat = box(b"mdat", b"".join(payloads))
    offsets, pos = [], len(ftyp) + 8 + shift
    for p in payloads:
        offsets.append(pos)
        pos += len(p)
    durations = durations or [1001] * len(payloads)
    total = sum(durations)
    mvhd = full_box(
        b"mvhd", 0, 0, struct.pack(">IIII", creation, creation, timescale, total) + bytes(80)
    )
    traks = []
    if fdsc:
        traks.append(
            _trak(
                2,
                b"fdsc",
                b"GoPro SOS",
                timescale,
                [0] * len(payloads),
                offsets,
                [4] * len(payloads),
                False,
                None,
            )
        )
    traks.append(
        _trak(
            1,
            b"gpmd",
            b"GoPro MET",
            timescale,
            durations,
            offsets,
            [len(p) for p in payloads],
            co64,
            elst,
        )
    )
    moov = box(b"moov", mvhd + (box(b"udta", udta) if udta else b"") + b"".join(traks))
    return ftyp, mdat, moov


def _trak(
    track_id: int,
    fmt: bytes,
    name: bytes,
    timescale: int,
    durations: list[int],
    offsets: list[int],
    sizes: list[int],
    co64: bool,
    elst: tuple[int, int] | None,
) -> bytes:
    n = len(durations)
    tkhd = full_box(b"tkhd", 0, 7, struct.pack(">IIII", 0, 0, track_id, 0) + bytes(68))
    mdhd = full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, sum(durations), 0, 0))
    hdlr = full_box(b"hdlr", 0, 0, b"mhlr" + b"meta" + bytes(12) + bytes([len(name)]) + name)
    entry = box(fmt, bytes(6) + struct.pack(">H", 1))
    stsd = full_box(b"stsd", 0, 0, struct.pack(">I", 1) + entry)
    stts = full_box(
        b"stts", 0, 0, struct.pack(">I", n) + b"".join(struct.pack(">II", 1, d) for d in durations)
    )
    stsz = full_box(b"stsz", 0, 0, struct.pack(">II", 0, n) + struct.pack(f">{n}I", *sizes))
    stsc = full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, 1, 1))
    if co64:
        stco = full_box(b"co64", 0, 0, struct.pack(">I", n) + struct.pack(f">{n}Q", *offsets))
    else:
        stco = full_box(b"stco", 0, 0, struct.pack(">I", n) + struct.pack(f">{n}I", *offsets))
    stbl = box(b"stbl", stsd + stts + stsz + stsc + stco)
    minf = box(b"minf", box(b"gmhd", box(b"gmin", bytes(16))) + stbl)
    edts = b""
    if elst is not None:
        edts = box(
            b"edts", full_box(b"elst", 0, 0, struct.pack(">IIiI", 1, elst[0], elst[1], 0x10000))
        )
    return box(b"trak", tkhd + edts + box(b"mdia", mdhd + hdlr + minf))
