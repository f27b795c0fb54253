"""GPMF (GoPro Metadata Format) writing: camera profiles, payload streams, udta.

Spec: ``shared/seeds/gpmf-format-readme.txt`` (gopro/gpmf-parser README): KLV
with a FourCC key, a type char, an 8-bit struct size and a 16-bit repeat, all
big-endian, every KLV padded to 32 bits; ``DEVC`` nests ``STRM``s whose sticky
metadata (STNM, SIUN/UNIT, SCAL, TYPE) precede the data they qualify.

The stream order and field spellings copy real payloads:
- HERO5 (``gpmf-parser-hero5.raw``): DVNM "Camera", TICK instead of STMP,
  stream names NUL-terminated, GPS: TSMP TICK GPSF GPSU GPSP STNM UNIT SCAL GPS5;
- HERO8 (first payload of ``hero8-trimmed.mp4``): DVNM "HERO8 Black", STMP
  (J, microseconds) then TSMP in every stream, ACCL: STNM ORIN SIUN SCAL TMPC,
  GPS: STNM GPSF GPSU GPSP UNIT SCAL GPS5, strings as ``c 1 N``;
- HERO11 (``gopro-telemetry-hero11.raw``): strings as ``c N 1``, GPS5 at 10 Hz
  with GPSA "MSLV", GPS9 stream: STNM UNIT TYPE "lllllllSS" SCAL GPSA GPS9;
- HERO13 (``gopro2gpx-hero13.bin``): GPS9 only, no GPS5.
- udta ``GPMF`` box (``gopro-telemetry-mp4header.raw``, a HERO7): DEVC
  "Video Global Settings" with FMWR, LINF, CINF, CASN, MINF (model), MUID ...
- Fusion (``gpmf-parser-Fusion.raw``): DVNM "Fusion", TICK in the DEVC and
  the GPS stream laid out as HERO5's (TSMP TICK GPSF GPSU GPSP STNM UNIT SCAL
  GPS5, NUL-terminated names), gyro at 3.2 kHz (3300 GYRO per payload).

Session identity (:class:`Identity`): which udta field the chapters of one
recording share depends on the generation. gopro/gpmf-parser issue #148:
HERO11 chapters share MUID, HERO7 chapters share GUMI while only the first
half of their MUID matches. exiftool ``GoPro.pm`` (13.18+): CPID "seen
'1194885996 3387225026 733916448 2433577768' (fmt L)" and CPIN "seen: 1"
(ChapterNumber); gpmf-parser's README: CPID "Capture Identifier", CPIN
"Capture number in group". Measured on gpmf-parser's ``max-heromode.mp4``
and the HERO7 ``gopro-telemetry-mp4header.raw``: CAME (exiftool:
SerialNumberHash) = CINF = the first 16 bytes of the udta MUID box = MD5 of
the serial number (CASN), so that half names the camera; the MUID box's
second half starts with the year (u16: 07e3 on the 2019 MAX, 07e1 on the
2017 karma.mp4), then 8 bytes, then zeros; the GPMF MUID (``L`` x 8) is
only the first half read as four little-endian u32, then four zeros: it
names the camera, never the recording.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import random
import struct
import time
from dataclasses import dataclass
from functools import lru_cache

from tests.builders import box, klv, klv_nest

# GPS5 SCAL (gpmf-parser README, all HERO5..HERO12 samples): lat, lon 1e7,
# altitude mm, 2D speed mm/s, 3D speed cm/s.
GPS5_SCALE = (10_000_000, 10_000_000, 1000, 1000, 100)
# GPS9 SCAL (HERO11+ samples): + days since 2000 (1), seconds since midnight
# in ms (1000), DOP x100, fix (1).
GPS9_SCALE = (10_000_000, 10_000_000, 1000, 1000, 100, 1, 1000, 100, 1)
GPS9_TYPE = b"lllllllSS"
GPS5_UNITS = b"degdegm\0\0m/sm/s"  # 3 chars x 5 (HERO5..HERO11)
GPS9_UNITS = b"degdegm\0\0m/sm/s\0\0\0s\0\0\0\0\0\0\0\0"  # 3 chars x 9 (HERO11, HERO13)
GPS5_NAME = "GPS (Lat., Long., Alt., 2D speed, 3D speed)"
GPS9_NAME = "GPS (Lat., Long., Alt., 2D, 3D, days, secs, DOP, fix)"

# Altitude reference of HERO11+ GPS streams: mean sea level.
GPSA_MSL = b"MSLV"

# GPSP when there is no fix: 9999 (99.99 m), as the HERO8 sample shows with GPSF 0.
NO_FIX_DOP = 9999


@dataclass(frozen=True, slots=True)
class CameraProfile:
    """What differs between GoPro generations, as far as the generator cares."""

    model: str
    firmware: str
    device_name: str  # DVNM inside each payload
    gps: str  # default GPS streams: "gps5", "gps9" or "both"
    gps5_hz: float
    gps9_hz: float
    accl_hz: float
    gyro_hz: float
    accl_scale: int  # SCAL of ACCL (LSB per m/s²)
    gyro_scale: int  # SCAL of GYRO (LSB per rad/s)
    stmp: bool  # STMP per stream (HERO6+); HERO5 has TICK instead
    compact_strings: bool  # 'c' KLVs as size N x 1 (HERO11+) instead of 1 x N
    udta_gpmf: bool  # a GPMF box in moov/udta (HERO6+)
    lens: str
    serial_prefix: str
    file_prefix: str  # chapter file names: "GX"/"GH" HERO6+, "GP" HERO5, "GF" Fusion (GPFR/GPBK)
    session_key: str  # the udta field a recording's chapters share: "GUMI", "MUID" or "CPID"


PROFILES = {
    p.model: p
    for p in (
        CameraProfile(
            model="HERO5 Black",
            firmware="HD5.02.02.70.00",
            device_name="Camera",
            gps="gps5",
            gps5_hz=18.0,
            gps9_hz=0.0,
            accl_hz=200.0,
            gyro_hz=400.0,
            accl_scale=418,
            gyro_scale=3755,
            stmp=False,
            compact_strings=False,
            udta_gpmf=False,
            lens="LAE6101112400243",
            serial_prefix="C3131125",
            file_prefix="GP",
            session_key="GUMI",  # assumed as HERO7 (karma.mp4 has GUMI; #148 has no HERO5 finding)
        ),
        CameraProfile(
            model="HERO8 Black",
            firmware="HD8.01.02.51.00",
            device_name="HERO8 Black",
            gps="gps5",
            gps5_hz=18.0,
            gps9_hz=0.0,
            accl_hz=200.0,
            gyro_hz=200.0,
            accl_scale=417,
            gyro_scale=939,
            stmp=True,
            compact_strings=False,
            udta_gpmf=True,
            lens="LAJ8101436601511",
            serial_prefix="C3331325",
            file_prefix="GX",
            session_key="GUMI",  # HERO7..9 (#148)
        ),
        CameraProfile(
            model="HERO11 Black",
            firmware="H22.01.02.32.00",
            device_name="HERO11 Black",
            gps="both",
            gps5_hz=10.0,
            gps9_hz=10.0,
            accl_hz=200.0,
            gyro_hz=200.0,
            accl_scale=417,
            gyro_scale=939,
            stmp=True,
            compact_strings=True,
            udta_gpmf=True,
            lens="LAJ9110720000145",
            serial_prefix="C3471325",
            file_prefix="GX",
            session_key="MUID",  # HERO10..12 (#148)
        ),
        CameraProfile(
            model="HERO13 Black",
            firmware="H24.01.02.02.00",
            device_name="HERO13 Black",
            gps="gps9",
            gps5_hz=0.0,
            gps9_hz=10.0,
            accl_hz=200.0,
            gyro_hz=200.0,
            accl_scale=417,
            gyro_scale=939,
            stmp=True,
            compact_strings=True,
            udta_gpmf=True,
            lens="LAK1240417000321",
            serial_prefix="C3531350",
            file_prefix="GX",
            session_key="CPID",
        ),
        # Minimal: only what telemetry readers see differs from HERO5 (DVNM,
        # 3.2 kHz gyro). The real ACCL is float ('f', SCAL 1); ours stays int16.
        # The firmware string is made up in GoPro's format.
        CameraProfile(
            model="Fusion",
            firmware="FS1.04.02.80.00",
            device_name="Fusion",
            gps="gps5",
            gps5_hz=18.0,
            gps9_hz=0.0,
            accl_hz=200.0,
            gyro_hz=3200.0,
            accl_scale=418,
            gyro_scale=939,
            stmp=False,
            compact_strings=False,
            udta_gpmf=True,
            lens="LAE6101112400243",
            serial_prefix="C3161324",
            file_prefix="GF",
            session_key="GUMI",  # assumed: HERO6-era firmware
        ),
    )
}


def profile_for(model: str) -> CameraProfile:
    """The profile of ``model``, or HERO8's under that name for unknown models."""
    known = PROFILES.get(model)
    if known is not None:
        return known
    return dataclasses.replace(PROFILES["HERO8 Black"], model=model, device_name=model)


# -- KLV helpers ------------------------------------------------------------------


def string_klv(key: bytes, text: str | bytes, *, compact: bool) -> bytes:
    """A 'c' KLV: ``c 1 N`` (HERO5..HERO10) or ``c N 1`` (HERO11+)."""
    raw = text.encode("latin-1") if isinstance(text, str) else text
    if compact:
        return klv(key, b"c", len(raw), 1, raw)
    return klv(key, b"c", 1, len(raw), raw)


def u32(key: bytes, value: int) -> bytes:
    return klv(key, b"L", 4, 1, struct.pack(">I", value))


def gpsu_string(posix_ms: int) -> bytes:
    """GPSU 'U' value: ``yymmddhhmmss.sss`` in UTC (gpmf-parser README)."""
    secs, ms = divmod(posix_ms, 1000)
    t = time.gmtime(secs)
    return (
        f"{t.tm_year % 100:02d}{t.tm_mon:02d}{t.tm_mday:02d}"
        f"{t.tm_hour:02d}{t.tm_min:02d}{t.tm_sec:02d}.{ms:03d}"
    ).encode()


@lru_cache(maxsize=16)
def imu_table(seed: int, kind: str, scale: int, length: int = 8192) -> bytes:
    """Big-endian int16 x3 samples of a plausible IMU signal, cut into windows per payload.

    ACCL: gravity on the first axis (GoPro's Z, camera upright) plus road
    vibration; GYRO: small rotations. Values are in sensor LSB (x SCAL).
    """
    rng = random.Random(f"{kind}-{seed}")
    values: list[int] = []
    for j in range(length):
        sway = math.sin(j / 37.0)
        if kind == "ACCL":
            axes = (
                9.81 + 0.35 * sway + rng.gauss(0, 0.25),
                0.4 * math.sin(j / 91.0) + rng.gauss(0, 0.3),
                0.2 * math.cos(j / 53.0) + rng.gauss(0, 0.3),
            )
        else:
            axes = (
                0.05 * sway + rng.gauss(0, 0.02),
                0.03 * math.sin(j / 29.0) + rng.gauss(0, 0.02),
                0.02 * math.cos(j / 71.0) + rng.gauss(0, 0.02),
            )
        values.extend(max(-32768, min(32767, round(a * scale))) for a in axes)
    return struct.pack(f">{len(values)}h", *values)


def imu_window(table: bytes, count: int, key: int) -> bytes:
    """``count`` samples (6 bytes each) of ``table`` starting at a key-dependent place."""
    total = len(table) // 6
    start = (key * 977) % (total - count) if count < total else 0
    return table[start * 6 : (start + count) * 6]


def imu_stream(
    profile: CameraProfile,
    key: bytes,
    *,
    samples: bytes,
    count: int,
    tsmp: int,
    stmp_us: int,
    tick_ms: int,
    temperature: float,
) -> bytes:
    """One ACCL or GYRO STRM, fields in the order of the profile's generation."""
    compact = profile.compact_strings
    accl = key == b"ACCL"
    scale = profile.accl_scale if accl else profile.gyro_scale
    head: list[bytes] = []
    if profile.stmp:
        head.append(klv(b"STMP", b"J", 8, 1, struct.pack(">Q", stmp_us)))
        head.append(u32(b"TSMP", tsmp))
        head.append(string_klv(b"STNM", "Accelerometer" if accl else "Gyroscope", compact=compact))
        head.append(string_klv(b"ORIN", "ZXY", compact=compact))
        head.append(string_klv(b"SIUN", b"m/s\xb2" if accl else b"rad/s", compact=compact))
        head.append(klv(b"SCAL", b"s", 2, 1, struct.pack(">h", scale)))
        head.append(klv(b"TMPC", b"f", 4, 1, struct.pack(">f", temperature)))
    else:
        name = "Accelerometer (up/down, right/left, forward/back)" if accl else "Gyroscope (z,x,y)"
        head.append(u32(b"TSMP", tsmp))
        head.append(u32(b"TICK", tick_ms))
        head.append(string_klv(b"STNM", name + "\0", compact=compact))
        head.append(klv(b"TMPC", b"f", 4, 1, struct.pack(">f", temperature)))
        head.append(string_klv(b"SIUN", b"m/s\xb2" if accl else b"rad/s", compact=compact))
        head.append(klv(b"SCAL", b"s", 2, 1, struct.pack(">h", scale)))
    return klv_nest(b"STRM", *head, klv(key, b"s", 6, count, samples))


def gps5_stream(
    profile: CameraProfile,
    *,
    records: list[tuple[int, int, int, int, int]],
    tsmp: int,
    stmp_us: int,
    tick_ms: int,
    fix: int,
    dop: int,
    gpsu: bytes,
) -> bytes:
    """One GPS5 STRM: GPSF/GPSU/GPSP once per payload, then the 18 Hz (or 10 Hz) samples."""
    compact = profile.compact_strings
    flat = [v for r in records for v in r]
    data = klv(b"GPS5", b"l", 20, len(records), struct.pack(f">{len(flat)}l", *flat))
    units = klv(b"UNIT", b"c", 3, 5, GPS5_UNITS)
    scal = klv(b"SCAL", b"l", 4, 5, struct.pack(">5l", *GPS5_SCALE))
    gpsf = u32(b"GPSF", fix)
    gpsu_klv = klv(b"GPSU", b"U", 16, 1, gpsu)
    gpsp = klv(b"GPSP", b"S", 2, 1, struct.pack(">H", dop))
    if not profile.stmp:
        name = string_klv(b"STNM", GPS5_NAME + "\0", compact=compact)
        return klv_nest(
            b"STRM",
            u32(b"TSMP", tsmp),
            u32(b"TICK", tick_ms),
            gpsf,
            gpsu_klv,
            gpsp,
            name,
            units,
            scal,
            data,
        )
    parts = [
        klv(b"STMP", b"J", 8, 1, struct.pack(">Q", stmp_us)),
        u32(b"TSMP", tsmp),
        string_klv(b"STNM", GPS5_NAME, compact=compact),
        gpsf,
        gpsu_klv,
        gpsp,
        units,
        scal,
    ]
    if profile.gps9_hz:
        parts.append(klv(b"GPSA", b"F", 4, 1, GPSA_MSL))
    return klv_nest(b"STRM", *parts, data)


def gps9_stream(
    profile: CameraProfile,
    *,
    records: list[tuple[int, int, int, int, int, int, int, int, int]],
    tsmp: int,
    stmp_us: int,
) -> bytes:
    """One GPS9 STRM (HERO11+): per-sample time, DOP and fix in a 32-byte struct."""
    compact = profile.compact_strings
    body = b"".join(struct.pack(">lllllllHH", *r) for r in records)
    return klv_nest(
        b"STRM",
        klv(b"STMP", b"J", 8, 1, struct.pack(">Q", stmp_us)),
        u32(b"TSMP", tsmp),
        string_klv(b"STNM", GPS9_NAME, compact=compact),
        klv(b"UNIT", b"c", 3, 9, GPS9_UNITS),
        string_klv(b"TYPE", GPS9_TYPE, compact=compact),
        klv(b"SCAL", b"l", 4, 9, struct.pack(">9l", *GPS9_SCALE)),
        klv(b"GPSA", b"F", 4, 1, GPSA_MSL),
        klv(b"GPS9", b"?", 32, len(records), body),
    )


def devc(profile: CameraProfile, *streams: bytes, tick_ms: int) -> bytes:
    """The payload's single DEVC: the camera itself (DVID 1)."""
    head = [
        u32(b"DVID", 1),
        string_klv(b"DVNM", profile.device_name, compact=profile.compact_strings),
    ]
    if not profile.stmp:
        head.append(u32(b"TICK", tick_ms))
    return klv_nest(b"DEVC", *head, *streams)


# -- moov/udta ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Identity:
    """The ids a clip's udta carries, drawn per camera, per recording and per file.

    Only the field of ``key`` is the recording's: every other id that may
    differ between chapters does, so a reader that joins chapters on the
    wrong field for the generation splits them. Where public material says
    nothing (GUMI on HERO10+, MUID on HERO13) the field is per file.
    """

    key: str  # "GUMI" (HERO5..9, Fusion), "MUID" (HERO10..12) or "CPID" (HERO13)
    camera: bytes  # 16 bytes: MD5 of the serial number (CAME, CINF, MUID's first half)
    session: bytes  # 32 bytes drawn per recording
    clip: bytes  # 32 bytes drawn per file
    chapter: int  # 1-based chapter number (CPIN)
    year: int  # of the recording's start: MUID's second half begins with it

    @property
    def media_uid(self) -> bytes:
        """The udta MUID box: camera hash, then year, 8 bytes (per recording on HERO10..12), zeros."""
        drawn = self.session if self.key == "MUID" else self.clip
        return self.camera + struct.pack(">H", self.year) + drawn[:8] + b"\0" * 6

    @property
    def gumi(self) -> bytes:
        """The udta GUMI box (16 bytes)."""
        return (self.session if self.key == "GUMI" else self.clip)[16:]

    @property
    def capture_id(self) -> bytes | None:
        """CPID (HERO13): four u32, shared by the chapters of one capture."""
        return self.session[:16] if self.key == "CPID" else None

    @property
    def shared(self) -> bytes:
        """The value the chapters of one recording have in common (GUMI, MUID or CPID)."""
        if self.key == "CPID":
            return self.session[:16]
        return self.gumi if self.key == "GUMI" else self.media_uid


def session_bytes(seed: int) -> bytes:
    """The 32 random bytes of the recording made with ``seed`` (its GUMI, MUID or CPID)."""
    return random.Random(f"session-{seed}").randbytes(32)


def camera_bytes(serial: str) -> bytes:
    """CAME / CINF / MUID's first half: the MD5 of the serial number (both samples agree)."""
    return hashlib.md5(serial.encode("latin-1")).digest()


def gpmf_muid(media_uid: bytes) -> bytes:
    """The settings' MUID (L x 8): the box's first 16 bytes as little-endian u32, then zeros."""
    return struct.pack(">8I", *struct.unpack("<4I", media_uid[:16]), 0, 0, 0, 0)


def udta(profile: CameraProfile, *, firmware: str, serial: str, identity: Identity) -> bytes:
    """The camera's udta boxes, in karma.mp4's order, plus a GPMF box for HERO6+ and Fusion."""
    media_uid = identity.media_uid
    # karma.mp4 (HERO5) has an all-zero CAME; later cameras write the serial's MD5.
    came = media_uid[:16] if profile.udta_gpmf else b"\0" * 16
    parts = [
        box(b"FIRM", firmware.encode()),
        box(b"LENS", profile.lens.encode().ljust(48, b"\0")),
        box(b"CAME", came),
        box(b"SETT", bytes.fromhex("e20000000000584100000000")),  # karma.mp4's settings word
        box(b"MUID", media_uid),
        box(b"HMMT", b"\0" * 404),  # highlight count 0 and empty slots (karma.mp4: 404 bytes)
        box(b"BCID", b"\0" * 36),
        box(b"GUMI", identity.gumi),
    ]
    if profile.udta_gpmf:
        compact = profile.compact_strings
        capture = []
        if identity.capture_id is not None:
            # CPID as exiftool saw it (L x 4); CPIN's type is not public: one u32 here.
            capture = [
                klv(b"CPID", b"L", 4, 4, identity.capture_id),
                u32(b"CPIN", identity.chapter),
            ]
        settings = klv_nest(
            b"STRM",
            string_klv(b"FMWR", firmware, compact=compact),
            string_klv(b"LINF", profile.lens + serial[-12:], compact=compact),
            klv(b"CINF", b"B", 1, 16, media_uid[:16]),
            string_klv(b"CASN", serial, compact=compact),
            string_klv(b"MINF", profile.model, compact=compact),
            klv(b"MUID", b"L", 4, 8, gpmf_muid(media_uid)),
            *capture,
            klv(b"CMOD", b"B", 1, 1, b"\x0c"),  # capture mode 12: video
            klv(b"MTYP", b"B", 1, 1, b"\x00"),  # media type 0: video
            string_klv(b"OREN", "U", compact=compact),
            string_klv(b"DZOM", "N", compact=compact),
            string_klv(b"VFOV", "W", compact=compact),
            string_klv(b"EISE", "Y", compact=compact),
            string_klv(b"EISA", "HS EIS", compact=compact),
            string_klv(b"AUDO", "AUTO", compact=compact),
            string_klv(b"PRTN", "N", compact=compact),
        )
        global_settings = klv_nest(
            b"DEVC",
            u32(b"DVID", 1),
            string_klv(b"DVNM", "Video Global Settings", compact=compact),
            settings,
        )
        parts.append(box(b"GPMF", global_settings))
    parts.append(box(b"free", b"\0" * 124))
    return box(b"udta", b"".join(parts))
