"""GoPro session identity: which udta id the chapters of one recording share."""

from __future__ import annotations

import struct
from pathlib import Path

from telemetryfs.parsers.extract import extract
from telemetryfs.parsers.formats.gopro.session import id_text, session_info, session_key
from tests.paths import SAMPLES


def _udta_box(path: str, kind: bytes) -> bytes:
    """The payload of moov/udta/<kind>, by a plain box walk (independent of our parser)."""
    data = Path(path).read_bytes()

    def walk(start: int, end: int, want: list[bytes]) -> bytes:
        pos = start
        while pos + 8 <= end:
            size, name = struct.unpack_from(">I4s", data, pos)
            if name == want[0]:
                return (
                    data[pos + 8 : pos + size]
                    if len(want) == 1
                    else walk(pos + 8, pos + size, want[1:])
                )
            pos += size
        raise AssertionError(f"no {want}")

    return walk(0, len(data), [b"moov", b"udta", kind])


def test_karma_session_id_is_its_udta_gumi() -> None:
    path = str(SAMPLES / "gopro" / "mp4" / "karma.mp4")
    t = extract(path, full=False)
    assert t.info["session_key"] == "GUMI"
    assert t.info["session_id"] == _udta_box(path, b"GUMI").hex()


def test_the_shared_id_follows_the_generation() -> None:
    assert session_key("HERO8 Black", {}) == "GUMI"
    assert session_key("HERO11 Black", {}) == "MUID"
    assert session_key("HERO12 Black", {}) == "MUID"
    assert session_key("HERO13 Black", {"CPID": [1, 2, 3, 4]}) == "CPID"
    assert session_key("GoPro Max", {}) == "GUMI"
    boxes = {"GUMI": bytes.fromhex("00" * 15 + "01"), "MUID": bytes(range(32))}
    assert session_info("HERO11 Black", {"CASN": "C3471325123456"}, boxes) == {
        "session_key": "MUID",
        "session_id": bytes(range(32)).hex(),
        "serial": "C3471325123456",
    }
    info = session_info("HERO13 Black", {"CPID": [7, 8], "CPIN": 2}, {})
    assert info == {"session_key": "CPID", "session_id": "7-8", "capture_chapter": 2}


def test_empty_ids_are_no_ids() -> None:
    assert id_text(bytes(16)) is None
    assert id_text([0, 0]) is None
    assert session_info("HERO8 Black", {}, {"GUMI": bytes(16)}) == {}
