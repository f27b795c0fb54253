"""Tests of tests/footage/real_payloads.py: GoPro MP4s carrying a real camera's GPMF payloads.

Expected values come from the source files in shared/samples/gopro/gpmf/, read
here with a small KLV walker of the test's own (never the project's parsers,
never the generator's helpers), and from outside tools: ffmpeg extracts the
gpmd track, exiftool reads the GPS points.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import struct
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.footage.real_payloads import SOURCES, make_real_gopro, make_real_recording
from tests.paths import SAMPLES

START = datetime(2026, 4, 6, 14, 21, 22, tzinfo=UTC)
START_MS = int(START.timestamp()) * 1000
PAYLOAD_MS = 1001
FILES = {"hero7": "gopro2gpx-hero07.bin", "hero11": "gopro-telemetry-hero11.raw"}
DAYS_1970_2000 = 10_957

_IN_CI = bool(os.environ.get("CI"))
needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None and not _IN_CI, reason="ffmpeg not installed"
)
needs_exiftool = pytest.mark.skipif(
    shutil.which("exiftool") is None and not _IN_CI, reason="exiftool not installed"
)

# -- the test's own GPMF reading ---------------------------------------------------------

Item = tuple[bytes, str, int, int, int]  # key, type ("" nest), struct size, repeat, value offset


def klvs(data: bytes, start: int = 0, end: int | None = None) -> Iterator[Item]:
    end = len(data) if end is None else end
    while start + 8 <= end:
        key, kind, size, repeat = struct.unpack_from(">4scBH", data, start)
        yield key, kind.decode("latin-1").strip("\0"), size, repeat, start + 8
        start += 8 + (size * repeat + 3) // 4 * 4
    assert start == end, "KLVs do not fill their parent"


def split(track: bytes) -> list[bytes]:
    """The payloads of a raw track: one top-level DEVC each."""
    out = []
    for key, kind, size, repeat, value in klvs(track):
        assert (key, kind) == (b"DEVC", "")
        out.append(track[value - 8 : value + (size * repeat + 3) // 4 * 4])
    return out


def strms(payload: bytes) -> Iterator[list[Item]]:
    """Each STRM's KLVs (its data last)."""
    for _, _, size, repeat, value in klvs(payload):
        for key, _, s, r, v in klvs(payload, value, value + size * repeat):
            if key == b"STRM":
                yield list(klvs(payload, v, v + s * r))


def stream_set(payloads: list[bytes]) -> set[bytes]:
    return {strm[-1][0] for p in payloads for strm in strms(p)}


def gpsu_ms(raw: bytes) -> int:
    when = datetime.strptime(raw[:12].decode(), "%y%m%d%H%M%S").replace(tzinfo=UTC)
    return int(when.timestamp()) * 1000 + int(raw[13:16])


def gpsu_text(ms: int) -> bytes:
    when = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return when.strftime("%y%m%d%H%M%S").encode() + b".%03d" % (ms % 1000)


def gps9_rows(payload: bytes, strm: list[Item]) -> Iterator[tuple[int, int, int]]:
    """(offset of the days field, days, ms of day) of each GPS9 row; TYPE and SCAL as HERO11's."""
    sticky = {k[0]: k for k in strm}
    t = sticky[b"TYPE"]
    assert payload[t[4] : t[4] + t[2] * t[3]] == b"lllllllSS"
    s = sticky[b"SCAL"]
    assert struct.unpack_from(">9i", payload, s[4])[5:7] == (1, 1000)
    _, _, size, repeat, value = strm[-1]
    for row in range(value, value + size * repeat, size):
        days, ms = struct.unpack_from(">ii", payload, row + 20)
        yield row + 20, days, ms


def gps_times(payload: bytes) -> list[int]:
    """Every GPS time of a payload (GPSU, then GPS9 rows) as POSIX ms."""
    out = []
    for strm in strms(payload):
        out += [gpsu_ms(payload[k[4] : k[4] + 16]) for k in strm if k[0] == b"GPSU"]
        if strm[-1][0] == b"GPS9":
            out += [(DAYS_1970_2000 + d) * 86_400_000 + ms for _, d, ms in gps9_rows(payload, strm)]
    return out


def source(name: str) -> list[bytes]:
    return split((SAMPLES / "gopro" / "gpmf" / FILES[name]).read_bytes())


def expected(src: list[bytes], g: int) -> tuple[bytes, list[int]]:
    """Payload g of a recording at START: the source's with GPS time and STMP moved on.

    Also returns the TSMP value offsets, which the comparison leaves out (tested apart).
    """
    n = len(src)
    cycle, i = divmod(g, n)
    shift = START_MS - min(gps_times(src[0])) + cycle * n * PAYLOAD_MS
    buf = bytearray(src[i])
    tsmp = []
    for strm in strms(src[i]):
        for key, _, _, _, value in strm:
            if key == b"GPSU":
                buf[value : value + 16] = gpsu_text(gpsu_ms(src[i][value : value + 16]) + shift)
            elif key == b"STMP":
                (stmp,) = struct.unpack_from(">Q", buf, value)
                struct.pack_into(">Q", buf, value, stmp + cycle * n * PAYLOAD_MS * 1000)
            elif key == b"TSMP":
                tsmp.append(value)
        if strm[-1][0] == b"GPS9":
            for at, days, ms in gps9_rows(src[i], strm):
                total = (DAYS_1970_2000 + days) * 86_400_000 + ms + shift
                struct.pack_into(
                    ">ii", buf, at, total // 86_400_000 - DAYS_1970_2000, total % 86_400_000
                )
    return bytes(buf), tsmp


def masked(payload: bytes, offsets: list[int]) -> bytes:
    buf = bytearray(payload)
    for at in offsets:
        buf[at : at + 4] = b"\0" * 4
    return bytes(buf)


def tsmp_rows(payload: bytes) -> dict[bytes, tuple[int, int]]:
    """Data FourCC -> (TSMP, data repeat) of each stream of a payload."""
    out = {}
    for strm in strms(payload):
        for key, _, _, _, value in strm:
            if key == b"TSMP":
                out[strm[-1][0]] = (struct.unpack_from(">I", payload, value)[0], strm[-1][3])
    return out


# -- outside tools -----------------------------------------------------------------------


def gpmd_track(path: str) -> bytes:
    """The gpmd track as ffmpeg extracts it; its index found with ffprobe."""
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=index,codec_tag_string", "-of", "csv=p=0", path],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    index = next(int(i) for i, tag in (line.split(",") for line in probe.split()) if tag == "gpmd")
    out = path + ".gpmf"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", path, "-map", f"0:{index}", "-c", "copy", "-f", "data", out],
        check=True,
    )  # fmt: skip
    return Path(out).read_bytes()


def tail(path: str | os.PathLike[str], size: int = 200_000) -> bytes:
    """The end of a file (moov), without reading its sparse mdat."""
    with open(path, "rb") as f:
        f.seek(max(0, os.fstat(f.fileno()).st_size - size))
        return f.read()


def exiftool_docs(path: str, tag: str) -> list[str]:
    out = subprocess.run(
        ["exiftool", "-ee", "-n", "-G3", "-a", path], capture_output=True, text=True, check=True
    ).stdout
    pattern = re.compile(rf"^\[Doc\d+\]\s+{tag}\s+: (.*)$")
    return [m.group(1) for line in out.splitlines() if (m := pattern.match(line))]


# -- tests -------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=sorted(FILES))
def clip(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, str]:
    """(source name, path) of a 2-minute file: crosses a HERO7 cycle (97 s), ten HERO11 ones."""
    name = request.param
    path = tmp_path_factory.mktemp(name) / "GX010001.MP4"
    make_real_gopro(path, duration_s=120, source=name, start_utc=START)
    return name, os.fspath(path)


def test_sources_split_into_whole_payloads() -> None:
    for name, count in (("hero7", 97), ("hero11", 11)):
        payloads = source(name)
        assert len(payloads) == count
        assert b"".join(payloads) == (SAMPLES / "gopro" / "gpmf" / FILES[name]).read_bytes()
        assert SOURCES[name].file == FILES[name]


@needs_ffmpeg
def test_payloads_are_the_source_with_clocks_moved_on(clip: tuple[str, str]) -> None:
    name, path = clip
    src = source(name)
    written = split(gpmd_track(path))
    assert len(written) == round(120_000 / PAYLOAD_MS)
    for g, payload in enumerate(written):
        want, tsmp = expected(src, g)
        assert masked(payload, tsmp) == masked(want, tsmp), f"payload {g}"
    # Cycle 0 of chapter 1 keeps even the source's TSMP: only GPS time (and no STMP) moved.
    assert all(written[i] == expected(src, i)[0] for i in range(len(src)) if name == "hero7")


@needs_ffmpeg
def test_every_stream_of_the_source_is_there(clip: tuple[str, str]) -> None:
    name, path = clip
    written = stream_set(split(gpmd_track(path)))
    assert written == stream_set(source(name))
    assert len(written) >= {"hero7": 10, "hero11": 21}[name]


@needs_ffmpeg
def test_gps_time_rises_in_every_payload_and_across_cycles(clip: tuple[str, str]) -> None:
    _, path = clip
    written = split(gpmd_track(path))
    gpsu = [gps_times(p)[0] for p in written]
    assert all(b > a for a, b in itertools.pairwise(gpsu))
    every = [t for p in written for t in gps_times(p)[1:]]  # GPS9 rows (HERO11)
    assert all(b > a for a, b in itertools.pairwise(every))
    # GPS time keeps pace with the video: 120 payloads of 1.001 s, within a payload.
    assert abs(gpsu[-1] - gpsu[0] - 119 * PAYLOAD_MS) < 1500


@needs_ffmpeg
def test_tsmp_counts_on_across_cycles(clip: tuple[str, str]) -> None:
    _, path = clip
    rows = [tsmp_rows(p) for p in split(gpmd_track(path))]
    for before, after in itertools.pairwise(rows):
        for key in ("ACCL", "GYRO", "GPS5", "SHUT", "WBAL"):
            if key.encode() in after:
                # The camera's own rule: TSMP rises by the samples of the payload.
                assert after[key.encode()][0] - before[key.encode()][0] == after[key.encode()][1]


@needs_exiftool
def test_exiftool_reads_the_gps_points(clip: tuple[str, str]) -> None:
    name, path = clip
    lats = exiftool_docs(path, "GPS Latitude")
    times = exiftool_docs(path, "GPS Date Time")
    written = [expected(source(name), g)[0] for g in range(120)]
    gps5 = [r for p in written for s in strms(p) if s[-1][0] == b"GPS5" for r in [s[-1]]]
    assert len(lats) == sum(r[3] for r in gps5)  # exiftool 12.57 reads GPS5, not GPS9
    first = struct.unpack_from(">i", written[0], gps5[0][4])[0] / 1e7
    assert float(lats[0]) == pytest.approx(first, abs=1e-7)
    gpsu = [gps_times(p)[0] for p in written]
    assert len(times) == len(written)
    for shown, ms in zip(times, gpsu, strict=True):
        assert (
            shown == datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y:%m:%d %H:%M:%S.%f")[:-3]
        )


@needs_ffmpeg
@pytest.mark.parametrize("name", sorted(FILES))
def test_chapters_continue_each_other(name: str, tmp_path: Path) -> None:
    chapters = make_real_recording(
        tmp_path, chapters=3, chapter_s=40, source=name, number=42, start_utc=START
    )
    assert [Path(c.path).name for c in chapters] == ["GX010042.MP4", "GX020042.MP4", "GX030042.MP4"]
    src = source(name)
    g = 0
    times: list[int] = []
    stmp: dict[bytes, list[int]] = {}
    for k, chapter in enumerate(chapters):
        written = split(gpmd_track(chapter.path))
        assert len(written) == 40  # round(40 / 1.001): the next chapter starts where it stops
        for p in written:
            want, tsmp = expected(src, g)
            assert masked(p, tsmp) == masked(want, tsmp), f"chapter {k + 1}, payload {g}"
            times += gps_times(p)[:1]
            for strm in strms(p):
                stmp.setdefault(strm[-1][0], []).extend(
                    struct.unpack_from(">Q", p, i[4])[0] for i in strm if i[0] == b"STMP"
                )
            g += 1
        # TSMP restarts in every chapter: the first counts its own payload's samples only.
        accl = tsmp_rows(written[0])[b"ACCL"]
        if k:
            assert accl[0] == accl[1]
    assert all(b > a for a, b in itertools.pairwise(times))  # GPSU across chapters
    for series in stmp.values():
        assert all(b > a for a, b in itertools.pairwise(series))
    assert any(stmp.values()) == (name == "hero11")
    # Chapters share the recording's session id (udta GUMI on HERO7, MUID on HERO11).
    key = {"hero7": b"GUMI", "hero11": b"MUID"}[name]
    shared = set()
    for c in chapters:
        moov = tail(c.path)
        udta = moov.index(b"udta")
        at = moov.index(key, udta)  # the udta box, before the GPMF box's KLVs
        (size,) = struct.unpack_from(">I", moov, at - 4)
        shared.add(moov[at + 4 : at - 4 + size])
        assert SOURCES[name].profile.model.encode() in moov[udta:]
        assert c.info["session"] == {"key": key.decode(), "id": moov[at + 4 : at - 4 + size].hex()}
    assert len(shared) == 1


def test_files_are_sparse_and_timed_as_a_camera(tmp_path: Path) -> None:
    footage = make_real_gopro(tmp_path, duration_s=60, source="hero11", number=7)
    path = Path(footage.path)
    assert path.name == "GX010007.MP4"
    st = path.stat()
    assert st.st_size > 300_000_000  # 45 Mb/s of (sparse) video
    assert st.st_blocks * 512 < 5_000_000
    assert footage.duration == pytest.approx(60 * 1.001)
    data = tail(path)
    # gpmd stts: every payload lasts 1001 ms at timescale 1000 (mdhd), one run.
    assert struct.pack(">III", 1, 60, 1001) in data


def test_command_line(tmp_path: Path) -> None:
    from scripts.make_footage import main

    assert (
        main(["real", os.fspath(tmp_path / "one"), "--duration-s", "5", "--source", "hero11"]) == 0
    )
    assert (tmp_path / "one" / "GX010001.MP4").is_file()
    args = ["real-recording", os.fspath(tmp_path / "rec"), "--chapters", "2", "--chapter-s", "5"]
    assert main([*args, "--number", "12"]) == 0
    assert sorted(p.name for p in (tmp_path / "rec").iterdir()) == ["GX010012.MP4", "GX020012.MP4"]
