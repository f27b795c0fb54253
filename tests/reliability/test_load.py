"""Load: 32 concurrent readers over a 200-clip card, and the event loop during a long parse.

- every byte the concurrent readers get is what a sequential read on another
  mount got; every video is parsed once per level (single-flight: the GPS-only
  fast path and the full index are the two levels), nobody deadlocks;
- while an hour-long clip is parsed and rendered in a worker thread, requests
  that reach the daemon (getxattr and readdir of the root, stat once its
  attributes expired) answer in under 50 ms (see the test for the exact bounds).
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.footage import make_card, make_gopro
from tests.mount.conftest import _require_fuse  # noqa: F401  (autouse: FUSE or fail)
from tests.reliability.conftest import Mount, MountFactory

READERS = 32
COPIES = 4  # each file is read by this many of the readers, concurrently
LATENCY_LIMIT_S = 0.050  # p95 of requests answered on the event loop
WORST_LIMIT_S = 0.060  # and the slowest of them (fs/fuse/gil.py: 13-16 ms here)

_PARSE_LINE = re.compile(r"DEBUG telemetryfs\.fs\.fuse\.store: parse (.*) \(full=(True|False)\)$")


@pytest.fixture(scope="module")
def card200(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 200-clip card (GoPro chapters, LRV proxies, Novatek loops, MAP CAM), short clips."""
    root = tmp_path_factory.mktemp("card200")
    made = make_card(root, clips=200, gopro_clip_s=2.0, novatek_clip_s=5.0, mapcam_clip_s=3.0)
    assert len(made) >= 200
    return root


def _files(top: Path) -> list[Path]:
    return sorted(Path(d) / f for d, _, files in os.walk(top) for f in files)


def _digest(path: Path) -> str:
    with path.open("rb") as f:
        data = f.read()
    assert len(data) == os.stat(path).st_size, path
    return hashlib.sha256(data).hexdigest()


def _parses(log: str) -> Counter[tuple[str, str]]:
    return Counter(
        (m.group(1), m.group(2)) for line in log.splitlines() if (m := _PARSE_LINE.search(line))
    )


@pytest.mark.slow
def test_32_readers_get_the_sequential_bytes_with_one_parse_per_video(
    checked_mount: MountFactory, card200: Path
) -> None:
    sequential = checked_mount(card200, "--no-disk-cache", name="seq")
    reference = {p.relative_to(sequential.path): _digest(p) for p in _files(sequential.path)}
    sequential_parses = _parses(sequential.log_text())
    # Video folders (the recordings view's folders join their parts' parses).
    videos = {p.parent for p in reference if p.name == "info.json" and p.parts[0] != "recordings"}
    assert sequential.unmount() == 0
    assert len(reference) > 2000

    m = checked_mount(card200, "--no-disk-cache", name="load")
    names = sorted(reference)
    got: dict[Path, set[str]] = {}
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(READERS)

    def reader(k: int) -> None:
        mine = [
            n for i, n in enumerate(names) if i % (READERS // COPIES) == k % (READERS // COPIES)
        ]
        random.Random(k).shuffle(mine)
        # Everyone starts on the same video: 32 requests for one parse at once.
        first = [n for n in names if n.parent == names[0].parent]
        barrier.wait()
        for rel in first + mine:
            try:
                digest = _digest(m.path / rel)
            except (OSError, AssertionError) as exc:
                with lock:
                    errors.append(f"{rel}: {exc!r}")
                continue
            with lock:
                got.setdefault(rel, set()).add(digest)

    threads = [threading.Thread(target=reader, args=(k,), daemon=True) for k in range(READERS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(100)
    elapsed = time.monotonic() - started
    assert not any(t.is_alive() for t in threads), "deadlock: readers still waiting"
    assert errors == []
    assert set(got) == set(reference)
    wrong = {rel: d for rel, d in got.items() if d != {reference[rel]}}
    assert wrong == {}
    parses = _parses(m.log_text())
    # Single-flight: once per video and level (GPS-only, full), as a sequential read.
    assert max(parses.values()) == 1, parses.most_common(3)
    assert len({path for path, _ in parses}) == len(videos)
    # A dashcam clip is parsed once. A GoPro clip at most twice: the GPS-only fast
    # path for a track file, and the full index for info.json and streams/, when
    # readers ask for both at once (a sequential read happens to need only one).
    per_video = Counter(path for path, _ in parses.elements())
    assert set(per_video) == {path for path, _ in sequential_parses}
    dashcam = {p: n for p, n in per_video.items() if "GOPRO/" not in p}
    assert set(dashcam.values()) == {1}, dashcam
    assert max(per_video.values()) <= 2
    assert m.stats()["parses"] == sum(parses.values())
    print(
        f"\n{READERS} readers, {len(reference)} files of {len(videos)} videos, "
        f"{sum(len(d) for d in got.values())} distinct results, {elapsed:.1f} s, "
        f"{sum(parses.values())} parses ({len(videos)} videos, {len(dashcam)} dashcam; "
        f"sequential: {sum(sequential_parses.values())})"
    )


@pytest.fixture(scope="module")
def long_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One hour of HERO11 in one file (GoPro chapters stop at ~12 min: a long file)."""
    root = tmp_path_factory.mktemp("long")
    make_gopro(root / "GX010001.MP4", duration_s=3600, model="HERO11 Black", video_mbps=5)
    for copy in ("GX010002.MP4", "GX010003.MP4"):  # three parses in a row to measure over
        subprocess.run(
            ["cp", "--sparse=always", str(root / "GX010001.MP4"), str(root / copy)], check=True
        )
    return root


def _latency(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _measure_during_parses(m: Mount, card: Path) -> dict[str, list[float]]:
    """Latencies of requests to the root while every clip of ``card`` is parsed and rendered."""
    done = threading.Event()

    def build() -> None:
        for name in sorted(os.listdir(card)):
            os.stat(m.path / name / "info.json")  # the full parse (every stream indexed)
            os.stat(m.path / name / "track.gpx")  # and the GPX render
        done.set()

    worker = threading.Thread(target=build, daemon=True)
    worker.start()
    latencies: dict[str, list[float]] = {"getxattr": [], "readdir": [], "stat": []}
    last_stat = time.monotonic()
    while not done.is_set():
        latencies["getxattr"].append(
            _latency(lambda: os.getxattr(m.path, "user.telemetryfs.stats"))
        )
        latencies["readdir"].append(_latency(lambda: os.listdir(m.path)))
        if time.monotonic() - last_stat > 1.05:  # past the attribute timeout: reaches us
            latencies["stat"].append(_latency(lambda: os.stat(m.path)))
            last_stat = time.monotonic()
        time.sleep(0.01)
    worker.join(60)
    assert not worker.is_alive()
    return latencies


@pytest.mark.slow
@pytest.mark.parametrize("parse_in", ["thread", "process"])
def test_the_root_answers_in_50_ms_while_long_files_parse(
    mount: MountFactory, long_card: Path, parse_in: str
) -> None:
    """The event loop is never blocked by a parse: parses and renders run in threads.

    Each round touches the clips (a new version: parsed again) and measures
    getxattr of the root (answered on the event loop), readdir (through an I/O
    thread, which competes for the GIL with the parsing thread) and stat once
    its attributes expired, while three hour-long clips are parsed and rendered.
    In every round no request waits anywhere near as long as a parse takes (a
    loop blocked by the parse would answer nothing until it ends); in the best
    of three rounds 95 % of the requests answered on the loop do so within
    50 ms and none takes over 60 ms. Without the GIL-sharing source files the parse thread's
    short reads starve the loop of the GIL: 60-290 ms worst cases were seen
    here. Requests through an I/O thread wait for the GIL too: their figures
    are printed (43-53 ms worst with share_gil, 309-473 ms without; 28-47 ms
    with 0.2 ms switch intervals, 21-28 ms with -o parse_in=process, where the
    parses run in a worker process and only the renders compete for the GIL).
    With the parse pausing more often while requests are answered, telemetry
    freed in slices in a thread of its own and columns formatted in slices
    (fs/fuse/gil.py), the default thread's worst were 4-8 ms on the loop and
    17-26 ms through an I/O thread.
    """
    m = mount(long_card, "--no-disk-cache", "-o", f"parse_in={parse_in}")
    os.listdir(m.path)
    deadline = time.monotonic() + 30
    while m.stats()["parse_worker"] == "starting" and time.monotonic() < deadline:
        time.sleep(0.05)  # until the worker has started, parses run in threads
    assert m.stats()["parse_worker"] == {"thread": "off", "process": "ready"}[parse_in]
    rounds = []
    for r in range(3):
        for clip in long_card.iterdir():
            os.utime(clip, ns=(r, 1_700_000_000_000_000_000 + r))
        time.sleep(1.1)  # past the attribute timeout: the new versions are seen
        latencies = _measure_during_parses(m, long_card)
        samples = sum(len(v) for v in latencies.values())
        worst = {k: max(v, default=0.0) for k, v in latencies.items()}
        p95 = {k: sorted(v)[int(len(v) * 0.95)] for k, v in latencies.items() if v}
        print(
            f"\nround {r + 1} ({samples} requests): worst "
            + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in worst.items())
            + "; p95 "
            + ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in p95.items())
        )
        assert samples > 30, "the parses were too short to measure anything"
        assert max(worst.values()) < 1.0, worst  # a parse on the loop: seconds of silence
        rounds.append((p95["getxattr"], worst["getxattr"]))
        if p95["getxattr"] < LATENCY_LIMIT_S and worst["getxattr"] < WORST_LIMIT_S:
            break
    assert any(p < LATENCY_LIMIT_S and w < WORST_LIMIT_S for p, w in rounds), rounds
    stats = m.stats()
    assert stats["parses"] == 3 * len(rounds), stats
    assert stats["process_parses"] == (stats["parses"] if parse_in == "process" else 0), stats
    assert bool(_worker_pids(m.proc.pid)) == (parse_in == "process")


def _worker_pids(daemon: int) -> list[int]:
    """The daemon's trio-parallel workers (multiprocessing's spawned children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rpartition(")")[2].split()[1])
        if parent == daemon and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


# -- one parse per video, at the store (no kernel) -------------------------------------


async def _parses_for(path: Path, *, concurrent: bool) -> int:
    import trio

    from telemetryfs.fs.cache import SourceKey
    from telemetryfs.fs.fuse.store import Store
    from telemetryfs.fs.options import Options

    store = Store(Options(disk_cache=None))
    key = SourceKey.from_stat(str(path), os.stat(path))
    if concurrent:
        async with trio.open_nursery() as nursery:
            for full in (False, True, False, True):
                nursery.start_soon(lambda full=full: store.telemetry(key, full=full))
    else:
        await store.telemetry(key, full=False)  # listing the folder
        await store.telemetry(key, full=True)  # info.json, streams/
    return store.stats.parses


@pytest.mark.parametrize("concurrent", [False, True], ids=["in-turn", "at-once"])
async def test_a_dashcam_clip_is_parsed_once_for_its_track_and_its_info(
    tmp_path: Path, concurrent: bool
) -> None:
    from tests.footage import make_mapcam, make_novatek

    make_novatek(tmp_path / "n.MP4", duration_s=5.0, video_mbps=1.0)
    make_mapcam(tmp_path / "m.AVI", duration_s=5.0, video_mbps=1.0)
    assert await _parses_for(tmp_path / "n.MP4", concurrent=concurrent) == 1
    assert await _parses_for(tmp_path / "m.AVI", concurrent=concurrent) == 1


async def test_a_gopro_clip_is_parsed_at_most_once_per_level(tmp_path: Path) -> None:
    """GPS-only for the track (fast path), then every stream for info.json and streams/."""
    make_gopro(tmp_path / "g.MP4", duration_s=5.0, video_mbps=1.0)
    assert await _parses_for(tmp_path / "g.MP4", concurrent=False) == 2
    assert await _parses_for(tmp_path / "g.MP4", concurrent=True) <= 2


async def test_mixed_levels_at_once_neither_recurse_nor_parse_more_than_twice(
    tmp_path: Path,
) -> None:
    """Twenty requests of both levels at once, in scrambled order (trio shuffles tasks)."""
    import trio

    from telemetryfs.fs.cache import SourceKey
    from telemetryfs.fs.fuse.store import Store
    from telemetryfs.fs.options import Options

    make_gopro(tmp_path / "g.MP4", duration_s=5.0, video_mbps=1.0)
    for _ in range(5):
        store = Store(Options(disk_cache=None))
        key = SourceKey.from_stat(str(tmp_path / "g.MP4"), os.stat(tmp_path / "g.MP4"))
        results: list[object] = []

        async def ask(
            full: bool, store: Store = store, key: SourceKey = key, out: list[object] = results
        ) -> None:
            out.append(await store.telemetry(key, full=full))

        async with trio.open_nursery() as nursery:
            for i in range(20):
                nursery.start_soon(ask, i % 3 == 0)
        assert len(results) == 20
        assert store.stats.parses <= 2


# -- -o prefetch at the lowest priority ---------------------------------------------------


def _wait_prefetch(m: Mount, state: str, timeout: float = 120) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p: dict[str, object] = m.stats()["prefetch"]  # type: ignore[assignment]
        if p["state"] == state:
            return p
        time.sleep(0.01)
    pytest.fail(f"prefetch never reached {state!r}: {m.stats()}")


@pytest.mark.slow
def test_prefetch_keeps_the_loop_answering_and_lets_a_users_read_go_first(
    mount: MountFactory, long_card: Path
) -> None:
    """Three hour-long clips prefetched: the root's worst wait stays within the bound
    a user's parse is held to (above), and a track read meanwhile does not queue
    behind the prefetch: it takes about what it takes on a mount that does nothing else.
    """
    names = sorted(os.listdir(long_card))
    alone = mount(long_card, "--no-disk-cache", name="alone")
    lone_s = _latency(lambda: (alone.path / names[-1] / "track.gpx").read_bytes())
    assert alone.unmount() == 0

    m = mount(long_card, "-o", "prefetch", "--no-disk-cache", name="prefetch")
    _wait_prefetch(m, "gps")
    time.sleep(0.3)  # well into the first clip's parse
    user_s = _latency(lambda: (m.path / names[-1] / "track.gpx").read_bytes())
    prefetch_state = m.stats()["prefetch"]
    worst = 0.0
    samples = 0
    while m.stats()["prefetch"]["state"] != "done":  # type: ignore[index]
        worst = max(worst, _latency(lambda: os.getxattr(m.path, "user.telemetryfs.stats")))
        samples += 1
        time.sleep(0.01)
    print(
        f"\ntrack.gpx alone {lone_s:.2f} s, during prefetch {user_s:.2f} s "
        f"(prefetch then: {prefetch_state}); worst getxattr during prefetch "
        f"{worst * 1000:.1f} ms over {samples} requests"
    )
    assert samples > 30, "the prefetch was too short to measure anything"
    assert worst < WORST_LIMIT_S
    # Queued behind the prefetch it would wait for a whole hour-long parse or more.
    assert user_s < 1.5 * lone_s + 0.3
    assert m.stats()["prefetch"]["parsed"] == len(names)  # type: ignore[index]
