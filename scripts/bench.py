"""telemetryfs benchmark: our mount against exiftool and telemetry-parser, on the same files.

Run ``scripts/bench`` (it sets itself up). It builds its footage into
``bench-work/`` (sparse files): the one-hour GoPro files from real cameras'
payloads (a HERO7's 10 streams, a HERO11's 21 with GPS5 and GPS9, clocks
shifted each time round), the card and the Novatek hour with the footage
generator. Then it measures, in one run:

1. cold ``cat track.gpx`` of each one-hour GoPro file on a fresh mount with no
   cache, against ``exiftool -ee -p gpx.fmt`` and a ``telemetry-parser``
   process; a one-hour Novatek file against exiftool;
2. the I/O floor: pread of exactly the bytes the track needs (moov + every
   GPMF payload), and cold-track time / floor;
3. warm ``cat`` (memory cache) against a plain file of the same size through
   a mount (and on ext4), and after a remount (disk cache);
4. a card of 1,000 clips: ``ls -l``, ``find | xargs cat``, ``rsync -a`` cold,
   warm and after a remount, and the daemon's peak RSS;
5. stream throughput (``streams/ACCL.csv``, ``streams/all.gpmf``) against a
   plain file of the same size read through the same mount;
6. latency: how long requests to the mount's root wait while the three
   hours are parsed and rendered (parses in a thread, the default, and in a
   process);
7. memory: the daemon's peak RSS after ``rsync -a`` of everything a one-hour
   file or the 3-hour recording shows (every stream CSV), each on a fresh mount.

Every timing is the median of several runs; the page cache is dropped before
each cold run (as root). Results print as a table and are saved as JSON.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telemetryfs.parsers import extract as extraction  # noqa: E402
from telemetryfs.parsers.containers import mp4  # noqa: E402
from telemetryfs.parsers.model import Extent  # noqa: E402

sys.path.insert(0, str(ROOT / "scripts"))
import bench_fleet  # noqa: E402

GPX_FMT = Path("/usr/share/doc/libimage-exiftool-perl/fmt_files/gpx.fmt")
PEER_PYTHON = ROOT / ".venv-bench" / "bin" / "python"
# What a telemetry-parser user writes to get a track: parse, scale, print.
TELEMETRY_PARSER_GPX = """
import sys, telemetry_parser
p = telemetry_parser.Parser(sys.argv[1])
out = ['<gpx version="1.1" creator="telemetry-parser"><trk><trkseg>']
for block in p.telemetry():
    gps = block.get("GPS")
    if not gps:
        continue
    for lat, lon, alt, *_ in gps["Data"]:
        out.append(f'<trkpt lat="{lat / 1e7}" lon="{lon / 1e7}"><ele>{alt / 1e3}</ele></trkpt>')
out.append("</trkseg></trk></gpx>")
sys.stdout.write("\\n".join(out))
"""


# -- helpers ---------------------------------------------------------------------


def drop_caches() -> bool:
    """Empty the page cache so cold runs read from disk (root only)."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median_of(runs: int, fn: Callable[[], object], *, cold: bool = False) -> dict[str, Any]:
    times = []
    for _ in range(runs):
        if cold:
            drop_caches()
        times.append(timed(fn))
    return {"median_s": statistics.median(times), "runs": [round(t, 4) for t in times]}


def run(*cmd: str | Path, stdout: Any = subprocess.DEVNULL) -> None:
    subprocess.run([str(c) for c in cmd], check=True, stdout=stdout, stderr=subprocess.DEVNULL)


def cat(path: Path) -> None:
    run("cat", path)


class Daemon:
    """A foreground telemetryfs process, so its RSS can be read."""

    def __init__(self, source: Path, mnt: Path, *args: str) -> None:
        mnt.mkdir(parents=True, exist_ok=True)
        subprocess.run(["fusermount3", "-u", "-z", str(mnt)], capture_output=True, check=False)
        self.mnt = mnt
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "telemetryfs.fs",
                str(source),
                str(mnt),
                "-f",
                *args,
                *EXTRA_MOUNT_ARGS,
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while not os.path.ismount(mnt):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"telemetryfs did not mount {source}")
            time.sleep(0.02)

    def stats(self) -> dict[str, int]:
        value: dict[str, int] = json.loads(os.getxattr(self.mnt, "user.telemetryfs.stats"))
        return value

    def peak_rss_mb(self) -> float:
        """The daemon's peak RSS plus that of its parse process (-o parse_in=process)
        and any other child alive now: the sum of peaks, an upper bound of the peak sum."""
        return sum(_peak_rss_mb(pid) for pid in (self.proc.pid, *_children(self.proc.pid)))

    def parse_process_peak_rss_mb(self) -> float:
        return sum(_peak_rss_mb(pid) for pid in _children(self.proc.pid))

    def stop(self) -> None:
        subprocess.run(["fusermount3", "-u", str(self.mnt)], capture_output=True, check=False)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:  # gone meanwhile
        pass
    return 0.0


def _children(pid: int) -> list[int]:
    """Every process below ``pid`` (the parse process, multiprocessing's tracker)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rpartition(")")[2].split()[1])
    found, frontier = [], [pid]
    while frontier:
        below = [child for child, parent in parents.items() if parent in frontier]
        found += below
        frontier = below
    return found


@contextmanager
def mounted(source: Path, mnt: Path, *args: str) -> Iterator[Daemon]:
    daemon = Daemon(source, mnt, *args)
    try:
        yield daemon
    finally:
        daemon.stop()


# -- footage ---------------------------------------------------------------------


def ensure_footage(work: Path, clips: int, long_s: float) -> dict[str, Path]:
    from tests.footage import make_card, make_novatek
    from tests.footage.real_payloads import make_real_gopro

    long_dir, card = work / "long", work / "card"
    hero11_dir = work / "long-hero11"
    gopro, novatek = long_dir / "GX010001.MP4", long_dir / "2026_0406_142122_001.MP4"
    hero11 = hero11_dir / "GX010001.MP4"
    stamp = work / f".footage-{clips}-{long_s:g}"
    if not stamp.exists():
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        print(f"generating footage in {work} ...", file=sys.stderr)
        make_card(card, clips=clips, gopro_clip_s=60.0, novatek_clip_s=180.0)
        stamp.touch()
    # The hours are built from real cameras' payloads (every stream they write:
    # 10 on a HERO7, 21 on a HERO11 with GPS5 and GPS9), not the generator's three.
    long_stamp = work / f".long-real-{long_s:g}"
    if not long_stamp.exists():
        print(f"generating the real-payload hours in {work} ...", file=sys.stderr)
        for d in (long_dir, hero11_dir):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
        # 10 Mb/s makes the hour ~4.5 GB: past 4 GiB (co64), as FORMAT-NOTES measured peers on.
        make_real_gopro(gopro, duration_s=long_s, source="hero7", video_mbps=10.0)
        make_real_gopro(hero11, duration_s=long_s, source="hero11", video_mbps=10.0)
        # Novatek's gps index holds 32-bit offsets: an hour must stay under 4 GiB.
        make_novatek(novatek, duration_s=long_s, video_mbps=8.0)
        long_stamp.touch()
    return {
        "gopro": gopro,
        "novatek": novatek,
        "long_dir": long_dir,
        "hero11": hero11,
        "hero11_dir": hero11_dir,
        "card": card,
    }


# -- measurements ------------------------------------------------------------------


@functools.cache
def payload_ranges(path: Path) -> list[tuple[int, int]]:
    """(offset, size) of every GPMF payload of a GoPro file (the bytes of all.gpmf)."""
    t = extraction.extract(path, full=True)
    all_gpmf = next(r for r in t.raw_files if r.name == "all.gpmf")
    return [(p.offset, p.size) for p in all_gpmf.pieces if isinstance(p, Extent)]


def pread_ranges(path: Path, ranges: list[tuple[int, int]]) -> None:
    """One pread per range, as a reader that needs exactly these bytes would."""
    fd = os.open(path, os.O_RDONLY)
    try:
        for offset, length in ranges:
            os.pread(fd, length, offset)
    finally:
        os.close(fd)


def track_floor(path: Path, runs: int) -> dict[str, Any]:
    """Time to pread moov + every GPMF payload, one pread per range, cache dropped."""
    with path.open("rb") as f:
        size = os.fstat(f.fileno()).st_size
        moov = next(b for b in mp4.iter_boxes(f, 0, size) if b.kind == b"moov")
    ranges = [(moov.offset, moov.end - moov.offset), *payload_ranges(path)]
    result = median_of(runs, lambda: pread_ranges(path, ranges), cold=True)
    result["bytes"] = sum(n for _, n in ranges)
    result["preads"] = len(ranges)
    return result


def merged(results: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from several single-run results (their runs pooled, the rest kept)."""
    runs = [t for r in results for t in r["runs"]]
    return {**results[0], "runs": runs, "median_s": statistics.median(runs)}


def cat_on_fresh_mounts(
    source: Path, mnt: Path, target: Path, runs: int, *args: str
) -> dict[str, Any]:
    """Median time of ``cat target`` as the first read of a new mount (page cache dropped)."""
    times, parses = [], 0
    for _ in range(runs):
        with mounted(source, mnt, *args) as daemon:
            drop_caches()
            times.append(timed(lambda: cat(target)))
            parses = daemon.stats()["parses"]
    return {
        "median_s": statistics.median(times),
        "runs": [round(t, 4) for t in times],
        "parses": parses,
    }


def bench_long_file(
    files: dict[str, Path], work: Path, runs: int, peer_runs: int
) -> dict[str, Any]:
    gopro, mnt = files["gopro"], work / "mnt"
    track = mnt / gopro.name / "track.gpx"
    out: dict[str, Any] = {"file": gopro.name, "file_gb": round(gopro.stat().st_size / 1e9, 2)}

    # Cold track and I/O floor alternate run by run: this VM's speed drifts by
    # ~1.4x within an hour, and a ratio of two figures measured minutes apart
    # would measure the drift too.
    colds, floors = [], []
    for _ in range(runs):
        colds.append(cat_on_fresh_mounts(files["long_dir"], mnt, track, 1, "--no-disk-cache"))
        floors.append(track_floor(gopro, 1))
    out["cold_track_gpx"] = merged(colds)
    out["exiftool_gpx"] = median_of(
        peer_runs,
        lambda: run("exiftool", "-ee", "-api", "LargeFileSupport=1", "-p", GPX_FMT, gopro),
        cold=True,
    )
    out["telemetry_parser"] = median_of(
        peer_runs, lambda: run(PEER_PYTHON, "-c", TELEMETRY_PARSER_GPX, gopro), cold=True
    )
    out["io_floor"] = merged(floors)

    cache = work / "diskcache"
    shutil.rmtree(cache, ignore_errors=True)
    with mounted(files["long_dir"], mnt, "--cache-dir", str(cache)) as daemon:
        cat(track)
        out["track_gpx_bytes"] = track.stat().st_size
        # The same cat of a regular file of that size in the page cache, the
        # floor for "warm", alternating with ours (see the cold track above).
        plain = work / "plain" / "plain-track.gpx"
        plain.parent.mkdir(exist_ok=True)
        if not plain.exists() or plain.stat().st_size != out["track_gpx_bytes"]:
            plain.write_bytes(os.urandom(out["track_gpx_bytes"]))
        # The floor is that file passed through a mount (`-o show_other`),
        # both in the kernel's page cache; the bare file on ext4 is kept beside it.
        plain_mnt = work / "mnt-plain"
        plain_mnt.mkdir(exist_ok=True)
        with mounted(plain.parent, plain_mnt, "-o", "show_other"):
            plain_through = plain_mnt / plain.name
            cat(plain)
            cat(plain_through)
            warm, warm_plain, warm_ext4 = [], [], []
            for _ in range(max(runs, 10)):
                warm.append(median_of(1, lambda: cat(track)))
                warm_plain.append(median_of(1, lambda: cat(plain_through)))
                warm_ext4.append(median_of(1, lambda: cat(plain)))
        out["warm_track_gpx"] = merged(warm)
        out["warm_plain_same_size"] = merged(warm_plain)
        out["warm_plain_on_ext4"] = merged(warm_ext4)
        out["daemon_peak_rss_mb"] = round(daemon.peak_rss_mb(), 1)

    out["remount_track_gpx"] = cat_on_fresh_mounts(
        files["long_dir"], mnt, track, runs, "--cache-dir", str(cache)
    )
    out["remount_parses"] = out["remount_track_gpx"].pop("parses")

    # The HERO11 hour (GPS9): cold track against the same peers and its floor.
    hero11 = files["hero11"]
    hero11_track = mnt / hero11.name / "track.gpx"
    colds, floors = [], []
    for _ in range(runs):
        colds.append(
            cat_on_fresh_mounts(files["hero11_dir"], mnt, hero11_track, 1, "--no-disk-cache")
        )
        floors.append(track_floor(hero11, 1))
    out["hero11_cold_track_gpx"] = merged(colds)
    out["hero11_io_floor"] = merged(floors)
    out["hero11_exiftool_gpx"] = median_of(
        peer_runs,
        lambda: run("exiftool", "-ee", "-api", "LargeFileSupport=1", "-p", GPX_FMT, hero11),
        cold=True,
    )
    out["hero11_telemetry_parser"] = median_of(
        peer_runs, lambda: run(PEER_PYTHON, "-c", TELEMETRY_PARSER_GPX, hero11), cold=True
    )

    novatek = files["novatek"]
    novatek_track = mnt / novatek.name / "track.gpx"

    out["novatek_cold_track_gpx"] = cat_on_fresh_mounts(
        files["long_dir"], mnt, novatek_track, runs, "--no-disk-cache"
    )
    out["novatek_exiftool_gpx"] = median_of(
        peer_runs,
        lambda: run("exiftool", "-ee", "-api", "LargeFileSupport=1", "-p", GPX_FMT, novatek),
        cold=True,
    )
    return out


def through_fresh_mount(
    source: Path, mnt: Path, rel: str, warm: Callable[[], object], runs: int, *args: str
) -> dict[str, Any]:
    """Throughput of ``cat MOUNT/rel``: source bytes warm, the mount's page cache empty.

    Each run mounts anew (so the kernel holds none of the file's pages), warms
    the source bytes the file is made of, and stats the file untimed (that
    parses the video); only the ``cat`` through the daemon is timed.
    """
    times, size = [], 0
    for _ in range(runs):
        with mounted(source, mnt, "--no-disk-cache", *args):
            size = (mnt / rel).stat().st_size
            warm()
            times.append(timed(lambda: cat(mnt / rel)))
    median = statistics.median(times)
    return {
        "median_s": median,
        "runs": [round(t, 4) for t in times],
        "bytes": size,
        "mb_per_s": round(size / median / 1e6, 1),
    }


def bench_streams(files: dict[str, Path], work: Path, runs: int) -> dict[str, Any]:
    """Stream files of the long GoPro file against a plain file of the same size."""
    gopro, mnt = files["gopro"], work / "mnt"
    ranges = payload_ranges(gopro)

    def warm_payloads() -> None:
        pread_ranges(gopro, ranges)

    out: dict[str, Any] = {}
    for name in ("ACCL.csv", "all.gpmf"):
        rel = f"{gopro.name}/streams/{name}"
        out[name] = through_fresh_mount(files["long_dir"], mnt, rel, warm_payloads, runs)
    plain_dir = work / "plain"
    plain_dir.mkdir(exist_ok=True)
    for name in ("ACCL.csv", "all.gpmf"):
        plain = plain_dir / f"plain-{name}.dat"
        if not plain.exists() or plain.stat().st_size != out[name]["bytes"]:
            plain.write_bytes(os.urandom(out[name]["bytes"]))
        out[f"plain {name}"] = through_fresh_mount(
            plain_dir, mnt, plain.name, lambda p=plain: cat(p), runs, "-o", "show_other"
        )
    return out


# The card figures stay comparable with runs before the recordings view: that view
# is measured on its own (bench_recordings).
NO_VIEW = ("-o", "norecordings")
# --mount-option: given to every mount.
EXTRA_MOUNT_ARGS: list[str] = []


# Cold copies of the card, each from nothing (see bench_card): the median is reported.
CARD_COLD_RUNS = 3


def pace_ms() -> float:
    """The machine's pace now: the median time of a fixed pure-Python loop (ms), to
    read a timing beside (a shared VM's cores slow down and speed up by half)."""

    def loop() -> None:
        total = 0
        for i in range(1_000_000):
            total += i * i % 7

    return round(statistics.median(timed(loop) for _ in range(5)) * 1000, 1)


def bench_card(files: dict[str, Path], work: Path, runs: int) -> dict[str, Any]:
    card, mnt, cache = files["card"], work / "mnt", work / "card-cache"
    out: dict[str, Any] = {
        "videos": sum(1 for _ in card.rglob("*") if _.suffix.upper() in (".MP4", ".AVI", ".LRV"))
    }
    folders = sorted(p for p in (card / "DCIM").iterdir() if p.is_dir())
    with mounted(card, mnt, "--no-disk-cache", *NO_VIEW) as daemon:
        out["ls_root"] = median_of(runs, lambda: run("ls", "-l", mnt))
        per_folder = {}
        for folder in folders:
            target = mnt / "DCIM" / folder.name
            per_folder[folder.name] = {
                "entries": len(os.listdir(target)),
                **median_of(runs, lambda t=target: run("ls", "-l", t)),
            }
        out["ls_dcim_folders"] = per_folder
        out["ls_parses"] = daemon.stats()["parses"]
    find_cat = f"find {mnt} -name track.gpx -print0 | xargs -0 cat > /dev/null"
    # Cold as a user meets it: the default set-up (a disk cache), with nothing in it yet.
    shutil.rmtree(cache, ignore_errors=True)
    with mounted(card, mnt, "--cache-dir", str(cache), *NO_VIEW):
        drop_caches()
        out["find_cat_gpx_cold_s"] = round(timed(lambda: run("sh", "-c", find_cat)), 3)

    shutil.rmtree(cache, ignore_errors=True)
    backup, fresh = work / "rsync-backup", work / "rsync-fresh"
    for d in (backup, fresh):
        shutil.rmtree(d, ignore_errors=True)

    def rsync(dest: Path) -> float:
        return round(timed(lambda: run("rsync", "-a", f"{mnt}/", f"{dest}/")), 3)

    # The cold copy is CPU-bound on both cores (daemon, read-ahead worker, rsync),
    # and a shared VM's pace moves by half within minutes: one run says little.
    # Each run starts from nothing (an empty cache and backup, a new mount, the
    # page cache dropped), after a probe of the machine's pace at that moment.
    cold_runs, paces = [], []
    for attempt in range(CARD_COLD_RUNS):
        last = attempt == CARD_COLD_RUNS - 1
        for d in (cache, backup):
            shutil.rmtree(d, ignore_errors=True)
        with mounted(card, mnt, "--cache-dir", str(cache), *NO_VIEW) as daemon:
            paces.append(pace_ms())
            drop_caches()
            cold_runs.append(rsync(backup))  # into an empty backup: every byte
            if last:
                out["rsync_warm_noop_s"] = rsync(backup)  # again: nothing new to copy
            out["daemon_peak_rss_mb"] = max(
                out.get("daemon_peak_rss_mb", 0.0), round(daemon.peak_rss_mb(), 1)
            )
            out["parse_process_peak_rss_mb"] = max(
                out.get("parse_process_peak_rss_mb", 0.0),
                round(daemon.parse_process_peak_rss_mb(), 1),
            )
            out["parses_cold"] = daemon.stats()["parses"]
    out["rsync_cold_s"] = statistics.median(cold_runs)
    out["rsync_cold_runs"] = cold_runs
    out["pace_ms_before_runs"] = paces
    out["copied_mb"] = round(
        sum(p.stat().st_size for p in backup.rglob("*") if p.is_file()) / 1e6, 1
    )
    with mounted(card, mnt, "--cache-dir", str(cache), *NO_VIEW) as daemon:
        drop_caches()
        # The everyday case: the card seen before, synced again to its backup.
        out["rsync_remount_noop_s"] = rsync(backup)
        out["parses_after_remount"] = daemon.stats()["parses"]
        out["rsync_remount_full_copy_s"] = rsync(fresh)  # every byte, from the disk cache
        out["daemon_peak_rss_after_remount_mb"] = round(daemon.peak_rss_mb(), 1)
    for d in (backup, fresh):
        shutil.rmtree(d, ignore_errors=True)
    return out


def view_folders_above_recordings(card: Path) -> list[str]:
    """The recordings view's folders above the recording folders (known from names alone)."""
    from telemetryfs.fs.recordings import RecordingsIndex

    index = RecordingsIndex(os.fsencode(card))
    index.refresh()
    above, todo = [], [""]
    while todo:
        folder = todo.pop()
        above.append(folder)
        todo += [f"{folder}/{n}" if folder else n for n, rec in index.children(folder) if not rec]
    return sorted(above)


def list_view(view: Path, folders: list[str]) -> None:
    """``ls -l`` of every listed folder: readdir, then a stat of every entry."""
    for folder in folders:
        with os.scandir(view / folder) as entries:
            for entry in entries:
                entry.stat(follow_symlinks=False)


def ensure_recording(work: Path, chapters: int, chapter_s: float) -> Path:
    """A long GoPro recording of ``chapters`` chapters of ``chapter_s`` seconds, built from
    real HERO7 payloads (20 GPMF streams: the generator's three would hide costs)."""
    from tests.footage.real_payloads import make_real_recording

    folder = work / "recording"
    stamp = work / f".recording-real-{chapters}-{chapter_s:g}"
    if not stamp.exists():
        shutil.rmtree(folder, ignore_errors=True)
        (folder / "DCIM/100GOPRO").mkdir(parents=True)
        print(f"generating a {chapters}-chapter recording ...", file=sys.stderr)
        make_real_recording(
            folder / "DCIM/100GOPRO", chapters=chapters, chapter_s=chapter_s, number=42
        )
        stamp.touch()
    return folder


def ensure_latency_source(files: dict[str, Path], work: Path) -> Path:
    """The three hours in one folder (hard links: no copy), parsed one after another."""
    folder = work / "latency"
    folder.mkdir(exist_ok=True)
    hours = {
        "GX010001.MP4": files["gopro"],
        "GX010002.MP4": files["hero11"],
        files["novatek"].name: files["novatek"],
    }
    for name, path in hours.items():
        link = folder / name
        if not link.exists():
            try:
                os.link(path, link)
            except OSError:
                run("cp", "--sparse=always", path, link)
    return folder


def _answer_times(mnt: Path, clips: list[str]) -> dict[str, list[float]]:
    """How long root requests take while every clip is parsed (info.json) and rendered
    (track.gpx) by another thread: getxattr (answered on the event loop) and readdir
    (through an I/O thread), one of each every ~10 ms, as a file manager might."""
    import threading

    done = threading.Event()

    def build() -> None:
        for name in clips:
            os.stat(mnt / name / "info.json")  # the full parse
            os.stat(mnt / name / "track.gpx")  # and the GPX render
        done.set()

    builder = threading.Thread(target=build, daemon=True)
    builder.start()
    waits: dict[str, list[float]] = {"getxattr": [], "readdir": []}
    while not done.is_set():
        waits["getxattr"].append(timed(lambda: os.getxattr(mnt, "user.telemetryfs.stats")))
        waits["readdir"].append(timed(lambda: os.listdir(mnt)))
        time.sleep(0.01)
    builder.join(120)
    return waits


def bench_latency(files: dict[str, Path], work: Path, runs: int) -> dict[str, Any]:
    source = ensure_latency_source(files, work)
    clips = sorted(p.name for p in source.iterdir())
    mnt = work / "mnt"
    out: dict[str, Any] = {"clips": clips}
    for mode in ("thread", "process"):
        rounds = []
        for _ in range(runs):
            with mounted(source, mnt, "--no-disk-cache", "-o", f"parse_in={mode}") as daemon:
                deadline = time.monotonic() + 30
                while daemon.stats()["parse_worker"] == "starting":
                    if time.monotonic() > deadline:
                        raise RuntimeError("the parse process did not start")
                    time.sleep(0.05)  # until it has, parses run in threads
                drop_caches()
                started = time.perf_counter()
                waits = _answer_times(mnt, clips)
                took = time.perf_counter() - started
            rounds.append(
                {
                    "parse_and_render_s": took,
                    "requests": sum(len(v) for v in waits.values()),
                    **{f"worst_{k}_ms": max(v) * 1000 for k, v in waits.items()},
                    **{
                        f"p95_{k}_ms": sorted(v)[int(len(v) * 0.95)] * 1000
                        for k, v in waits.items()
                    },
                }
            )
        out[mode] = rounds
    return out


def bench_memory(files: dict[str, Path], work: Path, recording: Path) -> dict[str, Any]:
    """The daemon's peak RSS (its own; workers apart) after copying every file of
    each long source: the card's figure comes from bench_card."""
    mnt, cache, backup = work / "mnt", work / "memory-cache", work / "memory-backup"
    out: dict[str, Any] = {}
    sources = {
        "hero7_and_novatek_hours": files["long_dir"],
        "hero11_hour": files["hero11_dir"],
        "recording_3h": recording,
    }
    for name, source in sources.items():
        for d in (cache, backup):
            shutil.rmtree(d, ignore_errors=True)
        with mounted(source, mnt, "--cache-dir", str(cache)) as daemon:
            drop_caches()
            took = timed(lambda: run("rsync", "-a", f"{mnt}/", f"{backup}/"))
            rss = daemon.peak_rss_mb() - daemon.parse_process_peak_rss_mb()
        size = sum(p.stat().st_size for p in backup.rglob("*") if p.is_file())
        out[name] = {"rsync_s": took, "daemon_peak_rss_mb": round(rss, 1), "bytes": size}
    for d in (cache, backup):
        shutil.rmtree(d, ignore_errors=True)
    return out


def bench_recordings(
    files: dict[str, Path], work: Path, runs: int, chapters: int, chapter_s: float
) -> dict[str, Any]:
    """The recordings view: listing it on the card, and a long recording's cold track."""
    card, mnt = files["card"], work / "mnt"
    folders = view_folders_above_recordings(card)
    out: dict[str, Any] = {"view_folders_listed": len(folders)}
    listings, parses = [], []
    for _ in range(runs):
        with mounted(card, mnt, "--no-disk-cache") as daemon:
            drop_caches()
            listings.append(timed(lambda: list_view(mnt / "recordings", folders)))
            parses.append(daemon.stats()["parses"])
    out["ls_view_cold"] = {"median_s": statistics.median(listings), "runs": listings}
    out["ls_view_parses"] = max(parses)

    source = ensure_recording(work, chapters, chapter_s)
    parts = sorted(p.name for p in (source / "DCIM/100GOPRO").glob("GX*.MP4"))
    joined = mnt / "recordings/DCIM/100GOPRO/GX0042/track.gpx"
    one_by_one = [mnt / "DCIM/100GOPRO" / p / "track.gpx" for p in parts]
    recording_runs, parts_runs = [], []
    for _ in range(runs):  # alternating, as the cold track and its floor (drift)
        with mounted(source, mnt, "--no-disk-cache"):
            drop_caches()
            recording_runs.append(timed(lambda: cat(joined)))
        with mounted(source, mnt, "--no-disk-cache"):
            drop_caches()
            parts_runs.append(timed(lambda: [cat(p) for p in one_by_one if p.exists()]))
    out["recording"] = {
        "chapters": len(parts),
        "hours": round(chapters * chapter_s / 3600, 2),
        "gb": round(sum((source / "DCIM/100GOPRO" / p).stat().st_size for p in parts) / 1e9, 1),
        "points": joined_points(source, mnt),
    }
    out["recording_cold_track"] = {
        "median_s": statistics.median(recording_runs),
        "runs": recording_runs,
    }
    out["parts_cold_tracks"] = {"median_s": statistics.median(parts_runs), "runs": parts_runs}
    return out


def joined_points(source: Path, mnt: Path) -> int:
    with mounted(source, mnt, "--no-disk-cache"):
        text = (mnt / "recordings/DCIM/100GOPRO/GX0042/track.gpx").read_text()
    return text.count("<trkpt")


# -- report ----------------------------------------------------------------------


Row = tuple[str, str, str]


def ensure_family_files(work: Path, long_s: float) -> dict[str, Path]:
    """One long file per family without a generator of its own above (built from facts)."""
    from datetime import UTC, datetime

    from tests.footage.blackvue import JSON_CPRT, blackvue_mp4, synthetic_3gf, synthetic_gps

    folder = work / "families"
    folder.mkdir(exist_ok=True)
    blackvue = folder / "20260718_070000_NF.mp4"
    if not blackvue.exists():
        start = datetime(2026, 7, 18, 6, 0, 0, tzinfo=UTC)
        seconds = int(long_s)
        blackvue.write_bytes(
            blackvue_mp4(
                gps=synthetic_gps(seconds, start=start),
                accel=synthetic_3gf(seconds),
                cprt=JSON_CPRT,
            )
        )
    seconds = int(long_s)
    built = {"blackvue": blackvue}
    thinkware = folder / "REC_2026_07_18_07_00_00_F.MP4"
    if not thinkware.exists():
        from tests.footage.thinkware import make_thinkware

        make_thinkware(thinkware, seconds, start=datetime(2026, 7, 18, 7, 0, 0, tzinfo=UTC))
    built["thinkware"] = thinkware
    insta = folder / "VID_20260718_080000_00_001.insv"
    if not insta.exists():
        insta.write_bytes(_insta360_hour(seconds))
    built["insta360"] = insta
    camm = folder / "camm-hour.mp4"
    if not camm.exists():
        from tests.footage.camm import CammFix, make_camm

        t0 = datetime(2026, 7, 18, 9, 0, 0, tzinfo=UTC).timestamp()
        fixes = [CammFix(t0 + i, 48.1 + i * 1e-5, 11.5 + i * 1e-5, 500.0) for i in range(seconds)]
        make_camm(camm, fixes)
    built["camm"] = camm
    garmin = folder / "GRMN0001.MP4"
    if not garmin.exists():
        from tests.footage.garmin import make_garmin_dashcam, route

        make_garmin_dashcam(garmin, route(seconds))
    built["garmin-dashcam"] = garmin
    vueroid = folder / "20260718_100000_INF_F_N.mp4"
    if not vueroid.exists():
        from tests.footage.vueroid import make_vueroid

        make_vueroid(vueroid, seconds, clock=1_784_368_800)  # 2026-07-18T10:00:00, camera clock
    built["vueroid"] = vueroid
    return {"folder": folder, **built}


def _insta360_hour(seconds: int) -> bytes:
    """An Insta360 trailer of ``seconds``: 10 Hz GPS, 1 kHz raw IMU, one exposure a frame."""
    import numpy as np

    from tests.footage import insta360

    first = 309_468_418  # µs on the camera clock, as in the OneR sample
    imu = np.zeros(seconds * 1000, dtype=[("t", "<u8"), ("v", "<u2", 6)])
    imu["t"] = first + 1000 * np.arange(seconds * 1000, dtype=np.uint64)
    imu["v"] = 0x8000
    imu["v"][:, 2] = 0x8000 + 2048  # 1 g on z at +-16 g
    frames = int(seconds * 29.97)
    exposure = np.zeros(frames, dtype=[("t", "<u8"), ("s", "<f8")])
    exposure["t"] = first + (np.arange(frames) * 33_367).astype(np.uint64)
    exposure["s"] = 1 / 30
    t0 = 1_784_361_600.0  # 2026-07-18T08:00:00Z
    fixes = [
        (t0 + i / 10, b"A", 46.5 + i * 1e-6, b"N", 7.9 + i * 1e-6, b"E", 5.0, 45.0, 1800.0)
        for i in range(seconds * 10)
    ]
    meta = insta360.metadata("Insta360 X3", first_frame_us=first, raw_imu=True, ranges=(16, 2000))
    records = [
        (1, meta),
        (3, imu.tobytes()),
        (4, exposure.tobytes()),
        (7, insta360.gps(fixes)),
    ]
    return insta360.insv_bytes(records)


def bench_families(work: Path, long_s: float, runs: int, peer_runs: int) -> dict[str, Any]:
    """Cold ``cat track.gpx`` per family against ``exiftool -ee -p gpx.fmt`` (target <= 1/10)."""
    files = ensure_family_files(work, long_s)
    mnt = work / "mnt"
    out: dict[str, Any] = {}
    for family in ("blackvue", "thinkware", "insta360", "camm", "garmin-dashcam", "vueroid"):
        path = files[family]
        track = mnt / path.name / "track.gpx"
        out[family] = {
            "file": path.name,
            "cold_track_gpx": cat_on_fresh_mounts(
                files["folder"], mnt, track, runs, "--no-disk-cache"
            ),
            "exiftool_gpx": median_of(
                peer_runs, lambda p=path: run("exiftool", "-ee", "-p", GPX_FMT, p), cold=True
            ),
            "exiftool_points": _exiftool_points(path),
        }
    return out


def _exiftool_points(path: Path) -> int:
    """How many track points exiftool's GPX has: 0 means it reads no GPS from the file."""
    out = subprocess.run(
        ["exiftool", "-ee", "-p", str(GPX_FMT), str(path)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return out.count("<trkpt")


def _family_rows(families: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for family, r in families.items():
        ours, theirs = r["cold_track_gpx"]["median_s"], r["exiftool_gpx"]["median_s"]
        rows.append((f"cold track.gpx, {family} ({r['file']})", f"{ours:.3f} s", ""))
        if theirs >= ours:
            verdict = f"ours 1/{theirs / ours:.0f} (target <= 1/10)"
        else:
            verdict = f"ours {ours / theirs:.1f}x (target <= 1/10)"
        if r.get("exiftool_points") == 0:
            verdict += "; exiftool finds no GPS in it"
        rows.append(("  exiftool -ee -p gpx.fmt", f"{theirs:.3f} s", verdict))
    return rows


def _memory_rows(memory: dict[str, Any]) -> list[Row]:
    labels = {
        "hero7_and_novatek_hours": "the HERO7 and Novatek hours",
        "hero11_hour": "the HERO11 hour",
        "recording_3h": "the 3-hour recording",
    }
    return [
        (
            f"daemon peak RSS, rsync -a of everything of {labels[name]}",
            f"{m['daemon_peak_rss_mb']:.0f} MB",
            f"{m['bytes'] / 1e6:.0f} MB copied in {m['rsync_s']:.1f} s (target <= 150 MB)",
        )
        for name, m in memory.items()
    ]


def _latency_rows(latency: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for mode, label in (("thread", "default"), ("process", "-o parse_in=process")):
        rounds = latency[mode]
        for kind, where, target in (
            ("getxattr", "on the event loop", 10),
            ("readdir", "through an I/O thread", 25),
        ):
            worst = [r[f"worst_{kind}_ms"] for r in rounds]
            p95 = [r[f"p95_{kind}_ms"] for r in rounds]
            rows.append(
                (
                    f"root {kind} ({where}) while 3 hours parse, {label}",
                    f"{max(worst):.1f} ms",
                    f"worst of {len(rounds)} runs (each: {min(worst):.1f}-{max(worst):.1f} ms; "
                    f"95 % within {min(p95):.1f}-{max(p95):.1f} ms); target <= {target} ms",
                )
            )
    return rows


def summarize(r: dict[str, Any]) -> list[Row]:
    """(measure, value, target/ratio) rows for the table, for the parts that ran."""
    rows: list[Row] = []
    if "long" in r:
        rows += _long_rows(r["long"])
    if "streams" in r:
        rows += _stream_rows(r["streams"])
    if "card" in r:
        rows += _card_rows(r["card"])
    if "recordings" in r:
        rows += _recording_rows(r["recordings"])
    if "remote" in r:
        rows += bench_fleet.remote_rows(r["remote"])
    if "export" in r:
        rows += bench_fleet.export_rows(r["export"])
    if "families" in r:
        rows += _family_rows(r["families"])
    if "latency" in r:
        rows += _latency_rows(r["latency"])
    if "memory" in r:
        rows += _memory_rows(r["memory"])
    return rows


def _recording_rows(rec: dict[str, Any]) -> list[Row]:
    joined, parts = rec["recording_cold_track"]["median_s"], rec["parts_cold_tracks"]["median_s"]
    info = rec["recording"]
    return [
        (
            f"ls -l of recordings/ ({rec['view_folders_listed']} folders above the recordings)",
            f"{rec['ls_view_cold']['median_s']:.3f} s",
            f"parses: {rec['ls_view_parses']} (target < 2 s in all, 0 parses)",
        ),
        (
            f"cold track.gpx, {info['hours']} h recording of {info['chapters']} chapters",
            f"{joined:.3f} s",
            f"{info['points']} points; parts one after another {parts:.3f} s: "
            f"{joined / parts:.2f}x (target <= 1.2x)",
        ),
    ]


def _peer_rows(long: dict[str, Any], label: str, prefix: str) -> list[Row]:
    cold = long[f"{prefix}cold_track_gpx"]["median_s"]
    exiftool, peer = long[f"{prefix}exiftool_gpx"], long[f"{prefix}telemetry_parser"]
    floor = long[f"{prefix}io_floor"]["median_s"]
    return [
        (f"cold track.gpx, {label}", f"{cold:.3f} s", ""),
        (
            "  exiftool -ee -p gpx.fmt",
            f"{exiftool['median_s']:.3f} s",
            f"ours is 1/{exiftool['median_s'] / cold:.0f} (target <= 1/30)",
        ),
        (
            "  telemetry-parser process",
            f"{peer['median_s']:.3f} s",
            f"ours is {cold / peer['median_s']:.2f}x (target <= 0.33x)",
        ),
        (
            "  I/O floor (pread moov + payloads)",
            f"{floor:.3f} s",
            f"ours is {cold / floor:.1f}x the floor (target <= 1.5x)",
        ),
    ]


def _long_rows(long: dict[str, Any]) -> list[Row]:
    hero11 = (
        _peer_rows(long, "1 h HERO11 (real payloads)", "hero11_")
        if "hero11_cold_track_gpx" in long
        else []
    )
    return [
        *_peer_rows(long, "1 h HERO7 (real payloads)", ""),
        *hero11,
        (
            "cold track.gpx, 1 h Novatek",
            f"{long['novatek_cold_track_gpx']['median_s']:.3f} s",
            f"exiftool {long['novatek_exiftool_gpx']['median_s']:.3f} s: ours is 1/"
            f"{long['novatek_exiftool_gpx']['median_s'] / long['novatek_cold_track_gpx']['median_s']:.0f}",
        ),
        (
            "warm track.gpx (memory cache)",
            f"{long['warm_track_gpx']['median_s'] * 1000:.1f} ms",
            f"target: a plain {long['track_gpx_bytes'] / 1e6:.0f} MB file through the mount "
            f"({long['warm_plain_same_size']['median_s'] * 1000:.1f} ms) + 2 ms; "
            f"on ext4 {long['warm_plain_on_ext4']['median_s'] * 1000:.1f} ms",
        ),
        (
            "track.gpx after remount (disk cache)",
            f"{long['remount_track_gpx']['median_s'] * 1000:.1f} ms",
            f"parses: {long['remount_parses']}",
        ),
    ]


def _stream_rows(streams: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for name in ("ACCL.csv", "all.gpmf"):
        s, p = streams[name], streams[f"plain {name}"]
        rows.append(
            (
                f"cat streams/{name}",
                f"{s['mb_per_s']} MB/s",
                f"{100 * s['mb_per_s'] / p['mb_per_s']:.0f}% of a plain file ({p['mb_per_s']} MB/s)",
            )
        )
    return rows


def _card_rows(card: dict[str, Any]) -> list[Row]:
    worst_ls = max(v["median_s"] for v in card["ls_dcim_folders"].values())
    biggest = max(v["entries"] for v in card["ls_dcim_folders"].values())
    return [
        (
            f"ls -l of a DCIM folder (up to {biggest} entries)",
            f"{worst_ls:.3f} s",
            f"parses: {card['ls_parses']} (target < 0.5 s, 0 parses)",
        ),
        ("find -name track.gpx | xargs cat, cold", f"{card['find_cat_gpx_cold_s']:.2f} s", ""),
        (
            "rsync -a card to an empty backup",
            f"{card['rsync_cold_s']:.2f} s",
            f"{card['copied_mb']} MB, cold; median of {len(card['rsync_cold_runs'])} runs "
            f"from nothing: {', '.join(f'{t:.1f}' for t in card['rsync_cold_runs'])} s, "
            f"pace {', '.join(f'{p:.0f}' for p in card['pace_ms_before_runs'])} ms",
        ),
        ("rsync -a again, warm (nothing new)", f"{card['rsync_warm_noop_s']:.2f} s", ""),
        (
            "rsync -a after remount (nothing new)",
            f"{card['rsync_remount_noop_s']:.2f} s",
            f"parses: {card['parses_after_remount']} (target < 15 s)",
        ),
        (
            "rsync -a after remount, full copy",
            f"{card['rsync_remount_full_copy_s']:.2f} s",
            "from the disk cache",
        ),
        (
            "daemon peak RSS (+ its child processes), whole card read",
            f"{card['daemon_peak_rss_mb']:.0f} MB",
            f"daemon {card['daemon_peak_rss_mb'] - card['parse_process_peak_rss_mb']:.0f} MB "
            "(target <= 150 MB); read-ahead worker, multiprocessing's tracker and "
            "the read-ahead hints' helper "
            f"{card['parse_process_peak_rss_mb']:.0f} MB",
        ),
    ]


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "exiftool": subprocess.run(
            ["exiftool", "-ver"], capture_output=True, text=True, check=False
        ).stdout.strip(),
        "page_cache_dropped": drop_caches(),
        "date": time.strftime("%Y-%m-%d"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=ROOT / "bench-work")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--peer-runs", type=int, default=3)
    parser.add_argument("--clips", type=int, default=1000)
    parser.add_argument("--long-s", type=float, default=3600.0, help="length of the long files")
    parser.add_argument("--json", type=Path, default=None, help="where to save the results")
    parser.add_argument("--latency-runs", type=int, default=3)
    parser.add_argument("--recording-chapters", type=int, default=12)
    parser.add_argument("--recording-chapter-s", type=float, default=900.0)
    parser.add_argument(
        "--mount-option",
        action="append",
        default=[],
        help="an extra -o for every mount (e.g. parse_in=thread, to compare)",
    )
    parser.add_argument(
        "--only",
        choices=(
            "long",
            "streams",
            "card",
            "recordings",
            "families",
            "latency",
            "memory",
            "remote",
            "export",
        ),
        action="append",
        help="run only these parts (repeatable)",
    )
    args = parser.parse_args(argv)
    for option in args.mount_option:
        EXTRA_MOUNT_ARGS.extend(("-o", option))
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine()}
    wanted = set(
        args.only or ("long", "streams", "card", "recordings", "families", "latency", "memory")
    )
    files = ensure_footage(work, args.clips, args.long_s) if wanted - {"families"} else {}
    if "long" in wanted:
        results["long"] = bench_long_file(files, work, args.runs, args.peer_runs)
    if "streams" in wanted:
        results["streams"] = bench_streams(files, work, args.runs)
    if "card" in wanted:
        results["card"] = bench_card(files, work, args.runs)
    if "recordings" in wanted:
        results["recordings"] = bench_recordings(
            files, work, args.runs, args.recording_chapters, args.recording_chapter_s
        )
    if "remote" in wanted:  # only when asked: --only remote (scripts/bench_fleet.py)
        results["remote"] = bench_fleet.bench_remote(files, work, args.runs, mounted, drop_caches)
    if "export" in wanted:
        results["export"] = bench_fleet.bench_export(files, work, drop_caches)
    if "families" in wanted:
        results["families"] = bench_families(work, args.long_s, args.runs, args.peer_runs)
    if "latency" in wanted:
        results["latency"] = bench_latency(files, work, args.latency_runs)
    if "memory" in wanted:
        recording = ensure_recording(work, args.recording_chapters, args.recording_chapter_s)
        results["memory"] = bench_memory(files, work, recording)
    rows = summarize(results)
    width = max(len(r[0]) for r in rows)
    print(
        f"\ntelemetryfs benchmark ({results['machine']['cpu']}, {results['machine']['cores']} cores)"
    )
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>12}  {note}")
    out = args.json or (work / "results.json")
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
