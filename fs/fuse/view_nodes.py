"""The recordings view's nodes: the part of Operations that answers for ``recordings/``.

Its directories mirror the source's tree (they stat as the source's root);
a recording's folder and files take their owner and permissions from its
first part and their mtime from its newest member. Names come from the
recordings index (fs/recordings.py), rescanned when older than the kernel's
attribute timeout, so a chapter copied in shows up as a source change would.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from typing import TYPE_CHECKING

import pyfuse3

from telemetryfs.fs.cache import SourceKey
from telemetryfs.fs.products import Fd, close_source
from telemetryfs.fs.recordings import RecordingKey, RecordingsIndex
from telemetryfs.fs.tree import ROOT_INODE, InodeTable, Kind, Node, SourceTree

from .store import Key, Store, open_source_checked

if TYPE_CHECKING:
    from telemetryfs.fs.remote.tree import RemoteTree


class RecordingNodes:
    """A mixin of Operations: the recordings view (needs its store, source, inodes, _stat)."""

    store: Store
    source: SourceTree | RemoteTree  # remote: no recordings view (-o norecordings)
    inodes: InodeTable
    view_name: bytes | None
    recordings: RecordingsIndex

    async def _stat(self, path: bytes) -> os.stat_result:
        raise NotImplementedError

    async def _is_view_name(self, name: bytes) -> bool:
        """Whether ``name`` at the root is the recordings view (a source entry wins)."""
        if self.view_name is None or name != self.view_name:
            return False
        taken = await self.store.run_io(os.path.lexists, os.path.join(self.source.root, name))
        return not taken

    def _view_root(self) -> Node:
        assert self.view_name is not None
        return self.inodes.child(ROOT_INODE, self.view_name, Kind.REC_DIR, self.source.root, rec="")

    async def _index(self) -> RecordingsIndex:
        before = self.recordings.scans
        await self.store.run_io(self.recordings.refresh)
        self.store.stats.recording_scans += self.recordings.scans - before
        return self.recordings

    async def _view_child(
        self, parent: Node, name: bytes
    ) -> tuple[Node, os.stat_result] | tuple[None, None]:
        index = await self._index()
        folder = _below(parent.rec or "", os.fsdecode(name))
        if index.is_dir(folder):
            node = self.inodes.child(parent.inode, name, Kind.REC_DIR, self.source.root, rec=folder)
            return node, await self._stat(self.source.root)
        key = index.key(folder)
        if key is None or not key.parts:
            return None, None
        first = os.fsencode(key.parts[0].key.path)
        node = self.inodes.child(parent.inode, name, Kind.RECORDING, first, rec=folder)
        return node, await self._folder_stat(node)

    async def _view_listing(self, node: Node) -> list[tuple[Node, os.stat_result | None]]:
        index = await self._index()
        found = [
            await self._view_child(node, os.fsencode(name))
            for name, _ in index.children(node.rec or "")
        ]
        return [(child, st) for child, st in found if child is not None]

    async def _folder_stat(self, node: Node) -> os.stat_result:
        """The stat a folder's attributes come from: its video's, or (a recording) its
        first part's with the newest member's mtime."""
        if node.rec is None:
            return await self._stat(node.path)
        if node.kind is Kind.REC_DIR:  # the view's directories: as the source's root
            return await self._stat(self.source.root)
        key = await self._recording_key(node)
        st = await self._stat(os.fsencode(key.parts[0].key.path))
        if st.st_mtime_ns == key.mtime_ns:
            return st
        # A copy of the stat with the newest member's mtime (the _ns fields by name).
        times = {"st_atime_ns": st.st_atime_ns, "st_ctime_ns": st.st_ctime_ns}
        fields = list(st)
        fields[stat.ST_MTIME] = key.mtime_ns // 1_000_000_000
        return os.stat_result(fields, {**times, "st_mtime_ns": key.mtime_ns})

    async def _recording_key(self, node: Node) -> RecordingKey:
        index = await self._index()
        key = index.key(node.rec or "")
        if key is None or not key.parts:
            raise pyfuse3.FUSEError(errno.ENOENT)  # the recording is gone from the card
        return key


def _below(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def open_sources(
    key: Key, open_checked: Callable[[SourceKey], Fd] = open_source_checked
) -> tuple[Fd, ...]:
    """The source file(s) behind a product, opened read-only and checked against ``key``
    (a recording: one per part, in part order, as Extent.part counts them)."""
    if isinstance(key, SourceKey):
        return (open_checked(key),)
    fds: list[Fd] = []
    try:
        for part in key.parts:
            fds.append(open_checked(part.key))
    except OSError:
        for fd in fds:
            close_source(fd)
        raise
    return tuple(fds)
