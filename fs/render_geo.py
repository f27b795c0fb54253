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
    complete_text,
    course_column,
    interleave,
    iso_column,
    number_column,
    safe_text,
    speed_column,
)
from .render_segments import joined, split_segments

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


def _by_segment(items: list[str], segments: Sequence[Sequence[GpsSample]]) -> list[list[str]]:
    """Cut a list made for all valid samples back into per-segment lists."""
    out, start = [], 0
    for seg in segments:
        out.append(items[start : start + len(seg)])
        start += len(seg)
    return out


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
    coords = _positions(points, json=False)
    for number, seg_coords in enumerate(_by_segment(coords, segments), 1):
        out.append(_kml_segment(seg_coords, number))
    out.append(_kml_points(points, coords))
    out.append("</Document>\n</kml>\n")
    return "".join(out).encode("utf-8")


def _kml_segment(coords: list[str], number: int) -> str:
    head = f"  <Placemark>\n    <name>Segment {number}</name>\n    <styleUrl>#track</styleUrl>\n"
    if len(coords) == 1:
        return f"{head}    <Point><coordinates>{coords[0]}</coordinates></Point>\n  </Placemark>\n"
    return (
        f"{head}    <LineString>\n      <tessellate>1</tessellate>\n      <coordinates>\n"
        + "\n".join(coords)
        + "\n      </coordinates>\n    </LineString>\n  </Placemark>\n"
    )


def _kml_points(samples: Sequence[GpsSample], coords: list[str]) -> str:
    """The time-stamped points folder: the first sample of each UTC second (none: no folder)."""
    times = iso_column(field_values(samples, "utc"))
    out = ["  <Folder>\n    <name>Points</name>\n"]
    last_second = None
    for when, coord in zip(times, coords, strict=True):
        if when is None or when[:19] == last_second:
            continue
        last_second = when[:19]
        out.append(
            f"    <Placemark><TimeStamp><when>{when}</when></TimeStamp><styleUrl>#point</styleUrl>"
            f"<Point><coordinates>{coord}</coordinates></Point></Placemark>\n"
        )
    if len(out) == 1:
        return ""
    out.append("  </Folder>\n")
    return "".join(out)


# --- GeoJSON ---------------------------------------------------------------------


def render_geojson(telemetry: Telemetry, *, name: str) -> bytes:
    """The ``track.geojson`` of one video.

    Args:
        telemetry: the parsed video.
        name: the video's file name (the track feature's ``name``).
    """
    segments = split_segments(telemetry.gps, telemetry.breaks)
    points = joined(segments)
    eles = _elevations(points)
    positions = _positions(points, json=True, eles=eles)
    lines = [line for line in _by_segment(positions, segments) if len(line) >= 2]
    head = ['{"type":"FeatureCollection","features":[\n']
    if lines:
        head.append(_geojson_track(lines, safe_text(name), telemetry.camera))
        head.append(",\n" if points else "\n")
    features = _geojson_points(points, positions, eles, segments) if points else []
    return b"".join([("".join(head)).encode("utf-8"), *features, b"]}\n"])


def _geojson_track(lines: list[list[str]], name: str, camera: str | None) -> str:
    if len(lines) == 1:
        geometry = '{"type":"LineString","coordinates":[' + ",".join(lines[0]) + "]}"
    else:
        parts = ",".join("[" + ",".join(line) + "]" for line in lines)
        geometry = '{"type":"MultiLineString","coordinates":[' + parts + "]}"
    properties = json.dumps(
        {"name": name, "camera": camera and safe_text(camera), "segments": len(lines)},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return '{"type":"Feature","geometry":' + geometry + ',"properties":' + properties + "}"


def _json_value(texts: list[str | None], quote: str = "") -> list[Piece]:
    """Template pieces for one JSON value per point: the text, or null."""
    if complete_text(texts):
        return [quote, texts, quote]
    return [["null" if t is None else f"{quote}{t}{quote}" for t in texts]]


def _geojson_points(
    points: Sequence[GpsSample],
    positions: list[str],
    eles: list[str | None],
    segments: Sequence[Sequence[GpsSample]],
) -> list[bytes]:
    """One Point feature per valid sample, one per line, comma-separated, as UTF-8
    pieces of SLICE features: an hour's columns at once held ~25 MB of strings at the
    peak. The text is the same (each feature depends on its sample alone)."""
    numbers = [text for k, seg in enumerate(segments) for text in [str(k)] * len(seg)]
    pieces = [
        _point_features(
            points[start : start + SLICE],
            positions[start : start + SLICE],
            eles[start : start + SLICE],
            numbers[start : start + SLICE],
        ).encode("utf-8")
        for start in range(0, len(points), SLICE)
    ]
    # Every feature but the last ends in ",\n"; the last one just in "\n".
    pieces[-1] = pieces[-1][:-2] + b"\n"
    return pieces


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
