"""``telemetryfs export SOURCE OUT``: the mount's data without FUSE, for fleets.

geoparquet.py turns parsed clips into GeoParquet tables; catalog.py lists
the clips of a local folder or a remote URL with their version keys;
run.py batches them, runs the batches here or on Dask, skips what is
already exported and shows progress; tree.py writes the mount's tree.
"""
