"""``telemetryfs export``: GeoParquet read back by DuckDB, checked against a real mount.

The expected values come from the mount's own files (track.csv rows, the
tree) and from DuckDB's reading of the Parquet, not from the exporter; the
Dask run is a real LocalCluster of 2 worker processes.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from telemetryfs.fs.export import run
from tests.mount.conftest import MountFactory
from tests.mount.test_mount import make_card
from tests.paths import ROOT


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_card(tmp_path_factory.mktemp("export") / "card")


def _video_folders(mnt: Path) -> list[Path]:
    """The mount's video folders, outside the recordings view (the export's clips)."""
    return sorted(
        p.parent for p in mnt.rglob("info.json") if p.relative_to(mnt).parts[0] != "recordings"
    )


def _samples(out: Path) -> duckdb.DuckDBPyRelation:
    return duckdb.read_parquet(str(out / "samples" / "**" / "*.parquet"), hive_partitioning=True)


def _table(out: Path, sub: str, order: str) -> list[tuple[object, ...]]:
    pattern = str(out / sub / ("**/*.parquet" if sub == "samples" else "*.parquet"))
    sql = f"select * exclude (geometry), geometry::blob from read_parquet('{pattern}') order by {order}"
    return duckdb.sql(sql).fetchall()


def test_samples_are_the_rows_of_the_mounts_track_csv_files(
    mount: MountFactory, card: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    summary = run.export(str(card), out)
    m = mount(card)
    folders = _video_folders(m.path)
    assert summary.clips == len(folders)
    expected: dict[str, int] = {}
    for folder in folders:
        track = folder / "track.csv"
        if track.exists():
            rows = list(csv.reader(io.StringIO(track.read_text())))
            expected[str(folder.relative_to(m.path))] = len(rows) - 1
    got = dict(_samples(out).aggregate("source, count(*)", "source").fetchall())
    assert got == {k: v for k, v in expected.items() if v}
    assert sum(got.values()) > 100

    # Partitioned by the UTC date, sorted by source and time inside each file.
    for f in (out / "samples").rglob("*.parquet"):
        date = f.parent.name.removeprefix("date=")
        t = pq.read_table(f)
        assert {u.date().isoformat() for u in t["utc"].to_pylist()} == {date}
        keys = list(zip(t["source"].to_pylist(), t["utc"].to_pylist(), strict=True))
        assert keys == sorted(keys)

    # One clip row per video folder, failures included, with their error.
    clips = duckdb.sql(
        f"select path, error, samples from read_parquet('{out}/clips/*.parquet')"
    ).fetchall()
    assert sorted(c[0] for c in clips) == sorted(str(f.relative_to(m.path)) for f in folders)
    for path, error, _ in clips:
        info = json.loads((m.path / path / "info.json").read_text())
        assert error == info["error"] or (error is not None and info["error"] is None), path
    assert any(c[1] for c in clips if c[0] == "broken/garbage.MP4")


def test_geo_metadata_names_crs84_and_bounds_every_point(card: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    run.export(str(card), out)
    for f in [*(out / "samples").rglob("*.parquet"), *(out / "clips").glob("*.parquet")]:
        geo = json.loads(pq.read_schema(f).metadata[b"geo"])
        assert geo["version"] == "1.1.0"
        column = geo["columns"][geo["primary_column"]]
        assert column["encoding"] == "WKB"
        assert column["crs"]["id"] == {"authority": "OGC", "code": "CRS84"}
        # DuckDB reads the geometry itself (no extension): check the bbox against it.
        xmin, ymin, xmax, ymax = column["bbox"]
        kind = "samples" if "samples" in f.parts else "clips"
        pts = duckdb.sql(
            f"select lon, lat from read_parquet('{f}') where lon is not null"
            if kind == "samples"
            else f"select bbox.xmin, bbox.ymin from read_parquet('{f}') where bbox is not null"
        ).fetchall()
        assert pts
        assert all(xmin <= x <= xmax and ymin <= y <= ymax for x, y in pts)
    types = duckdb.sql(
        f"select distinct typeof(geometry) from read_parquet('{out}/samples/**/*.parquet')"
    ).fetchall()
    assert types == [("GEOMETRY('OGC:CRS84')",)]
    wkt = duckdb.sql(
        f"select geometry::varchar, lon, lat from read_parquet('{out}/samples/**/*.parquet') "
        "where geometry is not null limit 1"
    ).fetchall()[0]
    assert wkt[0].startswith("POINT Z (")
    assert [float(v) for v in wkt[0].split("(")[1].split()[:2]] == [wkt[1], wkt[2]]


def test_a_dask_cluster_of_two_workers_writes_the_local_export(card: Path, tmp_path: Path) -> None:
    local, cluster = tmp_path / "local", tmp_path / "cluster"
    run.export(str(card), local, batch_size=3)
    summary = run.export(str(card), cluster, batch_size=3, dask="local:2")
    assert summary.clips > 3
    for sub, order in (("samples", "source, utc, video_time_s"), ("clips", "path")):
        assert _table(cluster, sub, order) == _table(local, sub, order)
    names = sorted(p.relative_to(local) for p in local.rglob("*.parquet"))
    assert names == sorted(p.relative_to(cluster) for p in cluster.rglob("*.parquet"))


def test_a_rerun_skips_what_is_exported_and_redoes_what_changed(
    tmp_path: Path,
) -> None:
    card = make_card(tmp_path / "card")
    out = tmp_path / "out"
    first = run.export(str(card), out, batch_size=4)
    again = run.export(str(card), out, batch_size=4)
    assert (again.clips, again.skipped) == (0, first.clips)
    # A clip replaced by another video: its batch is redone, nothing is doubled.
    clip = card / "DCIM/100GOPRO/karma.mp4"
    clip.write_bytes((card / "DCIM/100GOPRO/hero5-trimmed.mp4").read_bytes())
    third = run.export(str(card), out, batch_size=4)
    assert 1 <= third.clips <= 4
    rows = duckdb.sql(
        f"select count(*) from read_parquet('{out}/clips/*.parquet') where path like '%karma.mp4'"
    ).fetchall()
    assert rows == [(1,)]
    counts = dict(_samples(out).aggregate("source, count(*)", "source").fetchall())
    assert counts["DCIM/100GOPRO/karma.mp4"] == counts["DCIM/100GOPRO/hero5-trimmed.mp4"]
    redo = run.export(str(card), out, batch_size=4, overwrite=True)
    assert (redo.clips, redo.skipped) == (first.clips, 0)


def test_format_tree_writes_the_mounts_files(
    mount: MountFactory, card: Path, tmp_path: Path
) -> None:
    out = tmp_path / "tree"
    cmd = [
        sys.executable,
        "-m",
        "telemetryfs.fs",
        "export",
        "--format",
        "tree",
        str(card),
        str(out),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    m = mount(card)
    for folder in _video_folders(m.path):
        rel = folder.relative_to(m.path)
        names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        assert names == sorted(
            str(p.relative_to(out / rel)) for p in (out / rel).rglob("*") if p.is_file()
        )
        for name in names:
            mine, theirs = (out / rel / name).read_bytes(), (folder / name).read_bytes()
            if name == "info.json":
                a, b = json.loads(mine), json.loads(theirs)
                assert a["error"] == b["error"]
                assert a.get("gps") == b.get("gps")
            else:
                assert mine == theirs, f"{rel}/{name}"


def test_export_usage_errors_are_one_line(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "telemetryfs.fs",
        "export",
        str(tmp_path / "nope"),
        str(tmp_path / "o"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert "not a directory" in done.stderr
    assert not os.path.exists(tmp_path / "o")


def test_the_arrow_batch_function_gives_the_exported_samples(card: Path, tmp_path: Path) -> None:
    """What the README's Spark recipe calls (mapInArrow) yields the export's samples."""
    out = tmp_path / "out"
    run.export(str(card), out)
    clips = run.clips_arrow(str(card))
    batches = list(run.samples_arrow(clips.to_batches(max_chunksize=3), str(card)))
    import pyarrow as pa

    got = pa.Table.from_batches(batches).sort_by(
        [("source", "ascending"), ("video_time_s", "ascending")]
    )
    want = (
        duckdb.sql(
            f"select * exclude (date) from read_parquet('{out}/samples/**/*.parquet', hive_partitioning=true)"
            " order by source, video_time_s"
        )
        .arrow()
        .read_all()
    )
    assert got.num_rows == want.num_rows > 100
    assert got.column("source").to_pylist() == want.column("source").to_pylist()
    assert got.column("lat").to_pylist() == want.column("lat").to_pylist()


def test_export_runs_where_no_fuse_library_is_installed(card: Path, tmp_path: Path) -> None:
    """A Dask worker or a Spark image has no pyfuse3: ``telemetryfs export`` needs none."""
    out = tmp_path / "out"
    code = (
        "import sys; sys.modules['pyfuse3'] = None; sys.modules['trio'] = None;"
        "from telemetryfs.fs.command import main;"
        f"code = main(['export', {str(card)!r}, {str(out)!r}]);"
        "assert 'pyfuse3' not in [m for m, v in sys.modules.items() if v is not None];"
        "sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert list(out.rglob("*.parquet"))
