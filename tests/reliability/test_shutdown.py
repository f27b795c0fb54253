"""Shutdown under load: signals, unmount with open files, crashes and scripts/run.

SIGINT/SIGTERM during heavy reads (and during a long parse) unmount cleanly
with exit status 0; ``fusermount3 -u`` with files open ends the daemon the
same way once it can; a daemon killed outright leaves a dead mountpoint that
``scripts/run`` unmounts and reuses.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.footage import make_gopro, make_novatek
from tests.mount.conftest import _require_fuse  # noqa: F401  (autouse: FUSE or fail)
from tests.paths import ROOT, SAMPLES
from tests.reliability.conftest import Mount, MountFactory, read_all

EXIT_WAIT_S = 15


@pytest.fixture
def busy_card(tmp_path: Path) -> Path:
    card = tmp_path / "card"
    card.mkdir()
    for i in range(3):
        make_gopro(
            card / f"GX01000{i}.MP4", duration_s=60.0, model="HERO11 Black", seed=i, video_mbps=5
        )
    make_novatek(card / "2026_0406_164510_001.MP4", duration_s=60.0, video_mbps=5)
    shutil.copyfile(SAMPLES / "gopro/mp4/karma.mp4", card / "karma.mp4")
    return card


def _files(top: Path) -> list[Path]:
    return sorted(Path(d) / f for d, _, files in os.walk(top) for f in files)


class Hammer:
    """Reader threads reading every file in a loop until the mount goes away."""

    def __init__(self, files: list[Path], threads: int = 8) -> None:
        self.files = files
        self.reads = 0
        self.errors: set[str] = set()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._loop, args=(k,), daemon=True) for k in range(threads)
        ]
        for t in self._threads:
            t.start()

    def _loop(self, k: int) -> None:
        i = k
        while not self._stop.is_set():
            path = self.files[i % len(self.files)]
            i += 1
            try:
                with path.open("rb") as f:
                    while f.read(1 << 16):
                        pass
                self.reads += 1
            except OSError as exc:
                self.errors.add(errno.errorcode.get(exc.errno or 0, str(exc)))

    def wait_busy(self, reads: int = 20) -> None:
        deadline = time.monotonic() + 30
        while self.reads < reads:
            assert time.monotonic() < deadline, "the readers made no progress"
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(20)
        assert not any(t.is_alive() for t in self._threads), "a reader hung on the dead mount"


def _gone(m: Mount) -> None:
    assert m.proc.wait(EXIT_WAIT_S) == 0, m.log_text()[-3000:]
    assert not os.path.ismount(m.path)
    assert os.listdir(m.path) == []  # the empty directory again, reusable


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_during_heavy_reads_unmounts_cleanly(
    checked_mount: MountFactory, busy_card: Path, signum: int
) -> None:
    m = checked_mount(busy_card, "--no-disk-cache")
    hammer = Hammer(_files(m.path))
    try:
        hammer.wait_busy()
        m.proc.send_signal(signum)
        _gone(m)
    finally:
        hammer.stop()
    # Readers saw the mount go away as errors, never as a hang.
    clean = {"ENOTCONN", "ECONNABORTED", "ENOENT", "EIO", "ENODEV", "EBADF"}
    assert hammer.errors <= clean, hammer.errors
    assert "Traceback" not in m.log_text()


@pytest.mark.slow
def test_sigterm_during_a_long_parse_exits_cleanly(mount: MountFactory, tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    make_gopro(card / "GX010001.MP4", duration_s=3 * 3600, model="HERO11 Black", video_mbps=5)
    m = mount(card, "--no-disk-cache")
    result: list[object] = []

    def build() -> None:
        try:
            result.append(len((m.path / "GX010001.MP4/track.gpx").read_bytes()))
        except OSError as exc:
            result.append(exc.errno)

    worker = threading.Thread(target=build, daemon=True)
    worker.start()
    deadline = time.monotonic() + 20
    while "parse " not in m.log_text():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    m.proc.send_signal(signal.SIGTERM)
    _gone(m)
    worker.join(20)
    assert not worker.is_alive()
    assert result


@pytest.mark.slow
def test_fusermount_u_with_files_open(checked_mount: MountFactory, busy_card: Path) -> None:
    m = checked_mount(busy_card, "--no-disk-cache")
    files = [p for p in _files(m.path) if p.suffix in (".gpx", ".gpmf", ".csv")][:12]
    held = [p.open("rb") for p in files]
    try:
        for f in held:
            f.read(100)
        first = subprocess.run(["fusermount3", "-u", str(m.path)], capture_output=True, text=True)
        print(
            f"\nplain fusermount3 -u with {len(held)} files open: rc {first.returncode} {first.stderr.strip()}"
        )
        if first.returncode != 0:
            # Busy (files open): the kernel refuses a plain unmount. A lazy one
            # detaches now; the daemon ends when the last file is closed.
            assert "busy" in first.stderr.lower(), first.stderr
            assert m.proc.poll() is None
            subprocess.run(["fusermount3", "-u", "-z", str(m.path)], check=True)
            assert not os.path.ismount(m.path)
            for f in held:
                f.read(100)  # open files keep working until closed
    finally:
        for f in held:
            f.close()
    _gone(m)


@pytest.fixture
def fuse_connections() -> Iterator[Path]:
    """/sys/fs/fuse/connections, mounted (fusectl) for the test if it is not already."""
    top = Path("/sys/fs/fuse/connections")
    mounted_here = not os.path.ismount(top)
    if mounted_here:
        subprocess.run(["mount", "-t", "fusectl", "fusectl", str(top)], check=True)
    try:
        yield top
    finally:
        if mounted_here:
            subprocess.run(["umount", str(top)], check=False)


def test_a_connection_the_kernel_aborts_ends_the_daemon_cleanly(
    checked_mount: MountFactory, busy_card: Path, fuse_connections: Path
) -> None:
    # After a lazy unmount the kernel sometimes ends the session as aborted
    # (ECONNABORTED) rather than gone (ENODEV): CI saw it. Aborting through
    # fusectl takes that path every time.
    m = checked_mount(busy_card, "--no-disk-cache")
    read_all(m.path / "karma.mp4/track.gpx")
    connection = fuse_connections / str(os.minor(os.stat(m.path).st_dev))
    (connection / "abort").write_text("1")
    _gone(m)
    assert "Traceback" not in m.log_text()


def test_a_killed_daemon_leaves_a_mountpoint_scripts_run_reuses(
    busy_card: Path, tmp_path: Path
) -> None:
    # Not the mount fixture: that one (rightly) fails a test whose daemon died.
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    cmd = [sys.executable, "-m", "telemetryfs.fs", str(busy_card), str(mnt), "-f"]
    proc = subprocess.Popen([*cmd, "--no-disk-cache"], cwd=ROOT, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not os.path.ismount(mnt):
        assert proc.poll() is None
        assert time.monotonic() < deadline
        time.sleep(0.05)
    read_all(mnt / "karma.mp4/track.gpx")
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    with pytest.raises(OSError, match="not connected") as dead:
        os.listdir(mnt)
    assert dead.value.errno == errno.ENOTCONN
    m = Mount(mnt, busy_card, proc, tmp_path / "unused.log", tmp_path / "cache")
    # The daemon refuses a dead mountpoint with a one-line hint, not a traceback.
    direct = subprocess.run(
        [str(ROOT / ".venv/bin/telemetryfs"), str(busy_card), str(m.path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert direct.returncode == 1
    assert "fusermount3 -u" in direct.stderr
    assert "Traceback" not in direct.stderr
    run = subprocess.run(
        [str(ROOT / "scripts/run"), str(busy_card), str(m.path)],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    try:
        assert run.returncode == 0, run.stdout + run.stderr
        assert os.path.ismount(m.path)
        assert read_all(m.path / "karma.mp4/track.gpx").startswith(b"<?xml")
    finally:
        subprocess.run(["fusermount3", "-u", str(m.path)], check=False)
    deadline = time.monotonic() + 10
    while os.path.ismount(m.path):
        assert time.monotonic() < deadline
        time.sleep(0.1)
