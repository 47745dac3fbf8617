"""A real tape drive through Linux's st driver: the non-rewinding device (/dev/nst0),
records read and written with read(2)/write(2), motion and status through the
MTIOCTOP and MTIOCGET ioctls (linux/mtio.h; what `mt` of mt-st sends). Errors come
back as the st driver reports them (st(4), "RETURN VALUE"): ENOSPC at early warning,
EIO at the physical end or on a media error, EACCES/EROFS when write-protected,
ENOMEM when a variable-mode record is larger than the read, ENOMEDIUM without a tape.

This machine has no SCSI layer: the tests exercise this module's ioctl encoding and
its refusal of a device that is not a tape (ENOTTY), and `filedrive` stands in for the
drive everywhere else.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct

from mzops.backup.tape import (BlockTooLarge, DriveStatus, EarlyWarning, MediaError, MediumFull, NoMedium,
                               Position, TapeError, WriteProtected)

# linux/mtio.h: struct mtop {short mt_op; int mt_count;}; struct mtget {long mt_type,
# mt_resid, mt_dsreg, mt_gstat, mt_erreg; __kernel_daddr_t mt_fileno, mt_blkno;}
MTOP = struct.Struct("hi")
MTGET = struct.Struct("lllllii")


def _ioc(direction: int, number: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (ord("m") << 8) | number


MTIOCTOP = _ioc(1, 1, MTOP.size)            # _IOW('m', 1, struct mtop)
MTIOCGET = _ioc(2, 2, MTGET.size)           # _IOR('m', 2, struct mtget)
OPS = {"fsf": 1, "bsf": 2, "fsr": 3, "weof": 5, "rewind": 6, "offline": 7, "eom": 12, "setblk": 20, "load": 30}
# mt_gstat bits (GMT_* in linux/mtio.h)
FLAGS = {0x80000000: "EOF", 0x40000000: "BOT", 0x20000000: "EOT", 0x08000000: "EOD", 0x04000000: "WR_PROT",
         0x01000000: "ONLINE", 0x00040000: "DR_OPEN", 0x00010000: "IM_REP_EN"}
MT_ST_BLKSIZE_MASK = 0xFFFFFF


def _error(name: str, exc: OSError) -> TapeError:
    kind = {errno.ENOSPC: EarlyWarning, errno.EACCES: WriteProtected, errno.EROFS: WriteProtected,
            errno.ENOMEM: BlockTooLarge, errno.ENOMEDIUM: NoMedium}.get(exc.errno, MediaError)
    if exc.errno == errno.ENOTTY:
        return TapeError(f"{name}: not a tape device ({os.strerror(exc.errno)})")
    return kind(f"{name}: {os.strerror(exc.errno or errno.EIO)}")


class StDrive:
    def __init__(self, device: str, name: str | None = None):
        self.device = device                # /dev/nst0: never the rewinding /dev/st0
        self.name = name or device
        self._fd: int | None = None
        self._writing = False

    def _open(self) -> int:
        if self._fd is None:
            try:
                self._fd = os.open(self.device, os.O_RDWR)
            except OSError as exc:
                if exc.errno in (errno.EACCES, errno.EROFS):
                    self._fd = os.open(self.device, os.O_RDONLY)     # a write-protected tape opens read-only
                else:
                    raise _error(self.name, exc) from None
        return self._fd

    def _op(self, op: str, count: int = 1) -> None:
        try:
            fcntl.ioctl(self._open(), MTIOCTOP, MTOP.pack(OPS[op], count))
        except OSError as exc:
            raise _error(self.name, exc) from None

    def status(self) -> DriveStatus:
        try:
            raw = fcntl.ioctl(self._open(), MTIOCGET, bytes(MTGET.size))
        except NoMedium:
            return DriveStatus(False, None, 0, flags=["DR_OPEN"])
        except OSError as exc:
            raise _error(self.name, exc) from None
        _, _, dsreg, gstat, _, fileno, blkno = MTGET.unpack(raw)
        flags = [name for bit, name in FLAGS.items() if gstat & bit]
        loaded = "DR_OPEN" not in flags
        return DriveStatus(loaded, Position(fileno, blkno) if loaded and fileno >= 0 else None,
                           dsreg & MT_ST_BLKSIZE_MASK, "BOT" in flags, "EOF" in flags, "EOD" in flags,
                           "WR_PROT" in flags, flags)

    def set_block_size(self, size: int) -> None:
        self._op("setblk", size)

    def rewind(self) -> None:
        self._op("rewind")

    def forward_files(self, count: int = 1) -> None:
        self._op("fsf", count)

    def forward_records(self, count: int = 1) -> None:
        """MTFSR: space over COUNT records of the tape file (a file mark on the way is an error)."""
        if count:
            self._op("fsr", count)

    def back_files(self, count: int = 1) -> None:
        # MTBSF leaves the head before the mark; one forward puts it at the file's start
        self._op("bsf", count + 1)
        self._op("fsf", 1)

    def end_of_data(self) -> None:
        self._op("eom")

    def write(self, data: bytes) -> int:
        try:
            written = os.write(self._open(), data)
        except OSError as exc:
            if exc.errno == errno.EIO and self._writing:
                raise MediumFull(f"{self.name}: end of medium") from None
            raise _error(self.name, exc) from None
        self._writing = True
        return written

    def write_filemark(self, count: int = 1) -> None:
        self._op("weof", count)
        self._writing = False

    def read(self, size: int) -> bytes:
        try:
            return os.read(self._open(), size)
        except OSError as exc:
            raise _error(self.name, exc) from None

    def close(self) -> None:
        """Closing after a write makes st write the file mark."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd, self._writing = None, False

    def eject(self) -> None:
        self._op("offline")
        self.close()
