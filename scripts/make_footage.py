"""Generate realistic (sparse) camera footage for tests, the demo and benchmarks.

Examples::

    .venv/bin/python scripts/make_footage.py gopro OUT.MP4 --duration 3600 --gps gps5 --route-out OUT.json
    .venv/bin/python scripts/make_footage.py gopro-recording DIR --duration 1800 --number 42
    .venv/bin/python scripts/make_footage.py recording DIR --chapters 12 --chapter-s 900  # 3 h
    .venv/bin/python scripts/make_footage.py novatek OUT.MP4 --duration 180 --lost-fix 60:75
    .venv/bin/python scripts/make_footage.py mapcam OUT.AVI --duration 60
    .venv/bin/python scripts/make_footage.py card OUTDIR --clips 1000
    .venv/bin/python scripts/make_footage.py demo OUTDIR
    .venv/bin/python scripts/make_footage.py recordings-card OUTDIR --route-out CARD.json
    .venv/bin/python scripts/make_footage.py real DIR --source hero7 --duration-s 3600
    .venv/bin/python scripts/make_footage.py real-recording DIR --source hero11 --chapters 12 --chapter-s 900

``--route-out`` writes what the file encodes (every GPS sample after
quantisation) as JSON: one object for a file, a list for a directory; for
``recordings-card``, the expected recordings (folders, parts, joins). ``real``
and ``real-recording`` carry a real camera's GPMF payloads (HERO7 or HERO11,
repeated with their clocks moved on: tests/footage/real_payloads.py); their
JSON describes the files, not GPS samples.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.footage import (  # noqa: E402  (needs the repo root on sys.path first)
    Footage,
    RecordingsCard,
    make_card,
    make_demo,
    make_gopro,
    make_gopro_recording,
    make_mapcam,
    make_novatek,
    make_recordings_card,
    write_manifest,
)
from tests.footage.real_payloads import (  # noqa: E402
    SOURCES,
    make_real_gopro,
    make_real_recording,
)


def _utc(text: str) -> datetime:
    """ISO 8601 time; naive times are taken as UTC."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _span(text: str) -> tuple[float, float]:
    start, _, end = text.partition(":")
    return float(start), float(end)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="make_footage.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="kind", required=True)

    def common(p: argparse.ArgumentParser, duration: float | None) -> None:
        if duration is not None:  # a "recording" lasts --chapters x --chapter-s
            p.add_argument(
                "--duration", type=float, default=duration, help="seconds (default %(default)s)"
            )
        p.add_argument(
            "--start",
            type=_utc,
            default=None,
            help="UTC start, ISO 8601 (default 2026-04-06T14:21:22Z)",
        )
        p.add_argument("--seed", type=int, default=0, help="route and noise seed")
        p.add_argument(
            "--route-out", type=Path, default=None, help="write the encoded GPS samples as JSON"
        )

    for name, helptext in (
        ("gopro", "one GoPro MP4"),
        ("gopro-recording", "a GoPro recording in chapters"),
        ("recording", "a GoPro recording of N whole chapters (default: 3 h in 12)"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("out", type=Path, help="file (gopro) or directory (gopro-recording)")
        common(p, None if name == "recording" else 60.0)
        p.add_argument(
            "--gps", choices=("gps5", "gps9", "both"), default=None, help="default: the model's"
        )
        p.add_argument(
            "--model",
            default="HERO8 Black",
            help="HERO5/HERO8/HERO11/HERO13 Black or Fusion (default %(default)s)",
        )
        p.add_argument("--firmware", default=None)
        # 35 Mb/s keeps a 15-minute chapter under GoPro's 4 GB.
        p.add_argument("--video-mbps", type=float, default=35.0 if name == "recording" else 45.0)
        p.add_argument("--fps", type=float, default=29.97)
        p.add_argument("--codec", choices=("avc", "hevc"), default=None)
        p.add_argument("--fdsc", action="store_true", help="add the HERO5 'SOS' fdsc track")
        p.add_argument(
            "--no-fix-first", type=float, default=0.0, metavar="S", help="no GPS fix for S seconds"
        )
        if name == "gopro":
            p.add_argument("--no-moov", action="store_true", help="interrupted recording: no moov")
        elif name == "recording":
            p.add_argument("--number", type=int, default=1, help="file number (GX01nnnn)")
            p.add_argument("--chapters", type=int, default=12)
            p.add_argument("--chapter-s", type=float, default=900.0, help="seconds per chapter")
            p.add_argument("--lrv", action="store_true", help="also write the .LRV proxies")
        else:
            p.add_argument("--number", type=int, default=1, help="file number (GX01nnnn)")
            p.add_argument(
                "--chapter",
                type=float,
                default=None,
                help="chapter length in seconds (default: 4 GB)",
            )

    p = sub.add_parser("novatek", help="one Novatek dashcam MP4/MOV")
    p.add_argument("out", type=Path)
    common(p, 180.0)
    p.add_argument("--no-index", action="store_true", help="omit the moov 'gps ' index")
    p.add_argument("--container", choices=("mp4", "mov"), default="mp4")
    p.add_argument(
        "--lost-fix",
        type=_span,
        action="append",
        default=[],
        metavar="A:B",
        help="no fix from A to B s",
    )
    p.add_argument("--cold-start", type=float, default=0.0, metavar="S")
    p.add_argument(
        "--local-offset", type=float, default=0.0, metavar="H", help="camera clock = UTC + H hours"
    )
    p.add_argument("--video-mbps", type=float, default=20.0)

    p = sub.add_parser("mapcam", help="one MAP CAM AVI")
    p.add_argument("out", type=Path)
    common(p, 60.0)
    p.add_argument("--no-gps", action="store_true")
    p.add_argument("--odd-chunks", action="store_true", help="odd-sized video chunks (pad bytes)")
    p.add_argument("--gps-at-end", action="store_true", help="last record at the very end of movi")
    p.add_argument("--no-fix-first", type=float, default=0.0, metavar="S")

    p = sub.add_parser("card", help="an SD card tree of many clips")
    p.add_argument("out", type=Path)
    p.add_argument("--clips", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-lrv", action="store_true", help="no .LRV proxies")
    p.add_argument("--route-out", type=Path, default=None)

    p = sub.add_parser("demo", help="the built-in demo footage")
    p.add_argument("out", type=Path)
    p.add_argument("--route-out", type=Path, default=None)

    for name, helptext in (
        ("real", "one GoPro MP4 carrying a real camera's GPMF payloads"),
        ("real-recording", "a GoPro recording in chapters carrying real GPMF payloads"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("out", type=Path, help="directory (real: or a file name)")
        common(p, None)
        p.add_argument("--source", choices=sorted(SOURCES), default="hero7")
        p.add_argument("--number", type=int, default=1, help="file number (GX01nnnn)")
        if name == "real":
            p.add_argument("--duration-s", type=float, default=3600.0)
            p.add_argument("--chapter", type=int, default=1, help="chapter number of the name")
            p.add_argument("--video-mbps", type=float, default=45.0)
        else:
            p.add_argument("--chapters", type=int, default=12)
            p.add_argument("--chapter-s", type=float, default=900.0, help="seconds per chapter")
            p.add_argument("--video-mbps", type=float, default=35.0)

    p = sub.add_parser("recordings-card", help="recordings to join, with their truth")
    p.add_argument("out", type=Path)
    p.add_argument("--route-out", type=Path, default=None, help="write the expected recordings")
    return parser


def _make(args: argparse.Namespace) -> Footage | list[Footage] | RecordingsCard:
    if args.kind in ("card", "demo", "gopro-recording", "recording", "recordings-card"):
        args.out.mkdir(parents=True, exist_ok=True)
    elif args.kind in ("real", "real-recording") and not args.out.suffix:
        args.out.mkdir(parents=True, exist_ok=True)  # a directory: GX01nnnn.MP4 ... in it
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.kind == "real":
        return make_real_gopro(
            args.out,
            duration_s=args.duration_s,
            source=args.source,
            start_utc=args.start,
            number=args.number,
            chapter=args.chapter,
            seed=args.seed,
            video_mbps=args.video_mbps,
        )
    if args.kind == "real-recording":
        return make_real_recording(
            args.out,
            chapters=args.chapters,
            chapter_s=args.chapter_s,
            source=args.source,
            number=args.number,
            start_utc=args.start,
            seed=args.seed,
            video_mbps=args.video_mbps,
        )
    if args.kind == "gopro":
        return make_gopro(
            args.out,
            duration_s=args.duration,
            gps=args.gps,
            start_utc=args.start,
            model=args.model,
            firmware=args.firmware,
            seed=args.seed,
            video_mbps=args.video_mbps,
            fps=args.fps,
            codec=args.codec,
            moov=not args.no_moov,
            fdsc=args.fdsc,
            no_fix_first_s=args.no_fix_first,
        )
    if args.kind in ("gopro-recording", "recording"):
        whole = args.kind == "recording"
        chapters: list[Footage] = []
        for proxy in (False, True) if whole and args.lrv else (False,):
            chapters += make_gopro_recording(
                args.out,
                duration_s=args.chapters * args.chapter_s if whole else args.duration,
                number=args.number,
                chapter_s=args.chapter_s if whole else args.chapter,
                gps=args.gps,
                start_utc=args.start,
                model=args.model,
                firmware=args.firmware,
                seed=args.seed,
                video_mbps=2.5 if proxy else args.video_mbps,
                fps=args.fps,
                codec="avc" if proxy else args.codec,
                fdsc=args.fdsc,
                no_fix_first_s=args.no_fix_first,
                proxy=proxy,
            )
        return chapters
    if args.kind == "novatek":
        return make_novatek(
            args.out,
            duration_s=args.duration,
            start_utc=args.start,
            index=not args.no_index,
            container=args.container,
            lost_fix_s=args.lost_fix,
            cold_start_s=args.cold_start,
            local_offset_h=args.local_offset,
            seed=args.seed,
            video_mbps=args.video_mbps,
        )
    if args.kind == "mapcam":
        return make_mapcam(
            args.out,
            duration_s=args.duration,
            start_utc=args.start,
            seed=args.seed,
            gps=not args.no_gps,
            odd_chunks=args.odd_chunks,
            gps_at_end=args.gps_at_end,
            no_fix_first_s=args.no_fix_first,
        )
    if args.kind == "card":
        return make_card(args.out, clips=args.clips, seed=args.seed, lrv=not args.no_lrv)
    if args.kind == "recordings-card":
        return make_recordings_card(args.out)
    return make_demo(args.out)


def main(argv: list[str] | None = None) -> int:
    """Generate what the arguments ask for; print a one-line summary per file."""
    args = _parser().parse_args(argv)
    began = time.monotonic()
    try:
        made = _make(args)
    except (ValueError, OSError) as exc:
        print(f"make_footage: {exc}", file=sys.stderr)
        return 1
    if isinstance(made, RecordingsCard):
        items = made.footage
    else:
        items = made if isinstance(made, list) else [made]
    for f in items:
        if "source" in f.info:  # real payloads: no decoded samples
            what = f"{f.info['payloads']} {f.info['source']['name']} payloads"
        else:
            what = f"{len(f.samples)} GPS samples"
        print(f"{f.path}\t{f.format}\t{f.duration:.1f} s\t{what}")
    print(f"{len(items)} file(s) in {time.monotonic() - began:.2f} s", file=sys.stderr)
    if args.route_out is not None:
        if isinstance(made, list):
            write_manifest(made, args.route_out)
        else:
            made.write_json(args.route_out)  # one file's truth, or the card's recordings
    return 0


if __name__ == "__main__":
    sys.exit(main())
