"""``info.json``: what telemetryfs found in one video, or why it found nothing.

Every video folder has one, even when parsing failed (then ``telemetry`` is
None and ``error`` says why), so a user can always ask "what happened here?".

Layout: one JSON object, 2-space indent, keys in a fixed order (never sorted
by accident of dict construction), UTF-8 (not ``\\u`` escapes), trailing newline:

    format, camera, firmware, source{name,size,mtime_utc}, gps_stream,
    gps_samples, gps_valid, gps_segments, start_utc, end_utc, duration_s,
    creation_utc, streams[names], stream_details[...], raw_files[names],
    info{…Telemetry.info, keys sorted}, error, warnings[…], warnings_total,
    then the caller's ``extra`` keys, sorted.

``warnings`` is capped at ``MAX_WARNINGS`` strings (``"@offset: reason"``);
``warnings_total`` tells how many there were. ``error`` is one line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from itertools import compress
from typing import Any

from telemetryfs.parsers.model import ParseWarning, Stream, Telemetry
from telemetryfs.parsers.track import field_values

from .render_common import iso_millis, iso_utc, rounded, safe_text, utc_millis
from .render_segments import split_segments

# Enough to see the pattern of a damaged file; a broken hour-long file can
# yield thousands of identical complaints that would bury everything else.
MAX_WARNINGS = 50
# An error message longer than this is cut: info.json is read by people.
MAX_ERROR_CHARS = 500


def render_info(
    telemetry: Telemetry | None,
    *,
    source_name: str,
    error: str | None = None,
    extra: Mapping[str, Any] | None = None,
    source_size: int | None = None,
    source_mtime_ns: int | None = None,
) -> bytes:
    """The ``info.json`` of one video.

    Args:
        telemetry: the parsed video, or None when parsing failed.
        source_name: the video's file name.
        error: why parsing failed (overrides ``telemetry.error``).
        extra: more top-level keys (e.g. ``{"sidecar": "x.nmea"}``), written
            after the standard ones in sorted order. The keys ``source_name``,
            ``source_size``, ``source_mtime_ns`` and ``error`` are read as the
            arguments of the same names when those are not given (the FUSE
            layer passes one context dict), and are not repeated.
        source_size: the video's size in bytes, when the caller knows it.
        source_mtime_ns: its modification time (``st_mtime_ns``).

    Returns:
        UTF-8 JSON, pretty-printed, ending in a newline.
    """
    extra = dict(extra or {})
    source_size = source_size if source_size is not None else extra.get("source_size")
    source_mtime_ns = (
        source_mtime_ns if source_mtime_ns is not None else extra.get("source_mtime_ns")
    )
    error = error if error is not None else extra.get("error")
    for key in _CONTEXT_KEYS:
        extra.pop(key, None)
    doc: dict[str, Any] = {}
    t = telemetry
    doc["format"] = t.format if t else None
    doc["camera"] = t.camera if t else None
    doc["firmware"] = t.firmware if t else None
    doc["source"] = {
        "name": source_name,
        "size": source_size,
        "mtime_utc": _mtime_text(source_mtime_ns),
    }
    doc.update(_gps_summary(t))
    doc["duration_s"] = rounded(t.duration, 3) if t else None
    doc["creation_utc"] = iso_utc(t.creation_time) if t else None
    doc["streams"] = [s.name for s in t.streams] if t else []
    doc["stream_details"] = [_stream_detail(s) for s in t.streams] if t else []
    doc["raw_files"] = [r.name for r in t.raw_files] if t else []
    info = dict(t.info) if t else {}
    recording = info.pop(RECORDING_INFO, None)
    doc["info"] = _jsonable(info, sort_keys=True)
    doc["error"] = _one_line(error if error is not None else (t.error if t else None))
    warnings = t.warnings if t else ()
    doc["warnings"] = [_warning_text(w) for w in warnings[:MAX_WARNINGS]]
    doc["warnings_total"] = len(warnings)
    for key in sorted(extra, key=str):
        if str(key) not in doc:  # the standard keys cannot be overridden
            doc[str(key)] = _jsonable(extra[key], sort_keys=True)
    if isinstance(recording, Mapping):
        # A joined recording: its facts (parts, gaps, the wall-clock span) come
        # first and stand in for the single-video ones of the same name.
        doc = {**_jsonable(dict(recording)), **{k: v for k, v in doc.items() if k not in recording}}
    text = json.dumps(_jsonable(doc), indent=2, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


# The key of Telemetry.info under which a joined recording keeps its facts.
RECORDING_INFO = "recording"

# Keys of ``extra`` that stand for arguments (see render_info).
_CONTEXT_KEYS = ("source_name", "source_size", "source_mtime_ns", "error")


def _mtime_text(mtime_ns: Any) -> str | None:
    if not isinstance(mtime_ns, int):
        return None
    # Integer arithmetic: no float rounding for far-future times.
    return iso_millis(mtime_ns // 1_000_000) if utc_millis(mtime_ns / 1e9) is not None else None


def _gps_summary(t: Telemetry | None) -> dict[str, Any]:
    if t is None:
        return {
            "gps_stream": None,
            "gps_samples": 0,
            "gps_valid": 0,
            "gps_segments": 0,
            "start_utc": None,
            "end_utc": None,
        }
    valid = [bool(ok) for ok in field_values(t.gps, "valid")]
    # Only finite times: iso_utc then turns an out-of-range extreme into null.
    utcs = compress(field_values(t.gps, "utc"), valid)
    times = [u for u in utcs if u is not None and math.isfinite(u)]
    return {
        "gps_stream": t.gps_stream,
        "gps_samples": len(t.gps),
        "gps_valid": valid.count(True),
        "gps_segments": len(split_segments(t.gps, t.breaks)),
        "start_utc": iso_utc(min(times)) if times else None,
        "end_utc": iso_utc(max(times)) if times else None,
    }


def _stream_detail(stream: Stream) -> dict[str, Any]:
    return {
        "name": stream.name,
        "fourcc": stream.fourcc,
        "device": stream.device,
        "label": stream.label,
        "columns": list(stream.columns),
        "samples": stream.sample_count,
    }


def _warning_text(warning: ParseWarning) -> str:
    reason = _one_line(warning.reason) or ""
    return reason if warning.offset is None else f"@{warning.offset}: {reason}"


def _one_line(text: str | None) -> str | None:
    if text is None:
        return None
    line = " ".join(str(text).split())
    if len(line) > MAX_ERROR_CHARS:
        line = line[: MAX_ERROR_CHARS - 1] + "…"
    return line


def _jsonable(value: Any, *, sort_keys: bool = False) -> Any:
    """A JSON-safe copy: str keys, no NaN, text that encodes to UTF-8, bytes as text.

    ``sort_keys`` orders the keys of every mapping inside: used for parser-made
    dicts, so the bytes never depend on the order a parser filled them in.
    """
    if isinstance(value, Mapping):
        items = list(value.items())
        if sort_keys:
            items.sort(key=lambda kv: str(kv[0]))
        return {safe_text(str(k)): _jsonable(v, sort_keys=sort_keys) for k, v in items}
    if isinstance(value, set | frozenset):
        return [_jsonable(v, sort_keys=sort_keys) for v in sorted(value, key=repr)]
    if isinstance(value, list | tuple):
        return [_jsonable(v, sort_keys=sort_keys) for v in value]
    if isinstance(value, str):
        return safe_text(value)
    if value is None or isinstance(value, int):  # bool is an int
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
        printable = raw.isascii() and raw.decode("ascii").isprintable()
        return raw.decode("ascii") if printable else raw.hex()
    return safe_text(str(value))
