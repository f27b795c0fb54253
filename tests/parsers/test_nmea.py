"""NMEA logs and sentences: RMC/GGA, checksums, sidecars merged into a clip's track."""

from __future__ import annotations

import functools
import io

import pytest

from telemetryfs.parsers.encodings import nmea
from telemetryfs.parsers.errors import UnsupportedError
from telemetryfs.parsers.formats import nmea_log
from telemetryfs.parsers.model import GpsSample, Stream, Telemetry


def sentence(body: str) -> str:
    """``$body*hh`` with the right checksum (NMEA 0183: XOR of the characters)."""
    checksum = functools.reduce(lambda a, c: a ^ ord(c), body, 0)
    return f"${body}*{checksum:02X}\r\n"


RMC1 = sentence("GPRMC,123519.00,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W,A")
GGA1 = sentence("GPGGA,123519.00,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,")
RMC2 = sentence("GNRMC,123520.00,A,4807.040,N,01131.002,E,022.5,084.5,230394,,,A")
VOID = sentence("GPRMC,123521.00,V,,,,,,,230394,,,N")


def extract(text: str, name: str = "") -> Telemetry:
    return nmea_log.extract(io.BytesIO(text.encode()), name=name)


def test_rmc_and_gga_of_the_same_second_make_one_sample() -> None:
    t = extract(RMC1 + GGA1 + RMC2)
    assert len(t.gps) == 2
    first = t.gps[0]
    assert first.utc == 764426119.0  # 1994-03-23 12:35:19 UTC
    assert first.lat == pytest.approx(48 + 7.038 / 60)
    assert first.lon == pytest.approx(11 + 31.0 / 60)
    assert first.speed_2d == pytest.approx(22.4 * 1852 / 3600)
    assert first.course == pytest.approx(84.4)
    assert first.ele == pytest.approx(545.4)
    assert first.dop == pytest.approx(0.9)
    assert first.fix == 3
    assert t.gps[1].fix == 2  # RMC alone: a fix, dimension unknown


def test_gga_first_then_rmc_still_pairs() -> None:
    t = extract(GGA1 + RMC1)
    assert len(t.gps) == 1
    assert t.gps[0].ele == pytest.approx(545.4)
    assert t.gps[0].utc == 764426119.0


def test_void_status_stays_in_the_csv_without_fix() -> None:
    t = extract(RMC1 + VOID)
    assert [s.valid for s in t.gps] == [True, False]
    assert t.gps[1].fix == 0
    assert t.gps[1].lat is None


def test_one_bad_checksum_drops_that_sentence() -> None:
    bad = RMC2.replace("4807.040", "4807.940")  # a flipped digit, checksum unchanged
    t = extract(RMC1 + bad + sentence("GPRMC,123522.00,A,4807.044,N,01131.006,E,1,1,230394,,,A"))
    assert len(t.gps) == 2
    assert any("wrong checksum skipped" in w.reason for w in t.warnings)


def test_checksums_wrong_throughout_are_a_writer_quirk() -> None:
    lines = [RMC1, RMC2]
    broken = "".join(line.replace("*", "*F") for line in lines)  # every checksum wrong
    t = extract(broken)
    assert len(t.gps) == 2
    assert any("wrong throughout" in w.reason for w in t.warnings)


def test_sentence_without_checksum_is_accepted() -> None:
    t = extract("$GPRMC,123519,A,4807.038,S,01131.000,W,0,0,230394,,\n")
    assert (t.gps[0].lat, t.gps[0].lon) == (pytest.approx(-48.1173), pytest.approx(-11.516667))


def test_gsensor_lines_become_columns_of_the_previous_sample() -> None:
    t = extract(RMC1 + "$GSENSOR,1,-2,976\r\n" + RMC2)
    names = t.extra_columns
    first = dict(zip(names, t.gps[0].extra, strict=True))
    assert (first["gsensor_x"], first["gsensor_y"], first["gsensor_z"]) == (1, -2, 976)
    assert dict(zip(names, t.gps[1].extra, strict=True))["gsensor_x"] is None


def test_text_without_sentences_is_unsupported() -> None:
    with pytest.raises(UnsupportedError):
        extract("hello\nworld\n")


def test_long_lines_and_binary_noise_are_skipped() -> None:
    t = extract("x" * 5000 + "\n" + "\0\xff" * 100 + "\n" + RMC1)
    assert len(t.gps) == 1


def test_log_larger_than_one_read_chunk() -> None:
    lines = [
        sentence(f"GPRMC,{h:02d}{m:02d}00.00,A,4807.038,N,01131.000,E,1,1,230394,,,A")
        for h in range(24)
        for m in range(60)
    ]
    text = "".join(lines) * 9  # about 1.1 MB
    t = extract(text)
    assert len(t.gps) == len(lines) * 9


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"$GPRMC,1", True),
        (b"\xef\xbb\xbf\r\n$GNGGA,1", True),
        (b"RIFF", False),
        (b"$GSENSOR,1", False),
    ],
)
def test_looks_like_nmea(head: bytes, expected: bool) -> None:
    assert nmea.looks_like_nmea(head) is expected


def _video(samples: tuple[GpsSample, ...] = ()) -> Telemetry:
    streams = (Stream("gps", "freeGPS", None, "x", (), len(samples)),) if samples else ()
    return Telemetry(format="novatek-mp4", camera="cam", gps=samples, streams=streams)


def test_sidecar_gives_a_video_without_gps_its_track() -> None:
    side = extract(RMC1 + RMC2)
    merged = nmea_log.merge(_video(), side)
    assert merged.format == "novatek-mp4"
    assert merged.camera == "cam"
    assert merged.gps == side.gps
    assert merged.info["gps_source"] == "sidecar"
    assert merged.streams[-1].sample_count == 2


def test_sidecar_merges_with_the_video_track_by_time() -> None:
    side = extract(RMC1 + RMC2)
    own = GpsSample(utc=764426119.0, video_time=0.0, lat=1.0, lon=2.0)
    later = GpsSample(utc=764426125.0, video_time=6.0, lat=1.1, lon=2.1)
    merged = nmea_log.merge(_video((own, later)), side)
    assert [s.utc for s in merged.gps] == [764426119.0, 764426120.0, 764426125.0]
    assert merged.gps[0].lat == 1.0  # the video's valid sample wins
    assert merged.info["gps_source"] == "video+sidecar"
    assert all(len(s.extra) == len(merged.extra_columns) for s in merged.gps)


def test_merge_without_video() -> None:
    side = extract(RMC1)
    assert nmea_log.merge(None, side).gps == side.gps
