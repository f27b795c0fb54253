"""Fuzzing of every parser entry point: targets, seed corpus, contract, engines.

The contract each target checks (issue 7, STYLE §4.6):

- only the parser error family (``ParseError``) escapes;
- no hang: every case finishes within ``CASE_TIMEOUT_S`` (loops are bounded by
  the bytes the input has);
- no allocation beyond what the file could hold: on every ``ALLOC_EVERY``-th
  case tracemalloc's peak stays under ``ALLOC_BASE + ALLOC_FACTOR * len(data)``
  (a size field claiming 4 GB must not make a parser allocate 4 GB).

Whatever a target returns is materialised the way the daemon would: every
chunk of every stream is decoded, and for ``telemetry.extract`` every file of
the video folder is built (info.json, tracks, stream CSVs, raw streams).

Seeds: the real samples in ``../shared/samples`` (files over ``MAX_SEED``
bytes contribute their head, a cut file being a fine input too), generated
footage with tiny media (tests/footage), and byte-builder outputs.

Engines:

- ``hypothesis`` (property-based; the test suite's short run): a seed from the
  target's corpus with a few structure-keeping edits, or arbitrary bytes;
- ``atheris`` (coverage-guided libFuzzer), one subprocess per target, the
  seeds as its starting corpus.

Command line (``scripts/fuzz`` sets up the venv, then runs this)::

    python -m tests.reliability.fuzzing [--cases N] [--target NAME ...] [--engine E]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import io
import os
import random
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from telemetryfs.parsers import detect, registry
from telemetryfs.parsers import extract as extraction
from telemetryfs.parsers.encodings import gpmf
from telemetryfs.parsers.errors import ParseError
from telemetryfs.parsers.model import Telemetry
from tests.paths import ROOT, SAMPLES

# Seeds bigger than this contribute their first MAX_SEED bytes only: mutating
# megabytes per case would spend the run copying bytes. Containers (MP4, AVI)
# may be bigger (MAX_CONTAINER_SEED): their parsers read only the index and the
# telemetry, and a trimmed sample keeps its index only whole. Raw GPMF is
# decoded whole, so it stays small.
MAX_SEED = 48 * 1024
MAX_CONTAINER_SEED = 1024 * 1024
CONTAINER_KINDS = frozenset({"mp4", "gopro_cut", "novatek", "avi", "dashcam", "70mai", "sstar"})
# A case taking longer than this is a hang (the slowest seed parses in ~20 ms).
CASE_TIMEOUT_S = 10.0
# Memory: checked on one case in ALLOC_EVERY (tracemalloc slows Python ~3x).
ALLOC_EVERY = 16
ALLOC_BASE = 24 * 1024 * 1024
ALLOC_FACTOR = 64
# Names the file-based target gives its input (the name decides NMEA vs other text).
FILE_NAMES = ("clip.MP4", "clip.AVI", "clip.nmea", "clip.TS", "clip.JPG", "clip.bin")


class ContractViolationError(AssertionError):
    """A target broke the contract: a foreign exception, a hang or a huge allocation."""


class Hang(BaseException):
    """Raised by the per-case alarm (a BaseException so no parser can swallow it)."""


# -- materialising what a parser returned -------------------------------------------------


def _materialise(t: Telemetry, data: bytes) -> None:
    """Touch everything the daemon would: decode each stream chunk, size each raw piece."""
    for stream in t.streams:
        if stream.codec is None:
            continue
        for chunk in stream.chunks:
            piece = data[chunk.extent.offset : chunk.extent.offset + chunk.extent.size]
            with contextlib.suppress(ParseError):
                extraction.decode_chunk(stream, piece)
    for raw in t.raw_files:
        for piece in raw.pieces:
            size = len(piece) if isinstance(piece, bytes) else piece.size
            assert size >= 0, raw.name


def _serve_all(t: Telemetry | None, path: str, error: str | None) -> None:
    """Build every file of the video folder, as the daemon serves them."""
    from telemetryfs.fs import products

    context = {"source_name": "clip", "source_size": 1, "source_mtime_ns": 0, "error": error}
    fd = os.open(path, os.O_RDONLY)
    try:
        for entry in products.list_entries(t):
            if entry.kind == products.GENERATED:
                products.build_generated(t, entry.name, "clip", context)
                continue
            assert t is not None
            if entry.kind == products.RAW:
                raw = products.find_raw(t, entry.name)
                assert raw is not None, entry.name
                layout = products.raw_layout(raw)
                with contextlib.suppress(OSError):  # a piece past the end: EIO, not a crash
                    products.read_raw(fd, layout, 0, layout.size)
                continue
            stream = products.find_stream(t, entry.name)
            assert stream is not None, entry.name
            index = products.build_stream_index(stream, t)
            # Head, middle and tail: every chunk is decoded by _materialise already.
            for off in (0, max(index.size - 2048, 0)):
                with contextlib.suppress(ParseError, OSError):
                    products.read_stream(fd, stream, index, off, 2048)
    finally:
        os.close(fd)


# -- targets -------------------------------------------------------------------------------


def _bytes_target(entry: Callable[[BinaryIO], Any]) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        try:
            result = entry(io.BytesIO(data))
        except ParseError:
            return
        if isinstance(result, Telemetry):
            _materialise(result, data)

    return run


@cache
def _scratch_dir() -> str:
    base = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    return tempfile.mkdtemp(prefix="telemetryfs-fuzz-", dir=base)


def _file_target(data: bytes) -> None:
    """telemetry.extract(path) on a real file, then every product of the folder."""
    name = FILE_NAMES[zlib.crc32(data) % len(FILE_NAMES)]
    path = os.path.join(_scratch_dir(), f"{os.getpid()}-{name}")
    with open(path, "wb") as f:
        f.write(data)
    try:
        try:
            t: Telemetry | None = extraction.extract(path)
            error = None
        except ParseError as exc:
            t, error = None, str(exc)
        if t is not None:
            _materialise(t, data)
        _serve_all(t, path, error)
    finally:
        os.unlink(path)


def _sniff_target(data: bytes) -> None:
    for name in ("clip.MP4", "clip.nmea"):
        kind = detect.sniff(data[: detect.HEAD_SIZE], name)
        assert kind is None or isinstance(kind, str)
        with contextlib.suppress(ParseError):
            detect.sniff_file(io.BytesIO(data), name)
    assert gpmf.is_gpmf(data) in (True, False)


@dataclasses.dataclass(frozen=True)
class Target:
    run: Callable[[bytes], None]
    kinds: tuple[str, ...]  # seed kinds it starts from


# Two whole-pipeline targets, then every parser entry point the registry declares.
TARGETS: dict[str, Target] = {
    "telemetry.extract": Target(
        _file_target, ("mp4", "gopro_cut", "gpmf", "jpeg", "avi", "ts", "nmea", "dashcam", "fit")
    ),
    "detect.sniff": Target(_sniff_target, ("mp4", "gpmf", "jpeg", "avi", "ts", "nmea", "fit")),
    **{
        entry.name: Target(_bytes_target(entry.run), entry.seeds)
        for fmt in registry.FORMATS
        for entry in fmt.fuzz
    },
}


# -- seeds ---------------------------------------------------------------------------------


def _head(path: Path, cap: int = MAX_SEED) -> bytes:
    with path.open("rb") as f:
        return f.read(cap)


def _samples(pattern: str, cap: int = MAX_SEED) -> list[bytes]:
    return [_head(p, cap) for p in sorted(SAMPLES.glob(pattern)) if p.is_file()]


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _mp4_tail(path: Path) -> bytes:
    """ftyp + the moov of a file too big to be a seed (its offsets point past the end)."""
    from telemetryfs.parsers.containers import mp4

    with path.open("rb") as f:
        moov = mp4.find_moov(f)
        if moov is None or moov.end - moov.offset > MAX_CONTAINER_SEED:
            return b""
        f.seek(moov.offset)
        return _box(b"ftyp", b"mp41\0\0\0\0") + f.read(moov.end - moov.offset)


def _generated(kind: str) -> list[bytes]:
    """Generated footage with tiny media: complete files (moov and all) of tens of KB."""
    from tests.footage import make_gopro, make_mapcam, make_novatek

    out: list[bytes] = []
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        if kind == "mp4":
            for model in ("HERO5 Black", "HERO8 Black", "HERO11 Black", "HERO13 Black"):
                make_gopro(d / "g.MP4", duration_s=2.0, model=model, video_mbps=0.001, seed=3)
                out.append((d / "g.MP4").read_bytes())
        elif kind == "gopro_cut":
            make_gopro(d / "g.MP4", duration_s=3.0, video_mbps=0.001, moov=False, seed=4)
            out.append((d / "g.MP4").read_bytes())
        elif kind == "novatek":
            for index in (True, False):
                make_novatek(d / "n.MP4", duration_s=4.0, index=index, video_mbps=0.004)
                out.append((d / "n.MP4").read_bytes())
            make_novatek(d / "n.MOV", duration_s=3.0, container="mov", video_mbps=0.004)
            out.append((d / "n.MOV").read_bytes())
        elif kind == "avi":
            make_mapcam(d / "m.AVI", duration_s=3.0, video_mbps=0.01, width=64, height=48)
            out.append((d / "m.AVI").read_bytes())
    assert all(len(b) <= MAX_CONTAINER_SEED for b in out), kind
    return out


def _builders(kind: str) -> list[bytes]:
    from tests import dashcam_builders as b
    from tests.builders import box, riff_chunk

    fix = b.Fix((2024, 5, 6, 7, 8, 9), 50.1, -3.2)
    if kind == "ts":
        return [b.ts_file([b.novatek_record(fix)] * 3)]
    if kind == "avi":
        return [b.mapcam_avi([riff_chunk(b"00dc", b"v" * 33), b.mapcam_record(fix)])]
    if kind == "novatek":
        return [b.novatek_mp4([b.novatek_block(fix), b.novatek_block(fix, layout=16)])]
    if kind == "garmin-uuid":
        from tests.footage.garmin import garmin_uuid_box, route

        mvhd = box(b"mvhd", bytes(100))
        return [
            box(b"ftyp", b"mp42")
            + box(b"moov", mvhd + garmin_uuid_box(route(6, lead_without_fix=2)))
        ]
    if kind == "70mai":
        slots = b.seventymai_slot(0, 50.1, -3.2, 30.0) + b.seventymai_slot(1, 50.1, -3.2, 31.0)
        return [box(b"ftyp", b"mp42") + box(b"moov", b.mvhd()) + box(b"GPS ", slots)]
    return []


def _tail(path: Path, cap: int = MAX_SEED) -> bytes:
    """The end of a file whose telemetry is a trailer walked back from EOF (Insta360)."""
    with path.open("rb") as f:
        f.seek(max(path.stat().st_size - cap, 0))
        return f.read(cap)


def _virb() -> list[bytes]:
    """VIRB clips naming their FIT in a udta uuid box (built: no public VIRB MP4)."""
    import tempfile

    from tests.footage.garmin import make_virb_clip

    uuid = "VIRBactioncamera360_Video_3840_2160_29.9700_3956357227_34ba5417_1_38_x.fit"
    with tempfile.TemporaryDirectory() as tmp:
        return [make_virb_clip(Path(tmp) / "V.MP4", uuid, 52.085)]


def _camm() -> list[bytes]:
    """camm tracks with GPS (types 6 and 5), built per the spec (the real samples have none)."""
    from tests.footage.camm import CammFix, make_camm

    fixes = [CammFix(1714564800.0 + i, 48.1 + i * 1e-4, 11.5, 500.0) for i in range(4)]
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for gps_type in (6, 5):
            path = Path(tmp) / f"camm{gps_type}.mp4"
            make_camm(path, fixes, gps_type=gps_type)
            out.append(path.read_bytes())
    return out


def _blackvue() -> list[bytes]:
    """The real BlackVue .gps/.3gf payloads in the free box a newer BlackVue writes."""
    from tests.footage.blackvue import JSON_CPRT, blackvue_mp4

    gps, accel = _samples("blackvue/*/*.gps"), _samples("blackvue/*/*.3gf")
    return [
        blackvue_mp4(gps=g, accel=a, cprt=c)
        for g, a in zip(gps, accel, strict=True)
        for c in (None, JSON_CPRT)
    ]


def _ligogps() -> list[bytes]:
    """Real LigoGPS blocks, placed in an MP4's mdat as the cameras write them."""
    ftyp = _box(b"ftyp", b"mp42\0\0\0\0")
    return [ftyp + _box(b"mdat", blk) for blk in _samples("novatek-blocks/*ligogps*.bin")]


def _fit_seed(path: Path, gps: int = 12) -> bytes:
    """A small FIT file cut from a real one: every definition, the few messages a track
    needs and ``gps`` gps_metadata (the whole file decodes at ~50 cases a second)."""
    import fitdecode

    wanted = {"file_id", "device_info", "camera_event", "timestamp_correlation"}
    header, body = b"", b""
    with fitdecode.FitReader(str(path), keep_raw_chunks=True) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitHeader):
                header = bytearray(frame.chunk.bytes)
            elif isinstance(frame, fitdecode.FitDefinitionMessage):
                body += frame.chunk.bytes
            elif isinstance(frame, fitdecode.FitDataMessage):
                if frame.name == "gps_metadata" and gps > 0:
                    gps -= 1
                    body += frame.chunk.bytes
                elif frame.name in wanted:
                    body += frame.chunk.bytes
    struct.pack_into("<I", header, 4, len(body))
    return bytes(header) + body + b"\0\0"  # the file CRC (not checked)


@cache
def seeds(kind: str) -> tuple[bytes, ...]:
    """The starting corpus of one seed kind (real samples first)."""
    cap = MAX_CONTAINER_SEED if kind in CONTAINER_KINDS else MAX_SEED
    found: list[bytes] = []
    if kind == "mp4":
        found += _samples("gopro/mp4/*.mp4", cap) + _samples("other/*.mp4", cap)
        found += _samples("other/*.mov", cap)
        found += [_mp4_tail(p) for p in sorted(SAMPLES.glob("gopro/mp4/*.mp4"))]
    elif kind == "gopro_cut":
        # The head of a moov-at-end file is a recording cut before its moov.
        found += [_head(SAMPLES / "gopro/mp4/karma.mp4", 256 * 1024)]
    elif kind == "gpmf":
        found += _samples("gopro/gpmf/*")
    elif kind == "jpeg":
        found += _samples("other/*.jpg")
    elif kind == "avi":
        found += _samples("other/*.AVI", 256 * 1024)
    elif kind == "nmea":
        found += _samples("dashcam/dashcamigo/*.nmea")
    elif kind == "70mai":
        found += _samples("dashcam/70mai/*.MP4", cap)
    elif kind == "sstar":
        found += _samples("dashcam/dashcamigo/sstar-*.mp4", cap)
    elif kind == "dashcam":
        found += _samples("dashcam/dashcamigo/*.mp4", cap)
    elif kind == "novatek":
        found += _samples("dashcam/dashcamigo/novatek__*.mp4", cap)
    elif kind == "ligogps":
        found += _ligogps()
    elif kind == "dji-srt":
        # Cues repeat one shape: the first 8 KB of a file hold every kind of line it has.
        found += _samples("dji-srt/*/*.SRT", 8192) + _samples("dji-srt/*/*.srt", 8192)
    elif kind == "vueroid":
        found += _samples("dashcam-more/dashcamigo/vueroid-*.mp4", cap)
    elif kind == "fit":
        found += [_fit_seed(p) for p in sorted(SAMPLES.glob("garmin-virb/trek-view/*.fit"))]
    elif kind == "thinkware":
        found += _samples("thinkware/*/*.MP4", MAX_CONTAINER_SEED)
    elif kind == "insta360":
        from tests.footage.insta360 import seeds

        found += [_tail(p) for p in sorted(SAMPLES.glob("insta360/*/*.insv"))] + seeds()
    elif kind == "camm":
        found += _camm()
    elif kind == "virb":
        found += _virb()
    elif kind == "blackvue-gps":
        found += _samples("blackvue/*/*.gps")
    elif kind == "blackvue":
        found += _blackvue()
    found += _generated(kind) + _builders(kind)
    return tuple(s for s in found if s)


def corpus(target: str) -> list[bytes]:
    out: list[bytes] = []
    for kind in TARGETS[target].kinds:
        out += [s for s in seeds(kind) if s not in out]
    return out


# -- running one case under the contract -------------------------------------------------


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Raise Hang in the main thread after ``seconds`` (no-op off the main thread)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def fire(signum: int, frame: Any) -> None:
        raise Hang(f"case still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


# Bugs found by fuzzing in code this suite may not fix (another helper owns it),
# each with a regression test marked xfail(strict=True) in test_fuzz.py. The
# long run (--keep-going) counts their hits instead of stopping at the first.
# Matched on the exception type and the innermost frame (file, function).
KNOWN_BUGS: dict[str, tuple[str, str, str]] = {}
KNOWN_HITS: dict[str, int] = {}


def known_bug(exc: BaseException) -> str | None:
    """The KNOWN_BUGS name matching ``exc``, if any."""
    tb = exc.__traceback__
    if tb is None:
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    where = (tb.tb_frame.f_code.co_filename, tb.tb_frame.f_code.co_name)
    for name, (kind, file, function) in KNOWN_BUGS.items():
        if type(exc).__name__ == kind and where[0].endswith(file) and where[1] == function:
            return name
    return None


def check_case(
    target: str, data: bytes, *, measure_memory: bool = False, keep_going: bool = False
) -> None:
    """Run one case; raise ContractViolationError if the target breaks the contract.

    ``keep_going``: a KNOWN_BUGS failure is counted in KNOWN_HITS, not raised.
    """
    run = TARGETS[target].run
    try:
        with _alarm(CASE_TIMEOUT_S):
            if not measure_memory:
                run(data)
                return
            tracemalloc.start()
            try:
                run(data)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    except Hang as exc:
        raise ContractViolationError(f"{target}: hang: {exc}") from None
    except MemoryError:
        raise ContractViolationError(
            f"{target}: MemoryError on {len(data)} bytes of input"
        ) from None
    except (AssertionError, ContractViolationError):
        raise
    except Exception as exc:
        bug = known_bug(exc)
        if keep_going and bug is not None:
            KNOWN_HITS[bug] = KNOWN_HITS.get(bug, 0) + 1
            return
        where = "".join(traceback.format_exception(exc)[-6:])
        raise ContractViolationError(
            f"{target}: {type(exc).__name__} escaped: {exc}\n{where}"
        ) from exc
    limit = ALLOC_BASE + ALLOC_FACTOR * len(data)
    if peak > limit:
        raise ContractViolationError(
            f"{target}: allocated {peak} bytes for a {len(data)}-byte input (limit {limit})"
        )


# -- mutations -----------------------------------------------------------------------------

# Values that break size, count and offset fields: 0, 1, just-too-small, huge, negative.
_EXTREMES = (0, 1, 2, 7, 8, 15, 16, 0xFF, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def mutate(rng: random.Random, seed: bytes, others: list[bytes]) -> bytes:
    """``seed`` with one to six structure-keeping edits (see the hypothesis strategy)."""
    data = bytearray(seed)
    for _ in range(rng.randint(1, 6)):
        if not data:
            data += rng.randbytes(rng.randint(1, 16))
            continue
        at = rng.randrange(len(data))
        kind = rng.randrange(9)
        if kind == 0:
            data[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            data[at] = rng.randrange(256)
        elif kind == 2:
            fmt = rng.choice((">I", "<I", ">H", "<H", ">Q"))
            value = rng.choice(_EXTREMES) & ((1 << (8 * struct.calcsize(fmt))) - 1)
            data[at : at + struct.calcsize(fmt)] = struct.pack(fmt, value)
        elif kind == 3:
            data[at : at + rng.randint(1, 64)] = bytes(rng.randint(1, 64))
        elif kind == 4:
            del data[at:]
        elif kind == 5:
            data[at:at] = rng.randbytes(rng.randint(1, 16))
        elif kind == 6:
            end = min(len(data), at + rng.randint(1, 256))
            data[at:at] = data[at:end]
        elif kind == 7:
            del data[at : at + rng.randint(1, 256)]
        elif others:
            donor = rng.choice(others)
            if donor:
                start = rng.randrange(len(donor))
                data[at:at] = donor[start : start + rng.randint(1, 512)]
    return bytes(data[: 2 * max(len(seed), MAX_SEED)])


# -- engines -------------------------------------------------------------------------------


@dataclasses.dataclass
class Result:
    target: str
    cases: int
    seconds: float
    failure: str | None = None
    crash_file: str | None = None
    known: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Plan:
    """How to run: cases per target, where failing inputs go, seed, known-bug policy."""

    cases: int
    crash_dir: Path
    seed: int = 0
    keep_going: bool = False


def _save_crash(target: str, data: bytes, out_dir: Path) -> str:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"crash-{target}-{hashlib.sha256(data).hexdigest()[:16]}"
    path.write_bytes(data)
    return str(path)


def run_hypothesis(target: str, plan: Plan) -> Result:
    """Property-based run: ``cases`` examples of a mutated seed or arbitrary bytes."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    pool = corpus(target)
    count = 0
    last: list[bytes] = [b""]
    KNOWN_HITS.clear()

    @st.composite
    def inputs(draw: st.DrawFn) -> bytes:
        if draw(st.integers(0, 9)) == 0:
            return draw(st.binary(max_size=2048))
        rng = random.Random(draw(st.integers(0, 2**32 - 1)))
        return mutate(rng, pool[draw(st.integers(0, len(pool) - 1))], pool)

    @settings(
        max_examples=plan.cases,
        deadline=None,
        database=None,
        derandomize=plan.seed == 0,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(inputs())
    def prop(data: bytes) -> None:
        nonlocal count
        count += 1
        last[0] = data
        check_case(
            target, data, measure_memory=count % ALLOC_EVERY == 0, keep_going=plan.keep_going
        )

    started = time.monotonic()
    try:
        prop()
    except ContractViolationError as exc:
        crash = _save_crash(target, last[0], plan.crash_dir)
        return Result(target, count, time.monotonic() - started, str(exc), crash)
    return Result(target, count, time.monotonic() - started, known=dict(KNOWN_HITS))


def run_random(target: str, plan: Plan) -> Result:
    """Plain mutation fuzzing (no engine dependency): fast, deterministic per seed."""
    pool = corpus(target)
    rng = random.Random(f"{target}-{plan.seed}")
    KNOWN_HITS.clear()
    started = time.monotonic()
    for i in range(plan.cases):
        data = (
            rng.randbytes(rng.randint(0, 2048))
            if i % 10 == 0
            else mutate(rng, rng.choice(pool), pool)
        )
        try:
            check_case(
                target,
                data,
                measure_memory=i % ALLOC_EVERY == ALLOC_EVERY - 1,
                keep_going=plan.keep_going,
            )
        except ContractViolationError as exc:
            crash = _save_crash(target, data, plan.crash_dir)
            return Result(target, i + 1, time.monotonic() - started, str(exc), crash)
    return Result(target, plan.cases, time.monotonic() - started, known=dict(KNOWN_HITS))


def atheris_available() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


# The atheris worker appends one line per known-bug hit here (libFuzzer ends
# the process with exit(), so nothing can be reported at the end).
KNOWN_FILE_ENV = "TELEMETRYFS_FUZZ_KNOWN_FILE"


def run_atheris(target: str, plan: Plan) -> Result:
    """Coverage-guided run in a subprocess (libFuzzer exits the process when done)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-corpus-") as tmp:
        corpus_dir = Path(tmp) / "corpus"
        corpus_dir.mkdir()
        for data in corpus(target):
            (corpus_dir / hashlib.sha256(data).hexdigest()[:20]).write_bytes(data)
        plan.crash_dir.mkdir(parents=True, exist_ok=True)
        known_file = Path(tmp) / "known"
        env = dict(os.environ)
        if plan.keep_going:
            env[KNOWN_FILE_ENV] = str(known_file)
        cmd = [
            sys.executable,
            "-m",
            "tests.reliability.atheris_worker",
            target,
            str(corpus_dir),
            f"-runs={plan.cases}",
            f"-seed={plan.seed or 1}",
            f"-timeout={int(CASE_TIMEOUT_S)}",
            f"-max_len={max(len(s) for s in corpus(target)) + MAX_SEED}",
            "-rss_limit_mb=3072",
            f"-artifact_prefix={plan.crash_dir}/{target}-",
            "-print_final_stats=1",
        ]
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - started
        known: dict[str, int] = {}
        if known_file.exists():
            for line in known_file.read_text().split():
                known[line] = known.get(line, 0) + 1
    log = proc.stdout + proc.stderr
    done = re.findall(r"Done (\d+) runs", log)
    runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", log)
    count = int(done[-1]) if done else int(runs[-1]) if runs else 0
    if proc.returncode != 0:
        crash = re.findall(r"Test unit written to (\S+)", log)
        cause = log.find("=== Uncaught Python exception")
        detail = log[cause : cause + 4000] if cause >= 0 else log[-3000:]
        return Result(target, count, elapsed, detail, crash[-1] if crash else None, known)
    return Result(target, count, elapsed, known=known)


ENGINES: dict[str, Callable[[str, Plan], Result]] = {
    "atheris": run_atheris,
    "hypothesis": run_hypothesis,
    "random": run_random,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/fuzz",
        description="Fuzz every parser entry point; print the cases run per entry point.",
    )
    parser.add_argument("--cases", type=int, default=10_000, help="cases per entry point")
    parser.add_argument(
        "--target", action="append", choices=sorted(TARGETS), help="only these (repeatable)"
    )
    parser.add_argument(
        "--engine",
        choices=sorted(ENGINES),
        default="atheris" if atheris_available() else "hypothesis",
        help="atheris (coverage-guided, default when installed), hypothesis or random",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (0: fixed)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="targets at once")
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="count hits of the known, reported bugs (KNOWN_BUGS) instead of stopping",
    )
    parser.add_argument(
        "--crash-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "telemetryfs-fuzz-crashes",
        help="where failing inputs are saved",
    )
    parser.add_argument("--list", action="store_true", help="list the targets and seed counts")
    args = parser.parse_args(argv)
    targets = args.target or list(TARGETS)
    if args.list:
        for name in targets:
            print(f"{name:22} {len(corpus(name)):4} seeds")
        return 0
    plan = Plan(args.cases, args.crash_dir, args.seed, args.keep_going)
    print(f"engine {args.engine}, {args.cases} cases per entry point", flush=True)
    results = _run_all(targets, ENGINES[args.engine], plan, args.jobs)
    print(f"\n{'entry point':22} {'cases':>10} {'seconds':>9}  result")
    for r in results:
        verdict = "ok" if r.failure is None else f"FAILED (input: {r.crash_file})"
        if r.known:
            verdict += " (known bugs hit: " + ", ".join(f"{k} x{n}" for k, n in r.known.items())
            verdict += ")"
        print(f"{r.target:22} {r.cases:>10} {r.seconds:>9.1f}  {verdict}")
    print(f"{'total':22} {sum(r.cases for r in results):>10}")
    failed = [r for r in results if r.failure is not None]
    for r in failed:
        print(f"\n== {r.target}\n{r.failure}", file=sys.stderr)
    return 1 if failed else 0


def _run_all(
    targets: list[str], engine: Callable[[str, Plan], Result], plan: Plan, jobs: int
) -> list[Result]:
    if jobs <= 1 or len(targets) == 1:
        results = []
        for name in targets:
            results.append(engine(name, plan))
            _progress(results[-1])
        return results
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(jobs) as pool:
        futures = {pool.submit(engine, name, plan): name for name in targets}
        done = []
        for future in as_completed(futures):
            done.append(future.result())
            _progress(done[-1])
    order = {name: i for i, name in enumerate(targets)}
    return sorted(done, key=lambda r: order[r.target])


def _progress(r: Result) -> None:
    state = "ok" if r.failure is None else "FAILED"
    print(f"  {r.target}: {r.cases} cases in {r.seconds:.1f} s, {state}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
