"""Thinkware F-series clips built from the facts (FORMAT-NOTES, dashcamigo's fixture notes):
a tx3g subtitle track (hdlr ``sbtl``) of ~10 Hz cues ``gsensori,<range>,<sens>,X,Y,Z;``,
an RMC without its ``$`` once a second (``GPRMC,...*cc.;``), then ``CAR,<obd fields>``.
The video is not written: the media are a few bytes, the cues are what is read."""

from __future__ import annotations

import os
import struct
from datetime import UTC, datetime

from tests.builders import box
from tests.footage import mp4write

CAR = b"CAR,0,0,0,0.0,0,0,0,0,0,0,0,0"


def _ddmm(value: float, positive: bytes, negative: bytes, degree_digits: int) -> bytes:
    hemisphere = positive if value >= 0 else negative
    value = abs(value)
    degrees = int(value)
    minutes = (value - degrees) * 60
    return f"{degrees:0{degree_digits}d}{minutes:07.4f}".encode() + b"," + hemisphere


def rmc(when: datetime, lat: float, lon: float, knots: float) -> bytes:
    """``GPRMC,...*cc`` as Thinkware writes it: no ``$``, checksum over the sentence."""
    body = b"GPRMC," + when.strftime("%H%M%S.00").encode() + b",A,"
    body += _ddmm(lat, b"N", b"S", 2) + b"," + _ddmm(lon, b"E", b"W", 3)
    body += f",{knots:.2f},90.00,".encode() + when.strftime("%d%m%y").encode() + b",,,A"
    checksum = 0
    for byte in body:
        checksum ^= byte
    return body + f"*{checksum:02X}".encode()


def cue(x: int, y: int, z: int, sentence: bytes | None) -> bytes:
    text = b"gsensori,4,512,%d,%d,%d;" % (x, y, z)
    if sentence is not None:
        text += sentence + b".;"
    return text + CAR


def make_thinkware(path: str | os.PathLike[str], seconds: int, *, start: datetime) -> None:
    """``seconds`` of 10 Hz cues, an RMC in every tenth, moving east at ~50 km/h."""
    samples = []
    for i in range(seconds * 10):
        sentence = None
        if i % 10 == 0:
            s = i // 10
            when = datetime.fromtimestamp(start.timestamp() + s, UTC)
            sentence = rmc(when, 37.5 + s * 1e-5, 127.0 + s * 1.3e-4, 27.0)
        text = cue(-120 + i % 7, 30 - i % 5, -6, sentence)
        samples.append(struct.pack(">H", len(text)) + text)
    mp4write.write_timed_track(
        path,
        handler=b"sbtl",
        name="SubtitleHandler",
        sample_entry=box(b"tx3g", bytes(6) + struct.pack(">H", 1) + bytes(38)),
        samples=samples,
        sample_ms=100,
        brand=b"mp42",
        created=mp4write.mac_time(start),
    )
