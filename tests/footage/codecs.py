"""Sample entries (stsd) for the generated tracks, and the codec headers they carry.

The H.264 and H.265 decoder configurations are real: they were produced on
this machine by ffmpeg (libx264 High profile 1920x1080 and libx265 Main
3840x2160, 30000/1001 fps, ``-f lavfi testsrc``), read from the resulting
``avcC``/``hvcC`` boxes; the x265 SEI (an options string) was dropped from
``hvcC``, leaving its VPS, SPS and PPS arrays. With them ffprobe reports the
right codec and size without decoding a frame, which matters because the
frames themselves are holes.
"""

from __future__ import annotations

import struct

from tests.builders import box, full_box

# avcC for 1920x1080 H.264 High@4.0 (ffmpeg/libx264, see module docstring).
AVCC_1080 = bytes.fromhex(
    "01640028ffe1001967640028acd940780227e5c04400000fa40003a9803c60c65801000668ebe3cb22c0fdf8f800"
)

# hvcC for 3840x2160 H.265 Main (ffmpeg/libx265), SEI array removed.
HVCC_2160 = bytes.fromhex(
    "01016000000090000000000096f000fcfdf8f800000f03a00001001840010c01ffff"
    "016000000300900000030000030096959809a10001002a4201010160000003009000"
    "00030000030096a001e020021c596566924caf01680800001f480003a98040a20001"
    "00074401c172b46240"
)

# AAC-LC AudioSpecificConfig: object type 2, 48 kHz (index 3), 2 channels.
AAC_LC_48K_STEREO = bytes((0x11, 0x90))
# AAC-LC, 32 kHz (index 5), 1 channel: a typical dashcam microphone.
AAC_LC_32K_MONO = bytes((0x12, 0x88))


def _visual_entry(kind: bytes, width: int, height: int, compressor: str, config: bytes) -> bytes:
    name = compressor.encode("latin-1")[:31]
    return box(
        kind,
        b"\0" * 6
        + struct.pack(">H", 1)  # data reference index
        + b"\0" * 16  # pre_defined, reserved, pre_defined[3]
        + struct.pack(">HH", width, height)
        + struct.pack(">II", 0x00480000, 0x00480000)  # 72 dpi
        + b"\0" * 4
        + struct.pack(">H", 1)  # frame count
        + bytes([len(name)])
        + name.ljust(31, b"\0")
        + struct.pack(">Hh", 0x18, -1)  # depth 24, pre_defined -1
        + config
        # colr nclx BT.709, as karma.mp4 carries.
        + box(b"colr", b"nclx" + struct.pack(">HHHB", 1, 1, 1, 0)),
    )


def avc1_entry(
    width: int = 1920, height: int = 1080, compressor: str = "GoPro AVC encoder"
) -> bytes:
    """An avc1 sample entry with a real 1080p avcC (its SPS says 1920x1080)."""
    return _visual_entry(b"avc1", width, height, compressor, box(b"avcC", AVCC_1080))


def hvc1_entry(
    width: int = 3840, height: int = 2160, compressor: str = "GoPro H.265 encoder"
) -> bytes:
    """An hvc1 sample entry with a real 2160p hvcC."""
    return _visual_entry(b"hvc1", width, height, compressor, box(b"hvcC", HVCC_2160))


def _descriptor(tag: int, payload: bytes) -> bytes:
    """An MPEG-4 descriptor (ISO 14496-1) with a one-byte length (payload < 128)."""
    assert len(payload) < 0x80
    return bytes((tag, len(payload))) + payload


def mp4a_entry(
    *,
    sample_rate: int = 48_000,
    channels: int = 2,
    bitrate: int = 189_000,
    config: bytes = AAC_LC_48K_STEREO,
) -> bytes:
    """An mp4a sample entry with its esds (AAC-LC)."""
    decoder_config = _descriptor(
        0x04,
        bytes((0x40, 0x15))  # object type AAC, stream type audio (5 << 2 | 1)
        + (1536).to_bytes(3, "big")  # buffer size
        + struct.pack(">II", bitrate, bitrate)
        + _descriptor(0x05, config),
    )
    es = _descriptor(0x03, struct.pack(">HB", 1, 0) + decoder_config + _descriptor(0x06, b"\x02"))
    return box(
        b"mp4a",
        b"\0" * 6
        + struct.pack(">H", 1)
        + b"\0" * 8  # version, revision, vendor
        + struct.pack(">HHhH", channels, 16, -2, 0)  # karma.mp4: compression id 0xfffe
        + struct.pack(">I", sample_rate << 16)
        + full_box(b"esds", 0, 0, es),
    )


def tmcd_entry(timescale: int, frame_duration: int, frames_per_second: int) -> bytes:
    """A QuickTime timecode sample entry (as karma.mp4's 'GoPro TCD' track)."""
    return box(
        b"tmcd",
        b"\0" * 6
        + struct.pack(">H", 1)
        + struct.pack(">IIIIBB", 0, 0, timescale, frame_duration, frames_per_second, 0),
    )


def gpmd_entry() -> bytes:
    """The GPMF sample entry: 20 bytes, as karma.mp4 and every HERO since has it."""
    return box(b"gpmd", b"\0" * 6 + struct.pack(">HI", 1, 0))


def fdsc_entry() -> bytes:
    """The 'SOS' file-repair sample entry of HERO4/5 (karma.mp4: 18 bytes)."""
    return box(b"fdsc", b"\0" * 6 + struct.pack(">HH", 1, 1))
