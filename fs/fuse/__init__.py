"""The kernel binding: the command line, pyfuse3 Operations, open files, the async store.

The only code that imports pyfuse3 and trio. Everything it serves comes from
the file view one package up (telemetryfs.fs), which needs no FUSE and also
serves the exporter.
"""
