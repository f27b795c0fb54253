"""Vueroid clips built from the facts (parsers/formats/vueroid, dashcamigo's vueroid-txet):
a timed track (handler ``tvxt``, sample entry ``mp4s``) of 72-byte little-endian samples,
~20 a second, the camera's local clock in whole seconds at 0x44."""

from __future__ import annotations

import os
import struct

from tests.builders import box
from tests.footage import mp4write

RATE = 20  # samples a second


def _ddmm(degrees: float) -> float:
    whole = int(abs(degrees))
    return whole * 100 + (abs(degrees) - whole) * 60


def sample(clock: int, lat: float, lon: float, kmh: float) -> bytes:
    body = bytearray(72)
    struct.pack_into(
        "<3fBBHfffI",
        body,
        0x28,
        0.01,
        -0.02,
        0.98,
        int(lat >= 0),
        int(lon >= 0),
        55,
        kmh,
        _ddmm(lat),
        _ddmm(lon),
        clock,
    )
    return bytes(body)


def make_vueroid(path: str | os.PathLike[str], seconds: int, *, clock: int) -> None:
    """``seconds`` of samples at RATE Hz heading east from Seoul at ~40 km/h."""
    samples = [
        sample(clock + i // RATE, 37.55 + i * 1e-6, 126.97 + i * 1.5e-6, 40.0)
        for i in range(seconds * RATE)
    ]
    mp4write.write_timed_track(
        path,
        handler=b"tvxt",
        name="Vueroid",
        sample_entry=box(b"mp4s", bytes(6) + struct.pack(">H", 1)),
        samples=samples,
        sample_ms=1000 // RATE,
        brand=b"mp42",
    )
