"""The moov of a dashcam MP4, where damage is a warning rather than an error."""

from __future__ import annotations

from telemetryfs.parsers.containers import mp4
from telemetryfs.parsers.errors import ParseError
from telemetryfs.parsers.model import ParseWarning
from telemetryfs.parsers.probe import Probe


def read_movie(probe: Probe, warnings: list[ParseWarning], doing: str = "") -> mp4.Movie | None:
    """The moov of a dashcam MP4, or None when there is none or it is damaged.

    Dashcam GPS often survives a damaged moov (it sits in mdat or after the
    moov), so damage here is a warning, not an error.
    """
    try:
        return probe.movie()
    except ParseError as exc:
        warnings.append(ParseWarning(exc.offset, f"moov unreadable{doing}: {exc}"))
        return None
