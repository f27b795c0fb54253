"""track.csv and stream CSVs: golden bytes, RFC 4180 round trip, every sample present."""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from telemetryfs.fs import render_csv as render_csv_module
from telemetryfs.fs.render import (
    TRACK_COLUMNS,
    render_csv,
    render_csv_header,
)
from telemetryfs.fs.render_common import SLICE
from telemetryfs.fs.render_csv import csv_field, value_text
from telemetryfs.parsers.model import GpsSample, Telemetry
from tests.render_samples import edge_track, random_track, realistic_track, three_points

# By hand: 7 decimals for lat/lon, 3 for times/elevation/speeds, 2 for DOP and
# course, empty fields for unknowns, LF line ends, extra column last.
GOLDEN_THREE_POINTS = (
    "utc_time,video_time_s,lat,lon,ele_m,speed_mps,fix,dop,speed3d_mps,course_deg,valid,gpsp\n"
    "2017-04-17T17:31:03.000Z,0.000,33.1264969,-117.3273542,-20.184,0.167,3d,6.06,0.190,,true,606\n"
    "2017-04-17T17:31:03.055Z,0.055,33.1264969,-117.3273541,-20.146,0.200,3d,6.06,0.250,271.50,true,606\n"
    "2017-04-17T17:31:03.111Z,0.111,33.1264970,-117.3273540,-20.100,0.000,2d,1.00,0.000,0.00,true,100\n"
)

# The lost fix stays (valid=false, fix none); the sample without UTC has an
# empty utc_time; the course is written as recorded (-90, not folded).
GOLDEN_EDGE = (
    "utc_time,video_time_s,lat,lon,ele_m,speed_mps,fix,dop,speed3d_mps,course_deg,valid\n"
    "2017-04-17T17:31:03.000Z,0.000,-33.5000000,151.2500000,10.000,5.000,3d,0.90,,90.00,true\n"
    "2017-04-17T17:31:04.000Z,1.000,,,,,none,,,,false\n"
    ",2.000,-33.5000100,151.2500200,,,,,,,true\n"
    "2017-04-17T17:32:05.500Z,62.000,-33.6000000,151.3000000,12.500,7.250,2d,2.00,,-90.00,true\n"
)


def test_three_points_golden() -> None:
    assert render_csv(three_points()).decode() == GOLDEN_THREE_POINTS


def test_edge_track_golden_keeps_invalid_rows() -> None:
    assert render_csv(edge_track()).decode() == GOLDEN_EDGE


def test_header_starts_with_the_required_columns() -> None:
    header = render_csv_header(three_points()).decode().rstrip("\n").split(",")
    required = ["utc_time", "video_time_s", "lat", "lon", "ele_m", "speed_mps", "fix", "dop"]
    assert header[:8] == required
    assert header[8:11] == ["speed3d_mps", "course_deg", "valid"]
    assert tuple(header[:11]) == TRACK_COLUMNS


def test_empty_track_is_just_the_header() -> None:
    assert render_csv(Telemetry(format="x")) == (",".join(TRACK_COLUMNS) + "\n").encode()


def test_negative_zero_and_noise_never_appear() -> None:
    sample = GpsSample(
        utc=None,
        video_time=-0.0001,
        lat=22.633333206176758,
        lon=-1e-9,
        ele=-0.0004,
        extra=(0.1 + 0.2, -0.0),
    )
    row = (
        render_csv(Telemetry(format="x", extra_columns=("a", "b"), gps=(sample,)))
        .decode()
        .splitlines()[1]
    )
    assert row == ",0.000,22.6333332,0.0000000,0.000,,,,,,true,0.3,0.0"


def test_csv_field_quotes_only_what_rfc_4180_requires() -> None:
    assert csv_field("plain text") == "plain text"
    assert csv_field("a,b") == '"a,b"'
    assert csv_field('say "hi"') == '"say ""hi"""'
    assert csv_field("two\nlines") == '"two\nlines"'
    assert csv_field("bad \udcff") == "bad \ufffd"


def test_value_text() -> None:
    assert [value_text(v) for v in (None, 7, -3, 1.5, 1e-7, math.nan, True, "x")] == [
        "",
        "7",
        "-3",
        "1.5",
        "0.0",
        "",
        "true",
        "x",
    ]


def _read(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 100_000), st.integers(0, 80))
def test_every_sample_is_a_row_and_csv_reads_back(seed: int, n: int) -> None:
    t = random_track(seed, n)
    rows = _read(render_csv(t))
    assert len(rows) == n + 1
    assert all(len(row) == len(TRACK_COLUMNS) + 1 for row in rows)
    assert [row[10] for row in rows[1:]] == ["true" if s.valid else "false" for s in t.gps]
    # csv.reader gives back the exact text of every extra value, quotes and newlines included.
    plain: dict[object, object] = {None: "", 1: "1", 2.5: "2.5"}
    expected = [plain.get(s.extra[0], s.extra[0]) for s in t.gps]
    assert [row[11] for row in rows[1:]] == expected


def test_csv_is_deterministic_and_matches_per_value_formatting() -> None:
    t = realistic_track(3000, course=True)
    assert render_csv(t) == render_csv(t)
    rows = _read(render_csv(t))
    for sample, row in zip(t.gps, rows[1:], strict=True):
        assert row[2] == f"{sample.lat:.7f}"
        assert row[3] == f"{sample.lon:.7f}"


def test_a_track_longer_than_a_slice_has_each_sample_s_own_row() -> None:
    """Rows are rendered SLICE at a time (memory): each row is what the sample alone gives."""
    for t in (realistic_track(2 * SLICE + 5, course=True), random_track(11, 2 * SLICE + 5)):
        assert len(t.gps) > 2 * SLICE
        header = render_csv(dataclasses.replace(t, gps=())).decode()
        alone = [
            render_csv(dataclasses.replace(t, gps=(s,))).decode()[len(header) :] for s in t.gps
        ]
        assert render_csv(t).decode() == header + "".join(alone)


def test_one_hour_csv_renders_fast() -> None:
    t = realistic_track(65_000, course=True)
    best = math.inf
    for _ in range(2):
        start = time.perf_counter()
        data = render_csv(t)
        best = min(best, time.perf_counter() - start)
    print(f"\nrender_csv: 65,000 rows in {best * 1000:.0f} ms ({len(data) / 1e6:.1f} MB)")
    assert best < 1.5


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(-1e6, 1e6),
            st.sampled_from([-0.0, 1e-7, -4e-7, 0.0000005, 1.2345675, 1e308]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_an_extra_column_of_floats_is_each_value_text(values: list[float]) -> None:
    extras = [(v,) for v in values]
    assert render_csv_module._extra_column(extras, 0) == [value_text(v) for v in values]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["A", "V", "N", 'a"b', "x,y", "\udcff", ""]), max_size=30))
def test_an_extra_column_of_texts_is_each_value_text(values: list[str]) -> None:
    extras = [(v,) for v in values]
    assert render_csv_module._extra_column(extras, 0) == [value_text(v) for v in values]
