"""Remote sources: a real SeaweedFS (S3) and aiohttp's static HTTP server, mounted for real.

What the remote mount serves is checked against the local mount of the same
files; what it fetches against the objects' sizes; the faults are real (a
server stopped, an object overwritten, 503s from the server).
"""

from __future__ import annotations

import errno
import json
import mmap
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from telemetryfs.fs.export import run
from telemetryfs.fs.remote import source as remote_source
from telemetryfs.fs.remote.source import RemoteSource, RemoteStore
from telemetryfs.parsers import extract
from telemetryfs.parsers.source import SourceUnavailableError
from tests.footage.gopro import make_gopro
from tests.mount.conftest import MountFactory
from tests.mount.test_mount import make_card
from tests.paths import ROOT
from tests.remote.servers import BUCKET, Seaweed, start_http, start_seaweed
from tests.residency import resident_pages

# info.json facts that come from the store's stat, not from the bytes.
STAT_FACTS = ("source_mtime_ns", "mtime_utc")


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    server = start_seaweed(tmp_path_factory.mktemp("seaweed"))
    yield server
    server.stop()


GENERATED = "DCIM/101GOPRO/GX010002.MP4"


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared samples' card, and a generated 5-minute GoPro clip of real size (~75 MB)."""
    root = make_card(tmp_path_factory.mktemp("remote") / "card")
    (root / GENERATED).parent.mkdir()
    make_gopro(
        root / GENERATED, duration_s=300.0, gps="gps9", model="HERO11 Black", seed=3, video_mbps=2.0
    )
    return root


@pytest.fixture(scope="module")
def s3_card(seaweed: Seaweed, card: Path) -> str:
    fs: Any = seaweed.fs()
    fs.put(f"{card}/", f"{BUCKET}/card/", recursive=True)
    return f"s3://{BUCKET}/card"


@pytest.fixture
def s3_env(seaweed: Seaweed, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in seaweed.env().items():
        monkeypatch.setenv(name, value)


def _files(top: Path) -> dict[str, Path]:
    """Every file of a mount, by path, outside the recordings view."""
    found = {}
    for d, dirs, files in os.walk(top):
        if Path(d) == top and "recordings" in dirs:
            dirs.remove("recordings")
        for f in files:
            found[str((Path(d) / f).relative_to(top))] = Path(d) / f
    return found


def _same_trees(local: Path, remote: Path) -> int:
    mine, theirs = _files(local), _files(remote)
    assert sorted(theirs) == sorted(mine)
    for name, path in mine.items():
        a, b = path.read_bytes(), theirs[name].read_bytes()
        if name.endswith("info.json"):
            da, db = json.loads(a), json.loads(b)
            for d in (da, db):
                for fact in STAT_FACTS:
                    d.get("source", d).pop(fact, None)
                    d.pop(fact, None)
            assert db == da, name
        else:
            assert b == a, name
    return len(mine)


def test_s3_mount_serves_what_the_local_mount_serves(
    mount: MountFactory, card: Path, s3_card: str, s3_env: None, seaweed: Seaweed
) -> None:
    local = mount(card, "-o", "norecordings")
    remote = mount(s3_card, "-o", "list_ttl=5")  # type: ignore[arg-type]
    assert _same_trees(local.path, remote.path) > 30
    # The mtime shown is the object's LastModified.
    fs: Any = seaweed.fs()
    info = fs.info(f"{BUCKET}/card/DCIM/100GOPRO/karma.mp4")
    shown = (remote.path / "DCIM/100GOPRO/karma.mp4").stat().st_mtime
    assert shown == pytest.approx(info["LastModified"].timestamp())
    # Only telemetry bytes: far less than the objects hold, in counted requests.
    stats = remote.stats()
    total = sum(p.stat().st_size for p in card.rglob("*") if p.is_file())
    assert 0 < stats["source_bytes_read"] < total
    assert stats["source_requests"] > 0
    assert local.stats()["source_bytes_read"] > 0


def test_a_gopro_clip_on_s3_is_read_in_a_few_rounds_under_two_percent(
    card: Path, s3_card: str, seaweed: Seaweed
) -> None:
    opened: list[RemoteSource] = []
    for full in (False, True):
        store = RemoteStore(s3_card, seaweed.options())  # nothing cached from the last run

        def opener(path: str, store: RemoteStore = store) -> Any:
            opened.append(RemoteSource(store, path))
            return opened[-1]

        opened.clear()
        t = extract.extract(f"{BUCKET}/card/{GENERATED}", full=full, opener=opener)
        assert t.gps == extract.extract(card / GENERATED, full=full).gps
        (src,) = opened
        size = (card / GENERATED).stat().st_size
        print(
            f"\n5-minute GoPro on S3 (full={full}): {src.bytes_fetched} of {size} bytes "
            f"({src.bytes_fetched / size:.3%}), {src.requests} requests in {src.rounds} rounds"
        )
        assert src.bytes_fetched <= 0.02 * size
        assert src.rounds <= 6


def test_s3_export_equals_the_local_export(
    card: Path, s3_card: str, seaweed: Seaweed, tmp_path: Path
) -> None:
    local, remote = tmp_path / "local", tmp_path / "remote"
    run.export(str(card), local)
    # In this process fsspec read its FSSPEC_* variables at import: options instead.
    run.export(s3_card, remote, storage_options=seaweed.options())
    import duckdb

    for sub, order in (("samples/**", "source, utc, video_time_s"), ("clips", "path")):
        sql = "select * exclude (version, geometry), geometry::blob from read_parquet('{}') order by {}"
        a = duckdb.sql(sql.format(f"{local}/{sub}/*.parquet", order)).fetchall()
        b = duckdb.sql(sql.format(f"{remote}/{sub}/*.parquet", order)).fetchall()
        assert a == b


@pytest.fixture(scope="module")
def hour_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated hour-long GoPro clip (sparse: real tables and telemetry, holes for video)."""
    root = tmp_path_factory.mktemp("hour") / "card"
    root.mkdir()
    make_gopro(root / "GX010001.MP4", duration_s=3600.0, gps="gps5", video_mbps=10.0, seed=5)
    return root


def test_an_hour_long_clip_over_http_fetches_under_two_percent(
    mount: MountFactory, hour_card: Path
) -> None:
    server = start_http(hour_card)
    try:
        clip = hour_card / "GX010001.MP4"
        store = RemoteStore(server.url, {})
        opened: list[RemoteSource] = []

        def opener(path: str) -> Any:
            opened.append(RemoteSource(store, path))
            return opened[-1]

        t = extract.extract(server.url + clip.name, full=True, opener=opener)
        assert t.gps
        (src,) = opened
        share = src.bytes_fetched / clip.stat().st_size
        print(
            f"\nhour-long GoPro over HTTP: {src.bytes_fetched} of {clip.stat().st_size} bytes "
            f"({share:.3%}), {src.requests} requests in {src.rounds} sequential rounds"
        )
        assert share <= 0.02
        assert src.rounds <= 12

        local = mount(hour_card, "-o", "norecordings")
        remote = mount(server.url, "--no-disk-cache")  # type: ignore[arg-type]
        before = remote.stats()
        _same_trees(local.path, remote.path)
        fetched = remote.stats()["source_bytes_read"] - before["source_bytes_read"]
        # Streams and raw files included: still a small part of the clip.
        assert fetched < 0.05 * clip.stat().st_size
    finally:
        server.stop()


def test_a_server_stopped_mid_read_gives_eio_and_the_mount_recovers(
    mount: MountFactory, card: Path
) -> None:
    server = start_http(card)
    try:
        m = mount(server.url, "--no-disk-cache")  # type: ignore[arg-type]
        gopro = m.path / "DCIM/100GOPRO"
        raw = gopro / "karma.mp4/streams/all.gpmf"
        expected = (card / "DCIM/100GOPRO/karma.mp4").stat().st_size  # (a bound only)
        with raw.open("rb", buffering=0) as f:
            first = f.read(4096)
            # Other clips push karma's fetched blocks out of the daemon's cache.
            for clip in ("hero5-trimmed.mp4", "hero6-trimmed.mp4", "hero8-trimmed.mp4"):
                (gopro / clip / "info.json").read_bytes()
            server.stop()
            started = time.monotonic()
            with pytest.raises(OSError, match="Input/output error") as caught:
                f.read()
            assert caught.value.errno == errno.EIO
            assert time.monotonic() - started < remote_source.RETRY_DEADLINE_S
        with pytest.raises(OSError, match="Input/output error") as again:
            (m.path / "Movie/NO20191130-120156-000121.MP4/track.csv").read_bytes()
        assert again.value.errno == errno.EIO  # a parse that cannot reach the server
        assert m.proc.poll() is None
        assert "DCIM" in os.listdir(m.path)  # the daemon still answers
        server.restart()
        whole = raw.read_bytes()
        assert whole.startswith(first)
        assert 4096 < len(whole) < expected
        local = card / "Movie/NO20191130-120156-000121.MP4"
        assert (m.path / "Movie/NO20191130-120156-000121.MP4/track.csv").read_bytes()
        assert local.exists()
    finally:
        server.stop()


def test_503s_are_retried_and_a_dead_server_fails_in_bounded_time(card: Path) -> None:
    clip = "DCIM/100GOPRO/karma.mp4"
    busy = start_http(card, "--fail-first", "3")
    try:
        store = RemoteStore(busy.url, {})
        t = extract.extract(busy.url + clip, opener=store.opener())
        assert t.gps
    finally:
        busy.stop()
    slow = start_http(card, "--delay", "0.2")
    try:
        t2 = extract.extract(slow.url + clip, opener=RemoteStore(slow.url, {}).opener())
        assert t2.gps == t.gps
    finally:
        slow.stop()
    always = start_http(card, "--fail-first", "1000000")
    try:
        store = RemoteStore(always.url, {})
        started = time.monotonic()
        with pytest.raises(SourceUnavailableError):
            extract.extract(always.url + clip, opener=store.opener())
        assert time.monotonic() - started < remote_source.RETRY_DEADLINE_S + 5
    finally:
        always.stop()


def test_an_object_overwritten_during_a_parse_never_mixes_versions(
    seaweed: Seaweed, card: Path
) -> None:
    fs: Any = seaweed.fs()
    path = f"{BUCKET}/overwrite/clip.mp4"
    fs.put(str(card / "DCIM/100GOPRO/karma.mp4"), path)
    other = (card / "DCIM/100GOPRO/hero5-trimmed.mp4").read_bytes()
    store = RemoteStore(f"s3://{BUCKET}/overwrite", seaweed.options())

    class Overwritten(RemoteSource):
        """Replaced by another clip right after its first fetch."""

        def _fetch(self, ranges: list[tuple[int, int]]) -> None:
            super()._fetch(ranges)
            if self.rounds == 1:
                fs.pipe(path, other)

    with pytest.raises(remote_source.SourceChangedError):
        extract.extract(path, opener=lambda p: Overwritten(store, p))  # type: ignore[arg-type,return-value]
    # Read again: the new version, whole.
    fresh = RemoteStore(f"s3://{BUCKET}/overwrite", seaweed.options())
    t = extract.extract(path, opener=fresh.opener())
    assert t.gps == extract.extract(card / "DCIM/100GOPRO/hero5-trimmed.mp4").gps


def test_a_file_replaced_on_an_http_server_during_a_parse_never_mixes_versions(
    card: Path, tmp_path: Path
) -> None:
    root = tmp_path / "www"
    root.mkdir()
    clip = root / "clip.mp4"
    clip.write_bytes((card / "DCIM/100GOPRO/karma.mp4").read_bytes())
    other = (card / "DCIM/100GOPRO/hero5-trimmed.mp4").read_bytes()
    server = start_http(root)
    try:
        store = RemoteStore(server.url, {})

        class Replaced(RemoteSource):
            def _fetch(self, ranges: list[tuple[int, int]]) -> None:
                super()._fetch(ranges)
                if self.rounds == 1:
                    fresh = root / ".clip.tmp"
                    fresh.write_bytes(other)
                    fresh.replace(clip)  # as an upload would: the new file under the name

        with pytest.raises(remote_source.SourceChangedError):
            extract.extract(server.url + "clip.mp4", opener=lambda p: Replaced(store, p))  # type: ignore[arg-type,return-value]
        t = extract.extract(server.url + "clip.mp4", opener=RemoteStore(server.url, {}).opener())
        assert t.gps == extract.extract(card / "DCIM/100GOPRO/hero5-trimmed.mp4").gps
    finally:
        server.stop()


@pytest.mark.parametrize("problem", ["bad credentials", "missing bucket"])
def test_a_remote_that_cannot_be_listed_is_one_line_and_exit_1(
    seaweed: Seaweed, problem: str, tmp_path: Path
) -> None:
    env = {**os.environ, **seaweed.env()}
    url = f"s3://{BUCKET}/card"
    if problem == "bad credentials":
        env["AWS_SECRET_ACCESS_KEY"] = "wrong"
    else:
        url = "s3://no-such-bucket/card"
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    for args in ([url, str(mnt)], ["export", url, str(tmp_path / "out")]):
        done = subprocess.run(
            [sys.executable, "-m", "telemetryfs.fs", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            timeout=120,
        )
        assert done.returncode == 1, done.stderr
        assert done.stderr.count("\n") == 1, done.stderr
        assert done.stderr.startswith("telemetryfs: "), done.stderr
        assert not os.path.ismount(mnt)


def test_the_listing_is_cached_for_list_ttl_seconds(
    mount: MountFactory, card: Path, seaweed: Seaweed, s3_env: None
) -> None:
    fs: Any = seaweed.fs()
    clip = card / "DCIM/100GOPRO/hero5-trimmed.mp4"
    fs.put(str(clip), f"{BUCKET}/ttl/a.mp4")
    slow = mount(f"s3://{BUCKET}/ttl", "-o", "list_ttl=60")  # type: ignore[arg-type]
    quick = mount(f"s3://{BUCKET}/ttl", "-o", "list_ttl=1")  # type: ignore[arg-type]
    assert os.listdir(slow.path) == os.listdir(quick.path) == ["a.mp4"]
    fs.put(str(clip), f"{BUCKET}/ttl/b.mp4")
    time.sleep(2.5)  # past list_ttl=1 and the kernel's 1 s entry timeout
    assert sorted(os.listdir(quick.path)) == ["a.mp4", "b.mp4"]
    assert os.listdir(slow.path) == ["a.mp4"]  # its listing is still trusted
    assert (quick.path / "b.mp4/track.gpx").read_bytes() == (
        quick.path / "a.mp4/track.gpx"
    ).read_bytes().replace(b"a.mp4", b"b.mp4")


def test_a_slow_first_listing_says_so_on_stderr(card: Path, tmp_path: Path) -> None:
    server = start_http(card, "--delay", "2.5")  # every range request (the sniffing) waits
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "telemetryfs.fs", server.url, str(mnt), "--no-disk-cache"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        lines = done.stderr.splitlines()
        assert lines[0] == f"telemetryfs: listing {server.url} ..."
        assert re.fullmatch(
            rf"telemetryfs: listed {re.escape(server.url)}: \d+ objects in \d+\.\d s", lines[1]
        ), lines
        assert os.path.ismount(mnt)
    finally:
        subprocess.run(["fusermount3", "-u", str(mnt)], check=False)
        server.stop()


def _resident_after_open(path: Path) -> int:
    """How many of the file's pages the kernel still holds just after an open.

    An open without keep_cache drops them. The daemon's own block cache hides
    a second read from the fetch counters, so the kernel is asked (mincore).
    """
    with path.open("rb") as f:
        return resident_pages(f.fileno())


def test_an_other_object_is_kept_in_the_kernels_cache_until_its_etag_changes(
    mount: MountFactory, seaweed: Seaweed, s3_env: None
) -> None:
    fs: Any = seaweed.fs()
    path = f"{BUCKET}/other/notes.bin"
    first, second = os.urandom(3 << 20), os.urandom(3 << 20)  # past the heads the listing reads
    fs.pipe(path, first)
    m = mount(f"s3://{BUCKET}/other", "-o", "show_other,list_ttl=1")  # type: ignore[arg-type]
    shown = m.path / "notes.bin"
    before = m.stats()["source_bytes_read"]
    assert shown.read_bytes() == first
    fetched = m.stats()["source_bytes_read"]
    assert fetched >= before + len(first) // 2
    assert _resident_after_open(shown) * mmap.PAGESIZE >= len(first)  # the kernel kept them
    assert shown.read_bytes() == first
    assert m.stats()["source_bytes_read"] == fetched
    fs.pipe(path, second)  # the same size, a new ETag
    time.sleep(2.5)  # past list_ttl=1 and the kernel's 1 s attribute timeout
    assert shown.read_bytes() == second
