"""Renderers: the parsed model (``parsers.model.Telemetry``) → the exact bytes of each file.

Pure functions, no I/O, no pyfuse3/trio: the FUSE layer calls them in a worker
thread and caches the bytes. Deterministic: the same Telemetry always renders
the same bytes (exact ``st_size``, rsync and ``cmp`` depend on it). Bump
``GENERATOR_VERSION`` (fs/cache.py, the one version of cached data) whenever
any output byte changes, so cached copies are invalidated.

=========================  ======================================================
file                       function
=========================  ======================================================
``track.gpx``              ``render_gpx(t, name=video_name)``
``track.csv``              ``render_csv(t)``
``streams/gps.csv``        ``render_gps_table(t)``: ``render_csv`` (same bytes)
``streams/<FOURCC>.csv``   fixed-width rows, sized without decoding: see ``render_stream.py``
``track.kml``              ``render_kml(t, name=video_name)``
``track.geojson``          ``render_geojson(t, name=video_name)``
``info.json``              ``render_info(t_or_None, source_name=…, error=…)``
``preview.svg``            ``render_preview(t, name=video_name)``: map and profile
``track.srt`` / ``.vtt``   ``render_srt(t)`` / ``render_vtt(t)``: a cue per second
=========================  ======================================================

The big files (``track.gpx``, ``track.csv`` and ``streams/gps.csv``,
``track.geojson``) also have a ``write_*`` form that writes into a ``Sink`` as
the bytes come, which the mount points at its disk cache.

The choices (segments, DOP element, extension namespace, CSV dialect, number
formats) are documented in the module that makes each file.
"""

from __future__ import annotations

from .render_csv import (
    TRACK_COLUMNS,
    render_csv,
    render_csv_header,
    write_csv,
)
from .render_geo import render_geojson, render_kml, write_geojson
from .render_gpx import TPX_NS, dop_kind, render_gpx, write_gpx
from .render_info import MAX_WARNINGS, render_info
from .render_preview import render_preview
from .render_segments import GAP_FACTOR, GAP_FLOOR_S, split_segments
from .render_subtitles import render_srt, render_vtt

# Bump on any change to any rendered byte.

# streams/gps.csv (formats whose GPS Stream has no codec) is the track table itself.
render_gps_table = render_csv

__all__ = [
    "GAP_FACTOR",
    "GAP_FLOOR_S",
    "MAX_WARNINGS",
    "TPX_NS",
    "TRACK_COLUMNS",
    "dop_kind",
    "render_csv",
    "render_csv_header",
    "render_geojson",
    "render_gps_table",
    "render_gpx",
    "render_info",
    "render_kml",
    "render_preview",
    "render_srt",
    "render_vtt",
    "split_segments",
    "write_csv",
    "write_geojson",
    "write_gpx",
]
