"""binio: bounded reads."""

from __future__ import annotations

import io

import pytest

from telemetryfs.parsers import binio
from telemetryfs.parsers.errors import TruncatedError


def test_read_at_is_exact_or_an_error() -> None:
    f = io.BytesIO(b"0123456789")
    assert binio.read_at(f, 2, 3) == b"234"
    with pytest.raises(TruncatedError):
        binio.read_at(f, 8, 5)
    with pytest.raises(TruncatedError):
        binio.read_at(f, 0, binio.MAX_READ + 1)  # a lying size is refused, not allocated
    assert binio.read_upto(f, 8, 5) == b"89"
