"""70mai: the clean clip gives its 61 points, the damaged ones what can be saved.

Expected points come from expected/70mai-mzdun__70mai_api_unittests.json
(dashcam-gps's own unit tests). For the files that parser refuses to load,
the points we do save must be the clean clip's points at the same seconds
(the damaged files are mutations of it), and we pin whether the file gives a
Telemetry or a ParseError.
"""

from __future__ import annotations

import io
import json
from functools import cache
from typing import Any

import pytest

from telemetryfs.parsers.errors import ParseError, UnsupportedError
from telemetryfs.parsers.formats.seventymai import parse as seventymai
from telemetryfs.parsers.model import Telemetry
from tests import dashcam_builders as b
from tests.builders import box
from tests.paths import SAMPLES

EXPECTED = SAMPLES / "expected" / "70mai-mzdun__70mai_api_unittests.json"
pytestmark = pytest.mark.skipif(not EXPECTED.exists(), reason="shared samples not present")


@cache
def expected() -> dict[str, Any]:
    return dict(json.loads(EXPECTED.read_text()))


def files(**match: Any) -> list[dict[str, Any]]:
    return [f for f in expected()["files"] if all(f.get(k) == v for k, v in match.items())]


def extract(entry: dict[str, Any]) -> Telemetry:
    with (SAMPLES / entry["sample_file"]).open("rb") as f:
        return seventymai.extract(f, name=entry["file"])


def points(t: Telemetry) -> list[tuple[int, float, float, int, bool]]:
    """(t_ms, lat, lon, km/h truncated, valid) of every sample with a position."""
    return [
        (
            round((s.video_time or 0) * 1000),
            abs(s.lat or 0),
            abs(s.lon or 0),
            int((s.speed_2d or 0) * 3.6 + 1e-9),
            s.valid,
        )
        for s in t.gps
        if s.lat is not None
    ]


def expected_points(name: str) -> list[tuple[int, float, float, int]]:
    return [
        (p["t_ms"], p["lat_deg"], p["lon_deg"], p["kmph"]) for p in expected()["point_lists"][name]
    ]


def same(
    got: list[tuple[int, float, float, int, bool]], want: list[tuple[int, float, float, int]]
) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g[0] == w[0]
        assert g[1] == pytest.approx(w[1], abs=1e-8)  # e8 integers truncate
        assert g[2] == pytest.approx(w[2], abs=1e-8)
        assert g[3] == w[3]


def test_clean_clip_61_points_at_1_hz() -> None:
    (entry,) = files(file="NO20191130-120156-000121.MP4")
    t = extract(entry)
    assert t.format == "70mai"
    assert len(t.valid_gps) == entry["point_count"] == 61
    same(points(t), expected_points("sane_points"))
    assert t.info["clip"] == entry["clip"]
    assert t.info["time_basis"].startswith("file name")
    assert t.gps[0].utc == 1575115316.0  # 2019-11-30 12:01:56 as named (camera clock)
    assert t.warnings == ()


@pytest.mark.parametrize("entry", files(load=True), ids=lambda e: e["file"])
def test_loadable_files_give_their_expected_points(entry: dict[str, Any]) -> None:
    try:
        t = extract(entry)
    except ParseError:
        # Only acceptable where dashcam-gps loads nothing: our walk stops at
        # a damaged box sitting where the GPS box should be.
        assert entry["point_count"] == 0
        return
    if entry["points"] is None:
        assert all(not s.valid for s in t.gps)
        return
    same(points(t), expected_points(entry["points"]))
    assert t.info["clip"] == entry["clip"]


def test_corrupted_speeds_are_kept_but_invalid() -> None:
    # points_12_12 has 33594 km/h: reported as stored, flagged as garbage.
    (entry,) = files(file="EV20191130-121256-000132.MP4")
    t = extract(entry)
    flagged = [p for p in points(t) if not p[4]]
    assert [p[3] for p in flagged] == [33594]
    assert any("speed out of range" in w.reason for w in t.warnings)


# What we do with the files dashcam-gps refuses (pinned: Telemetry or ParseError).
REFUSED = {
    "NO20191130-120356-000123.MP4": ParseError,
    "NO20191130-120456-000124.MP4": ParseError,
    "NO20191130-120656-000126.MP4": ParseError,
    "BY20191130-120956-000129.MP4": ParseError,
    "EV20191130-121056-000130.MP4": ParseError,
    "EV20191130-121156-000131.MP4": ParseError,
    "NO20191130-122056-000140.MP4": Telemetry,
    "NO20191130-122156-000141.MP4": Telemetry,
    "EV20191130-122256-000142.MP4": Telemetry,
    "EV20191130-122356-000143.MP4": Telemetry,
    "EV20191130-122456-000144.MP4": Telemetry,
    "PA20191130-122556-000145.MP4": ParseError,
    "NO20191130-122756-000147.MP4": Telemetry,
    "NO20191130-122856-000148.MP4": ParseError,
    "XX20191130-123056-000150.MP4": Telemetry,
    "YY20191130-123156-000151.MP4": Telemetry,
    "AA20191130-123356-000153.MP4": Telemetry,
    "BB20191130-123456-000154.MP4": ParseError,
    "NO20191130-123556-000155.MP4": ParseError,
    "NO20191130-123656-000156.MP4": ParseError,
}


@pytest.mark.parametrize("entry", files(load=False), ids=lambda e: e["file"])
def test_refused_files_save_only_true_points(entry: dict[str, Any]) -> None:
    sane = {p[0]: p for p in expected_points("sane_points")}
    try:
        t = extract(entry)
    except ParseError:
        assert REFUSED[entry["file"]] is ParseError
        return
    assert REFUSED[entry["file"]] is Telemetry
    assert t.warnings  # what is wrong is said
    for got in points(t):
        if got[4]:
            want = sane[got[0]]
            assert got[1:4] == pytest.approx(want[1:4], abs=1e-8)


@pytest.mark.parametrize("entry", files(probe=False), ids=lambda e: e["file"])
def test_files_that_must_not_even_probe(entry: dict[str, Any]) -> None:
    with pytest.raises(ParseError):
        extract(entry)


def _clip(*slots: bytes, after: bytes = b"") -> bytes:
    return box(b"ftyp", b"mp42") + box(b"moov", b.mvhd()) + box(b"GPS ", b"".join(slots)) + after


def test_generated_clip_with_a_gap_and_a_southern_position() -> None:
    data = _clip(
        b.seventymai_slot(0, -33.5, 151.25, 50.0),
        b.seventymai_slot(1, 0, 0, 0, fix=False),
        b.seventymai_slot(2, -33.5001, 151.2501, 51.0),
    )
    t = seventymai.extract(io.BytesIO(data), name="NO20240101-000000-000001.MP4")
    assert [s.valid for s in t.gps] == [True, False, True]
    assert t.gps[0].lat == pytest.approx(-33.5)
    assert t.gps[2].lon == pytest.approx(151.2501, abs=1e-6)
    assert t.gps[1].fix == 0
    assert t.gps[2].utc == 1704067202.0


def test_last_gps_box_counts() -> None:
    first = box(b"GPS ", b.seventymai_slot(0, 10, 10, 1))
    data = _clip(b.seventymai_slot(0, 20, 20, 2))
    t = seventymai.extract(io.BytesIO(first + data))
    assert t.gps[0].lat == pytest.approx(20)


def test_mp4_without_gps_box_is_unsupported() -> None:
    with pytest.raises(UnsupportedError):
        seventymai.extract(io.BytesIO(box(b"ftyp", b"isom") + box(b"moov", b.mvhd())))
