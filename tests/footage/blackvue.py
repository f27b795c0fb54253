"""BlackVue MP4s built from the facts (FORMAT-NOTES, exiftool's Pittasoft table).

No public BlackVue MP4 was found; the real sidecar payloads (dashcamigo's
``.gps``/``.3gf``) go into the ``free`` box a newer BlackVue writes, so the
bytes inside are real and only the box around them is built.
"""

from __future__ import annotations

import os
from datetime import datetime

from tests.builders import box
from tests.footage.mp4write import mac_time, mvhd

LEGACY_CPRT = b"Pittasoft Co., Ltd.;DR900S-1CH;1.008;English;1;D2H;\0"
JSON_CPRT = b' {"model":"DR900X Plus","fw":"1.011"}\0'


def blackvue_mp4(
    *,
    gps: bytes | None,
    accel: bytes | None,
    cprt: bytes | None = LEGACY_CPRT,
    created: datetime | None = None,
    duration_s: float = 60.0,
) -> bytes:
    """ftyp, the Pittasoft ``free`` box (cprt, gps , 3gf ), moov with an mvhd, a small mdat."""
    children = b""
    if cprt is not None:
        children += box(b"cprt", cprt)
    if gps is not None:
        children += box(b"gps ", gps)
    if accel is not None:
        children += box(b"3gf ", accel)
    when = mac_time(created) if created is not None else 0
    movie = box(
        b"moov",
        mvhd(created=when, timescale=1000, duration=int(duration_s * 1000), next_track_id=1),
    )
    return (
        box(b"ftyp", b"mp42\0\0\0\0mp42isom")
        + box(b"free", children)
        + movie
        + box(b"mdat", b"\0" * 64)
    )


def write_blackvue_mp4(path: str | os.PathLike[str], **kwargs: object) -> None:
    with open(path, "wb") as f:
        f.write(blackvue_mp4(**kwargs))  # type: ignore[arg-type]
