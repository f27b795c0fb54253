"""NMEA 0183 logs: sidecar files next to clips, and sentences inside other formats.

Many dashcams and phone apps write ``CLIP.NMEA`` beside ``CLIP.MP4``; some
(Vantrue N2X/N4, Nextbase 512GW) put an RMC sentence inside their freeGPS
blocks. Both go through :func:`parse_text`.

Sentences read (NMEA 0183 v4.11; any two-letter talker: GP, GN, GL, GA, BD):

- ``$xxRMC``: UTC time, status A/V, lat DDmm.mmmm + N/S, lon DDDmm.mmmm + E/W,
  speed over ground in knots, course, date ddmmyy;
- ``$xxGGA``: UTC time, position, fix quality, satellites, HDOP, altitude; it
  completes the RMC of the same second (or stands alone, dated by the last RMC);
- ``$GSENSOR,x,y,z`` (dashcam-viewer logs): raw accelerometer counts, kept as
  columns of the record before it.

A sentence whose ``*hh`` checksum is wrong is skipped with a warning; one
without a checksum is accepted (some firmware omits it). Lines are read in
bounded chunks, so a multi-gigabyte log never sits in memory.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass

from telemetryfs.parsers.model import (
    FIX_2D,
    FIX_3D,
    Value,
)
from telemetryfs.parsers.records import KNOTS, Record, ddmm, posix

log = logging.getLogger(__name__)

# Talker IDs of satellite receivers: GPS, any GNSS, GLONASS, Galileo, BeiDou (two
# spellings), NavIC, QZSS. The one list: the sniffer (detect.py) reads it too.
TALKERS = (b"$GP", b"$GN", b"$GL", b"$GA", b"$GB", b"$BD", b"$GI", b"$QZ")
# A log may start with a receiver's proprietary sentence ($PGRM... on Garmin units).
LOG_STARTS = (*TALKERS, b"$PG")
_SENTENCE = re.compile(
    rb"\$(?:([A-Z]{2})(RMC|GGA),([^$\r\n]*)|GSENSOR,(-?\d{1,6}),(-?\d{1,6}),(-?\d{1,6}))"
)


def looks_like_nmea(head: bytes) -> bool:
    """Text whose first non-blank line is an NMEA sentence (a cheap sniff, no parsing)."""
    body = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return body.startswith(LOG_STARTS) and b"," in body[:16]


def checksum_ok(body: bytes, given: bytes) -> bool:
    """NMEA checksum: XOR of the bytes between ``$`` and ``*``, as two hex digits."""
    value = 0
    for byte in body:
        value ^= byte
    try:
        return value == int(given[:2], 16)
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class _Fields:
    kind: str  # "RMC", "GGA" or "GSENSOR"
    fields: list[bytes]
    offset: int
    checksum: str | None = None  # "ok", "bad", or None when the sentence has none


def iter_sentences(data: bytes, base: int = 0) -> Iterator[_Fields]:
    """RMC, GGA and GSENSOR sentences in ``data``, in order, checksums checked."""
    for match in _SENTENCE.finditer(data):
        if match.group(2) is None:
            yield _Fields("GSENSOR", list(match.groups()[3:]), base + match.start())
            continue
        body, star, given = match.group(3).partition(b"*")
        checksum = None
        if star:
            good = checksum_ok(match.group(0)[1:].partition(b"*")[0], given)
            checksum = "ok" if good else "bad"
        yield _Fields(
            match.group(2).decode("ascii"), body.split(b","), base + match.start(), checksum
        )


def _num(raw: bytes) -> float | None:
    try:
        return float(raw) if raw.strip() else None
    except ValueError:
        return None


def _field(fields: list[bytes], i: int) -> bytes:
    return fields[i].strip() if i < len(fields) else b""


def _coord(fields: list[bytes], i: int) -> float | None:
    hemi = _field(fields, i + 1).decode("latin-1")
    if hemi not in ("N", "S", "E", "W"):
        return None
    return ddmm(_num(_field(fields, i)), hemi)


def _clock(raw: bytes) -> float | None:
    """hhmmss.sss as seconds of the day."""
    if len(raw) < 6 or not raw[:6].isdigit():
        return None
    h, m, s = int(raw[:2]), int(raw[2:4]), _num(raw[4:]) or 0.0
    if h > 23 or m > 59 or not 0 <= s < 61:
        return None
    return h * 3600 + m * 60 + s


def _day(raw: bytes) -> float | None:
    """ddmmyy as the POSIX time of that midnight."""
    if len(raw) != 6 or not raw.isdigit():
        return None
    yy = int(raw[4:6])
    year = yy + (1900 if yy >= 70 else 2000)  # NMEA's two-digit year (as ExifTool reads it)
    return posix(year, int(raw[2:4]), int(raw[:2]), 0, 0, 0)


def parse_rmc(s: _Fields, midnight: float | None) -> tuple[Record, float | None]:
    """A record from RMC fields, and the date it carries (or the one it was given)."""
    f = s.fields
    clock, day = _clock(_field(f, 0)), _day(_field(f, 8))
    midnight = day if day is not None else midnight
    knots, course = _num(_field(f, 6)), _num(_field(f, 7))
    extra: list[tuple[str, Value]] = [("status", _field(f, 1).decode("latin-1") or None)]
    extra.append(("speed_knots", knots))
    extra.append(("mode", _field(f, 11).decode("latin-1") or None))
    return Record(
        utc=None if clock is None or midnight is None else midnight + clock,
        status=_field(f, 1).decode("latin-1") or None,
        lat=_coord(f, 2),
        lon=_coord(f, 4),
        speed=None if knots is None else knots * KNOTS,
        course=course,
        offset=s.offset,
        extra=tuple(extra),
    ), midnight


def parse_gga(s: _Fields, midnight: float | None) -> Record:
    """A record from GGA fields (dated by the last RMC's date, if any)."""
    f = s.fields
    clock = _clock(_field(f, 0))
    quality = _num(_field(f, 5))
    sats, hdop, alt = _num(_field(f, 6)), _num(_field(f, 7)), _num(_field(f, 8))
    return Record(
        utc=None if clock is None or midnight is None else midnight + clock,
        status=None if quality is None else ("A" if quality > 0 else "V"),
        lat=_coord(f, 1),
        lon=_coord(f, 3),
        ele=alt,
        offset=s.offset,
        fix=(FIX_3D if alt is not None else FIX_2D) if quality else None,
        dop=hdop,
        extra=(("fix_quality", quality), ("satellites", sats), ("hdop", hdop)),
    )


def _complete(rmc: Record, gga: Record) -> Record:
    """An RMC record completed by the GGA of the same second (either may come first)."""
    a, b = dict(rmc.extra), dict(gga.extra)
    sums = {a.pop("checksum", None), b.pop("checksum", None)}
    checksum = "bad" if "bad" in sums else "ok" if "ok" in sums else None
    return dataclasses.replace(
        rmc,
        ele=gga.ele,
        fix=gga.fix if rmc.status == "A" else rmc.fix,
        dop=gga.dop,
        offset=min(rmc.offset or 0, gga.offset or 0),
        extra=(*a.items(), *b.items(), ("checksum", checksum)),
    )


class Reader:
    """Turns sentences into records, pairing the RMC and GGA of the same second."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.warnings: list[str] = []
        self.midnight: float | None = None
        self._kinds: list[str] = []
        self._clock: bytes | None = None

    def feed(self, data: bytes, base: int) -> None:
        for item in iter_sentences(data, base):
            if item.kind == "GSENSOR":
                self._gsensor(item.fields)
            else:
                self._add(item)

    def finish(self) -> list[Record]:
        """The records, without those whose checksum is wrong, unless all are.

        A log whose checksums are wrong almost throughout was written that way
        (a firmware quirk, or an edited log): the checksums carry no
        information there and the sentences are kept. Otherwise a wrong
        checksum marks a damaged sentence, which is dropped.
        """
        bad = [r for r in self.records if dict(r.extra).get("checksum") == "bad"]
        if not bad:
            return self.records
        checked = sum(1 for r in self.records if dict(r.extra).get("checksum") is not None)
        if len(bad) * 2 > checked:
            self.warnings.append(
                f"{len(bad)} of {checked} sentences have a wrong checksum; kept, as the "
                "writer's checksums are wrong throughout"
            )
            return self.records
        first = bad[0].offset
        self.warnings.append(
            f"{len(bad)} sentences with a wrong checksum skipped (first at offset {first})"
        )
        return [r for r in self.records if dict(r.extra).get("checksum") != "bad"]

    def _add(self, s: _Fields) -> None:
        clock = _field(s.fields, 0)
        if s.kind == "RMC":
            record, self.midnight = parse_rmc(s, self.midnight)
        else:
            record = parse_gga(s, self.midnight)
        record = dataclasses.replace(record, extra=(*record.extra, ("checksum", s.checksum)))
        pair = bool(self.records) and clock == self._clock and self._kinds[-1] != s.kind
        if pair and s.kind == "GGA":
            self.records[-1] = _complete(self.records[-1], record)
        elif pair:
            self.records[-1] = _complete(record, self.records[-1])
        else:
            self.records.append(record)
            self._kinds.append(s.kind)
        self._clock = clock

    def _gsensor(self, fields: list[bytes]) -> None:
        if self.records:
            last = self.records[-1]
            values = tuple(
                ("gsensor_" + axis, int(v)) for axis, v in zip("xyz", fields, strict=True)
            )
            self.records[-1] = dataclasses.replace(last, extra=last.extra + values)


def parse_text(data: bytes, base: int = 0) -> tuple[list[Record], list[str]]:
    """Records (and warnings) from NMEA text held in memory (a freeGPS block, a sample).

    Args:
        data: bytes that contain NMEA sentences, possibly among other bytes.
        base: file offset of ``data``, for record offsets.
    """
    reader = Reader()
    reader.feed(data, base)
    records = reader.finish()
    return records, reader.warnings
