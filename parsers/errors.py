"""The parser error family: the only exceptions a parser lets escape.

Structural damage raises; damage inside one record becomes a ParseWarning in
the result (see model.py). Unsupported is kept apart from malformed so that
the filesystem can leave a track out instead of reporting EIO.
"""

from __future__ import annotations


class ParseError(Exception):
    """Base of every error a parser raises.

    Args:
        message: what is wrong, in one line.
        offset: byte offset in the source where it was found, if known.
        path: box/chunk path such as ``moov/trak[2]/mdia``, if known.
    """

    def __init__(self, message: str, offset: int | None = None, path: str | None = None) -> None:
        self.message = message
        self.offset = offset
        self.path = path
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.path:
            where.append(self.path)
        if self.offset is not None:
            where.append(f"offset {self.offset}")
        return f"{self.message} ({', '.join(where)})" if where else self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Keep errors picklable (the disk cache and worker processes pickle them).
        return (self.__class__, (self.message, self.offset, self.path))


class TruncatedError(ParseError):
    """The data ends before a structure it announces."""


class MalformedError(ParseError):
    """A structure is present but impossible (bad size, bad magic, bad count)."""


class UnsupportedError(ParseError):
    """A valid file that carries nothing we read (an MP4 without telemetry)."""
