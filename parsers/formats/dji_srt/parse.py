"""DJI drone ``.SRT`` subtitles: one cue per video frame (or per second on 2017-19 models).

Every model family writes its own payload (see FORMAT-NOTES "DJI drone .SRT
sidecars"); this module reads them all into :class:`~..records.Record` objects:

- ``HOME(lon,lat) date`` / ``GPS(lon,lat,sats) BAROMETER:x`` (2017 Mavic Pro,
  Phantom; the older ``Hb:``/``Hs:``/``TV``/``IR`` spelling too);
- ``F/5.6, SS 400, ISO 100, EV 0, GPS (lon, lat, sats), HOME (...), D ..m, H ..m,
  H.S ..m/s, V.S ..m/s, F.PRY (...), G.PRY (...)`` (Phantom 4 Pro/RTK, Mavic Mini);
- Matrice 300 ``GPS(lat,lon,0.0M)``: a third value in metres flips the order;
- ``[key : value]`` brackets (Mavic 2 onwards), ``longtitude`` (sic) included,
  ``rel_alt: a abs_alt: b`` pairs and prefixed groups (``Drone: Yaw:.. Pitch:..``).

Cues are split on timecode lines, not on blank lines: Mavic 3 Pro / M300
payloads hold an empty line inside a cue. A file without any timecode line
(``mavic_2_style``) is split on blank lines. ``<font>`` wrappers, a UTF-8 BOM
and CRLF line ends are ignored. Dates are the camera's local time with no zone:
they are kept as recorded (read as UTC) and the family's Clock trait makes the
post-processing convert them (cleanup.py).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Iterator
from typing import BinaryIO

from telemetryfs.parsers.binio import file_size, read_upto
from telemetryfs.parsers.errors import MalformedError, UnsupportedError
from telemetryfs.parsers.model import Extent, ParseWarning, Telemetry, Value
from telemetryfs.parsers.probe import Probe
from telemetryfs.parsers.records import Record, Source, posix, to_telemetry

SOURCE = Source(format="dji-srt", fourcc="SRT", label="DJI drone SRT subtitles")
# An hour at 60 frames a second is ~100 MB of cues; beyond this a file is not
# an SRT we can hold in memory (the size is checked before reading).
MAX_SIZE = 256 << 20
MAX_COLUMNS = 96  # extra columns kept per file: damage must not grow the table

_TIMECODE = re.compile(
    r"^\s*(\d{1,3}):(\d\d):(\d\d)[,.](\d{1,3})\s*-->\s*(\d{1,3}):(\d\d):(\d\d)[,.](\d{1,3})"
)
_FONT = re.compile(r"</?font[^>]*>", re.IGNORECASE)
_DATE = re.compile(
    r"(?<!\d)(\d{4})[-.](\d{1,2})[-.](\d{1,2})[ T](\d{1,2}):(\d\d):(\d\d)(?:[,.](\d{1,3}))?"
)
_NUM = r"[-+]?\d+(?:\.\d+)?"
_PAREN_GPS = re.compile(r"\bGPS\s*\(([^)]*)\)")
_PAREN_HOME = re.compile(r"\bHOME\s*\(([^)]*)\)")
_BRACKET = re.compile(r"\[([^\[\]]*)\]")
# key : value inside a bracket; a key followed by another key is a prefix
# (``Drone: Yaw:30.6, Pitch:3.0``).
# Inline ``F/5.6, SS 400, ISO 100 ...`` fields (P4P, Mavic Mini) and the 2017 ones.
_INLINE: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("fnum", re.compile(r"(?<![\w.])F/(" + _NUM + ")")),
    ("shutter", re.compile(r"\bSS (" + _NUM + r"(?:/" + _NUM + ")?)")),
    ("iso", re.compile(r"\bISO[ :]\s*(\d+)")),
    ("ev", re.compile(r"\bEV[ :]\s*([-+]?\d+(?:[./]\d+)?)")),
    ("distance", re.compile(r"(?<![\w.])D (" + _NUM + ")m")),
    ("height", re.compile(r"(?<![\w.])H (" + _NUM + ")m")),
    ("h_speed", re.compile(r"\bH\.S (" + _NUM + ")")),
    ("v_speed", re.compile(r"\bV\.S (" + _NUM + ")")),
    ("barometer", re.compile(r"\bBAROMETER:\s*(" + _NUM + ")")),
    ("hb", re.compile(r"\bHb:\s*(" + _NUM + ")")),
    ("hs", re.compile(r"\bHs:\s*(" + _NUM + ")")),
    ("shutter", re.compile(r"\b(?:Shutter|TV):\s*(" + _NUM + r"(?:/" + _NUM + ")?)")),
    ("fnum", re.compile(r"\b(?:Fnum|IR):\s*F?(" + _NUM + ")")),
)
_PRY = re.compile(r"\b([FG])\.PRY\s*\(([^)]*)\)")
_KEY_NAMES = {"longtitude": "longitude", "focal_len": "focal_len", "fnum": "fnum"}


def _text(f: BinaryIO) -> str:
    size = file_size(f)
    if size > MAX_SIZE:
        raise MalformedError(f"{size} bytes is too large for an SRT file")
    data = read_upto(f, 0, size)
    return data.decode("utf-8", "replace").lstrip("\ufeff")


# Any number as a cue writes it: 7, -0.7, +1/3, 1/2000.0.
_NUMBER = re.compile(r"[-+]?\d+(?:[./]\d+)*")


def _shape(line: str) -> str:
    """A cue line with its numbers blanked: the lines of a drone's cues share one shape."""
    return _NUMBER.sub("9", line.strip())


def _ends_cut(text: str, shapes: list[list[str]]) -> bool:
    """Whether the file stops inside its last cue (a card pulled, a drone down): the last
    cue's lines are not the shape of the one before, or, with one cue, the file ends
    inside a line. (A cut exactly between two cues leaves a shorter, whole file; a
    complete file may lack its final line break, as a Phantom 4 Pro's does.)"""
    if not text or not shapes:
        return False
    if len(shapes) < 2:
        return text[-1] not in "\r\n"
    before, last = shapes
    if len(last) < len(before) or last[: len(before)] != before[: len(last)]:
        return True
    # Ending inside a line: that line must be a whole cue line (not half a timecode).
    final = text.replace("\r", "\n").rsplit("\n", 1)[-1]
    return text[-1] not in "\r\n" and _shape(final) not in before


def _cues(text: str) -> Iterator[tuple[float | None, float | None, int, list[str]]]:
    """(start, end, offset, payload lines) of every cue, in file order."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    offsets, pos = [], 0
    for line in lines:
        offsets.append(pos)
        pos += len(line) + 1
    marks = [(i, m) for i, line in enumerate(lines) if (m := _TIMECODE.match(line))]
    if not marks:
        block: list[str] = []
        at = 0
        for i, line in enumerate([*lines, ""]):
            if line.strip():
                if not block:
                    at = offsets[min(i, len(offsets) - 1)]
                block.append(line)
            elif block:
                yield None, None, at, block[1:] if block[0].strip().isdigit() else block
                block = []
        return
    for k, (i, m) in enumerate(marks):
        stop = marks[k + 1][0] if k + 1 < len(marks) else len(lines)
        body = lines[i + 1 : stop]
        # The next cue's index line belongs to the next cue.
        while body and not body[-1].strip():
            body.pop()
        if k + 1 < len(marks) and body and body[-1].strip().isdigit():
            body.pop()
        g = [int(x) for x in m.groups()]
        start = g[0] * 3600 + g[1] * 60 + g[2] + g[3] / 10 ** len(m.group(4))
        end = g[4] * 3600 + g[5] * 60 + g[6] + g[7] / 10 ** len(m.group(8))
        yield start, end, offsets[i], body


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    text = text.strip().rstrip("mM°").strip()
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@functools.lru_cache(maxsize=8192)
def _value(text: str) -> Value:
    """A field as a number when it is one, else the text as written (values repeat
    from cue to cue: cached)."""
    text = text.strip()
    bare = text[:-1] if text[-1:] in ("m", "M", "°") else text
    try:
        return int(bare)
    except ValueError:
        pass
    try:
        number = float(bare)
    except ValueError:
        return text
    # float() also reads 'nan', 'inf' and '1_0': those stay text.
    return number if math.isfinite(number) and bare[-1:].isdigit() and "_" not in bare else text


# ``[`` (a new bracket: no prefix) or ``key : value`` / ``key :`` (a prefix).
_TOKEN = re.compile(r"(\[)|([A-Za-z_][A-Za-z_0-9.]*)\s*:\s*([^\s,\[\]:]+(?=[\s,\]]|$))?")


def _pairs(text: str, found: dict[str, Value], *, prefixes: bool) -> None:
    prefix = ""
    for bracket, key, raw in _TOKEN.findall(text):
        if bracket:
            prefix = ""
        elif not raw:
            prefix = key.lower() + "_" if prefixes else ""
        else:
            key = key.lower()
            found.setdefault(prefix + _KEY_NAMES.get(key, key), _value(raw))


def _fields(payload: str) -> dict[str, Value]:
    """Every ``name -> value`` a cue's payload carries."""
    found: dict[str, Value] = {}
    if "[" in payload:
        _pairs(_brackets(payload), found, prefixes=True)
        outside = _BRACKET.sub(" ", payload)
    else:
        outside = payload
    if "(" in outside:
        # ``FrameCnt : 1``, and the FPV goggles' ``signal:4 ch:5 uavBat:15.6V``.
        _pairs(_PAREN_GPS.sub(" ", _PAREN_HOME.sub(" ", outside)), found, prefixes=False)
    else:
        _pairs(outside, found, prefixes=False)
    if "[" not in payload:  # the inline styles (P4P, Mavic Mini, 2017) have no brackets
        for name, pattern in _INLINE:
            m = pattern.search(outside)
            if m and (name not in found or found[name] == ""):
                found[name] = _value(m.group(1))
    if "PRY" in outside:
        for m in _PRY.finditer(outside):
            parts = [_number(p) for p in m.group(2).split(",")]
            for axis, value in zip(("pitch", "roll", "yaw"), parts, strict=False):
                found[f"{'drone' if m.group(1) == 'F' else 'gimbal'}_{axis}"] = value
    home = _PAREN_HOME.search(outside) if "HOME" in outside else None
    if home:
        parts = [_number(p) for p in home.group(1).split(",")]
        if len(parts) >= 2:
            found["home_lon"], found["home_lat"] = parts[0], parts[1]
        if len(parts) >= 3:
            found["home_alt"] = parts[2]
    return found


def _brackets(payload: str) -> str:
    """The bracket groups of a payload, each starting with ``[`` (a prefix ends there)."""
    return "".join(f"[{b}]" for b in _BRACKET.findall(payload))


def _gps(payload: str) -> tuple[float | None, float | None, float | None, int | None]:
    """lat, lon, altitude and satellites of a ``GPS(...)`` group (either order)."""
    if "GPS" not in payload:
        return None, None, None, None
    m = _PAREN_GPS.search(_BRACKET.sub(" ", payload))
    if m is None:
        return None, None, None, None
    parts = [p.strip() for p in m.group(1).split(",")]
    if len(parts) < 2:
        return None, None, None, None
    a, b = _number(parts[0]), _number(parts[1])
    third = parts[2] if len(parts) > 2 else ""
    if re.fullmatch(r"[-+]?\d+(?:\.\d+)?M", third):  # Matrice 300: lat, lon, altitude
        return a, b, _number(third), None
    sats = _number(third)
    return b, a, None, int(sats) if sats is not None and 0 <= sats < 1000 else None


def _date(payload: str) -> float | None:
    m = _DATE.search(payload)
    if m is None:
        return None
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    t = posix(y, mo, d, h, mi, s)
    if t is None:
        return None
    return t + (int(m.group(7)) / 10 ** len(m.group(7)) if m.group(7) else 0.0)


def _record(start: float | None, offset: int, lines: list[str], columns: dict[str, None]) -> Record:
    payload = _FONT.sub("", "\n".join(lines))
    fields = _fields(payload)
    lat, lon, ele, sats = _gps(payload)
    if lat is None:
        lat, lon = _number(_str(fields.get("latitude"))), _number(_str(fields.get("longitude")))
    if sats is not None:
        fields["satellites"] = sats
    if ele is None:
        ele = _number(_str(fields.get("abs_alt", fields.get("altitude"))))
    if lat == 0.0 and lon == 0.0:
        lat = lon = None  # before the lock: no fix, not a point off Africa
    speed = _number(_str(fields.get("h_speed")))
    for key in fields:
        if key not in columns and len(columns) < MAX_COLUMNS:
            columns[key] = None
    return Record(
        utc=_date(payload),
        lat=lat,
        lon=lon,
        ele=ele,
        speed=speed if speed is not None and speed >= 0 else None,
        video_time=start,
        offset=offset,
        extra=tuple((k, v) for k, v in fields.items() if k in columns),
    )


def _str(value: Value) -> str | None:
    return None if value is None else str(value)


def extract(source: BinaryIO | Probe, *, name: str = "") -> Telemetry:
    """The track and per-cue fields of a DJI ``.SRT`` file.

    Raises:
        UnsupportedError: no cue of a DJI drone in the file.
        MalformedError: the file is too large to be an SRT.
        TruncatedError: the file cannot be read.
    """
    f = Probe.of(source, name).file
    text = _text(f)
    columns: dict[str, None] = {}
    records, ends = [], []
    shapes: list[list[str]] = []
    for start, end, offset, lines in _cues(text):
        if not any(line.strip() for line in lines):
            continue
        records.append(_record(start, offset, lines, columns))
        ends.append(end)
        shapes = [*shapes[-1:], [_shape(line) for line in lines if line.strip()]]
    records = [r for r in records if r.extra or r.lat is not None or r.utc is not None]
    if not records:
        raise UnsupportedError("no DJI SRT cue")
    warnings: list[ParseWarning] = []
    if _ends_cut(text, shapes):
        warnings.append(ParseWarning(len(text), "the last cue ends early: the file is cut short"))
    with_position = sum(1 for r in records if r.lat is not None)
    info: dict[str, object] = {"cues": len(records)}
    if not with_position:
        info["gps"] = "none: the cues carry no position"
    times = [r.video_time for r in records if r.video_time is not None]
    last_end = max((e for e in ends if e is not None), default=None)
    duration = last_end if last_end is not None else (max(times) if times else None)
    telemetry = to_telemetry(
        SOURCE,
        records,
        raw=[Extent(0, file_size(f))],
        duration=duration,
        info=info,
        warnings=warnings,
    )
    if with_position:
        return telemetry
    # FPV goggles and some models: signal, battery, exposure... but no position.
    # The fields are a stream of their own, not a GPS stream.
    return dataclasses.replace(
        telemetry,
        gps_stream=None,
        streams=tuple(
            dataclasses.replace(s, name="cues", label="DJI SRT cue fields (no GPS)")
            for s in telemetry.streams
        ),
        raw_files=tuple(dataclasses.replace(r, name="cues.raw") for r in telemetry.raw_files),
    )


def merge(video: Telemetry | None, sidecar: Telemetry) -> Telemetry:
    """A clip's telemetry with the track of its SRT (DJI_0001.SRT beside DJI_0001.MP4).

    A clip with a track of its own keeps it (the SRT repeats it at a coarser
    precision); otherwise the SRT's track and fields become the clip's. The
    SRT's byte ranges are not the clip's, so its raw file stays out.
    """
    if video is None:
        return dataclasses.replace(sidecar, info=dict(sidecar.info, gps_source="sidecar"))
    if video.valid_gps:
        return dataclasses.replace(
            video, info=dict(video.info, gps_source="video", sidecar_records=len(sidecar.gps))
        )
    streams = (
        *(s for s in video.streams if s.name != "gps"),
        *(
            dataclasses.replace(s, label="GPS from the DJI SRT sidecar")
            for s in sidecar.streams
            if s.name == "gps"
        ),
    )
    warnings = video.warnings + tuple(
        ParseWarning(w.offset, f"sidecar: {w.reason}") for w in sidecar.warnings
    )
    return dataclasses.replace(
        video,
        gps=sidecar.gps,
        gps_stream=sidecar.gps_stream,
        extra_columns=sidecar.extra_columns,
        streams=streams,
        warnings=warnings,
        info=dict(video.info, gps_source="sidecar", sidecar_records=len(sidecar.gps)),
    )
