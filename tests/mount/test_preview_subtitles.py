"""preview.svg and track.srt/track.vtt through a real mount, read by real clients.

Chromium (headless) and librsvg's ``rsvg-convert`` draw the preview; ffmpeg
turns their PNGs into pixels. The route's drawn pixels, inside the map frame
the SVG declares, must have the aspect ratio of the track computed here from
track.csv (Web Mercator, by this test's own formula), and the two engines must
agree. ffprobe, ffmpeg and the ``srt``/``webvtt-py`` parsers read the subtitles:
one cue per whole second of the video as ffprobe measures it, in order.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import srt
import webvtt

from tests.footage.gopro import make_gopro, make_gopro_recording
from tests.footage.novatek import make_novatek, novatek_name
from tests.mount.conftest import MountFactory
from tests.paths import SAMPLES

SVG_NS = "{http://www.w3.org/2000/svg}"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass(frozen=True)
class Card:
    root: Path
    clip: Path  # a generated 5-minute GoPro clip, no fix for its first 10 s
    recording: list[Path]  # the chapters of a generated GoPro recording
    dashcam: Path  # a generated 90-second Novatek clip, no fix from 30 to 40 s


@pytest.fixture(scope="module")
def card(tmp_path_factory: pytest.TempPathFactory) -> Card:
    root = tmp_path_factory.mktemp("see") / "card"
    gopro = root / "DCIM/100GOPRO"
    gopro.mkdir(parents=True)
    clip = gopro / "GX010007.MP4"
    make_gopro(clip, duration_s=300, no_fix_first_s=10, seed=3, video_mbps=2)
    (root / "DCIM/101GOPRO").mkdir()
    chapters = make_gopro_recording(
        root / "DCIM/101GOPRO", duration_s=150, chapter_s=60, number=8, seed=4, video_mbps=2
    )
    for rel in (
        "gopro/mp4/hero5-trimmed.mp4",
        "gopro/mp4/hero8-trimmed.mp4",
        "gopro/mp4/karma.mp4",
    ):
        shutil.copyfile(SAMPLES / rel, gopro / Path(rel).name)
    movie = root / "Movie"
    movie.mkdir()
    shutil.copyfile(SAMPLES / "dashcam/70mai/NO20191130-120156-000121.MP4", movie / "NO.MP4")
    start = datetime(2026, 4, 6, 14, 21, 22, tzinfo=UTC)
    dashcam = movie / novatek_name(start + timedelta(hours=3), 5)
    make_novatek(dashcam, duration_s=90, start_utc=start, lost_fix_s=[(30, 40)], video_mbps=1)
    return Card(root, clip, [Path(c.path) for c in chapters], dashcam)


def _run(*args: str | Path, timeout: float = 60) -> bytes:
    done = subprocess.run([str(a) for a in args], capture_output=True, timeout=timeout, check=False)
    assert done.returncode == 0, (args, done.stderr.decode(errors="replace")[-2000:])
    return done.stdout


def _video_seconds(video: Path) -> int:
    out = _run("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", video)
    return math.floor(float(json.loads(out)["format"]["duration"]))


# -- the preview -----------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    rgb: bytes

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        i = 3 * (y * self.width + x)
        return self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]


def _pixels(png: Path) -> Image:
    probe = _run(
        "ffprobe", "-v", "error", "-show_entries", "stream=width,height", "-of", "json", png
    )
    stream = json.loads(probe)["streams"][0]
    raw = _run("ffmpeg", "-v", "error", "-i", png, "-f", "rawvideo", "-pix_fmt", "rgb24", "-")
    assert len(raw) == 3 * stream["width"] * stream["height"]
    return Image(stream["width"], stream["height"], raw)


def _svg_size(svg: bytes) -> tuple[int, int]:
    root = ET.fromstring(svg)
    return math.ceil(float(root.attrib["width"])), math.ceil(float(root.attrib["height"]))


def _chromium(svg_path: Path, out: Path, profile: Path) -> Image:
    assert CHROMIUM is not None, "chromium is not installed (scripts/setup test_pkgs)"
    width, height = _svg_size(svg_path.read_bytes())
    _run(
        CHROMIUM,
        "--headless",
        "--no-sandbox",  # the tests run as root
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
        f"--screenshot={out}",
        svg_path.as_uri(),
        timeout=120,
    )
    return _pixels(out)


def _rsvg(svg_path: Path, out: Path) -> Image:
    _run("rsvg-convert", svg_path, "-o", out)
    return _pixels(out)


@dataclass(frozen=True)
class Frame:
    x: int
    y: int
    width: int
    height: int
    fill: tuple[int, int, int]


def _map_frame(svg: bytes) -> Frame:
    """The map's rectangle and background, as the SVG declares them."""
    rect = next(e for e in ET.fromstring(svg).iter(f"{SVG_NS}rect") if e.get("id") == "map")
    fill = rect.attrib["fill"].lstrip("#")
    return Frame(
        round(float(rect.attrib["x"])),
        round(float(rect.attrib["y"])),
        round(float(rect.attrib["width"])),
        round(float(rect.attrib["height"])),
        (int(fill[0:2], 16), int(fill[2:4], 16), int(fill[4:6], 16)),
    )


def _drawn_box(image: Image, frame: Frame) -> tuple[int, int, int, int, int]:
    """Bounding box (x0, y0, x1, y1) of pixels unlike the map's background, and their count."""
    xs, ys, count = [], [], 0
    for y in range(frame.y + 1, frame.y + frame.height - 1):
        for x in range(frame.x + 1, frame.x + frame.width - 1):
            if sum(abs(a - b) for a, b in zip(image.pixel(x, y), frame.fill, strict=True)) > 24:
                xs.append(x)
                ys.append(y)
                count += 1
    assert count, "the map is blank"
    return min(xs), min(ys), max(xs), max(ys), count


def _route_ratio(track_csv: bytes) -> float:
    """Width over height of the valid fixes in Web Mercator (this test's own projection)."""
    rows = [r for r in csv.DictReader(io.StringIO(track_csv.decode())) if r["valid"] == "true"]
    xs = [math.radians(float(r["lon"])) for r in rows]
    ys = [math.log(math.tan(math.pi / 4 + math.radians(float(r["lat"])) / 2)) for r in rows]
    return (max(xs) - min(xs)) / (max(ys) - min(ys))


def _check_preview(folder: Path, tmp_path: Path) -> None:
    svg_path = folder / "preview.svg"
    svg = svg_path.read_bytes()
    assert svg_path.stat().st_size == len(svg)
    expected = _route_ratio((folder / "track.csv").read_bytes())
    assert 0.3 < expected < 3.0, (
        expected
    )  # a route with two real dimensions: the test means something
    frame = _map_frame(svg)
    boxes = []
    for image in (
        _chromium(svg_path, tmp_path / "chromium.png", tmp_path / "chromium-profile"),
        _rsvg(svg_path, tmp_path / "rsvg.png"),
    ):
        assert (image.width, image.height) == _svg_size(svg)
        x0, y0, x1, y1, count = _drawn_box(image, frame)
        width, height = x1 - x0 + 1, y1 - y0 + 1
        # Markers and the line's width reach a few pixels past the track itself.
        assert width / height == pytest.approx(expected, rel=0.08), (
            folder,
            width,
            height,
            expected,
        )
        assert 0.005 < count / (width * height) < 0.5, count  # a line, not a filled box
        assert max(width, height) > 300  # scaled up to the frame, not a speck
        colours = {image.pixel(x, y) for x in range(x0, x1 + 1, 3) for y in range(y0, y1 + 1, 3)}
        assert len(colours) > 6  # coloured by speed, not one colour
        boxes.append((x0, y0, x1, y1))
    (cx0, cy0, cx1, cy1), (rx0, ry0, rx1, ry1) = boxes
    # The two engines draw the same route in the same place.
    assert max(abs(cx0 - rx0), abs(cy0 - ry0), abs(cx1 - rx1), abs(cy1 - ry1)) <= 2, boxes


def test_preview_draws_the_route_to_scale_in_chromium_and_librsvg(
    mount: MountFactory, card: Card, tmp_path: Path
) -> None:
    m = mount(card.root, "-o", "allow_other")
    folder = m.path / "DCIM/100GOPRO" / card.clip.name
    assert "preview.svg" in os.listdir(folder)
    _check_preview(folder, tmp_path)


def test_a_recording_has_one_preview_with_its_joined_track(
    mount: MountFactory, card: Card, tmp_path: Path
) -> None:
    m = mount(card.root, "-o", "allow_other")
    recording = m.path / "recordings/DCIM/101GOPRO/GX0008"
    assert {"preview.svg", "track.srt", "track.vtt"} <= set(os.listdir(recording))
    _check_preview(recording, tmp_path)
    seconds = sum(_video_seconds_exact(p) for p in card.recording)
    assert _cue_times(recording / "track.srt") == [float(s) for s in range(math.floor(seconds))]


def _video_seconds_exact(video: Path) -> float:
    out = _run("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", video)
    return float(json.loads(out)["format"]["duration"])


def test_a_track_without_a_fix_has_no_preview_but_subtitles(
    mount: MountFactory, card: Card
) -> None:
    m = mount(card.root)
    for folder in (m.path / "DCIM/100GOPRO").iterdir():
        info = json.loads((folder / "info.json").read_bytes())
        names = set(os.listdir(folder))
        assert ("preview.svg" in names) == (info["gps_valid"] > 0), folder
        assert ("track.srt" in names) == (info["gps_samples"] > 0), folder
    # hero8-trimmed.mp4 never locked (GPSF 0): samples, no fix, no preview.
    never = m.path / "DCIM/100GOPRO/hero8-trimmed.mp4"
    assert {"track.srt", "track.vtt"} <= set(os.listdir(never))
    assert "preview.svg" not in os.listdir(never)
    cues = list(srt.parse((never / "track.srt").read_text(encoding="utf-8")))
    assert [c.content for c in cues] == ["no GPS fix"] * _video_seconds(
        card.root / "DCIM/100GOPRO/hero8-trimmed.mp4"
    )


# -- the subtitles -------------------------------------------------------------------


def _cue_times(path: Path) -> list[float]:
    """The cues' start times as ffprobe reads them, checking each lasts until the next."""
    out = _run(
        "ffprobe",
        "-v",
        "error",
        "-show_entries",
        "packet=pts_time,duration_time",
        "-of",
        "json",
        path,
    )
    packets = json.loads(out)["packets"]
    starts = [float(p["pts_time"]) for p in packets]
    assert starts == sorted(starts)
    for p in packets:
        assert float(p["duration_time"]) == pytest.approx(1.0)
    return starts


def test_subtitles_have_a_cue_per_video_second_for_ffmpeg_and_the_parsers(
    mount: MountFactory, card: Card
) -> None:
    m = mount(card.root, "-o", "allow_other")
    videos = [
        ("DCIM/100GOPRO", card.clip),
        ("DCIM/100GOPRO", card.root / "DCIM/100GOPRO/hero5-trimmed.mp4"),
        ("DCIM/100GOPRO", card.root / "DCIM/100GOPRO/hero8-trimmed.mp4"),
        ("DCIM/100GOPRO", card.root / "DCIM/100GOPRO/karma.mp4"),
        ("Movie", card.root / "Movie/NO.MP4"),
        ("Movie", card.dashcam),
    ]
    for where, video in videos:
        folder = m.path / where / video.name
        seconds = _video_seconds(video)
        for name in ("track.srt", "track.vtt"):
            path = folder / name
            assert path.stat().st_size == len(path.read_bytes())
            assert _cue_times(path) == [float(s) for s in range(seconds)], (path, seconds)
            # ffmpeg decodes every cue without a complaint and writes them in the other format.
            other = "webvtt" if name == "track.srt" else "srt"
            done = subprocess.run(
                ["ffmpeg", "-v", "error", "-i", str(path), "-f", other, "-"],
                capture_output=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            assert not done.stderr, done.stderr
            assert done.stdout.count(b" --> ") == seconds
        text = (folder / "track.srt").read_text(encoding="utf-8")
        cues = list(srt.parse(text))
        assert [c.index for c in cues] == list(range(1, seconds + 1))
        assert [c.start.total_seconds() for c in cues] == [float(s) for s in range(seconds)]
        captions = webvtt.from_string((folder / "track.vtt").read_text(encoding="utf-8")).captions
        assert len(captions) == seconds
        assert [c.start_in_seconds for c in captions] == list(range(seconds))
        assert [c.text for c in captions] == [c.content for c in cues]


def test_subtitles_say_which_seconds_have_no_fix_and_the_gopro_fix(
    mount: MountFactory, card: Card
) -> None:
    m = mount(card.root)
    folder = m.path / "DCIM/100GOPRO" / card.clip.name
    cues = list(srt.parse((folder / "track.srt").read_text(encoding="utf-8")))
    rows = list(csv.DictReader(io.StringIO((folder / "track.csv").read_text())))
    valid_seconds = {math.floor(float(r["video_time_s"])) for r in rows if r["valid"] == "true"}
    for second, cue in enumerate(cues):
        if second in valid_seconds:
            assert "km/h" in cue.content, cue
            assert "GPS fix 3D" in cue.content, cue
        else:
            assert cue.content == "no GPS fix", cue
    assert 0 not in valid_seconds  # no fix for the first 10 s
    assert 100 in valid_seconds
    # The first fixed cue shows the first valid row of its second, in UTC.
    second = min(valid_seconds)
    row = next(
        r for r in rows if r["valid"] == "true" and math.floor(float(r["video_time_s"])) == second
    )
    lines = cues[second].content.splitlines()
    assert lines[0] == row["utc_time"][:19].replace("T", " ") + " UTC"
    assert lines[2] == f"{float(row['lat']):.6f}, {float(row['lon']):.6f}"


def test_a_dashcam_clock_zone_shows_local_time_and_lost_seconds(
    mount: MountFactory, card: Card
) -> None:
    m = mount(card.root, "-o", "time_offset=+3")
    folder = m.path / "Movie" / card.dashcam.name
    assert json.loads((folder / "info.json").read_bytes())["info"]["time_offset_applied_s"] == 10800
    rows = [
        r
        for r in csv.DictReader(io.StringIO((folder / "track.csv").read_text()))
        if r["valid"] == "true"
    ]
    first_utc = datetime.fromisoformat(rows[0]["utc_time"].replace("Z", "+00:00"))
    cues = list(srt.parse((folder / "track.srt").read_text(encoding="utf-8")))
    assert (
        cues[0].content.splitlines()[0]
        == f"{first_utc + timedelta(hours=3):%Y-%m-%d %H:%M:%S} UTC+03:00"
    )
    # A fix a second (Novatek): the seconds the receiver lost say so, the others do not.
    lost = [n for n, c in enumerate(cues) if c.content == "no GPS fix"]
    assert lost == list(range(30, 40)), lost
    assert b"time (UTC+03:00)" in (folder / "preview.svg").read_bytes()


def test_mpv_shows_the_cue_of_the_second_it_plays(mount: MountFactory, card: Card) -> None:
    """A real player: mpv plays karma.mp4 (a real clip) with the mount's subtitles beside it."""
    mpv = shutil.which("mpv")
    assert mpv is not None, "mpv is not installed (scripts/setup test_pkgs)"
    m = mount(card.root)
    video = card.root / "DCIM/100GOPRO/karma.mp4"
    folder = m.path / "DCIM/100GOPRO/karma.mp4"
    cues = list(srt.parse((folder / "track.srt").read_text(encoding="utf-8")))
    for name in ("track.srt", "track.vtt"):
        for at in (0.5, 5.5, 11.2):
            out = _run(
                mpv,
                "--no-config",
                "--vo=null",
                "--ao=null",
                f"--sub-file={folder / name}",
                f"--start={at}",
                "--frames=1",
                "--term-playing-msg=SUB<${sub-text}>",
                video,
            ).decode()
            shown = out[out.index("SUB<") + 4 : out.index(">", out.index("SUB<"))]
            assert shown == cues[math.floor(at)].content, (name, at, shown)
