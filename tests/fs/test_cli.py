"""The command line: help, version, and one clear line (no traceback) for user errors."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from telemetryfs.fs.fuse.cli import UsageError, parse_mount_options, parse_time_offset
from telemetryfs.fs.options import Options
from tests.paths import ROOT


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "telemetryfs.fs", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_help_shows_usage_and_mount_options() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    assert "SOURCE" in result.stdout.upper()
    assert "time_offset" in result.stdout
    assert "allow_other" in result.stdout


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("telemetryfs ")


def test_console_script_is_installed() -> None:
    exe = Path(sys.executable).parent / "telemetryfs"
    result = subprocess.run([exe, "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def _one_line_error(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]


def test_missing_source_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "mnt").mkdir()
    _one_line_error(run_cli(str(tmp_path / "nope"), str(tmp_path / "mnt")), "does not exist")


def test_source_that_is_a_file_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "mnt").mkdir()
    (tmp_path / "clip.MP4").write_bytes(b"x")
    _one_line_error(run_cli(str(tmp_path / "clip.MP4"), str(tmp_path / "mnt")), "not a directory")


def test_missing_mountpoint_is_one_clear_line(tmp_path: Path) -> None:
    _one_line_error(run_cli(str(tmp_path), str(tmp_path / "absent")), "does not exist")


def test_non_empty_mountpoint_is_one_clear_line(tmp_path: Path) -> None:
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    (mnt / "file").write_text("x")
    _one_line_error(run_cli(str(src), str(mnt)), "not empty (mount with -o nonempty")


def test_mountpoint_that_is_a_file_is_one_clear_line(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (tmp_path / "file").write_text("x")
    _one_line_error(run_cli(str(src), str(tmp_path / "file")), "not a directory")


def test_unknown_mount_option_is_one_clear_line(tmp_path: Path) -> None:
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    _one_line_error(run_cli(str(src), str(mnt), "-o", "frobnicate"), "unknown mount option")


def test_rw_is_a_warning_not_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """mount(8) passes rw unless the fstab line says ro: the mount goes on, read-only."""
    options = Options()
    parse_mount_options(["rw"], options)
    assert capsys.readouterr().err == "telemetryfs: warning: -o rw ignored, mounting read-only\n"


def test_mount8_options_are_accepted_and_change_nothing() -> None:
    passed_on = (
        "ro,dev,nodev,suid,nosuid,exec,noexec,auto,noauto,user,users,nouser,nofail,_netdev,"
        "defaults,noatime,relatime,x-systemd.automount,x-systemd.device-timeout=5,"
        "x-gvfs-show,x-gvfs-name=Tracks,x-mount.mkdir,comment=card"
    )
    options = Options()
    parse_mount_options([passed_on], options)
    assert options == Options()


def test_desktop_options_parse(tmp_path: Path) -> None:
    options = Options()
    parse_mount_options([f"prefetch,nonempty,cache_dir={tmp_path}"], options)
    assert (options.prefetch, options.nonempty, options.disk_cache) == (True, True, tmp_path)


def test_bad_option_value_is_one_clear_line(tmp_path: Path) -> None:
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    _one_line_error(run_cli(str(src), str(mnt), "-o", "cache_mb=lots"), "cache_mb='lots'")
    _one_line_error(run_cli(str(src), str(mnt), "-o", "time_offset=+25"), "time_offset='+25'")


def test_argument_errors_are_one_line_with_status_1() -> None:
    _one_line_error(run_cli(), "required: SOURCE, MOUNTPOINT")
    _one_line_error(run_cli("a", "b", "--frobnicate"), "unrecognized arguments: --frobnicate")


def test_unreachable_remote_source_is_one_clear_line_not_an_empty_mount(tmp_path: Path) -> None:
    # fsspec lists an unreachable server as an empty folder; the mount must not.
    (tmp_path / "mnt").mkdir()
    result = run_cli("http://127.0.0.1:9/cards/", str(tmp_path / "mnt"))
    _one_line_error(result, "cannot list http://127.0.0.1:9/cards/")
    assert not os.path.ismount(tmp_path / "mnt")


def test_status_of_a_plain_folder_is_one_clear_line(tmp_path: Path) -> None:
    _one_line_error(run_cli("status", str(tmp_path)), "not a telemetryfs mount")
    _one_line_error(run_cli("status", str(tmp_path / "absent")), "does not exist")


def test_status_argument_errors_are_one_line_with_status_1() -> None:
    _one_line_error(run_cli("status"), "required: MOUNTPOINT")
    _one_line_error(run_cli("status", "--frobnicate", "/mnt"), "unrecognized arguments")


def test_status_help_names_its_options() -> None:
    result = run_cli("status", "--help")
    assert result.returncode == 0
    assert "--json" in result.stdout
    assert "--watch" in result.stdout


def test_fusermount3_missing_is_one_clear_line(tmp_path: Path) -> None:
    """A user (not root) mounts through fusermount3: without it, one line says so."""
    if os.geteuid() != 0:
        pytest.fail("this test switches to the user nobody, which needs root")
    top = Path(tempfile.mkdtemp(prefix="telemetryfs-nobody-", dir="/tmp"))
    try:
        src, mnt = top / "src", top / "mnt"
        src.mkdir()
        mnt.mkdir()
        top.chmod(0o755)
        result = _run_as_nobody(src, mnt, top)
    finally:
        shutil.rmtree(top)
    _one_line_error(result, "fusermount3 not found")


def test_unreadable_source_is_one_clear_line(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.fail("this test switches to the user nobody, which needs root")
    # tmp_path's parents are root's, mode 0700: nobody may not look inside.
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    _one_line_error(_run_as_nobody(src, mnt, tmp_path), "Permission denied")


def _run_as_nobody(src: Path, mnt: Path, home: Path) -> subprocess.CompletedProcess[str]:
    # PATH without fusermount3; the interpreter by its full path.
    return subprocess.run(
        [shutil.which("setpriv") or "setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
         sys.executable, "-m", "telemetryfs.fs", str(src), str(mnt)],
        cwd=ROOT, capture_output=True, text=True, timeout=30, check=False,
        env={"PATH": "/nonexistent", "HOME": str(home)},
    )  # fmt: skip


def test_no_fuse_is_one_clear_line(tmp_path: Path) -> None:
    # Hide /dev/fuse from the daemon with a private mount namespace and an empty /dev.
    if subprocess.run(["unshare", "--help"], capture_output=True, check=False).returncode != 0:
        pytest.fail("unshare (util-linux) is needed for this test")
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    script = f"mount -t tmpfs none /dev && exec {sys.executable} -m telemetryfs.fs {src} {mnt}"
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    _one_line_error(result, "no FUSE")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("+2", 7200), ("-5", -18000), ("-5:30", -19800), ("+05:45", 20700), ("0", 0)],
)
def test_time_offset_parses(text: str, seconds: int) -> None:
    assert parse_time_offset(text) == seconds


@pytest.mark.parametrize("text", ["", "2h", "+15", "+1:75", "abc"])
def test_time_offset_rejects_nonsense(text: str) -> None:
    with pytest.raises(UsageError):
        parse_time_offset(text)


@pytest.mark.parametrize(
    ("option", "field", "value"),
    [("cache_mb=128", "cache_mb", 128), ("disk_cache_mb=200", "disk_cache_mb", 200)],
)
def test_size_options_parse(option: str, field: str, value: int) -> None:
    options = Options()
    parse_mount_options([option], options)
    assert getattr(options, field) == value


@pytest.mark.parametrize("option", ["disk_cache_mb=0", "disk_cache_mb=-5", "disk_cache_mb=1G"])
def test_size_options_reject_nonsense(option: str) -> None:
    with pytest.raises(UsageError, match="megabytes"):
        parse_mount_options([option], Options())


def test_recordings_options() -> None:
    options = Options()
    assert options.recordings == "recordings"
    assert options.trip_gap_s == 600.0
    parse_mount_options(["recordings=joined,trip_gap=900"], options)
    assert (options.recordings, options.trip_gap_s) == ("joined", 900.0)
    parse_mount_options(["norecordings"], options)
    assert options.recordings is None
    for bad in ("recordings=", "recordings=a/b", "recordings=..", "trip_gap=-1", "trip_gap=soon"):
        with pytest.raises(UsageError):
            parse_mount_options([bad], Options())


def test_video_option() -> None:
    options = Options()
    assert options.video is False  # off: rsync of the mount copies derived tracks only
    parse_mount_options(["ro,video"], options)
    assert options.video is True
    assert "  video " in run_cli("--help").stdout


def test_video_of_a_remote_source_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "mnt").mkdir()
    result = run_cli("http://127.0.0.1:9/cards/", str(tmp_path / "mnt"), "-o", "video")
    _one_line_error(result, "-o video needs a local SOURCE")


def test_prefetch_of_a_remote_source_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "mnt").mkdir()
    result = run_cli("http://127.0.0.1:9/cards/", str(tmp_path / "mnt"), "-o", "prefetch")
    _one_line_error(result, "-o prefetch needs a local SOURCE")


@pytest.mark.parametrize("where", ["process", "thread"])
def test_parse_in_chooses_where_videos_are_parsed(where: str) -> None:
    options = Options()
    parse_mount_options([f"parse_in={where}"], options)
    assert options.parse_in == where


def test_parse_in_takes_only_process_or_thread() -> None:
    with pytest.raises(UsageError, match="expected process or thread"):
        parse_mount_options(["parse_in=fork"], Options())


@pytest.mark.parametrize(("value", "videos"), [("0", 0), ("5", 5), ("64", 64)])
def test_readahead_sets_how_many_videos_are_prepared(value: str, videos: int) -> None:
    options = Options()
    parse_mount_options([f"readahead={value}"], options)
    assert options.read_ahead == videos


def test_readahead_is_on_by_default() -> None:
    assert Options().read_ahead > 0


@pytest.mark.parametrize("value", ["-1", "65", "three", ""])
def test_readahead_takes_only_a_count_up_to_64(value: str) -> None:
    with pytest.raises(UsageError, match="0 to 64"):
        parse_mount_options([f"readahead={value}"], Options())
