"""Remote sources through fsspec (s3://, gs://, http(s)://, file://): the ``[remote]`` extra.

options.py parses the user's options (no fsspec import); source.py reads one
object by ranges, in batches, pinned to one version; listing.py lists a
prefix as the mount and the exporter see it.
"""
