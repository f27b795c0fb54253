"""``python -m telemetryfs.fs SOURCE MOUNTPOINT``: same as the ``telemetryfs`` command."""

import sys

from telemetryfs.fs.command import main

sys.exit(main())
