"""track.srt / track.vtt without FUSE, read back by the srt and webvtt-py parsers."""

from __future__ import annotations

import gc
import math
import time
import weakref

import srt
import webvtt

from telemetryfs.fs.render_subtitles import MAX_CUES, NO_FIX, render_srt, render_vtt
from telemetryfs.parsers.model import GpsSample, Telemetry

START = 1_775_485_282.0  # 2026-04-06T14:21:22Z


def _gopro(seconds: int, *, rate: int = 10, lost: range = range(0), **kw: object) -> Telemetry:
    gps = []
    for i in range(seconds * rate):
        t = i / rate
        valid = int(t) not in lost
        gps.append(
            GpsSample(
                utc=START + t,
                video_time=t,
                lat=46.5 + i * 1e-5,
                lon=6.6 - i * 1e-5,
                ele=372.25 + i,
                speed_2d=10.0,
                fix=3 if valid else 0,
                dop=1.25 if valid else 99.99,
                valid=valid,
            )
        )
    return Telemetry(format="gopro-mp4", gps=tuple(gps), duration=seconds + 0.7, **kw)  # type: ignore[arg-type]


def _parse_both(t: Telemetry) -> tuple[list[srt.Subtitle], list[webvtt.Caption]]:
    cues = list(srt.parse(render_srt(t).decode("utf-8")))
    captions = webvtt.from_string(render_vtt(t).decode("utf-8")).captions
    return cues, captions


def test_one_cue_per_whole_second_in_both_formats() -> None:
    cues, captions = _parse_both(_gopro(12))
    assert len(cues) == len(captions) == 12  # 12.7 s of video
    assert [c.start.total_seconds() for c in cues] == [float(n) for n in range(12)]
    assert [c.end.total_seconds() for c in cues] == [float(n) for n in range(1, 13)]
    assert [c.start_in_seconds for c in captions] == list(range(12))
    assert [c.text for c in captions] == [c.content for c in cues]
    # The first sample of each second, in words a player shows.
    assert cues[3].content.splitlines() == [
        "2026-04-06 14:21:25 UTC",
        "36.0 km/h  402 m",
        "46.500300, 6.599700",
        "GPS fix 3D, DOP 1.25",
    ]


def test_seconds_without_a_fix_say_so() -> None:
    cues, _ = _parse_both(_gopro(10, lost=range(4, 7)))
    assert [c.content == NO_FIX for c in cues] == [n in (4, 5, 6) for n in range(10)]


def test_local_time_where_info_knows_the_zone() -> None:
    detected, _ = _parse_both(_gopro(2, info={"time_offset_detected_s": 10800}))
    # Detected, not applied: the recorded times already are the camera's local clock.
    assert detected[0].content.splitlines()[0] == "2026-04-06 14:21:22 UTC+03:00"
    applied, _ = _parse_both(_gopro(2, info={"time_offset_applied_s": 19800}))
    assert applied[0].content.splitlines()[0] == "2026-04-06 19:51:22 UTC+05:30"


def test_no_fix_quality_where_the_format_has_none_and_utc_places_a_lone_log() -> None:
    gps = tuple(
        GpsSample(START + 2 * i, None, 46.5, 6.6, speed_2d=None, ele=None) for i in range(5)
    )
    cues, captions = _parse_both(Telemetry(format="nmea-log", gps=gps))
    # No duration: the track's last second ends the cues; a fix every 2 s.
    assert len(cues) == len(captions) == 9
    assert cues[0].content == "2026-04-06 14:21:22 UTC\n46.500000, 6.600000"
    assert cues[1].content == NO_FIX


def test_odd_values_and_garbage_durations() -> None:
    odd = GpsSample(START, 0.2, 46.5, 6.6, ele=math.nan, speed_2d=math.inf, speed_3d=2.0, fix=None)
    cues, _ = _parse_both(Telemetry(format="x", gps=(odd,), duration=1.5))
    assert cues[0].content == "2026-04-06 14:21:22 UTC\n7.2 km/h\n46.500000, 6.600000"
    began = time.perf_counter()
    huge = render_vtt(Telemetry(format="x", gps=(odd,), duration=1e12))
    assert time.perf_counter() - began < 5
    assert huge.count(b" --> ") == MAX_CUES
    assert render_srt(Telemetry(format="x", gps=(odd,), duration=math.nan)).count(b" --> ") == 1
    assert render_vtt(Telemetry(format="x")) == b"WEBVTT\n\n"


def test_srt_and_vtt_share_their_cues_without_keeping_the_telemetry_alive() -> None:
    first, second = _gopro(30), _gopro(30, lost=range(5, 9))
    for t in (first, second, first):  # each asked for after the other's cues
        texts = [c.content for c in srt.parse(render_srt(t).decode())]
        assert [c.text for c in webvtt.from_string(render_vtt(t).decode())] == texts
        assert (NO_FIX in texts) == (t is second)
    seen = weakref.ref(second)
    render_vtt(second)  # the last cues asked for are of ``second``
    del second
    gc.collect()
    assert seen() is None  # the remembered cues hold no telemetry
