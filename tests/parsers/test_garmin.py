"""Garmin VIRB FIT parsing: clip slicing against fitdecode, and where exiftool disagrees."""

from __future__ import annotations

import datetime as dt
import io
import re

import fitdecode
import pytest

from telemetryfs.parsers import detect
from telemetryfs.parsers.errors import ParseError, UnsupportedError
from telemetryfs.parsers.formats.garmin.fit import extract, slice_to_clip
from telemetryfs.parsers.model import Telemetry
from tests.paths import SAMPLES

FIT = SAMPLES / "garmin-virb" / "trek-view" / "2018-01-11-17-33-54.fit"
EXIFTOOL_13 = FIT.parent / "oracle" / "exiftool-13.58_fit.all.txt"


def _messages(name: str) -> list[dict[str, object]]:
    with fitdecode.FitReader(str(FIT)) as reader:
        return [
            {f.name: f.value for f in m.fields}
            for m in reader
            if isinstance(m, fitdecode.FitDataMessage) and m.name == name
        ]


def _track() -> Telemetry:
    with FIT.open("rb") as f:
        return extract(f)


def _sys(m: dict[str, object]) -> float:
    return float(m["timestamp"]) + float(m.get("timestamp_ms") or 0) / 1000  # type: ignore[arg-type]


def test_sniffed_as_fit() -> None:
    assert detect.sniff(FIT.read_bytes()[:4096], FIT.name) == detect.FIT


def test_each_clip_gets_the_gps_recorded_between_its_start_and_end() -> None:
    track = _track()
    events = _messages("camera_event")
    gps = _messages("gps_metadata")
    for clip in track.info["clips"]:
        start = next(
            _sys(e)
            for e in events
            if e["camera_file_uuid"] == clip["uuid"] and e["camera_event_type"] == "video_start"
        )
        end = next(
            _sys(e)
            for e in events
            if e["camera_file_uuid"] == clip["uuid"] and e["camera_event_type"] == "video_end"
        )
        inside = [m for m in gps if start <= _sys(m) <= end]
        sliced = slice_to_clip(track, clip["uuid"])
        assert sliced is not None
        assert len(sliced.gps) == len(inside) > 0
        # Times from the clip's start: the first fix came after the video started.
        assert sliced.gps[0].video_time == pytest.approx(_sys(inside[0]) - start, abs=1e-6)
        assert sliced.duration == pytest.approx(end - start)
    # V0380038.MP4 is 52 s long (its exiftool overview): the first clip is 52.085 s.
    assert track.info["clips"][0]["duration_s"] == 52.085
    assert slice_to_clip(track, "VIRBactioncamera360_Video_other.fit") is None


def test_exiftool_13_agrees_on_utc_seconds_but_shows_system_time_as_dates() -> None:
    """exiftool 13.58 reads each gps_metadata's ``utc_timestamp`` (GPS Date Time) as we do:
    every fix of ours falls in the second it shows. Its ``Time Stamp`` of every message but
    the timestamp_correlation is 1989-12-31 00:00:xx: seconds since power-on read as the
    FIT epoch, which is why the track is never timed by that field."""
    text = EXIFTOOL_13.read_text()
    stamps = re.findall(r"^\[Doc\d+\]\s+Time Stamp\s+: (\S+)", text, re.M)
    assert len([s for s in stamps if not s.startswith("1989:12:31")]) == 1
    gps_dates = re.findall(r"^\[Doc\d+\]\s+GPS Date Time\s+: (\S+ \S+)", text, re.M)
    # Two more "GPS Date Time"s (lap and session start_time) are system time too.
    assert len([d for d in gps_dates if d.startswith("1989:12:31")]) == 2
    gps_dates = [d for d in gps_dates if not d.startswith("1989:12:31")]
    track = _track()
    assert len(gps_dates) == len(track.gps) == 2700
    for sample, shown in zip(track.gps, gps_dates, strict=True):
        second = dt.datetime.strptime(shown, "%Y:%m:%d %H:%M:%S%z").timestamp()
        assert second <= (sample.utc or 0) < second + 1


def test_not_fit_and_fit_without_gps() -> None:
    with pytest.raises(ParseError):
        extract(io.BytesIO(b"\x0e\x10" + bytes(6) + b".FIT" + bytes(20)))
    header = bytearray(FIT.read_bytes()[:14])
    header[4:8] = bytes(4)  # a FIT with no records at all
    with pytest.raises(UnsupportedError):
        extract(io.BytesIO(bytes(header) + b"\0\0"))
