"""The recordings card (tests/footage/recordings.py) is what its truth says.

Everything is read back from the files' bytes with the few lines of box and
KLV walking below (not the project's parsers), and cross-checked with
exiftool where it is installed.
"""

from __future__ import annotations

import filecmp
import hashlib
import itertools
import json
import os
import re
import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from tests.footage import RecordingsCard, RecordingTruth, make_recordings_card

GPS9_EPOCH = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
PAYLOAD_S = 1.001  # one GPMF payload per 1001 ms at 29.97 fps

# Skip without exiftool locally; in CI (CI=true) a missing exiftool fails instead.
needs_exiftool = pytest.mark.skipif(
    shutil.which("exiftool") is None and not os.environ.get("CI"), reason="exiftool not installed"
)


# -- independent readers ----------------------------------------------------------------


def boxes(f: BinaryIO, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(kind, payload start, box end) of each box in [start, end); 64-bit and size-0 boxes."""
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        head = f.read(16)
        size, kind = struct.unpack(">I4s", head[:8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", head[8:16])[0], 16
        elif size == 0:
            size = end - pos
        assert header <= size <= end - pos, f"box {kind!r} at {pos} runs past its parent"
        yield kind, pos + header, pos + size
        pos += size


def find(f: BinaryIO, start: int, end: int, *path: bytes) -> tuple[int, int] | None:
    for kind, body, stop in boxes(f, start, end):
        if kind == path[0]:
            return (body, stop) if len(path) == 1 else find(f, body, stop, *path[1:])
    return None


def top_kinds(path: str | Path) -> list[bytes]:
    with open(path, "rb") as f:
        return [k for k, _, _ in boxes(f, 0, os.fstat(f.fileno()).st_size)]


def moov(f: BinaryIO) -> tuple[int, int]:
    found = find(f, 0, os.fstat(f.fileno()).st_size, b"moov")
    assert found is not None, "no moov"
    return found


def udta(path: str | Path) -> dict[bytes, bytes]:
    """The udta boxes by kind."""
    with open(path, "rb") as f:
        found = find(f, *moov(f), b"udta")
        assert found is not None
        out = {}
        for kind, body, stop in boxes(f, *found):
            f.seek(body)
            out[kind] = f.read(stop - body)
        return out


def klvs(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[bytes, int, int]]:
    """(key, value start, value end) of each KLV, 32-bit aligned."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        key, _, size, repeat = struct.unpack_from(">4scBH", data, pos)
        if key == b"\0\0\0\0":
            return
        length = size * repeat
        yield key, pos + 8, pos + 8 + length
        pos += 8 + (length + 3) // 4 * 4


def settings(path: str | Path) -> dict[bytes, bytes]:
    """The udta GPMF 'Video Global Settings' values (DEVC > STRM > KLV) by key."""
    data = udta(path)[b"GPMF"]
    ((_, a, b),) = [k for k in klvs(data) if k[0] == b"DEVC"]
    ((_, s, e),) = [k for k in klvs(data, a, b) if k[0] == b"STRM"]
    return {key: data[x:y] for key, x, y in klvs(data, s, e)}


def tracks(path: str | Path) -> list[tuple[bytes, bytes, list[int], list[int], float]]:
    """(handler, sample entry, sample sizes, chunk offsets, duration s) of each trak."""
    out = []
    with open(path, "rb") as f:
        for kind, body, stop in boxes(f, *moov(f)):
            if kind != b"trak":
                continue
            got = {}
            for name in (
                b"mdia/hdlr",
                b"mdia/mdhd",
                b"mdia/minf/stbl/stsd",
                b"mdia/minf/stbl/stsz",
            ):
                box = find(f, body, stop, *name.split(b"/"))
                assert box is not None
                f.seek(box[0])
                got[name[-4:]] = f.read(box[1] - box[0])
            co = find(f, body, stop, b"mdia", b"minf", b"stbl", b"stco")
            wide = co is None
            co = co or find(f, body, stop, b"mdia", b"minf", b"stbl", b"co64")
            assert co is not None
            f.seek(co[0])
            raw = f.read(co[1] - co[0])
            n = struct.unpack_from(">I", raw, 4)[0]
            offsets = list(struct.unpack_from(f">{n}{'Q' if wide else 'I'}", raw, 8))
            one, count = struct.unpack_from(">II", got[b"stsz"], 4)
            sizes = (
                [one] * count if one else list(struct.unpack_from(f">{count}I", got[b"stsz"], 12))
            )
            scale, length = struct.unpack_from(">II", got[b"mdhd"], 12)
            entry = got[b"stsd"][12:16]
            out.append((got[b"hdlr"][8:12], entry, sizes, offsets, length / scale))
    return out


def duration(path: str | Path) -> float:
    """The movie's duration (mvhd)."""
    with open(path, "rb") as f:
        box = find(f, *moov(f), b"mvhd")
        assert box is not None
        f.seek(box[0])
        scale, length = struct.unpack(">II", f.read(20)[12:20])
        return float(length / scale)


def payloads(path: str | Path) -> list[bytes]:
    """The gpmd track's samples, read through its sample table."""
    (gpmd,) = [t for t in tracks(path) if t[1] == b"gpmd"]
    with open(path, "rb") as f:
        out = []
        for size, offset in zip(gpmd[2], gpmd[3], strict=True):
            f.seek(offset)
            out.append(f.read(size))
        return out


def scanned_payloads(path: str | Path) -> list[bytes]:
    """DEVC payloads found by scanning the file (for a file without moov)."""
    data = Path(path).read_bytes()
    out, at = [], data.find(b"DEVC\0\x01")
    while at >= 0:
        length = struct.unpack_from(">H", data, at + 6)[0]
        out.append(data[at : at + 8 + length])
        at = data.find(b"DEVC\0\x01", at + 8 + length)
    return out


def streams(payload: bytes) -> Iterator[dict[bytes, bytes]]:
    """Each STRM of a payload's DEVC as {key: value}."""
    for key, a, b in klvs(payload):
        assert key == b"DEVC"
        for inner, s, e in klvs(payload, a, b):
            if inner == b"STRM":
                yield {k: payload[x:y] for k, x, y in klvs(payload, s, e)}


def gps_clock(path: str | Path, found: list[bytes] | None = None) -> list[float]:
    """GPS9 sample times, or one GPSU (the payload's first GPS5 sample) per payload."""
    out: list[float] = []
    for payload in payloads(path) if found is None else found:
        strms = list(streams(payload))
        nine = b"".join(s[b"GPS9"] for s in strms if b"GPS9" in s)
        for r in range(0, len(nine), 32):
            days, ms = struct.unpack_from(">ll", nine, r + 20)
            out.append(GPS9_EPOCH + days * 86400 + ms / 1000)
        for s in strms if not nine else []:
            if b"GPSU" in s:
                when = datetime.strptime(s[b"GPSU"].decode(), "%y%m%d%H%M%S.%f")
                out.append(when.replace(tzinfo=UTC).timestamp())
    return out


def novatek_records(path: str | Path) -> list[tuple[datetime, bytes]]:
    """(camera clock, status) of each freeGPS block the moov 'gps ' index lists."""
    with open(path, "rb") as f:
        index = find(f, *moov(f), b"gps ")
        if index is None:
            return []
        f.seek(index[0])
        raw = f.read(index[1] - index[0])
        out = []
        for i in range(struct.unpack_from(">I", raw, 4)[0]):
            offset, _ = struct.unpack_from(">II", raw, 8 + 8 * i)
            f.seek(offset)
            block = f.read(76)
            assert block[4:12] == b"freeGPS "
            h, mi, s, y, mo, d = struct.unpack_from("<6I", block, 48)
            out.append((datetime(2000 + y, mo, d, h, mi, s), block[72:73]))
        return out


# -- the card ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[RecordingsCard, float]:
    began = time.monotonic()
    card = make_recordings_card(tmp_path_factory.mktemp("recordings"))
    return card, time.monotonic() - began


@pytest.fixture(scope="module")
def card(made: tuple[RecordingsCard, float]) -> RecordingsCard:
    return made[0]


def at(card: RecordingsCard, rel: str) -> Path:
    return card.root / rel


def gopro(card: RecordingsCard) -> list[RecordingTruth]:
    return [r for r in card.recordings if r.kind == "gopro"]


def test_card_is_quick_and_sparse(made: tuple[RecordingsCard, float]) -> None:
    card, elapsed = made
    assert elapsed < 15.0
    files = [p for p in card.root.rglob("*") if p.is_file()]
    used = sum(p.stat().st_blocks * 512 for p in files)
    assert used < 64 * 2**20
    assert used < sum(p.stat().st_size for p in files) / 100


def test_videos_are_named_and_placed_as_the_cameras_do(card: RecordingsCard) -> None:
    videos = sorted(
        p.relative_to(card.root).as_posix()
        for p in card.root.rglob("*")
        if p.suffix in (".MP4", ".LRV")
    )
    assert videos == [
        "DCIM/100GBACK/GB010009.MP4",
        "DCIM/100GBACK/GPBK0009.MP4",
        "DCIM/100GFRNT/GF010009.MP4",
        "DCIM/100GFRNT/GPFR0009.MP4",
        "DCIM/100GOPRO/GL010042.LRV",
        "DCIM/100GOPRO/GL020042.LRV",
        "DCIM/100GOPRO/GX010042.MP4",
        "DCIM/100GOPRO/GX020042.MP4",
        "DCIM/101GOPRO/GL030042.LRV",
        "DCIM/101GOPRO/GX010043.MP4",
        "DCIM/101GOPRO/GX020043.MP4",
        "DCIM/101GOPRO/GX030042.MP4",
        "DCIM/102GOPRO/GL010051.LRV",
        "DCIM/102GOPRO/GL020051.LRV",
        "DCIM/102GOPRO/GL030051.LRV",
        "DCIM/102GOPRO/GX010051.MP4",
        "DCIM/102GOPRO/GX020052.MP4",
        "DCIM/102GOPRO/GX030051.MP4",
        "DCIM/102GOPRO/GX040052.MP4",
        "DCIM/103GOPRO/GX010061.MP4",
        "DCIM/103GOPRO/GX010062.MP4",
        "DCIM/103GOPRO/GX020061.MP4",
        "DCIM/103GOPRO/GX020062.MP4",
        "DCIM/104GOPRO/GOPR0007.MP4",
        "DCIM/104GOPRO/GP010007.MP4",
        "DCIM/104GOPRO/GP020007.MP4",
        "DCIM/105GOPRO/CamA-GX010011.MP4",
        "DCIM/105GOPRO/CamA-GX020011.MP4",
        "DCIM/105GOPRO/CamB-GX010011.MP4",
        "DCIM/Movie/2026_0406_092000_001F.MP4",
        "DCIM/Movie/2026_0406_092000_001R.MP4",
        "DCIM/Movie/2026_0406_092100_002F.MP4",
        "DCIM/Movie/2026_0406_092100_002R.MP4",
        "DCIM/Movie/2026_0406_092300_004F.MP4",
        "DCIM/Movie/2026_0406_092300_004R.MP4",
        "DCIM/Movie/2026_0406_095400_006F.MP4",
        "DCIM/Movie/2026_0406_095400_006R.MP4",
        "DCIM/Movie/2026_0406_095500_007F.MP4",
        "DCIM/Movie/2026_0406_095500_007R.MP4",
        "DCIM/Movie/2026_0406_095600_008F.MP4",
        "DCIM/Movie/2026_0406_095600_008R.MP4",
        "DCIM/Movie/Parking/2026_0406_093400_005F.MP4",
        "DCIM/Movie/Parking/2026_0406_093400_005R.MP4",
        "DCIM/Movie/RO/2026_0406_092100_002F.MP4",
        "DCIM/Movie/RO/2026_0406_092200_003F.MP4",
        "DCIM/Movie/RO/2026_0406_092200_003R.MP4",
    ]
    # A thumbnail beside every MP4 with a moov; the cut chapter has none.
    thumbnails = {p.with_suffix(".MP4") for p in card.root.rglob("*.THM")}
    mp4s = {p for p in card.root.rglob("*.MP4") if "Movie" not in p.parts}
    assert thumbnails == mp4s - {at(card, "DCIM/101GOPRO/GX020043.MP4")}
    # Every file a truth names exists, and every GoPro/dashcam video on the card is named.
    named = {p.path for r in card.recordings for p in r.parts} | set(card.unjoined)
    named |= set(card.duplicates)
    assert all(at(card, n).is_file() for n in named)
    proxies = {v for v in videos if v.endswith(".LRV")} - named
    assert set(videos) - named == proxies  # the proxies of chapters whose MP4 is there


def test_expected_folders_follow_the_naming_rule(card: RecordingsCard) -> None:
    assert [r.folder for r in card.recordings] == [
        "DCIM/100GOPRO/GX0042",
        "DCIM/101GOPRO/GX0043",
        "DCIM/102GOPRO/GX0051",
        "DCIM/102GOPRO/GX0052",
        "DCIM/103GOPRO/GX0061",
        "DCIM/103GOPRO/GX0062",
        "DCIM/104GOPRO/GOPR0007",
        "DCIM/100GFRNT/GPFR0009",
        "DCIM/100GBACK/GPBK0009",
        "DCIM/105GOPRO/CamA-GX0011",
        "DCIM/105GOPRO/CamB-GX0011",
        "DCIM/Movie/2026-04-06_092000_F",
        "DCIM/Movie/2026-04-06_093400_F",
        "DCIM/Movie/2026-04-06_095400_F",
        "DCIM/Movie/2026-04-06_092000_R",
        "DCIM/Movie/2026-04-06_093400_R",
        "DCIM/Movie/2026-04-06_095400_R",
    ]
    name = re.compile(
        r"^(.*?)(GX|GH|GL)(\d\d)(\d{4})|^(GOPR|GPFR|GPBK)(\d{4})|^G[PFB](\d\d)(\d{4})"
    )
    for r in gopro(card):
        lowest = min(r.parts, key=lambda p: p.chapter).path
        m = name.match(Path(lowest).name)
        assert m is not None
        family = f"{m[1]}{'GX' if m[2] == 'GL' else m[2]}{m[4]}" if m[2] else f"{m[5]}{m[6]}"
        assert r.folder == f"{Path(lowest).parent.as_posix()}/{family}"
    for r in card.recordings:
        if r.kind == "dashcam":
            first = Path(r.parts[0].path).name  # 2026_0406_092000_001F.MP4
            clock = datetime.strptime(first[:16], "%Y_%m%d_%H%M%S")
            assert r.folder == f"DCIM/Movie/{clock:%Y-%m-%d_%H%M%S}_{first[20]}"
            assert all(Path(p.path).name[20] == r.channel for p in r.parts)


# -- GoPro session identity ----------------------------------------------------------------


def ids(path: str | Path) -> dict[str, Any]:
    """What udta says about the camera and the recording, read from the bytes."""
    boxes_ = udta(path)
    out: dict[str, Any] = {k.decode(): boxes_[k] for k in (b"MUID", b"GUMI", b"CAME")}
    if b"GPMF" in boxes_:
        s = settings(path)
        out["CASN"] = s[b"CASN"].rstrip(b"\0").decode()
        out["CINF"] = s[b"CINF"]
        out["GPMF MUID"] = s[b"MUID"]
        out["CPID"] = s.get(b"CPID")
        out["CPIN"] = struct.unpack(">I", s[b"CPIN"])[0] if b"CPIN" in s else None
    return out


SHARED = {"HERO8 Black": "GUMI", "HERO5 Black": "GUMI", "Fusion": "GUMI"}
SHARED |= {"HERO11 Black": "MUID", "HERO13 Black": "CPID"}


def test_chapters_share_the_session_id_of_their_generation(card: RecordingsCard) -> None:
    for r in gopro(card):
        read = [ids(at(card, p.path)) for p in r.parts if p.footage.info["moov"]]
        key = SHARED[r.camera]
        assert r.session is not None
        assert r.session["key"] == key
        if len(read) < 2:
            continue
        assert len({x[key] for x in read}) == 1, r.folder
        assert read[0][key].hex() == r.session["id"]
        others = {"GUMI", "MUID", "CPID"} - {key}
        for other in others:  # what the generation does not share differs per chapter
            values = [x.get(other) for x in read]
            assert None in values or len(set(values)) == len(values), (r.folder, other)


def test_different_recordings_have_different_session_ids(card: RecordingsCard) -> None:
    shared = {r.folder: r.session["id"] for r in gopro(card) if r.session}
    by_id: dict[str, list[str]] = {}
    for folder, value in shared.items():
        by_id.setdefault(value, []).append(folder)
    # Only the two lenses of one Fusion capture share an id; their names tell them apart.
    assert [v for v in by_id.values() if len(v) > 1] == [
        ["DCIM/100GFRNT/GPFR0009", "DCIM/100GBACK/GPBK0009"]
    ]
    stray = ids(at(card, card.unjoined[0]))
    assert stray["CPID"].hex() not in shared.values()


def test_muid_first_half_is_the_serial_hash_and_names_the_camera(card: RecordingsCard) -> None:
    hero8 = [ids(at(card, p)) for p in ("DCIM/100GOPRO/GX010042.MP4", "DCIM/101GOPRO/GX010043.MP4")]
    hero11 = [
        ids(at(card, p)) for p in ("DCIM/102GOPRO/GX010051.MP4", "DCIM/102GOPRO/GX020052.MP4")
    ]
    for x in hero8 + hero11:
        camera = hashlib.md5(x["CASN"].encode()).digest()  # as on the real HERO7 and MAX
        assert x["CAME"] == x["CINF"] == x["MUID"][:16] == camera
        assert x["GPMF MUID"] == struct.pack(">4I", *struct.unpack("<4I", camera)) + b"\0" * 16
        assert x["MUID"][16:18] == (2026).to_bytes(2, "big")  # the year, then 8 bytes, zeros
        assert x["MUID"][26:] == b"\0" * 6
    # Two recordings of one camera: the same GPMF MUID; the udta MUID box differs on HERO11.
    assert hero8[0]["GPMF MUID"] == hero8[1]["GPMF MUID"]
    assert hero8[0]["GUMI"] != hero8[1]["GUMI"]
    assert hero11[0]["GPMF MUID"] == hero11[1]["GPMF MUID"]
    assert hero11[0]["MUID"] != hero11[1]["MUID"]
    hero5 = ids(at(card, "DCIM/104GOPRO/GOPR0007.MP4"))
    assert hero5["CAME"] == b"\0" * 16  # karma.mp4 (HERO5): an all-zero CAME, no udta GPMF
    assert "CASN" not in hero5


def test_hero13_cpid_and_cpin_and_a_chapter_from_another_capture(card: RecordingsCard) -> None:
    first, second = (ids(at(card, f"DCIM/103GOPRO/GX0{k}0061.MP4")) for k in (1, 2))
    assert first["CPID"] == second["CPID"]
    assert len(first["CPID"]) == 16  # L x 4
    assert (first["CPIN"], second["CPIN"]) == (1, 2)
    assert first["MUID"] != second["MUID"]
    assert first["GUMI"] != second["GUMI"]
    own, stray = (at(card, f"DCIM/103GOPRO/GX0{k}0062.MP4") for k in (1, 2))
    assert card.unjoined == ["DCIM/103GOPRO/GX020062.MP4"]
    assert ids(own)["CPID"] != ids(stray)["CPID"]
    assert (ids(stray)["CPIN"], ids(stray)["CASN"]) == (2, ids(own)["CASN"])
    # ... although its clock runs straight on from chapter 1: only the id tells.
    assert gps_clock(stray)[0] - gps_clock(own)[-1] == pytest.approx(0.1, abs=1e-3)
    assert [p.path for p in card.recording("DCIM/103GOPRO/GX0062").parts] == [
        "DCIM/103GOPRO/GX010062.MP4"
    ]


@needs_exiftool
def test_exiftool_reads_the_same_identities(card: RecordingsCard) -> None:
    def tags(rel: str) -> dict[str, str]:
        cmd = ["exiftool", "-ee", "-G3", "-a", "-n", "-U", "-s", os.fspath(at(card, rel))]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        rows = (re.match(r"^\[Main\]\s+(\S+)\s+: (.*)$", line) for line in out.splitlines())
        return {m[1]: m[2] for m in rows if m}

    a, b = tags("DCIM/103GOPRO/GX010061.MP4"), tags("DCIM/103GOPRO/GX020061.MP4")
    assert a["GoPro_CPID"] == b["GoPro_CPID"]  # exiftool 12.57 has no name for CPID/CPIN yet
    assert (a["GoPro_CPIN"], b["GoPro_CPIN"]) == ("1", "2")
    assert a["SerialNumberHash"] == hashlib.md5(a["CameraSerialNumber"].encode()).hexdigest()
    assert a["MediaUniqueID"] == b["MediaUniqueID"]  # the camera half only
    assert a["Model"] == "HERO13 Black"


# -- clocks and durations ----------------------------------------------------------------


def test_chapter_clocks_continue_and_durations_add_up(card: RecordingsCard) -> None:
    for r in gopro(card):
        files = [at(card, p.path) for p in r.parts]
        lengths = [
            duration(f) if p.footage.info["moov"] else None
            for f, p in zip(files, r.parts, strict=True)
        ]
        for length, p in zip(lengths, r.parts, strict=True):
            assert length is None or length == pytest.approx(p.footage.duration, abs=1e-6)
        if r.camera == "Fusion" and r.parts[0].gps_samples == 0:
            assert all(b"gpmd" not in [t[1] for t in tracks(f)] for f in files)
            continue
        clocks = [
            gps_clock(f) if n else gps_clock(f, scanned_payloads(f))
            for f, n in zip(files, lengths, strict=True)
        ]
        gps5 = r.camera not in ("HERO11 Black", "HERO13 Black")
        interval = 1 / 18 if gps5 else 0.1
        for (a, b), join, length in zip(itertools.pairwise(clocks), r.joins, lengths, strict=False):
            if join.track_gap:  # the missing chapter's time is missing from the track
                assert b[0] - a[-1] == pytest.approx(join.gap_s + interval, abs=interval)
            elif gps5:  # one GPSU per payload: the next chapter's first comes within one more
                assert 0 < b[0] - a[-1] <= PAYLOAD_S + interval + 1e-3
                assert length is not None
                assert b[0] - a[0] == pytest.approx(length, abs=interval)
            else:  # GPS9 times every sample: one sample interval
                assert b[0] - a[-1] == pytest.approx(interval, abs=1e-3)
        # The file's clock and the truth's agree.
        if not gps5:
            assert [len(c) for c in clocks] == r.gps_counts
            assert r.utc_span == pytest.approx((clocks[0][0], clocks[-1][-1]), abs=1e-3)


def test_truncated_chapter_has_no_moov_and_continues(card: RecordingsCard) -> None:
    whole, cut = (at(card, f"DCIM/101GOPRO/GX0{k}0043.MP4") for k in (1, 2))
    assert top_kinds(whole) == [b"ftyp", b"mdat", b"moov"]
    assert top_kinds(cut) == [b"ftyp", b"mdat"]
    found = scanned_payloads(cut)
    recording = card.recording("DCIM/101GOPRO/GX0043")
    assert len(found) == len(recording.parts[1].footage.info["gpmf"]["payloads"]) == 12
    assert recording.parts[1].footage.duration < recording.parts[0].footage.duration
    assert 0 < gps_clock(cut, found)[0] - gps_clock(whole)[-1] <= PAYLOAD_S + 1 / 18
    assert recording.parts[1].footage.info["session"] is None  # no moov, no udta id


def test_lrv_stands_in_for_the_missing_chapter(card: RecordingsCard) -> None:
    r = card.recording("DCIM/102GOPRO/GX0051")
    assert [(p.path, p.role) for p in r.parts] == [
        ("DCIM/102GOPRO/GX010051.MP4", "main"),
        ("DCIM/102GOPRO/GL020051.LRV", "lrv-fallback"),
        ("DCIM/102GOPRO/GX030051.MP4", "main"),
    ]
    assert not at(card, "DCIM/102GOPRO/GX020051.MP4").exists()
    files = [at(card, p.path) for p in r.parts]
    assert len({ids(f)["MUID"] for f in files}) == 1
    assert r.session is not None
    assert ids(files[1])["MUID"].hex() == r.session["id"]
    proxy = {t[1] for t in tracks(files[1])}
    assert {b"avc1", b"gpmd"} <= proxy
    assert files[1].stat().st_size < files[0].stat().st_size / 10  # 2.5 vs 45 Mb/s
    # Same telemetry as the MP4 would have had: the clock runs through it.
    assert sum(r.gps_counts) == len([t for f in files for t in gps_clock(f)]) == 550


def test_missing_chapters_leave_a_gap(card: RecordingsCard) -> None:
    r = card.recording("DCIM/102GOPRO/GX0052")
    assert r.missing == [1, 3]
    assert [p.chapter for p in r.parts] == [2, 4]
    (join,) = r.track_gaps
    assert join.gap_s == pytest.approx(20.0, abs=0.05)
    gaps = [j for rec in card.recordings for j in rec.track_gaps]
    assert gaps == [join]  # the only join that must show a gap


def test_hero5_and_fusion_chapters(card: RecordingsCard) -> None:
    hero5 = card.recording("DCIM/104GOPRO/GOPR0007")
    assert [Path(p).name for p in hero5.paths] == ["GOPR0007.MP4", "GP010007.MP4", "GP020007.MP4"]
    assert sum(duration(at(card, p)) for p in hero5.paths) == pytest.approx(50.0, abs=0.05)
    front = card.recording("DCIM/100GFRNT/GPFR0009")
    back = card.recording("DCIM/100GBACK/GPBK0009")
    assert [Path(p).name for p in front.paths] == ["GPFR0009.MP4", "GF010009.MP4"]
    assert [Path(p).name for p in back.paths] == ["GPBK0009.MP4", "GB010009.MP4"]
    assert [t[0] for t in tracks(at(card, front.paths[0]))] == [b"vide", b"soun", b"tmcd", b"meta"]
    assert [t[0] for t in tracks(at(card, back.paths[0]))] == [b"vide", b"soun", b"tmcd"]
    (first, *_) = payloads(at(card, front.paths[0]))
    names = [first[a:b] for k, a, b in klvs(first, 8, len(first)) if k == b"DVNM"]
    assert names == [b"Fusion"]
    assert (front.gps_total, back.gps_total) == (540, 0)
    for a, b in zip(front.paths, back.paths, strict=True):
        assert ids(at(card, a))["GUMI"] == ids(at(card, b))["GUMI"]


def test_labs_prefixes_tell_two_cameras_apart(card: RecordingsCard) -> None:
    cam_a = card.recording("DCIM/105GOPRO/CamA-GX0011")
    cam_b = card.recording("DCIM/105GOPRO/CamB-GX0011")
    assert [Path(p).name for p in cam_a.paths] == ["CamA-GX010011.MP4", "CamA-GX020011.MP4"]
    assert [Path(p).name for p in cam_b.paths] == ["CamB-GX010011.MP4"]
    a, b = ids(at(card, cam_a.paths[0])), ids(at(card, cam_b.paths[0]))
    assert a["CASN"] != b["CASN"]
    assert a["MUID"] != b["MUID"]
    span_a, span_b = cam_a.utc_span, cam_b.utc_span
    assert span_a is not None
    assert span_b is not None
    assert span_b[0] < span_a[1]  # they overlap in time: time alone does not join


# -- dashcam --------------------------------------------------------------------------------


def test_dashcam_segments_continue_within_a_drive(card: RecordingsCard) -> None:
    drives = [r for r in card.recordings if r.kind == "dashcam" and r.channel == "F"]
    assert [[p.role for p in r.parts] for r in drives] == [
        ["main", "main", "event", "main"],
        ["parking"],
        ["main", "main", "main"],
    ]
    assert [Path(p).parent.name for p in drives[0].paths] == ["Movie", "Movie", "RO", "Movie"]
    assert Path(drives[1].paths[0]).parent.name == "Parking"
    ends = []
    for r in drives:
        records = [novatek_records(at(card, p)) for p in r.paths]
        for path, recs in zip(r.paths, records, strict=True):
            name = Path(path).name
            assert recs[0][0] == datetime.strptime(name[:16], "%Y_%m%d_%H%M%S")  # the name's clock
            assert {s for _, s in recs} == {b"A"}
        clock = [t for recs in records for t, _ in recs]
        assert all(b - a == timedelta(seconds=1) for a, b in itertools.pairwise(clock))
        assert [len(x) for x in records] == r.gps_counts
        ends.append((clock[0], clock[-1]))
        assert all(j.gap_s == 0 and j.gps_step_s == 1.0 for j in r.joins)
    assert ends[2][0] - ends[0][1] == timedelta(minutes=30, seconds=1)  # the pause
    parked = card.recording("DCIM/Movie/2026-04-06_093400_F").parts[0].footage
    assert {(s["lat"], s["lon"], s["speed_2d"]) for s in parked.samples} == {
        (parked.samples[0]["lat"], parked.samples[0]["lon"], 0.0)
    }


def test_rear_channel_has_no_gps(card: RecordingsCard) -> None:
    rear = [r for r in card.recordings if r.kind == "dashcam" and r.channel == "R"]
    assert len(rear) == 3
    for r in rear:
        assert r.gps_total == 0
        assert r.utc_span is None
        for p in r.paths:
            assert novatek_records(at(card, p)) == []
            assert b"freeGPS " not in at(card, p).read_bytes()
            video = tracks(at(card, p))[0]
            assert (video[0], video[4]) == (b"vide", 30.0 if r.parts[0].role == "parking" else 60.0)


def test_locked_copy_is_the_same_clip(card: RecordingsCard) -> None:
    ((copy, original),) = card.duplicates.items()
    assert Path(copy).parent.as_posix() == "DCIM/Movie/RO"
    assert Path(copy).name == Path(original).name
    assert filecmp.cmp(at(card, copy), at(card, original), shallow=False)
    assert original in card.recording("DCIM/Movie/2026-04-06_092000_F").paths


# -- the truth's own arithmetic -------------------------------------------------------------


def test_truth_totals_and_json(card: RecordingsCard, tmp_path: Path) -> None:
    for r in card.recordings:
        assert r.gps_total == sum(p.gps_samples for p in r.parts) == sum(r.gps_counts)
        if r.gps_total:
            span = r.utc_span
            assert span is not None
            assert r.parts[0].footage.start_utc <= span[0] < span[1] <= r.parts[-1].end_utc
        assert r.video_duration == pytest.approx(sum(p.footage.duration for p in r.parts))
    card.write_json(tmp_path / "card.json")
    data = json.loads((tmp_path / "card.json").read_text())
    assert [r["folder"] for r in data["recordings"]] == [r.folder for r in card.recordings]
    gx0052 = data["recordings"][3]
    assert gx0052["missing"] == [1, 3]
    assert [j["track_gap"] for j in gx0052["joins"]] == [True]
    assert data["unjoined"] == card.unjoined


# -- the long recording for the benchmark ---------------------------------------------------


def test_cli_recording_writes_whole_chapters_and_proxies(tmp_path: Path) -> None:
    from scripts.make_footage import main

    assert main(["recording", str(tmp_path), "--chapters", "3", "--chapter-s", "8", "--lrv"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "GL010001.LRV",
        "GL020001.LRV",
        "GL030001.LRV",
        "GX010001.MP4",
        "GX020001.MP4",
        "GX030001.MP4",
    ]
    read = [ids(tmp_path / n) for n in names]
    assert len({x["GUMI"] for x in read}) == 1  # HERO8: the recording's GUMI, proxies too
    assert sum(duration(tmp_path / n) for n in names if n.endswith(".MP4")) == pytest.approx(
        24.0, abs=0.05
    )


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_three_hour_recording_is_cheap(tmp_path: Path) -> None:
    from scripts.make_footage import main

    began = time.monotonic()
    assert main(["recording", str(tmp_path), "--model", "HERO11 Black", "--number", "77"]) == 0
    assert time.monotonic() - began < 90
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == [f"GX{k:02d}0077.MP4" for k in range(1, 13)]
    assert all(3.5e9 < f.stat().st_size < 4e9 for f in files)  # under GoPro's 4 GB
    assert sum(f.stat().st_blocks * 512 for f in files) < 256 * 2**20
    assert sum(duration(f) for f in files) == pytest.approx(3 * 3600, abs=0.1)
    assert len({ids(f)["MUID"] for f in files}) == 1
    last, first = gps_clock(files[0])[-1], gps_clock(files[1])[0]
    assert first - last == pytest.approx(0.1, abs=1e-3)
