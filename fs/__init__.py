"""The FUSE side of telemetryfs: the only package that imports pyfuse3 and trio."""
