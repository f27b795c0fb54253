"""The errno boundary: every FUSE handler is wrapped by :func:`fuse_op`.

Any exception other than FUSEError escaping a pyfuse3 handler kills the
daemon (the mount then answers "Transport endpoint is not connected"), so each
handler turns what it raises into an errno here, in one place, as s3ql does.

| raised below                    | errno               | logged                        |
| FUSEError                       | as given            | no                            |
| Truncated/MalformedError        | EIO                 | WARNING, once per source file |
| UnsupportedError                | EIO                 | DEBUG                         |
| FileNotFoundError               | ENOENT              | DEBUG                         |
| PermissionError                 | EACCES              | DEBUG                         |
| other OSError                   | its errno, or EIO   | DEBUG                         |
| anything else (a bug)           | EIO                 | ERROR with traceback          |
"""

from __future__ import annotations

import errno
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import pyfuse3

from telemetryfs.fs.fuse import gil
from telemetryfs.parsers.errors import ParseError, UnsupportedError

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def fuse_op(fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Turn everything a handler raises into a FUSEError with a fitting errno."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await fn(*args, **kwargs)
        except pyfuse3.FUSEError:
            raise
        except UnsupportedError as exc:
            log.debug("%s: %s", fn.__name__, exc)
            raise pyfuse3.FUSEError(errno.EIO) from None
        except ParseError as exc:
            # The caches remember broken sources, so this logs once per version.
            log.debug("%s: unparseable input: %s", fn.__name__, exc)
            raise pyfuse3.FUSEError(errno.EIO) from None
        except OSError as exc:
            log.debug("%s: %s", fn.__name__, exc)
            raise pyfuse3.FUSEError(to_errno(exc)) from None
        except Exception:
            log.exception("%s: internal error", fn.__name__)
            raise pyfuse3.FUSEError(errno.EIO) from None
        finally:
            gil.note_request()

    return wrapper


def to_errno(exc: OSError) -> int:
    """The errno to return for an OS error met while serving a request."""
    if isinstance(exc, FileNotFoundError):
        return errno.ENOENT
    if isinstance(exc, PermissionError):
        return errno.EACCES
    return exc.errno or errno.EIO
