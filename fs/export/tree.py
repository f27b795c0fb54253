"""``--format tree``: the mount's files of each clip, written to a directory.

For machines with no FUSE: the same video folders as the mount (info.json,
the track files, streams/ with their CSVs and raw files), rendered by the
same FUSE-free code (fs/view.py, fs/products.py).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

from telemetryfs.fs import products, view
from telemetryfs.fs.cache import SourceKey
from telemetryfs.fs.export.catalog import ClipRef, SourceSpec, parse_clip
from telemetryfs.parsers.model import Telemetry
from telemetryfs.parsers.source import Source

# Stream CSVs are written in pieces of this size, so an hour of IMU data
# never sits in memory whole.
PIECE = 4 * 1024 * 1024


def write_clip(spec: SourceSpec, clip: ClipRef, out: str, time_offset_s: float = 0.0) -> str | None:
    """Write one clip's folder under ``out``; returns its parse error, if any."""
    t, error = parse_clip(spec, clip, full=True, time_offset_s=time_offset_s)
    key = SourceKey(clip.location, 0, 0, clip.size, clip.mtime_ns, clip.sidecar)
    context = view.info_context(key, None, time_offset_s)
    context["source_name"] = os.path.basename(clip.rel)
    context["error"] = error
    folder = Path(out) / clip.rel
    folder.mkdir(parents=True, exist_ok=True)
    entries = products.list_entries(t)
    with spec.opener()(clip.location) as src:
        for entry in entries:
            path = folder / entry.name
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.partial")
            with open(partial, "wb") as f:
                if entry.kind == products.GENERATED:
                    f.write(view.render(t, entry.name, context))
                else:
                    assert t is not None
                    assert isinstance(src, Source)
                    _copy_product(t, entry.name, src, f)
            partial.replace(path)
    return error


def _copy_product(t: Telemetry, name: str, src: Source, f: BinaryIO) -> None:
    write = f.write
    raw = products.find_raw(t, name)
    if raw is not None:
        layout = products.raw_layout(raw)
        for off in range(0, layout.size, PIECE):
            write(products.read_raw(src, layout, off, PIECE))
        return
    stream = products.find_stream(t, name)
    assert stream is not None
    index = products.build_stream_index(stream, t)
    for off in range(0, index.size, PIECE):
        write(products.read_stream(src, stream, index, off, PIECE))
