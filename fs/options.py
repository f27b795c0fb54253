"""What the command line chose, and the counters the mount exposes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(slots=True)
class Options:
    """What the command line chose (see cli.py)."""

    show_other: bool = False
    allow_other: bool = False
    # 40 MB: an hour of real GoPro telemetry (~34 MB) fits; the daemon's peak RSS
    # over a 1,000-clip card was 172 MB at 64 and 145 MB at 40 (target 150), with
    # no extra parse (the budget drops derived data first, never the item it adds).
    cache_mb: int = 40
    time_offset_s: float = 0.0
    # -o camera_clock=keep: camera-local clocks (DJI SRT, 70mai) not moved to UTC.
    keep_camera_clock: bool = False
    disk_cache: Path | None = None
    disk_cache_mb: int = 1024
    # A generated file bigger than this is written into the disk cache as it renders
    # and read from there by range, never held whole in memory (-o spill_kb=): a
    # 3-hour recording's track.geojson is 39 MB. Only with a disk cache.
    spill_kb: int = 4096
    parse_threads: int = 1
    # Where a local video is parsed: "process" (a worker process beside the daemon,
    # fs/fuse/parse_worker.py) or "thread" (a thread of the daemon). -o parse_in=
    parse_in: str = "thread"
    # Read-ahead: when a video folder is listed, the next this many videos of its
    # folder are prepared in a worker process, into the disk cache (0: off; -o readahead=).
    read_ahead: int = 3
    # The recordings view's folder at the mount root (None: -o norecordings).
    recordings: str | None = "recordings"
    # A dashcam drive ends where segments pause longer than this beyond their length.
    trip_gap_s: float = 600.0
    # -o video: the videos themselves, and each recording's joined MP4 (fs/joined_video.py).
    video: bool = False
    # A remote SOURCE: how long its listing is trusted, and fsspec storage options.
    list_ttl_s: float = 30.0
    storage: dict[str, Any] = field(default_factory=dict)
    # Parse the whole card in the background after mounting (fs/fuse/prefetch.py).
    prefetch: bool = False
    # Mount over a non-empty MOUNTPOINT (-o nonempty; the command line refuses otherwise).
    nonempty: bool = False


@dataclass(slots=True)
class Stats:
    """Counters exposed through the root's ``user.telemetryfs.stats`` xattr."""

    parses: int = 0
    process_parses: int = 0  # of those, run in the parse process (-o parse_in=process)
    read_ahead_parses: int = 0  # of those, run ahead of a reader by the read-ahead worker
    parse_failures: int = 0
    disk_hits: int = 0
    renders: int = 0
    index_builds: int = 0
    stream_windows: int = 0  # stream CSV windows rendered for sequential readers
    stream_windows_in_threads: int = 0  # of those, in a thread (their source bytes not cached)
    sniffs: int = 0
    joins: int = 0  # recordings joined from their parts' telemetry
    video_joins: int = 0  # recordings' videos joined from their parts' moovs (-o video)
    recording_scans: int = 0  # walks of SOURCE for the recordings view
    by_path: dict[str, int] = field(default_factory=dict)
    # The background prefetch's figures (fs/fuse/prefetch.py), None when it is off.
    prefetch: Callable[[], dict[str, Any]] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "parses": self.parses,
            "process_parses": self.process_parses,
            "read_ahead_parses": self.read_ahead_parses,
            "parse_failures": self.parse_failures,
            "disk_hits": self.disk_hits,
            "renders": self.renders,
            "index_builds": self.index_builds,
            "stream_windows": self.stream_windows,
            "stream_windows_in_threads": self.stream_windows_in_threads,
            "sniffs": self.sniffs,
            "joins": self.joins,
            "video_joins": self.video_joins,
            "recording_scans": self.recording_scans,
            "prefetch": self.prefetch() if self.prefetch is not None else {"state": "off"},
        }
