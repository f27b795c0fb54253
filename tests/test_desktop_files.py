"""The files for the desktop: systemd units that systemd accepts, the installed man page.

``systemd-analyze verify`` loads a unit as systemd would and checks its
executables exist (so /usr/local/bin/telemetryfs, which scripts/setup links);
a unit with a missing command is the control that shows it can fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from telemetryfs.fs.fuse.cli import build_parser
from tests.paths import ROOT

UNITS = ROOT / "scripts" / "systemd"
MAN_PAGE = Path("/usr/local/share/man/man1/telemetryfs.1")


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze is missing: scripts/setup installs systemd")
    return subprocess.run(
        [tool, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )


def test_the_service_template_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    template = UNITS / "telemetryfs@.service"
    assert _verify(template).returncode == 0, _verify(template).stderr
    # An instance, as `systemctl --user enable telemetryfs@media-sdcard` makes it.
    instance = tmp_path / "telemetryfs@media-sdcard.service"
    instance.symlink_to(template)
    result = _verify(instance)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_the_mount_unit_passes_systemd_analyze_verify() -> None:
    result = _verify(UNITS / "mnt-tracks.mount")
    assert result.returncode == 0, result.stderr


def test_verify_fails_on_a_unit_whose_command_is_missing(tmp_path: Path) -> None:
    text = (UNITS / "telemetryfs@.service").read_text()
    broken = tmp_path / "telemetryfs@media-sdcard.service"
    broken.write_text(text.replace("/usr/local/bin/telemetryfs", "/usr/local/bin/telemetryfs-no"))
    result = _verify(broken)
    assert result.returncode != 0
    assert "telemetryfs-no" in result.stderr


def test_the_man_page_is_installed_and_renders() -> None:
    """``man telemetryfs``, as a new user types it, finds the page scripts/setup
    installed, and the page is this checkout's (every option of --help is in it)."""
    assert MAN_PAGE.is_file(), "scripts/setup installs the man page"
    result = subprocess.run(
        ["man", "telemetryfs"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "MANPAGER": "cat", "MANWIDTH": "100", "LANG": "C.UTF-8"},
    )
    assert result.returncode == 0, result.stderr
    page = result.stdout
    assert page.startswith("TELEMETRYFS(1)"), page[:200]
    for needle in ("SOURCE", "MOUNTPOINT", "prefetch", "telemetryfs status", "fstab", "nonempty"):
        assert needle in page, needle
    for action in build_parser()._actions:
        for flag in action.option_strings:
            assert flag in page, f"{flag} is not in the installed man page: run scripts/setup"
