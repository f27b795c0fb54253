"""``track.gpx``: GPX 1.1, written by gpxpy, with a fast path for the points.

gpxpy is the writer of record: it writes the document frame (XML declaration,
``<gpx>`` with its namespaces, ``<metadata>``, ``<trk>``) and, in the reference
mode (``fast=False``), every point too. Building 65,000 ``GPXTrackPoint``
objects and serialising them costs gpxpy about 0.8 s, so the default mode
writes the ``<trkpt>`` elements itself (fs/render_gpx_points.py: all points at
once through numpy, or segment by segment), and a test renders random tracks
both ways and requires the same XML (canonical form, whitespace aside).

Layout: the frame is gpxpy's two-space indentation; each point is one line
(``<trkpt …><ele>…</ele><time>…</time>…</trkpt>``). gpxpy's one-element-per-line
points spent a third of the file on indentation (352 bytes a point at 18 Hz,
23 MB an hour); on one line it is ~250 bytes, every byte still readable, and
``grep -c '<trkpt'`` counts points. Smaller files read faster from the mount,
copy faster and load faster in map tools.

Choices (documented here because map tools read them):

- Only valid samples (``GpsSample.valid``) become points; segments are cut
  where the fix is lost or time jumps (see ``render_segments``).
- ``<time>`` is UTC with milliseconds and ``Z`` (``2017-04-17T17:31:03.055Z``).
  gpxpy writes ``datetime.isoformat()``, which gives microseconds, or no
  fraction at all on whole seconds, and drops ``Z`` for naive datetimes; the
  ``_GpxTime`` subclass makes gpxpy write our form. No utc, no ``<time>``.
- ``<fix>``: GPX's ``none``/``2d``/``3d`` from ``FIX_NAMES``; unknown → absent.
- DOP: GoPro's GPSP is one "DOP x100" figure for the fix, which the parsers
  store divided by 100; we write it as ``<pdop>`` (position DOP: GoPro does not
  say horizontal). Other formats take their DOP from NMEA GGA, which is HDOP,
  so it goes to ``<hdop>``. ``Telemetry.info["dop_kind"]`` (``"hdop"``,
  ``"vdop"`` or ``"pdop"``) overrides the guess.
- Speed and course: GPX 1.1 has no ``<speed>``. We use Garmin's
  TrackPointExtension v2 (``gpxtpx:speed`` in m/s, ``gpxtpx:course`` in
  degrees), the de-facto convention that Garmin's tools and GPXSee read (a
  namespace of our own would be read by nothing). Checked here: GDAL shows the
  block as one text field ``gpxtpx_TrackPointExtension``; gpsbabel 1.8 reads
  the points but ignores speed/course (it takes only hr/cad from it). The GPX xsd
  takes ``<extensions>`` content with ``processContents="lax"``, so xmllint
  validates the file without Garmin's schema (not listed in
  ``xsi:schemaLocation``, so no validator tries to fetch it).
- Metadata: ``creator="telemetryfs"``, ``<name>`` = video file name, ``<time>`` =
  first fix, ``<bounds>`` of the valid points; ``<trk>`` has the same name and
  the camera model as ``<src>``.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from typing import Any

import gpxpy.gpx

from telemetryfs.parsers import registry
from telemetryfs.parsers.model import FIX_NAMES, GpsSample, Telemetry

from .render_common import (
    DOP_DECIMALS,
    ELE_DECIMALS,
    LATLON_DECIMALS,
    SPEED_DECIMALS,
    Sink,
    course_deg,
    gpx_number,
    iso_millis,
    rendered,
    rounded,
    safe_text,
    utc_millis,
)
from .render_gpx_points import ARRAY_MIN_POINTS, array_point_pieces, segment_points
from .render_segments import extremes, first_utc, joined, split_segments

CREATOR = "telemetryfs"
TPX_PREFIX = "gpxtpx"
TPX_NS = "http://www.garmin.com/xmlschemas/TrackPointExtension/v2"
_DOP_KINDS = ("hdop", "vdop", "pdop")
# gpxpy's GPXTrackPoint attribute for each DOP element.
_DOP_ATTRS = {
    "hdop": "horizontal_dilution",
    "vdop": "vertical_dilution",
    "pdop": "position_dilution",
}


class _GpxTime(dt.datetime):
    """A UTC datetime that gpxpy writes as ``…T17:31:03.055Z``.

    gpxpy formats times with ``time.isoformat().replace('+00:00', 'Z')``; this
    override is the only way to get milliseconds through gpxpy unchanged.
    """

    def isoformat(self, sep: str = "T", timespec: str = "auto") -> str:
        return iso_millis(_epoch_ms(self))

    @classmethod
    def from_ms(cls, ms: int) -> _GpxTime:
        secs, milli = divmod(ms, 1000)
        base = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=secs)
        return cls(
            base.year,
            base.month,
            base.day,
            base.hour,
            base.minute,
            base.second,
            milli * 1000,
            tzinfo=dt.UTC,
        )


def _epoch_ms(when: dt.datetime) -> int:
    delta = when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def dop_kind(telemetry: Telemetry) -> str:
    """Which GPX DOP element carries ``GpsSample.dop`` (see the module docstring)."""
    hint = telemetry.info.get("dop_kind")
    if isinstance(hint, str) and hint in _DOP_KINDS:
        return hint
    return registry.traits_of(telemetry.format).dop.value


def render_gpx(telemetry: Telemetry, *, name: str, fast: bool = True) -> bytes:
    """The ``track.gpx`` of one video.

    Args:
        telemetry: the parsed video.
        name: the video's file name (metadata and track name).
        fast: write the points without gpxpy objects, one line each (~10x
            faster); False writes everything through gpxpy (the reference the
            tests compare with: the same XML, in gpxpy's multi-line layout).

    Returns:
        UTF-8 GPX 1.1, valid against the official xsd.
    """
    if not fast:
        segments = split_segments(telemetry.gps, telemetry.breaks)
        kind = dop_kind(telemetry)
        gpx = _frame(telemetry, safe_text(name), segments)
        for gpx_segment, samples in zip(gpx.tracks[0].segments, segments, strict=True):
            gpx_segment.points.extend(_gpxpy_point(s, kind) for s in samples)
        return str(gpx.to_xml(version="1.1")).encode("utf-8")
    return rendered(lambda out: write_gpx(telemetry, out, name=name))


def write_gpx(telemetry: Telemetry, out: Sink, *, name: str) -> None:
    """``render_gpx``'s bytes (the fast layout), written into ``out`` as they come."""
    segments = split_segments(telemetry.gps, telemetry.breaks)
    kind = dop_kind(telemetry)
    frame = str(_frame(telemetry, safe_text(name), segments).to_xml(version="1.1"))
    if len(telemetry.gps) < ARRAY_MIN_POINTS:
        texts: Iterable[tuple[int, bytes]] = (
            (k, segment_points(samples, kind).encode("utf-8")) for k, samples in enumerate(segments)
        )
    else:
        texts = array_point_pieces(segments, kind)
    _splice_texts(frame, len(segments), texts, out)


def _frame(telemetry: Telemetry, name: str, segments: Sequence[Sequence[GpsSample]]) -> Any:
    """The gpxpy document with metadata, one track and empty segments."""
    gpx = gpxpy.gpx.GPX()
    gpx.creator = CREATOR
    gpx.name = name
    gpx.nsmap[TPX_PREFIX] = TPX_NS
    samples = joined(segments)
    start_ms = utc_millis(first_utc(samples))
    if start_ms is not None:
        gpx.time = _GpxTime.from_ms(start_ms)
    lats, lons = extremes(samples, "lat"), extremes(samples, "lon")
    if lats and lons:
        # Rounding is monotonic, so the rounded extremes are the extremes rounded.
        bounds = (_latlon(lats[0]), _latlon(lats[1]), _latlon(lons[0]), _latlon(lons[1]))
        gpx.bounds = gpxpy.gpx.GPXBounds(*bounds)
    track = gpxpy.gpx.GPXTrack(name=name)
    if telemetry.camera:
        track.source = safe_text(telemetry.camera)
    track.segments.extend(gpxpy.gpx.GPXTrackSegment() for _ in segments)
    gpx.tracks.append(track)
    return gpx


def _latlon(value: float | None) -> float:
    # Valid samples always carry coordinates; 0.0 keeps a broken parser visible
    # on the map instead of crashing the whole file.
    result = rounded(value, LATLON_DECIMALS)
    return 0.0 if result is None else result


def _tpx_values(sample: GpsSample) -> tuple[str | None, str | None]:
    """Speed and course text for the Garmin extension (schema: speed >= 0, course in [0, 360))."""
    speed = rounded(sample.speed_2d, SPEED_DECIMALS)
    course = course_deg(sample.course)
    return (
        None if speed is None or speed < 0 else gpx_number(speed),
        None if course is None else gpx_number(course),
    )


def _gpxpy_point(sample: GpsSample, kind: str) -> Any:
    """One point as a gpxpy object (the reference path)."""
    ms = utc_millis(sample.utc)
    point = gpxpy.gpx.GPXTrackPoint(
        _latlon(sample.lat),
        _latlon(sample.lon),
        elevation=rounded(sample.ele, ELE_DECIMALS),
        time=None if ms is None else _GpxTime.from_ms(ms),
    )
    point.type_of_gpx_fix = FIX_NAMES.get(sample.fix) if sample.fix is not None else None
    setattr(point, _DOP_ATTRS[kind], rounded(sample.dop, DOP_DECIMALS))
    speed, course = _tpx_values(sample)
    if speed is not None or course is not None:
        ext = ET.Element(f"{{{TPX_NS}}}TrackPointExtension")
        # Element order follows the TrackPointExtension v2 xsd: speed, course.
        for tag, text in (("speed", speed), ("course", course)):
            if text is not None:
                ET.SubElement(ext, f"{{{TPX_NS}}}{tag}").text = text
        point.extensions.append(ext)
    return point


# The exact text gpxpy writes for an empty segment inside the one track.
_EMPTY_SEGMENT = "\n    <trkseg>\n    </trkseg>"


def _splice_texts(frame: str, segments: int, texts: Iterable[tuple[int, bytes]], out: Sink) -> None:
    """Each segment's point lines (pieces in order, by segment number) put into gpxpy's
    frame, in place of its empty segments, written into ``out`` as they come: the pieces
    joined at the end held twice the file at the peak, ~70 MB for a 3-hour recording."""
    parts = frame.split(_EMPTY_SEGMENT)
    # The name is escaped by gpxpy, so the marker can only be our segments.
    if len(parts) != segments + 1:
        raise AssertionError("gpxpy frame layout changed: segment marker not found")
    out.write(parts[0].encode("utf-8"))
    pieces = iter(texts)
    pending = next(pieces, None)
    for k in range(segments):
        out.write(b"\n    <trkseg>")
        while pending is not None and pending[0] == k:
            out.write(pending[1])
            pending = next(pieces, None)
        out.write(b"\n    </trkseg>" + parts[k + 1].encode("utf-8"))
