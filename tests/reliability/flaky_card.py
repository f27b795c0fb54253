"""A card reader that fails like a pulled card: a read-only passthrough FUSE filesystem.

``python -m tests.reliability.flaky_card DIR MOUNTPOINT`` mirrors DIR at
MOUNTPOINT. SIGUSR1 "pulls the card": from then on every request fails with
EIO, as a USB card reader does when its card is removed mid-read. SIGUSR2 puts
it back. SIGTERM unmounts. Used by test_changing_source.py to give the
telemetryfs daemon a source that really answers EIO.
"""

from __future__ import annotations

import errno
import os
import signal
import stat
import sys

import pyfuse3
import trio


class FlakyCard(pyfuse3.Operations):
    def __init__(self, root: str) -> None:
        super().__init__()
        self.pulled = False
        self.paths: dict[int, str] = {pyfuse3.ROOT_INODE: root}
        self.inodes: dict[str, int] = {root: pyfuse3.ROOT_INODE}
        self.fds: dict[int, int] = {}

    def _check(self) -> None:
        if self.pulled:
            raise pyfuse3.FUSEError(errno.EIO)

    def _inode(self, path: str) -> int:
        if path not in self.inodes:
            inode = len(self.paths) + pyfuse3.ROOT_INODE
            self.paths[inode], self.inodes[path] = path, inode
        return self.inodes[path]

    def _attrs(self, path: str) -> pyfuse3.EntryAttributes:
        try:
            st = os.lstat(path)
        except OSError as exc:
            raise pyfuse3.FUSEError(exc.errno or errno.EIO) from None
        attrs = pyfuse3.EntryAttributes()
        for name in ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size"):
            setattr(attrs, name, getattr(st, name))
        attrs.st_atime_ns, attrs.st_mtime_ns = st.st_atime_ns, st.st_mtime_ns
        attrs.st_ctime_ns = st.st_ctime_ns
        attrs.st_ino = self._inode(path)
        attrs.attr_timeout = attrs.entry_timeout = 0  # every request reaches us
        return attrs

    async def lookup(
        self, parent_inode: pyfuse3.InodeT, name: pyfuse3.FileNameT, ctx: pyfuse3.RequestContext
    ) -> pyfuse3.EntryAttributes:
        self._check()
        return self._attrs(os.path.join(self.paths[parent_inode], os.fsdecode(name)))

    async def getattr(
        self, inode: pyfuse3.InodeT, ctx: pyfuse3.RequestContext
    ) -> pyfuse3.EntryAttributes:
        self._check()
        return self._attrs(self.paths[inode])

    async def opendir(
        self, inode: pyfuse3.InodeT, ctx: pyfuse3.RequestContext
    ) -> pyfuse3.FileHandleT:
        self._check()
        return pyfuse3.FileHandleT(inode)

    async def readdir(
        self, fh: pyfuse3.FileHandleT, start_id: int, token: pyfuse3.ReaddirToken
    ) -> None:
        self._check()
        names = sorted(os.listdir(self.paths[fh]))
        for i, name in enumerate(names[start_id:], start_id + 1):
            attrs = self._attrs(os.path.join(self.paths[fh], name))
            if not pyfuse3.readdir_reply(token, pyfuse3.FileNameT(os.fsencode(name)), attrs, i):
                break

    async def open(
        self, inode: pyfuse3.InodeT, flags: int, ctx: pyfuse3.RequestContext
    ) -> pyfuse3.FileInfo:
        self._check()
        if flags & os.O_ACCMODE != os.O_RDONLY:
            raise pyfuse3.FUSEError(errno.EROFS)
        fd = os.open(self.paths[inode], os.O_RDONLY)
        self.fds[fd] = inode
        return pyfuse3.FileInfo(fh=pyfuse3.FileHandleT(fd), direct_io=True)

    async def read(self, fh: pyfuse3.FileHandleT, off: int, size: int) -> bytes:
        self._check()
        return os.pread(fh, size, off)

    async def release(self, fh: pyfuse3.FileHandleT) -> None:
        self.fds.pop(fh, None)
        os.close(fh)

    async def statfs(self, ctx: pyfuse3.RequestContext) -> pyfuse3.StatvfsData:
        self._check()
        data = pyfuse3.StatvfsData()
        sv = os.statvfs(self.paths[pyfuse3.ROOT_INODE])
        for name in ("f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files"):
            setattr(data, name, getattr(sv, name))
        data.f_namemax = sv.f_namemax
        return data


def main() -> None:
    root, mountpoint = sys.argv[1], sys.argv[2]
    ops = FlakyCard(os.path.realpath(root))
    pyfuse3.init(ops, mountpoint, {"fsname=flakycard", "ro"})

    async def serve() -> None:
        async with trio.open_nursery() as nursery:

            async def signals() -> None:
                with trio.open_signal_receiver(
                    signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM, signal.SIGINT
                ) as received:
                    async for signum in received:
                        if signum == signal.SIGUSR1:
                            ops.pulled = True
                        elif signum == signal.SIGUSR2:
                            ops.pulled = False
                        else:
                            pyfuse3.terminate()

            nursery.start_soon(signals)
            await pyfuse3.main()
            nursery.cancel_scope.cancel()

    try:
        trio.run(serve)
    finally:
        pyfuse3.close(unmount=True)


if __name__ == "__main__":
    assert stat.S_ISDIR(os.stat(sys.argv[1]).st_mode)
    main()
