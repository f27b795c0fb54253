"""DJI drone .SRT sidecars: every variant in ../shared/samples/dji-srt, against the
source repositories' stated facts (expected__*.json) and DJI_SRT_Parser's exports."""

from __future__ import annotations

import calendar
import datetime as dt
import io
import json
import math
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from telemetryfs.parsers import extract as dispatch
from telemetryfs.parsers.cleanup import to_utc
from telemetryfs.parsers.errors import ParseError, UnsupportedError
from telemetryfs.parsers.formats.dji_srt import extract
from telemetryfs.parsers.model import Telemetry
from tests.paths import SAMPLES

DJI = SAMPLES / "dji-srt"
PARSER = DJI / "DJI_SRT_Parser"
ORACLE = json.loads((PARSER / "oracle/expected__DJI_SRT_Parser_index.test.js.json").read_text())
FILES = ORACLE["files"]


def _parse(path: Path) -> Telemetry:
    with path.open("rb") as f:
        return extract(f, name=path.name)


def _column(t: Telemetry, name: str) -> list[object]:
    i = t.extra_columns.index(name)
    return [s.extra[i] for s in t.gps]


def _utc(*fields: int) -> float:
    return float(calendar.timegm((*fields, 0, 0, 0)))


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (DJI / "dji-drone-metadata-embedder").glob("*_clip.SRT"))
)
def test_new_models_match_the_embedder_facts(name: str) -> None:
    facts = json.loads(
        (DJI / "dji-drone-metadata-embedder/expected__test_new_model_samples.json").read_text()
    )[name]
    t = _parse(DJI / "dji-drone-metadata-embedder" / name)
    if "points" not in facts:  # the no-GPS clip: pre-lock 0/0 cues, then real fixes
        assert [s.valid for s in t.gps] == [False] * 3 + [True] * 3
        assert (t.valid_gps[0].lat, t.valid_gps[0].lon) == (32.848932, -84.861966)
        assert all(s.lat is None for s in t.gps[:3])  # not a point off Africa
        return
    assert len(t.valid_gps) == facts["points"]
    assert [t.gps[0].lat, t.gps[0].lon] == facts["first_gps"]
    # neo2's fact is the max abs_alt rounded (113.9 .. 114.0 over its five cues).
    assert max(_column(t, "abs_alt")) == pytest.approx(facts["max_abs_alt"])  # type: ignore[type-var]
    assert _column(t, "fnum")[0] == float(facts["fnum"])
    focal = _column(t, "focal_len")[0] if "focal_len" in t.extra_columns else None
    assert focal == (None if facts["focal_len"] is None else float(facts["focal_len"]))
    assert _column(t, "color_md")[0] == facts["color_md"]


def test_p4_rtk_cues_equal_dji_srt_parser_raw_export() -> None:
    """Every field of every cue, against the library's own prepared (raw) export."""
    prepared = json.loads((PARSER / "oracle/preparedData.json").read_text())
    t = _parse(PARSER / "p4_rtk.SRT")
    assert len(t.gps) == len(prepared) == FILES["p4_rtk.SRT"]["LineString_points"]
    names = {"F": "fnum", "SS": "shutter", "ISO": "iso", "EV": "ev", "D": "distance"}
    names |= {"H": "height", "H_S": "h_speed", "V_S": "v_speed"}
    for sample, cue in zip(t.gps, prepared, strict=True):
        h, m, s = cue["TIMECODE"].replace(",", ".").split(":")
        assert sample.video_time == pytest.approx(int(h) * 3600 + int(m) * 60 + float(s))
        lon, lat, sats = cue["GPS"]
        assert (sample.lat, sample.lon) == (float(lat), float(lon))
        row = dict(zip(t.extra_columns, sample.extra, strict=True))
        assert row["satellites"] == int(sats)
        assert [row["home_lon"], row["home_lat"], row["home_alt"]] == [
            float(cue["HOME"][0]),
            float(cue["HOME"][1]),
            float(cue["HOME"][2].rstrip("m")),
        ]
        pry = [row[f"drone_{a}"] for a in ("pitch", "roll", "yaw")]
        assert pry == [float(v) for v in cue["F_PRY"]]
        pry = [row[f"gimbal_{a}"] for a in ("pitch", "roll", "yaw")]
        assert pry == [float(v) for v in cue["G_PRY"]]
        for key, column in names.items():
            assert float(row[column]) == float(cue[key]), (key, cue["TIMECODE"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "fnum", "satellites"),
    [
        ("mavic_pro.SRT", 2.2, 16),
        ("old_format.SRT", 2.8, None),
        ("mavic_pro_buggy.SRT", 2.2, 18),
        ("p4p_sample.SRT", 3.2, 18),
        ("p4_rtk.SRT", 5.6, 15),
        ("m2zoom.SRT", 280, None),  # Mavic 2 writes f/2.8 as 280, kept as written
    ],
)
def test_first_fnum_and_most_satellites(name: str, fnum: float, satellites: int | None) -> None:
    t = _parse(PARSER / name)
    assert _column(t, "fnum")[0] == fnum
    if satellites is not None:
        assert max(_column(t, "satellites")) == satellites  # type: ignore[type-var]


def test_mavic_pro_home_and_duration() -> None:
    t = _parse(PARSER / "mavic_pro.SRT")
    home = FILES["mavic_pro.SRT"]["HOME[0]"]
    assert (_column(t, "home_lat")[0], _column(t, "home_lon")[0]) == (
        home["LATITUDE"],
        home["LONGITUDE"],
    )
    # The library's duration runs from the first cue's start to the last cue's end.
    assert (t.duration or 0) - (t.gps[0].video_time or 0) == FILES["mavic_pro.SRT"][
        "DURATION_ms"
    ] / 1000
    # The same flight in the 2017 Hb/Hs spelling: the same positions and dates.
    old = _parse(PARSER / "old_format.SRT")
    assert [(s.lat, s.lon, s.utc) for s in old.gps] == [(s.lat, s.lon, s.utc) for s in t.gps]


def test_mavic_2pro_new_has_one_sample_per_cue() -> None:
    t = _parse(PARSER / "mavic_2pro_new.SRT")  # BOM, FrameCnt from 218
    assert len(t.gps) == FILES["mavic_2pro_new.SRT"]["packets_with_smoothing0"]
    assert _column(t, "focal_len")[0] == FILES["mavic_2pro_new.SRT"]["packets[0].FOCAL_LEN"]
    assert t.gps[0].utc == _utc(2019, 9, 27, 10, 28, 8) + 0.438


def test_matrice_300_gps_is_lat_lon_metres() -> None:
    """GPS(36.6146,-6.1120,0.0M): a third value in metres means latitude first.

    Read the other way round the point would be in Somalia's sea; the time zone at
    the position read this way is Spain's, which is where the CRLF file's takeoff is.
    """
    t = dispatch.extract(PARSER / "matrice_300.srt")
    first = t.valid_gps[0]
    assert (first.lat, first.lon, first.ele) == (36.6146, -6.112, 0.0)
    assert t.info["time_zone"] == "Europe/Madrid"
    # 2022-06-21 16:06:17 on the camera, summer time (UTC+2) in Spain.
    assert t.info["utc_offset_s"] == 7200
    assert first.utc == _utc(2022, 6, 21, 14, 6, 17)


def test_multi_line_cues_with_an_empty_line_inside() -> None:
    for name in ("DJI.SRT", "DJI_M300RTK.SRT"):
        path = DJI / "dji_srt2gpx" / name
        cues = path.read_text().count("-->")
        t = _parse(path)
        assert len(t.gps) == len(t.valid_gps) == cues
        row = dict(zip(t.extra_columns, t.gps[0].extra, strict=True))
        # The fields after the empty line and its '0' belong to the same cue.
        assert row["ct"] in (5256, 5534)
        assert row["gb_pitch"] in (-86.7, -12.5)
        assert row["rel_alt"] in (43.225, 54.821)


def test_file_without_timecodes_is_split_on_blank_lines() -> None:
    t = _parse(PARSER / "mavic_2_style.SRT")
    text = (PARSER / "mavic_2_style.SRT").read_text()
    assert len(t.gps) == text.count("[latitude") == 468
    assert all(s.video_time is None for s in t.gps)
    assert t.gps[1].utc == _utc(2017, 8, 5, 14, 11, 52) + 0.393


def test_mavic_air_without_gps_shows_its_fields_with_no_track() -> None:
    t = dispatch.extract(PARSER / "mavic_air.SRT")
    assert t.error is None
    assert not t.valid_gps
    assert _column(t, "iso") == [100, 100]
    assert _column(t, "ct") == [5627, 5627]


def test_fpv_goggles_srt_without_gps() -> None:
    """DJI FPV goggles: signal, channel, flight time, battery and bitrate only (facts file)."""
    cue = (
        "{n}\n00:00:0{n},000 --> 00:00:0{m},000\n"
        "signal:4 ch:5 flightTime:{n} uavBat:15.6V glsBat:11.8V uavBatCells:4 "
        "glsBatCells:3 delay:28ms bitrate:25.3Mbps\n\n"
    )
    data = "".join(cue.format(n=n, m=n + 1) for n in range(1, 4)).encode()
    t = extract(io.BytesIO(data), name="DJIG0001.srt")
    assert not t.valid_gps
    assert t.error is None
    assert _column(t, "uavbat") == ["15.6V"] * 3
    assert _column(t, "flighttime") == [1, 2, 3]
    assert [s.video_time for s in t.gps] == [1.0, 2.0, 3.0]


def test_broken_samples() -> None:
    for name in ("broken_empty.SRT", "broken_empty2.SRT"):
        with pytest.raises(UnsupportedError):
            _parse(PARSER / name)
    # Cut mid-cue: the cut cue has a latitude and no longitude, so no fix.
    t = _parse(PARSER / "broken_incomplete2.SRT")
    assert [s.valid for s in t.gps][-1] is False
    assert all(s.valid for s in t.gps[:5] if s.lat is not None and s.lon is not None)
    t = _parse(PARSER / "broken_incomplete.SRT")
    assert t.gps
    assert t.gps[0].valid


def test_dates_are_local_and_become_utc_by_the_zone_at_the_first_fix() -> None:
    """DJI_SRT_Parser's metadata() dates: the camera's wall clock in the zone found by
    tz-lookup at the position (here Queensland: UTC+10, no summer time)."""
    t = dispatch.extract(PARSER / "mavic_pro.SRT")
    assert t.info["clock"] == "camera-local"
    zone = t.info["time_zone"]
    assert ZoneInfo(zone).utcoffset(dt.datetime(2017, 8, 5)) == dt.timedelta(hours=10)
    assert t.valid_gps[0].utc == _utc(2017, 8, 5, 4, 11, 51)  # 14:11:51 on the drone
    kept = dispatch.extract(PARSER / "mavic_pro.SRT", keep_camera_clock=True)
    assert kept.valid_gps[0].utc == _utc(2017, 8, 5, 14, 11, 51)
    offset = dispatch.extract(PARSER / "mavic_pro.SRT", time_offset_s=3 * 3600)
    assert offset.valid_gps[0].utc == _utc(2017, 8, 5, 11, 11, 51)  # the option wins


def test_summer_time_comes_from_the_zone_rules() -> None:
    def track(date: str) -> bytes:
        return (
            f'1\n00:00:00,000 --> 00:00:00,033\n<font size="28">FrameCnt: 1, DiffTime: 33ms\n'
            f"{date}\n[iso: 100] [latitude: 52.2297] [longitude: 21.0122] "
            f"[rel_alt: 1.0 abs_alt: 110.0] </font>\n\n"
        ).encode()

    winter = to_utc(extract(io.BytesIO(track("2024-01-10 12:00:00.000")), name="a.SRT"))
    summer = to_utc(extract(io.BytesIO(track("2024-07-10 12:00:00.000")), name="a.SRT"))
    assert winter.info["time_zone"] == summer.info["time_zone"] == "Europe/Warsaw"
    assert (winter.info["utc_offset_s"], summer.info["utc_offset_s"]) == (3600, 7200)
    assert winter.gps[0].utc == _utc(2024, 1, 10, 11, 0, 0)
    assert summer.gps[0].utc == _utc(2024, 7, 10, 10, 0, 0)


def test_p4_rtk_has_no_date_so_nothing_to_shift() -> None:
    t = dispatch.extract(PARSER / "p4_rtk.SRT")
    assert all(s.utc is None for s in t.gps)
    assert t.info["time_zone"] == "America/Argentina/Buenos_Aires"
    assert t.info["utc_offset_s"] is None


@pytest.mark.parametrize("name", ["p4_rtk.SRT", "MAVIC3.srt", "mavic_pro.SRT"])
def test_truncation_at_ten_points(name: str) -> None:
    data = (PARSER / name).read_bytes()[:400_000]
    full = extract(io.BytesIO(data), name=name)
    for k in range(1, 11):
        cut = data[: len(data) * k // 11]
        try:
            t = extract(io.BytesIO(cut), name=name)
        except ParseError:
            continue
        assert len(t.gps) <= len(full.gps)
        assert all(s.lat is None or (math.isfinite(s.lat) and abs(s.lat) <= 90) for s in t.gps)
        # Every cue before the cut is read whole.
        assert len(t.valid_gps) >= len(full.valid_gps) * k // 11 - 2


# DJI_SRT_Parser 1.2.4 (npm dji_srt_parser, which resolves the zone with tz-lookup):
# metadata().packets[0].DATE with setSmoothing(0), run under TZ=UTC on these samples
# (node 'run.js' in a scratch folder, 2026-12-05). Third-party opinions, kept as data.
ORACLE_FIRST_DATES = {
    "DJI_SRT_Parser/MAVIC3.srt": "2021-12-25T12:27:52.373Z",
    "DJI_SRT_Parser/air2s.srt": "2022-08-07T11:40:40.774Z",
    "DJI_SRT_Parser/m2zoom.SRT": "2020-04-02T10:19:58.720Z",
    "DJI_SRT_Parser/mavic_2_style.SRT": "2017-08-05T04:11:51.393Z",
    "DJI_SRT_Parser/mavic_2pro_new.SRT": "2019-09-27T13:28:08.438Z",
    "DJI_SRT_Parser/mavic_air.SRT": "2018-02-19T08:04:51.265Z",  # no GPS: kept as written
    "DJI_SRT_Parser/mavic_air2.srt": "2022-05-01T13:01:58.531Z",
    "DJI_SRT_Parser/mavic_pro.SRT": "2017-08-05T04:11:51.000Z",
    "DJI_SRT_Parser/mavic_pro_buggy.SRT": "2018-08-19T06:00:36.000Z",
    "DJI_SRT_Parser/old_format.SRT": "2017-08-05T04:11:51.000Z",
    "dji-drone-metadata-embedder/Avata360_clip.SRT": "2026-05-27T11:10:00.015Z",
    "dji-drone-metadata-embedder/Mini5PRO_clip.SRT": "2026-05-27T11:14:22.911Z",
    "dji-drone-metadata-embedder/air3S_clip.SRT": "2026-05-17T12:28:30.219Z",
    "dji-drone-metadata-embedder/neo2_clip.SRT": "2026-05-15T06:24:18.623Z",
    # The zone comes from the first fix, not from the pre-lock 0/0 cues before it.
    "dji-drone-metadata-embedder/neo2_clip_nogps.SRT": "2026-05-31T20:15:29.797Z",
    "dji-srt-viewer/sample1.SRT": "2017-07-22T23:46:08.000Z",
    "dji_srt2gpx/DJI.SRT": "2024-04-23T12:04:07.002Z",
    "dji_srt2gpx/DJI_M300RTK.SRT": "2024-05-20T13:06:07.221Z",
    "dji_srt2gpx/DJI_MAVIC.SRT": "2024-04-24T11:50:14.882Z",
    "dji_srt2gpx/DJI_MAVIC_2_ZOOM.SRT": "2024-05-20T13:21:15.591Z",
    "dji_srt2gpx/DJI_MAVIC_3T.SRT": "2024-05-23T15:36:01.877Z",
    "dji_srt2gpx/DJI_MAVIC_ENTERPRISE.SRT": "2024-05-20T13:43:15.129Z",
    "dji_srt2gpx/DJI_MAVIC_ENTERPRISE_ADVANCED.SRT": "2024-05-20T13:00:18.945Z",
}


@pytest.mark.parametrize("name", sorted(ORACLE_FIRST_DATES))
def test_first_date_in_utc_matches_dji_srt_parser(name: str) -> None:
    t = dispatch.extract(DJI / name)
    first = t.gps[0].utc
    assert first is not None
    ours = dt.datetime.fromtimestamp(round(first, 3), dt.UTC).isoformat(timespec="milliseconds")
    assert ours.replace("+00:00", "Z") == ORACLE_FIRST_DATES[name]


def test_matrice_300_disagrees_with_dji_srt_parser_1_2_4() -> None:
    """1.2.4 reads GPS(36.6146,-6.1120,0.0M) as lon, lat (a point off Tanzania, UTC+3:
    13:06:17Z). The third value carries an M: metres, not a satellite count, so the
    pair is lat, lon (the rule DJI_SRT_Parser itself adopted later, index.js @b6ed7901):
    Cádiz, Spanish summer time, 14:06:17Z."""
    t = dispatch.extract(PARSER / "matrice_300.srt")
    assert "0.0M)" in (PARSER / "matrice_300.srt").read_text()
    assert t.gps[0].utc == _utc(2022, 6, 21, 14, 6, 17)
    assert t.info["time_zone"] == "Europe/Madrid"


def test_a_file_cut_inside_its_last_cue_says_so(tmp_path: Path) -> None:
    whole = SAMPLES / "dji-srt" / "DJI_SRT_Parser" / "p4p_sample.SRT"
    data = whole.read_bytes()
    # Whole, though it ends without a line break (the Phantom 4 Pro's last line).
    assert not [w for w in _parse(whole).warnings if "cut short" in w.reason]
    for cut in (len(data) - 9, len(data) // 2, len(data) // 3 + 7):
        part = tmp_path / f"cut{cut}.SRT"
        part.write_bytes(data[:cut])
        reasons = [w.reason for w in _parse(part).warnings]
        assert "the last cue ends early: the file is cut short" in reasons, (
            cut,
            data[cut - 20 : cut],
        )
