"""Telemetry builders for the renderer tests: tiny hand-checked tracks and long realistic ones."""

from __future__ import annotations

import math
import random

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
