"""Nothing lost, nobody let in: the source is never changed, permissions and SOURCE hold.

- a sha256 manifest (content, size, mtime, mode) of every source file is
  identical before and after heavy reads and every kind of write attempt;
- write attempts of every kind fail with EROFS (tests/mount covers the common
  ones; these are the rest, on every kind of node, with show_other too);
- a file the daemon's user cannot read is not readable through the mount, and
  a file unreadable to others stays so with ``-o allow_other``;
- symlinks never lead out of SOURCE, even with show_other and a root daemon;
- names with odd bytes are served intact.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.footage import make_gopro, make_novatek
from tests.mount.conftest import _require_fuse  # noqa: F401  (autouse: FUSE or fail)
from tests.paths import ROOT, SAMPLES
from tests.reliability.conftest import MountFactory, manifest, read_all, serve_folder

NOBODY = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def _all_files(top: Path) -> list[Path]:
    return sorted(Path(d) / f for d, _, files in os.walk(top) for f in files)


@pytest.fixture
def card(tmp_path: Path) -> Path:
    card = tmp_path / "card"
    (card / "DCIM/100GOPRO").mkdir(parents=True)
    (card / "DCIM/Movie").mkdir(parents=True)
    make_gopro(card / "DCIM/100GOPRO/GX010001.MP4", duration_s=4.0, video_mbps=1.0)
    make_novatek(card / "DCIM/Movie/2026_0406_164510_001.MP4", duration_s=5.0, video_mbps=1.0)
    shutil.copyfile(SAMPLES / "gopro/mp4/karma.mp4", card / "DCIM/100GOPRO/karma.mp4")
    shutil.copyfile(
        SAMPLES / "dashcam/dashcamigo/dashcam-viewer-corpus__MOV_0581.nmea", card / "log.nmea"
    )
    (card / "notes.txt").write_text("not footage\n")
    # Distinct, old mtimes: a daemon that touched anything would show.
    for i, path in enumerate(sorted(card.rglob("*"))):
        os.utime(path, ns=(1_600_000_000_000_000_000 + i, 1_500_000_000_000_000_000 + i))
    return card


# -- nothing lost ----------------------------------------------------------------------


def _write_attempts(m: Path) -> dict[str, Callable[[], object]]:
    """Every kind of write, on every kind of node: dirs, video folders, files, passthrough."""
    video = m / "DCIM/100GOPRO/GX010001.MP4"
    gpx = video / "track.gpx"
    raw = video / "streams/all.gpmf"
    other = m / "notes.txt"
    attempts: dict[str, Callable[[], object]] = {}
    for label, path in (("gpx", gpx), ("raw", raw), ("other", other)):
        for flags in ("O_WRONLY", "O_RDWR", "O_APPEND|O_WRONLY", "O_TRUNC|O_RDONLY"):
            bits = 0
            for name in flags.split("|"):
                bits |= getattr(os, name)
            attempts[f"open {label} {flags}"] = lambda p=path, b=bits: os.close(os.open(p, b))
        attempts[f"truncate {label}"] = lambda p=path: os.truncate(p, 1)
        attempts[f"chown {label}"] = lambda p=path: os.chown(p, 1, 1)
        attempts[f"removexattr {label}"] = lambda p=path: os.removexattr(p, "user.x")
    attempts |= {
        "create in root": lambda: os.close(os.open(m / "new.MP4", os.O_CREAT | os.O_WRONLY)),
        "create excl in video folder": lambda: os.close(
            os.open(video / "x.gpx", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        ),
        "mkdir in video folder": lambda: os.mkdir(video / "sub"),
        "mkdir in streams": lambda: os.mkdir(video / "streams/sub"),
        "mkfifo": lambda: os.mkfifo(m / "DCIM/fifo"),
        "mknod": lambda: os.mknod(m / "DCIM/node"),
        "hard link": lambda: os.link(gpx, m / "DCIM/link.gpx"),
        "symlink in folder": lambda: os.symlink("/etc/passwd", video / "passwd"),
        "rmdir video folder": lambda: os.rmdir(video),
        "rmdir source dir": lambda: os.rmdir(m / "DCIM/Movie"),
        "unlink video folder": lambda: os.unlink(video),
        "unlink passthrough": lambda: os.unlink(other),
        "rename video folder": lambda: os.rename(video, m / "DCIM/moved.MP4"),
        "rename dir": lambda: os.rename(m / "DCIM", m / "DCIM2"),
        "rename over": lambda: os.rename(other, gpx),
        "chmod dir": lambda: os.chmod(m / "DCIM", 0o777),
        "chmod video folder": lambda: os.chmod(video, 0o777),
        "utime dir": lambda: os.utime(m / "DCIM", (0, 0)),
        "utime video folder": lambda: os.utime(video, (0, 0)),
        "setxattr root": lambda: os.setxattr(m, "user.telemetryfs.stats", b"{}"),
        "setxattr video folder": lambda: os.setxattr(video, "user.x", b"1"),
    }
    return attempts


def test_writes_of_every_kind_fail_with_erofs_and_the_source_is_bit_identical(
    mount: MountFactory, card: Path
) -> None:
    before = manifest(card)
    m = mount(card, "--no-disk-cache", "-o", "show_other")
    for path in _all_files(m.path):
        read_all(path)
    failures = {}
    for label, attempt in _write_attempts(m.path).items():
        try:
            attempt()
        except OSError as exc:
            if exc.errno != errno.EROFS:
                failures[label] = errno.errorcode.get(exc.errno or 0, str(exc))
        else:
            failures[label] = "succeeded"
    assert failures == {}
    for path in _all_files(m.path):
        read_all(path)
    assert m.unmount() == 0
    assert manifest(card) == before


def test_copying_the_whole_mount_leaves_the_source_bit_identical(
    mount: MountFactory, card: Path, tmp_path: Path
) -> None:
    before = manifest(card)
    m = mount(card, "-o", "show_other", cache_dir=tmp_path / "cache")
    subprocess.run(["cp", "-a", f"{m.path}/.", str(tmp_path / "copy")], check=True)
    subprocess.run(["rsync", "-a", f"{m.path}/", str(tmp_path / "rsync")], check=True)
    assert m.unmount() == 0
    m2 = mount(card, "-o", "show_other", cache_dir=tmp_path / "cache")  # from the disk cache
    for path in _all_files(m2.path):
        read_all(path)
    assert manifest(card) == before
    # The cache lives outside SOURCE: nothing was added to the card.
    assert sorted(manifest(card)) == sorted(before)


# -- nobody let in -----------------------------------------------------------------------


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder other users can traverse (pytest's tmp_path is private to root)."""
    d = Path(tempfile.mkdtemp(prefix="telemetryfs-perm-"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        for mnt in d.glob("mnt*"):
            if os.path.ismount(mnt):
                subprocess.run(["fusermount3", "-u", "-z", str(mnt)], check=False)
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def fuse_for_users() -> Iterator[None]:
    """Let a non-root daemon mount, as distributions do (/dev/fuse 0666), restoring after.

    Containers often ship /dev/fuse 0600; libfuse opens it before it would fall
    back to fusermount3.
    """
    mode = os.stat("/dev/fuse").st_mode & 0o777
    os.chmod("/dev/fuse", mode | 0o666)
    try:
        yield
    finally:
        os.chmod("/dev/fuse", mode)


@pytest.fixture
def user_allow_other(fuse_for_users: None) -> Iterator[None]:
    """Let a non-root daemon use allow_other (fuse.conf), restoring the file after."""
    conf = Path("/etc/fuse.conf")
    old = conf.read_bytes() if conf.exists() else None
    text = old.decode() if old else ""
    if not any(line.strip() == "user_allow_other" for line in text.splitlines()):
        conf.write_text(
            text + ("" if text.endswith("\n") or not text else "\n") + "user_allow_other\n"
        )
    try:
        yield
    finally:
        if old is None:
            conf.unlink()
        else:
            conf.write_bytes(old)


def _perm_card(root: Path) -> Path:
    card = root / "card"
    card.mkdir()
    make_gopro(card / "open.MP4", duration_s=3.0, video_mbps=0.5)
    shutil.copyfile(card / "open.MP4", card / "secret.MP4")
    (card / "open.txt").write_text("for everyone\n")
    (card / "secret.txt").write_text("root only\n")
    (card / "private").mkdir()
    shutil.copyfile(card / "open.MP4", card / "private/inside.MP4")
    for path in (card / "secret.MP4", card / "secret.txt"):
        path.chmod(0o600)
    (card / "private").chmod(0o700)
    for path in (card, card / "open.MP4", card / "open.txt"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return card


class Daemon:
    def __init__(self, source: Path, mnt: Path, log: Path, prefix: list[str], *opts: str):
        mnt.mkdir()
        if prefix:
            shutil.chown(mnt, "nobody", "nogroup")
        cmd = [*prefix, sys.executable, "-m", "telemetryfs.fs", str(source), str(mnt)]
        cmd += ["-f", "--debug", "--no-disk-cache", *opts]
        self.mnt, self.log = mnt, log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=out)
        deadline = time.monotonic() + 20
        while not os.path.ismount(mnt):
            assert self.proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)

    def stop(self) -> None:
        subprocess.run(["fusermount3", "-u", str(self.mnt)], check=False)
        assert self.proc.wait(10) == 0, self.log.read_text()
        text = self.log.read_text()
        assert "Traceback" not in text, text[text.find("Traceback") - 2000 :]


# Run as nobody: try each path, print what happened (bytes read or errno name).
_PROBE = """
import errno, json, os, sys
out = {}
for p in sys.argv[1:]:
    try:
        if os.path.isdir(p):
            out[p] = sorted(os.listdir(p))
        else:
            with open(p, "rb") as f:
                out[p] = len(f.read())
    except OSError as e:
        out[p] = errno.errorcode.get(e.errno, str(e))
print(json.dumps(out))
"""


def _probe(mnt: Path, rels: list[str], *, as_nobody: bool) -> dict[str, object]:
    prefix = NOBODY if as_nobody else []
    proc = subprocess.run(
        [*prefix, sys.executable, "-c", _PROBE, *(str(mnt / r) for r in rels)],
        capture_output=True,
        text=True,
        check=True,
    )
    raw: dict[str, object] = json.loads(proc.stdout)
    return {r: raw[str(mnt / r)] for r in rels}


PROBED = [
    "open.MP4/track.gpx",
    "open.txt",
    "secret.MP4/track.gpx",
    "secret.MP4/info.json",
    "secret.MP4",
    "secret.txt",
    "private",
    "private/inside.MP4/track.gpx",
]


def _leaks(result: dict[str, object]) -> dict[str, object]:
    """What of the secret sources came through (sizes or listings of their content)."""
    leaked = {}
    for rel, got in result.items():
        if rel.startswith(("secret", "private")) and not (isinstance(got, str) and got.isupper()):
            leaked[rel] = got
    return leaked


def test_a_source_the_daemon_user_cannot_read_is_not_readable_through_the_mount(
    shared_dir: Path, user_allow_other: None
) -> None:
    card = _perm_card(shared_dir)
    daemon = Daemon(
        card, shared_dir / "mnt0", shared_dir / "log0", NOBODY, "-o", "allow_other,show_other"
    )
    try:
        for as_nobody in (True, False):  # the daemon's user, and root through allow_other
            result = _probe(daemon.mnt, PROBED, as_nobody=as_nobody)
            assert isinstance(result["open.MP4/track.gpx"], int), result
            assert result["open.txt"] == len("for everyone\n")
            assert _leaks(result) in ({}, {"secret.MP4": ["info.json"]}), result
            info = (
                json.loads((daemon.mnt / "secret.MP4/info.json").read_bytes())
                if (daemon.mnt / "secret.MP4").is_dir()
                else {"gps_samples": 0}
            )
            assert info["gps_samples"] == 0
        assert daemon.proc.poll() is None
    finally:
        daemon.stop()


def test_a_source_unreadable_to_others_stays_so_with_allow_other(shared_dir: Path) -> None:
    card = _perm_card(shared_dir)
    daemon = Daemon(
        card, shared_dir / "mnt1", shared_dir / "log1", [], "-o", "allow_other,show_other"
    )
    try:
        other = _probe(daemon.mnt, PROBED, as_nobody=True)
        assert isinstance(other["open.MP4/track.gpx"], int), other
        assert other["open.txt"] == len("for everyone\n")
        assert _leaks(other) == {}, other
        assert other["secret.MP4/track.gpx"] == "EACCES"
        assert other["secret.txt"] == "EACCES"
        owner = _probe(daemon.mnt, PROBED, as_nobody=False)
        assert (daemon.mnt / "secret.MP4/track.csv").read_bytes() == (
            daemon.mnt / "open.MP4/track.csv"
        ).read_bytes()
        assert isinstance(owner["secret.MP4/track.gpx"], int), owner
        assert owner["secret.txt"] == len("root only\n")
        mode = (daemon.mnt / "secret.MP4").stat().st_mode & 0o777
        assert mode & 0o077 == 0, oct(mode)
    finally:
        daemon.stop()


# -- SOURCE is the boundary ---------------------------------------------------------------


@pytest.fixture
def linked_card(tmp_path: Path) -> Path:
    card = tmp_path / "card"
    (card / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    make_gopro(card / "clip.MP4", duration_s=3.0, video_mbps=0.5)
    shutil.copyfile(card / "clip.MP4", outside / "elsewhere.MP4")
    (outside / "secret.txt").write_text("outside SOURCE\n")
    links = {
        "shadow": "/etc/shadow",
        "passwd.txt": "/etc/passwd",
        "up": "..",
        "self": ".",
        "root": "/",
        "etc": "/etc",
        "out.MP4": str(outside / "elsewhere.MP4"),
        "out_rel.MP4": "../outside/elsewhere.MP4",
        "secret.txt": "../outside/secret.txt",
        "chain1": "chain2",
        "chain2": "/etc/passwd",
        "dangling.MP4": "nowhere.MP4",
        "loop_a": "loop_b",
        "loop_b": "loop_a",
        "sub/escape.MP4": "../../outside/elsewhere.MP4",
        "sub/updir": "../..",
        "inside.MP4": "clip.MP4",
        "sub/inside_abs.MP4": str(card / "clip.MP4"),
    }
    for name, target in links.items():
        os.symlink(target, card / name)
    return card


ESCAPES = {
    "shadow",
    "passwd.txt",
    "up",
    "self",
    "root",
    "etc",
    "out.MP4",
    "out_rel.MP4",
    "secret.txt",
    "chain1",
    "chain2",
    "dangling.MP4",
    "loop_a",
    "loop_b",
}


def test_symlinks_never_lead_out_of_source(mount: MountFactory, linked_card: Path) -> None:
    m = mount(linked_card, "--no-disk-cache", "-o", "show_other")
    listed = set(os.listdir(m.path))
    assert listed & ESCAPES == set()
    assert {"clip.MP4", "inside.MP4", "sub"} <= listed
    assert set(os.listdir(m.path / "sub")) == {"inside_abs.MP4"}
    for name in [*ESCAPES, "sub/escape.MP4", "sub/updir"]:
        assert not os.path.lexists(m.path / name), name
        with pytest.raises(FileNotFoundError):
            os.stat(m.path / name)
    # Links inside SOURCE serve the file they point at.
    for name in ("inside.MP4", "sub/inside_abs.MP4"):
        assert (m.path / name / "track.gpx").read_bytes() == (
            m.path / "clip.MP4/track.gpx"
        ).read_bytes()
    everything = b"".join(read_all(p) for p in _all_files(m.path))
    assert b"outside SOURCE" not in everything
    assert b"root:" not in everything


def test_a_file_swapped_for_a_link_after_listing_is_not_followed(
    mount: MountFactory, tmp_path: Path
) -> None:
    card = tmp_path / "card"
    card.mkdir()
    (card / "notes.txt").write_text("harmless\n")
    (tmp_path / "secret.txt").write_text("outside SOURCE\n")
    m = mount(card, "--no-disk-cache", "-o", "show_other")
    with (m.path / "notes.txt").open("rb") as f:
        assert f.read() == b"harmless\n"
    (card / "notes.txt").unlink()
    os.symlink(tmp_path / "secret.txt", card / "notes.txt")
    # Within the attribute timeout the kernel may still use the old node: it must
    # not follow the link; after it, the link is not shown at all.
    for _ in range(2):
        with contextlib.suppress(OSError):
            assert b"outside" not in (m.path / "notes.txt").read_bytes()
        time.sleep(1.1)
    assert not os.path.lexists(m.path / "notes.txt")


ODD_NAMES = [
    b"caf\xe9.MP4",  # Latin-1, not UTF-8
    b"\xff\xfe.MP4",
    b"with space.MP4",
    b"new\nline.MP4",
    b"tab\there.MP4",
    b"-dash.MP4",
    "cafe\u0301 nfd.MP4".encode(),
    "東京.MP4".encode(),
    b"x" * 251 + b".MP4",  # 255 bytes, the longest name
    b"trailing dot..MP4",
    b"star*?[.MP4",
]


def test_odd_names_are_served_intact(mount: MountFactory, tmp_path: Path) -> None:
    card = tmp_path / "card"
    card.mkdir()
    make_gopro(card / "plain.MP4", duration_s=3.0, video_mbps=0.5)
    src = os.fsencode(card)
    odd_dir = os.path.join(src, b"dir \xe9\n")
    os.mkdir(odd_dir)
    for name in ODD_NAMES:
        shutil.copyfile(card / "plain.MP4", os.path.join(src, name))
        shutil.copyfile(card / "plain.MP4", os.path.join(odd_dir, name))
    m = mount(card, "--no-disk-cache")
    mnt = os.fsencode(m.path)
    assert sorted(os.listdir(mnt)) == sorted([*os.listdir(src), b"recordings"])
    assert sorted(os.listdir(os.path.join(mnt, b"dir \xe9\n"))) == sorted(os.listdir(odd_dir))
    reference = (m.path / "plain.MP4/track.csv").read_bytes()
    for base in (mnt, os.path.join(mnt, b"dir \xe9\n")):
        for name in ODD_NAMES:
            folder = os.path.join(base, name)
            assert os.path.isdir(folder), name
            with open(os.path.join(folder, b"track.csv"), "rb") as f:
                assert f.read() == reference, name
            info = serve_folder(Path(os.fsdecode(folder)))
            # JSON is UTF-8: bytes that are not show as U+FFFD there (the name is intact).
            assert info["source"]["name"] == name.decode("utf-8", "replace")
