"""Print the GPMF KLV tree of a GoPro MP4, a raw GPMF dump or a GoPro JPEG, and stream counts.

Examples::

    .venv/bin/python scripts/dump_gpmf.py GX010042.MP4            # every payload's KLV tree
    .venv/bin/python scripts/dump_gpmf.py --payloads 2 hero.bin   # only the first two payloads
    .venv/bin/python scripts/dump_gpmf.py --summary GX010042.MP4  # streams, counts, GPS

A developer tool over parsers/gpmf.py and parsers/gopro.py.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import BinaryIO, TextIO

from telemetryfs.parsers.binio import file_size, read_at
from telemetryfs.parsers.containers import jpeg, mp4
from telemetryfs.parsers.encodings import gpmf
from telemetryfs.parsers.errors import ParseError
from telemetryfs.parsers.formats.gopro import parse as gopro
from telemetryfs.parsers.model import Telemetry

# Values longer than this are shortened in the tree.
_SHOW = 60


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="a GoPro MP4, a raw GPMF file or a GoPro JPEG")
    parser.add_argument("--payloads", type=int, default=None, help="show at most N payloads")
    parser.add_argument("--summary", action="store_true", help="streams and GPS only, no tree")
    args = parser.parse_args(argv)
    try:
        with open(args.file, "rb") as f:
            if args.summary:
                print_summary(extract(f), sys.stdout)
                return 0
            return 0 if dump_payloads(f, args.payloads, sys.stdout) else 1
    except OSError as exc:
        print(f"{args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except ParseError as exc:
        print(f"{args.file}: {exc}", file=sys.stderr)
        return 1


def extract(f: BinaryIO) -> Telemetry:
    """Whatever the file is: MP4, JPEG or raw GPMF.

    Raises:
        ParseError: none of them.
    """
    head = read_at(f, 0, min(16, file_size(f)))
    if head[:2] == jpeg.SOI:
        return gopro.extract_jpeg(f)
    if gpmf.is_gpmf(read_at(f, 0, min(4096, file_size(f)))):
        return gopro.extract_gpmf(f)
    return gopro.extract_mp4(f)


def payload_ranges(f: BinaryIO) -> list[tuple[int, int]]:
    """(offset, size) of every GPMF block in the file.

    Raises:
        ParseError: the container is damaged.
    """
    size = file_size(f)
    head = read_at(f, 0, min(4096, size))
    if head[:2] == jpeg.SOI:
        return [(e.offset, e.size) for e in jpeg.find_gpmf_segments(f)]
    if gpmf.is_gpmf(head):
        return [(0, size)]
    moov = mp4.find_moov(f)
    if moov is None:
        raise ParseError("no moov and not raw GPMF")
    movie = mp4.read_movie(f, moov)
    track = mp4.find_track(movie, b"meta", b"gpmd")
    ranges = [(b.data_offset, b.data_size) for b in movie.udta if b.kind == b"GPMF"]
    if track is not None:
        ranges += [(s.offset, s.size) for s in mp4.read_samples(f, track)]
    return ranges


def dump_payloads(f: BinaryIO, limit: int | None, out: TextIO) -> bool:
    ok = True
    for n, (offset, size) in enumerate(payload_ranges(f)):
        if limit is not None and n >= limit:
            break
        print(f"--- GPMF @{offset} ({size} bytes)", file=out)
        data = read_at(f, offset, size)
        ok = dump_level(data, 0, len(data), offset, 0, out) and ok
    return ok


def dump_level(data: bytes, start: int, end: int, base: int, depth: int, out: TextIO) -> bool:
    indent = "  " * depth
    try:
        for k in gpmf.iter_klv(data, start, end):
            type_char = chr(k.type) if k.type else "nest"
            print(
                f"{indent}{k.name} {type_char} {k.struct_size}x{k.repeat} @{base + k.offset}{_show(data, k)}",
                file=out,
            )
            if k.nested and depth < 6:
                dump_level(data, k.value_offset, k.value_offset + k.size, base, depth + 1, out)
    except ParseError as exc:
        print(f"{indent}!! {exc}", file=out)
        return False
    return True


def _show(data: bytes, k: gpmf.Klv) -> str:
    if k.nested:
        return ""
    value = str(gpmf.read_value(data, k))
    return " " + (value if len(value) <= _SHOW else value[:_SHOW] + "...")


def print_summary(t: Telemetry, out: TextIO) -> None:
    print(f"format {t.format}  camera {t.camera}  firmware {t.firmware}", file=out)
    print(f"payloads {t.info.get('payloads')}  timing {t.info.get('timing')}", file=out)
    for s in t.streams:
        print(
            f"  {s.name:16} {s.sample_count:8} samples  {len(s.chunks):5} chunks  {', '.join(s.columns)}",
            file=out,
        )
    valid = t.valid_gps
    print(f"GPS {t.gps_stream}: {len(t.gps)} samples, {len(valid)} valid", file=out)
    for label, s in (
        ("first", valid[0] if valid else None),
        ("last", valid[-1] if valid else None),
    ):
        if s is not None and s.utc is not None:
            when = datetime.fromtimestamp(s.utc, tz=UTC).isoformat()
            print(f"  {label}: {s.lat:.7f}, {s.lon:.7f}  {s.ele}  {when}", file=out)
    for w in t.warnings[:20]:
        print(f"  warning @{w.offset}: {w.reason}", file=out)
    if t.error:
        print(f"  error: {t.error}", file=out)


if __name__ == "__main__":
    sys.exit(main())
