"""The command line: help, version, and one clear line (no traceback) for user errors."""

from __future__ import annotations

import subprocess
import sys
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
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]


def test_missing_source_is_one_clear_line(tmp_path: Path) -> None:
    (tmp_path / "mnt").mkdir()
    _one_line_error(run_cli(str(tmp_path / "nope"), str(tmp_path / "mnt")), "not a directory")


def test_missing_mountpoint_is_one_clear_line(tmp_path: Path) -> None:
    _one_line_error(run_cli(str(tmp_path), str(tmp_path / "absent")), "does not exist")


def test_non_empty_mountpoint_is_one_clear_line(tmp_path: Path) -> None:
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    (mnt / "file").write_text("x")
    _one_line_error(run_cli(str(src), str(mnt)), "not empty")


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


def test_rw_is_refused(tmp_path: Path) -> None:
    src, mnt = tmp_path / "src", tmp_path / "mnt"
    src.mkdir()
    mnt.mkdir()
    _one_line_error(run_cli(str(src), str(mnt), "-o", "rw"), "read-only")


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
