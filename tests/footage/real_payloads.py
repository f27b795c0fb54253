"""GoPro MP4s whose GPMF track carries real camera payloads, repeated to any length.

The synthetic generator (:mod:`tests.footage.gopro`) writes three streams per
payload; a real camera writes ten to twenty (HERO7: ACCL GYRO GPS5 FACE ISOE
SHUT WBAL WRGB UNIF SROT; HERO11: 21 of them, GPS5 and GPS9 among them). For
the benchmark, this module fills the gpmd track with the payloads of a real
recording (:data:`SOURCES`, from ``shared/samples/gopro/gpmf/``), played round
and round, and lays the file out as :mod:`tests.footage.gopro` does (sparse
video and audio, timecode, udta with the recording's session identity).

The contract (what the tests check with their own code):

- Payload ``g`` of a recording (0-based, counted across its chapters) is source
  payload ``i = g mod n`` of cycle ``c = g div n`` (``n`` source payloads).
  Every byte stays as the camera wrote it except four clocks:
- GPS time: GPSU (``U``, ``yymmddhhmmss.sss``) and GPS9's own time (fields 6
  and 7 of its ``TYPE`` struct: days since 2000-01-01 and seconds since
  midnight, each divided by its SCAL; 1 and 1000 on HERO11) become
  ``t - anchor + start + c * n * payload_ms``, where ``anchor`` is the earliest
  GPS time in source payload 0. A cycle thus lasts as long as its video (n
  payloads of 1.001 s), so GPS time keeps pace with video time and chapters
  join; the source's own GPS clock runs slightly faster (HERO7 1.0026 s,
  HERO11 1.04 s per payload), the join between cycles takes up the difference.
- STMP (``J``, microseconds, HERO11): ``+ c * n * payload_ms * 1000``; it runs
  on across chapters as the camera's uptime does.
- TSMP (``L``, samples since the chapter started): continuous across cycles,
  restarted in every chapter as in ``gopro-telemetry-consecutive1/2.raw``. A
  stream's count before the source's first payload is taken as its first
  payload's sample count (its data repeat) when TSMP rises by exactly the
  repeat throughout, else as its mean rise (FACE, SCEN, HUES count otherwise).

The video is whole payloads: 30 frames per 1.001 s payload at 29.97 fps, so a
chapter of ``chapter_s`` seconds holds ``round(chapter_s / 1.001)`` payloads
and the next one starts exactly where it stops.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import itertools
import os
import random
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from tests.builders import box
from tests.footage import codecs, gpmf, mp4write
from tests.footage.gopro import (
    AUDIO_BYTES,
    AUDIO_FRAME,
    AUDIO_RATE,
    DAYS_1970_2000,
    DEFAULT_START,
    _frame_sizes,
    gopro_name,
    parse_fps,
    video_clock,
)
from tests.footage.truth import Footage, iso_utc
from tests.paths import SAMPLES

GPMF_DIR = SAMPLES / "gopro" / "gpmf"
DAY_MS = 86_400_000
EPOCH_2000_MS = DAYS_1970_2000 * DAY_MS


@dataclass(frozen=True, slots=True)
class Source:
    """A real raw GPMF track and the camera that wrote it."""

    file: str  # under shared/samples/gopro/gpmf/
    model: str
    firmware: str  # FMWR of that generation (the raw files carry no udta)
    serial_prefix: str


SOURCES = {
    # 97 payloads, 97 s: ACCL/GYRO ~200 Hz, GPS5 18 Hz, FACE ISOE SHUT WBAL WRGB UNIF SROT;
    # TSMP only (no STMP). Firmware and serial prefix from the HERO7 udta
    # (gopro-telemetry-mp4header.raw: FMWR HD7.01.01.90.00, CASN C3281325...).
    "hero7": Source("gopro2gpx-hero07.bin", "HERO7 Black", "HD7.01.01.90.00", "C3281325"),
    # 11 payloads of a normal HERO11 video (~6.8 KB each, 21 streams: GPS5 and
    # GPS9 at 10 Hz, STMP and TSMP). gopro2gpx-hero11.bin is not used: one
    # sample per stream per payload, payloads 0.5 s apart (STMP), so at 1.001 s
    # a payload its GPS clock would run at half the video's pace.
    "hero11": Source("gopro-telemetry-hero11.raw", "HERO11 Black", "H22.01.02.32.00", "C3471325"),
}

# Byte sizes of GPMF type chars (spec "Type"), for GPS9's TYPE struct.
_TYPE_SIZES = {"b": 1, "B": 1, "c": 1, "s": 2, "S": 2, "l": 4, "L": 4, "f": 4, "F": 4}
_TYPE_SIZES |= {"j": 8, "J": 8, "d": 8, "q": 4, "Q": 8, "G": 16, "U": 16}
# The days / seconds-since-midnight fields of GPS9 (0-based indexes in its struct).
GPS9_DAYS, GPS9_SECS = 5, 6


class Klv(NamedTuple):
    """One KLV: key, type byte (0: a nest), struct size, repeat; where its header, value, end
    (without padding) and the next KLV are."""

    key: bytes
    type: int
    size: int
    repeat: int
    offset: int
    value: int
    end: int
    next: int


def iter_klvs(data: bytes, start: int = 0, end: int | None = None) -> list[Klv]:
    """The KLVs in ``data[start:end]`` (one level); raise if one runs past ``end``."""
    end = len(data) if end is None else end
    out: list[Klv] = []
    pos = start
    while pos + 8 <= end:
        key, kind, size, repeat = struct.unpack_from(">4sBBH", data, pos)
        length = size * repeat
        item = Klv(
            key, kind, size, repeat, pos, pos + 8, pos + 8 + length, pos + 8 + -(-length // 4) * 4
        )
        if item.end > end:
            raise ValueError(f"KLV {key!r} at {pos} runs past {end}")
        out.append(item)
        pos = item.next
    return out


def split_payloads(data: bytes) -> list[bytes]:
    """A raw GPMF track (``ffmpeg -f data`` output) as its payloads: one top-level DEVC each."""
    items = iter_klvs(data)
    if (
        not items
        or any(k.key != b"DEVC" or k.type != 0 for k in items)
        or items[-1].next != len(data)
    ):
        raise ValueError("not a sequence of DEVC payloads")
    return [data[k.offset : k.next] for k in items]


def stream_keys(payload: bytes) -> list[bytes]:
    """The FourCC of each STRM's data (its last KLV), in payload order."""
    return [
        iter_klvs(payload, s.value, s.end)[-1].key
        for devc in iter_klvs(payload)
        for s in iter_klvs(payload, devc.value, devc.end)
        if s.key == b"STRM" and s.type == 0
    ]


def parse_gpsu(raw: bytes) -> int:
    """GPSU ``yymmddhhmmss.sss`` as POSIX milliseconds."""
    text = raw.decode("ascii")
    when = datetime.strptime(text[:12], "%y%m%d%H%M%S").replace(tzinfo=UTC)
    return int(when.timestamp()) * 1000 + int(text[13:16])


# -- a source: its payloads and where their clocks are ------------------------------


_Stream = tuple[int, bytes, int]  # (DVID, the STRM's data FourCC, its nth STRM of that FourCC)


class _Patch(NamedTuple):
    """One clock field of a source payload."""

    kind: str  # "gpsu", "gps9", "stmp", "tsmp"
    offset: int  # of the value in the payload (gps9: of the days field)
    value: int  # POSIX ms (gpsu, gps9), µs (stmp), samples (tsmp)
    fmt: str  # struct format of the value ("" for gpsu)
    stream: _Stream
    extra: tuple[int, ...] = ()  # gps9: (secs offset, days SCAL, secs SCAL); tsmp: (repeat,)


@dataclass
class _Counter:
    """One TSMP stream over the source: where it occurs, and the cycle's total."""

    indexes: list[int] = field(default_factory=list)  # source payloads holding it
    values: list[int] = field(default_factory=list)
    repeats: list[int] = field(default_factory=list)
    per_cycle: int = 0  # the rise from one cycle to the next


@dataclass
class Loaded:
    """A source split into payloads, with every clock field found."""

    name: str
    source: Source
    payloads: list[bytes]
    patches: list[list[_Patch]]
    anchor_ms: int  # the earliest GPS time in payload 0
    counters: dict[_Stream, _Counter]
    streams: frozenset[bytes]  # FourCCs of every STRM's data, over all payloads
    gps_key: str  # "GPS9" or "GPS5"
    sha256: str

    @property
    def count(self) -> int:
        return len(self.payloads)


def _numbers(data: bytes, item: Klv) -> list[int]:
    """The integers of a KLV of type b B s S l L j J (SCAL, DVID, TSMP, STMP)."""
    fmt = {"b": "b", "B": "B", "s": "h", "S": "H", "l": "i", "L": "I", "j": "q", "J": "Q"}
    char = fmt[chr(item.type)]
    count = item.size * item.repeat // struct.calcsize(">" + char)
    return list(struct.unpack_from(f">{count}{char}", data, item.value))


def _gps9_patches(payload: bytes, strm: list[Klv], data: Klv, stream: _Stream) -> list[_Patch]:
    """A patch per GPS9 row: its days and seconds fields located with TYPE, scaled by SCAL."""
    sticky = {k.key: k for k in strm}
    type_text = payload[sticky[b"TYPE"].value : sticky[b"TYPE"].end].decode("ascii")
    offsets = [0]
    for char in type_text:
        offsets.append(offsets[-1] + _TYPE_SIZES[char])
    if offsets[-1] != data.size or type_text[GPS9_DAYS] != "l" or type_text[GPS9_SECS] != "l":
        raise ValueError(f"unexpected GPS9 TYPE {type_text!r} for {data.size}-byte rows")
    scal = _numbers(payload, sticky[b"SCAL"]) if b"SCAL" in sticky else [1]
    days_scal = scal[GPS9_DAYS] if len(scal) > 1 else scal[0]
    secs_scal = scal[GPS9_SECS] if len(scal) > 1 else scal[0]
    out = []
    for row in range(data.repeat):
        at = data.value + row * data.size
        days, secs = (
            struct.unpack_from(">l", payload, at + offsets[k])[0] for k in (GPS9_DAYS, GPS9_SECS)
        )
        ms = EPOCH_2000_MS + days * DAY_MS // days_scal + secs * 1000 // secs_scal
        extra = (at + offsets[GPS9_SECS], days_scal, secs_scal)
        out.append(_Patch("gps9", at + offsets[GPS9_DAYS], ms, ">l", stream, extra))
    return out


def _payload_patches(payload: bytes) -> list[_Patch]:
    """Every GPSU, GPS9 time, STMP and TSMP of one payload."""
    patches: list[_Patch] = []
    for devc in iter_klvs(payload):
        dvid, seen = 0, dict[bytes, int]()
        for item in iter_klvs(payload, devc.value, devc.end):
            if item.key == b"DVID":
                dvid = _numbers(payload, item)[0]
            if item.key != b"STRM" or item.type != 0:
                continue
            strm = iter_klvs(payload, item.value, item.end)
            data = strm[-1]
            seen[data.key] = seen.get(data.key, -1) + 1
            stream = (dvid, data.key, seen[data.key])
            for k in strm:
                if k.key == b"GPSU" and chr(k.type) == "U":
                    raw = payload[k.value : k.value + 16]
                    patches.append(_Patch("gpsu", k.value, parse_gpsu(raw), "", stream))
                elif k.key == b"STMP" and chr(k.type) in "Jj":
                    stmp = _numbers(payload, k)[0]
                    patches.append(_Patch("stmp", k.value, stmp, ">Q", stream))
                elif k.key == b"TSMP" and chr(k.type) in "Ll":
                    tsmp = _numbers(payload, k)[0]
                    patches.append(_Patch("tsmp", k.value, tsmp, ">L", stream, (data.repeat,)))
            if data.key == b"GPS9":
                patches += _gps9_patches(payload, strm, data, stream)
    return patches


def _check_clock(name: str, kind: str, values: list[tuple[_Stream, int]], cycle: int) -> None:
    """Source clock ``kind`` must rise, and fit in a cycle so that cycles follow each other."""
    by_stream: dict[_Stream, list[int]] = {}
    for key, v in values:
        by_stream.setdefault(key, []).append(v)
    for series in by_stream.values():
        if any(b <= a for a, b in itertools.pairwise(series)):
            raise ValueError(f"{name}: {kind} does not rise through the source")
        if series and series[-1] - series[0] >= cycle:
            raise ValueError(f"{name}: {kind} spans more than a cycle ({cycle})")


@lru_cache(maxsize=4)
def load_source(name: str, payload_ms: int = 1001) -> Loaded:
    """Split ``SOURCES[name]`` into payloads and find their clocks (cached)."""
    source = SOURCES[name]
    raw = (GPMF_DIR / source.file).read_bytes()
    payloads = split_payloads(raw)
    patches = [_payload_patches(p) for p in payloads]
    cycle_ms = len(payloads) * payload_ms
    for kind, unit in (("gpsu", 1), ("gps9", 1), ("stmp", 1000)):
        series = [(p.stream, p.value) for ps in patches for p in ps if p.kind == kind]
        _check_clock(name, kind, series, cycle_ms * unit)
    gps_times = [p.value for p in patches[0] if p.kind in ("gpsu", "gps9")]
    if not gps_times:
        raise ValueError(f"{name}: no GPS time in the first payload")
    counters: dict[_Stream, _Counter] = {}
    streams: set[bytes] = set()
    for i, ps in enumerate(patches):
        for p in ps:
            if p.kind == "tsmp":
                c = counters.setdefault(p.stream, _Counter())
                c.indexes.append(i)
                c.values.append(p.value)
                c.repeats.append(p.extra[0])
    for c in counters.values():
        rises = [b - a for a, b in itertools.pairwise(c.values)]
        if rises and rises == c.repeats[1:]:
            step = c.repeats[0]
        else:
            step = round(sum(rises) / len(rises)) if rises else 1
        c.per_cycle = c.values[-1] - c.values[0] + step
    for p in payloads:
        streams.update(stream_keys(p))
    return Loaded(
        name=name,
        source=source,
        payloads=payloads,
        patches=patches,
        anchor_ms=min(gps_times),
        counters=counters,
        streams=frozenset(streams),
        gps_key="GPS9" if b"GPS9" in streams else "GPS5",
        sha256=hashlib.sha256(raw).hexdigest(),
    )


# -- payloads of a recording -----------------------------------------------------


def _count_before(counter: _Counter, g0: int, n: int) -> int:
    """A TSMP stream's running count (from the recording's start) before payload ``g0``."""
    if g0 <= 0:
        return 0
    cycle, i = divmod(g0 - 1, n)
    j = bisect.bisect_right(counter.indexes, i) - 1
    if j < 0:
        if cycle == 0:
            return 0
        cycle, j = cycle - 1, len(counter.values) - 1
    return counter.values[j] + cycle * counter.per_cycle


def recording_payloads(
    loaded: Loaded, *, start_ms: int, first: int, count: int, payload_ms: int = 1001
) -> list[bytes]:
    """Payloads ``first .. first + count - 1`` of a recording that starts at ``start_ms``.

    ``first`` > 0 is a later chapter: its clocks continue the recording's, its
    TSMP counts from the chapter's start.
    """
    n = loaded.count
    cycle_ms = n * payload_ms
    base = {key: _count_before(c, first, n) for key, c in loaded.counters.items()}
    out: list[bytes] = []
    for g in range(first, first + count):
        cycle, i = divmod(g, n)
        shift_ms = start_ms - loaded.anchor_ms + cycle * cycle_ms
        buf = bytearray(loaded.payloads[i])
        for p in loaded.patches[i]:
            if p.kind == "gpsu":
                buf[p.offset : p.offset + 16] = gpmf.gpsu_string(p.value + shift_ms)
            elif p.kind == "gps9":
                days, ms = divmod(p.value + shift_ms - EPOCH_2000_MS, DAY_MS)
                secs_at, days_scal, secs_scal = p.extra
                struct.pack_into(">l", buf, p.offset, days * days_scal)
                struct.pack_into(">l", buf, secs_at, ms * secs_scal // 1000)
            elif p.kind == "stmp":
                struct.pack_into(p.fmt, buf, p.offset, p.value + cycle * cycle_ms * 1000)
            else:
                c = loaded.counters[p.stream]
                total = p.value + cycle * c.per_cycle - base[p.stream]
                struct.pack_into(p.fmt, buf, p.offset, total)
        out.append(bytes(buf))
    return out


# -- files -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Recording:
    """What the chapters of one recording share."""

    loaded: Loaded
    profile: gpmf.CameraProfile
    serial: str
    seed: int
    start_ms: int
    fps: Fraction
    payload_ms: int
    frames_per_payload: int

    def identity(self, chapter: int) -> gpmf.Identity:
        """udta ids as :mod:`tests.footage.gopro` draws them: the session is the recording's."""
        return gpmf.Identity(
            key=self.profile.session_key,
            camera=gpmf.camera_bytes(self.serial),
            session=gpmf.session_bytes(self.seed),
            clip=random.Random(f"clip-{self.seed}-{chapter}").randbytes(32),
            chapter=chapter,
            year=datetime.fromtimestamp(self.start_ms / 1000, tz=UTC).year,
        )


def _recording(
    source: str, start_utc: datetime | None, seed: int, fps: float | Fraction, serial: str | None
) -> _Recording:
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    rate = parse_fps(fps)
    payload_ms = 1001 if rate.denominator == 1001 else 1000
    per_payload = rate * Fraction(payload_ms, 1000)
    if per_payload.denominator != 1:
        raise ValueError(f"{float(rate):.3f} fps does not fill a {payload_ms} ms payload")
    src = SOURCES[source]
    base = gpmf.profile_for(src.model)
    profile = dataclasses.replace(base, firmware=src.firmware, serial_prefix=src.serial_prefix)
    # The serial is drawn first from the same stream as tests.footage.gopro draws it.
    drawn = f"{profile.serial_prefix}{random.Random(f'gopro-{seed}').randrange(10**6):06d}"
    when = start_utc or DEFAULT_START
    return _Recording(
        loaded=load_source(source, payload_ms),
        profile=profile,
        serial=serial or drawn,
        seed=seed,
        start_ms=round(when.timestamp() * 1000),
        fps=rate,
        payload_ms=payload_ms,
        frames_per_payload=int(per_payload),
    )


def _gps_ms(rec: _Recording, g: int) -> int:
    """The earliest GPS time written in payload ``g`` of the recording (POSIX ms)."""
    cycle, i = divmod(g, rec.loaded.count)
    first = min(p.value for p in rec.loaded.patches[i] if p.kind in ("gpsu", "gps9"))
    return first - rec.loaded.anchor_ms + rec.start_ms + cycle * rec.loaded.count * rec.payload_ms


def _track(
    handler: bytes,
    name: str,
    timescale: int,
    entry: bytes,
    header: bytes,
    sizes: list[int],
    delta: int,
    **kw: Any,
) -> mp4write.Track:
    """A track of equal sample durations, one sample per chunk (as GoPro writes them all)."""
    n = len(sizes)
    return mp4write.Track(
        handler, name, timescale, entry, header, sizes, [(n, delta)], [1] * n, **kw
    )


def _write(
    path: Path, rec: _Recording, *, chapter: int, first: int, count: int, video_mbps: float
) -> Footage:
    """One chapter: payloads ``first`` .. of the recording, with video and audio around them."""
    loaded, fps = rec.loaded, rec.fps
    payloads = recording_payloads(
        loaded, start_ms=rec.start_ms, first=first, count=count, payload_ms=rec.payload_ms
    )
    rng = random.Random(f"gopro-file-{rec.seed}-{chapter}")
    timescale, delta = video_clock(fps)
    n_frames = count * rec.frames_per_payload
    payload_s = rec.payload_ms / 1000
    duration = count * payload_s
    n_audio = -(-n_frames * delta * AUDIO_RATE // (timescale * AUDIO_FRAME))
    sizes, sync = _frame_sizes(n_frames, fps, video_mbps, rng)
    audio_sizes = [AUDIO_BYTES + rng.randrange(-60, 61) for _ in range(n_audio)]
    fps_round = round(float(fps))
    tracks = [
        _track(b"vide", "GoPro AVC", timescale, codecs.hvc1_entry(), mp4write.vmhd(), sizes,
               delta, sync=sync, width=3840, height=2160, edit_list=True),
        _track(b"soun", "GoPro AAC", AUDIO_RATE, codecs.mp4a_entry(), mp4write.smhd(),
               audio_sizes, AUDIO_FRAME, volume=0x0100),
        _track(b"tmcd", "GoPro TCD", timescale, codecs.tmcd_entry(timescale, delta, fps_round),
               mp4write.gmhd(mp4write.tmcd_info(), tmcd_style=True), [4], n_frames * delta),
        _track(b"meta", "GoPro MET", 1000, codecs.gpmd_entry(),
               mp4write.gmhd(box(b"gpmd", b"\0" * 4)), [len(p) for p in payloads], rec.payload_ms),
    ]  # fmt: skip
    video = tracks[0]
    # File order as gopro.py: each payload after the frames and audio of its second.
    start_s = rec.start_ms / 1000 + first * payload_s
    frame_s = 1 / float(fps)
    groups: list[list[mp4write.Piece]] = [
        [(i * frame_s, 0, 0, s, None) for i, s in enumerate(sizes)],
        [(j * AUDIO_FRAME / AUDIO_RATE, 1, 1, s, None) for j, s in enumerate(audio_sizes)],
        [(0.0, 2, 2, 4, int(start_s % 86400 * fps_round).to_bytes(4, "big"))],
        [((k + 1) * payload_s, 3, 3, len(p), p) for k, p in enumerate(payloads)],
    ]
    ftyp = box(b"ftyp", b"mp41" + (0x20131018).to_bytes(4, "big") + b"mp41")
    plan = mp4write.layout(mp4write.order_pieces(groups), tracks, len(ftyp))
    identity = rec.identity(chapter)
    udta = gpmf.udta(
        rec.profile, firmware=rec.profile.firmware, serial=rec.serial, identity=identity
    )
    created = mp4write.mac_time(datetime.fromtimestamp(start_s, tz=UTC).replace(tzinfo=None))
    tail = mp4write.moov(
        tracks,
        created=created,
        movie_timescale=timescale,
        large=plan.large,
        udta=udta,
        duration=video.duration,
    )
    mp4write.write_file(path, ftyp, plan, tail)
    n = loaded.count
    return Footage(
        path=os.fspath(path),
        format="gopro-mp4",
        camera=rec.profile.model,
        firmware=rec.profile.firmware,
        start_utc=start_s,
        duration=duration,
        gps_stream=loaded.gps_key,
        tracks={},  # GPS samples are not decoded here: see info["payloads"]
        info={
            "source": {"name": loaded.name, "file": loaded.source.file, "sha256": loaded.sha256},
            "chapter": chapter,
            "first_payload": first,  # of the recording
            "payloads": count,
            "cycle_payloads": n,
            "cycles": [first // n, (first + count - 1) // n],
            "first_gps_time": iso_utc(_gps_ms(rec, first) / 1000),
            "streams": sorted(k.decode("latin-1") for k in loaded.streams),
            "co64": plan.large,
            "session": {"key": identity.key, "id": identity.shared.hex()},
            "serial": rec.serial,
        },
    )


def make_real_gopro(
    path: str | os.PathLike[str],
    *,
    duration_s: float,
    source: str = "hero7",
    start_utc: datetime | None = None,
    number: int = 1,
    chapter: int = 1,
    seed: int = 0,
    video_mbps: float = 45.0,
    fps: float | Fraction = 29.97,
    serial: str | None = None,
) -> Footage:
    """One GoPro MP4 of ``duration_s`` (whole 1.001 s payloads) carrying ``source``'s payloads.

    ``path`` is the file, or an existing directory to write ``GX{chapter:02d}{number:04d}.MP4``
    in. ``chapter`` names the file and its udta ids; the clocks start at ``start_utc``
    (default 2026-04-06 14:21:22Z) with source payload 0 either way.
    """
    rec = _recording(source, start_utc, seed, fps, serial)
    target = Path(path)
    if target.is_dir():
        target = target / gopro_name(number, chapter, model=rec.profile.model)
    count = max(1, round(duration_s * 1000 / rec.payload_ms))
    return _write(target, rec, chapter=chapter, first=0, count=count, video_mbps=video_mbps)


def make_real_recording(
    directory: str | os.PathLike[str],
    *,
    chapters: int,
    chapter_s: float,
    source: str = "hero7",
    number: int = 1,
    start_utc: datetime | None = None,
    seed: int = 0,
    video_mbps: float = 35.0,
    fps: float | Fraction = 29.97,
    serial: str | None = None,
) -> list[Footage]:
    """One recording of ``chapters`` chapters (GX01nnnn.MP4, GX02nnnn.MP4 ...) in ``directory``.

    Each chapter holds ``round(chapter_s / 1.001)`` payloads; GPS time, STMP and
    the source cycle run on from one chapter to the next, TSMP restarts, and the
    chapters share the recording's session id (GUMI on HERO7, MUID on HERO11).
    35 Mb/s keeps a 15-minute chapter under GoPro's 4 GB.
    """
    rec = _recording(source, start_utc, seed, fps, serial)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    per_chapter = max(1, round(chapter_s * 1000 / rec.payload_ms))
    return [
        _write(
            folder / gopro_name(number, k, model=rec.profile.model),
            rec,
            chapter=k,
            first=(k - 1) * per_chapter,
            count=per_chapter,
            video_mbps=video_mbps,
        )
        for k in range(1, chapters + 1)
    ]
