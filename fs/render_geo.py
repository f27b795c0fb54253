"""``track.kml`` (Google Earth) and ``track.geojson`` (RFC 7946): the track for map tools.

Both hold only valid samples, cut into the same segments as the GPX
(``render_common.split_segments``), with coordinates rounded like the GPX
(7 decimals for lon/lat, 3 for elevation) in their shortest form.

KML 2.2 (namespace ``http://www.opengis.net/kml/2.2``):

- one LineString placemark per segment (``tessellate`` on, no
  ``altitudeMode``, so the line is draped on the terrain: camera GPS altitude
  is too rough to fly the line at its own height); a one-point segment
  becomes a Point placemark, since a LineString needs two coordinates;
- a "Points" folder with one small-dot placemark per UTC second (the first
  sample of each second) carrying a ``<TimeStamp>``: Google Earth's time
  slider then replays the drive, and an hour stays at 3,600 placemarks
  instead of 65,000 (Google Earth slows to a crawl with that many).

GeoJSON: a FeatureCollection, one feature per line:

- first the track: a LineString, or a MultiLineString when there are several
  segments; RFC 7946 wants at least two positions per line string, so
  one-point segments are left out of it (they remain as Point features);
- then one Point feature per valid sample, properties ``time`` (ISO 8601,
  ms, ``Z``), ``video_time_s``, ``ele_m``, ``speed_mps``, ``course_deg``,
  ``fix``, ``dop``, ``segment`` (0-based), null when unknown;
- positions are ``[lon, lat]`` or ``[lon, lat, ele]`` (RFC 7946 §3.1.1).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import accumulate
from xml.sax.saxutils import escape

from telemetryfs.parsers.model import FIX_NAMES, GpsSample, Telemetry
from telemetryfs.parsers.track import field_values

from .render_common import (
    DOP_DECIMALS,
    ELE_DECIMALS,
    LATLON_DECIMALS,
    SLICE,
    TIME_DECIMALS,
    Piece,
    Sink,
    complete_text,
    course_column,
    interleave,
    iso_column,
    number_column,
    rendered,
    safe_text,
    speed_column,
)
from .render_segments import joined, reaching, split_segments

KML_NS = "http://www.opengis.net/kml/2.2"
# KML colours are aabbggrr: opaque red, the usual colour of a recorded track.
_TRACK_COLOR = "ff0000ff"
_DOT_ICON = "http://maps.google.com/mapfiles/kml/shapes/shaded_dot.png"


def _elevations(samples: Sequence[GpsSample]) -> list[str | None]:
    return number_column(field_values(samples, "ele"), ELE_DECIMALS)


def _positions(
    samples: Sequence[GpsSample], *, json: bool, eles: list[str | None] | None = None
) -> list[str]:
    """One position per sample: ``lon,lat[,ele]`` (KML) or ``[lon,lat[,ele]]`` (GeoJSON)."""
    lons = number_column(field_values(samples, "lon"), LATLON_DECIMALS)
    lats = number_column(field_values(samples, "lat"), LATLON_DECIMALS)
    eles = _elevations(samples) if eles is None else eles
    opening, closing = ("[", "]") if json else ("", "")
    if complete_text(lons) and complete_text(lats) and complete_text(eles):
        pieces: list[Piece] = [opening, lons, ",", lats, ",", eles, closing + "\n"]
        return interleave(pieces, len(samples)).split("\n")[:-1]
    return [
        f"{opening}{lon or '0.0'},{lat or '0.0'}{closing}"
        if ele is None
        else f"{opening}{lon or '0.0'},{lat or '0.0'},{ele}{closing}"
        for lon, lat, ele in zip(lons, lats, eles, strict=True)
    ]


# --- KML -----------------------------------------------------------------------


def render_kml(telemetry: Telemetry, *, name: str) -> bytes:
    """The ``track.kml`` of one video.

    Args:
        telemetry: the parsed video.
        name: the video's file name (document name).
    """
    segments = split_segments(telemetry.gps, telemetry.breaks)
    title = escape(safe_text(name))
    # KML's schema orders a feature's children: name, description, styles, features.
    camera = telemetry.camera
    description = f"  <description>{escape(safe_text(camera))}</description>\n" if camera else ""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<kml xmlns="{KML_NS}">\n<Document>\n',
        f"  <name>{title}</name>\n",
        description,
        f'  <Style id="track"><LineStyle><color>{_TRACK_COLOR}</color>'
        "<width>3</width></LineStyle></Style>\n",
        f'  <Style id="point"><IconStyle><scale>0.4</scale><Icon><href>{_DOT_ICON}</href>'
        "</Icon></IconStyle><LabelStyle><scale>0</scale></LabelStyle></Style>\n",
    ]
    points = joined(segments)
    ends = list(accumulate(len(seg) for seg in segments))
    # SLICE points at a time: an hour's positions and times as strings at once
    # held ~45 MB at the peak in a 3-hour recording, for a file of a few MB.
    folder: list[str] = []
    last_second = None
    for start in range(0, len(points), SLICE):
        part = points[start : start + SLICE]
        coords = _positions(part, json=False)
        _kml_segments(coords, start, ends, out)
        last_second = _kml_points(part, coords, last_second, folder)
    if folder:  # none: no folder
        out += ["  <Folder>\n    <name>Points</name>\n", *folder, "  </Folder>\n"]
    out.append("</Document>\n</kml>\n")
    return "".join(out).encode("utf-8")


def _kml_segments(coords: list[str], start: int, ends: list[int], out: list[str]) -> None:
    """The placemarks' text for the points from ``start`` on (their coordinates), one
    placemark a segment: a LineString, or a Point for a segment of one point."""
    stop = start + len(coords)
    for k, first, end in reaching(ends, start, stop):
        lo, hi = max(first, start), min(end, stop)
        here = coords[lo - start : hi - start]
        head = f"  <Placemark>\n    <name>Segment {k + 1}</name>\n    <styleUrl>#track</styleUrl>\n"
        if end - first == 1:
            out.append(
                f"{head}    <Point><coordinates>{here[0]}</coordinates></Point>\n  </Placemark>\n"
            )
            continue
        if lo == first:
            out.append(
                f"{head}    <LineString>\n      <tessellate>1</tessellate>\n      <coordinates>\n"
            )
        else:  # the line goes on from the slice before
            out.append("\n")
        out.append("\n".join(here))
        if hi == end:
            out.append("\n      </coordinates>\n    </LineString>\n  </Placemark>\n")


def _kml_points(
    samples: Sequence[GpsSample], coords: list[str], last_second: str | None, out: list[str]
) -> str | None:
    """The time-stamped points of these samples: the first sample of each UTC second
    (the last second seen before them given, the last one seen returned)."""
    times = iso_column(field_values(samples, "utc"))
    for when, coord in zip(times, coords, strict=True):
        if when is None or when[:19] == last_second:
            continue
        last_second = when[:19]
        out.append(
            f"    <Placemark><TimeStamp><when>{when}</when></TimeStamp><styleUrl>#point</styleUrl>"
            f"<Point><coordinates>{coord}</coordinates></Point></Placemark>\n"
        )
    return last_second


# --- GeoJSON ---------------------------------------------------------------------


def render_geojson(telemetry: Telemetry, *, name: str) -> bytes:
    """The ``track.geojson`` of one video.

    Args:
        telemetry: the parsed video.
        name: the video's file name (the track feature's ``name``).
    """
    return rendered(lambda out: write_geojson(telemetry, out, name=name))


def write_geojson(telemetry: Telemetry, out: Sink, *, name: str) -> None:
    """``render_geojson``'s bytes, written into ``out`` as they come."""
    segments = split_segments(telemetry.gps, telemetry.breaks)
    points = joined(segments)
    lengths = [len(seg) for seg in segments]
    ends = list(accumulate(lengths))
    lines = sum(n >= 2 for n in lengths)
    first_line = next((k for k, n in enumerate(lengths) if n >= 2), None)
    # SLICE points at a time, written as they come: the positions and features of an
    # hour as strings held ~70 MB at the peak in a 3-hour recording, and joining
    # pieces at the end twice the file. A longer track's positions are formatted
    # again for the features; a track of one slice (a card's clip) keeps them.
    kept: tuple[list[str | None], list[str]] | None = None
    out.write(b'{"type":"FeatureCollection","features":[\n')
    if lines:
        kind = "LineString" if lines == 1 else "MultiLineString"
        out.write(b'{"type":"Feature","geometry":{"type":"' + kind.encode() + b'","coordinates":[')
        out.write(b"[" if lines > 1 else b"")
        for start in range(0, len(points), SLICE):
            part = points[start : start + SLICE]
            eles = _elevations(part)
            positions = _positions(part, json=True, eles=eles)
            if len(points) <= SLICE:
                kept = eles, positions
            out.write(_track_positions(positions, start, ends, first_line).encode("utf-8"))
        properties = json.dumps(
            {"name": safe_text(name), "camera": telemetry.camera and safe_text(telemetry.camera)}
            | {"segments": lines},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        tail = ("]]}" if lines > 1 else "]}") + ',"properties":' + properties + "}"
        out.write((tail + (",\n" if points else "\n")).encode("utf-8"))
    for start in range(0, len(points), SLICE):
        part = points[start : start + SLICE]
        if kept is not None:
            eles, positions = kept
        else:
            eles = _elevations(part)
            positions = _positions(part, json=True, eles=eles)
        numbers = _segment_numbers(start, len(part), ends)
        features = _point_features(part, positions, eles, numbers).encode("utf-8")
        if start + SLICE >= len(points):  # every feature but the last ends in ",\n"
            features = features[:-2] + b"\n"
        out.write(features)
    out.write(b"]}\n")


def _track_positions(
    positions: list[str], start: int, ends: list[int], first_line: int | None
) -> str:
    """The track geometry's text for the points from ``start`` on (their positions):
    segments of one point are left out; "," between a line's positions, "],[" between
    lines (a MultiLineString's; a LineString has one). ``first_line``: the number of
    the first segment of two points or more."""
    out = []
    stop = start + len(positions)
    for k, first, end in reaching(ends, start, stop):
        if end - first >= 2:
            lo, hi = max(first, start), min(end, stop)
            # A line going on from the slice before, the first line, a line after another.
            sep = "," if lo > first else "" if k == first_line else "],["
            out.append(sep + ",".join(positions[lo - start : hi - start]))
    return "".join(out)


def _segment_numbers(start: int, count: int, ends: list[int]) -> list[str]:
    """The 0-based segment number of each of ``count`` points from ``start`` on."""
    numbers: list[str] = []
    for k, first, end in reaching(ends, start, start + count):
        numbers += [str(k)] * (min(end, start + count) - max(first, start))
    return numbers


def _json_value(texts: list[str | None], quote: str = "") -> list[Piece]:
    """Template pieces for one JSON value per point: the text, or null."""
    if complete_text(texts):
        return [quote, texts, quote]
    return [["null" if t is None else f"{quote}{t}{quote}" for t in texts]]


def _point_features(
    points: Sequence[GpsSample],
    positions: list[str],
    eles: list[str | None],
    numbers: list[str],
) -> str:
    fixes = [FIX_NAMES.get(s.fix) if s.fix is not None else None for s in points]
    pieces: list[Piece] = [
        '{"type":"Feature","geometry":{"type":"Point","coordinates":',
        positions,
        '},"properties":{"time":',
        *_json_value(iso_column(field_values(points, "utc")), '"'),
        ',"video_time_s":',
        *_json_value(number_column(field_values(points, "video_time"), TIME_DECIMALS)),
        ',"ele_m":',
        *_json_value(eles),
        ',"speed_mps":',
        *_json_value(speed_column(field_values(points, "speed_2d"))),
        ',"course_deg":',
        *_json_value(course_column(field_values(points, "course"))),
        ',"fix":',
        *_json_value(fixes, '"'),
        ',"dop":',
        *_json_value(number_column(field_values(points, "dop"), DOP_DECIMALS)),
        ',"segment":',
        numbers,
        "}},\n",
    ]
    return interleave(pieces, len(points))
