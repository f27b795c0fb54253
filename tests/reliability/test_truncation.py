"""Cut files: every real sample and generated file, cut at 10 points, served by a mount.

Each cut (a card pulled mid-copy, a recording interrupted) must list as a
folder, serve every file it lists (st_size == bytes read), and say what is
wrong in info.json. The cut points include one inside the moov (MP4s), one
inside a GPS block, and points spread over the file past what sniffing needs.
"""

from __future__ import annotations

import io
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from telemetryfs.parsers import detect, integrity
from telemetryfs.parsers import extract as extraction
from telemetryfs.parsers.containers import mp4
from telemetryfs.parsers.errors import ParseError
from telemetryfs.parsers.model import Extent, Telemetry
from tests.builders import box, riff_chunk
from tests.footage import make_gopro, make_mapcam, make_novatek
from tests.footage.blackvue import blackvue_mp4
from tests.footage.camm import CammFix, make_camm
from tests.footage.garmin import make_garmin_dashcam, make_virb_clip
from tests.footage.garmin import route as garmin_route
from tests.footage.insta360 import seeds as insta360_seeds
from tests.footage.thinkware import make_thinkware
from tests.footage.vueroid import make_vueroid
from tests.mount.conftest import _require_fuse  # noqa: F401  (autouse: FUSE or fail)
from tests.paths import SAMPLES
from tests.reliability.conftest import MountFactory, serve_folder

CUTS = 10

# The real samples, by group (one mount each). The 70mai folder is a corpus of
# deliberately broken files: there the cut only has to be listed and served.
SAMPLE_GROUPS = {
    "gopro-mp4": "gopro/mp4/*",
    "gopro-gpmf": "gopro/gpmf/*",
    "other": "other/*",
    "dashcamigo": "dashcam/dashcamigo/*",
    "70mai": "dashcam/70mai/*",
    "garmin-virb": "garmin-virb/trek-view/*",
    "dashcam-more": "dashcam-more/dashcamigo/*",
    "blackvue": "blackvue/*/*",
    "insta360": "insta360/*/*.insv",
    "thinkware": "thinkware/*/*.MP4",
    "camm": "camm/*/*.mp4",
    "dji-srt": "dji-srt/*/*.[Ss][Rr][Tt]",
}
CORRUPT_GROUPS = {"70mai"}


def _gps_extent(t: Telemetry) -> Extent | None:
    """Where the GPS data of a parsed file lies (a GPS stream chunk, else a raw piece)."""
    for s in t.streams:
        if s.fourcc.upper().startswith("GPS") and s.chunks:
            return s.chunks[0].extent
    for r in sorted(t.raw_files, key=lambda r: "gps" not in r.name.lower()):
        for piece in r.pieces:
            if isinstance(piece, Extent):
                return piece
    return None


def _sniff_needs(data: bytes, name: str) -> int:
    """The fewest leading bytes that still sniff as footage."""
    kind = detect.sniff(data[: detect.HEAD_SIZE], name)
    for n in range(1, min(len(data), detect.HEAD_SIZE) + 1):
        if detect.sniff(data[:n], name) == kind:
            return n
    return len(data)


def cut_points(path: Path) -> list[int]:
    """CUTS offsets to cut at: inside the moov, inside a GPS block, and spread evenly."""
    data = path.read_bytes()
    size = len(data)
    lo = max(_sniff_needs(data, path.name), 16)
    special: list[int] = []
    moov = None
    if detect.sniff(data[: detect.HEAD_SIZE], path.name) == detect.MP4:
        try:
            moov = mp4.find_moov(io.BytesIO(data))
        except ParseError:
            moov = None
    if moov is not None:
        special += [moov.offset + moov.header_size + 1, (moov.offset + moov.end) // 2]
    try:
        extent = _gps_extent(extraction.extract(path))
    except ParseError:
        extent = None
    if extent is not None and extent.size > 1:
        special.append(extent.offset + extent.size // 2)
    points = {p for p in special if lo <= p < size}
    spread = [lo + (size - lo) * i // (CUTS + 1) for i in range(1, CUTS + 1)]
    for p in spread:
        if len(points) >= CUTS:
            break
        if lo <= p < size:
            points.add(p)
    return sorted(points)


def make_cuts(src: Path, dest: Path) -> dict[str, tuple[Path, int]]:
    """Write every cut of ``src`` into ``dest``; returns cut name -> (original, offset)."""
    dest.mkdir(parents=True, exist_ok=True)
    data = src.read_bytes()
    stem, ext = os.path.splitext(src.name)
    made = {}
    for n in cut_points(src):
        name = f"{stem}.cut{n}{ext}"
        (dest / name).write_bytes(data[:n])
        made[name] = (src, n)
    return made


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file of each generated kind, complete (sparse media, real indexes)."""
    d = tmp_path_factory.mktemp("generated")
    make_gopro(d / "GX010001.MP4", duration_s=5.0, video_mbps=0.5)
    make_gopro(d / "GX010002.MP4", duration_s=5.0, video_mbps=0.5, model="HERO11 Black")
    make_gopro(d / "GOPR0003.MP4", duration_s=5.0, video_mbps=0.5, model="HERO5 Black")
    make_novatek(d / "2026_0406_164510_001.MP4", duration_s=6.0, video_mbps=0.5)
    make_novatek(d / "2026_0406_164610_002.MOV", duration_s=6.0, video_mbps=0.5, container="mov")
    make_novatek(d / "2026_0406_164710_003.MP4", duration_s=6.0, video_mbps=0.5, index=False)
    make_mapcam(d / "MC_20260406_150512_0001.AVI", duration_s=5.0, video_mbps=0.5)
    make_garmin_dashcam(d / "GRMN0001.MP4", garmin_route(30, lead_without_fix=3))
    start = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)
    make_thinkware(d / "REC_2026_06_01_12_00_00_F.MP4", 20, start=start)
    make_vueroid(d / "20260601_120000_INF_F_N.mp4", 10, clock=1_780_315_200)
    for i, seed in enumerate(insta360_seeds()):
        (d / f"VID_20260601_12000{i}_00_001.insv").write_bytes(seed)
    camm_fixes = [CammFix(1_780_315_200.0 + i, 48.1 + i * 1e-5, 11.5, 500.0) for i in range(20)]
    make_camm(d / "camm.mp4", camm_fixes)
    virb_uuid = "VIRBactioncamera360_Video_3840_2160_29.9700_3956357227_34ba5417_1_38_x.fit"
    make_virb_clip(d / "V0380038.MP4", virb_uuid, 52.085)
    bv = SAMPLES / "blackvue" / "dashcamigo" / "20260718_070333_N"
    (d / "20260718_070333_NF.mp4").write_bytes(
        blackvue_mp4(
            gps=bv.with_suffix(".gps").read_bytes(), accel=bv.with_suffix(".3gf").read_bytes()
        )
    )
    return d


def _footage_files(pattern: str) -> list[Path]:
    out = []
    for p in sorted(SAMPLES.glob(pattern)):
        if p.is_file() and detect.sniff(p.read_bytes()[: detect.HEAD_SIZE], p.name):
            out.append(p)
    return out


def _says_what_is_wrong(info: dict[str, object], original: Path, n: int, corrupt: bool) -> bool:
    if info["error"]:
        return True
    data = original.read_bytes()
    if not data[n:].strip(b"\0"):
        return True  # only zero padding was cut: nothing is missing
    if corrupt or original.suffix.lower() in (".nmea", ".gps", ".srt"):
        # A broken corpus already carries its complaints; a log cut at the end of
        # a line (give or take its trailing spaces) is a shorter log, as whole as a
        # file without a final line break; its cut lines show as warnings otherwise.
        at_line_end = data[n:].lstrip(b" \t")[:1] in (b"\r", b"\n")
        return bool(info["warnings"]) or data[n - 1 : n] == b"\n" or at_line_end
    return False


def _check_cuts(m_path: Path, cuts: dict[str, tuple[Path, int]], corrupt: bool) -> list[str]:
    listed = set(os.listdir(m_path))
    problems = []
    for name, (original, n) in sorted(cuts.items()):
        if name not in listed:
            problems.append(f"{name}: not listed")
            continue
        info = serve_folder(m_path / name)
        if not _says_what_is_wrong(info, original, n, corrupt):
            problems.append(f"{name}: info.json says nothing is wrong: {info}")
    return problems


def test_cut_points_include_moov_and_gps_block(generated: Path) -> None:
    path = generated / "GX010001.MP4"
    points = cut_points(path)
    assert len(points) == CUTS
    with path.open("rb") as f:
        moov = mp4.find_moov(f)
    assert moov is not None
    assert any(moov.offset < p < moov.end for p in points)
    extent = _gps_extent(extraction.extract(path))
    assert extent is not None
    assert any(extent.offset < p < extent.offset + extent.size for p in points)


@pytest.mark.slow
def test_generated_files_cut_at_ten_points(
    checked_mount: MountFactory, generated: Path, tmp_path: Path
) -> None:
    cuts: dict[str, tuple[Path, int]] = {}
    for src in sorted(generated.iterdir()):
        made = make_cuts(src, tmp_path / "cuts")
        assert len(made) == CUTS, src
        cuts.update(made)
    m = checked_mount(tmp_path / "cuts", "--no-disk-cache")
    assert _check_cuts(m.path, cuts, corrupt=False) == []


@pytest.mark.slow
@pytest.mark.parametrize("group", sorted(SAMPLE_GROUPS))
def test_real_samples_cut_at_ten_points(
    checked_mount: MountFactory, group: str, tmp_path: Path
) -> None:
    files = _footage_files(SAMPLE_GROUPS[group])
    assert files, group
    cuts: dict[str, tuple[Path, int]] = {}
    for src in files:
        cuts.update(make_cuts(src, tmp_path / "cuts"))
    if group not in CORRUPT_GROUPS:
        assert len(cuts) >= CUTS * len(files) * 0.9, (group, len(cuts))
    m = checked_mount(tmp_path / "cuts", "--no-disk-cache")
    assert _check_cuts(m.path, cuts, corrupt=group in CORRUPT_GROUPS) == []


def test_a_cut_with_all_its_gps_still_says_it_is_cut(tmp_path: Path) -> None:
    """The GPS of a moov-first file survives a cut in the mdat tail; info must still tell."""
    src = SAMPLES / "gopro/mp4/hero5-trimmed.mp4"
    data = src.read_bytes()
    whole = extraction.extract(src)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) - 1000])
    t = extraction.extract(cut)
    assert t.error is not None
    assert "cut short" in t.error
    assert len(t.gps) <= len(whole.gps)
    shutil.copyfile(src, tmp_path / "whole.mp4")
    assert extraction.extract(tmp_path / "whole.mp4").error is None


# -- the integrity check on its own (pure) -------------------------------------------------


def _cut_short(data: bytes, kind: str) -> str | None:
    return integrity.cut_short(io.BytesIO(data), kind)


def test_integrity_mp4_box_past_the_end() -> None:
    whole = box(b"ftyp", b"mp41") + box(b"mdat", bytes(100)) + box(b"moov", bytes(50))
    assert _cut_short(whole, detect.MP4) is None
    assert "box 'moov'" in (_cut_short(whole[:-10], detect.MP4) or "")
    assert "box 'mdat'" in (_cut_short(whole[:60], detect.MP4) or "")
    assert "stray bytes" in (_cut_short(whole + b"\0\0\0", detect.MP4) or "")


def test_integrity_mp4_without_moov_is_an_interrupted_recording() -> None:
    assert "no moov" in (_cut_short(box(b"ftyp") + box(b"mdat", b"x"), detect.MP4) or "")


def test_integrity_mp4_vendor_trailer_is_not_a_cut() -> None:
    whole = box(b"ftyp") + box(b"moov") + box(b"mdat", b"x") + b"GPSDATA\0" + bytes(40)
    assert _cut_short(whole, detect.MP4) is None


def test_integrity_mp4_64bit_and_to_end_sizes() -> None:
    big = b"\0\0\0\x01mdat" + (16 + 4).to_bytes(8, "big") + b"abcd"
    assert _cut_short(box(b"ftyp") + box(b"moov") + big, detect.MP4) is None
    assert _cut_short(box(b"ftyp") + box(b"moov") + big[:-1], detect.MP4) is not None
    to_end = b"\0\0\0\0mdat" + bytes(1000)
    assert _cut_short(box(b"ftyp") + box(b"moov") + to_end, detect.MP4) is None


def test_integrity_riff_gpmf_ts_jpeg() -> None:
    avi = riff_chunk(b"RIFF", b"AVI " + riff_chunk(b"LIST", b"movi" + bytes(21)))
    assert _cut_short(avi, detect.AVI) is None
    assert "chunk 'RIFF'" in (_cut_short(avi[:-5], detect.AVI) or "")
    klv = b"DEVC\0\x01\0\x08" + bytes(8)
    assert _cut_short(klv * 2, detect.GPMF) is None
    assert "KLV 'DEVC'" in (_cut_short((klv * 2)[:-3], detect.GPMF) or "")
    ts = (b"\x47" + bytes(187)) * 4
    assert _cut_short(ts, detect.TS) is None
    assert "TS packet" in (_cut_short(ts[:-7], detect.TS) or "")
    jpeg = b"\xff\xd8\xff\xe1\0\x06Exif\xff\xda\0\x02" + bytes(50) + b"\xff\xd9"
    assert _cut_short(jpeg, detect.JPEG) is None
    assert "end-of-image" in (_cut_short(jpeg[:-2], detect.JPEG) or "")
    assert "segment" in (_cut_short(jpeg[:8], detect.JPEG) or "")


def test_every_whole_sample_passes_the_integrity_check() -> None:
    """No false alarms on the real files (70mai corpus aside: it is broken on purpose)."""
    for group, pattern in SAMPLE_GROUPS.items():
        if group in CORRUPT_GROUPS:
            continue
        for path in _footage_files(pattern):
            with path.open("rb") as f:
                kind = detect.sniff_file(f, path.name)
                assert integrity.cut_short(f, kind) is None, path


def test_ligogps_byte_ranges_stay_inside_a_cut_file() -> None:
    # Found by the truncation tests: gps.raw once ran past the end of a cut file.
    from telemetryfs.parsers.formats.ligogps import parse as ligogps

    data = (SAMPLES / "dashcam/dashcamigo/carcam__carcam-4ch-front.mp4").read_bytes()[:577]
    t = ligogps.extract(io.BytesIO(data))
    for raw in t.raw_files:
        for piece in raw.pieces:
            if isinstance(piece, Extent):
                assert piece.offset + piece.size <= len(data), piece


def test_extract_drops_byte_ranges_past_the_end() -> None:
    """Whatever a parser says, the mount never lists a raw file or chunk it cannot read."""
    from telemetryfs.parsers.model import Chunk, RawFile, Stream

    raw = RawFile("gps.raw", (b"head", Extent(10, 5), Extent(90, 20)))
    gone = RawFile("all.gpmf", (Extent(200, 10),))
    codec = object()
    chunks = (Chunk(Extent(0, 50), 5, 0.0, 1.0), Chunk(Extent(60, 50), 5, 1.0, 1.0))
    stream = Stream("ACCL", "ACCL", None, None, ("x",), 10, chunks, codec)
    t = Telemetry(format="x", raw_files=(raw, gone), streams=(stream,))
    kept = extraction.with_integrity(t, io.BytesIO(bytes(100)), None)
    assert kept.raw_files == (RawFile("gps.raw", (b"head", Extent(10, 5))),)
    assert kept.streams[0].chunks == chunks[:1]
    assert kept.streams[0].sample_count == 5
    assert any("past the end" in w.reason for w in kept.warnings)
    assert extraction.with_integrity(kept, io.BytesIO(bytes(100)), None) == kept
