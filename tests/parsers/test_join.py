"""Joining a recording's parts (GoPro chapters, dashcam segments) into one Telemetry.

Expected values are worked out by hand from the rules in parsers/join.py.
"""

from __future__ import annotations

import dataclasses
import math
import pickle
from typing import Any

import pytest

from telemetryfs.parsers.fastbuild import fast_constructor
from telemetryfs.parsers.join import Gap, PartInput, join_parts
from telemetryfs.parsers.model import (
    Chunk,
    Extent,
    GpsSample,
    ParseWarning,
    RawFile,
    Stream,
    Telemetry,
    Value,
)
from telemetryfs.parsers.track import GpsTrack

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
GOPRO = "gopro-chapters"
DASHCAM = "dashcam-drive"


def fix(utc: float | None, video_time: float | None, extra: tuple[Value, ...] = ()) -> GpsSample:
    return GpsSample(utc, video_time, 45.0, 7.0, extra=extra)


def track(start: float, *video_times: float) -> tuple[GpsSample, ...]:
    """Fixes at the given video times of a part whose video time 0 is UTC ``start``."""
    return tuple(fix(start + t, t) for t in video_times)


def telemetry(
    gps: tuple[GpsSample, ...] = (), duration: float | None = 10.0, **fields: Any
) -> Telemetry:
    return Telemetry(format="gopro-mp4", gps=gps, duration=duration, **fields)


@pytest.fixture(autouse=True, params=["tuples", "columns"])
def gps_held_as(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test twice: parts whose tracks are tuples, and GpsTracks (GoPro's columns,
    joined as columns where every part has one)."""
    if request.param == "columns":
        plain = globals()["telemetry"]

        def with_columns(
            gps: tuple[GpsSample, ...] = (), duration: float | None = 10.0, **fields: Any
        ) -> Telemetry:
            track = GpsTrack.from_samples(gps) if gps else None
            return plain(track if track is not None else gps, duration, **fields)  # type: ignore[no-any-return]

        monkeypatch.setitem(globals(), "telemetry", with_columns)


def chapter(
    n: int, t: Telemetry | None, *, missing_before: bool = False, error: str | None = None
) -> PartInput:
    return PartInput(f"GX{n:02d}0042.MP4", n, "main", t, error, missing_before)


def texts(t: Telemetry) -> list[str]:
    return [w.reason for w in t.warnings]


# -- video time ------------------------------------------------------------------


def test_video_offsets_are_the_durations_of_the_earlier_parts() -> None:
    parts = [
        chapter(1, telemetry(track(T0, 0.0, 1.0), duration=10.0)),
        chapter(2, telemetry(track(T0 + 10, 0.0, 1.0), duration=20.0)),
        chapter(3, telemetry(track(T0 + 30, 0.0, 1.0), duration=5.0)),
    ]
    t, facts, recording = join_parts(parts, kind=GOPRO)
    assert [s.video_time for s in t.gps] == [0.0, 1.0, 10.0, 11.0, 30.0, 31.0]
    assert [s.utc for s in t.gps] == [T0, T0 + 1, T0 + 10, T0 + 11, T0 + 30, T0 + 31]
    assert [f.video_offset_s for f in facts] == [0.0, 10.0, 30.0]
    assert [f.gps_samples for f in facts] == [2, 2, 2]
    assert t.duration == 35.0
    assert t.breaks == ()
    assert t.warnings == ()
    assert recording.recorded_s == 35.0
    assert (recording.start_utc, recording.end_utc, recording.duration_s) == (T0, T0 + 35, 35.0)
    assert recording.gaps == ()
    assert recording.overlaps == 0


def test_part_without_duration_adds_nothing_to_the_offsets_and_is_told() -> None:
    parts = [
        chapter(1, telemetry(track(T0, 0.0), duration=None)),
        chapter(2, telemetry(track(T0 + 10, 0.0), duration=10.0)),
    ]
    t, facts, recording = join_parts(parts, kind=DASHCAM)
    assert [s.video_time for s in t.gps] == [0.0, 0.0]
    assert facts[0].duration_s is None
    assert facts[0].end_utc is None
    assert facts[1].video_offset_s == 0.0
    assert t.duration == 10.0
    assert recording.recorded_s == 10.0
    assert texts(t) == [
        "GX010042.MP4: duration unknown, counted as 0 s in the video times after it"
    ]


def test_non_finite_duration_counts_as_unknown() -> None:
    parts = [
        chapter(1, telemetry(track(T0, 0.0), duration=math.nan)),
        chapter(2, telemetry(track(T0 + 10, 0.0), duration=math.inf)),
    ]
    t, facts, recording = join_parts(parts, kind=DASHCAM)
    assert t.duration is None
    assert recording.recorded_s == 0.0
    assert [f.video_offset_s for f in facts] == [0.0, 0.0]
    assert len(recording.warnings) == 2


def test_samples_without_video_time_keep_none() -> None:
    parts = [chapter(1, telemetry(track(T0, 0.0))), chapter(2, telemetry((fix(T0 + 11, None),)))]
    t, _, _ = join_parts(parts, kind=GOPRO)
    assert [s.video_time for s in t.gps] == [0.0, None]


# -- overlaps ----------------------------------------------------------------------


def test_samples_not_later_than_the_last_kept_are_dropped_and_counted() -> None:
    # The second segment starts 2 s before the first one ends: its first three
    # fixes (UTC +8, +9, +10) are not later than the last kept one (+10).
    parts = [
        chapter(1, telemetry(track(T0, 8.0, 9.0, 10.0), duration=11.0)),
        chapter(2, telemetry(track(T0 + 8, 0.0, 1.0, 2.0, 3.0), duration=11.0)),
    ]
    t, facts, recording = join_parts(parts, kind=DASHCAM)
    assert [s.utc for s in t.gps] == [T0 + 8, T0 + 9, T0 + 10, T0 + 11]
    assert t.gps[-1].video_time == 14.0  # 3.0 + 11.0
    assert recording.overlaps == 3
    assert [(f.gps_samples, f.overlap_dropped) for f in facts] == [(3, 0), (1, 3)]
    assert t.breaks == ()


def test_overlap_is_judged_in_video_time_without_utc() -> None:
    parts = [
        chapter(1, telemetry((fix(None, 0.0), fix(None, 10.5)), duration=10.0)),
        chapter(2, telemetry((fix(None, 0.0), fix(None, 0.5), fix(None, 1.0)), duration=10.0)),
    ]
    t, _, recording = join_parts(parts, kind=DASHCAM)
    # In joined video time part 2's fixes are 10.0, 10.5 and 11.0: two not later than 10.5.
    assert [s.video_time for s in t.gps] == [0.0, 10.5, 11.0]
    assert recording.overlaps == 2


def test_only_the_leading_overlap_is_dropped() -> None:
    # A clock step back inside a part is the part's own business.
    parts = [
        chapter(1, telemetry(track(T0, 0.0, 5.0))),
        chapter(2, telemetry((fix(T0 + 5, 0.0), fix(T0 + 11, 1.0), fix(T0 + 10.5, 2.0)))),
    ]
    t, _, recording = join_parts(parts, kind=DASHCAM)
    assert [s.utc for s in t.gps] == [T0, T0 + 5, T0 + 11, T0 + 10.5]
    assert recording.overlaps == 1


def test_event_clip_inside_the_drive_adds_nothing() -> None:
    parts = [
        PartInput("2024_0101_120000_F.MP4", 1, "main", telemetry(track(T0, 0.0, 30.0, 59.0))),
        PartInput("2024_0101_120020_E.MP4", 2, "event", telemetry(track(T0 + 20, 0.0, 10.0))),
    ]
    t, facts, recording = join_parts(parts, kind=DASHCAM)
    assert len(t.gps) == 3
    assert recording.overlaps == 2
    assert facts[1].role == "event"
    assert facts[1].gps_samples == 0


# -- breaks ----------------------------------------------------------------------------


def test_missing_chapter_breaks_the_track_and_is_a_gap() -> None:
    parts = [
        chapter(1, telemetry(track(T0, 0.0, 9.0))),
        chapter(3, telemetry(track(T0 + 20, 0.0, 9.0)), missing_before=True),
    ]
    t, facts, recording = join_parts(parts, kind=GOPRO)
    assert t.breaks == (2,)
    assert facts[1].gap_before_s == 10.0
    assert recording.gaps == (Gap("GX010042.MP4", "GX030042.MP4", 10.0, True),)
    assert texts(t) == [
        "one or more chapters are missing before GX030042.MP4: the track breaks there"
    ]


def test_missing_chapters_before_the_first_part_are_a_gap_without_a_break() -> None:
    parts = [chapter(2, telemetry(track(T0, 0.0)), missing_before=True)]
    t, _, recording = join_parts(parts, kind=GOPRO)
    assert t.breaks == ()
    assert recording.gaps == (Gap(None, "GX020042.MP4", None, True),)


def test_failed_part_breaks_the_track_and_counts_zero() -> None:
    parts = [
        chapter(1, telemetry(track(T0, 0.0, 9.0))),
        chapter(2, None, error="moov box missing"),
        chapter(3, telemetry(track(T0 + 20, 0.0, 9.0))),
    ]
    t, facts, recording = join_parts(parts, kind=GOPRO)
    assert t.breaks == (2,)
    assert [s.video_time for s in t.gps] == [0.0, 9.0, 10.0, 19.0]
    assert t.error is None
    assert facts[1].error == "moov box missing"
    assert facts[1].gps_samples == 0
    assert (facts[1].start_utc, facts[1].duration_s) == (None, None)
    assert facts[2].gap_before_s is None  # the failed part has no end to measure from
    assert recording.gaps == ()
    assert texts(t) == [
        "GX020042.MP4 could not be read (moov box missing): the track breaks there "
        "and its duration counts as 0 s in the video times after it"
    ]


def test_break_waits_for_the_first_part_with_samples() -> None:
    parts = [
        chapter(1, telemetry(track(T0, 0.0))),
        chapter(2, None),
        chapter(3, telemetry((), duration=10.0)),  # no GPS at all
        chapter(4, telemetry(track(T0 + 30, 0.0))),
    ]
    t, facts, _ = join_parts(parts, kind=DASHCAM)
    assert t.breaks == (1,)
    assert t.gps[1].video_time == 20.0  # 10 + 0 (failed) + 10
    assert facts[1].error == "no telemetry could be read"


def one_second_chapters(delta: float) -> list[PartInput]:
    """Chapter 1 runs T0..T0+10; chapter 2 starts ``delta`` s after that end."""
    second = T0 + 10 + delta
    return [
        chapter(1, telemetry(track(T0, 0.5, 9.0))),  # no fix in the chapter's last second
        chapter(2, telemetry(track(second, 0.5, 9.0))),
    ]


@pytest.mark.parametrize(
    ("delta", "continues"),
    [(-2.5, False), (-2.0, True), (-1.0, True), (0.0, True), (2.9, True), (3.5, False)],
)
def test_chapter_must_start_2_s_before_to_3_s_after_the_previous_end(
    delta: float, continues: bool
) -> None:
    t, facts, _ = join_parts(one_second_chapters(delta), kind=GOPRO)
    assert t.breaks == (() if continues else (2,))
    assert facts[1].gap_before_s == pytest.approx(delta)
    assert len(t.warnings) == (0 if continues else 1)


def test_continuity_failure_names_both_chapters() -> None:
    t, _, recording = join_parts(one_second_chapters(3.5), kind=GOPRO)
    assert texts(t) == [
        "GX020042.MP4 does not continue GX010042.MP4: it starts 3.5 s after GX010042.MP4 "
        "ends (expected 2 s before to 3 s after): the track breaks there"
    ]
    (gap,) = recording.gaps
    assert (gap.after_part, gap.before_part, gap.missing_parts) == (
        "GX010042.MP4",
        "GX020042.MP4",
        False,
    )
    assert gap.seconds == pytest.approx(3.5)


def test_early_chapter_is_told_as_before() -> None:
    t, _, _ = join_parts(one_second_chapters(-2.5), kind=GOPRO)
    assert "it starts 2.5 s before GX010042.MP4 ends" in texts(t)[0]


def test_dashcam_segments_are_not_checked_for_continuity() -> None:
    t, _, recording = join_parts(one_second_chapters(30.0), kind=DASHCAM)
    assert t.breaks == ()
    assert t.warnings == ()
    assert recording.gaps == (Gap("GX010042.MP4", "GX020042.MP4", 30.0, False),)


def test_continuity_is_not_checked_without_utc() -> None:
    parts = [
        chapter(1, telemetry(track(T0, 0.5))),
        chapter(2, telemetry((fix(None, 0.5),))),
    ]
    t, facts, _ = join_parts(parts, kind=GOPRO)
    assert t.breaks == ()
    assert facts[1].start_utc is None
    assert facts[1].gap_before_s is None


def test_chapter_of_another_session_breaks_the_track() -> None:
    parts = [
        chapter(1, telemetry(track(T0, 0.5), info={"session_id": "A1", "serial": "C3"})),
        chapter(2, telemetry(track(T0 + 10, 0.5), info={"session_id": "B2", "serial": "C3"})),
    ]
    t, facts, _ = join_parts(parts, kind=GOPRO)
    assert t.breaks == (1,)
    assert [f.session for f in facts] == ["A1", "B2"]
    assert texts(t) == [
        "GX020042.MP4 belongs to another recording session than GX010042.MP4 "
        "(session B2 vs A1): the track breaks there"
    ]
    assert t.info == {"session_id": "A1", "serial": "C3"}


def test_chapter_of_another_camera_breaks_the_track() -> None:
    parts = [
        chapter(1, telemetry(track(T0, 0.5), info={"serial": "C3"})),
        chapter(2, telemetry(track(T0 + 10, 0.5), info={"serial": "C4"})),
    ]
    t, facts, _ = join_parts(parts, kind=GOPRO)
    assert t.breaks == (1,)
    assert "(camera serial C4 vs C3)" in texts(t)[0]
    assert [f.session for f in facts] == [None, None]


def test_session_is_compared_only_when_both_parts_carry_it() -> None:
    parts = [
        chapter(1, telemetry(track(T0, 0.5), info={"session_id": "A1"})),
        chapter(2, telemetry(track(T0 + 10, 0.5))),
    ]
    t, _, _ = join_parts(parts, kind=GOPRO)
    assert t.breaks == ()
    assert t.warnings == ()


# -- streams and raw files ------------------------------------------------------------


def accl(
    *chunks: Chunk, codec: object = ("s", 3, 100), columns: tuple[str, ...] = ("x", "y", "z")
) -> Stream:
    count = sum(c.count for c in chunks)
    return Stream("ACCL", "ACCL", "Camera", "Accelerometer", columns, count, chunks, codec)


def accl_chapter(n: int, *chunks: Chunk, **stream_fields: Any) -> PartInput:
    return chapter(n, telemetry(streams=(accl(*chunks, **stream_fields),)))


def chunk(offset: int, start: float | None = 0.0, count: int = 4) -> Chunk:
    """``count`` samples at ``offset`` in part 0 (as a parser reports them), one second long."""
    return Chunk(Extent(offset, 10 * count), count, start, None if start is None else 1.0)


def test_streams_of_the_same_name_are_joined_with_part_tags_and_shifted_starts() -> None:
    parts = [
        accl_chapter(1, chunk(100)),
        accl_chapter(2, chunk(200), chunk(300, start=None, count=2)),
    ]
    t, _, _ = join_parts(parts, kind=GOPRO)
    assert len(t.streams) == 1
    stream = t.streams[0]
    assert stream.sample_count == 10
    assert stream.chunks == (
        Chunk(Extent(100, 40, 0), 4, 0.0, 1.0),
        Chunk(Extent(200, 40, 1), 4, 10.0, 1.0),
        Chunk(Extent(300, 20, 1), 2, None, None),
    )
    assert (stream.columns, stream.codec, stream.label) == (
        ("x", "y", "z"),
        ("s", 3, 100),
        "Accelerometer",
    )


def test_stream_with_another_codec_is_left_out_with_one_warning() -> None:
    parts = [
        accl_chapter(1, chunk(100)),
        accl_chapter(2, chunk(200), chunk(240, start=1.0), codec=("s", 3, 200)),
        accl_chapter(3, chunk(300)),
    ]
    t, _, recording = join_parts(parts, kind=GOPRO)
    stream = t.streams[0]
    assert stream.sample_count == 8
    assert stream.chunks == (
        Chunk(Extent(100, 40, 0), 4, 0.0, 1.0),
        Chunk(Extent(300, 40, 2), 4, 20.0, 1.0),
    )
    assert recording.warnings == (
        "GX020042.MP4: stream ACCL left out of the joined stream: "
        "its codec differs from GX010042.MP4's",
    )


def test_stream_with_other_columns_is_left_out() -> None:
    parts = [accl_chapter(1, chunk(100)), accl_chapter(2, chunk(200), columns=("x",))]
    t, _, _ = join_parts(parts, kind=GOPRO)
    assert t.streams[0].sample_count == 4
    assert "its columns differ" in texts(t)[0]


def test_stream_found_in_a_later_part_only_is_kept() -> None:
    parts = [
        chapter(1, telemetry()),
        accl_chapter(2, chunk(200)),
    ]
    t, _, _ = join_parts(parts, kind=GOPRO)
    assert t.streams[0].chunks == (Chunk(Extent(200, 40, 1), 4, 10.0, 1.0),)


def test_gps_table_stream_is_kept_once_and_counts_the_joined_track() -> None:
    def gps_table(n: int) -> Stream:
        return Stream("gps", "GPS ", None, "GPS", (), n)

    parts = [
        chapter(1, telemetry(track(T0, 0.0, 9.0), streams=(gps_table(2),))),
        chapter(2, telemetry(track(T0 + 9, 0.0, 5.0), streams=(gps_table(2),))),
    ]
    t, _, _ = join_parts(parts, kind=DASHCAM)
    assert len(t.gps) == 3  # the fix at T0 + 9 is there twice
    assert t.streams == (gps_table(3),)


def test_raw_files_are_the_parts_pieces_in_order_with_part_tags() -> None:
    parts = [
        chapter(1, telemetry(raw_files=(RawFile("all.gpmf", (Extent(10, 5), Extent(40, 5))),))),
        chapter(2, None),
        chapter(
            3,
            telemetry(
                raw_files=(
                    RawFile("ACCL.gpmf", (Extent(7, 3),)),
                    RawFile("all.gpmf", (b"head", Extent(10, 6))),
                )
            ),
        ),
    ]
    t, _, _ = join_parts(parts, kind=GOPRO)
    assert t.raw_files == (
        RawFile("all.gpmf", (Extent(10, 5, 0), Extent(40, 5, 0), b"head", Extent(10, 6, 2))),
        RawFile("ACCL.gpmf", (Extent(7, 3, 2),)),
    )
    assert t.raw_files[0].size == 5 + 5 + 4 + 6


# -- extra columns -----------------------------------------------------------------


def test_extra_columns_the_parts_agree_on_are_kept() -> None:
    columns = ("counter", "mode")
    parts = [
        chapter(1, telemetry((fix(T0, 0.0, extra=(1, "a")),), extra_columns=columns)),
        chapter(2, telemetry((fix(T0 + 10, 0.0, extra=(2, "b")),), extra_columns=columns)),
        chapter(3, telemetry((), extra_columns=())),  # no samples: its columns mean nothing
    ]
    t, _, _ = join_parts(parts, kind=DASHCAM)
    assert t.extra_columns == columns
    assert [s.extra for s in t.gps] == [(1, "a"), (2, "b")]


def test_extra_columns_that_differ_are_joined_and_realigned() -> None:
    parts = [
        chapter(1, telemetry((fix(T0, 0.0, extra=(1, "a")),), extra_columns=("counter", "mode"))),
        chapter(
            2, telemetry((fix(T0 + 10, 0.0, extra=(3.9, 7)),), extra_columns=("volts", "counter"))
        ),
        chapter(3, telemetry((fix(T0 + 20, 0.0),), extra_columns=())),
        chapter(
            4, telemetry((), extra_columns=("ignored",))
        ),  # no samples: its columns mean nothing
    ]
    t, _, _ = join_parts(parts, kind=DASHCAM)
    assert t.extra_columns == ("counter", "mode", "volts")
    assert [s.extra for s in t.gps] == [(1, "a", None), (7, None, 3.9), (None, None, None)]


def test_extra_values_missing_from_a_damaged_sample_become_none() -> None:
    parts = [
        chapter(1, telemetry((fix(T0, 0.0, extra=(1,)),), extra_columns=("counter",))),
        chapter(
            2, telemetry((fix(T0 + 10, 0.0, extra=(2.0,)),), extra_columns=("volts", "counter"))
        ),
    ]
    t, _, _ = join_parts(parts, kind=DASHCAM)
    assert t.extra_columns == ("counter", "volts")
    assert [s.extra for s in t.gps] == [(1, None), (None, 2.0)]


# -- whole recordings -------------------------------------------------------------------


def test_one_part_is_itself() -> None:
    gps = track(T0, 0.0, 1.0)
    stream = accl(chunk(100))
    raw = RawFile("all.gpmf", (Extent(10, 5),))
    part = telemetry(
        gps,
        camera="HERO12 Black",
        firmware="H23.01.01.10.00",
        gps_stream="GPS9",
        streams=(stream,),
        raw_files=(raw,),
        creation_time=T0 - 5,
        info={"payloads": 10},
    )
    t, facts, recording = join_parts([chapter(1, part)], kind=GOPRO)
    assert t == part
    assert facts[0].start_utc == T0
    assert facts[0].end_utc == T0 + 10
    assert facts[0].gap_before_s is None
    assert (recording.start_utc, recording.duration_s, recording.recorded_s) == (T0, 10.0, 10.0)


def test_metadata_comes_from_the_first_part_that_was_read() -> None:
    parts = [
        chapter(1, None, error="truncated"),
        chapter(2, telemetry(camera="HERO9 Black", creation_time=T0, info={"a": 1})),
        chapter(3, telemetry(camera="HERO10 Black", creation_time=T0 + 10, info={"b": 2})),
    ]
    t, _, _ = join_parts(parts, kind=GOPRO)
    assert (t.format, t.camera, t.creation_time, t.info) == (
        "gopro-mp4",
        "HERO9 Black",
        T0,
        {"a": 1},
    )
    assert t.error is None


def test_part_warnings_and_damage_are_named_by_file() -> None:
    damaged = telemetry(
        track(T0, 0.0), error="file cut short", warnings=(ParseWarning(512, "bad GPSU"),)
    )
    parts = [
        chapter(1, telemetry(track(T0 - 10, 0.0))),
        chapter(2, damaged, error="file cut short"),
    ]
    t, facts, recording = join_parts(parts, kind=DASHCAM)
    assert t.warnings == (
        ParseWarning(None, "GX020042.MP4: file cut short"),
        ParseWarning(512, "GX020042.MP4: bad GPSU"),
    )
    assert recording.warnings == ()
    assert facts[1].error == "file cut short"
    assert t.error is None


def test_all_parts_failed() -> None:
    parts = [chapter(1, None, error="not an MP4"), chapter(2, None, error="empty file")]
    t, facts, recording = join_parts(parts, kind=GOPRO)
    assert t.error == "GX010042.MP4: not an MP4"
    assert (t.format, t.gps, t.streams, t.raw_files, t.duration) == (GOPRO, (), (), (), None)
    assert [f.error for f in facts] == ["not an MP4", "empty file"]
    assert (recording.start_utc, recording.end_utc, recording.duration_s) == (None, None, None)
    assert recording.recorded_s == 0.0
    assert len(recording.warnings) == 2


def test_no_parts() -> None:
    t, facts, recording = join_parts([], kind=DASHCAM)
    assert t.error == "the recording has no parts"
    assert facts == []
    assert recording.recorded_s == 0.0


def test_parts_without_gps() -> None:
    parts = [chapter(1, telemetry()), chapter(2, telemetry())]
    t, facts, recording = join_parts(parts, kind=GOPRO)
    assert (t.gps, t.breaks, t.duration) == ((), (), 20.0)
    assert [f.video_offset_s for f in facts] == [0.0, 10.0]
    assert recording.start_utc is None


def test_wall_clock_duration_counts_the_gaps_recorded_time_does_not() -> None:
    parts = [
        chapter(1, telemetry(track(T0, 0.0), duration=60.0)),
        chapter(2, telemetry(track(T0 + 300, 0.0), duration=60.0)),
    ]
    _, _, recording = join_parts(parts, kind=DASHCAM)
    assert (recording.duration_s, recording.recorded_s) == (360.0, 120.0)
    assert recording.gaps == (Gap("GX010042.MP4", "GX020042.MP4", 240.0, False),)


def test_unknown_kind_is_a_caller_error() -> None:
    with pytest.raises(ValueError, match="unknown recording kind"):
        join_parts([], kind="lapse")


def test_session_is_compared_across_a_failed_part() -> None:
    parts = [
        chapter(1, telemetry(track(T0, 0.5), info={"session_id": "A1"})),
        chapter(2, None),
        chapter(3, telemetry(track(T0 + 20, 0.5), info={"session_id": "B2"})),
    ]
    t, _, _ = join_parts(parts, kind=GOPRO)
    assert t.breaks == (1,)
    assert "GX030042.MP4 belongs to another recording session than GX010042.MP4" in texts(t)[1]


# -- the joined objects ------------------------------------------------------------------


def test_rebuilt_samples_and_chunks_are_model_objects_that_pickle() -> None:
    gps = (GpsSample(T0, 0.5, 45.0, 7.0, 210.0, 3.0, 3.1, 90.0, 3, 1.5, False, (1,)),)
    stream = accl(chunk(100))
    parts = [chapter(1, telemetry()), chapter(2, telemetry(gps, streams=(stream,)))]
    t, _, _ = join_parts(parts, kind=GOPRO)
    sample, joined_chunk = t.gps[0], t.streams[0].chunks[0]
    assert sample == GpsSample(T0, 10.5, 45.0, 7.0, 210.0, 3.0, 3.1, 90.0, 3, 1.5, False, (1,))
    assert joined_chunk == Chunk(Extent(100, 40, 1), 4, 10.0, 1.0)
    assert (type(sample), type(joined_chunk), type(joined_chunk.extent)) == (
        GpsSample,
        Chunk,
        Extent,
    )
    assert pickle.loads(pickle.dumps(t)) == t  # the disk cache pickles it
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample.lat = 0.0  # type: ignore[misc]


@dataclasses.dataclass(frozen=True)
class WithDict:  # no slots: a twin with slots cannot take its place
    a: int


@dataclasses.dataclass(frozen=True, slots=True)
class Checked:
    a: int

    def __post_init__(self) -> None:
        if self.a < 0:
            raise ValueError("negative")


def test_fast_constructor_falls_back_to_the_frozen_class_when_the_twin_does_not_fit() -> None:
    assert fast_constructor(WithDict) is WithDict
    assert fast_constructor(Checked) is Checked
    build = fast_constructor(Extent)
    assert build is not Extent
    assert build(1, 2, 3) == Extent(1, 2, 3)
