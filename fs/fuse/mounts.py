"""Which filesystem a path lives on, from /proc/self/mountinfo.

The daemon runs a local file's stat, open and cached reads on its event loop
(Store.run_quick): on a disk they take microseconds. On a network filesystem
(an NFS or SMB share of a NAS, sshfs, rclone) one can wait for the network, or
hang with the server, and would stall every request: those stay in threads.
"""

from __future__ import annotations

import os
from pathlib import Path

# Filesystems on a local block device (or in memory). Anything else, including
# every FUSE filesystem but fuseblk (ntfs-3g, exfat-fuse: a local disk), is
# treated as possibly remote.
LOCAL_FILESYSTEMS = frozenset(
    {
        "apfs",
        "btrfs",
        "exfat",
        "ext2",
        "ext3",
        "ext4",
        "f2fs",
        "fuseblk",
        "hfs",
        "hfsplus",
        "iso9660",
        "jfs",
        "msdos",
        "nilfs2",
        "ntfs",
        "ntfs3",
        "overlay",
        "ramfs",
        "reiserfs",
        "tmpfs",
        "udf",
        "vfat",
        "xfs",
        "zfs",
    }
)

MOUNTINFO = Path("/proc/self/mountinfo")


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes."""
    for escaped, char in (("\\040", " "), ("\\011", "\t"), ("\\012", "\n"), ("\\134", "\\")):
        field = field.replace(escaped, char)
    return field


def filesystem_type(path: str | os.PathLike[str], mountinfo: str | None = None) -> str | None:
    """The type of the filesystem ``path`` is on (``ext4``, ``nfs4``...); None if unknown.

    ``mountinfo``: the table's text (default: this process's).
    """
    try:
        target = os.path.realpath(path)
        text = mountinfo if mountinfo is not None else MOUNTINFO.read_text()
    except OSError:
        return None
    best, best_type = "", None
    for line in text.splitlines():
        # id parent major:minor root MOUNTPOINT options [optional...] - TYPE source super
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5 or not right.split():
            continue
        point = _unescape(fields[4])
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        # The longest mount point holding the path wins; a later line with the same
        # point is a mount on top of the earlier one.
        if inside and len(point) >= len(best):
            best, best_type = point, right.split()[0]
    return best_type


def on_local_disk(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is on a local disk (see LOCAL_FILESYSTEMS)."""
    return filesystem_type(path) in LOCAL_FILESYSTEMS
