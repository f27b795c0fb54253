"""A corrupt corpus: the deliberately broken 70mai clips and garbage named like footage.

Everything must list without taking the daemon down (the mount fixture fails
the test if the daemon died or logged a traceback); whatever is recognised as
footage lists as a folder whose info.json says what is wrong, and lying size
fields must not make the daemon allocate what they claim.
"""

from __future__ import annotations

import os
import random
import shutil
import struct
from pathlib import Path

import pytest

from telemetryfs.parsers import detect
from tests.builders import box, full_box, riff_chunk
from tests.mount.conftest import _require_fuse  # noqa: F401  (autouse: FUSE or fail)
from tests.paths import SAMPLES
from tests.reliability.conftest import MountFactory, serve_folder

CORPUS = SAMPLES / "dashcam/70mai"
# The daemon's resident memory after serving all of it: a parser that believed
# a 4 GiB size field would blow far past this.
RSS_LIMIT = 400 * 1024 * 1024


def _huge(kind: bytes, size: int) -> bytes:
    return struct.pack(">I4s", size, kind)


def garbage_files() -> dict[str, bytes]:
    """Garbage named .MP4/.AVI: empty, tiny, random, and lying size fields."""
    rng = random.Random(7)
    ftyp = box(b"ftyp", b"mp41\0\0\0\0mp41")
    stsz_lie = full_box(b"stsz", 0, 0, struct.pack(">II", 0, 0xFFFFFFFF))
    stco_lie = full_box(b"stco", 0, 0, struct.pack(">I", 0x3FFFFFFF))
    trak = box(b"trak", box(b"mdia", box(b"minf", box(b"stbl", stsz_lie + stco_lie))))
    return {
        "EMPTY.MP4": b"",
        "ONE.MP4": b"\0",
        "FOUR.MP4": b"\0\0\0\x08",
        "EMPTY.AVI": b"",
        "ONE.AVI": b"R",
        "FOUR.AVI": b"RIFF",
        "RANDOM.MP4": rng.randbytes(1 << 20),
        "RANDOM.AVI": rng.randbytes(4096),
        "FTYP_RANDOM.MP4": ftyp + rng.randbytes(64 * 1024),
        "MDAT_4G.MP4": ftyp + _huge(b"mdat", 0xFFFFFFFF) + bytes(64),
        "MDAT_64BIT.MP4": ftyp + b"\0\0\0\x01mdat" + struct.pack(">Q", 1 << 62) + bytes(64),
        "MDAT_TINY64.MP4": ftyp + b"\0\0\0\x01mdat" + struct.pack(">Q", 3) + bytes(64),
        "MOOV_4G.MP4": ftyp + _huge(b"moov", 0xFFFFFFF0) + box(b"mvhd", bytes(100)),
        "MOOV_SIZE0.MP4": ftyp + _huge(b"moov", 0) + bytes(100),
        "MOOV_SIZE1.MP4": ftyp + _huge(b"moov", 1) + bytes(4),
        "MOOV_LOOP.MP4": ftyp + _huge(b"moov", 8) * 1000,
        "TABLE_LIES.MP4": ftyp + box(b"moov", trak) + box(b"mdat", bytes(256)),
        "GPS_4G.MP4": ftyp + box(b"moov") + _huge(b"GPS ", 0xFFFFFFFF) + bytes(64),
        "RIFF_4G.AVI": b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"AVI " + bytes(64),
        "LIST_4G.AVI": b"RIFF\0\1\0\0AVI LIST" + struct.pack("<I", 0xFFFFFFF0) + b"movi",
        "IDX_LIES.AVI": riff_chunk(
            b"RIFF",
            b"AVI "
            + riff_chunk(b"LIST", b"movi" + riff_chunk(b"00dc", bytes(16)))
            + riff_chunk(b"idx1", struct.pack("<4sIII", b"00dc", 0x10, 0xFFFFFFF0, 0xFFFFFFF0)),
        ),
        "DEVC_4G.MP4": ftyp + box(b"mdat", b"DEVC\0\x01\xff\xff" + bytes(32)),
        "FREEGPS_LIES.MP4": ftyp
        + box(b"mdat", struct.pack(">I", 0xFFFFFFF0) + b"freeGPS " + bytes(64)),
    }


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _serve_everything(root: Path) -> list[str]:
    """Serve every video folder under root; return the names listed."""
    names = []
    for dirpath, dirnames, filenames in os.walk(root):
        names += dirnames + filenames
        for d in list(dirnames):
            folder = Path(dirpath) / d
            if (folder / "info.json").exists():
                info = serve_folder(folder)
                dirnames.remove(d)
                said = info["error"] or info["warnings"] or info["info"].get("note")
                assert said or info["gps_samples"], (d, info)
    return names


@pytest.fixture
def corrupt_card(tmp_path: Path) -> Path:
    card = tmp_path / "card"
    shutil.copytree(CORPUS, card / "70mai")
    (card / "garbage").mkdir()
    for name, data in garbage_files().items():
        (card / "garbage" / name).write_bytes(data)
    return card


def test_corrupt_corpus_and_garbage_list_and_serve(
    checked_mount: MountFactory, corrupt_card: Path
) -> None:
    m = checked_mount(corrupt_card, "--no-disk-cache")
    listed = set(_serve_everything(m.path))
    for path in sorted(corrupt_card.rglob("*")):
        if not path.is_file():
            continue
        with path.open("rb") as f:
            footage = detect.sniff_file(f, path.name) is not None
        # Footage (by content, or named like a video) lists as a folder; the rest is
        # hidden (no show_other).
        assert (path.name in listed) == footage, path.name
        if footage:
            assert (m.path / path.relative_to(corrupt_card)).is_dir(), path.name
    assert m.stats()["parses"] > 0
    assert _rss(m.proc.pid) < RSS_LIMIT
    # Garbage lists as a folder (named like a video) that says what it found:
    # why it cannot be read, or that it holds no telemetry.
    for name in garbage_files():
        info = serve_folder(m.path / "garbage" / name)
        assert info["error"] or info["info"].get("note"), (name, info)
        assert info["gps_samples"] == 0, name


def test_corrupt_corpus_with_show_other_lists_every_name(
    checked_mount: MountFactory, corrupt_card: Path
) -> None:
    m = checked_mount(corrupt_card, "--no-disk-cache", "-o", "show_other")
    for sub in ("70mai", "garbage"):
        assert sorted(os.listdir(m.path / sub)) == sorted(os.listdir(corrupt_card / sub))
    for path in sorted((m.path / "garbage").iterdir()):
        if path.is_file():  # not footage: passed through byte for byte
            assert path.read_bytes() == (corrupt_card / "garbage" / path.name).read_bytes()
    _serve_everything(m.path)
    assert m.proc.poll() is None


def test_every_70mai_corpus_file_is_exercised() -> None:
    """The corpus has what the issue names: empty-ish files and broken boxes."""
    sizes = sorted(p.stat().st_size for p in CORPUS.iterdir())
    assert len(sizes) >= 30
    assert sizes[0] <= 4
