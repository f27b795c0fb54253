"""The clips of a SOURCE (a local folder or a remote URL) and how to open them.

A :class:`ClipRef` is everything a worker needs to parse one clip: picklable,
so Dask can send batches of them to other machines. Its ``version`` is the
version key of the source as listed (local: size and mtime; remote: the
object's ETag or generation), so a re-run knows what it already exported.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from telemetryfs.fs.tree import Kind, SourceTree
from telemetryfs.parsers.extract import Opener, open_file


@dataclass(frozen=True, slots=True)
class ClipRef:
    """One clip: its path below SOURCE, where to open it, size, version, sidecar."""

    rel: str
    location: str
    size: int
    version: str
    mtime_ns: int = 0
    sidecar: str | None = None


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A SOURCE as workers reopen it: a local folder or a URL with its fsspec options."""

    root: str
    storage_options: dict[str, Any] = field(default_factory=dict)

    @property
    def remote(self) -> bool:
        return is_url(self.root)

    def opener(self) -> Opener:
        if not self.remote:
            return open_file
        from telemetryfs.fs.remote.source import RemoteStore

        return RemoteStore.shared(self.root, self.storage_options).opener()


def is_url(source: str) -> bool:
    return "://" in source


def list_clips(spec: SourceSpec) -> list[ClipRef]:
    """Every clip of the source (what the mount shows as video folders), sorted by path."""
    if spec.remote:
        from telemetryfs.fs.remote.listing import list_remote_clips

        return list_remote_clips(spec.root, spec.storage_options)
    root = os.path.realpath(spec.root)
    tree = SourceTree(os.fsencode(root), show_other=False)
    return sorted(_walk_local(tree, os.fsencode(root), root), key=lambda c: c.rel)


def _walk_local(tree: SourceTree, top: bytes, root: str) -> Iterator[ClipRef]:
    for entry in tree.scan(top):
        if entry.kind is Kind.DIR:
            yield from _walk_local(tree, entry.path, root)
        elif entry.kind is Kind.VIDEO:
            path = os.fsdecode(entry.path)
            rel = os.path.relpath(os.fsdecode(os.path.join(top, entry.name)), root)
            version = f"{entry.st.st_size}:{entry.st.st_mtime_ns}"
            sidecar = None
            if entry.sidecar is not None:
                sidecar = os.fsdecode(entry.sidecar)
                sc = os.stat(sidecar)
                version += f"+{sc.st_size}:{sc.st_mtime_ns}"
            yield ClipRef(
                rel.replace(os.sep, "/"),
                path,
                entry.st.st_size,
                version,
                entry.st.st_mtime_ns,
                sidecar,
            )
