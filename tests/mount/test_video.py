"""``-o video`` through real mounts: the videos themselves and recordings' joined MP4s.

The chapters are cut from a real HERO8 sample by ffmpeg itself (``-f segment -c
copy``, at keyframes, with its gpmd and tmcd tracks), so the joined file can be
checked against what ffmpeg decodes from the parts and from the original: the
same frames, in order, summed durations, a clean decode, a seek that lands in
the second chapter, and the gpmd track equal to the recording's all.gpmf.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from telemetryfs.parsers.containers import mp4
from tests.footage.gopro import make_gopro_recording
from tests.footage.recordings import make_recordings_card
from tests.mount.conftest import MountFactory
from tests.paths import SAMPLES

HERO8 = SAMPLES / "gopro/mp4/hero8-trimmed.mp4"
HERO5 = SAMPLES / "gopro/mp4/hero5-trimmed.mp4"
GOPRO = "DCIM/100GOPRO"
VIEW = f"recordings/{GOPRO}"


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)


def _ffprobe(path: Path, *args: str) -> dict[str, Any]:
    done = _run("ffprobe", "-v", "error", "-of", "json", *args, path)
    assert done.returncode == 0, done.stderr
    value: dict[str, Any] = json.loads(done.stdout)
    return value


def _frame_hashes(path: Path, *before: str) -> list[tuple[float, str]]:
    """(pts seconds, md5) of every decoded video frame, as ffmpeg's framemd5 gives them."""
    done = _run("ffmpeg", "-v", "error", *before, "-i", path, "-map", "0:v", "-f", "framemd5", "-")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    num, den = next(li for li in lines if li.startswith("#tb 0:")).split(":")[1].split("/")
    rows = [line.split(",") for line in lines if not line.startswith("#")]
    # stream, dts, pts, duration, size, hash
    return [(int(r[2]) * int(num) / int(den), r[5].strip()) for r in rows]


def _stream(info: dict[str, Any], tag: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in info["streams"] if s["codec_tag_string"] == tag)
    return found


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Recordings made of chapters ffmpeg cut from the real sample, and bad joins."""
    root = tmp_path_factory.mktemp("video") / "card"
    gopro = root / GOPRO
    gopro.mkdir(parents=True)
    cut = tmp_path_factory.mktemp("cut")
    done = _run(
        "ffmpeg", "-v", "error", "-i", HERO8, "-map", "0:0", "-map", "0:1", "-map", "0:2",
        "-c", "copy", "-f", "segment", "-segment_time", "1", "-reset_timestamps", "1",
        "-segment_format", "mov", cut / "part%d.mov",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in cut.iterdir()) == ["part0.mov", "part1.mov"]
    shutil.copy(cut / "part0.mov", gopro / "GX010042.MP4")
    shutil.copy(cut / "part1.mov", gopro / "GX020042.MP4")
    # Another camera's chapter: other resolution and codec settings.
    shutil.copy(HERO8, gopro / "GX010043.MP4")
    shutil.copy(HERO5, gopro / "GX020043.MP4")
    # A chapter cut short inside its media (its moov is in front: what is there plays).
    shutil.copy(HERO8, gopro / "GX010044.MP4")
    (gopro / "GX020044.MP4").write_bytes(HERO8.read_bytes()[:400_000])
    # A chapter cut before its moov (GoPro writes it last): nothing of it plays.
    shutil.copy(cut / "part0.mov", gopro / "GX010045.MP4")
    (gopro / "GX020045.MP4").write_bytes((cut / "part1.mov").read_bytes()[:200_000])
    # A recording whose middle chapter is missing (GX020046 never copied).
    shutil.copy(cut / "part0.mov", gopro / "GX010046.MP4")
    shutil.copy(cut / "part1.mov", gopro / "GX030046.MP4")
    return root


def test_a_video_folder_holds_its_video_byte_identical(mount: MountFactory, card: Path) -> None:
    plain = mount(card)
    folder = plain.path / GOPRO / "GX010043.MP4"
    assert "GX010043.MP4" not in os.listdir(folder)  # off by default
    assert not (folder / "GX010043.MP4").exists()
    m = mount(card, "-o", "video,allow_other")
    for name in ("GX010042.MP4", "GX010043.MP4", "GX020044.MP4"):
        shown = m.path / GOPRO / name / name
        assert name in os.listdir(shown.parent)
        assert shown.stat().st_size == (card / GOPRO / name).stat().st_size
        done = _run("cmp", shown, card / GOPRO / name)
        assert done.returncode == 0, done.stdout + done.stderr
    # The subtitles beside it share its stem, when the folder has subtitles at all.
    names = os.listdir(m.path / GOPRO / "GX010043.MP4")
    assert ("GX010043.srt" in names) == ("track.srt" in names)
    if "track.srt" in names:
        folder = m.path / GOPRO / "GX010043.MP4"
        assert (folder / "GX010043.srt").read_bytes() == (folder / "track.srt").read_bytes()
    assert "GX010043.srt" not in os.listdir(plain.path / GOPRO / "GX010043.MP4")


def test_chapters_join_into_one_mp4_that_plays_as_the_original(
    mount: MountFactory, card: Path
) -> None:
    m = mount(card, "-o", "video,allow_other")
    folder = m.path / VIEW / "GX0042"
    joined = folder / "GX0042.MP4"
    assert "GX0042.MP4" in os.listdir(folder)
    parts = [card / GOPRO / "GX010042.MP4", card / GOPRO / "GX020042.MP4"]
    info = json.loads((folder / "info.json").read_text())
    assert info["video_join"]["file"] == "GX0042.MP4"
    assert info["video_join"]["parts"] == 2
    assert info["video_join"]["size"] == joined.stat().st_size

    # One file of the summed duration, per stream and as a whole.
    probe = ["-show_entries", "stream=codec_tag_string,duration:format=duration"]
    whole = _ffprobe(joined, *probe)
    each = [_ffprobe(p, *probe) for p in parts]
    for tag in ("avc1", "mp4a", "gpmd"):
        summed = sum(float(_stream(e, tag)["duration"]) for e in each)
        assert float(_stream(whole, tag)["duration"]) == pytest.approx(summed, abs=0.002)
    original = _ffprobe(HERO8, *probe)
    assert float(whole["format"]["duration"]) == pytest.approx(
        float(original["format"]["duration"]), abs=0.005
    )

    # Every frame decodes, cleanly, and is the frame ffmpeg decodes from the parts.
    done = _run("ffmpeg", "-v", "error", "-i", joined, "-f", "null", "-")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    frames = _frame_hashes(joined)
    first, second = (_frame_hashes(p) for p in parts)
    assert len(frames) == len(first) + len(second) == 60
    assert [h for _, h in frames] == [h for _, h in first + second]
    assert [h for _, h in frames] == [h for _, h in _frame_hashes(HERO8)]

    # A seek into the second chapter lands on one of its frames, on the joined clock.
    part1_s = float(_stream(each[0], "avc1")["duration"])
    pts, landed = _frame_hashes(joined, "-copyts", "-ss", f"{part1_s + 0.5:.3f}")[0]
    assert part1_s <= pts <= part1_s + 0.6
    assert landed in {h for _, h in second}
    assert landed not in {h for _, h in first}

    # Its gpmd track is the recording's all.gpmf.
    gpmd = _stream(_ffprobe(joined, "-show_entries", "stream=index,codec_tag_string"), "gpmd")
    data = m.path.parent / "gpmd.bin"
    done = _run(
        "ffmpeg", "-v", "error", "-i", joined, "-map", f"0:{gpmd['index']}",
        "-c", "copy", "-f", "data", data,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert data.read_bytes() == (folder / "streams" / "all.gpmf").read_bytes()


def test_parts_that_do_not_join_say_why(mount: MountFactory, card: Path) -> None:
    plain = mount(card)
    m = mount(card, "-o", "video,allow_other")

    # Another resolution and codec settings: no joined video, the reason in info.json.
    folder = m.path / VIEW / "GX0043"
    assert "GX0043.MP4" not in os.listdir(folder)
    assert not (folder / "GX0043.MP4").exists()
    join = json.loads((folder / "info.json").read_text())["video_join"]
    assert join["file"] is None
    assert "part 2's video track has other codec parameters" in join["reason"]
    # ... the tracks are the same as without the option.
    for name in ("track.csv", "streams/all.gpmf"):
        assert (folder / name).read_bytes() == (plain.path / VIEW / "GX0043" / name).read_bytes()

    # A chapter cut inside its media joins up to its last whole chunk.
    folder = m.path / VIEW / "GX0044"
    joined = folder / "GX0044.MP4"
    join = json.loads((folder / "info.json").read_text())["video_join"]
    assert join["parts"] == 2
    assert "part 2 is cut short" in join["reason"]
    done = _run("ffmpeg", "-v", "error", "-i", joined, "-f", "null", "-")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    cut_frames = _frame_hashes(card / GOPRO / "GX020044.MP4")  # what ffmpeg gets from it alone
    frames = _frame_hashes(joined)
    assert 60 < len(frames) <= 60 + len(cut_frames)
    assert len(frames) >= 60 + len(cut_frames) - 1  # at most a frame cut in half is left out
    duration = float(_ffprobe(joined, "-show_entries", "format=duration")["format"]["duration"])
    assert duration == pytest.approx(len(frames) * 1001 / 30000, abs=0.05)

    # A chapter cut before its moov: nothing of it plays, the first chapter is the video.
    folder = m.path / VIEW / "GX0045"
    join = json.loads((folder / "info.json").read_text())["video_join"]
    assert join["parts"] == 1
    assert "part 2 does not play" in join["reason"]
    frames = _frame_hashes(folder / "GX0045.MP4")
    assert [h for _, h in frames] == [h for _, h in _frame_hashes(card / GOPRO / "GX010045.MP4")]


def test_rsync_copies_derived_tracks_only_and_stays_stable(
    mount: MountFactory, card: Path, tmp_path: Path
) -> None:
    m = mount(card)
    backup = tmp_path / "backup"
    first = _run("rsync", "-a", "--itemize-changes", f"{m.path}/", backup)
    assert first.returncode == 0, first.stderr
    copied = [p for p in backup.rglob("*") if p.is_file()]
    assert copied
    assert not [p for p in copied if p.suffix.upper() in (".MP4", ".MOV")]
    again = _run("rsync", "-a", "--itemize-changes", f"{m.path}/", backup)
    assert again.returncode == 0, again.stderr
    assert again.stdout == ""
    # Without -o video no recording's moovs are ever joined: its folder's files asked
    # for a join each (tens of MB for a 3-hour recording) and threw it away.
    assert m.stats()["video_joins"] == 0
    video = mount(card, "-o", "video")
    assert (video.path / VIEW / "GX0042" / "GX0042.MP4").stat().st_size > 0
    assert video.stats()["video_joins"] >= 1


def test_a_join_past_4_gib_uses_64_bit_chunk_offsets(mount: MountFactory, tmp_path: Path) -> None:
    """Two sparse 3.7 GB HEVC chapters (generated, no disk used): co64, and the offsets
    land where the parts' samples are (the gpmd track read by ffmpeg is all.gpmf)."""
    source = tmp_path / "big"
    gopro = source / GOPRO
    gopro.mkdir(parents=True)
    make_gopro_recording(gopro, duration_s=1300, chapter_s=650)
    parts = sorted(gopro.iterdir())
    assert len(parts) == 2
    assert sum(p.stat().st_size for p in parts) > 1 << 32
    m = mount(source, "-o", "video")
    folder = m.path / VIEW / "GX0001"
    joined = folder / "GX0001.MP4"
    with joined.open("rb") as f:
        moov = mp4.find_moov(f)
        assert moov is not None
        kinds = [
            {b.kind for b in mp4.iter_children(f, t.stbl)}
            for t in mp4.read_movie(f, moov).tracks
            if t.stbl is not None
        ]
    assert kinds
    assert all(b"co64" in k and b"stco" not in k for k in kinds)
    probe = _ffprobe(joined, "-show_entries", "stream=index,codec_tag_string:format=duration")
    summed = sum(
        float(_ffprobe(p, "-show_entries", "format=duration")["format"]["duration"]) for p in parts
    )
    assert float(probe["format"]["duration"]) == pytest.approx(summed, abs=0.01)
    data = tmp_path / "gpmd.bin"
    index = _stream(probe, "gpmd")["index"]
    done = _run(
        "ffmpeg", "-v", "fatal", "-i", joined, "-map", f"0:{index}", "-c", "copy", "-f", "data", data
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert data.read_bytes() == (folder / "streams" / "all.gpmf").read_bytes()


def test_a_dashcam_drive_joins_its_segments(mount: MountFactory, tmp_path: Path) -> None:
    """Novatek one-minute segments (the recordings card's generator) join into one drive."""
    card = make_recordings_card(tmp_path / "rcard").root
    m = mount(card, "-o", "video")
    folder = m.path / "recordings/DCIM/Movie/2026-04-06_092000_F"
    joined = folder / "2026-04-06_092000_F.MP4"
    lines = (folder / "concat.txt").read_text().splitlines()
    parts = [Path(line.split("'")[1]) for line in lines if line.startswith("file ")]
    assert len(parts) > 1
    join = json.loads((folder / "info.json").read_text())["video_join"]
    assert join["parts"] == len(parts)
    assert join["reason"] is None
    probe = ["-show_entries", "stream=codec_tag_string,nb_frames:format=duration"]
    whole = _ffprobe(joined, *probe)
    each = [_ffprobe(p, *probe) for p in parts]
    summed = sum(float(e["format"]["duration"]) for e in each)
    assert float(whole["format"]["duration"]) == pytest.approx(summed, abs=0.01)
    frames = sum(int(_stream(e, "avc1")["nb_frames"]) for e in each)
    assert int(_stream(whole, "avc1")["nb_frames"]) == frames


def test_a_missing_middle_chapter_is_said_in_the_join(mount: MountFactory, card: Path) -> None:
    m = mount(card, "-o", "video,allow_other")
    folder = m.path / VIEW / "GX0046"
    info = json.loads((folder / "info.json").read_text())
    assert info["missing_parts"] == [2]
    join = info["video_join"]
    assert join["parts"] == 2
    assert join["missing_parts"] == [2]
    assert "chapter 2 is missing" in join["reason"]
    assert (folder / "GX0046.MP4").stat().st_size == join["size"]
