"""Telemetry builders for the renderer tests (tiny hand-checked tracks, long realistic
ones, seeded awkward ones) and the lookup of the outside tools those tests run."""

from __future__ import annotations

import math
import random
import shutil
import xml.etree.ElementTree as ET

import pytest

from telemetryfs.parsers.model import (
    FIX_2D,
    FIX_3D,
    FIX_NONE,
    Chunk,
    Extent,
    GpsSample,
    ParseWarning,
    Stream,
    Telemetry,
)


def require_tool(name: str) -> str:
    """The path of an outside checker; a missing one FAILS the test (scripts/setup installs it)."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: the renderer checks need it (see scripts/setup)")
    return path


# 2017-04-17T17:31:03Z, the first GPSU of gpmf-parser's hero5.raw.
T0 = 1_492_450_263.0


def three_points() -> Telemetry:
    """A 3-point GoPro-like track at 18 Hz: the golden tests write its outputs by hand."""
    return Telemetry(
        format="gopro-mp4",
        camera="HERO5 Black",
        firmware="HD5.02.01.51.00",
        gps_stream="GPS5",
        extra_columns=("gpsp",),
        gps=(
            GpsSample(
                utc=T0,
                video_time=0.0,
                lat=33.1264969,
                lon=-117.3273542,
                ele=-20.184,
                speed_2d=0.167,
                speed_3d=0.19,
                course=None,
                fix=FIX_3D,
                dop=6.06,
                extra=(606,),
            ),
            GpsSample(
                utc=T0 + 0.055,
                video_time=0.055,
                lat=33.1264969,
                lon=-117.3273541,
                ele=-20.146,
                speed_2d=0.2,
                speed_3d=0.25,
                course=271.5,
                fix=FIX_3D,
                dop=6.06,
                extra=(606,),
            ),
            GpsSample(
                utc=T0 + 0.111,
                video_time=0.111,
                lat=33.126497,
                lon=-117.327354,
                ele=-20.1,
                speed_2d=0.0,
                speed_3d=0.0,
                course=0.0,
                fix=FIX_2D,
                dop=1.0,
                extra=(100,),
            ),
        ),
        streams=(
            Stream(
                name="ACCL",
                fourcc="ACCL",
                device="Camera",
                label="Accelerometer",
                columns=("z_mps2", "x_mps2", "y_mps2"),
                sample_count=4,
                chunks=(Chunk(Extent(100, 24), count=4, start=0.0, duration=0.02),),
                codec=("ACCL", "s", 3),
            ),
        ),
        duration=1.001,
        creation_time=T0 - 1,
        info={"device_name": "Camera", "model": "HERO5 Black"},
        warnings=(ParseWarning(1234, "GPSU: malformed timestamp"),),
    )


def realistic_track(n: int, *, seed: int = 1, course: bool = False) -> Telemetry:
    """An 18 Hz GoPro-like drive: smooth motion, DOP per second, a tunnel gap and a lost fix.

    Args:
        n: number of samples (65,000 is one hour at 18 Hz).
        seed: random seed, so the track is the same on every run.
        course: also fill ``course`` (GoPro's GPS5 has none; dashcams do).
    """
    rng = random.Random(seed)
    samples = []
    lat, lon, ele, heading = 45.5, -122.6, 50.0, 30.0
    for i in range(n):
        second = i // 18
        speed = 12.0 + 5.0 * math.sin(i / 900.0) + rng.uniform(-0.2, 0.2)
        heading = (heading + rng.uniform(-2.0, 2.0)) % 360.0
        step = speed / 18.0 / 111_000.0
        lat += step * math.cos(math.radians(heading))
        lon += step * math.sin(math.radians(heading)) / math.cos(math.radians(lat))
        ele += rng.uniform(-0.05, 0.05)
        lost = 1000 <= i < 1018  # one second with no fix
        tunnel = 30.0 if i >= 2000 else 0.0  # a 30 s jump in time
        samples.append(
            GpsSample(
                utc=T0 + i / 18.0 + tunnel,
                video_time=i / 18.0 + tunnel,
                lat=lat,
                lon=lon,
                ele=ele,
                speed_2d=speed,
                speed_3d=speed * 1.01,
                course=heading if course else None,
                fix=FIX_NONE if lost else FIX_3D,
                dop=1.0 + (second % 7) / 10.0,
                valid=not lost,
                extra=(100 + second % 7 * 10,),
            )
        )
    return Telemetry(
        format="gopro-mp4",
        camera="HERO8 Black",
        gps_stream="GPS5",
        extra_columns=("gpsp",),
        gps=tuple(samples),
        duration=n / 18.0,
    )


def edge_track() -> Telemetry:
    """Four samples that exercise the segment rules and missing values (golden tests).

    A valid fix; a lost fix; a valid fix with no UTC and no elevation; a valid
    fix 60 s later (a time jump). So three segments of one point each, and the
    CSV still has all four rows.
    """
    return Telemetry(
        format="novatek",
        camera=None,
        gps=(
            GpsSample(
                utc=T0,
                video_time=0.0,
                lat=-33.5,
                lon=151.25,
                ele=10.0,
                speed_2d=5.0,
                course=90.0,
                fix=FIX_3D,
                dop=0.9,
            ),
            GpsSample(utc=T0 + 1, video_time=1.0, lat=None, lon=None, fix=FIX_NONE, valid=False),
            GpsSample(
                utc=None,
                video_time=2.0,
                lat=-33.50001,
                lon=151.25002,
                speed_2d=None,
                course=None,
                fix=None,
                dop=None,
            ),
            GpsSample(
                utc=T0 + 62.5,
                video_time=62.0,
                lat=-33.6,
                lon=151.3,
                ele=12.5,
                speed_2d=7.25,
                course=-90.0,
                fix=FIX_2D,
                dop=2.0,
            ),
        ),
    )


def random_track(seed: int, n: int = 40) -> Telemetry:
    """A seeded random track full of awkward values, for the outside-tool checks."""
    rng = random.Random(seed)

    def maybe(value: float) -> float | None:
        return None if rng.random() < 0.15 else value

    samples = []
    t = T0 + rng.uniform(-1e8, 1e8)
    for i in range(n):
        t += rng.choice([0.055, 0.055, 1.0, 7.0, -3.0])
        samples.append(
            GpsSample(
                utc=maybe(t),
                video_time=maybe(i * 0.055),
                lat=rng.choice([0.0, -0.0, 1e-9, -89.9999999, rng.uniform(-90, 90)]),
                lon=rng.choice([0.0, 179.99999999, -180.0, rng.uniform(-180, 180)]),
                ele=maybe(rng.choice([0.0, -0.0004, 8848.86, rng.uniform(-500, 9000)])),
                speed_2d=maybe(rng.choice([0.0, -1.0, rng.uniform(0, 80)])),
                speed_3d=maybe(rng.uniform(0, 80)),
                course=maybe(rng.choice([359.999, -10.0, 720.5, rng.uniform(0, 360)])),
                fix=rng.choice([None, FIX_NONE, FIX_2D, FIX_3D, 1]),
                dop=maybe(rng.choice([1, 0.5, 99.99, rng.uniform(0, 20)])),
                valid=rng.random() > 0.1,
                extra=(rng.choice([None, 1, 2.5, 'a,"b"', "line\nbreak"]),),
            )
        )
    return Telemetry(
        format=rng.choice(["gopro-mp4", "novatek", "gpmf"]),
        camera=rng.choice([None, "HERO <&> 8", "Viofo A119"]),
        extra_columns=("note",),
        gps=tuple(samples),
    )


def same_xml(a: bytes | str, b: bytes | str) -> bool:
    """The same document, whitespace between elements aside (C14N 2.0)."""

    def canonical(doc: bytes | str) -> str:
        text = doc.decode("utf-8") if isinstance(doc, bytes) else doc
        # canonicalize() takes no XML declaration.
        return ET.canonicalize(text.split("?>", 1)[1], strip_text=True)

    return canonical(a) == canonical(b)
