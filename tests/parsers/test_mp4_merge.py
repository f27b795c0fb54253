"""The MP4 joiner on bad input: only ParseError escapes, cut parts join up to what
they hold, and the size is the sum of the pieces (the mount tests check playback)."""

from __future__ import annotations

import io
import random
import time

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetryfs.parsers.containers.mp4 import merge_parts
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


# -- the tables as arrays, against the per-entry rules they replace -------------------


def _chunk_sizes_one_by_one(
    stsc: list[tuple[int, ...]], sizes: list[int], chunks: int
) -> tuple[list[int], list[int], int]:
    """stsc expanded chunk by chunk: each takes its count while samples last."""
    out: list[int] = []
    counts: list[int] = []
    sample = 0
    for r, (first, per_chunk, _) in enumerate(stsc):
        last = stsc[r + 1][0] - 1 if r + 1 < len(stsc) else chunks
        for _ in range(first - 1, last):
            take = max(0, min(per_chunk, len(sizes) - sample))
            out.append(sum(sizes[sample : sample + take]))
            counts.append(take)
            sample += take
    return out, counts, sample


@given(
    st.lists(st.integers(0, 5000), max_size=60),
    st.lists(st.tuples(st.integers(1, 4), st.integers(0, 9)), min_size=1, max_size=6),
    st.integers(0, 40),
)
def test_chunk_sizes_are_the_stsc_runs_expanded(
    sizes: list[int], steps: list[tuple[int, int]], chunks: int
) -> None:
    stsc, first = [], 1
    for step, per_chunk in steps:  # runs starting at chunk 1, each after the one before
        stsc.append((first, per_chunk, 1))
        first += step
    track = merge_parts.PartTrack(
        {}, b"vide", 1, 0, 0, np.zeros((0, 2), np.int64), None, None,
        np.array(sizes, dtype=np.int64), stsc, np.arange(chunks, dtype=np.int64), None,
    )  # fmt: skip
    expected_sizes, expected_counts, held = _chunk_sizes_one_by_one(stsc, sizes, chunks)
    if held != len(sizes) or len(expected_sizes) != chunks:
        with pytest.raises(ParseError):
            merge_parts._chunk_sizes(track)
        return
    got_sizes, got_counts = merge_parts._chunk_sizes(track)
    assert got_sizes.tolist() == expected_sizes
    assert got_counts.tolist() == expected_counts


@given(
    st.lists(st.tuples(st.integers(0, 9), st.integers(0, 2**32 - 1)), max_size=8),
    st.integers(0, 60),
)
def test_runs_cut_to_a_sample_count(runs: list[tuple[int, int]], samples: int) -> None:
    expected, left = [], samples
    for count, value in runs:
        if left <= 0:
            break
        expected.append((min(count, left), value))
        left -= count
    table = np.array(runs, dtype=np.int64).reshape(-1, 2)
    assert [tuple(r) for r in merge_parts._cut_runs(table, samples).tolist()] == expected
