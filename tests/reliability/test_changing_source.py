"""Sources that change while mounted and under read.

A video replaced, appended to (a camera still recording), truncated, deleted
or renamed; a directory added or removed; the card pulled and put back. In
every case each read is consistent (the bytes read match the size the reader
was given: never stale bytes with a new size, never a mix of two versions),
errors are clean (an errno, no crash), and once the attribute timeout (1 s)
has passed the content is that of the new source.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from telemetryfs.fs import render
from telemetryfs.parsers import extract as extraction
from tests.footage import make_gopro, make_novatek
from tests.mount.conftest import _require_fuse  # noqa: F401  (autouse: FUSE or fail)
from tests.paths import ROOT
from tests.reliability.conftest import MountFactory

TIMEOUT = 1.0  # the mount's attribute/entry timeout
SETTLE = TIMEOUT + 0.6  # after this, a change must show


def expected_csv(path: Path) -> bytes:
    return render.render_csv(extraction.extract(path))


@dataclass
class Readers:
    """Threads reading files of the mount in a loop, checking every read is self-consistent."""

    paths: list[Path]
    threads: int = 4
    results: list[tuple[float, Path, bytes | str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def _read(self, path: Path) -> bytes | str:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            return errno.errorcode.get(exc.errno or 0, "?")
        try:
            size = os.fstat(fd).st_size
            parts = []
            while chunk := os.read(fd, 1 << 16):
                parts.append(chunk)
            data = b"".join(parts)
        except OSError as exc:
            return errno.errorcode.get(exc.errno or 0, "?")
        finally:
            os.close(fd)
        if len(data) != size:
            self.problems.append(f"{path.name}: read {len(data)} bytes, size said {size}")
        return data

    def _loop(self, offset: int) -> None:
        i = offset
        while not self._stop.is_set():
            path = self.paths[i % len(self.paths)]
            started = time.monotonic()  # a read belongs to the moment it began
            self.results.append((started, path, self._read(path)))
            i += 1

    def __enter__(self) -> Readers:
        for k in range(self.threads):
            t = threading.Thread(target=self._loop, args=(k,), daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._workers:
            t.join(30)
        assert not any(t.is_alive() for t in self._workers), "a reader hung"

    def after(self, when: float, path: Path) -> list[bytes | str]:
        return [r for t, p, r in self.results if p == path and t > when]


def _check_reads(
    readers: Readers,
    path: Path,
    versions: list[bytes],
    *,
    changed_at: float,
    final: bytes | None,
    errors: frozenset[str] = frozenset({"EIO", "ENOENT", "ESTALE"}),
) -> None:
    """Every read of ``path`` is a whole version (or a clean error); after SETTLE, ``final``."""
    assert readers.problems == []
    seen = [r for _, p, r in readers.results if p == path]
    assert seen, path
    for r in seen:
        if isinstance(r, str):
            assert r in errors, (path.name, r)
        else:
            assert r in versions, (path.name, len(r), [len(v) for v in versions])
    late = readers.after(changed_at + SETTLE, path)
    assert late, f"no read of {path.name} after the change settled"
    if final is None:
        assert all(r == "ENOENT" for r in late), (path.name, late[:3])
    else:
        assert all(r == final for r in late), (path.name, [len(r) for r in late[:5]])


def _wait_reads(readers: Readers, path: Path, since: float, count: int = 5) -> None:
    deadline = time.monotonic() + 30
    while len(readers.after(since, path)) < count:
        assert time.monotonic() < deadline, "readers made no progress"
        time.sleep(0.05)


@pytest.fixture
def two_clips(tmp_path: Path) -> tuple[Path, Path]:
    """Two different GoPro clips (different length, route and so size)."""
    a, b = tmp_path / "a.MP4", tmp_path / "b.MP4"
    make_gopro(a, duration_s=4.0, video_mbps=1.0, seed=1)
    make_gopro(b, duration_s=7.0, video_mbps=1.0, seed=2, model="HERO11 Black")
    return a, b


def card_with(folder: Path, clip: Path) -> Path:
    """A card folder holding ``clip`` as GX010001.MP4."""
    folder.mkdir()
    shutil.copyfile(clip, folder / "GX010001.MP4")
    return folder


def test_video_replaced_under_read(
    mount: MountFactory, tmp_path: Path, two_clips: tuple[Path, Path]
) -> None:
    a, b = two_clips
    src = card_with(tmp_path / "card", a)
    m = mount(src, "--no-disk-cache")
    folder = m.path / "GX010001.MP4"
    csv, info, raw = folder / "track.csv", folder / "info.json", folder / "streams/all.gpmf"
    old_raw = raw.read_bytes()
    with Readers([csv, info, raw]) as readers:
        _wait_reads(readers, csv, 0)
        shutil.copyfile(b, tmp_path / "incoming.MP4")
        changed = time.monotonic()
        os.replace(tmp_path / "incoming.MP4", src / "GX010001.MP4")  # atomic, new inode
        _wait_reads(readers, csv, changed + SETTLE)
        _wait_reads(readers, raw, changed + SETTLE)
    new_raw = raw.read_bytes()
    assert new_raw != old_raw
    _check_reads(
        readers, csv, [expected_csv(a), expected_csv(b)], changed_at=changed, final=expected_csv(b)
    )
    _check_reads(readers, raw, [old_raw, new_raw], changed_at=changed, final=new_raw)
    infos = [json.loads(r) for _, p, r in readers.results if p == info and isinstance(r, bytes)]
    assert {i["gps_samples"] for i in infos} <= {
        len(extraction.extract(a).gps),
        len(extraction.extract(b).gps),
    }


def test_raw_file_opened_right_after_the_source_was_replaced(
    mount: MountFactory, tmp_path: Path, two_clips: tuple[Path, Path]
) -> None:
    """open() reuses a stat under 0.5 s old; when the source was replaced since, the
    version check of a raw file answers ESTALE, and the kernel retries the open after
    a revalidating lookup (a fresh stat): the reader gets the new version, no error."""
    a, b = two_clips
    truth = mount(card_with(tmp_path / "truth", b), "--no-disk-cache", name="truth")
    expected = (truth.path / "GX010001.MP4/streams/all.gpmf").read_bytes()
    src = card_with(tmp_path / "card", a)
    shutil.copyfile(b, tmp_path / "incoming.MP4")
    m = mount(src, "--no-disk-cache")
    raw = m.path / "GX010001.MP4/streams/all.gpmf"
    old = raw.read_bytes()  # A parsed, its stat fresh
    os.replace(tmp_path / "incoming.MP4", src / "GX010001.MP4")  # B, a new inode
    fd = os.open(raw, os.O_RDONLY)  # well within 0.5 s of that stat
    try:
        size = os.fstat(fd).st_size
        data = os.read(fd, 1 << 24)
    finally:
        os.close(fd)
    assert data == expected != old
    assert size in (len(old), len(expected))


def test_video_overwritten_in_place_under_read(
    mount: MountFactory, tmp_path: Path, two_clips: tuple[Path, Path]
) -> None:
    """Same inode, new bytes (cp over it): the size and mtime change, the content follows."""
    a, b = two_clips
    src = card_with(tmp_path / "card", a)
    m = mount(src, "--no-disk-cache")
    csv = m.path / "GX010001.MP4/track.csv"
    with Readers([csv]) as readers:
        _wait_reads(readers, csv, 0)
        shutil.copyfile(b, src / "GX010001.MP4")
        changed = time.monotonic()  # the copy is done: the new version is complete
        _wait_reads(readers, csv, changed + SETTLE)
    # While the copy runs, a parse may see a half-written file: a cut file's
    # track is a prefix of B's rows, so accept any parse of a prefix of B.
    versions = [expected_csv(a), expected_csv(b)]
    seen = {r for _, p, r in readers.results if isinstance(r, bytes)}
    odd = [r for r in seen if r not in versions and not expected_csv(b).startswith(r[:-1])]
    assert readers.problems == []
    late = readers.after(changed + SETTLE, csv)
    assert all(r == expected_csv(b) for r in late), [
        r if isinstance(r, str) else len(r) for r in late
    ]
    assert len(odd) <= 2, [len(r) for r in odd]


def test_camera_still_recording_file_grows(mount: MountFactory, tmp_path: Path) -> None:
    """A Novatek clip appended to as it records: every read is whole, the end shows all."""
    full = tmp_path / "full.MP4"
    make_novatek(full, duration_s=20.0, video_mbps=2.0, index=False)
    data = full.read_bytes()
    src = tmp_path / "card"
    src.mkdir()
    clip = src / "2026_0406_164510_001.MP4"
    clip.write_bytes(data[: len(data) // 5])
    m = mount(src, "--no-disk-cache")
    csv = m.path / clip.name / "track.csv"
    with Readers([csv, m.path / clip.name / "info.json"]) as readers, clip.open("ab") as f:
        pos = len(data) // 5
        step = len(data) // 10
        while pos < len(data):
            f.write(data[pos : pos + step])
            f.flush()
            pos += step
            time.sleep(0.4)
        done = time.monotonic()
        _wait_reads(readers, csv, done + SETTLE)
    assert readers.problems == []
    rows = [r.count(b"\n") for _, p, r in readers.results if p == csv and isinstance(r, bytes)]
    assert rows == sorted(rows) or max(rows) == rows[-1]
    assert readers.after(done + SETTLE, csv)[-1] == expected_csv(full)
    assert max(rows) - 1 == 20


def test_video_truncated_under_read(mount: MountFactory, tmp_path: Path) -> None:
    src = tmp_path / "card"
    src.mkdir()
    clip = src / "GX010001.MP4"
    make_gopro(clip, duration_s=6.0, video_mbps=1.0, moov=False)
    m = mount(src, "--no-disk-cache")
    raw = m.path / clip.name / "streams/all.gpmf"
    csv = m.path / clip.name / "track.csv"
    before_raw, before_csv = raw.read_bytes(), csv.read_bytes()
    # A handle opened before the cut either serves the old bytes or fails cleanly.
    with raw.open("rb", buffering=0) as held:
        first = held.read(100)
        with Readers([csv, raw]) as readers:
            _wait_reads(readers, csv, 0)
            changed = time.monotonic()
            os.truncate(clip, os.path.getsize(clip) // 2)
            try:
                rest: bytes | int = held.read()
            except OSError as exc:
                rest = exc.errno or 0
            assert rest == errno.EIO or first + rest == before_raw, rest
            _wait_reads(readers, raw, changed + SETTLE)
    after_csv = expected_csv(clip)
    assert after_csv != before_csv
    after_raw = raw.read_bytes()
    assert len(after_raw) < len(before_raw)
    _check_reads(readers, csv, [before_csv, after_csv], changed_at=changed, final=after_csv)
    _check_reads(readers, raw, [before_raw, after_raw], changed_at=changed, final=after_raw)
    info = json.loads((m.path / clip.name / "info.json").read_bytes())
    assert info["error"]


def test_video_deleted_and_renamed_under_read(
    mount: MountFactory, tmp_path: Path, two_clips: tuple[Path, Path]
) -> None:
    a, b = two_clips
    src = tmp_path / "card"
    src.mkdir()
    shutil.copyfile(a, src / "DEL.MP4")
    shutil.copyfile(b, src / "OLD.MP4")
    m = mount(src, "--no-disk-cache")
    deleted, old, new = (m.path / n / "track.csv" for n in ("DEL.MP4", "OLD.MP4", "NEW.MP4"))
    with deleted.open("rb") as held, Readers([deleted, old, new]) as readers:
        _wait_reads(readers, old, 0)
        changed = time.monotonic()
        os.unlink(src / "DEL.MP4")
        os.rename(src / "OLD.MP4", src / "NEW.MP4")
        assert held.read() == expected_csv(a)  # an open file keeps serving its version
        _wait_reads(readers, new, changed + SETTLE)
        _wait_reads(readers, deleted, changed + SETTLE)
    _check_reads(readers, deleted, [expected_csv(a)], changed_at=changed, final=None)
    _check_reads(readers, old, [expected_csv(b)], changed_at=changed, final=None)
    _check_reads(readers, new, [expected_csv(b)], changed_at=changed, final=expected_csv(b))
    assert sorted(os.listdir(m.path)) == ["NEW.MP4", "recordings"]


def test_directory_added_and_removed(
    mount: MountFactory, tmp_path: Path, two_clips: tuple[Path, Path]
) -> None:
    a, _ = two_clips
    src = tmp_path / "card"
    (src / "DCIM").mkdir(parents=True)
    m = mount(src, "--no-disk-cache")
    assert os.listdir(m.path / "DCIM") == []
    (src / "DCIM/100GOPRO").mkdir()
    shutil.copyfile(a, src / "DCIM/100GOPRO/GX010001.MP4")
    time.sleep(SETTLE)
    assert os.listdir(m.path / "DCIM") == ["100GOPRO"]
    assert (m.path / "DCIM/100GOPRO/GX010001.MP4/track.csv").read_bytes() == expected_csv(a)
    with (m.path / "DCIM/100GOPRO/GX010001.MP4/track.csv").open("rb") as held:
        shutil.rmtree(src / "DCIM/100GOPRO")
        assert held.read() == expected_csv(a)
    time.sleep(SETTLE)
    assert os.listdir(m.path / "DCIM") == []
    assert not (m.path / "DCIM/100GOPRO").exists()
    (src / "DCIM/100GOPRO").mkdir()  # back, empty: a new directory, not the old one
    time.sleep(SETTLE)
    assert os.listdir(m.path / "DCIM/100GOPRO") == []


# -- the card pulled ---------------------------------------------------------------------


@contextlib.contextmanager
def tmpfs_card(where: Path) -> Iterator[Callable[[], None]]:
    """A tmpfs "card" mounted at ``where``; yields pull() (lazy unmount)."""
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "card", str(where)], check=True)
    mounted = [True]

    def pull() -> None:
        subprocess.run(["umount", "-l", str(where)], check=True)
        mounted[0] = False

    try:
        yield pull
    finally:
        if mounted[0]:
            subprocess.run(["umount", "-l", str(where)], check=False)


def test_card_pulled_and_put_back(
    mount: MountFactory, tmp_path: Path, two_clips: tuple[Path, Path]
) -> None:
    """The card (a tmpfs under SOURCE) goes away under readers and comes back."""
    a, _ = two_clips
    src = tmp_path / "src"
    slot = src / "card"
    with tmpfs_card(slot) as pull:
        (slot / "DCIM").mkdir()
        shutil.copyfile(a, slot / "DCIM/GX010001.MP4")
        m = mount(src, "--no-disk-cache")
        csv = m.path / "card/DCIM/GX010001.MP4/track.csv"
        raw = m.path / "card/DCIM/GX010001.MP4/streams/all.gpmf"
        good_csv, good_raw = csv.read_bytes(), raw.read_bytes()
        with Readers([csv, raw]) as readers:
            _wait_reads(readers, csv, 0)
            pulled = time.monotonic()
            pull()
            _wait_reads(readers, csv, pulled + SETTLE)
            time.sleep(0.5)  # the card stays out a while
            # Put back: a new card in the slot with the same clip.
            returning = time.monotonic()
            subprocess.run(["mount", "-t", "tmpfs", "card", str(slot)], check=True)
            (slot / "DCIM").mkdir()
            shutil.copyfile(a, slot / "DCIM/GX010001.MP4")
            back = time.monotonic()
            _wait_reads(readers, csv, back + SETTLE)
            _wait_reads(readers, raw, back + SETTLE)
        try:
            assert readers.problems == []
            gone = [r for t, p, r in readers.results if pulled + SETTLE < t < returning - 0.25]
            assert gone, "no read while the card was out"
            odd = [
                (round(t - pulled, 3), p.name, r if isinstance(r, str) else len(r))
                for t, p, r in readers.results
                if pulled + SETTLE < t < returning - 0.25 and r not in ("ENOENT", "EIO")
            ]
            assert odd == [], (round(returning - pulled, 3), odd)
            for path, good in ((csv, good_csv), (raw, good_raw)):
                assert all(r in (good, "ENOENT", "EIO") for _, p, r in readers.results if p == path)
                assert all(r == good for r in readers.after(back + SETTLE, path))
        finally:
            subprocess.run(["umount", "-l", str(slot)], check=False)
    assert m.proc.poll() is None


def test_card_reader_answering_eio_then_recovering(
    mount: MountFactory, tmp_path: Path, two_clips: tuple[Path, Path]
) -> None:
    """A source that really answers EIO (flaky_card.py), pulled under readers, then back."""
    a, b = two_clips
    backing = tmp_path / "backing"
    (backing / "DCIM").mkdir(parents=True)
    shutil.copyfile(a, backing / "DCIM/GX010001.MP4")
    shutil.copyfile(b, backing / "DCIM/GX010002.MP4")  # first read while the card is out
    card = tmp_path / "card"
    with flaky_card(backing, card) as flaky:
        m = mount(card, "--no-disk-cache")
        csv = m.path / "DCIM/GX010001.MP4/track.csv"
        raw = m.path / "DCIM/GX010001.MP4/streams/all.gpmf"
        late = m.path / "DCIM/GX010002.MP4/track.csv"
        good_csv, good_raw = csv.read_bytes(), raw.read_bytes()
        with Readers([csv, raw, late]) as readers:
            _wait_reads(readers, csv, 0)
            pulled = time.monotonic()
            flaky.send_signal(signal.SIGUSR1)
            _wait_reads(readers, late, pulled + SETTLE)
            time.sleep(0.5)
            back = time.monotonic()
            flaky.send_signal(signal.SIGUSR2)
            _wait_reads(readers, late, back + SETTLE)
            _wait_reads(readers, raw, back + SETTLE)
        assert readers.problems == []
        out = [r for t, _, r in readers.results if pulled + SETTLE < t < back - 0.1]
        assert out, "no read while the card was out"
        assert all(r in ("EIO", "ENOENT") for r in out), [r for r in out if isinstance(r, bytes)][
            :1
        ]
        assert "EIO" in out
        for path, good in ((csv, good_csv), (raw, good_raw), (late, expected_csv(b))):
            seen = [r for _, p, r in readers.results if p == path]
            assert all(r in (good, "EIO", "ENOENT") for r in seen), path
            assert all(r == good for r in readers.after(back + SETTLE, path)), path
        assert m.proc.poll() is None
        assert m.unmount() == 0


def test_raw_files_from_a_source_on_fuse(
    mount: MountFactory, tmp_path: Path, two_clips: tuple[Path, Path]
) -> None:
    """A card behind another FUSE filesystem (a NAS, sshfs) refuses RWF_NOWAIT reads:
    every raw read then takes the worker-thread path, with the same bytes."""
    backing = card_with(tmp_path / "backing", two_clips[1])
    direct = mount(backing, "--no-disk-cache")
    truth = (direct.path / "GX010001.MP4/streams/all.gpmf").read_bytes()
    assert len(truth) > 10_000
    with flaky_card(backing, tmp_path / "card"):
        m = mount(tmp_path / "card", "--no-disk-cache")
        for name in ("all.gpmf", "GPS9.gpmf", "ACCL.gpmf"):
            assert (m.path / "GX010001.MP4/streams" / name).read_bytes() == (
                direct.path / "GX010001.MP4/streams" / name
            ).read_bytes(), name
        assert (m.path / "GX010001.MP4/streams/all.gpmf").read_bytes() == truth
        assert m.unmount() == 0


@contextlib.contextmanager
def flaky_card(backing: Path, card: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``backing`` mirrored at ``card`` by flaky_card.py (SIGUSR1 pulls the card)."""
    card.mkdir()
    reader_cmd = [sys.executable, "-m", "tests.reliability.flaky_card", str(backing), str(card)]
    flaky = subprocess.Popen(reader_cmd, cwd=ROOT)
    try:
        deadline = time.monotonic() + 20
        while not os.path.ismount(card):
            assert flaky.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.05)
        yield flaky
    finally:
        flaky.send_signal(signal.SIGTERM)
        flaky.wait(10)
