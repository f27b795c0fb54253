"""Run an export: batches of clips, here or on a Dask cluster, with a progress bar.

Each batch is one task and writes one file per output (its clips, and its
samples per date partition), named by the batch's content: the same clips
at the same versions give the same file names, wherever they ran. A re-run
keeps every batch file whose clips are all still current and exports the
rest again (deleting the stale files first); ``--overwrite`` redoes all.

``export_batch`` is the one function a cluster runs; the README shows it
called from Spark's ``mapInArrow`` as well.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from telemetryfs.fs.export.catalog import ClipRef, SourceSpec, is_url, list_clips, parse_clip

log = logging.getLogger("telemetryfs.export")

DEFAULT_BATCH = 16
PARQUET, TREE = "parquet", "tree"


@dataclass(frozen=True, slots=True)
class Batch:
    """A task: clips to export into ``out`` as one file per output."""

    spec: SourceSpec
    clips: tuple[ClipRef, ...]
    out: str
    fmt: str = PARQUET
    time_offset_s: float = 0.0

    @property
    def name(self) -> str:
        digest = hashlib.sha256()
        for c in self.clips:
            digest.update(f"{c.rel}\0{c.version}\0".encode())
        return f"part-{digest.hexdigest()[:20]}"


@dataclass(frozen=True, slots=True)
class Done:
    """What a batch reports back: its clips' paths and the errors of those that failed."""

    paths: tuple[str, ...]
    errors: tuple[str | None, ...]

    @property
    def failed(self) -> int:
        return sum(e is not None for e in self.errors)


def export_batch(batch: Batch) -> Done:
    """Parse a batch of clips and write its files (the function each task runs)."""
    if batch.fmt == TREE:
        from telemetryfs.fs.export import tree

        errors = [
            tree.write_clip(batch.spec, clip, batch.out, batch.time_offset_s)
            for clip in batch.clips
        ]
        return Done(tuple(c.rel for c in batch.clips), tuple(errors))
    from telemetryfs.fs.export import geoparquet as gp

    samples: dict[str, dict[str, list[Any]]] = {}
    rows, errors = [], []
    for clip in batch.clips:
        t, error = parse_clip(batch.spec, clip, full=False, time_offset_s=batch.time_offset_s)
        cid = gp.ClipId(clip.rel, clip.size, clip.version)
        rows.append(gp.clip_row(cid, t, error))
        errors.append(error)
        if t is None:
            continue
        columns = gp.sample_rows(cid, t)
        for i, when in enumerate(columns["utc"]):
            date = gp.UNKNOWN_DATE if when is None else when.date().isoformat()
            part = samples.setdefault(date, {k: [] for k in columns})
            for k, values in columns.items():
                part[k].append(values[i])
    out = Path(batch.out)
    for date, columns in samples.items():
        gp.write(
            gp.samples_table(columns),
            out / "samples" / f"date={date}" / f"{batch.name}.parquet",
            "samples",
        )
    gp.write(gp.clips_table(rows), out / "clips" / f"{batch.name}.parquet", "clips")
    return Done(tuple(c.rel for c in batch.clips), tuple(errors))


def make_batches(
    spec: SourceSpec, clips: Sequence[ClipRef], out: str, fmt: str, size: int, time_offset_s: float
) -> list[Batch]:
    """Deterministic batches of consecutive clips (sorted by path)."""
    ordered = sorted(clips, key=lambda c: c.rel)
    return [
        Batch(spec, tuple(ordered[i : i + size]), out, fmt, time_offset_s)
        for i in range(0, len(ordered), size)
    ]


def exported(out: Path) -> dict[str, set[tuple[str, str]]]:
    """Batch file name -> the (path, version) of the clips it holds, from OUT/clips/."""
    import pyarrow.parquet as pq

    done: dict[str, set[tuple[str, str]]] = {}
    for f in sorted((out / "clips").glob("part-*.parquet")):
        table = pq.read_table(f, columns=["path", "version"])
        done[f.stem] = set(
            zip(table["path"].to_pylist(), table["version"].to_pylist(), strict=True)
        )
    return done


def plan(clips: Sequence[ClipRef], out: Path, overwrite: bool) -> tuple[list[ClipRef], int]:
    """The clips still to export, and how many are skipped; removes stale batch files."""
    if overwrite:
        for sub in ("samples", "clips"):
            shutil.rmtree(out / sub, ignore_errors=True)
        return list(clips), 0
    current = {(c.rel, c.version) for c in clips}
    kept: set[tuple[str, str]] = set()
    for name, members in exported(out).items():
        if members <= current:
            kept |= members
            continue
        # A clip changed or went away: the whole batch file goes, its other clips are redone.
        (out / "clips" / f"{name}.parquet").unlink(missing_ok=True)
        for f in (out / "samples").glob(f"*/{name}.parquet"):
            f.unlink()
    todo = [c for c in clips if (c.rel, c.version) not in kept]
    return todo, len(clips) - len(todo)


class Progress:
    """Clips done, failed, and the rate (tqdm on a terminal or a log file)."""

    def __init__(self, total: int, enabled: bool) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="clip", disable=not enabled, dynamic_ncols=True)
        self.failed = 0

    def update(self, done: Done) -> None:
        self.failed += done.failed
        self.bar.set_postfix(failed=self.failed, refresh=False)
        self.bar.update(len(done.paths))

    def close(self) -> None:
        self.bar.close()


def run_batches(
    batches: Iterable[Batch], dask: str | None, on_done: Callable[[Done], None]
) -> None:
    """Run every batch: in this process, or one task each on a Dask cluster."""
    batches = list(batches)
    if dask is None:
        for batch in batches:
            on_done(export_batch(batch))
        return
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if dask.startswith("local:"):
        workers = int(dask.split(":", 1)[1])
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        client = Client(dask)
    try:
        futures = client.map(export_batch, batches, pure=False, retries=2)
        for future in as_completed(futures):
            on_done(future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@dataclass(frozen=True, slots=True)
class Summary:
    clips: int
    skipped: int
    failed: int
    seconds: float


def export(
    source: str,
    out: str | os.PathLike[str],
    *,
    fmt: str = PARQUET,
    dask: str | None = None,
    overwrite: bool = False,
    batch_size: int = DEFAULT_BATCH,
    time_offset_s: float = 0.0,
    storage_options: dict[str, Any] | None = None,
    progress: bool = False,
) -> Summary:
    """Export every clip of SOURCE into OUT (see the module docstring)."""
    started = time.monotonic()
    spec = SourceSpec(source if is_url(source) else os.path.abspath(source), storage_options or {})
    out_path = Path(out).absolute()
    out_path.mkdir(parents=True, exist_ok=True)
    try:
        clips = list_clips(spec)
    except Exception as exc:  # credentials, a missing bucket, an endpoint: one line
        from telemetryfs.fs.remote.options import UsageError

        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise UsageError(f"cannot list {source}: {type(exc).__name__}: {first}") from None
    if fmt == PARQUET:
        todo, skipped = plan(clips, out_path, overwrite)
    else:
        todo, skipped = clips, 0
    batches = make_batches(spec, todo, str(out_path), fmt, batch_size, time_offset_s)
    bar = Progress(len(todo), progress)
    try:
        run_batches(batches, dask, bar.update)
    finally:
        bar.close()
    return Summary(len(todo), skipped, bar.failed, time.monotonic() - started)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="telemetryfs export",
        description="Write the telemetry of every clip under SOURCE to OUT, without FUSE.",
    )
    parser.add_argument("source", help="a folder of footage, or a URL (s3://, gs://, https://)")
    parser.add_argument("out", help="the output folder")
    parser.add_argument(
        "--format",
        choices=(PARQUET, TREE),
        default=PARQUET,
        help="parquet: GeoParquet samples/ and clips/; tree: the mount's files",
    )
    parser.add_argument("--dask", metavar="ADDRESS", help="a scheduler address, or local:N workers")
    parser.add_argument("--overwrite", action="store_true", help="redo clips already exported")
    parser.add_argument("--batch", type=int, default=DEFAULT_BATCH, help="clips per task")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "-o", dest="options", action="append", default=[], help="fsspec storage options KEY=VALUE"
    )
    return parser


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="telemetryfs: %(message)s")
    from telemetryfs.fs.remote.options import UsageError, storage_options

    try:
        options = storage_options(args.options) if is_url(args.source) else {}
        if not is_url(args.source) and not os.path.isdir(args.source):
            raise UsageError(f"SOURCE {args.source!r} is not a directory")
        if args.batch < 1:
            raise UsageError("--batch must be at least 1")
        summary = export(
            args.source,
            args.out,
            fmt=args.format,
            dask=args.dask,
            overwrite=args.overwrite,
            batch_size=args.batch,
            storage_options=options,
            progress=not args.no_progress and sys.stderr.isatty(),
        )
    except UsageError as exc:
        print(f"telemetryfs: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # the source went away mid-run (after the retries)
        print(f"telemetryfs: export stopped: {exc}", file=sys.stderr)
        return 1
    print(
        f"exported {summary.clips} clips ({summary.failed} failed, {summary.skipped} already "
        f"exported) in {summary.seconds:.1f} s",
        file=sys.stderr,
    )
    return 0


def clips_arrow(source: str, storage_options: dict[str, Any] | None = None) -> Any:
    """The clips of SOURCE as an Arrow table (rel, location, size, version, mtime_ns,
    sidecar): what a Spark job distributes before calling :func:`samples_arrow`."""
    import pyarrow as pa

    spec = SourceSpec(source if is_url(source) else os.path.abspath(source), storage_options or {})
    clips = list_clips(spec)
    return pa.Table.from_pylist([{f: getattr(c, f) for f in ClipRef.__slots__} for c in clips])


def samples_arrow(
    batches: Iterable[Any], source: str, storage_options: dict[str, Any] | None = None
) -> Any:
    """Record batches of clips (as :func:`clips_arrow` gives) -> record batches of samples.

    The same parse and columns as ``export_batch``, for engines that move Arrow
    batches themselves (Spark's ``mapInArrow``; see the README).
    """
    from telemetryfs.fs.export import geoparquet as gp

    spec = SourceSpec(source if is_url(source) else os.path.abspath(source), storage_options or {})
    for record_batch in batches:
        for row in record_batch.to_pylist():
            clip = ClipRef(**row)
            t, _ = parse_clip(spec, clip, full=False)
            if t is not None and t.gps:
                cid = gp.ClipId(clip.rel, clip.size, clip.version)
                yield from gp.samples_table(gp.sample_rows(cid, t)).to_batches()
