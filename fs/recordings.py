"""The ``recordings/`` view: GoPro chapters and dashcam drives as one folder each (no FUSE).

:class:`RecordingsIndex` walks SOURCE (names and stats only: listing the view
parses nothing), groups the footage with :mod:`.recording_names`, and answers
what a folder of the view holds. It mirrors the source's directory tree: a
directory of the view exists where some recording's folder lies below it.

A recording's version is its members' versions: :class:`RecordingKey` holds
the :class:`SourceKey` of every part, so a chapter added, grown or removed
while mounted gives a new key (new sizes, new content) and the parts' own
caches are shared with their video folders.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import threading
import time
from dataclasses import dataclass
from typing import Any

from telemetryfs.fs.cache import SourceKey
from telemetryfs.fs.recording_names import (
    SINGLE,
    FootageFile,
    Recording,
    group_recordings,
)
from telemetryfs.fs.render_common import iso_millis, iso_utc, rounded
from telemetryfs.fs.render_concat import CONCAT
from telemetryfs.fs.render_info import RECORDING_INFO
from telemetryfs.fs.view import GC_PAUSE
from telemetryfs.parsers import detect, registry
from telemetryfs.parsers.errors import ParseError
from telemetryfs.parsers.extract import open_file
from telemetryfs.parsers.join import (
    DASHCAM_DRIVE,
    Gap,
    JoinFacts,
    PartFacts,
    PartInput,
    join_parts,
)
from telemetryfs.parsers.model import ParseWarning, Telemetry


@dataclass(frozen=True, slots=True)
class PartKey:
    """One member of a recording: its version, where it is, what it is."""

    key: SourceKey
    path: str  # relative to SOURCE
    number: int
    role: str
    missing_before: bool = False


@dataclass(frozen=True, slots=True)
class RecordingKey:
    """One version of one recording (hashable: it keys the caches like a SourceKey)."""

    recording: Recording
    parts: tuple[PartKey, ...]
    events: tuple[PartKey, ...]

    @property
    def folder(self) -> str:
        return self.recording.folder

    @property
    def path(self) -> str:
        """For messages and logs, as SourceKey.path."""
        return self.recording.folder

    @property
    def mtime_ns(self) -> int:
        """The newest member's: the folder changes when any part does."""
        return max((p.key.mtime_ns for p in (*self.parts, *self.events)), default=0)

    @property
    def size(self) -> int:
        return sum(p.key.size for p in self.parts)

    @property
    def sidecar(self) -> None:
        return None

    @property
    def disk_name(self) -> str:
        """Its first part's path, marked (a disk cache entry of its own, see fs/cache.py)."""
        return f"recording:{self.parts[0].key.path if self.parts else self.recording.folder}"

    def disk_identity(self) -> dict[str, Any]:
        # Through JSON: a stored key.json has lists where the dataclasses have tuples.
        identity: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(self)))
        return identity


class RecordingsIndex:
    """The recordings of SOURCE, rescanned when older than ``ttl`` seconds (thread-safe)."""

    def __init__(self, root: bytes, *, trip_gap_s: float = 600.0, ttl: float = 1.0) -> None:
        self.root = os.path.realpath(root)
        self.trip_gap_s = trip_gap_s
        self.ttl = ttl
        self._lock = threading.Lock()
        self._scanned_at = -1.0
        self._stats: dict[str, os.stat_result] = {}
        # Relative path -> the file to read (a symlink's target inside root).
        self._real: dict[str, str] = {}
        # Relative path of a video -> its sidecar (an NMEA log of the same stem) and its stat.
        self._sidecars: dict[str, tuple[str, os.stat_result]] = {}
        self._recordings: dict[str, Recording] = {}
        self._dirs: dict[str, set[str]] = {"": set()}
        self.scans = 0

    # -- scanning ----------------------------------------------------------------

    def refresh(self) -> None:
        """Rescan if the last scan is older than ttl (synchronous: call from a thread)."""
        with self._lock:
            if time.monotonic() - self._scanned_at < self.ttl:
                return
            real: dict[str, str] = {}
            sidecars: dict[str, tuple[str, os.stat_result]] = {}
            stats = self._walk(real, sidecars)
            files = [FootageFile(p, st.st_size, st.st_mtime_ns) for p, st in stats.items()]
            recordings = {r.folder: r for r in group_recordings(files, trip_gap_s=self.trip_gap_s)}
            dirs: dict[str, set[str]] = {"": set()}
            for folder in recordings:
                parent, _, name = folder.rpartition("/")
                dirs.setdefault(parent, set()).add(name)
                while parent:
                    up, _, below = parent.rpartition("/")
                    dirs.setdefault(up, set()).add(below)
                    parent = up
            self._stats, self._real, self._sidecars = stats, real, sidecars
            self._recordings, self._dirs = recordings, dirs
            self._scanned_at = time.monotonic()
            self.scans += 1

    def _walk(
        self, real: dict[str, str], sidecars: dict[str, tuple[str, os.stat_result]]
    ) -> dict[str, os.stat_result]:
        """Every file named like footage below root, with its stat (symlinks never followed
        out of root; links to directories never followed)."""
        found: dict[str, os.stat_result] = {}
        root = os.fsdecode(self.root)
        for top, dirnames, filenames in os.walk(root):
            dirnames.sort()
            rel_top = os.path.relpath(top, root)
            videos = [n for n in filenames if detect.named_like_video(n)]
            for name, log in _sidecar_pairs(top, videos, filenames).items():
                sidecars[name if rel_top == "." else f"{rel_top}/{name}"] = log
            for name in videos:
                path = os.path.join(top, name)
                st, target = self._stat(path)
                if st is not None:
                    rel = name if rel_top == "." else f"{rel_top}/{name}"
                    found[rel], real[rel] = st, target
        return found

    def _stat(self, path: str) -> tuple[os.stat_result | None, str]:
        """A regular file's stat and the path to read it by (a link's target inside root)."""
        try:
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                path = os.path.realpath(path)
                if not path.startswith(os.fsdecode(self.root) + "/"):
                    return None, path  # leads out of SOURCE
                st = os.stat(path)
        except OSError:
            return None, path
        return (st if stat.S_ISREG(st.st_mode) else None), path

    # -- answers -----------------------------------------------------------------

    def children(self, folder: str) -> list[tuple[str, bool]]:
        """(name, is_recording) of what the view's directory ``folder`` holds, sorted."""
        names = self._dirs.get(folder, set())
        prefix = f"{folder}/" if folder else ""
        return sorted((n, f"{prefix}{n}" in self._recordings) for n in names)

    def is_dir(self, folder: str) -> bool:
        return folder in self._dirs and folder not in self._recordings

    def key(self, folder: str) -> RecordingKey | None:
        """The current version of the recording at ``folder``, or None."""
        recording = self._recordings.get(folder)
        if recording is None:
            return None
        missing = set(recording.missing_parts)
        parts = []
        for part in recording.parts:
            st = self._stats.get(part.path)
            if st is None:
                continue
            missing_before = (part.number - 1) in missing
            parts.append(self._part(part.path, st, part.number, part.role, missing_before))
        events = [
            self._part(e.path, self._stats[e.path], e.number, e.role)
            for e in recording.events
            if e.path in self._stats
        ]
        return RecordingKey(recording, tuple(parts), tuple(events))

    def _part(
        self, rel: str, st: os.stat_result, number: int, role: str, missing_before: bool = False
    ) -> PartKey:
        path = self._real.get(rel) or os.path.join(os.fsdecode(self.root), rel)
        sidecar, sidecar_st = self._sidecars.get(rel, (None, None))
        key = SourceKey.from_stat(path, st, sidecar, sidecar_st)
        return PartKey(key, rel, number, role, missing_before)


def _sidecar_pairs(
    top: str, videos: list[str], names: list[str]
) -> dict[str, tuple[str, os.stat_result]]:
    """Video name -> the sidecar log beside it and its stat (same stem, a sidecar format
    by content).

    Only files sharing a video's stem are opened, so listing stays cheap.
    """
    # Sidecar stem -> the videos it may serve (BlackVue: one .gps for the F and R clips).
    stems: dict[str, list[str]] = {}
    for v in videos:
        for stem in {_stem(v), *registry.sidecar_stems(_stem(v))}:
            stems.setdefault(stem, []).append(v)
    found: dict[str, tuple[str, os.stat_result]] = {}
    for name in sorted(names):
        wanted = [v for v in stems.get(_stem(name), ()) if v != name and v not in found]
        if not wanted or detect.named_like_video(name):
            continue
        path = os.path.join(top, name)
        try:
            with open_file(path) as f:
                container = detect.sniff_file(f, name)
                st = os.fstat(f.fileno())
        except (OSError, ParseError):
            continue
        if container in registry.sidecar_containers():
            for video in wanted:
                if registry.sidecar_belongs(_stem(name), container, _stem(video)):
                    found[video] = (path, st)
    return found


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name[1:] else name


# -- joining and describing (synchronous: run in worker threads) -------------------


def join(key: RecordingKey, inputs: list[PartInput]) -> Telemetry:
    """The recording's telemetry: the parts joined, its facts under info["recording"]."""
    kind = key.recording.kind
    with GC_PAUSE:  # a 3-hour join makes a million objects: collections would double its time
        joined, parts, facts = join_parts(inputs, kind=DASHCAM_DRIVE if kind == SINGLE else kind)
    info = dict(joined.info)
    info[RECORDING_INFO] = _facts(key, joined, parts, facts)
    notes = tuple(ParseWarning(None, note) for note in key.recording.notes)
    return dataclasses.replace(joined, info=info, warnings=(*notes, *joined.warnings))


def _facts(
    key: RecordingKey, joined: Telemetry, parts: list[PartFacts], facts: JoinFacts
) -> dict[str, Any]:
    recording = key.recording
    by_path = {p.path: p for p in key.parts}
    doc: dict[str, Any] = {
        "kind": recording.kind,
        "grouped_by": recording.grouped_by,
        "camera": joined.camera,
        "parts": [_part_facts(f, by_path.get(f.path)) for f in parts],
        "missing_parts": list(recording.missing_parts),
        "start_utc": iso_utc(facts.start_utc),
        "end_utc": iso_utc(facts.end_utc),
        "duration_s": rounded(facts.duration_s, 3),
        "recorded_s": rounded(facts.recorded_s, 3),
        "gaps": [_gap(g) for g in facts.gaps],
        "overlaps": facts.overlaps,
        "events": [
            {"path": e.path, "role": e.role, "size": e.key.size, "mtime_utc": _mtime(e.key)}
            for e in key.events
        ],
    }
    if recording.channel is not None:
        doc["channel"] = recording.channel
    if recording.gps_from is not None:
        doc["gps_from"] = recording.gps_from
    if recording.copies:
        doc["copies_not_counted"] = list(recording.copies)
    return doc


def _part_facts(f: PartFacts, part: PartKey | None) -> dict[str, Any]:
    return {
        "path": f.path,
        "part": f.number,
        "role": f.role,
        "size": part.key.size if part else None,
        "mtime_utc": _mtime(part.key) if part else None,
        "duration_s": rounded(f.duration_s, 3),
        "video_offset_s": rounded(f.video_offset_s, 3),
        "start_utc": iso_utc(f.start_utc),
        "end_utc": iso_utc(f.end_utc),
        "gap_before_s": rounded(f.gap_before_s, 3),
        "gps_samples": f.gps_samples,
        "error": f.error,
        "session": f.session,
    }


def _gap(g: Gap) -> dict[str, Any]:
    return {
        "after": g.after_part,
        "before": g.before_part,
        "seconds": rounded(g.seconds, 3),
        "missing_parts": g.missing_parts,
    }


def _mtime(key: SourceKey) -> str | None:
    return iso_millis(key.mtime_ns // 1_000_000)


def info_context(key: RecordingKey) -> dict[str, Any]:
    """The source facts info.json and concat.txt of a recording take from outside its telemetry."""
    return {
        "source_name": key.folder.rpartition("/")[2],
        "source_size": key.size,
        "source_mtime_ns": key.mtime_ns,
        "error": None,
        CONCAT: [part.key.path for part in key.parts],
    }
