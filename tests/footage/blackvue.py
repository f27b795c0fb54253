"""BlackVue MP4s built from the facts (FORMAT-NOTES, exiftool's Pittasoft table).

No public BlackVue MP4 was found; the real sidecar payloads (dashcamigo's
``.gps``/``.3gf``) go into the ``free`` box a newer BlackVue writes, so the
bytes inside are real and only the box around them is built.
"""

from __future__ import annotations

import os
import struct
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


def _sentence(body: str) -> str:
    checksum = 0
    for c in body:
        checksum ^= ord(c)
    return f"${body}*{checksum:02X}"


def synthetic_gps(seconds: int, *, start: datetime, camera_ahead_s: float = 3600.0) -> bytes:
    """``seconds`` of 1 Hz BlackVue NMEA (RMC, GGA, VTG per second) driving south-east
    at 25 m/s, each line prefixed with the camera clock ``camera_ahead_s`` ahead of UTC."""
    lines = []
    t0 = start.timestamp()
    for i in range(seconds):
        utc = datetime.fromtimestamp(t0 + i, tz=start.tzinfo)
        prefix = f"[{int((t0 + i + camera_ahead_s) * 1000) + 371}]"
        lat = 5159.0 - (i % 3600) * 0.0108  # ~20 m south a second (ddmm.mmmm, minutes < 60)
        lon = 10.0 + (i % 3600) * 0.0125
        hms, dmy = utc.strftime("%H%M%S.000"), utc.strftime("%d%m%y")
        rmc = f"GPRMC,{hms},A,{lat:09.4f},N,{lon:010.4f},W,048.6,145.0,{dmy},,,A"
        gga = f"GPGGA,{hms},{lat:09.4f},N,{lon:010.4f},W,1,08,1.0,{30 + i % 7:.1f},M,47.0,M,,0000"
        vtg = "GPVTG,145.0,T,,M,048.6,N,090.0,K,A"
        lines += [prefix + _sentence(rmc), prefix + _sentence(vtg), prefix + _sentence(gga)]
    return ("\n".join(lines) + "\n").encode()


def synthetic_3gf(seconds: int) -> bytes:
    """``seconds`` of 10 Hz ``.3gf`` records (about 1 g down), ending with the end mark."""
    records = b"".join(
        struct.pack(">Ihhh", i * 100, 128 + (i % 5), -3 + i % 7, 2 - i % 5)
        for i in range(seconds * 10)
    )
    return records + b"\xff\xff\xff\xff" + bytes(6)
