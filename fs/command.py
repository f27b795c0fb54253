"""The ``telemetryfs`` command: ``export`` without FUSE, everything else by the mount's CLI.

The exporter runs where no FUSE library is installed (a Dask worker, a Spark
executor's image): this module imports pyfuse3 and trio only for the mount.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["export"]:
        from telemetryfs.fs.export.run import main as export_main

        return export_main(args[1:])
    from telemetryfs.fs.fuse.cli import main as mount_main

    return mount_main(argv)
