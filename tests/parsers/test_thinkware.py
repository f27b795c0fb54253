"""Thinkware clips built from the facts: every fix of an hour's worth of cues, read in runs."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from telemetryfs.parsers.containers import mp4
from telemetryfs.parsers.containers.mp4 import tables
from telemetryfs.parsers.extract import extract
from telemetryfs.parsers.probe import Probe
from tests.footage.thinkware import make_thinkware

START = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)


def test_every_rmc_cue_is_a_fix_at_its_cue_time(tmp_path: Path) -> None:
    path = tmp_path / "REC_2026_06_01_12_00_00_F.MP4"
    make_thinkware(path, 120, start=START)
    t = extract(path)
    assert t.format == "thinkware"
    assert t.info["cues"] == 1200
    assert len(t.gps) == 120
    assert all(s.valid for s in t.gps)
    for s, sample in enumerate(t.gps):
        assert sample.video_time == pytest.approx(s)  # the RMC rides in cue 10*s, at s seconds
        assert sample.utc == START.timestamp() + s
        assert sample.lat == pytest.approx(37.5 + s * 1e-5, abs=2e-6)  # ddmm.mmmm: ~0.2 m
        assert sample.lon == pytest.approx(127.0 + s * 1.3e-4, abs=2e-6)
    # exiftool reads the same cues (it leaves the text undecoded).
    out = subprocess.run(
        ["exiftool", "-ee", "-G3", "-Text", str(path)], capture_output=True, text=True, check=True
    ).stdout
    texts = [line for line in out.splitlines() if "Text" in line]
    assert len(texts) == 1200
    assert sum("GPRMC" in line for line in texts) == 120


def test_back_to_back_samples_are_read_in_few_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "REC_F.MP4"
    make_thinkware(path, 30, start=START)
    reads: list[int] = []
    real = tables.read_upto

    def counted(f: object, offset: int, size: int) -> bytes:
        reads.append(size)
        return real(f, offset, size)  # type: ignore[arg-type]

    monkeypatch.setattr(tables, "MAX_RUN", 4096)
    monkeypatch.setattr(tables, "read_upto", counted)
    with path.open("rb") as f:
        movie = Probe.of(f, "REC_F.MP4").movie()
        assert movie is not None
        samples = mp4.read_samples(f, movie.tracks[0])
        got = list(mp4.iter_sample_data(f, samples))
        expected = [(s, path.read_bytes()[s.offset : s.offset + s.size]) for s in samples]
    assert got == expected
    assert len(reads) < len(samples) / 10
    assert max(reads) <= 4096


def test_a_cue_cut_by_the_end_of_the_file_keeps_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "REC_F.MP4"
    make_thinkware(path, 5, start=START)
    with path.open("rb") as f:
        movie = Probe.of(f, "REC_F.MP4").movie()
        assert movie is not None
        samples = mp4.read_samples(f, movie.tracks[0])
    last = samples[-1]
    cut = tmp_path / "cut.MP4"
    cut.write_bytes(path.read_bytes()[: last.offset + 3])
    with cut.open("rb") as f:
        got = list(mp4.iter_sample_data(f, samples))
    assert got[-1][1] == path.read_bytes()[last.offset : last.offset + 3]
