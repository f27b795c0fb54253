"""``telemetryfs status MOUNTPOINT [--json] [--watch]``: how far the prefetch has got.

Reads the root's ``user.telemetryfs.stats`` xattr, so any user who can see
the mount can ask (no socket, no daemon state on disk). Needs nothing of
FUSE: it is a plain getxattr.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import time
from typing import Any, NoReturn, TextIO

STATS_XATTR = "user.telemetryfs.stats"
WATCH_EVERY_S = 1.0
BAR_WIDTH = 30


class StatusError(Exception):
    """A problem the user can fix: one line, exit status 1."""


class _Parser(argparse.ArgumentParser):
    """A usage error is one line and exit status 1, as for the mount command."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="telemetryfs status",
        description="Show how far the background prefetch (-o prefetch) of a mounted "
        "card has got: videos parsed of all, bytes read, rate, time left, failures.",
    )
    parser.add_argument("mountpoint", metavar="MOUNTPOINT", help="where telemetryfs is mounted")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--watch", action="store_true", help="follow: print again every second until done"
    )
    return parser


def read_stats(mountpoint: str) -> dict[str, Any]:
    try:
        raw = os.getxattr(mountpoint, STATS_XATTR)
    except FileNotFoundError:
        raise StatusError(f"{mountpoint!r} does not exist") from None
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.ENOTSUP):
            raise StatusError(f"{mountpoint!r} is not a telemetryfs mount") from None
        if exc.errno == errno.ENOTCONN:
            raise StatusError(f"{mountpoint!r} is a dead mount (the daemon is gone)") from None
        raise StatusError(f"{mountpoint!r}: {exc.strerror}") from None
    try:
        stats: dict[str, Any] = json.loads(raw)
    except ValueError:
        raise StatusError(f"{mountpoint!r}: unreadable figures from the daemon") from None
    return stats


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def format_line(stats: dict[str, Any]) -> str:
    """One line: ``[#####.....] 120/200 videos  1.2 GB read  40.0 MB/s  ETA 1m05s  2 failed  gps``."""
    p = stats.get("prefetch") or {"state": "off"}
    state = p.get("state", "off")
    if state == "off":
        return f"prefetch off (mount with -o prefetch); {stats.get('parses', 0)} parses so far"
    videos, parsed = int(p.get("videos", 0)), int(p.get("parsed", 0))
    done_units = int(p.get("gps_parsed", 0)) + parsed
    fraction = done_units / (2 * videos) if videos else (1.0 if state == "done" else 0.0)
    filled = round(fraction * BAR_WIDTH)
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    parts = [
        f"[{bar}] {parsed}/{videos} videos",
        f"{_size(p.get('bytes_read', 0))} read",
        f"{_size(p.get('rate_bps', 0))}/s",
    ]
    if state == "done":
        parts.append(f"in {_duration(p.get('elapsed_s', 0))}")
    elif p.get("eta_s") is not None:
        parts.append(f"ETA {_duration(p['eta_s'])}")
    parts.append(f"{p.get('failed', 0)} failed")
    label = {"gps": "GPS pass", "full": "full pass", "scanning": "scanning"}.get(state, state)
    if state == "done" and p.get("stopped"):
        label = f"done, stopped early: {p['stopped']}"
    parts.append(label)
    return "  ".join(parts)


def run(argv: list[str], out: TextIO = sys.stdout) -> int:
    args = build_parser().parse_args(argv)
    try:
        stats = read_stats(args.mountpoint)
        while True:
            state = (stats.get("prefetch") or {}).get("state", "off")
            last = not args.watch or state in ("done", "off")
            if args.json:
                out.write(json.dumps(stats, sort_keys=True) + "\n")
            elif args.watch and out.isatty():
                # One line redrawn in place on a terminal; a log or pipe gets every line.
                out.write("\r\033[K" + format_line(stats) + ("\n" if last else ""))
            else:
                out.write(format_line(stats) + "\n")
            out.flush()
            if last:
                return 0
            time.sleep(WATCH_EVERY_S)
            stats = read_stats(args.mountpoint)
    except StatusError as exc:
        print(f"telemetryfs status: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
