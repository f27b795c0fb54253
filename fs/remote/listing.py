"""A remote prefix listed as the mount shows a folder: videos, their sidecars, mtimes.

The object store's own listing (one ``find``) gives names, sizes, versions
and LastModified; the heads of the objects, needed to tell footage from
other files, are fetched in one concurrent round of small range requests.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import posixpath
from dataclasses import dataclass
from typing import Any

from telemetryfs.fs.remote.source import RemoteSource, RemoteStore, retrying, version_of
from telemetryfs.parsers import detect, registry
from telemetryfs.parsers.errors import ParseError
from telemetryfs.parsers.source import TOTALS, SourceUnavailableError


@dataclass(frozen=True, slots=True)
class RemoteObject:
    """One object of the listing: its path (as fsspec names it), size, version, mtime."""

    path: str
    size: int
    version: str
    mtime_ns: int
    container: str | None = None


def mtime_ns(info: dict[str, Any]) -> int:
    """LastModified (S3), updated (GCS) or mtime, in ns since the epoch (0 if unknown)."""
    value = (
        info.get("LastModified")
        or info.get("Last-Modified")
        or info.get("updated")
        or info.get("mtime")
    )
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return int(value.timestamp() * 1e9)
    if isinstance(value, int | float):
        return int(value * 1e9)
    if isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(value)  # HTTP's Last-Modified
            except (TypeError, ValueError):
                return 0
        return int(when.timestamp() * 1e9)
    return 0


def list_objects(
    store: RemoteStore, sniffed: dict[tuple[str, str], str | None] | None = None
) -> list[RemoteObject]:
    """Every object below the store's root, with its sniffed container (sorted by path).

    ``sniffed``: containers already known by (path, version); new ones are added.
    """
    found: dict[str, dict[str, Any]] = retrying(lambda: _find(store))
    TOTALS.add(0)
    sniffed = {} if sniffed is None else sniffed
    infos = sorted(
        (path, info) for path, info in found.items() if info.get("type", "file") == "file"
    )
    for k, (path, info) in enumerate(infos):
        if info.get("size") is None:
            # An HTTP index page names files without sizes: ask each one (HEAD).
            info = retrying(lambda p=path: store.fs.info(p))
            TOTALS.add(0)
            infos[k] = (path, info)
        store.remember(path, info)
    new = [(p, i) for p, i in infos if (p, version_of(i)) not in sniffed]
    heads = _heads(store, [(p, int(i.get("size") or 0)) for p, i in new])
    for (path, info), head in zip(new, heads, strict=True):
        sniffed[(path, version_of(info))] = _sniff(store, path, head)
    return [
        RemoteObject(
            path,
            int(info.get("size") or 0),
            version_of(info),
            mtime_ns(info),
            sniffed[(path, version_of(info))],
        )
        for path, info in infos
    ]


def _find(store: RemoteStore) -> dict[str, dict[str, Any]]:
    """fsspec's find. Over HTTP it omits folders it cannot list: an unreachable server or a
    wrong URL would mount as an empty folder. Nothing listed and an error is the error;
    one bad sub-folder of an HTTP index beside good ones is skipped."""
    if store.protocol not in ("http", "https"):
        # s3fs and gcsfs list by prefix and raise; they take no on_error.
        listed: dict[str, dict[str, Any]] = store.fs.find(store.root, detail=True, withdirs=False)
        return listed
    errors: list[BaseException] = []
    found: dict[str, dict[str, Any]] = store.fs.find(
        store.root, detail=True, withdirs=False, on_error=errors.append
    )
    if errors and not found:
        raise errors[0]
    return found


def _heads(store: RemoteStore, objects: list[tuple[str, int]]) -> list[bytes]:
    wanted = [(p, min(detect.HEAD_SIZE, size)) for p, size in objects if size > 0]
    data: list[bytes] = []
    if wanted:
        paths = [p for p, _ in wanted]
        data = retrying(
            lambda: store.fs.cat_ranges(paths, [0] * len(paths), [n for _, n in wanted])
        )
        TOTALS.add(sum(n for _, n in wanted), len(wanted))
    by_path = dict(zip([p for p, _ in wanted], data, strict=True))
    return [bytes(by_path.get(p, b"")) for p, _ in objects]


def _sniff(store: RemoteStore, path: str, head: bytes) -> str | None:
    name = posixpath.basename(path)
    try:
        source = RemoteSource(store, path)
        source.preload(0, head)
        kind = detect.sniff_file(source, name, head)  # type: ignore[arg-type]
        source.closed = True  # nothing to check: only the head was read
        return kind
    except SourceUnavailableError:
        raise  # the server, not the file: not remembered as "not footage"
    except (OSError, ParseError):
        return None


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name[1:] else name


def pair_clips(
    objects: list[RemoteObject], root: str
) -> list[tuple[RemoteObject, RemoteObject | None]]:
    """The videos (the mount's video folders) and each one's sidecar, by the tree's rules."""
    sidecars = registry.sidecar_containers()
    by_dir: dict[str, list[RemoteObject]] = {}
    for obj in objects:
        by_dir.setdefault(posixpath.dirname(obj.path), []).append(obj)
    clips = []
    for members in by_dir.values():
        footage = [o for o in members if o.container is not None]
        for obj in footage:
            stem = _stem(posixpath.basename(obj.path))
            same_stem = [o for o in footage if _stem(posixpath.basename(o.path)) == stem]
            if obj.container in sidecars and any(
                registry.takes_sidecars(o.container or "") for o in same_stem if o is not obj
            ):
                continue  # merged into its video
            sidecar = None
            if registry.takes_sidecars(obj.container or ""):
                logs = sorted(
                    (o for o in same_stem if o.container in sidecars and o is not obj),
                    key=lambda o: o.path,
                )
                sidecar = logs[0] if logs else None
            clips.append((obj, sidecar))
    return sorted(clips, key=lambda c: c[0].path)


def relative(path: str, root: str) -> str:
    return posixpath.relpath(path, root) if root else path
