"""The MP4 joiner on bad input: only ParseError escapes, cut parts join up to what
they hold, and the size is the sum of the pieces (the mount tests check playback)."""

from __future__ import annotations

import io
import random
import time

import pytest

from telemetryfs.parsers.containers.mp4.merge import JoinedMovie, JoinRefusedError, join_movies
from telemetryfs.parsers.errors import ParseError
from tests.paths import SAMPLES

HERO8 = (SAMPLES / "gopro/mp4/hero8-trimmed.mp4").read_bytes()
HERO5 = (SAMPLES / "gopro/mp4/hero5-trimmed.mp4").read_bytes()


def _join(*parts: bytes) -> JoinedMovie:
    return join_movies([io.BytesIO(p) for p in parts])


def _check(movie: JoinedMovie, parts: tuple[bytes, ...]) -> None:
    pieces = sum(len(p) if isinstance(p, bytes) else p.size for p in movie.pieces)
    assert movie.size == pieces
    for piece in movie.pieces[1:]:
        assert not isinstance(piece, bytes)
        assert piece.offset + piece.size <= len(parts[piece.part])


def test_a_recording_of_one_sample_twice() -> None:
    movie = _join(HERO8, HERO8)
    assert movie.parts == 2
    assert movie.note is None
    assert movie.duration_s == pytest.approx(2 * 2.006, abs=0.002)  # ffprobe: 2.006 s each
    _check(movie, (HERO8, HERO8))


def test_other_codec_parameters_are_refused_with_the_reason() -> None:
    with pytest.raises(JoinRefusedError, match="part 2's video track has other codec parameters"):
        _join(HERO8, HERO5)


def test_every_cut_of_a_part_raises_parse_error_or_joins_what_it_holds() -> None:
    start = time.monotonic()
    for cut in range(0, len(HERO8), 9973):
        piece = HERO8[:cut]
        for parts in ((HERO8, piece), (piece, HERO8)):
            try:
                movie = _join(*parts)
            except ParseError:
                assert parts[0] is piece  # a cut second part never refuses the first
                continue
            _check(movie, parts)
            if parts[1] is piece:
                assert movie.note is not None
    assert time.monotonic() - start < 30


def test_corrupt_moov_bytes_raise_only_parse_error() -> None:
    rng = random.Random(12)
    moov_start, moov_end = 32, 32 + 4091  # the sample's moov (box walk in test_mp4)
    assert HERO8[moov_start + 4 : moov_start + 8] == b"moov"
    for _ in range(400):
        data = bytearray(HERO8)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(moov_start, moov_end)
            data[at] = rng.choice((0, 0xFF, rng.randrange(256)))
        try:
            movie = _join(HERO8, bytes(data))
        except ParseError:
            continue
        _check(movie, (HERO8, bytes(data)))
