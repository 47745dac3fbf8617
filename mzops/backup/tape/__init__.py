"""Tape drives and changers behind mzops's own interfaces.

A `Drive` behaves as Linux's non-rewinding `st` device (`/dev/nst*`, st(4)): records
(blocks) are written and read one call each in variable-block mode, or in multiples of
the block size in fixed mode; closing after a write writes a file mark; two file marks
in a row (or blank tape) are the end of data; writing in the middle of a tape makes
everything after the write position unreadable; at the early-warning point the write
that crosses it completes, the next one fails with `EarlyWarning` (ENOSPC) and later
writes are allowed until the physical end (`MediumFull`, EIO).

Implementations: `st.StDrive` (a real drive through the MTIOCTOP/MTIOCGET ioctls),
`filedrive.FileDrive` (cartridges as folders of plain files, for tests and staging);
changers: `changer.MtxChanger` (the `mtx` command) and `filelibrary.FileLibrary`.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field
from typing import Protocol

from mzops.errors import MzopsError


class TapeError(MzopsError):
    """A drive or changer refused an operation; `errno` as the st driver gives it."""

    errno = errno.EIO


class NoMedium(TapeError):
    errno = errno.ENOMEDIUM


class WriteProtected(TapeError):
    errno = errno.EACCES


class EarlyWarning(TapeError):
    """The early-warning point was passed: close the volume (a trailer may still be written)."""

    errno = errno.ENOSPC


class MediumFull(TapeError):
    """The physical end of the medium: nothing more can be written."""

    errno = errno.EIO


class MediaError(TapeError):
    """A read or write error of the medium (or reading past the end of data)."""

    errno = errno.EIO


class BlockTooLarge(TapeError):
    """A variable-mode read with a buffer smaller than the record (st gives ENOMEM)."""

    errno = errno.ENOMEM


class ChangerError(TapeError):
    """The changer refused a move (source empty, destination full, no such element)."""


@dataclass(frozen=True)
class Position:
    file: int           # tape file number from the beginning (0 at BOT)
    block: int          # record number within that file


@dataclass
class DriveStatus:
    loaded: bool
    position: Position | None
    block_size: int                 # 0: variable
    bot: bool = False               # at the beginning of the tape
    eof: bool = False               # just after a file mark
    eod: bool = False               # at the end of recorded data
    write_protected: bool = False
    flags: list[str] = field(default_factory=list)   # as `mt status` names them


class Drive(Protocol):
    name: str

    def status(self) -> DriveStatus: ...
    def set_block_size(self, size: int) -> None: ...
    def rewind(self) -> None: ...
    def forward_files(self, count: int = 1) -> None: ...
    def forward_records(self, count: int = 1) -> None: ...
    def back_files(self, count: int = 1) -> None: ...
    def end_of_data(self) -> None: ...
    def write(self, data: bytes) -> int: ...
    def write_filemark(self, count: int = 1) -> None: ...
    def read(self, size: int) -> bytes: ...
    def close(self) -> None: ...
    def eject(self) -> None: ...


@dataclass
class Element:
    """One element of a changer: a drive (0-based, as mtx numbers them), a storage
    slot or an import/export slot (1-based)."""

    kind: str                       # drive | slot | ie
    number: int
    barcode: str | None = None      # None: empty
    source: int | None = None       # for a full drive: the slot it came from

    @property
    def full(self) -> bool:
        return self.barcode is not None


@dataclass
class ChangerStatus:
    drives: list[Element]
    slots: list[Element]            # storage and import/export slots, as mtx numbers them

    def where(self, barcode: str) -> Element | None:
        return next((e for e in self.drives + self.slots if e.barcode == barcode), None)

    def free_slots(self) -> list[Element]:
        return [s for s in self.slots if s.kind == "slot" and not s.full]


class Changer(Protocol):
    name: str

    def status(self) -> ChangerStatus: ...
    def load(self, slot: int, drive: int) -> None: ...
    def unload(self, slot: int, drive: int) -> None: ...
    def transfer(self, source: int, destination: int) -> None: ...
