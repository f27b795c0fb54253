"""Realistic footage generators for tests, the demo and benchmarks.

Each generator writes a file the way its camera does (sparse: the media are
holes of the right size, only telemetry, headers and indexes are real bytes)
and returns a :class:`Footage` that says exactly what it encoded, so tests
compare a parser's output with independent expectations.

- :func:`make_gopro`, :func:`make_gopro_recording`: GoPro HERO MP4 with GPMF
  (GPS5, GPS9 or both; chapters; no moov; no fix; fdsc track);
- :func:`make_novatek`: Novatek dashcam MP4/MOV with freeGPS blocks;
- :func:`make_mapcam`: MAP CAM AVI with 58-byte GPS records;
- :func:`make_card`, :func:`make_demo`: whole directory trees;
- :func:`make_recordings_card`: recordings to join (GoPro chapters, dashcam
  drives) with the truth of every join;
- :func:`make_real_gopro`, :func:`make_real_recording`: GoPro MP4s whose
  GPMF track repeats a real HERO7/HERO11's payloads (benchmark load).

Command line: ``scripts/make_footage.py``.
"""

from tests.footage.card import make_card, make_demo
from tests.footage.gopro import gopro_name, make_gopro, make_gopro_recording
from tests.footage.mapcam import make_mapcam, mapcam_name
from tests.footage.novatek import make_novatek, novatek_name
from tests.footage.real_payloads import make_real_gopro, make_real_recording
from tests.footage.recordings import RecordingsCard, RecordingTruth, make_recordings_card
from tests.footage.route import Route, RoutePoint, route_at
from tests.footage.truth import Footage, write_manifest

__all__ = [
    "Footage",
    "RecordingTruth",
    "RecordingsCard",
    "Route",
    "RoutePoint",
    "gopro_name",
    "make_card",
    "make_demo",
    "make_gopro",
    "make_gopro_recording",
    "make_mapcam",
    "make_novatek",
    "make_real_gopro",
    "make_real_recording",
    "make_recordings_card",
    "mapcam_name",
    "novatek_name",
    "route_at",
    "write_manifest",
]
