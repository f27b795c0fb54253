"""Garmin dashcam clips (generated from the format facts) and the "more dashcams" samples
(real Viofo A119 V3 .TS, Juscar .TS, Vueroid S1 4K) through a real mount, against
exiftool and the samples' expected values."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path

from tests.footage.garmin import make_garmin_dashcam, route
from tests.mount.conftest import MountFactory
from tests.paths import SAMPLES

MORE = SAMPLES / "dashcam-more" / "dashcamigo"
EXPECTED = json.loads((SAMPLES / "dashcam-more" / "expected__bonus.json").read_text())
VIOFO = "novatek-ts_viofo-a119v3_20210318153933_000188.TS"
JUSCAR = "juscar_real-anonymized.TS"
VUEROID = "vueroid-s1-4k_20251111_085423_INF_F_N.mp4"


def _rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "track.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def _posix(row: dict[str, str]) -> float:
    return dt.datetime.fromisoformat(row["utc_time"].replace("Z", "+00:00")).timestamp()


def _exiftool_docs(text: str) -> dict[int, dict[str, str]]:
    """``[DocN] Tag : value`` lines of an exiftool -G3 dump, by document number."""
    docs: dict[int, dict[str, str]] = {}
    for m in re.finditer(r"^\[Doc(\d+)\]\s+(.+?)\s+: (.*)$", text, re.M):
        docs.setdefault(int(m.group(1)), {})[m.group(2)] = m.group(3)
    return docs


def test_garmin_dashcam_uuid_box_against_exiftool(mount: MountFactory, tmp_path: Path) -> None:
    src = tmp_path / "card"
    src.mkdir()
    fixes = route(12, lead_without_fix=2)
    make_garmin_dashcam(src / "GRMN0042.MP4", fixes)
    m = mount(src)
    folder = m.path / "GRMN0042.MP4"
    info = json.loads((folder / "info.json").read_text())
    assert (info["format"], info["camera"], info["error"]) == ("garmin-uuid", "Garmin", None)
    assert "gps" in json.dumps(info["streams"])
    rows = _rows(folder)
    out = subprocess.run(
        ["exiftool", "-ee", "-n", "-j", "-G3", str(src / "GRMN0042.MP4")],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    oracle = json.loads(out)[0]
    docs = [
        {k.split(":", 1)[1]: v for k, v in oracle.items() if k.startswith(f"Doc{i}:")}
        for i in range(1, 13)
    ]
    assert len(rows) == len(fixes) == sum(bool(d) for d in docs) == 12
    for row, doc, fix in zip(rows, docs, fixes, strict=True):
        stamp = dt.datetime.strptime(doc["GPSDateTime"], "%Y:%m:%d %H:%M:%SZ").replace(
            tzinfo=dt.UTC
        )
        assert _posix(row) == stamp.timestamp() == fix.utc
        assert abs(float(row["speed_mps"]) - doc["GPSSpeed"] * 0.44704) <= 0.0005  # mph
        if fix.lat is None:
            # exiftool prints the no-fix marker -2^31 as a position (-180/-180); it is not one.
            assert (doc["GPSLatitude"], doc["GPSLongitude"]) == (-180, -180)
            assert row["valid"] == "false"
        else:
            assert row["valid"] == "true"
            assert abs(float(row["lat"]) - doc["GPSLatitude"]) < 1e-7
            assert abs(float(row["lon"]) - doc["GPSLongitude"]) < 1e-7
    assert (folder / "track.gpx").read_text().count("<trkpt") == 10


def test_more_dashcam_samples_through_the_mount(mount: MountFactory, tmp_path: Path) -> None:
    src = tmp_path / "card"
    src.mkdir()
    for name in (VIOFO, JUSCAR, VUEROID):
        shutil.copyfile(MORE / name, src / name)
    m = mount(src)

    # Viofo A119 V3 in TS mode: 10 Novatek records, point for point with exiftool -ee3.
    viofo = _rows(m.path / VIOFO)
    oracle = (MORE / "oracle" / f"exiftool-13.58-ee3_{VIOFO}.all.txt").read_text()
    docs = _exiftool_docs(oracle)
    assert len(viofo) == len(docs) == 10
    for i, row in enumerate(viofo, 1):
        assert row["valid"] == "true"
        assert abs(float(row["lat"]) - float(docs[i]["GPS Latitude"])) < 1e-7
        assert abs(float(row["lon"]) - float(docs[i]["GPS Longitude"])) < 1e-7
        assert row["utc_time"].startswith(
            docs[i]["GPS Date/Time"][:-1].replace(":", "-", 2).replace(" ", "T")
        )
        # exiftool gives km/h; the CSV m/s to the millimetre.
        assert abs(float(row["speed_mps"]) - float(docs[i]["GPS Speed"]) / 3.6) <= 0.0005
    info = json.loads((m.path / VIOFO / "info.json").read_text())
    assert info["format"] == "novatek-ts"
    assert info["error"] is None

    # Juscar: the LigoGPS text payloads of this anonymised clip say N:00.000000 W:0.000000, so
    # the records are kept in the CSV as invalid and there is no track (exiftool: 0 points).
    juscar = _rows(m.path / JUSCAR)
    raw = (MORE / JUSCAR).read_bytes()
    assert raw.count(b"N:00.000000 W:0.000000") == len(juscar) == 4
    assert all(r["valid"] == "false" for r in juscar)
    assert juscar[0]["utc_time"].startswith("2026-05-12T15:08:21")
    assert (
        "GPS Latitude" not in (MORE / "oracle" / f"exiftool-13.58-ee3_{JUSCAR}.all.txt").read_text()
    )

    # Vueroid S1 4K: 61 samples = 60 fixes and a zeroed terminator (exiftool decodes none).
    vueroid = _rows(m.path / VUEROID)
    assert len(vueroid) == 60
    assert all(r["valid"] == "true" for r in vueroid)
    first = vueroid[0]
    assert (float(first["lat"]), float(first["lon"])) == (50.0, -30.0)  # hemisphere flag W kept
    assert abs(float(first["speed_mps"]) * 3.6 - 27.0) < 1e-9
    assert first["utc_time"].startswith("2025-11-11T08:54:23")
    times = [_posix(r) for r in vueroid]
    assert times == sorted(times)
    assert times[-1] - times[0] < 3.042  # the track's duration
    info = json.loads((m.path / VUEROID / "info.json").read_text())
    assert (info["format"], info["camera"]) == ("vueroid", "Vueroid")
    assert (
        "GPS Latitude"
        not in (MORE / "oracle" / f"exiftool-13.58-ee3_{VUEROID}.all.txt").read_text()
    )
