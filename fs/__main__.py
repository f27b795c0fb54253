"""``python -m telemetryfs.fs SOURCE MOUNTPOINT``: same as the ``telemetryfs`` command."""

import sys

from .cli import main

sys.exit(main())
