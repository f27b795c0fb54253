"""The clips of a SOURCE (a local folder or a remote URL) and how to open them.

A :class:`ClipRef` is everything a worker needs to parse one clip: picklable,
so Dask can send batches of them to other machines. Its ``version`` is the
version key of the source as listed (local: size and mtime; remote: the
object's ETag or generation), so a re-run knows what it already exported.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from telemetryfs.fs.tree import Kind, SourceTree
from telemetryfs.parsers import extract
from telemetryfs.parsers.errors import ParseError
from telemetryfs.parsers.extract import Opener, open_file
from telemetryfs.parsers.model import Telemetry
from telemetryfs.parsers.source import SourceUnavailableError

log = logging.getLogger("telemetryfs.export")


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
        return _list_remote(spec)
    root = os.path.realpath(spec.root)
    tree = SourceTree(os.fsencode(root), show_other=False)
    return sorted(_walk_local(tree, os.fsencode(root), root), key=lambda c: c.rel)


def _list_remote(spec: SourceSpec) -> list[ClipRef]:
    """The clips of a remote prefix: the store's listing, paired as the mount pairs them."""
    from telemetryfs.fs.remote.listing import list_objects, pair_clips, relative
    from telemetryfs.fs.remote.source import RemoteStore

    store = RemoteStore.shared(spec.root, spec.storage_options)
    clips = []
    for obj, sidecar in pair_clips(list_objects(store), store.root):
        version = obj.version if sidecar is None else f"{obj.version}+{sidecar.version}"
        clips.append(
            ClipRef(
                relative(obj.path, store.root),
                obj.path,
                obj.size,
                version,
                obj.mtime_ns,
                sidecar.path if sidecar else None,
            )
        )
    return clips


def parse_clip(
    spec: SourceSpec, clip: ClipRef, *, full: bool, time_offset_s: float = 0.0
) -> tuple[Telemetry | None, str | None]:
    """The parsed clip, or its error: a bad clip is a row with its error, never a crash."""
    try:
        t = extract.extract(
            clip.location,
            full=full,
            sidecar=clip.sidecar,
            time_offset_s=time_offset_s,
            opener=spec.opener(),
        )
        return t, None
    except ParseError as exc:
        return None, str(exc)
    except SourceUnavailableError:
        raise  # the network, not the clip: the task fails and is retried, no row says "bad"
    except Exception as exc:  # one clip never takes the batch down
        log.warning("%s: unexpected %s", clip.rel, exc, exc_info=True)
        return None, f"{type(exc).__name__}: {exc}"


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
