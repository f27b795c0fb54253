"""The desktop: fstab and ``mount -t fuse.telemetryfs`` (real mount(8), as root), -o prefetch.

- mount(8) runs the helper through mount.fuse3 with a clean PATH: the
  ``telemetryfs`` scripts/setup links into /usr/local/bin must be this checkout's;
- the options mount(8) and fstab pass on are accepted; ``umount`` ends the mount;
  ``telemetryfs status`` works for another user (nobody) when the mount lets them in;
- ``-o prefetch`` over a 200-clip card, nothing read: every video is parsed, GPS
  first, ``telemetryfs status --watch`` changes and ends in "done", the root's
  getxattr answers within 100 ms meanwhile, and a second mount on the same disk
  cache parses nothing; a damaged clip is counted failed; a file copied in joins
  the queue; a small disk cache stops the prefetch before anything is evicted;
- systemd (Type=notify): READY=1 once mounted, SIGTERM unmounts.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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
    root.chmod(0o755)  # the mount's root shows the source's read bits: others may look
    return root


def _findmnt(mnt: Path) -> str:
    result = subprocess.run(
        ["findmnt", "-n", "-o", "FSTYPE,OPTIONS", str(mnt)], capture_output=True, text=True
    )
    return result.stdout.strip()


@pytest.fixture
def mountpoint() -> Iterator[Path]:
    """An empty folder any user may reach (under /tmp, 0755: the status command is
    run as nobody too); unmounted and removed after the test whatever happened."""
    top = Path(tempfile.mkdtemp(prefix="telemetryfs-desktop-", dir="/tmp"))
    top.chmod(0o755)
    mnt = top / "tracks"
    mnt.mkdir()
    try:
        yield mnt
    finally:
        if os.path.ismount(mnt):
            subprocess.run(["umount", "-l", str(mnt)], check=False, capture_output=True)
        shutil.rmtree(top, ignore_errors=True)


def _as_nobody(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *argv],
        capture_output=True, text=True, timeout=30, check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
    )  # fmt: skip


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
    demo: Path, mountpoint: Path
) -> None:
    _require_root_and_setup()
    mnt = mountpoint
    options = [
        "ro", "nofail", "_netdev", "noauto", "users", "exec", "dev", "suid",
        "x-systemd.automount", "x-systemd.device-timeout=5", "x-gvfs-show",
        f"cache_dir={mnt.parent / 'cache'}",
    ]  # fmt: skip
    fstab = mnt.parent / "fstab"
    fstab.write_text(f"{demo} {mnt} fuse.telemetryfs {','.join(options)} 0 0\n")
    result = subprocess.run(
        ["mount", "-T", str(fstab), str(mnt)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    own = subprocess.run([SYSTEM_COMMAND, "status", str(mnt)], capture_output=True, text=True)
    assert own.returncode == 0, own.stderr
    assert own.stdout.startswith("prefetch off (mount with -o prefetch); "), own.stdout
    # Without allow_other only root sees into the mount: nobody's status is one line.
    denied = _as_nobody(str(SYSTEM_COMMAND), "status", str(mnt))
    assert denied.returncode == 1
    assert denied.stderr.strip() == f"telemetryfs status: {str(mnt)!r}: Permission denied"
    _check_mounted_then_umount(mnt)


def test_mount_t_passes_rw_with_a_warning_and_mounts_read_only(
    demo: Path, mountpoint: Path
) -> None:
    _require_root_and_setup()
    mnt = mountpoint
    result = subprocess.run(
        [
            "mount", "-t", "fuse.telemetryfs",
            "-o", f"rw,nodev,nosuid,noexec,allow_other,prefetch,cache_dir={mnt.parent / 'cache'}",
            str(demo), str(mnt),
        ],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "telemetryfs: warning: -o rw ignored, mounting read-only"
    with pytest.raises(OSError, match="Read-only"):
        (mnt / "new").write_text("x")
    # Any user who can see the mount can follow the prefetch (a getxattr of the root).
    watched = _as_nobody(str(SYSTEM_COMMAND), "status", "--watch", str(mnt))
    assert watched.returncode == 0, watched.stderr
    videos = sum(1 for f in demo.rglob("*") if f.suffix.upper() in (".MP4", ".AVI", ".LRV"))
    assert re.search(rf" {videos}/{videos} videos .* 0 failed  done$", watched.stdout), watched
    _check_mounted_then_umount(mnt)


def test_mount_t_with_a_missing_source_says_so_in_one_line(
    tmp_path: Path, mountpoint: Path
) -> None:
    _require_root_and_setup()
    missing = tmp_path / "no-card"
    result = subprocess.run(
        ["mount", "-t", "fuse.telemetryfs", "-o", "prefetch", str(missing), str(mountpoint)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    # mount(8) passes rw unless told ro, hence the warning first.
    assert result.stderr.splitlines() == [
        "telemetryfs: warning: -o rw ignored, mounting read-only",
        f"telemetryfs: SOURCE {str(missing)!r} does not exist",
    ]
    assert not os.path.ismount(mountpoint)


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
    # `status --watch` follows along (a line a second, not on a terminal) while the
    # root's getxattr is timed every 10 ms.
    watch = subprocess.Popen(
        [sys.executable, "-m", "telemetryfs.fs", "status", "--watch", str(m.path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        worst, samples = 0.0, 0
        deadline = time.monotonic() + 100
        while time.monotonic() < deadline:
            started = time.perf_counter()
            figures = json.loads(os.getxattr(m.path, "user.telemetryfs.stats"))
            worst = max(worst, time.perf_counter() - started)
            samples += 1
            if figures["prefetch"]["state"] == "done":
                break
            time.sleep(0.01)
        out, err = watch.communicate(timeout=30)
    finally:
        watch.kill()
    lines = out.splitlines()
    print(f"\nstatus --watch: {len(lines)} lines, first {lines[0]!r}, last {lines[-1]!r}")
    print(f"worst getxattr of the root during prefetch: {worst * 1000:.1f} ms of {samples}")
    assert watch.returncode == 0, err
    assert lines[-1].endswith("done"), lines[-1]  # --watch returns once done
    assert not lines[0].endswith("done"), lines[0]
    assert len(set(lines)) >= 2, lines  # it moved while we watched
    assert samples >= 50
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
    # GPS first: every clip's GPS parse comes before any full parse.
    kinds = [m_.group(2) for line in log.splitlines() if (m_ := _PARSE.search(line))]
    assert kinds.count("False") == len(videos)
    assert "True" not in kinds[: len(videos)], kinds
    assert p["videos"] == len(videos)
    assert p["bytes_read"] > 0
    assert log.count("prefetch started") == 1
    assert log.count("prefetch done") == 1
    json_figures = json.loads(_status(m.path, "--json"))
    assert json_figures["prefetch"]["state"] == "done"
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
    # and sooner than parsing (a disk-cache walk per video once made it three times slower)
    assert stats["prefetch"]["elapsed_s"] < p["elapsed_s"], (stats["prefetch"], p)


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


def test_a_damaged_clip_is_counted_as_failed_and_the_rest_is_parsed(
    mount: MountFactory, tmp_path: Path
) -> None:
    from tests.footage import make_mapcam

    src = tmp_path / "src"
    src.mkdir()
    make_mapcam(src / "a.AVI", duration_s=3.0, video_mbps=1.0)
    # An MP4 whose first box claims 4 GB: sniffed as a video, its parse fails.
    (src / "liar.MP4").write_bytes(b"\xff\xff\xff\xffmoov" + b"\0" * 64)
    m = mount(src, "-o", "prefetch", "--no-disk-cache")
    deadline = time.monotonic() + 30
    while m.stats()["prefetch"]["state"] != "done" and time.monotonic() < deadline:
        time.sleep(0.05)
    p = m.stats()["prefetch"]
    assert (p["state"], p["videos"], p["parsed"], p["failed"]) == ("done", 2, 2, 1), p
    assert "  1 failed  done" in _status(m.path)
    assert "1 failed" in m.log_text()  # the "prefetch done" line
    # The good clip is served from the memory cache; the damaged one says why.
    parses = m.stats()["parses"]
    assert json.loads((m.path / "a.AVI" / "info.json").read_bytes())["gps_samples"] > 0
    assert json.loads((m.path / "liar.MP4" / "info.json").read_bytes())["error"]
    assert m.stats()["parses"] == parses


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


# -- systemd: Type=notify -----------------------------------------------------------


def test_foreground_daemon_tells_systemd_it_is_ready_and_sigterm_unmounts(
    demo: Path, mountpoint: Path
) -> None:
    """What telemetryfs@.service relies on: READY=1 on $NOTIFY_SOCKET once the mount
    is up (Type=notify), and SIGTERM (systemctl stop) unmounts and exits 0."""
    notify = mountpoint.parent / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(notify))
        sock.settimeout(30)
        proc = subprocess.Popen(
            [sys.executable, "-m", "telemetryfs.fs", "-f", "--no-disk-cache",
             str(demo), str(mountpoint)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "NOTIFY_SOCKET": str(notify)},
        )  # fmt: skip
        try:
            message = sock.recv(4096)
            mounted_when_ready = os.path.ismount(mountpoint)
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert message == b"READY=1"
    assert mounted_when_ready
    assert proc.returncode == 0, err
    assert not os.path.ismount(mountpoint)


def test_a_remote_source_in_fstab_mounts_and_serves_tracks(
    demo: Path, mountpoint: Path, mount: MountFactory
) -> None:
    """An fstab line whose source is a URL (here an HTTP server of the demo card) serves
    the tracks a local mount of the same card serves (remote mounts have no recordings view)."""
    from tests.remote.servers import start_http

    _require_root_and_setup()
    local = mount(demo, "-o", "norecordings")
    server = start_http(demo)
    try:
        mnt = mountpoint
        fstab = mnt.parent / "fstab"
        options = f"ro,nofail,_netdev,noauto,list_ttl=60,cache_dir={mnt.parent / 'cache'}"
        fstab.write_text(f"{server.url} {mnt} fuse.telemetryfs {options} 0 0\n")
        result = subprocess.run(
            ["mount", "-T", str(fstab), str(mnt)], capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        tracks = sorted(p.relative_to(mnt) for p in mnt.rglob("track.gpx"))
        assert tracks
        assert tracks == sorted(p.relative_to(local.path) for p in local.path.rglob("track.gpx"))
        for rel in tracks:
            assert (mnt / rel).read_bytes() == (local.path / rel).read_bytes(), rel
        _check_mounted_then_umount(mnt)
    finally:
        server.stop()
