"""What a generator put into a file: the values a perfect parser must read back.

Every generator returns a :class:`Footage` and can write it as JSON
(``--route-out``). Each GPS sample holds the values *as encoded*, after
quantisation (GoPro lat/lon to 1e-7 degree, Novatek float32 DDDmm.mmmm, MAP CAM
1e-6 degree ...), decoded back to plain units, so a test compares parser
output with them directly:

- ``utc``: POSIX seconds; for GoPro GPS5 the file only stores one GPSU per
  payload (``gpsu``), so ``utc`` there is the time the sample was taken, which
  a parser can only approximate by spreading the payload's samples;
- ``video_time``: seconds from the start of this file;
- ``lat``, ``lon`` (degrees), ``ele`` (metres), ``speed_2d``, ``speed_3d`` (m/s),
  ``course`` (degrees, None when the format has none), ``fix`` (0, 2, 3),
  ``dop``, ``valid`` (the sample is a real fix a GPX should contain);
- ``raw``: the integer / float fields exactly as written, for format tests.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

Sample = dict[str, Any]


def iso_utc(posix: float) -> str:
    """ISO 8601 with milliseconds and a Z, e.g. ``2026-04-06T14:21:22.123Z``."""
    when = datetime.fromtimestamp(round(posix, 3), tz=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


@dataclass
class Footage:
    """One generated file and what it contains."""

    path: str
    format: str  # "gopro-mp4", "novatek-mp4", "novatek-mov", "mapcam-avi"
    camera: str | None
    firmware: str | None
    start_utc: float  # POSIX seconds of the first video frame
    duration: float  # seconds of video
    gps_stream: str | None  # the stream ``samples`` comes from ("GPS5", "GPS9", ...)
    tracks: dict[str, list[Sample]] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def samples(self) -> list[Sample]:
        """The GPS samples of the preferred stream (GPS9 over GPS5)."""
        return self.tracks.get(self.gps_stream or "", [])

    @property
    def valid_samples(self) -> list[Sample]:
        return [s for s in self.samples if s["valid"]]

    def to_json(self) -> dict[str, Any]:
        return {
            "generator": "tests.footage",
            "path": self.path,
            "name": os.path.basename(self.path),
            "format": self.format,
            "camera": self.camera,
            "firmware": self.firmware,
            "start_utc": self.start_utc,
            "start_time": iso_utc(self.start_utc),
            "duration": self.duration,
            "gps_stream": self.gps_stream,
            "sample_count": len(self.samples),
            "valid_count": len(self.valid_samples),
            "samples": self.samples,
            "tracks": {k: v for k, v in self.tracks.items() if k != self.gps_stream},
            "info": self.info,
        }

    def write_json(self, path: str | os.PathLike[str]) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, indent=1)
            f.write("\n")


def write_manifest(footage: list[Footage], path: str | os.PathLike[str]) -> None:
    """Several files' truths in one JSON list (cards, chapters, demo)."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump([x.to_json() for x in footage], f, indent=1)
        f.write("\n")
