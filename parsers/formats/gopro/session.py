"""Which recording session a GoPro chapter belongs to, from its udta ids.

The chapters of one recording carry the same id, but which id depends on the
camera's generation (gopro/gpmf-parser#148, exiftool GoPro.pm):

- HERO5 to HERO9, MAX and Fusion: the udta ``GUMI`` box (their ``MUID``
  differs per chapter; its first half is a hash of the serial number);
- HERO10 to HERO12: the udta ``MUID`` box;
- HERO13 and later: ``CPID`` (capture id) in the udta GPMF settings, with
  ``CPIN`` the chapter's number in its capture.

The serial number (``CASN``) tells two cameras apart whose numbering collides.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_HERO_NUMBER = re.compile(r"HERO\s*(\d+)", re.IGNORECASE)


def id_text(value: Any) -> str | None:
    """An id as text: bytes as hex, numbers joined by '-' (None when empty or zero)."""
    if isinstance(value, bytes | bytearray):
        return value.hex() if any(value) else None
    if isinstance(value, list | tuple):
        parts = [id_text(v) for v in value]
        return "-".join(p for p in parts if p) or None
    if isinstance(value, int):
        return str(value) if value else None
    if isinstance(value, str):
        return value.strip() or None
    return None


def session_key(camera: str | None, settings: Mapping[str, Any]) -> str | None:
    """The udta field whose value the chapters of one recording share."""
    if settings.get("CPID") is not None:
        return "CPID"
    match = _HERO_NUMBER.search(camera or "")
    if match and 10 <= int(match.group(1)) <= 12:
        return "MUID"
    return "GUMI"


def session_info(
    camera: str | None, settings: Mapping[str, Any], boxes: Mapping[str, bytes]
) -> dict[str, Any]:
    """info.json facts: ``session_key``, ``session_id``, ``serial``, ``capture_chapter``."""
    info: dict[str, Any] = {}
    key = session_key(camera, settings)
    value = settings.get(key) if key == "CPID" else boxes.get(key or "")
    session = id_text(value)
    if key and session:
        info["session_key"] = key
        info["session_id"] = session
    serial = id_text(settings.get("CASN"))
    if serial:
        info["serial"] = serial
    chapter = settings.get("CPIN")
    if isinstance(chapter, int):
        info["capture_chapter"] = chapter
    return info
