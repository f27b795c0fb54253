"""Merging a sidecar log's track into the clip it was recorded beside (any family)."""

from __future__ import annotations

import dataclasses

from telemetryfs.parsers.model import GpsSample, ParseWarning, Stream, Telemetry


def merge_gps(video: Telemetry | None, sidecar: Telemetry, kind: str) -> Telemetry:
    """A clip's telemetry with the GPS of its sidecar (a ``kind`` log) merged in.

    Without GPS in the video, the sidecar's track becomes the clip's track.
    With both, the samples are joined by time; where both have the same
    second, the video's sample stays if it is valid.
    """
    if video is None:
        return dataclasses.replace(sidecar, info=dict(sidecar.info, gps_source="sidecar"))
    names = video.extra_columns + tuple(
        n for n in sidecar.extra_columns if n not in video.extra_columns
    )
    own = [_realign(s, video.extra_columns, names) for s in video.gps]
    taken = {round(s.utc, 2) for s in own if s.utc is not None and s.valid}
    extra = [
        _realign(s, sidecar.extra_columns, names)
        for s in sidecar.gps
        if s.utc is None or round(s.utc, 2) not in taken
    ]
    merged = sorted(own + extra, key=_time_key) if own else extra
    source = "video+sidecar" if own else "sidecar"
    warnings = video.warnings + tuple(
        ParseWarning(w.offset, f"sidecar: {w.reason}") for w in sidecar.warnings
    )
    label = f"GPS from the video and its {kind} sidecar" if own else f"GPS from the {kind} sidecar"
    streams = (
        *(s for s in video.streams if s.name != "gps"),
        Stream("gps", kind, None, label, (), len(merged)),
    )
    return dataclasses.replace(
        video,
        gps=tuple(merged),
        gps_stream="gps" if merged else None,
        extra_columns=names,
        streams=streams,
        warnings=warnings,
        info=dict(video.info, gps_source=source, sidecar_records=len(sidecar.gps)),
    )


def _realign(sample: GpsSample, have: tuple[str, ...], want: tuple[str, ...]) -> GpsSample:
    values = dict(zip(have, sample.extra, strict=False))
    return dataclasses.replace(sample, extra=tuple(values.get(n) for n in want))


def _time_key(sample: GpsSample) -> tuple[int, float]:
    return (0, sample.utc) if sample.utc is not None else (1, 0.0)
