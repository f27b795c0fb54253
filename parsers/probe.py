"""A file as every candidate parser sees it: read once, shared by all of them.

Dispatch tries the formats of a container one after another; each used to
read the head, walk the top-level boxes and parse the moov again. A
:class:`Probe` holds what they all look at: the name and size, the head (for
content sniffing), the tail (for formats whose marker sits at the end, such
as a trailer after the video), and the moov, parsed on first use and cached,
its failure included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from telemetryfs.parsers import detect
from telemetryfs.parsers.binio import file_size, read_upto
from telemetryfs.parsers.containers import mp4
from telemetryfs.parsers.errors import ParseError

TAIL_SIZE = 4096


@dataclass(slots=True)
class Probe:
    """One open source file and what is known of it so far."""

    file: BinaryIO
    name: str
    size: int
    head: bytes
    tail: bytes
    container: str | None
    _movie: mp4.Movie | None = field(default=None, repr=False)
    _movie_error: ParseError | None = field(default=None, repr=False)
    _movie_read: bool = field(default=False, repr=False)

    @classmethod
    def of(cls, source: BinaryIO | Probe, name: str = "") -> Probe:
        """A probe of an open file (a probe is returned as it is).

        Raises:
            ParseError: the file cannot be read.
        """
        if isinstance(source, Probe):
            return source
        size = file_size(source)
        head = read_upto(source, 0, detect.HEAD_SIZE)
        tail = read_upto(source, max(size - TAIL_SIZE, 0), TAIL_SIZE) if size > len(head) else head
        container = detect.sniff_file(source, name, head)
        return cls(source, name, size, head, tail, container)

    def movie(self) -> mp4.Movie | None:
        """The parsed moov, or None when the file has none (read once, then cached).

        Raises:
            ParseError: the moov is damaged (the same error on every call).
        """
        if not self._movie_read:
            self._movie_read = True
            try:
                moov = mp4.find_moov(self.file)
                self._movie = None if moov is None else mp4.read_movie(self.file, moov)
            except ParseError as exc:
                self._movie_error = exc
        if self._movie_error is not None:
            raise self._movie_error
        return self._movie

    def movie_if_readable(self) -> mp4.Movie | None:
        """The parsed moov, or None when the file has none or it is damaged (for a score,
        or for facts a family can do without)."""
        try:
            return self.movie()
        except ParseError:
            return None
