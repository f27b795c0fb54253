"""GoPro MP4s whose gpmd track carries real camera payloads, repeated to any length.

tests.footage.gopro writes three synthetic streams per payload; real cameras
write ten to twenty (HERO7: ACCL GYRO GPS5 FACE ISOE SHUT WBAL WRGB UNIF SROT;
HERO11: 21, GPS5 and GPS9 among them). For the benchmark, the payloads of a
real recording (:data:`SOURCES`) are played round and round in a file laid
out as tests.footage.gopro lays it out (sparse video and audio, timecode, udta
with the recording's session identity). The contract, which the tests check:

- Payload ``g`` of a recording (counted across chapters from 0) is source
  payload ``g mod n`` in cycle ``c = g div n`` (``n`` source payloads), every
  byte as the camera wrote it except four clocks:
- GPS time, GPSU (``yymmddhhmmss.sss``) and GPS9's days since 2000 and seconds
  since midnight (fields 6 and 7 of its TYPE, divided by their SCAL: 1 and
  1000), becomes ``t - anchor + start + c * n * 1.001 s``, ``anchor`` the
  earliest GPS time of source payload 0. A cycle lasts as long as its video,
  so GPS time keeps pace with video time and chapters join; the source's own
  clock runs a little faster (HERO7 1.0026 s, HERO11 1.04 s a payload) and the
  step between cycles is that much shorter.
- STMP (microseconds, HERO11) gains ``c * n * 1.001 s`` and runs on across
  chapters, as the camera's uptime does.
- TSMP runs on across cycles and restarts in every chapter (as in
  ``gopro-telemetry-consecutive1/2.raw``); chapter 1 keeps the source's values.
- The video is whole payloads (30 frames each at 29.97 fps): a chapter of
  ``chapter_s`` holds ``round(chapter_s / 1.001)`` of them.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import itertools
import os
import random
import struct
from dataclasses import dataclass
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


class Source(NamedTuple):
    """A real raw GPMF track (under shared/samples/gopro/gpmf/) and the camera that wrote it."""

    file: str
    profile: gpmf.CameraProfile  # with the generation's FMWR (the raw files carry no udta)


_HERO7 = dataclasses.replace(
    gpmf.profile_for("HERO7 Black"), firmware="HD7.01.01.90.00", serial_prefix="C3281325"
)
SOURCES = {
    # 97 payloads, 97 s: ACCL/GYRO ~200 Hz, GPS5 18 Hz, FACE ISOE SHUT WBAL WRGB UNIF SROT;
    # TSMP only (no STMP). Firmware and serial prefix from the HERO7 udta
    # (gopro-telemetry-mp4header.raw: FMWR HD7.01.01.90.00, CASN C3281325...).
    "hero7": Source("gopro2gpx-hero07.bin", _HERO7),
    # 11 payloads of a normal HERO11 video (~6.8 KB each, 21 streams: GPS5 and
    # GPS9 at 10 Hz, STMP and TSMP). gopro2gpx-hero11.bin is not used: one
    # sample per stream per payload, payloads 0.5 s apart (STMP), so at 1.001 s
    # a payload its GPS clock would run at half the video's pace.
    "hero11": Source("gopro-telemetry-hero11.raw", gpmf.profile_for("HERO11 Black")),
}

# Byte sizes of GPMF type chars (spec "Type"), to find fields in GPS9's TYPE struct.
_TYPE_SIZES = dict.fromkeys("bBc", 1) | dict.fromkeys("sS", 2) | dict.fromkeys("lLfFq", 4)
_TYPE_SIZES |= dict.fromkeys("jJdQ", 8) | dict.fromkeys("GU", 16)
# struct formats of the integer types (SCAL, DVID, TSMP, STMP).
_INT_FORMATS = {"b": "b", "B": "B", "s": "h", "S": "H", "l": "i", "L": "I", "j": "q", "J": "Q"}
# The days and seconds-since-midnight fields of GPS9 (0-based, in its TYPE struct).
GPS9_DAYS, GPS9_SECS = 5, 6


class Klv(NamedTuple):
    """One KLV: FourCC, type char ("" for a nest), struct size, repeat, where its value
    starts (its header is the 8 bytes before) and ends (padding excluded)."""

    key: bytes
    type: str
    size: int
    repeat: int
    value: int
    end: int


def iter_klvs(data: bytes, start: int = 0, end: int | None = None) -> list[Klv]:
    """The KLVs of one level of ``data[start:end]``; raise if one runs past ``end``."""
    end = len(data) if end is None else end
    out: list[Klv] = []
    while start + 8 <= end:
        key, kind, size, repeat = struct.unpack_from(">4sBBH", data, start)
        value = start + 8
        item = Klv(key, chr(kind) if kind else "", size, repeat, value, value + size * repeat)
        if item.end > end:
            raise ValueError(f"KLV {key!r} at {start} runs past {end}")
        out.append(item)
        start = item.value + -(-size * repeat // 4) * 4
    return out


def split_payloads(data: bytes) -> list[bytes]:
    """A raw GPMF track (``ffmpeg -f data`` output) as its payloads: one top-level DEVC each."""
    items = iter_klvs(data)
    if not items or any(k.key != b"DEVC" or k.type for k in items):
        raise ValueError("not a sequence of DEVC payloads")
    bounds = [k.value - 8 for k in items] + [len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def stream_keys(payload: bytes) -> list[bytes]:
    """The FourCC of each STRM's data (its last KLV), in payload order."""
    return [
        iter_klvs(payload, s.value, s.end)[-1].key
        for devc in iter_klvs(payload)
        for s in iter_klvs(payload, devc.value, devc.end)
        if s.key == b"STRM" and not s.type
    ]


def parse_gpsu(raw: bytes) -> int:
    """GPSU ``yymmddhhmmss.sss`` as POSIX milliseconds."""
    text = raw.decode("ascii")
    when = datetime.strptime(text[:12], "%y%m%d%H%M%S").replace(tzinfo=UTC)
    return int(when.timestamp()) * 1000 + int(text[13:16])


def _numbers(data: bytes, item: Klv) -> list[int]:
    char = _INT_FORMATS[item.type]
    count = item.size * item.repeat // struct.calcsize(">" + char)
    return list(struct.unpack_from(f">{count}{char}", data, item.value))


# -- a source: its payloads and where their clocks are ------------------------------

_Stream = tuple[int, bytes, int]  # (DVID, the STRM's data FourCC, nth STRM of that FourCC)


class _Patch(NamedTuple):
    """One clock field of a source payload."""

    kind: str  # "gpsu", "gps9", "stmp", "tsmp"
    offset: int  # of the value in the payload (gps9: of the days field)
    value: int  # POSIX ms (gpsu, gps9), µs (stmp), samples (tsmp)
    stream: _Stream
    extra: tuple[int, ...] = ()  # gps9: (secs field offset, days SCAL, secs SCAL); tsmp: (repeat,)


class _Counter(NamedTuple):
    """One TSMP stream: the source payloads holding it, its values there, its rise per cycle."""

    indexes: list[int]
    values: list[int]
    per_cycle: int


@dataclass(frozen=True)
class Loaded:
    """A source split into payloads, with every clock field found."""

    name: str
    source: Source
    payloads: list[bytes]
    patches: list[list[_Patch]]
    anchor_ms: int  # the earliest GPS time in payload 0
    counters: dict[_Stream, _Counter]
    streams: frozenset[bytes]  # FourCCs of every STRM's data, over all payloads
    sha256: str

    @property
    def gps_key(self) -> str:
        return "GPS9" if b"GPS9" in self.streams else "GPS5"


def _gps9_patches(payload: bytes, strm: list[Klv], data: Klv, stream: _Stream) -> list[_Patch]:
    """A patch per GPS9 row: its days and seconds fields located with TYPE, scaled by SCAL."""
    sticky = {k.key: k for k in strm}
    type_text = payload[sticky[b"TYPE"].value : sticky[b"TYPE"].end].decode("ascii")
    at = [0, *itertools.accumulate(_TYPE_SIZES[c] for c in type_text)]
    if at[-1] != data.size or type_text[GPS9_DAYS] != "l" or type_text[GPS9_SECS] != "l":
        raise ValueError(f"unexpected GPS9 TYPE {type_text!r} for {data.size}-byte rows")
    scal = _numbers(payload, sticky[b"SCAL"]) if b"SCAL" in sticky else [1]
    days_scal, secs_scal = (scal[k] if len(scal) > 1 else scal[0] for k in (GPS9_DAYS, GPS9_SECS))
    out = []
    for row in range(data.value, data.end, data.size):
        days, secs = (
            struct.unpack_from(">i", payload, row + at[k])[0] for k in (GPS9_DAYS, GPS9_SECS)
        )
        ms = EPOCH_2000_MS + days * DAY_MS // days_scal + secs * 1000 // secs_scal
        extra = (row + at[GPS9_SECS], days_scal, secs_scal)
        out.append(_Patch("gps9", row + at[GPS9_DAYS], ms, stream, extra))
    return out


def _payload_patches(payload: bytes) -> list[_Patch]:
    """Every GPSU, GPS9 time, STMP and TSMP of one payload."""
    patches: list[_Patch] = []
    for devc in iter_klvs(payload):
        dvid, seen = 0, dict[bytes, int]()
        for item in iter_klvs(payload, devc.value, devc.end):
            if item.key == b"DVID":
                dvid = _numbers(payload, item)[0]
            if item.key != b"STRM" or item.type:
                continue
            strm = iter_klvs(payload, item.value, item.end)
            data = strm[-1]
            seen[data.key] = seen.get(data.key, -1) + 1
            stream = (dvid, data.key, seen[data.key])
            for k in strm:
                if k.key == b"GPSU" and k.type == "U":
                    gpsu = parse_gpsu(payload[k.value : k.value + 16])
                    patches.append(_Patch("gpsu", k.value, gpsu, stream))
                elif k.key == b"STMP" and k.type == "J":
                    patches.append(_Patch("stmp", k.value, _numbers(payload, k)[0], stream))
                elif k.key == b"TSMP" and k.type == "L":
                    tsmp = _numbers(payload, k)[0]
                    patches.append(_Patch("tsmp", k.value, tsmp, stream, (data.repeat,)))
            if data.key == b"GPS9":
                patches += _gps9_patches(payload, strm, data, stream)
    return patches


def _check_clocks(name: str, patches: list[list[_Patch]], cycle_ms: int) -> None:
    """GPS time and STMP must rise through the source, and fit in a cycle so cycles follow."""
    for kind, cycle in (("gpsu", cycle_ms), ("gps9", cycle_ms), ("stmp", cycle_ms * 1000)):
        by_stream: dict[_Stream, list[int]] = {}
        for p in itertools.chain.from_iterable(patches):
            if p.kind == kind:
                by_stream.setdefault(p.stream, []).append(p.value)
        for series in by_stream.values():
            if any(b <= a for a, b in itertools.pairwise(series)):
                raise ValueError(f"{name}: {kind} does not rise through the source")
            if series[-1] - series[0] >= cycle:
                raise ValueError(f"{name}: {kind} spans more than a cycle")


def _counters(patches: list[list[_Patch]]) -> dict[_Stream, _Counter]:
    """TSMP per stream. Its rise from one cycle to the next is the source's rise plus one
    step: the first payload's data repeat where TSMP counts the repeats exactly, else the
    mean rise (FACE, SCEN, HUES count otherwise)."""
    found: dict[_Stream, list[tuple[int, int, int]]] = {}
    for i, ps in enumerate(patches):
        for p in ps:
            if p.kind == "tsmp":
                found.setdefault(p.stream, []).append((i, p.value, p.extra[0]))
    out: dict[_Stream, _Counter] = {}
    for stream, rows in found.items():
        indexes, values, repeats = (list(x) for x in zip(*rows, strict=True))
        rises = [b - a for a, b in itertools.pairwise(values)]
        step = repeats[0] if rises == repeats[1:] else round(sum(rises) / max(1, len(rises)))
        out[stream] = _Counter(indexes, values, values[-1] - values[0] + max(1, step))
    return out


@lru_cache(maxsize=4)
def load_source(name: str, payload_ms: int = 1001) -> Loaded:
    """Split ``SOURCES[name]`` into payloads and find their clocks (cached)."""
    source = SOURCES[name]
    raw = (GPMF_DIR / source.file).read_bytes()
    payloads = split_payloads(raw)
    patches = [_payload_patches(p) for p in payloads]
    _check_clocks(name, patches, len(payloads) * payload_ms)
    gps_times = [p.value for p in patches[0] if p.kind in ("gpsu", "gps9")]
    if not gps_times:
        raise ValueError(f"{name}: no GPS time in the first payload")
    streams = frozenset(k for p in payloads for k in stream_keys(p))
    sha256 = hashlib.sha256(raw).hexdigest()
    counters = _counters(patches)
    return Loaded(name, source, payloads, patches, min(gps_times), counters, streams, sha256)


# -- payloads of a recording -----------------------------------------------------


def _count_before(counter: _Counter, g0: int, n: int) -> int:
    """A TSMP stream's running count (the source's values, cycles added) before payload ``g0``."""
    cycle, i = divmod(g0 - 1, n)
    j = bisect.bisect_right(counter.indexes, i) - 1
    if j < 0:  # not in this cycle before payload i: its last value of the cycle before
        cycle, j = cycle - 1, len(counter.values) - 1
    return counter.values[j] + cycle * counter.per_cycle if g0 > 0 and cycle >= 0 else 0


def recording_payloads(
    loaded: Loaded, *, start_ms: int, first: int, count: int, payload_ms: int = 1001
) -> list[bytes]:
    """Payloads ``first .. first + count - 1`` of a recording that starts at ``start_ms``.

    ``first`` > 0 is a later chapter: its clocks continue the recording's, its
    TSMP counts from the chapter's start.
    """
    n = len(loaded.payloads)
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
                struct.pack_into(">i", buf, p.offset, days * days_scal)
                struct.pack_into(">i", buf, secs_at, ms * secs_scal // 1000)
            elif p.kind == "stmp":
                struct.pack_into(">Q", buf, p.offset, p.value + cycle * cycle_ms * 1000)
            else:
                total = p.value + cycle * loaded.counters[p.stream].per_cycle - base[p.stream]
                struct.pack_into(">I", buf, p.offset, total)
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
    payload_ms: int  # 1001 at NTSC rates, else 1000 (as tests.footage.gopro)

    @classmethod
    def make(cls, source: str, start: datetime | None, seed: int, fps: float | Fraction,
             serial: str | None) -> _Recording:  # fmt: skip
        if source not in SOURCES:
            raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
        rate = parse_fps(fps)
        payload_ms = 1001 if rate.denominator == 1001 else 1000
        if (rate * payload_ms / 1000).denominator != 1:
            raise ValueError(f"{float(rate):.3f} fps does not fill a {payload_ms} ms payload")
        profile = SOURCES[source].profile
        # Drawn first from the stream tests.footage.gopro draws it from.
        drawn = f"{profile.serial_prefix}{random.Random(f'gopro-{seed}').randrange(10**6):06d}"
        when = round((start or DEFAULT_START).timestamp() * 1000)
        loaded = load_source(source, payload_ms)
        return cls(loaded, profile, serial or drawn, seed, when, rate, payload_ms)

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

    def gps_ms(self, g: int) -> int:
        """The earliest GPS time written in payload ``g`` (POSIX ms)."""
        n = len(self.loaded.payloads)
        cycle, i = divmod(g, n)
        first = min(p.value for p in self.loaded.patches[i] if p.kind in ("gpsu", "gps9"))
        return first - self.loaded.anchor_ms + self.start_ms + cycle * n * self.payload_ms


def _track(handler: bytes, name: str, timescale: int, entry: bytes, header: bytes,
           sizes: list[int], delta: int, **kw: Any) -> mp4write.Track:  # fmt: skip
    """A track of equal sample durations, one sample per chunk (as GoPro writes them all)."""
    runs, chunks = [(len(sizes), delta)], [1] * len(sizes)
    return mp4write.Track(handler, name, timescale, entry, header, sizes, runs, chunks, **kw)


def _write(
    path: Path, rec: _Recording, *, chapter: int, first: int, count: int, video_mbps: float
) -> Footage:
    """One chapter: payloads ``first`` .. of the recording, with video and audio around them."""
    loaded, fps, payload_s = rec.loaded, rec.fps, rec.payload_ms / 1000
    payloads = recording_payloads(
        loaded, start_ms=rec.start_ms, first=first, count=count, payload_ms=rec.payload_ms
    )
    rng = random.Random(f"gopro-file-{rec.seed}-{chapter}")
    timescale, delta = video_clock(fps)
    n_frames = int(count * fps * rec.payload_ms / 1000)
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
    # File order as gopro.py: each payload after the frames and audio of its second.
    start_s = (rec.start_ms + first * rec.payload_ms) / 1000
    frame_s = 1 / float(fps)
    groups: list[list[mp4write.Piece]] = [
        [(i * frame_s, 0, 0, s, None) for i, s in enumerate(sizes)],
        [(j * AUDIO_FRAME / AUDIO_RATE, 1, 1, s, None) for j, s in enumerate(audio_sizes)],
        [(0.0, 2, 2, 4, int(start_s % 86400 * fps_round).to_bytes(4, "big"))],
        [((k + 1) * payload_s, 3, 3, len(p), p) for k, p in enumerate(payloads)],
    ]
    ftyp = box(b"ftyp", b"mp41" + (0x20131018).to_bytes(4, "big") + b"mp41")  # as karma.mp4
    plan = mp4write.layout(mp4write.order_pieces(groups), tracks, len(ftyp))
    ids = rec.identity(chapter)
    udta = gpmf.udta(rec.profile, firmware=rec.profile.firmware, serial=rec.serial, identity=ids)
    created = mp4write.mac_time(datetime.fromtimestamp(start_s, tz=UTC).replace(tzinfo=None))
    moov = mp4write.moov(tracks, created=created, movie_timescale=timescale, large=plan.large,
                         udta=udta, duration=tracks[0].duration)  # fmt: skip
    mp4write.write_file(path, ftyp, plan, moov)
    n = len(loaded.payloads)
    info = {
        "source": {"name": loaded.name, "file": loaded.source.file, "sha256": loaded.sha256},
        "chapter": chapter,
        "first_payload": first,  # of the recording
        "payloads": count,
        "cycle_payloads": n,
        "cycles": [first // n, (first + count - 1) // n],
        "first_gps_time": iso_utc(rec.gps_ms(first) / 1000),
        "streams": sorted(k.decode("latin-1") for k in loaded.streams),
        "co64": plan.large,
        "session": {"key": ids.key, "id": ids.shared.hex()},
        "serial": rec.serial,
    }
    # No GPS truth: the samples are the camera's; tests decode them from the source.
    return Footage(os.fspath(path), "gopro-mp4", rec.profile.model, rec.profile.firmware,
                   start_s, count * rec.payload_ms / 1000, loaded.gps_key, {}, info)  # fmt: skip


def make_real_gopro(
    path: str | os.PathLike[str], *, duration_s: float, source: str = "hero7",
    start_utc: datetime | None = None, number: int = 1, chapter: int = 1, seed: int = 0,
    video_mbps: float = 45.0, fps: float | Fraction = 29.97, serial: str | None = None,
) -> Footage:  # fmt: skip
    """One GoPro MP4 of ``duration_s`` (whole 1.001 s payloads) carrying ``source``'s payloads.

    ``path`` is the file, or an existing directory to write ``GX{chapter:02d}{number:04d}.MP4``
    in. ``chapter`` names the file and its udta ids; the clocks start at ``start_utc``
    (default 2026-04-06 14:21:22Z) with source payload 0 either way.
    """
    rec = _Recording.make(source, start_utc, seed, fps, serial)
    target = Path(path)
    if target.is_dir():
        target = target / gopro_name(number, chapter, model=rec.profile.model)
    count = max(1, round(duration_s * 1000 / rec.payload_ms))
    return _write(target, rec, chapter=chapter, first=0, count=count, video_mbps=video_mbps)


def make_real_recording(
    directory: str | os.PathLike[str], *, chapters: int, chapter_s: float, source: str = "hero7",
    number: int = 1, start_utc: datetime | None = None, seed: int = 0, video_mbps: float = 35.0,
    fps: float | Fraction = 29.97, serial: str | None = None,
) -> list[Footage]:  # fmt: skip
    """One recording of ``chapters`` chapters (GX01nnnn.MP4, GX02nnnn.MP4 ...) in ``directory``.

    Each chapter holds ``round(chapter_s / 1.001)`` payloads; GPS time, STMP and
    the source cycle run on from one chapter to the next, TSMP restarts, and the
    chapters share the recording's session id (GUMI on HERO7, MUID on HERO11).
    35 Mb/s keeps a 15-minute chapter under GoPro's 4 GB.
    """
    rec = _Recording.make(source, start_utc, seed, fps, serial)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    per = max(1, round(chapter_s * 1000 / rec.payload_ms))
    return [
        _write(folder / gopro_name(number, k, model=rec.profile.model), rec, chapter=k,
               first=(k - 1) * per, count=per, video_mbps=video_mbps)
        for k in range(1, chapters + 1)
    ]  # fmt: skip
