"""info.json: golden bytes for a failed parse, key order, caps, JSON safety."""

from __future__ import annotations

import json
import math
from typing import Any

from telemetryfs.fs.render import MAX_WARNINGS, render_info
from telemetryfs.parsers.model import ParseWarning, Telemetry
from tests.render_samples import edge_track, three_points

# By hand: the fixed key order, two-space indent, nulls and empty lists for a
# video that could not be parsed, the error squeezed onto one line.
GOLDEN_FAILED = """\
{
  "format": null,
  "camera": null,
  "firmware": null,
  "source": {
    "name": "GOPR0042.MP4",
    "size": 1234,
    "mtime_utc": "2017-04-17T17:31:03.000Z"
  },
  "gps_stream": null,
  "gps_samples": 0,
  "gps_valid": 0,
  "gps_segments": 0,
  "start_utc": null,
  "end_utc": null,
  "duration_s": null,
  "creation_utc": null,
  "streams": [],
  "stream_details": [],
  "raw_files": [],
  "info": {},
  "error": "no moov box: the file was cut short",
  "warnings": [],
  "warnings_total": 0
}
"""

REQUIRED = ("format", "camera", "gps_samples", "gps_valid", "start_utc", "end_utc", "duration_s")


def test_failed_parse_golden() -> None:
    data = render_info(
        None,
        source_name="GOPR0042.MP4",
        error="no moov box:\n  the file was cut short",
        source_size=1234,
        source_mtime_ns=1_492_450_263_000_000_000,
    )
    assert data.decode() == GOLDEN_FAILED


def test_parsed_video_summary() -> None:
    doc = json.loads(render_info(three_points(), source_name="GOPR0001.MP4"))
    for key in (*REQUIRED, "streams", "error", "warnings"):
        assert key in doc
    assert doc["format"] == "gopro-mp4"
    assert doc["camera"] == "HERO5 Black"
    assert doc["firmware"] == "HD5.02.01.51.00"
    assert doc["gps_stream"] == "GPS5"
    assert (doc["gps_samples"], doc["gps_valid"], doc["gps_segments"]) == (3, 3, 1)
    assert doc["start_utc"] == "2017-04-17T17:31:03.000Z"
    assert doc["end_utc"] == "2017-04-17T17:31:03.111Z"
    assert doc["duration_s"] == 1.001
    assert doc["streams"] == ["ACCL"]
    assert doc["stream_details"][0]["columns"] == ["z_mps2", "x_mps2", "y_mps2"]
    assert doc["info"] == {"device_name": "Camera", "model": "HERO5 Black"}
    assert doc["error"] is None
    assert doc["warnings"] == ["@1234: GPSU: malformed timestamp"]
    assert doc["warnings_total"] == 1
    assert doc["source"] == {"name": "GOPR0001.MP4", "size": None, "mtime_utc": None}


def test_invalid_and_timeless_samples_in_counts() -> None:
    doc = json.loads(render_info(edge_track(), source_name="x"))
    assert (doc["gps_samples"], doc["gps_valid"], doc["gps_segments"]) == (4, 3, 3)
    assert doc["end_utc"] == "2017-04-17T17:32:05.500Z"


def test_warnings_are_capped_with_a_total() -> None:
    warnings = tuple(ParseWarning(i, f"bad sample {i}") for i in range(500))
    doc = json.loads(render_info(Telemetry(format="x", warnings=warnings), source_name="x"))
    assert len(doc["warnings"]) == MAX_WARNINGS
    assert doc["warnings_total"] == 500


def test_error_from_telemetry_and_override() -> None:
    t = Telemetry(format="x", error="truncated\tat 42")
    assert json.loads(render_info(t, source_name="x"))["error"] == "truncated at 42"
    assert json.loads(render_info(t, source_name="x", error="other"))["error"] == "other"


def test_info_dict_is_sorted_and_made_json_safe() -> None:
    info: dict[Any, Any] = {
        "z": 1,
        "a": {"y": math.nan, "b": b"GPS5", "c": b"\x00\xff"},
        "set": {3, 1},
        5: "five",
    }
    data = render_info(Telemetry(format="x", info=info), source_name="x")
    doc = json.loads(data)
    assert list(doc["info"]) == ["5", "a", "set", "z"]
    assert doc["info"]["a"] == {"b": "GPS5", "c": "00ff", "y": None}
    assert doc["info"]["set"] == [1, 3]
    assert b"NaN" not in data


def test_extra_keys_follow_sorted_and_cannot_override() -> None:
    data = render_info(None, source_name="x", extra={"zeta": 1, "alpha": [1], "format": "hacked"})
    doc = json.loads(data)
    assert list(doc)[-2:] == ["alpha", "zeta"]
    assert doc["format"] is None


def test_utf8_not_escaped_and_ends_with_newline() -> None:
    data = render_info(None, source_name="Île_\udcff.MP4")
    assert "Île_\ufffd.MP4".encode() in data
    assert data.endswith(b"}\n")


def test_deterministic() -> None:
    t = three_points()
    assert render_info(t, source_name="a") == render_info(t, source_name="a")


def test_context_dict_as_extra() -> None:
    # The FUSE layer passes one context dict: its source facts land in "source".
    context = {
        "source_name": "GOPR0042.MP4",
        "source_size": 1234,
        "source_mtime_ns": 1_492_450_263_000_000_000,
        "error": "no moov box: the file was cut short",
    }
    assert render_info(None, source_name="GOPR0042.MP4", extra=context).decode() == GOLDEN_FAILED
    with_sidecar = json.loads(
        render_info(None, source_name="x", extra={**context, "sidecar": "x.nmea"})
    )
    assert list(with_sidecar)[-1] == "sidecar"
