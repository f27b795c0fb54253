"""The videos themselves in the view (``-o video``): a video's own bytes, a recording's
joined MP4. No FUSE here: the layouts are served by fs/fuse like any raw file.

A video folder ``GX010042.MP4/`` holds ``GX010042.MP4``: one byte range, the whole
source. A recording folder ``GX0042/`` holds ``GX0042.MP4``: a new moov built from
its parts' sample tables (parsers/containers/mp4/merge.py) followed by the parts'
media, so nothing is copied and the size is known from box headers alone. Both
take their subtitles from ``track.srt`` under the video's stem (``GX0042.srt``),
the name VLC and mpv look for beside a video.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from telemetryfs.fs.products import RawLayout
from telemetryfs.fs.recordings import RecordingKey
from telemetryfs.parsers import detect
from telemetryfs.parsers.containers.mp4.merge import JoinRefusedError, join_movies
from telemetryfs.parsers.errors import ParseError
from telemetryfs.parsers.model import Extent

# The key of info.json that says whether and how a recording's video was joined.
VIDEO_JOIN = "video_join"


@dataclass(frozen=True, slots=True)
class JoinedVideo:
    """A recording's joined video (``layout`` None: not joined, ``facts`` say why)."""

    name: str
    layout: RawLayout | None
    facts: dict[str, Any]


def own_video_name(source_name: str) -> str | None:
    """The name a video folder shows its source under (None: not a video, e.g. a photo)."""
    return source_name if detect.named_like_video(source_name) else None


def source_layout(size: int) -> RawLayout:
    """The whole source as one byte range: served exactly as stored."""
    return RawLayout((Extent(0, size, 0),), array("q", [0]), size)


def recording_video_name(key: RecordingKey) -> str:
    """``<recording name>.<first part's extension>`` (a proxy's .LRV shown as .MP4)."""
    name = key.folder.rpartition("/")[2]
    ext = os.path.splitext(key.parts[0].path)[1] if key.parts else ".MP4"
    if ext.upper() == ".LRV":
        ext = ".MP4"
    return name if name.lower().endswith(ext.lower()) else name + ext


def join_recording(key: RecordingKey, fds: Sequence[int]) -> JoinedVideo:
    """Join the recording's parts (open read-only as ``fds``, in part order).

    Synchronous: reads every part's moov (a few MB for a 4 GiB chapter), never media.
    """
    name = recording_video_name(key)
    files = [open(fd, "rb", buffering=0, closefd=False) for fd in fds]  # noqa: SIM115
    try:
        movie = join_movies(files)
    except ParseError as exc:
        reason = str(exc) if isinstance(exc, JoinRefusedError) else f"cannot be joined: {exc}"
        return JoinedVideo(name, None, {"file": None, "reason": reason})
    finally:
        for f in files:
            f.close()
    starts: array[int] = array("q")
    pos = 0
    for piece in movie.pieces:
        starts.append(pos)
        pos += len(piece) if isinstance(piece, bytes) else piece.size
    layout = RawLayout(movie.pieces, starts, pos)
    missing = list(key.recording.missing_parts)
    note = movie.note
    if missing:
        # The join plays on across the gap: a player cannot tell minutes are gone.
        gone = ", ".join(str(n) for n in missing)
        said = f"chapter {gone} is missing" if len(missing) == 1 else f"chapters {gone} are missing"
        note = f"{said}: the video jumps there" + (f"; {note}" if note else "")
    facts = {
        "file": name,
        "parts": movie.parts,
        "missing_parts": missing,
        "size": movie.size,
        "duration_s": round(movie.duration_s, 3),
        "reason": note,
    }
    return JoinedVideo(name, layout, facts)
