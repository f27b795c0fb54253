"""``concat.txt``: the ffmpeg concat list that joins a recording's source files.

``ffmpeg -f concat -safe 0 -i concat.txt -map 0 -c copy joined.mp4`` then
writes the whole recording as one file. With plain ``file`` lines ffmpeg
would map every track of the first file, and a GoPro's timecode track (tmcd)
comes through the concat demuxer without a codec, which no MP4 muxer
accepts: so for MP4 parts the list names the streams to keep (``stream`` +
``exact_stream_id``, the MP4 track ids): video, audio and GoPro's GPMF.
"""

from __future__ import annotations

from collections.abc import Sequence

from telemetryfs.parsers.errors import ParseError
from telemetryfs.parsers.extract import open_file
from telemetryfs.parsers.probe import Probe

CONCAT = "concat.txt"

_KEPT_HANDLERS = (b"vide", b"soun")
_KEPT_DATA = (b"gpmd",)  # telemetry tracks the MP4 muxer can write


def render_concat(paths: Sequence[str]) -> bytes:
    """The concat list of ``paths`` (absolute, in order); reads the first one's moov."""
    lines = ["ffconcat version 1.0"]
    for track_id in _kept_tracks(paths[0]) if paths else ():
        lines += ["stream", f"exact_stream_id {track_id:#x}"]
    for path in paths:
        # ffconcat quoting: inside '...' a quote is written '\''.
        lines.append("file '" + path.replace("'", "'\\''") + "'")
    return ("\n".join(lines) + "\n").encode()


def _kept_tracks(path: str) -> list[int]:
    """Track ids worth copying, or none (then ffmpeg takes every stream)."""
    try:
        with open_file(path) as f:
            movie = Probe.of(f, path).movie()
    except (OSError, ParseError):
        return []
    if movie is None:
        return []
    return [
        t.track_id
        for t in movie.tracks
        if t.handler in _KEPT_HANDLERS or t.sample_format in _KEPT_DATA
    ]
