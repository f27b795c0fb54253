"""Pure, synchronous telemetry parsers: stdlib only, no FUSE, no trio.

Every public entry point takes a binary file (or bytes) and returns the
dataclasses of :mod:`telemetryfs.parsers.model`, or raises a
:class:`~telemetryfs.parsers.errors.ParseError`. Nothing else escapes.
"""
