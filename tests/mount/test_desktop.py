"""The desktop: fstab and ``mount -t fuse.telemetryfs`` (real mount(8), as root), -o prefetch.

- mount(8) runs the helper through mount.fuse3 with a clean PATH: the
  ``telemetryfs`` scripts/setup links into /usr/local/bin must be this checkout's;
- the options mount(8) and fstab pass on are accepted; ``umount`` ends the mount;
- ``-o prefetch`` over a 200-clip card, nothing read: every video is parsed,
  ``telemetryfs status`` changes and ends in "done", the root's getxattr answers
  within 100 ms meanwhile, and a second mount on the same disk cache parses nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.footage import make_card, make_demo
from tests.mount.conftest import MountFactory
from tests.paths import ROOT

SYSTEM_COMMAND = Path("/usr/local/bin/telemetryfs")
GETXATTR_LIMIT_S = 0.100


def _require_root_and_setup() -> None:
    if os.geteuid() != 0:
        pytest.fail("mount(8) tests run as root (scripts/test runs as root in CI)")
    if SYSTEM_COMMAND.resolve() != (ROOT / ".venv" / "bin" / "telemetryfs").resolve():
        pytest.fail(f"{SYSTEM_COMMAND} is not this checkout's console script: run scripts/setup")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    make_demo(root)
    return root


def _findmnt(mnt: Path) -> str:
    result = subprocess.run(
        ["findmnt", "-n", "-o", "FSTYPE,OPTIONS", str(mnt)], capture_output=True, text=True
    )
    return result.stdout.strip()


def _check_mounted_then_umount(mnt: Path) -> None:
    assert os.path.ismount(mnt)
    fstype, options = _findmnt(mnt).split()
    assert fstype == "fuse.telemetryfs"
    assert "ro" in options.split(",")
    info = json.loads((mnt / "DCIM" / "101GOPRO" / "GX010002.MP4" / "info.json").read_bytes())
    assert info["gps_samples"] > 0, info
    result = subprocess.run(["umount", str(mnt)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    deadline = time.monotonic() + 10
    while os.path.ismount(mnt) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not os.path.ismount(mnt)


def test_fstab_line_mounts_with_mount_dash_t_file_and_umount_ends_it(
    demo: Path, tmp_path: Path
) -> None:
    _require_root_and_setup()
    mnt = tmp_path / "tracks"
    mnt.mkdir()
    options = [
        "ro", "nofail", "_netdev", "noauto", "users", "exec", "dev", "suid",
        "x-systemd.automount", "x-systemd.device-timeout=5", "x-gvfs-show",
        f"cache_dir={tmp_path / 'cache'}",
    ]  # fmt: skip
    fstab = tmp_path / "fstab"
    fstab.write_text(f"{demo} {mnt} fuse.telemetryfs {','.join(options)} 0 0\n")
    result = subprocess.run(
        ["mount", "-T", str(fstab), str(mnt)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    _check_mounted_then_umount(mnt)


def test_mount_t_passes_rw_with_a_warning_and_mounts_read_only(demo: Path, tmp_path: Path) -> None:
    _require_root_and_setup()
    mnt = tmp_path / "tracks"
    mnt.mkdir()
    result = subprocess.run(
        [
            "mount", "-t", "fuse.telemetryfs",
            "-o", f"rw,nodev,nosuid,noexec,allow_other,cache_dir={tmp_path / 'cache'}",
            str(demo), str(mnt),
        ],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "telemetryfs: warning: -o rw ignored, mounting read-only"
    with pytest.raises(OSError, match="Read-only"):
        (mnt / "new").write_text("x")
    _check_mounted_then_umount(mnt)


# -- -o prefetch ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def card200(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("card200")
    made = make_card(root, clips=200, gopro_clip_s=2.0, novatek_clip_s=5.0, mapcam_clip_s=3.0)
    assert len(made) >= 200
    return root


_PARSE = re.compile(r"DEBUG telemetryfs\.fs\.fuse\.store: parse (.*) \(full=(True|False)\)$")


def _status(mnt: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "telemetryfs.fs", "status", *args, str(mnt)],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_prefetch_parses_the_whole_card_with_status_and_a_responsive_root(
    mount: MountFactory, card200: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    m = mount(card200, "-o", "prefetch", cache_dir=cache)
    lines: list[str] = []
    worst = 0.0
    deadline = time.monotonic() + 100
    while time.monotonic() < deadline:
        started = time.perf_counter()
        figures = json.loads(os.getxattr(m.path, "user.telemetryfs.stats"))
        worst = max(worst, time.perf_counter() - started)
        line = _status(m.path).strip()
        if not lines or lines[-1] != line:
            lines.append(line)
        if figures["prefetch"]["state"] == "done":
            break
        time.sleep(0.02)
    print(f"\nstatus lines: {len(lines)}, first {lines[0]!r}, last {lines[-1]!r}")
    print(f"worst getxattr of the root during prefetch: {worst * 1000:.1f} ms")
    assert lines[-1].endswith("done"), lines[-1]
    assert len(lines) >= 3, lines  # it moved while we watched
    assert worst < GETXATTR_LIMIT_S
    p = figures["prefetch"]
    assert p["parsed"] == p["videos"], p
    assert p["failed"] == 0, p
    log = m.log_text()
    parsed = {m_.group(1) for line in log.splitlines() if (m_ := _PARSE.search(line))}
    videos = {
        str(Path(d) / f)
        for d, _, files in os.walk(card200)
        for f in files
        if f.upper().endswith((".MP4", ".LRV", ".AVI"))
    }
    assert parsed == videos  # every clip, nothing read through the mount
    assert p["videos"] == len(videos)
    assert p["bytes_read"] > 0
    assert log.count("prefetch started") == 1
    assert log.count("prefetch done") == 1
    json_figures = json.loads(_status(m.path, "--json"))
    assert json_figures["prefetch"]["state"] == "done"
    assert _status(m.path, "--watch").strip().endswith("done")  # returns once done
    # Reading a video now parses nothing more: the prefetch left it in the caches.
    parses = m.stats()["parses"]
    some = sorted(videos)[0]
    rel = Path(some).relative_to(card200)
    (m.path / rel / "info.json").read_bytes()
    (m.path / rel / "track.csv").read_bytes()
    assert m.stats()["parses"] == parses
    assert m.unmount() == 0

    # A later mount serves from the disk cache the prefetch filled: no parse at all.
    again = mount(card200, "-o", "prefetch", cache_dir=cache, name="again")
    deadline = time.monotonic() + 60
    while again.stats()["prefetch"]["state"] != "done" and time.monotonic() < deadline:
        time.sleep(0.05)
    stats = again.stats()
    assert stats["prefetch"]["state"] == "done"
    assert stats["parses"] == 0, stats
    assert stats["prefetch"]["parsed"] == len(videos)


def test_a_file_copied_in_while_mounted_joins_the_queue(
    mount: MountFactory, tmp_path: Path
) -> None:
    from tests.footage import make_mapcam

    src = tmp_path / "src"
    src.mkdir()
    make_mapcam(src / "a.AVI", duration_s=3.0, video_mbps=1.0)
    m = mount(src, "-o", "prefetch", "--no-disk-cache")
    deadline = time.monotonic() + 30
    while m.stats()["prefetch"]["state"] != "done" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert m.stats()["prefetch"]["parsed"] == 1
    make_mapcam(tmp_path / "b.AVI", duration_s=3.0, video_mbps=1.0)
    os.rename(tmp_path / "b.AVI", src / "b.AVI")
    deadline = time.monotonic() + 30
    while m.stats()["prefetch"]["parsed"] < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert m.stats()["prefetch"]["parsed"] == 2
    assert m.stats()["prefetch"]["videos"] == 2
    assert m.stats()["parses"] == 2


def test_prefetch_stops_before_the_disk_cache_would_evict(
    mount: MountFactory, card200: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    m = mount(card200, "-o", "prefetch,disk_cache_mb=1", cache_dir=cache)
    deadline = time.monotonic() + 60
    while m.stats()["prefetch"]["state"] != "done" and time.monotonic() < deadline:
        time.sleep(0.05)
    p = m.stats()["prefetch"]
    assert p["state"] == "done"
    assert p["stopped"].startswith("disk cache"), p
    assert p["parsed"] < p["videos"]
    line = _status(m.path).strip()
    assert re.search(r"done, stopped early: disk cache \d+% full$", line), line
    log = m.log_text()
    assert "(disk cache" in log  # the "prefetch done" line says why
    assert "disk cache: pruned" not in log  # it stopped before anything was evicted
    used = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file())
    assert 0.5 * 2**20 < used <= 2**20, used  # it did fill the cache, within its capacity
