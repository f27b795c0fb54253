"""The virtual tree: source directories, video folders, their files; inodes.

Source side (synchronous, run in worker threads): :class:`SourceTree` lists a
source directory and says what each entry becomes. Directories stay
directories; a file recognised as footage by its content becomes a video
folder; a sidecar (a file of a format whose traits say it belongs to videos,
such as an NMEA log) with the same stem as a video is that video's sidecar
(merged into it, not shown on its own); other files are hidden unless
``show_other`` passes them through.

Symlinks never lead out of SOURCE: a link is followed only when it resolves
to a regular file inside SOURCE; links to directories are hidden, which also
rules out loops.

Virtual side: every node gets one inode on first sight, never recycled (so
``forget()`` is a no-op). A node whose kind changes (a file replaced by a
directory) gets a fresh inode so the kernel never sees an inode change type.
"""

from __future__ import annotations

import enum
import logging
import os
import stat
from dataclasses import dataclass
from typing import NamedTuple

from telemetryfs.parsers import detect, registry
from telemetryfs.parsers.errors import ParseError

log = logging.getLogger(__name__)

ROOT_INODE = 1

# Bounded so that a card scanned for weeks does not grow the daemon forever.
_SNIFF_CACHE_LIMIT = 200_000


class Kind(enum.Enum):
    DIR = "dir"
    VIDEO = "video"
    STREAMS = "streams"
    FILE = "file"
    OTHER = "other"
    REC_DIR = "rec_dir"  # a directory of the recordings view
    RECORDING = "recording"  # one recording's folder


class Inspected(NamedTuple):
    """A source file as listing sees it: the path to use, its stat, its sniffed container."""

    path: bytes
    st: os.stat_result
    container: str | None


@dataclass(frozen=True, slots=True)
class SourceEntry:
    """What one name in a source directory becomes."""

    name: bytes
    kind: Kind
    path: bytes  # the file or directory itself (a followed link's target)
    st: os.stat_result
    sidecar: bytes | None = None


@dataclass(slots=True)
class Node:
    """A virtual node; ``path`` is the source path (for FILE/STREAMS: the video's)."""

    inode: int
    kind: Kind
    parent: int
    name: bytes
    path: bytes
    sidecar: bytes | None = None
    entry: str = ""  # FILE: the file's name in its video folder, e.g. "streams/ACCL.csv"
    # In the recordings view: the folder's path below the view's root ("" for the
    # root itself); for FILE and STREAMS nodes, their recording's.
    rec: str | None = None


def _stem(name: bytes) -> bytes:
    return name.rsplit(b".", 1)[0] if b"." in name[1:] else name


def _pairable(stem: bytes) -> set[bytes]:
    """The stems a file of this stem may pair with: its own, its video's (BlackVue's
    ..._N.gps serves ..._NF.mp4) and its sidecar's."""
    text = os.fsdecode(stem)
    return {
        stem,
        *map(os.fsencode, registry.sidecar_stems(text)),
        *map(os.fsencode, registry.video_stems(text)),
    }


class SourceTree:
    """Reads the source directory tree (synchronous; call from worker threads)."""

    def __init__(self, root: bytes, *, show_other: bool) -> None:
        self.root = os.path.realpath(root)
        self.show_other = show_other
        self._sniffed: dict[tuple[bytes, int, int, int], str | None] = {}
        self.sniff_count = 0

    def stat(self, path: bytes) -> os.stat_result:
        return os.stat(path)

    def statvfs(self) -> os.statvfs_result:
        return os.statvfs(self.root)

    def scan(self, dir_path: bytes) -> list[SourceEntry]:
        """Every visible entry of a source directory, sorted by name."""
        with os.scandir(dir_path) as it:
            raw = sorted((e.name, e.path, e.is_symlink()) for e in it)
        kinds: dict[bytes, Inspected] = {}
        for name, path, is_link in raw:
            found = self._inspect(path, is_link)
            if found is not None:
                kinds[name] = found
        # Each entry is decided among the names its stem may pair with (linear, not
        # every name against every other).
        by_stem: dict[bytes, list[bytes]] = {}
        for name in kinds:
            by_stem.setdefault(_stem(name), []).append(name)
        entries = []
        for name in kinds:
            near = {n: kinds[n] for s in _pairable(_stem(name)) for n in by_stem.get(s, ())}
            if (entry := self._entry(name, near)) is not None:
                entries.append(entry)
        return entries

    def classify(self, dir_path: bytes, name: bytes) -> SourceEntry | None:
        """What ``name`` in ``dir_path`` becomes, or None if it is not shown."""
        if name in (b".", b"..") or b"/" in name:
            return None
        path = os.path.join(dir_path, name)
        found = self._inspect(path, os.path.islink(path))
        if found is None:
            return None
        kinds = {name: found}
        if found[2] in detect.VIDEO_KINDS or found[2] in registry.sidecar_containers():
            # A sidecar pairs a video with a log of the same stem (or of the stems its
            # family allows, BlackVue's ..._N.gps for ..._NF.mp4): look at those only.
            pairable = _pairable(_stem(name))
            for other in _names(dir_path):
                if other != name and _stem(other) in pairable:
                    other_found = self._inspect(
                        os.path.join(dir_path, other), os.path.islink(os.path.join(dir_path, other))
                    )
                    if other_found is not None:
                        kinds[other] = other_found
        return self._entry(name, kinds)

    def _entry(self, name: bytes, kinds: dict[bytes, Inspected]) -> SourceEntry | None:
        path, st, kind = kinds[name]
        if stat.S_ISDIR(st.st_mode):
            return SourceEntry(name, Kind.DIR, path, st)
        if (
            kind in registry.sidecar_containers()
            and self._video_for_sidecar(name, kinds) is not None
        ):
            return SourceEntry(name, Kind.OTHER, path, st) if self.show_other else None
        if kind is not None:
            return SourceEntry(name, Kind.VIDEO, path, st, self._sidecar_for(name, kind, kinds))
        return SourceEntry(name, Kind.OTHER, path, st) if self.show_other else None

    @staticmethod
    def _sidecar_for(name: bytes, kind: str, kinds: dict[bytes, Inspected]) -> bytes | None:
        if not registry.takes_sidecars(kind):
            return None
        stem = os.fsdecode(_stem(name))
        sidecars = registry.sidecar_containers()
        logs = sorted(
            n
            for n, (_, _, k) in kinds.items()
            if k in sidecars and registry.sidecar_belongs(os.fsdecode(_stem(n)), k, stem)
        )
        return kinds[logs[0]][0] if logs else None

    @staticmethod
    def _video_for_sidecar(name: bytes, kinds: dict[bytes, Inspected]) -> bytes | None:
        stem, kind = os.fsdecode(_stem(name)), kinds[name][2]
        videos = sorted(
            n
            for n, (_, _, k) in kinds.items()
            if registry.takes_sidecars(k)
            and registry.sidecar_belongs(stem, kind, os.fsdecode(_stem(n)))
        )
        return videos[0] if videos else None

    def _inspect(self, path: bytes, is_link: bool) -> Inspected | None:
        """(path to use, its stat, sniffed kind) or None for what is never shown."""
        try:
            if is_link:
                target = os.path.realpath(path)
                if not target.startswith(self.root + b"/"):
                    return None  # leads out of SOURCE
                st = os.stat(target)
                if not stat.S_ISREG(st.st_mode):
                    return None  # links to directories could loop; devices are never footage
                path = target
            else:
                st = os.lstat(path)
        except OSError:
            return None
        if stat.S_ISDIR(st.st_mode):
            return Inspected(path, st, None)
        if not stat.S_ISREG(st.st_mode):
            return None
        return Inspected(path, st, self._sniff(path, st))

    def _sniff(self, path: bytes, st: os.stat_result) -> str | None:
        cache_key = (path, st.st_ino, st.st_size, st.st_mtime_ns)
        if cache_key in self._sniffed:
            return self._sniffed[cache_key]
        self.sniff_count += 1
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return None  # unreadable: treat as not footage now, look again next time
        try:
            with os.fdopen(fd, "rb", buffering=0) as f:
                kind = detect.sniff_file(f, os.fsdecode(os.path.basename(path)))
        except (OSError, ParseError):
            return None
        if len(self._sniffed) > _SNIFF_CACHE_LIMIT:
            self._sniffed.clear()
        self._sniffed[cache_key] = kind
        return kind


def _names(dir_path: bytes) -> list[bytes]:
    try:
        return os.listdir(dir_path)
    except OSError:
        return []


class InodeTable:
    """Nodes by inode and by (parent inode, name); inodes are never reused."""

    def __init__(self, root_path: bytes) -> None:
        self.nodes: dict[int, Node] = {
            ROOT_INODE: Node(ROOT_INODE, Kind.DIR, ROOT_INODE, b"", root_path)
        }
        self._by_name: dict[tuple[int, bytes], int] = {}
        self._next = ROOT_INODE + 1

    def get(self, inode: int) -> Node | None:
        return self.nodes.get(inode)

    def child(
        self,
        parent: int,
        name: bytes,
        kind: Kind,
        path: bytes,
        *,
        sidecar: bytes | None = None,
        entry: str = "",
        rec: str | None = None,
    ) -> Node:
        """The node for ``name`` under ``parent``, created or refreshed."""
        inode = self._by_name.get((parent, name))
        node = self.nodes.get(inode) if inode is not None else None
        if node is not None and node.kind is kind:
            node.path, node.sidecar, node.entry, node.rec = path, sidecar, entry, rec
            return node
        node = Node(self._next, kind, parent, name, path, sidecar, entry, rec)
        self._next += 1
        self.nodes[node.inode] = node
        self._by_name[(parent, name)] = node.inode
        return node
