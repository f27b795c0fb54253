"""Footage grouped into recordings from file names: GoPro chapters, dashcam drives, singles."""

from __future__ import annotations

import ast
import os
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetryfs.fs.recording_dashcam import usual_segment_length
from telemetryfs.fs.recording_names import FootageFile, Part, Recording, group_recordings
from tests.footage.mapcam import mapcam_name
from tests.footage.novatek import novatek_name
from tests.paths import ROOT, SAMPLES

DRIVE_START = datetime(2024, 4, 6, 16, 45, 10)


def group(*paths: str, trip_gap_s: float = 600.0) -> dict[str, Recording]:
    files = [FootageFile(path, 1_000_000, 1_700_000_000_000_000_000) for path in paths]
    recordings = group_recordings(files, trip_gap_s=trip_gap_s)
    assert [r.folder for r in recordings] == sorted(r.folder for r in recordings)
    return {r.folder: r for r in recordings}


def names(parts: tuple[Part, ...]) -> list[str]:
    return [p.path.rpartition("/")[2] for p in parts]


def novatek_drive(
    directory: str, minutes: list[float], suffix: str = "F", *, skew_s: float = 0
) -> list[str]:
    """Novatek/Viofo segments starting ``minutes`` after DRIVE_START."""
    return [
        f"{directory}/{DRIVE_START + timedelta(minutes=m, seconds=skew_s):%Y_%m%d_%H%M%S}"
        f"_{i:03d}{suffix}.MP4"
        for i, m in enumerate(minutes, 1)
    ]


# GoPro ----------------------------------------------------------------------------------


def test_chapters_spread_over_dcf_folders_are_one_recording() -> None:
    recordings = group(
        "DCIM/100GOPRO/GX010042.MP4",
        "DCIM/100GOPRO/GX020042.MP4",
        "DCIM/101GOPRO/GX030042.MP4",
        "DCIM/100GOPRO/GX010043.MP4",
    )
    assert list(recordings) == ["DCIM/100GOPRO/GX0042", "DCIM/100GOPRO/GX0043"]
    chapters = recordings["DCIM/100GOPRO/GX0042"]
    assert chapters.kind == "gopro-chapters"
    assert chapters.grouped_by == "file names"
    assert names(chapters.parts) == ["GX010042.MP4", "GX020042.MP4", "GX030042.MP4"]
    assert [p.number for p in chapters.parts] == [1, 2, 3]
    assert {p.role for p in chapters.parts} == {"main"}
    assert chapters.missing_parts == ()
    assert all(p.start is None for p in chapters.parts)


def test_missing_first_chapter_puts_the_folder_beside_the_lowest_present_one() -> None:
    recordings = group("DCIM/101GOPRO/GH020042.MP4", "DCIM/102GOPRO/GH030042.MP4")
    (recording,) = recordings.values()
    assert recording.folder == "DCIM/101GOPRO/GH0042"
    assert recording.missing_parts == (1,)
    assert [p.number for p in recording.parts] == [2, 3]


def test_missing_middle_chapter() -> None:
    recordings = group("DCIM/100GOPRO/GX010042.MP4", "DCIM/100GOPRO/GX040042.MP4")
    assert recordings["DCIM/100GOPRO/GX0042"].missing_parts == (2, 3)


@pytest.mark.parametrize(
    "order",
    [
        ["GOPR0042.MP4", "GP010042.MP4", "GP020042.MP4"],
        # gopro-join (like ReelSteady Joiner issue #108) started from GP01 and lost GOPR.
        ["GP010042.MP4", "GP020042.MP4", "GOPR0042.MP4"],
    ],
)
def test_hero5_gopr_is_chapter_one_before_gp01(order: list[str]) -> None:
    recordings = group(*(f"DCIM/100GOPRO/{name}" for name in order))
    recording = recordings["DCIM/100GOPRO/GOPR0042"]
    assert names(recording.parts) == ["GOPR0042.MP4", "GP010042.MP4", "GP020042.MP4"]
    assert [p.number for p in recording.parts] == [1, 2, 3]


def test_hero5_without_gopr_misses_chapter_one() -> None:
    recordings = group("DCIM/100GOPRO/GP010042.MP4")
    assert recordings["DCIM/100GOPRO/GOPR0042"].missing_parts == (1,)


def test_fusion_front_and_back_are_separate_recordings() -> None:
    recordings = group(
        "DCIM/100GFRNT/GPFR0007.MP4",
        "DCIM/100GFRNT/GF010007.MP4",
        "DCIM/100GBACK/GPBK0007.MP4",
        "DCIM/100GBACK/GB010007.MP4",
    )
    front = recordings["DCIM/100GFRNT/GPFR0007"]
    back = recordings["DCIM/100GBACK/GPBK0007"]
    assert names(front.parts) == ["GPFR0007.MP4", "GF010007.MP4"]
    assert names(back.parts) == ["GPBK0007.MP4", "GB010007.MP4"]
    assert [p.number for p in back.parts] == [1, 2]


def test_max_360_chapters() -> None:
    recordings = group(
        "DCIM/100GOPRO/GS010135.360",
        "DCIM/100GOPRO/GS020135.360",
        "DCIM/100GOPRO/GS010135.LRV",
        "DCIM/100GOPRO/GS010135.THM",
    )
    assert list(recordings) == ["DCIM/100GOPRO/GS0135"]
    assert names(recordings["DCIM/100GOPRO/GS0135"].parts) == ["GS010135.360", "GS020135.360"]


def test_max_lrv_stands_in_for_a_missing_360() -> None:
    recordings = group("DCIM/100GOPRO/GS010135.360", "DCIM/100GOPRO/GS020135.LRV")
    recording = recordings["DCIM/100GOPRO/GS0135"]
    assert [p.role for p in recording.parts] == ["main", "lrv-fallback"]
    assert recording.notes == ("GS020135.LRV used: its 360 is missing",)


def test_labs_prefix_is_part_of_identity_and_folder() -> None:
    recordings = group(
        "DCIM/100GOPRO/CamA-GX010042.MP4",
        "DCIM/100GOPRO/cama-gx020042.mp4",
        "DCIM/100GOPRO/GX010042.MP4",
        "DCIM/100GOPRO/CamB-GX010042.MP4",
    )
    assert list(recordings) == [
        "DCIM/100GOPRO/CamA-GX0042",
        "DCIM/100GOPRO/CamB-GX0042",
        "DCIM/100GOPRO/GX0042",
    ]
    cam_a = recordings["DCIM/100GOPRO/CamA-GX0042"]
    assert names(cam_a.parts) == ["CamA-GX010042.MP4", "cama-gx020042.mp4"]


def test_lrv_stands_in_for_a_missing_mp4() -> None:
    recordings = group(
        "DCIM/100GOPRO/GX010042.MP4",
        "DCIM/100GOPRO/GL010042.LRV",
        "DCIM/100GOPRO/GL020042.LRV",
        "DCIM/100GOPRO/GX030042.MP4",
        "DCIM/100GOPRO/GL030042.LRV",
    )
    recording = recordings["DCIM/100GOPRO/GX0042"]
    assert names(recording.parts) == ["GX010042.MP4", "GL020042.LRV", "GX030042.MP4"]
    assert [p.role for p in recording.parts] == ["main", "lrv-fallback", "main"]
    assert recording.notes == ("GL020042.LRV used: its MP4 is missing",)
    assert recording.missing_parts == ()


def test_lrv_ignored_when_its_mp4_exists() -> None:
    recordings = group("DCIM/100GOPRO/GH010042.MP4", "DCIM/100GOPRO/GL010042.LRV")
    recording = recordings["DCIM/100GOPRO/GH0042"]
    assert names(recording.parts) == ["GH010042.MP4"]
    assert recording.notes == ()


def test_hero5_lrv_has_the_video_name() -> None:
    recordings = group(
        "DCIM/100GOPRO/GOPR0042.LRV", "DCIM/100GOPRO/GP010042.MP4", "DCIM/100GOPRO/GP010042.LRV"
    )
    recording = recordings["DCIM/100GOPRO/GOPR0042"]
    assert names(recording.parts) == ["GOPR0042.LRV", "GP010042.MP4"]
    assert [p.role for p in recording.parts] == ["lrv-fallback", "main"]


def test_only_proxies_left_still_make_a_recording() -> None:
    recordings = group("DCIM/100GOPRO/GL010042.LRV", "DCIM/100GOPRO/GL020042.LRV")
    recording = recordings["DCIM/100GOPRO/GL0042"]
    assert [p.role for p in recording.parts] == ["lrv-fallback", "lrv-fallback"]


def test_thumbnails_are_never_footage() -> None:
    assert group("DCIM/100GOPRO/GX010042.THM", "DCIM/Movie/x.thm") == {}
    recordings = group("DCIM/100GOPRO/GX010042.THM", "DCIM/100GOPRO/GX010042.MP4")
    assert names(recordings["DCIM/100GOPRO/GX0042"].parts) == ["GX010042.MP4"]


def test_same_names_under_two_dcim_roots_never_join() -> None:
    recordings = group("cardA/DCIM/100GOPRO/GX010042.MP4", "cardB/DCIM/100GOPRO/GX020042.MP4")
    assert recordings["cardA/DCIM/100GOPRO/GX0042"].missing_parts == ()
    assert recordings["cardB/DCIM/100GOPRO/GX0042"].missing_parts == (1,)


def test_a_number_repeating_in_two_folders_is_two_cameras() -> None:
    # tests/footage/card.py numbers each camera's folder from 1, as two cards copied together do.
    recordings = group(
        "DCIM/100GOPRO/GX010001.MP4",
        "DCIM/100GOPRO/GX020001.MP4",
        "DCIM/101GOPRO/GX010001.MP4",
    )
    assert names(recordings["DCIM/100GOPRO/GX0001"].parts) == ["GX010001.MP4", "GX020001.MP4"]
    assert names(recordings["DCIM/101GOPRO/GX0001"].parts) == ["GX010001.MP4"]
    assert all(r.notes for r in recordings.values())


def test_chapters_outside_dcf_folders_join_only_in_their_own_folder() -> None:
    recordings = group("trip/GX010042.MP4", "trip/GX020042.mp4", "other/GX030042.MP4")
    assert [p.number for p in recordings["trip/GX0042"].parts] == [1, 2]
    assert recordings["other/GX0042"].missing_parts == (1, 2)


@pytest.mark.parametrize(
    "name", ["GOPR0042.JPG", "GX000042.MP4", "GHAA0001.MP4", "GX010042.MP4.nmea", "GX01004.MP4"]
)
def test_names_that_are_not_gopro_chapters_are_singles(name: str) -> None:
    recordings = group(f"DCIM/100GOPRO/{name}")
    assert recordings[f"DCIM/100GOPRO/{name}"].kind == "single"


# Dashcams -------------------------------------------------------------------------------


def test_front_and_rear_drives_land_side_by_side_with_gps_from_the_front() -> None:
    front = novatek_drive("DCIM/Movie/F", [0, 1, 2, 3])
    rear = novatek_drive("DCIM/Movie/R", [0, 1, 2, 3], "R", skew_s=1)
    interior = novatek_drive("DCIM/Movie/I", [1, 2], "I")
    recordings = group(*front, *rear, *interior)
    assert list(recordings) == [
        "DCIM/Movie/2024-04-06_164510_F",
        "DCIM/Movie/2024-04-06_164511_R",
        "DCIM/Movie/2024-04-06_164610_I",
    ]
    f, r, i = recordings.values()
    assert (f.kind, f.channel, f.gps_from) == ("dashcam-drive", "F", None)
    assert (r.channel, r.gps_from) == ("R", f.folder)
    assert (i.channel, i.gps_from) == ("I", f.folder)
    assert [p.path for p in r.parts] == rear
    assert [p.number for p in r.parts] == [1, 2, 3, 4]
    assert f.parts[0].start == datetime(2024, 4, 6, 16, 45, 10, tzinfo=UTC).timestamp()


def test_rear_drive_takes_gps_from_the_front_drive_it_overlaps() -> None:
    morning = novatek_drive("DCIM/Movie", [0, 1, 2])
    evening = novatek_drive("DCIM/Movie", [300, 301])
    rear = novatek_drive("DCIM/Movie", [300.02, 301.02], "R")
    recordings = group(*morning, *evening, *rear)
    assert recordings["DCIM/Movie/2024-04-06_214511_R"].gps_from == (
        "DCIM/Movie/2024-04-06_214510_F"
    )


def test_events_and_parking_attach_to_the_drive_they_fall_in() -> None:
    drive = novatek_drive("DCIM/Movie", [0, 1, 2, 3, 4])
    event = (
        f"DCIM/Movie/RO/{DRIVE_START + timedelta(minutes=2, seconds=20):%Y_%m%d_%H%M%S}_100EF.MP4"
    )
    parking = f"DCIM/Movie/Parking/{DRIVE_START + timedelta(minutes=5):%Y_%m%d_%H%M%S}_101PF.MP4"
    lone = f"DCIM/Movie/RO/{DRIVE_START + timedelta(hours=2):%Y_%m%d_%H%M%S}_102EF.MP4"
    recordings = group(*drive, event, parking, lone)
    assert list(recordings) == [
        "DCIM/Movie/2024-04-06_164510_F",
        "DCIM/Movie/2024-04-06_184510_F_event",
    ]
    commute = recordings["DCIM/Movie/2024-04-06_164510_F"]
    assert [p.path for p in commute.parts] == drive
    assert [(p.path, p.role, p.number) for p in commute.events] == [
        (event, "event", 1),
        (parking, "parking", 2),
    ]
    alone = recordings["DCIM/Movie/2024-04-06_184510_F_event"]
    assert alone.kind == "dashcam-drive"
    assert [(p.path, p.role) for p in alone.parts] == [(lone, "event")]


def test_locked_copy_counts_once_and_a_locked_only_clip_stays_in_the_drive() -> None:
    drive = novatek_drive("DCIM/Movie", [0, 1, 2, 3])
    copy = drive[1].replace("DCIM/Movie/", "DCIM/Movie/RO/")
    moved = drive[2].replace("DCIM/Movie/", "DCIM/Movie/RO/")  # Novatek moves a locked minute
    recordings = group(*drive[:2], copy, moved, drive[3])
    (recording,) = recordings.values()
    assert [p.path for p in recording.parts] == [drive[0], drive[1], moved, drive[3]]
    assert recording.events == ()
    assert recording.copies == (copy,)
    assert recording.notes == (f"{copy} is a locked copy of {drive[1]}: counted once",)


def test_same_clock_under_an_event_folder_counts_once() -> None:
    recordings = group(
        "Normal/Front/NO20240406-164510-000001.MP4",
        "Normal/Front/NO20240406-164610-000002.MP4",
        "Event/Front/NO20240406-164610-000002.MP4",
    )
    (recording,) = recordings.values()
    assert recording.folder == "Normal/2024-04-06_164510_F"
    assert len(recording.parts) == 2
    assert recording.copies == ("Event/Front/NO20240406-164610-000002.MP4",)


@pytest.mark.parametrize(
    ("pause_min", "trip_gap_s", "drives"),
    [(30, 600, 2), (5, 600, 1), (5, 120, 2), (30, 3600, 1)],
)
def test_a_long_pause_starts_a_new_drive(pause_min: float, trip_gap_s: float, drives: int) -> None:
    first = [0.0, 1, 2, 3]
    second = [m + 3 + pause_min for m in first]
    recordings = group(*novatek_drive("DCIM/Movie", first + second), trip_gap_s=trip_gap_s)
    assert len(recordings) == drives
    assert sum(len(r.parts) for r in recordings.values()) == 8


@pytest.mark.parametrize(("last_start_min", "drives"), [(22, 1), (22.1, 2)])
def test_the_pause_is_measured_beyond_the_usual_segment_length(
    last_start_min: float, drives: int
) -> None:
    # 3-minute loops: 9 -> 22 min is 3 min of clip plus exactly trip_gap_s; only more splits.
    starts = [0.0, 3, 6, 9, last_start_min]
    assert len(group(*novatek_drive("DCIM/Movie", starts))) == drives


def test_two_clips_half_an_hour_apart_are_two_drives() -> None:
    # Nothing else says how long a segment is: the 30-minute step must not become the usual one.
    assert len(group(*novatek_drive("DCIM/Movie", [0, 30]))) == 2
    assert usual_segment_length([0.0, 1800.0]) == 60.0
    assert usual_segment_length([0.0, 180.0, 360.0, 1260.0]) == 180.0


def test_seventymai_sample_folder() -> None:
    folder = SAMPLES / "dashcam" / "70mai"
    recordings = group(*(f"70mai/{name}" for name in sorted(os.listdir(folder))))
    kinds = Counter(r.kind for r in recordings.values())
    assert kinds == {"dashcam-drive": 11, "single": 7}  # AA, BB, BY, XA, XX, YY, ZZ: fuzz names
    drives = [r for r in recordings.values() if r.parts[0].role == "main" and r.kind != "single"]
    assert [d.folder for d in drives] == ["70mai/2019-11-30_120156", "70mai/2019-11-30_121956"]
    first, second = drives
    assert [p.number for p in first.parts] == [1, 2, 3, 4, 5, 6, 7]
    # 12:07:56 -> 12:19:56 is a 12-minute pause (> 60 s + 600 s); 6-minute ones are not.
    assert len(second.parts) == 8
    assert names(second.events) == [
        "EV20191130-122256-000142.MP4",
        "EV20191130-122356-000143.MP4",
        "EV20191130-122456-000144.MP4",
        "PA20191130-122556-000145.MP4",
        "PA20191130-122656-000146.MP4",
    ]
    lone = sorted(f for f, r in recordings.items() if r.parts[0].role in ("event", "parking"))
    assert lone[0] == "70mai/2019-11-30_121056_event"
    assert lone[-1] == "70mai/2019-11-30_121856_parking"
    assert len(lone) == 9
    assert recordings["70mai/AA20191130-123356-000153.MP4"].kind == "single"


def test_blackvue_names() -> None:
    # BlackVue's own example pair: 20260718_070333_NF.mp4 / _NR.mp4 (samples/blackvue).
    clocks = ["070333", "070433", "070533"]
    front = [f"BlackVue/Record/20260718_{c}_NF.mp4" for c in clocks]
    rear = [f"BlackVue/Record/20260718_{c}_NR.mp4" for c in clocks]
    extra = [
        "BlackVue/Record/20260718_070450_EF.mp4",
        "BlackVue/Record/20260718_070450_ER.mp4",
        "BlackVue/Record/20260718_120000_PF.mp4",
        "BlackVue/Record/20260718_121500_IF.mp4",
    ]
    recordings = group(*front, *rear, *extra)
    assert list(recordings) == [
        "BlackVue/Record/2026-07-18_070333_F",
        "BlackVue/Record/2026-07-18_070333_R",
        "BlackVue/Record/2026-07-18_120000_F_parking",
        "BlackVue/Record/2026-07-18_121500_F_parking",
    ]
    f, r = (
        recordings["BlackVue/Record/2026-07-18_070333_F"],
        recordings["BlackVue/Record/2026-07-18_070333_R"],
    )
    assert [p.path for p in f.parts] == front
    assert names(f.events) == ["20260718_070450_EF.mp4"]
    assert names(r.events) == ["20260718_070450_ER.mp4"]
    assert r.gps_from == f.folder


def test_thinkware_mode_comes_from_the_folder() -> None:
    recordings = group(
        "cont_rec/REC_2026_06_01_21_16_47_F.MP4",
        "cont_rec/REC_2026_06_01_21_17_47_F.MP4",
        "cont_rec/REC_2026_06_01_21_16_47_R.MP4",
        "evt_rec/REC_2026_06_01_21_17_10_F.MP4",
        "parking_rec/REC_20260601_230000_F.MP4",
    )
    assert list(recordings) == [
        "cont_rec/2026-06-01_211647_F",
        "cont_rec/2026-06-01_211647_R",
        "parking_rec/2026-06-01_230000_F_parking",
    ]
    front = recordings["cont_rec/2026-06-01_211647_F"]
    assert names(front.events) == ["REC_2026_06_01_21_17_10_F.MP4"]
    assert recordings["cont_rec/2026-06-01_211647_R"].gps_from == front.folder


def test_project_generator_names_group_into_drives() -> None:
    start = datetime(2026, 4, 6, 14, 21, 22)
    novatek = [f"DCIM/Movie/{novatek_name(start + timedelta(minutes=i), i)}" for i in range(3)]
    viofo = [
        f"A119/{novatek_name(start + timedelta(minutes=i), i, style='viofo')}" for i in range(2)
    ]
    mapcam = [
        f"DCIM/MAPCAM/{mapcam_name(start + timedelta(seconds=10 * i), i + 1)}" for i in (0, 1)
    ]
    recordings = group(*novatek, *viofo, *mapcam)
    assert list(recordings) == [
        "A119/2026-04-06_142122_F",
        "DCIM/MAPCAM/2026-04-06_142122",
        "DCIM/Movie/2026-04-06_142122",
    ]
    assert len(recordings["DCIM/MAPCAM/2026-04-06_142122"].parts) == 2


@pytest.mark.parametrize(
    ("name", "folder", "channel"),
    [  # names of real clips stated by the shared samples' sources
        ("2021_1013_183759_050.MP4", "2021-10-13_183759", None),  # 2E Drive 730
        ("2019_0216_150750_196.MOV", "2019-02-16_150750", None),  # SilverStone A80
        ("2020_1125_1455_007.MOV", "2020-11-25_145500", None),  # Anticlock 2: minutes only
        ("20260406142122_000022.MP4", "2026-04-06_142122", None),  # Viofo A119 Mini 2
        ("20210318153933_000188.TS", "2021-03-18_153933", None),  # Viofo A119 V3, TS mode
        ("20250607_180617_00001_N_A.MP4", "2025-06-07_180617_F", "F"),  # Vantrue N2X
        ("REC_2026_06_01_21_16_47_F.MP4", "2026-06-01_211647_F", "F"),  # Thinkware F200 PRO
        ("20260718_070333_NF.mp4", "2026-07-18_070333_F", "F"),  # BlackVue DR550DW
        ("2024_0406_164510_000123EF.MP4", "2024-04-06_164510_F_event", "F"),  # Viofo event
        ("2024_0406_164510_000123_R.MP4", "2024-04-06_164510_R", "R"),
        ("NO20191130-120156-000121.MP4", "2019-11-30_120156", None),  # 70mai
        ("INF20260520-143412-26-F.mp4", "2026-05-20_143412_F", "F"),  # Neoline (sstar sample)
        ("20251111_085423_INF_F_N.mp4", "2025-11-11_085423_F", "F"),  # Vueroid S1 4K
        ("FILE260819-071804F.mp4", "2026-08-19_071804_F", "F"),  # Mio MiVue: two-digit year
    ],
)
def test_real_dashcam_names(name: str, folder: str, channel: str | None) -> None:
    (recording,) = group(f"cam/{name}").values()
    assert (recording.kind, recording.folder, recording.channel) == (
        "dashcam-drive",
        f"cam/{folder}",
        channel,
    )


@pytest.mark.parametrize(
    "name",
    [
        "VID_20240406_164510.mp4",  # a phone: clips are not loop segments
        "PXL_20240406_164510123.mp4",
        "2024_1399_164510_001F.MP4",  # no 99th of the 13th month
        "AA20191130-123356-000153.MP4",
        "20260406_142122.mp4",
        "novatek__2e-drive-730.mp4",
    ],
)
def test_other_clock_like_names_are_singles(name: str) -> None:
    assert group(f"cam/{name}")[f"cam/{name}"].kind == "single"


# Singles and folder names -----------------------------------------------------------------


def test_single_folder_keeps_the_full_file_name() -> None:
    recordings = group("foo/clip.mp4", "foo/clip.mov", "top.avi")
    assert list(recordings) == ["foo/clip.mov", "foo/clip.mp4", "top.avi"]
    single = recordings["foo/clip.mp4"]
    assert (single.kind, single.grouped_by, single.missing_parts) == ("single", "file names", ())
    assert [(p.path, p.number, p.role) for p in single.parts] == [("foo/clip.mp4", 1, "main")]


def test_a_lone_proxy_is_used_and_a_paired_one_is_not() -> None:
    recordings = group("foo/clip.mp4", "foo/clip.LRV", "bar/only.lrv")
    assert list(recordings) == ["bar/only.lrv", "foo/clip.mp4"]
    assert recordings["bar/only.lrv"].parts[0].role == "lrv-fallback"
    assert recordings["bar/only.lrv"].notes == ("only.lrv used: its video is missing",)


def test_clashing_folders_get_a_suffix_camera_recordings_first() -> None:
    recordings = group(
        "DCIM/100GOPRO/GX0042",  # a clip without extension, named like the recording
        "DCIM/100GOPRO/GX010042.MP4",
        "DCIM/Movie/2024-04-06_164510_F",
        "DCIM/Movie/2024-04-06_164510_F~2",
        *novatek_drive("DCIM/Movie", [0, 1]),
    )
    assert recordings["DCIM/100GOPRO/GX0042"].kind == "gopro-chapters"
    assert recordings["DCIM/100GOPRO/GX0042~2"].parts[0].path == "DCIM/100GOPRO/GX0042"
    assert recordings["DCIM/Movie/2024-04-06_164510_F"].kind == "dashcam-drive"
    assert recordings["DCIM/Movie/2024-04-06_164510_F~2"].kind == "single"
    assert recordings["DCIM/Movie/2024-04-06_164510_F~3"].parts[0].path == (
        "DCIM/Movie/2024-04-06_164510_F"
    )


def test_a_folder_never_hides_a_directory_the_view_needs() -> None:
    recordings = group("trip/GX010042.MP4", "trip/GX0042/clip.mp4")
    assert list(recordings) == ["trip/GX0042/clip.mp4", "trip/GX0042~2"]


# Properties -----------------------------------------------------------------------------

_GOPRO_STYLES = ("GX", "GH", "GS", "GL", "GOPR", "GPFR", "GPBK")
_CARD_START = datetime(2024, 4, 6, 7, 0, 0)


def _gopro_name(style: str, chapter: int, number: int) -> str:
    if style in ("GOPR", "GPFR", "GPBK"):
        later = {"GOPR": "GP", "GPFR": "GF", "GPBK": "GB"}[style]
        return f"{style}{number:04d}" if chapter == 1 else f"{later}{chapter - 1:02d}{number:04d}"
    return f"{style}{chapter:02d}{number:04d}"


_gopro_paths = st.builds(
    lambda card, folder, prefix, style, chapter, number, extension: (
        f"{card}/DCIM/{folder}/{prefix}{_gopro_name(style, chapter, number)}.{extension}"
    ),
    st.sampled_from(["cardA", "cardB"]),
    st.sampled_from(["100GOPRO", "101GOPRO", "Misc"]),
    st.sampled_from(["", "CamA-"]),
    st.sampled_from(_GOPRO_STYLES),
    st.integers(1, 4),
    st.integers(1, 3),
    st.sampled_from(["MP4", "mp4", "360", "LRV", "THM"]),
)
_novatek_paths = st.builds(
    lambda folder, minute, mode, channel: (
        f"DCIM/Movie/{folder}{_CARD_START + timedelta(minutes=minute):%Y_%m%d_%H%M%S}"
        f"_{minute % 1000:03d}{mode}{channel}.MP4"
    ),
    st.sampled_from(["", "RO/", "F/", "R/", "Parking/"]),
    st.integers(0, 400),
    st.sampled_from(["", "", "E", "P"]),
    st.sampled_from(["F", "R", "I", ""]),
)
_seventymai_paths = st.builds(
    lambda folder, mode, minute: (
        f"70mai/{folder}/{mode}{_CARD_START + timedelta(minutes=minute):%Y%m%d-%H%M%S}"
        f"-{minute:06d}.MP4"
    ),
    st.sampled_from(["Normal/Front", "Normal/Back", "Event/Front", "Parking"]),
    st.sampled_from(["NO", "NO", "EV", "PA", "XX"]),
    st.integers(0, 400),
)
_other_paths = st.builds(
    lambda folder, stem, extension: f"{folder}{stem}.{extension}" if extension else folder + stem,
    st.sampled_from(["", "foo/", "DCIM/Movie/", "cardA/DCIM/100GOPRO/"]),
    st.sampled_from(["clip", "GX0001", "2024-04-06_070000_F", "2024-04-06_070000_F~2", "a"]),
    st.sampled_from(["mp4", "mov", "LRV", "thm", ""]),
)
_card = st.lists(
    st.one_of(_gopro_paths, _novatek_paths, _seventymai_paths, _other_paths),
    unique=True,
    max_size=40,
)


def _listed(recordings: list[Recording]) -> Counter[str]:
    listed: Counter[str] = Counter()
    for recording in recordings:
        listed.update(p.path for p in recording.parts + recording.events)
        listed.update(recording.copies)
    return listed


def _files(paths: list[str]) -> list[FootageFile]:
    return [FootageFile(path, 1 << 30, 0) for path in paths]


@settings(max_examples=300, deadline=None)
@given(paths=_card, data=st.data())
def test_every_file_is_in_exactly_one_recording(paths: list[str], data: st.DataObject) -> None:
    recordings = group_recordings(_files(paths))
    listed = _listed(recordings)
    for path in paths:
        extension = path.rpartition(".")[2].lower() if "." in path.rpartition("/")[2] else ""
        if extension == "thm":
            assert listed[path] == 0, path
        elif extension == "lrv":
            assert listed[path] <= 1, path
        else:
            assert listed[path] == 1, path
    assert set(listed) <= set(paths)
    folders = [r.folder for r in recordings]
    assert folders == sorted(set(folders))
    for recording in recordings:
        assert recording.parts
        assert recording.kind in ("gopro-chapters", "dashcam-drive", "single")
        assert {p.role for p in recording.parts + recording.events} <= {
            "main",
            "lrv-fallback",
            "event",
            "parking",
        }
        assert recording.gps_from is None or recording.gps_from in folders
    shuffled = data.draw(st.permutations(paths))
    assert group_recordings(_files(shuffled)) == recordings


def test_folder_names_hold_while_a_card_fills() -> None:
    """Files arrive in recording order; no folder seen earlier may change its name."""
    arrivals: list[str] = []
    for chapter in (1, 2, 3):
        arrivals.append(f"DCIM/100GOPRO/GX{chapter:02d}0042.MP4")
    for minute in [0, 1, 2, 3, 40, 41, 42, 100]:
        clock = _CARD_START + timedelta(minutes=minute)
        arrivals.append(f"DCIM/Movie/{clock:%Y_%m%d_%H%M%S}_{minute:03d}F.MP4")
        arrivals.append(
            f"DCIM/Movie/{clock + timedelta(seconds=1):%Y_%m%d_%H%M%S}_{minute:03d}R.MP4"
        )
    arrivals.append("DCIM/101GOPRO/GX040042.MP4")
    seen: set[str] = set()
    for count in range(1, len(arrivals) + 1):
        folders = {r.folder for r in group_recordings(_files(arrivals[:count]))}
        assert seen <= folders, arrivals[count - 1]
        seen = folders
    assert "DCIM/100GOPRO/GX0042" in seen
    assert len([f for f in seen if f.startswith("DCIM/Movie/")]) == 6


@pytest.mark.parametrize("module", ["recording_names.py", "recording_dashcam.py"])
def test_grouping_stands_alone(module: str) -> None:
    """Stdlib only (and its own two modules): no FUSE, no trio, no parsers, no other fs code."""
    tree = ast.parse((ROOT / "fs" / module).read_text())
    imported = {
        name
        for node in ast.walk(tree)
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else []
        )
    }
    own = {"telemetryfs.fs.recording_dashcam"}
    assert {n for n in imported if n.split(".")[0] not in sys.stdlib_module_names} <= own
