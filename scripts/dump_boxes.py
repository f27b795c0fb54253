"""Print the box tree of an MP4/MOV with offsets and sizes (mdat is never read).

Examples::

    .venv/bin/python scripts/dump_boxes.py GX010042.MP4
    .venv/bin/python scripts/dump_boxes.py --samples GX010042.MP4   # + the gpmd sample table

A developer tool over parsers/mp4.py (hachoir-style inspection): damage is
printed where it is found, the rest of the tree is still shown.
"""

from __future__ import annotations

import argparse
import sys
from typing import BinaryIO, TextIO

from telemetryfs.parsers.binio import file_size
from telemetryfs.parsers.containers import mp4
from telemetryfs.parsers.errors import ParseError

# Containers whose children are worth showing (plus meta, which mp4 handles).
_OPEN = mp4.CONTAINERS | {b"meta"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="an MP4 or MOV file")
    parser.add_argument("--samples", action="store_true", help="list the gpmd track's samples")
    parser.add_argument("--depth", type=int, default=8, help="how deep to descend (default 8)")
    args = parser.parse_args(argv)
    try:
        with open(args.file, "rb") as f:
            ok = dump_tree(f, 0, file_size(f), 0, args.depth, sys.stdout)
            if args.samples:
                ok = dump_samples(f, sys.stdout) and ok
    except OSError as exc:
        print(f"{args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0 if ok else 1


def dump_tree(f: BinaryIO, start: int, end: int, depth: int, max_depth: int, out: TextIO) -> bool:
    """Print boxes in [start, end) and their children; False if damage was met."""
    indent = "  " * depth
    try:
        for box in mp4.iter_boxes(f, start, end):
            size = box.end - box.offset
            wide = " (64-bit size)" if box.header_size == 16 else ""
            print(f"{indent}{box.name!r:8} @{box.offset:<12} {size:>12} bytes{wide}", file=out)
            if box.kind in _OPEN and depth < max_depth:
                children_start = box.data_offset
                if box.kind == b"meta":
                    kids = list(mp4.iter_children(f, box))
                    children_start = kids[0].offset if kids else box.end
                if not dump_tree(f, children_start, box.end, depth + 1, max_depth, out):
                    return False
    except ParseError as exc:
        print(f"{indent}!! {exc}", file=out)
        return False
    return True


def dump_samples(f: BinaryIO, out: TextIO) -> bool:
    """Print the gpmd track's samples: offset, size, start and duration."""
    try:
        moov = mp4.find_moov(f)
        if moov is None:
            print("no moov", file=out)
            return False
        movie = mp4.read_movie(f, moov)
        track = mp4.find_track(movie, b"meta", b"gpmd")
        if track is None:
            print("no gpmd track", file=out)
            return False
        samples = mp4.read_samples(f, track)
    except ParseError as exc:
        print(f"!! {exc}", file=out)
        return False
    print(f"gpmd track {track.track_id} ({track.handler_name}): {len(samples)} samples", file=out)
    for i, s in enumerate(samples):
        print(
            f"  {i:5} @{s.offset:<12} {s.size:>8} bytes  t={s.start:.3f}s +{s.duration:.3f}s",
            file=out,
        )
    return True


if __name__ == "__main__":
    sys.exit(main())
