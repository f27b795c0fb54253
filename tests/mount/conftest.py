"""Real FUSE mounts: start ``python -m telemetryfs.fs SRC MNT -f`` and check it survives.

The fixture polls until the mount is up (failing if the daemon exits first),
and after the test asserts the daemon is still alive and never logged a
traceback (s3ql's checklogs idea): a handler exception that slips through
would otherwise only show as "Transport endpoint is not connected" later.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.paths import ROOT


def fuse_problem() -> str | None:
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse is missing"
    if shutil.which("fusermount3") is None:
        return "fusermount3 is not installed"
    return None


@pytest.fixture(autouse=True)
def _require_fuse() -> None:
    problem = fuse_problem()
    if problem is None:
        return
    if os.environ.get("TELEMETRYFS_REQUIRE_FUSE"):
        pytest.fail(f"FUSE required but unavailable: {problem}")
    pytest.skip(f"FUSE unavailable: {problem}")


@dataclass
class Mount:
    """A running telemetryfs daemon and where it is mounted."""

    path: Path
    source: Path
    proc: subprocess.Popen[bytes]
    log: Path
    cache_dir: Path
    args: list[str] = field(default_factory=list)

    def stats(self) -> dict[str, int]:
        raw = os.getxattr(self.path, "user.telemetryfs.stats")
        value: dict[str, int] = json.loads(raw)
        return value

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def unmount(self) -> int:
        subprocess.run(["fusermount3", "-u", str(self.path)], check=False, capture_output=True)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            subprocess.run(["fusermount3", "-u", "-z", str(self.path)], check=False)
            self.proc.kill()
            return self.proc.wait(5)


def _wait_for_mount(
    proc: subprocess.Popen[bytes], mnt: Path, log: Path, timeout: float = 20
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"telemetryfs exited with {proc.returncode}:\n{log.read_text()}")
        if os.path.ismount(mnt):
            return
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"mount did not come up in {timeout} s:\n{log.read_text()}")


MountFactory = Callable[..., Mount]


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[MountFactory]:
    """``mount(source, *extra_args, cache_dir=None)`` → a live Mount, torn down after the test."""
    mounts: list[Mount] = []

    def start(source: Path, *extra: str, cache_dir: Path | None = None, name: str = "mnt") -> Mount:
        mnt = tmp_path / f"{name}{len(mounts)}"
        mnt.mkdir()
        log = tmp_path / f"{name}{len(mounts)}.log"
        cache = cache_dir or (tmp_path / "cache")
        args = [
            sys.executable,
            "-m",
            "telemetryfs.fs",
            str(source),
            str(mnt),
            "-f",
            "--debug",
            "--cache-dir",
            str(cache),
            *extra,
        ]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                args, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out, stderr=out
            )
        _wait_for_mount(proc, mnt, log)
        m = Mount(mnt, source, proc, log, cache, args)
        mounts.append(m)
        return m

    yield start
    problems = []
    for m in mounts:
        alive = m.proc.poll() is None
        if not alive and m.proc.returncode not in (0, None):
            problems.append(f"daemon for {m.path} died with {m.proc.returncode}")
        if alive:
            m.unmount()
        text = m.log_text()
        if "Traceback" in text:
            problems.append(f"daemon for {m.path} logged a traceback:\n{text[-4000:]}")
    if problems:
        pytest.fail("\n".join(problems))
