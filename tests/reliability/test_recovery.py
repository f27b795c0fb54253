"""Recordings interrupted before their index: the GPS is rebuilt by scanning the media data.

A GoPro whose battery died mid-recording leaves an mdat and no moov: the
GPMF payloads (DEVC KLVs) are found by scanning and timed from their GPS
clocks. A Novatek clip without its index (or its moov) is scanned for its
freeGPS blocks. The share of the encoded points that come back is measured
against what the generator wrote (tests/footage), and printed (pytest -s).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from telemetryfs.parsers import extract as extraction
from telemetryfs.parsers.containers import mp4
from telemetryfs.parsers.model import GpsSample
from tests.footage import Footage, make_gopro, make_novatek
from tests.mount.conftest import _require_fuse  # noqa: F401  (autouse: FUSE or fail)
from tests.reliability.conftest import MountFactory, serve_folder

GOPRO_MODELS = ("HERO5 Black", "HERO8 Black", "HERO11 Black", "HERO13 Black")
# GPS5 carries one GPSU per payload: a sample's time is spread from it, so it
# can be off by a fraction of the payload (1 s) from when it was taken.
TIME_SLACK_S = 1.0


def recovered_share(truth: Footage, gps: tuple[GpsSample, ...]) -> float:
    """The share of the encoded points found again: same position, time within the slack.

    Matched by position then time (a car standing still repeats its position).
    """
    by_position: dict[tuple[float, float], list[GpsSample]] = {}
    for s in gps:
        if s.lat is not None and s.lon is not None:
            by_position.setdefault((round(s.lat, 6), round(s.lon, 6)), []).append(s)
    hits = 0
    for sample in truth.samples:
        candidates = by_position.get((round(sample["lat"], 6), round(sample["lon"], 6)), [])
        if not sample["valid"]:
            hits += bool(candidates)
            continue
        if any(
            c.utc is not None and abs(c.utc - sample["utc"]) <= TIME_SLACK_S for c in candidates
        ):
            hits += 1
    return hits / len(truth.samples)


def cut_before_moov(path: Path) -> Path:
    data = path.read_bytes()
    moov = mp4.find_moov(io.BytesIO(data))
    assert moov is not None
    out = path.with_name("CUT_" + path.name)
    out.write_bytes(data[: moov.offset])
    return out


@pytest.mark.parametrize("model", GOPRO_MODELS)
def test_gopro_without_moov_yields_every_point(model: str, tmp_path: Path) -> None:
    truth = make_gopro(tmp_path / "GX010001.MP4", duration_s=20.0, model=model, moov=False)
    t = extraction.extract(tmp_path / "GX010001.MP4")
    share = recovered_share(truth, t.gps)
    print(f"\n{model} without moov: {share:.1%} of {len(truth.samples)} points recovered")
    assert share == 1.0
    assert t.error is not None
    assert "recovered" in t.error
    assert len(t.gps) == len(truth.samples)


@pytest.mark.parametrize("model", GOPRO_MODELS)
def test_gopro_cut_before_moov_yields_every_point(model: str, tmp_path: Path) -> None:
    truth = make_gopro(tmp_path / "GX010001.MP4", duration_s=20.0, model=model)
    t = extraction.extract(cut_before_moov(tmp_path / "GX010001.MP4"))
    share = recovered_share(truth, t.gps)
    print(f"\n{model} cut before moov: {share:.1%} of {len(truth.samples)} points recovered")
    assert share == 1.0
    assert t.error is not None


def test_gopro_cut_inside_mdat_yields_the_points_of_whole_payloads(tmp_path: Path) -> None:
    truth = make_gopro(tmp_path / "GX010001.MP4", duration_s=20.0, moov=False)
    payloads = truth.info["gpmf"]["payloads"]
    cut_at = payloads[12]["offset"] + payloads[12]["size"] // 2  # inside the 13th payload
    data = (tmp_path / "GX010001.MP4").read_bytes()[:cut_at]
    (tmp_path / "cut.MP4").write_bytes(data)
    whole_until = payloads[11]["time"] + payloads[11]["duration"]
    expected = [s for s in truth.samples if s["video_time"] < whole_until]
    t = extraction.extract(tmp_path / "cut.MP4")
    got = {(round(s.lat or 0, 6), round(s.lon or 0, 6)) for s in t.gps}
    missing = [s for s in expected if (round(s["lat"], 6), round(s["lon"], 6)) not in got]
    assert missing == []
    assert t.error is not None


@pytest.mark.parametrize("index", [True, False], ids=["index", "no-index"])
def test_novatek_cut_before_moov_yields_every_point(index: bool, tmp_path: Path) -> None:
    truth = make_novatek(tmp_path / "NOVATEK.MP4", duration_s=60.0, index=index)
    t = extraction.extract(cut_before_moov(tmp_path / "NOVATEK.MP4"))
    share = recovered_share(truth, t.gps)
    print(f"\nNovatek ({'index' if index else 'no index'}) cut before moov: {share:.1%}")
    assert share == 1.0
    assert t.error is not None
    assert "moov" in t.error


def test_novatek_without_index_yields_every_point(tmp_path: Path) -> None:
    truth = make_novatek(tmp_path / "NOVATEK.MP4", duration_s=60.0, index=False)
    t = extraction.extract(tmp_path / "NOVATEK.MP4")
    assert recovered_share(truth, t.gps) == 1.0


@pytest.mark.slow
def test_recovered_tracks_are_served_by_the_mount(
    checked_mount: MountFactory, tmp_path: Path
) -> None:
    src = tmp_path / "card"
    src.mkdir()
    truths = {
        "GX010001.MP4": make_gopro(src / "GX010001.MP4", duration_s=20.0, moov=False),
        "GX010002.MP4": make_gopro(
            src / "GX010002.MP4", duration_s=20.0, moov=False, model="HERO11 Black"
        ),
    }
    truths["CUT_NOVATEK.MP4"] = make_novatek(src / "NOVATEK.MP4", duration_s=30.0)
    cut_before_moov(src / "NOVATEK.MP4")
    (src / "NOVATEK.MP4").unlink()
    m = checked_mount(src, "--no-disk-cache")
    for name, truth in truths.items():
        info = serve_folder(m.path / name)
        assert info["error"], name
        assert info["gps_samples"] == len(truth.samples), name
        assert info["gps_valid"] == len(truth.valid_samples), name
        rows = (m.path / name / "track.csv").read_text().splitlines()
        assert len(rows) == len(truth.samples) + 1, name
        gpx = (m.path / name / "track.gpx").read_text()
        assert gpx.count("<trkpt") == len(truth.valid_samples), name
        assert json.loads((m.path / name / "info.json").read_text()) == info
