"""``telemetryfs SOURCE MOUNTPOINT [-f] [-o OPT[,OPT...]]``: mount, serve, unmount.

Also ``telemetryfs status MOUNTPOINT`` (fs/fuse/status.py). Works as a mount
helper: ``mount -t fuse.telemetryfs`` and fstab lines go through mount.fuse3,
which runs ``telemetryfs SOURCE MOUNTPOINT -o OPTS``; the options mount(8)
adds are accepted and ignored (see MOUNT8_OPTIONS).

The one place that owns the mount's lifetime (as in s3ql): it checks the
arguments, mounts, and either stays in the foreground (``-f``) or, like
sshfs, returns once the mount is ready and keeps serving from a background
process. SIGINT/SIGTERM unmount cleanly; ``fusermount3 -u MOUNTPOINT`` ends the
daemon. Problems the user can fix are one line on stderr and exit status 1,
never a traceback.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import faulthandler
import logging
import logging.handlers
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pyfuse3
import trio

from telemetryfs.fs.cache import default_cache_dir
from telemetryfs.fs.options import Options
from telemetryfs.fs.tree import SourceTree

if TYPE_CHECKING:
    from .prefetch import Prefetcher
    from .store import Store

log = logging.getLogger("telemetryfs")

SYSLOG_SOCKET = "/dev/log"

USAGE_EPILOG = """\
mount options (-o, comma-separated):
  allow_other          let other users in (the kernel then checks the permissions
                       shown, which follow the source files' read bits)
  show_other           also pass through files that are not footage, read-only
  cache_mb=N           memory for parsed and rendered data (default 40)
  cache_dir=DIR        the disk cache's folder (as --cache-dir; for fstab lines)
  disk_cache_mb=N      disk for them, kept across mounts (default 1024; least
                       recently used videos' entries go first)
  spill_kb=N           a generated file bigger than this (a long track.gpx) is
                       written to the disk cache as it renders and read from
                       there, never held in memory (default 4096)
  time_offset=+H[:MM]  the dashcam clock's offset from UTC, for cameras that record
                       local time (e.g. time_offset=+2); GoPro times are GPS UTC
  camera_clock=keep    keep DJI SRT and 70mai times as the camera's wall clock
                       wrote them (default: UTC by the time zone at the first fix)
  recordings=NAME      the folder of joined recordings at the root (default
                       "recordings"; a source entry of that name wins: rename it)
  norecordings         no recordings folder
  trip_gap=SECONDS     a dashcam pause longer than this (beyond the segment length)
                       starts a new drive (default 600)
  video                each video folder also shows the video itself (GX010042.MP4/
                       GX010042.MP4, served from the source) and each recording its
                       chapters joined into one MP4 (no copy on disk), with the
                       subtitles beside them (GX010042.srt); off, so that rsync of
                       the mount copies the derived tracks only
  list_ttl=SECONDS     remote SOURCE: how long a listing is trusted (default 30)
  endpoint_url=URL, region=NAME, profile=NAME, anon
                       remote SOURCE (s3://): where and as whom; credentials come
                       from AWS_* variables or ~/.aws, as for any AWS tool
  prefetch             parse the whole card in the background once mounted (GPS
                       tracks first, then every stream), filling the caches;
                       follow it with 'telemetryfs status MOUNTPOINT'
  nonempty             mount even if MOUNTPOINT is not empty (hides its files)
  parse_in=thread|process
                       where a local video is parsed: in a thread of the daemon
                       (default), or in a worker process beside it, which keeps
                       the mount more responsive while long files parse but
                       holds ~60 MB more and hands each parse back (~0.1 s an
                       hour of GoPro)
  readahead=N          when a video folder is listed (rsync, find, a file
                       manager), prepare the next N videos of its folder in a
                       worker process, into the disk cache (default 3; 0: off;
                       needs the disk cache)
  ro, default_permissions, fsname=..., subtype=...   accepted (always in effect)
  rw                   accepted with a warning: the mount is always read-only
  dev, nodev, suid, nosuid, exec, noexec, auto, noauto, user, users, nouser,
  nofail, _netdev, defaults, atime, noatime, relatime, x-systemd.*, x-gvfs-*, ...
                       what mount(8) and fstab pass on: accepted and ignored

commands:
  telemetryfs status MOUNTPOINT [--json] [--watch]
                       the prefetch's progress: videos parsed, bytes read, rate,
                       time left, failures (see telemetryfs status --help)

examples:
  telemetryfs /media/sdcard ~/tracks
  telemetryfs -o endpoint_url=http://nas:8333,list_ttl=60 s3://footage/2026 ~/tracks
  telemetryfs -o allow_other,time_offset=-5 /nas/dashcam /mnt/tracks
  mount -t fuse.telemetryfs -o prefetch,allow_other /media/sdcard /mnt/tracks
  fusermount3 -u ~/tracks

/etc/fstab:
  /media/sdcard  /mnt/tracks  fuse.telemetryfs  ro,allow_other,prefetch,nofail  0  0
"""


class UsageError(Exception):
    """A problem the user can fix: reported as one line, exit status 1."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 1, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"{self.prog}: {message} (see {self.prog} --help)\n")


@dataclass(slots=True)
class Config:
    source: Path
    mountpoint: Path
    foreground: bool
    debug: bool
    debug_fuse: bool
    options: Options
    log_file: Path | None
    remote: str | None = None  # a SOURCE URL (s3://, gs://, http(s)://, file://)


def _version() -> str:
    try:
        return version("telemetryfs")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="telemetryfs",
        usage="%(prog)s [-f] [-o OPT[,OPT...]] [options] SOURCE MOUNTPOINT\n"
        "       %(prog)s status MOUNTPOINT [--json] [--watch]",
        description="Mount camera footage read-only: every video becomes a folder of "
        "GPS tracks (GPX, CSV, KML, GeoJSON), info.json and raw telemetry streams.",
        epilog=USAGE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "source",
        metavar="SOURCE",
        help="folder of footage (an SD card, a NAS share), or a URL: s3://bucket/prefix, "
        "gs://..., https://..., file://...",
    )
    parser.add_argument("mountpoint", metavar="MOUNTPOINT", help="an empty directory to mount on")
    parser.add_argument("-f", "--foreground", action="store_true", help="stay in the foreground")
    parser.add_argument(
        "-o",
        dest="opts",
        action="append",
        default=[],
        metavar="OPT[,OPT...]",
        help="mount options, comma-separated (listed below)",
    )
    parser.add_argument("--debug", action="store_true", help="log debug messages (implies -f)")
    parser.add_argument("--debug-fuse", action="store_true", help="also log libfuse's requests")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="disk cache folder (default $XDG_CACHE_HOME/telemetryfs)",
    )
    parser.add_argument("--no-disk-cache", action="store_true", help="keep nothing on disk")
    parser.add_argument(
        "--log-file", type=Path, default=None, metavar="FILE", help="log here when in background"
    )
    parser.add_argument("-V", "--version", action="version", version=f"telemetryfs {_version()}")
    return parser


def build_manpage_parser() -> argparse.ArgumentParser:
    """The parser argparse-manpage reads (scripts/setup): its SYNOPSIS is one line,
    the status command is in the page's COMMENTS (the epilog)."""
    parser = build_parser()
    parser.usage = None
    return parser


_OFFSET = re.compile(r"^([+-]?)(\d{1,2})(?::([0-5]\d))?$")
_ACCEPTED = {"ro", "default_permissions", "fsname", "subtype"}
# What mount(8), mount.fuse3 and fstab pass on besides our own options: none of
# them means anything to a read-only FUSE filesystem (the kernel mount is always
# nodev,nosuid for FUSE run by a user), so they are accepted and ignored.
MOUNT8_OPTIONS = {
    "dev", "nodev", "suid", "nosuid", "exec", "noexec", "auto", "noauto", "user", "users",
    "nouser", "owner", "group", "nofail", "_netdev", "defaults", "async", "sync", "atime",
    "noatime", "relatime", "norelatime", "strictatime", "lazytime", "nolazytime",
    "diratime", "nodiratime", "silent", "loud", "comment",
}  # fmt: skip
# x-systemd.automount, x-gvfs-show, x-mount.mkdir ...: userspace options (mount(8)).
MOUNT8_PREFIXES = ("x-",)


def parse_time_offset(text: str) -> float:
    """``+2``, ``-5:30``, ``+05:45`` → seconds east of UTC."""
    match = _OFFSET.match(text.strip())
    if match is None or int(match.group(2)) > 14:
        raise UsageError(f"time_offset={text!r}: expected ±H or ±H:MM, e.g. +2 or -5:30")
    sign = -1 if match.group(1) == "-" else 1
    return sign * (int(match.group(2)) * 3600 + int(match.group(3) or 0) * 60)


def _megabytes(name: str, arg: str) -> int:
    if not arg.isdigit() or int(arg) < 1:
        raise UsageError(f"{name}={arg!r}: expected a positive number of megabytes")
    return int(arg)


def parse_mount_options(values: list[str], options: Options) -> None:
    for item in (o.strip() for value in values for o in value.split(",")):
        if not item:
            continue
        name, _, arg = item.partition("=")
        if name == "allow_other":
            options.allow_other = True
        elif name == "show_other":
            options.show_other = True
        elif name == "cache_mb":
            options.cache_mb = _megabytes(name, arg)
        elif name == "disk_cache_mb":
            options.disk_cache_mb = _megabytes(name, arg)
        elif name == "spill_kb":
            if not arg.isdigit():
                raise UsageError(f"{name}={arg!r}: expected a number of KiB")
            options.spill_kb = int(arg)
        elif name == "time_offset":
            options.time_offset_s = parse_time_offset(arg)
        elif name == "camera_clock":
            if arg not in ("keep", "utc"):
                raise UsageError(f"camera_clock={arg!r}: expected keep or utc")
            options.keep_camera_clock = arg == "keep"
        elif name == "recordings":
            options.recordings = _folder_name(name, arg)
        elif name == "norecordings":
            options.recordings = None
        elif name == "trip_gap":
            options.trip_gap_s = _seconds(name, arg)
        elif name == "video":
            options.video = True
        elif name == "list_ttl":
            options.list_ttl_s = _seconds(name, arg)
        elif name in REMOTE_OPTIONS:
            options.storage.update(_storage_option(item))
        elif name == "cache_dir":
            if not arg:
                raise UsageError("-o cache_dir= needs a folder")
            options.disk_cache = Path(arg)
        elif name == "prefetch":
            options.prefetch = True
        elif name == "nonempty":
            options.nonempty = True
        elif name == "parse_in":
            if arg not in ("process", "thread"):
                raise UsageError(f"parse_in={arg!r}: expected process or thread")
            options.parse_in = arg
        elif name == "readahead":
            if not arg.isdigit() or int(arg) > 64:
                raise UsageError(f"readahead={arg!r}: expected a number of videos, 0 to 64")
            options.read_ahead = int(arg)
        elif name == "rw":
            # mount(8) passes rw unless told ro: refusing it would break plain fstab lines.
            print("telemetryfs: warning: -o rw ignored, mounting read-only", file=sys.stderr)
        elif name in MOUNT8_OPTIONS or name.startswith(MOUNT8_PREFIXES):
            continue
        elif name not in _ACCEPTED:
            raise UsageError(f"unknown mount option: -o {item}")


# Remote options users expect on the command line (credentials stay in the
# environment or ~/.aws, never in the process list).
REMOTE_OPTIONS = ("endpoint_url", "region", "profile", "anon")


def _storage_option(item: str) -> dict[str, Any]:
    from telemetryfs.fs.remote.options import storage_options

    return storage_options([item if "=" in item else f"{item}=true"])


def _folder_name(name: str, arg: str) -> str:
    if not arg or "/" in arg or arg in (".", "..") or "\0" in arg:
        raise UsageError(f"-o {name}= needs a folder name, not {arg!r}")
    return arg


def _seconds(name: str, arg: str) -> float:
    try:
        value = float(arg)
    except ValueError:
        value = -1.0
    if not 0 <= value < 10**7:
        raise UsageError(f"-o {name}= needs seconds (a number, 0 or more), not {arg!r}")
    return value


def parse_args(argv: list[str] | None) -> Config:
    args = build_parser().parse_args(argv)
    options = Options()
    parse_mount_options(args.opts, options)
    if not args.no_disk_cache:
        options.disk_cache = args.cache_dir or options.disk_cache or default_cache_dir()
    else:
        options.disk_cache = None
    config = Config(
        source=Path(args.source),
        mountpoint=Path(args.mountpoint),
        foreground=args.foreground or args.debug,
        debug=args.debug,
        debug_fuse=args.debug_fuse,
        options=options,
        log_file=args.log_file,
        remote=args.source if "://" in args.source else None,
    )
    if config.remote is not None:
        options.recordings = None  # the recordings view walks local folders
        if options.video:
            # Videos are served by local preads of their media; a remote one
            # would stream gigabytes through the block cache meant for moovs.
            raise UsageError("-o video needs a local SOURCE (a remote one serves telemetry only)")
        if options.prefetch:
            # The prefetch walks the card's folders; a bucket is parsed as it is read.
            raise UsageError("-o prefetch needs a local SOURCE")
    check_paths(config)
    if config.remote is not None:
        check_remote(config)
    return config


# A first listing that takes longer than this prints a line when it starts and one when done.
LISTING_NOTICE_S = 2.0


def check_remote(config: Config) -> None:
    """List the remote SOURCE once: bad credentials, a missing bucket are one line here."""
    try:
        from telemetryfs.fs.remote.tree import RemoteTree, describe
    except ImportError as exc:
        raise UsageError(
            f"a remote SOURCE needs the remote extra: pip install 'telemetryfs[remote]' ({exc})"
        ) from None
    options = config.options
    url = config.remote or ""
    # A prefix of many thousand objects lists for a while: say so rather than hang silently.
    notice = threading.Timer(
        LISTING_NOTICE_S,
        lambda: print(f"telemetryfs: listing {url} ...", file=sys.stderr, flush=True),
    )
    notice.daemon = True
    started = time.monotonic()
    notice.start()
    try:
        tree = RemoteTree(url, options.storage, show_other=False, list_ttl=options.list_ttl_s)
        tree.check()
    except Exception as exc:  # any failure to list is the user's to fix: one line
        raise UsageError(f"cannot list {url}: {describe(exc)}") from None
    finally:
        notice.cancel()
    took = time.monotonic() - started
    if took >= LISTING_NOTICE_S:
        print(
            f"telemetryfs: listed {url}: {tree.sniff_count} objects in {took:.1f} s",
            file=sys.stderr,
            flush=True,
        )


def check_paths(config: Config) -> None:
    """Fail early, in one line, on what would otherwise fail obscurely."""
    if config.remote is None:
        try:
            source_st = os.stat(config.source)
            os.listdir(config.source)
        except FileNotFoundError:
            raise UsageError(f"SOURCE {str(config.source)!r} does not exist") from None
        except NotADirectoryError:
            raise UsageError(f"SOURCE {str(config.source)!r} is not a directory") from None
        except OSError as exc:
            raise UsageError(f"SOURCE {str(config.source)!r}: {exc.strerror}") from None
        if not stat.S_ISDIR(source_st.st_mode):
            raise UsageError(f"SOURCE {str(config.source)!r} is not a directory")
    mnt = config.mountpoint
    try:
        entries = os.listdir(mnt)
    except FileNotFoundError:
        raise UsageError(f"MOUNTPOINT {str(mnt)!r} does not exist") from None
    except NotADirectoryError:
        raise UsageError(f"MOUNTPOINT {str(mnt)!r} is not a directory") from None
    except OSError as exc:
        if exc.errno == errno.ENOTCONN:
            raise UsageError(
                f"MOUNTPOINT {str(mnt)!r} is a dead mount: run 'fusermount3 -u -z {mnt}' first"
            ) from None
        raise UsageError(f"MOUNTPOINT {str(mnt)!r}: {exc.strerror}") from None
    if os.path.ismount(mnt):
        raise UsageError(f"MOUNTPOINT {str(mnt)!r} is already a mount point")
    if entries and not config.options.nonempty:
        raise UsageError(
            f"MOUNTPOINT {str(mnt)!r} is not empty (mount with -o nonempty to hide its files)"
        )
    if config.remote is None and (
        config.source.resolve() == mnt.resolve()
        or mnt.resolve().is_relative_to(config.source.resolve())
    ):
        raise UsageError("MOUNTPOINT must not be inside SOURCE")
    if not os.path.exists("/dev/fuse"):
        raise UsageError("no FUSE on this machine (/dev/fuse is missing): install fuse3")
    if os.geteuid() != 0 and shutil.which("fusermount3") is None:
        raise UsageError("fusermount3 not found: install the fuse3 package")


def fuse_options(config: Config) -> set[str]:
    opts = set(pyfuse3.default_options) | {
        "fsname=telemetryfs",
        "subtype=telemetryfs",
        "ro",
        "default_permissions",
    }
    if config.options.allow_other:
        opts.add("allow_other")
    if config.debug_fuse:
        opts.add("debug")
    return opts


def setup_logging(config: Config) -> None:
    level = logging.DEBUG if config.debug else logging.INFO
    handler: logging.Handler
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    if config.log_file is not None:
        handler = logging.FileHandler(config.log_file)
    elif not config.foreground and os.path.exists(SYSLOG_SOCKET):
        # A daemon started by mount(8) or fstab has no terminal: its lines (the
        # prefetch's start and end, errors) go to syslog, i.e. the journal.
        handler = logging.handlers.SysLogHandler(SYSLOG_SOCKET)
        fmt = "telemetryfs[%(process)d]: %(levelname)s %(name)s: %(message)s"
    else:
        handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if not config.debug:
        # pyfuse3 logs every handler exception; ours are errnos on purpose.
        logging.getLogger("pyfuse3").setLevel(logging.WARNING)


async def serve(store: Store, prefetcher: Prefetcher | None = None) -> None:
    """Run the FUSE loop until unmounted or told to stop by a signal."""
    async with store.parse_processes(), trio.open_nursery() as nursery:
        if prefetcher is not None:
            nursery.start_soon(prefetcher.run)

        async def on_signals() -> None:
            with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for signum in signals:
                    log.info("signal %d: unmounting", signum)
                    pyfuse3.terminate()

        nursery.start_soon(on_signals)
        try:
            await pyfuse3.main(max_tasks=64)
        except* ConnectionAbortedError:
            # After a lazy unmount (fusermount3 -u -z) the kernel may end the
            # connection as aborted rather than gone (ENODEV) when the last open
            # file closes; libfuse only treats ENODEV as an unmount. So does an
            # abort through /sys/fs/fuse/connections. Either way the mount is
            # over, so the daemon ends cleanly.
            log.info("the kernel aborted the connection")
        nursery.cancel_scope.cancel()


def _keep_the_heap_small() -> None:
    """Two glibc settings that keep the daemon's memory to what it holds.

    - Every buffer of 128 KiB or more goes back to the system when freed. The
      daemon builds and drops buffers of many MB (a GPX, a stream window, a
      moov). glibc's mmap threshold grows with each one freed, after which such
      buffers come from the heap and stay in the process's memory. Fixed at
      128 KiB (which also stops it moving), the peak RSS of an rsync of 700 clips
      fell from 171 to 143 MB, no slower. The price: each such buffer is fresh
      pages from the kernel; stream CSV windows are therefore rendered 256 KiB at
      a time (files.py), whose arrays mostly stay under the threshold.
    - At most two malloc arenas. glibc gives each thread that allocates its own
      arena (up to 8 per core), and each keeps the memory freed in it; parses and
      renders run in a pool of threads. Two arenas took the peak RSS of the
      bench card's cold rsync from 149-150 to 147-148 MB (four runs and three),
      no slower (61-72 s against 64-71 s that hour): Python's own allocator
      serves small objects, so the threads rarely wait for an arena.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        m_mmap_threshold, m_arena_max = -3, -8  # <malloc.h>
        libc.mallopt(m_mmap_threshold, 128 * 1024)
        libc.mallopt(m_arena_max, 2)
    except (OSError, AttributeError):
        pass  # not glibc: its allocator decides


def mount(config: Config, ready: int | None = None) -> int:
    """Mount, optionally tell the parent we are ready, serve, and unmount."""
    # Imported here: --help and argument errors should not pay for the whole daemon.
    from . import announce
    from .mounts import on_local_disk
    from .operations import Operations
    from .prefetch import Prefetcher
    from .store import Store

    _preload_parsers()
    # Parses and renders run in worker threads and hold the GIL in 5 ms slices by
    # default; the event loop waiting behind two busy threads then answers a stat of
    # the root in up to hundreds of ms. 1 ms slices took the p99 wait during a
    # one-hour parse from 156-308 to 64-119 ms. A request through an I/O thread
    # passes the GIL back and forth several times, each waiting up to a slice:
    # 0.2 ms slices took its worst wait from 45-57 to 23-33 ms (test_load, three
    # hour-long clips parsed and rendered), at no cost seen in the benchmark.
    sys.setswitchinterval(0.0002)
    # Slices do not help against a parse thread's thousands of short reads, each
    # giving the GIL up and taking it back before the loop wakes: the store opens
    # sources through fuse/gil.py, whose reads pause now and then.
    _keep_the_heap_small()
    store = Store(config.options)
    store.quick_disk = store.disk is not None and on_local_disk(store.disk.base)
    store.quick_source = config.remote is None and on_local_disk(config.source)
    if config.remote is not None:
        from telemetryfs.fs.remote.tree import RemoteTree

        opts = config.options
        remote = RemoteTree(
            config.remote, opts.storage, show_other=opts.show_other, list_ttl=opts.list_ttl_s
        )
        store.opener = remote.store.opener()
        ops = Operations(remote.root, store, remote)
    else:
        ops = Operations(os.fsencode(str(config.source.resolve())), store)
    try:
        pyfuse3.init(ops, str(config.mountpoint), fuse_options(config))
    except Exception as exc:  # libfuse reports mount failures as RuntimeError
        raise UsageError(f"cannot mount on {str(config.mountpoint)!r}: {exc}") from None
    if ready is not None:
        os.write(ready, b"ok")
        os.close(ready)
        _detach_stdio(config)
    log.info("mounted %s on %s", config.remote or config.source, config.mountpoint)
    _notify_systemd(b"READY=1")
    prefetcher = None
    if config.options.prefetch and isinstance(ops.source, SourceTree):  # local only (parse_args)
        prefetcher = Prefetcher(store, ops.source)
    if config.remote is None:  # a remote source batches its own range requests
        try:
            announce.start()  # read-ahead hints from a helper process (announce.py)
        except OSError as exc:
            log.warning("no read-ahead helper (%s): parses announce their own reads", exc)
    try:
        trio.run(serve, store, prefetcher)
    finally:
        announce.stop()
        pyfuse3.close(unmount=True)
        # libfuse skips the unmount of a connection the kernel aborted, which
        # leaves a dead mountpoint ("Transport endpoint is not connected").
        _detach_if_dead(config.mountpoint)
    log.info("unmounted %s", config.mountpoint)
    return 0


def _detach_if_dead(mountpoint: Path) -> None:
    try:
        # Opening asks the kernel every time; a stat may be answered from its
        # attribute cache even on a dead connection.
        with os.scandir(mountpoint):
            return
    except OSError as exc:
        if exc.errno != errno.ENOTCONN:
            return
    command = ["fusermount3", "-u", "-z", str(mountpoint)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("cannot detach the dead mount %s: %s", mountpoint, exc)
        return
    if done.returncode == 0:
        log.info("detached the dead mount %s", mountpoint)
    else:
        log.warning("cannot detach the dead mount %s: %s", mountpoint, done.stderr.strip())


def _notify_systemd(message: bytes) -> None:
    """Tell systemd (a Type=notify unit) that the mount is ready; nothing elsewhere."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message, address)
    except OSError as exc:
        log.warning("cannot notify systemd: %s", exc)


def _preload_parsers() -> None:
    """Import every parser and renderer now, not on the first request.

    In the daemon the first ``cat track.gpx`` would otherwise pay for the
    imports (gpxpy, every format package): a tenth of a second that belongs
    to start-up.
    """
    import importlib

    from telemetryfs.parsers import registry

    for fmt in registry.FORMATS:
        fmt.extract.__module__  # noqa: B018  (the registry import loaded the packages)
    importlib.import_module("telemetryfs.fs.render")


def _detach_stdio(config: Config) -> None:
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1) if config.log_file is None and config.debug else (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def daemonize(config: Config) -> int:
    """Fork: the child mounts and serves; the parent returns once the mount is ready."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            message = pipe.read()
        if message == b"ok":
            return 0
        sys.stderr.write(message.decode(errors="replace") or "telemetryfs: mount failed\n")
        return 1
    os.close(read_end)
    os.setsid()
    code = 1
    try:
        code = mount(config, ready=write_end)
    except UsageError as exc:
        os.write(write_end, f"telemetryfs: {exc}\n".encode())
    except BaseException:
        log.exception("telemetryfs stopped on an internal error")
    finally:
        # The child never returns into the caller's code: it ends here.
        logging.shutdown()
        os._exit(code)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["status"]:
        # A folder called "status" is mounted as ./status.
        from .status import run as status

        return status(args[1:])
    try:
        config = parse_args(argv)
    except UsageError as exc:
        print(f"telemetryfs: {exc}", file=sys.stderr)
        return 1
    setup_logging(config)
    faulthandler.enable()
    faulthandler.register(signal.SIGUSR1)
    try:
        if config.foreground:
            return mount(config)
        return daemonize(config)
    except UsageError as exc:
        print(f"telemetryfs: {exc}", file=sys.stderr)
        return 1
