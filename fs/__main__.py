"""``python -m telemetryfs.fs SOURCE MOUNTPOINT``: same as the ``telemetryfs`` command."""

import sys

from telemetryfs.fs.fuse.cli import main

sys.exit(main())
