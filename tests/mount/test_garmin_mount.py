"""Garmin VIRB FIT logs through a real mount, checked against fitdecode and the samples' facts.

fitdecode (a third-party FIT decoder) is the oracle for every point; the
sample's expected JSON (trek-view's FIT, decoded by fitdecode and exiftool)
gives the counts and the first and last fix.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import fitdecode

from tests.mount.conftest import MountFactory
from tests.paths import SAMPLES

FIT = SAMPLES / "garmin-virb" / "trek-view" / "2018-01-11-17-33-54.fit"
EXPECTED = json.loads((SAMPLES / "garmin-virb" / "expected__virb360_fit.json").read_text())
SEMICIRCLE = 180.0 / 2**31


def _oracle() -> list[dict[str, Any]]:
    with fitdecode.FitReader(str(FIT)) as reader:
        return [
            {f.name: f.value for f in frame.fields}
            for frame in reader
            if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "gps_metadata"
        ]


def _rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "track.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def _posix(row: dict[str, str]) -> float:
    return dt.datetime.fromisoformat(row["utc_time"].replace("Z", "+00:00")).timestamp()


def test_virb_fit_is_one_track_of_its_own(mount: MountFactory, tmp_path: Path) -> None:
    src = tmp_path / "GMetrix"
    src.mkdir()
    shutil.copyfile(FIT, src / FIT.name)
    m = mount(src)
    # One folder, not one per clip it names (beside the mount's own recordings view).
    assert sorted(p.name for p in m.path.iterdir()) == [FIT.name, "recordings"]
    folder = m.path / FIT.name
    info = json.loads((folder / "info.json").read_text())
    assert info["format"] == "garmin-fit"
    assert info["camera"] == "Garmin VIRB 360"  # device_info garmin_product virb_360
    assert info["error"] is None
    assert "gps" in json.dumps(info["streams"])

    oracle = _oracle()
    rows = _rows(folder)
    assert len(rows) == len(oracle) == EXPECTED["gps_metadata"]["count"] == 2700
    for row, msg in zip(rows, oracle, strict=True):
        assert abs(float(row["lat"]) - msg["position_lat"] * SEMICIRCLE) < 1e-6
        assert abs(float(row["lon"]) - msg["position_long"] * SEMICIRCLE) < 1e-6
        # Every time falls inside the UTC second the receiver stamped it with.
        assert (
            msg["utc_timestamp"].timestamp() <= _posix(row) < msg["utc_timestamp"].timestamp() + 1
        )
    first, last = EXPECTED["gps_metadata"]["first"], EXPECTED["gps_metadata"]["last"]
    assert [round(float(rows[0][k]), 7) for k in ("lat", "lon")] == first["latlon"]
    assert [round(float(rows[-1][k]), 7) for k in ("lat", "lon")] == last["latlon"]
    assert rows[0]["utc_time"].startswith("2018-01-13T13:24:31")  # not the camera's 2018-01-11
    assert rows[-1]["utc_time"].startswith("2018-01-13T13:29:00")

    clips = info["info"]["clips"]
    assert [c["duration_s"] for c in clips] == [52.085, 138.338]  # 52.085 s = V0380038.MP4
    gpx = (folder / "track.gpx").read_text()
    assert gpx.count("<trkpt") == 2700


def test_timestamp_correlation_alone_puts_fixes_in_the_wrong_second() -> None:
    """Why the track is timed by utc_timestamp: the correlation message is ~0.9 s behind it.

    With UTC = correlation.timestamp + (system time - correlation.system_timestamp), most
    fixes fall outside the UTC second the receiver itself stamped them with.
    """
    corr = EXPECTED["timestamp_correlation"][0]
    base = dt.datetime.fromisoformat(corr["timestamp"]).timestamp()
    sys0 = corr["system_timestamp"] + corr["system_timestamp_ms"] / 1000
    outside = 0
    oracle = _oracle()
    for msg in oracle:
        utc = base + msg["timestamp"] + msg["timestamp_ms"] / 1000 - sys0
        stamped = msg["utc_timestamp"].timestamp()
        outside += not stamped <= utc < stamped + 1
    assert outside > 0.8 * len(oracle)
