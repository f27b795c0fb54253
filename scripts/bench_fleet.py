"""Benchmark parts for fleets (``scripts/bench --only remote``, ``--only export``).

remote: cold ``cat track.gpx`` of the long GoPro clip through a mount of an
HTTP server (aiohttp's static handler, with Range; a sparse hour cannot be
uploaded to a local S3 server in reasonable time) against the local mount,
with the bytes and requests the daemon fetched.

export: ``telemetryfs export`` of the card on a Dask LocalCluster of 1 and
then 2 worker processes: clips per second (cluster start-up excluded), the
scaling, and each worker's peak RSS.
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Row = tuple[str, str, str]


def bench_remote(
    files: dict[str, Path],
    work: Path,
    runs: int,
    mounted: Callable[..., Any],
    drop_caches: Callable[[], bool],
) -> dict[str, Any]:
    from tests.remote.servers import start_http

    long_dir, gopro = files["long_dir"], files["gopro"]
    server = start_http(long_dir)
    try:
        local_s, remote_s, fetched, requests = [], [], [], []
        for _ in range(runs):
            drop_caches()
            with mounted(long_dir, work / "mnt-local", "--no-disk-cache") as daemon:
                started = time.perf_counter()
                (daemon.mnt / gopro.name / "track.gpx").read_bytes()
                local_s.append(time.perf_counter() - started)
            with mounted(server.url, work / "mnt-remote", "--no-disk-cache") as daemon:  # type: ignore[arg-type]
                before = daemon.stats()
                started = time.perf_counter()
                (daemon.mnt / gopro.name / "track.gpx").read_bytes()
                remote_s.append(time.perf_counter() - started)
                after = daemon.stats()
                fetched.append(after["source_bytes_read"] - before["source_bytes_read"])
                requests.append(after["source_requests"] - before["source_requests"])
    finally:
        server.stop()
    size = gopro.stat().st_size
    return {
        "local_cold_track_s": statistics.median(local_s),
        "remote_cold_track_s": statistics.median(remote_s),
        "remote_bytes_fetched": statistics.median(fetched),
        "remote_requests": statistics.median(requests),
        "object_bytes": size,
    }


def _export_on(workers: int, card: Path, out: Path) -> dict[str, Any]:
    from dask.distributed import Client, LocalCluster

    from telemetryfs.fs.export import run

    shutil.rmtree(out, ignore_errors=True)
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        started = time.perf_counter()
        summary = run.export(str(card), out, dask=cluster.scheduler_address)
        seconds = time.perf_counter() - started

        def peak_rss_mb() -> float:
            # VmHWM, not ru_maxrss: a spawned worker's ru_maxrss keeps the peak of the
            # process it was forked from (Linux preserves it across execve).
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
            return float("nan")

        peaks = client.run(peak_rss_mb)
    return {
        "workers": workers,
        "clips": summary.clips,
        "failed": summary.failed,
        "seconds": seconds,
        "clips_per_s": summary.clips / seconds,
        "peak_rss_mb_per_worker": sorted(peaks.values()),
    }


def bench_export(
    files: dict[str, Path], work: Path, drop_caches: Callable[[], object]
) -> dict[str, Any]:
    """Clips/s on 1 and 2 workers, each run from a dropped page cache, in the order
    1, 2, 2, 1 so that neither count gets the warmer machine; the faster run of each."""
    runs: dict[int, list[dict[str, Any]]] = {1: [], 2: []}
    for workers in (1, 2, 2, 1):
        drop_caches()
        runs[workers].append(_export_on(workers, files["card"], work / f"export-{workers}"))
    one, two = (max(runs[n], key=lambda r: r["clips_per_s"]) for n in (1, 2))
    return {"one": one, "two": two, "scaling": two["clips_per_s"] / one["clips_per_s"]}


def remote_rows(r: dict[str, Any]) -> list[Row]:
    share = r["remote_bytes_fetched"] / r["object_bytes"]
    return [
        ("long GoPro: cold track.gpx, local mount", f"{r['local_cold_track_s']:.2f} s", ""),
        (
            "long GoPro: cold track.gpx, HTTP mount",
            f"{r['remote_cold_track_s']:.2f} s",
            f"{r['remote_cold_track_s'] / r['local_cold_track_s']:.1f}x local",
        ),
        (
            "long GoPro: fetched over HTTP",
            f"{r['remote_bytes_fetched'] / 2**20:.1f} MiB",
            f"{share:.2%} of the object, {r['remote_requests']:.0f} requests (target <= 2 %)",
        ),
    ]


def export_rows(r: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    for key in ("one", "two"):
        part = r[key]
        rows.append(
            (
                f"export, {part['workers']} worker(s)",
                f"{part['clips_per_s']:.1f} clips/s",
                f"{part['clips']} clips, {part['failed']} failed, peak RSS per worker "
                + ", ".join(f"{m:.0f} MB" for m in part["peak_rss_mb_per_worker"]),
            )
        )
    rows.append(("export scaling, 2 vs 1 worker", f"{r['scaling']:.2f}x", "target >= 1.6x"))
    return rows
