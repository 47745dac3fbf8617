"""A tape drive whose cartridges are folders of plain files, with st semantics (see
`mzops.backup.tape`). Used by the tests and for disk staging; the README says it is
a simulation.

A cartridge folder holds `cartridge.json` (capacity, early-warning distance, write
protection, injected faults) and, per tape file N, `file-N.dat` (its records one after
another: what `dd` would read from the tape) and `file-N.idx` (each record's length).
A tape file can therefore be restored with `dd`/`tar` on `file-N.dat` alone, as it
could from a real tape after `mt fsf N`.
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from mzops.backup.tape import (BlockTooLarge, DriveStatus, EarlyWarning, MediaError, MediumFull, NoMedium,
                               Position, TapeError, WriteProtected)

MAX_RECORD = 16 * 1024 * 1024        # the st driver's largest variable-mode record here


@dataclass
class Cartridge:
    barcode: str
    capacity: int = 64 * 1024 * 1024          # bytes
    early_warning: int = 1024 * 1024          # bytes before the physical end
    write_protected: bool = False
    fail_write_after: int | None = None       # injected: the write after N succeeds fails
    fail_read_after: int | None = None

    @staticmethod
    def create(folder: Path, barcode: str, **settings) -> Path:
        """A new blank cartridge at FOLDER/BARCODE."""
        path = folder / barcode
        path.mkdir(parents=True, exist_ok=False)
        (path / "cartridge.json").write_text(json.dumps(asdict(Cartridge(barcode, **settings))))
        return path

    @staticmethod
    def read(path: Path) -> "Cartridge":
        return Cartridge(**json.loads((path / "cartridge.json").read_text()))

    def save(self, path: Path) -> None:
        (path / "cartridge.json").write_text(json.dumps(asdict(self)))


class FileDrive:
    def __init__(self, name: str):
        self.name = name
        self._path: Path | None = None
        self._cart: Cartridge | None = None
        self._file = 0
        self._block = 0
        self._block_size = 0
        self._written = False       # the last operation was a write: closing writes a file mark
        self._eod_reads = 0
        self._ew_reported = False
        self._writes = 0
        self._reads = 0
        self._index: dict[int, list[int]] = {}
        self._used_bytes: int | None = None
        self._out = None                        # (file number, data, index) being appended to
        self._in = None                         # (file number, data) being read
        self._starts: tuple = (None, [])        # ((file, records), offset of each record)

    # -------------------------------------------------------------- medium

    def load(self, cartridge: Path) -> None:
        if self._path is not None:
            raise TapeError(f"{self.name}: a cartridge is already loaded ({self._cart.barcode})")
        self._path, self._cart = cartridge, Cartridge.read(cartridge)
        self._file = self._block = 0
        self._written, self._eod_reads, self._ew_reported = False, 0, False
        self._writes = self._reads = 0
        self._index, self._used_bytes = {}, None

    def eject(self) -> None:
        """Unload (MTOFFL): close the file being written, rewind, give the medium back."""
        self.close()
        self._path = self._cart = None

    @property
    def cartridge(self) -> Path | None:
        return self._path

    def _medium(self) -> Path:
        if self._path is None:
            raise NoMedium(f"{self.name}: no medium loaded (DR_OPEN)")
        return self._path

    # -------------------------------------------------------------- layout

    def _files(self) -> int:
        """Tape files recorded (each ends in a file mark)."""
        count = 0
        while (self._medium() / f"file-{count}.idx").exists():
            count += 1
        return count

    def _records(self, number: int) -> list[int]:
        # kept per tape file: reads go record by record and must not re-read the index
        if number not in self._index:
            idx = self._medium() / f"file-{number}.idx"
            self._index[number] = [int(x) for x in idx.read_text().split()] if idx.exists() else []
        return self._index[number]

    def _used(self) -> int:
        if self._used_bytes is None:
            self._used_bytes = sum(sum(self._records(n)) for n in range(self._files()))
        return self._used_bytes

    # -------------------------------------------------------------- status and motion

    def status(self) -> DriveStatus:
        if self._path is None:
            return DriveStatus(False, None, self._block_size, flags=["DR_OPEN"])
        files = self._files()
        bot = self._file == 0 and self._block == 0
        eod = self._file >= files and self._block == 0 and not self._written
        eof = self._block == 0 and self._file > 0 and not eod
        flags = ["ONLINE"] + (["BOT"] if bot else []) + (["EOF"] if eof else []) + (["EOD"] if eod else [])
        if self._cart.write_protected:
            flags.append("WR_PROT")
        return DriveStatus(True, Position(self._file, self._block), self._block_size, bot, eof, eod,
                           self._cart.write_protected, flags)

    def set_block_size(self, size: int) -> None:
        if size < 0 or size > MAX_RECORD:
            raise TapeError(f"{self.name}: block size {size} not supported")
        self._block_size = size

    def _settle(self) -> None:
        """A write followed by any motion ends the tape file (st writes the file mark)."""
        if self._written:
            self.write_filemark()

    def rewind(self) -> None:
        self._medium()
        self._settle()
        self._file = self._block = 0
        self._eod_reads = 0

    def forward_files(self, count: int = 1) -> None:
        self._medium()
        self._settle()
        if self._file + count > self._files():
            self._file, self._block = self._files(), 0
            raise MediaError(f"{self.name}: forward space past the end of data (file {self._file})")
        self._file, self._block = self._file + count, 0

    def forward_records(self, count: int = 1) -> None:
        """MTFSR: over COUNT records; meeting the file mark first is an error (st(4): EIO,
        the head after the mark)."""
        self._medium()
        self._settle()
        records = self._records(self._file)
        if self._block + count > len(records):
            self._file, self._block = self._file + 1, 0
            raise MediaError(f"{self.name}: forward space over a file mark ({count} records asked)")
        self._block += count

    def back_files(self, count: int = 1) -> None:
        """To the start of the COUNT-th earlier tape file (mt bsfm semantics: after its mark)."""
        self._medium()
        self._settle()
        target = self._file - count
        if target < 0:
            self._file = self._block = 0
            raise MediaError(f"{self.name}: back space past the beginning of the tape")
        self._file, self._block = target, 0

    def end_of_data(self) -> None:
        self._medium()
        self._settle()
        self._file, self._block = self._files(), 0

    # -------------------------------------------------------------- writing

    def write(self, data: bytes) -> int:
        path = self._medium()
        if self._cart.write_protected:
            raise WriteProtected(f"{self.name}: {self._cart.barcode} is write-protected")
        if self._block_size and len(data) % self._block_size:
            raise TapeError(f"{self.name}: {len(data)} bytes is not a multiple of the block size {self._block_size}")
        if not self._block_size and len(data) > MAX_RECORD:
            raise TapeError(f"{self.name}: a {len(data)}-byte record is larger than {MAX_RECORD}")
        if self._cart.fail_write_after is not None and self._writes >= self._cart.fail_write_after:
            raise MediaError(f"{self.name}: write error on {self._cart.barcode} (file {self._file}, "
                             f"block {self._block})")
        if not self._written:
            self._truncate_here()
        used = self._used()
        if used + len(data) > self._cart.capacity:
            raise MediumFull(f"{self.name}: end of medium on {self._cart.barcode}")
        if used >= self._cart.capacity - self._cart.early_warning and not self._ew_reported:
            self._ew_reported = True
            raise EarlyWarning(f"{self.name}: early warning: {self._cart.barcode} is nearly full")
        records = [len(data)] if not self._block_size else [self._block_size] * (len(data) // self._block_size)
        out, idx = self._appending(path)
        out.write(data)
        idx.write("".join(f"{r}\n" for r in records).encode())
        self._records(self._file).extend(records)
        self._used_bytes = used + len(data)
        self._block += len(records)
        self._written, self._writes = True, self._writes + 1
        return len(data)

    def _appending(self, path: Path):
        """The tape file being written, data and index, kept open between records
        (unbuffered: another drive object reading the cartridge sees every record)."""
        if self._out is None or self._out[0] != self._file:
            self._release()
            self._out = (self._file, open(path / f"file-{self._file}.dat", "ab", buffering=0),
                         open(path / f"file-{self._file}.idx", "ab", buffering=0))
        return self._out[1], self._out[2]

    def _release(self) -> None:
        if self._out is not None:
            self._out[1].close()
            self._out[2].close()
            self._out = None
        if self._in is not None:
            self._in[1].close()
            self._in = None

    def _reading(self, path: Path, records: list[int]):
        """The tape file being read, kept open, with where each of its records starts."""
        if self._in is None or self._in[0] != self._file:
            if self._in is not None:
                self._in[1].close()
            self._in = (self._file, open(path / f"file-{self._file}.dat", "rb"))
        if self._starts[0] != (self._file, len(records)):
            self._starts = ((self._file, len(records)), [0, *itertools.accumulate(records)])
        return self._in[1]

    def _truncate_here(self) -> None:
        """Writing at a position makes everything after it unreadable."""
        self._release()
        path = self._medium()
        files = self._files()
        for number in range(self._file + 1, files):
            (path / f"file-{number}.dat").unlink(missing_ok=True)
            (path / f"file-{number}.idx").unlink(missing_ok=True)
        records = self._records(self._file)[:self._block]
        data = path / f"file-{self._file}.dat"
        if data.exists():
            os.truncate(data, sum(records))
        (path / f"file-{self._file}.idx").write_text("".join(f"{r}\n" for r in records))
        self._index = {n: r for n, r in self._index.items() if n < self._file}
        self._index[self._file] = records
        self._used_bytes = None

    def write_filemark(self, count: int = 1) -> None:
        path = self._medium()
        if self._cart.write_protected:
            raise WriteProtected(f"{self.name}: {self._cart.barcode} is write-protected")
        if not self._written:
            self._truncate_here()
            self._written = True
        self._release()
        for _ in range(count):
            (path / f"file-{self._file}.idx").touch()
            (path / f"file-{self._file}.dat").touch()
            self._file, self._block = self._file + 1, 0
        self._written = False

    def close(self) -> None:
        """Closing the device after writing writes a file mark (st(4))."""
        if self._path is not None:
            self._settle()
        self._release()

    # -------------------------------------------------------------- reading

    def read(self, size: int) -> bytes:
        path = self._medium()
        self._settle()
        if self._cart.fail_read_after is not None and self._reads >= self._cart.fail_read_after:
            raise MediaError(f"{self.name}: read error on {self._cart.barcode} (file {self._file}, block {self._block})")
        self._reads += 1
        if self._file >= self._files():
            self._eod_reads += 1
            if self._eod_reads > 1:
                raise MediaError(f"{self.name}: read past the end of data (blank check)")
            return b""
        records = self._records(self._file)
        if self._block >= len(records):          # the file mark: one empty read, then the next file
            self._file, self._block = self._file + 1, 0
            return b""
        length = records[self._block]
        if self._block_size == 0 and size < length:
            raise BlockTooLarge(f"{self.name}: a {length}-byte record does not fit a {size}-byte read")
        count = 1 if self._block_size == 0 else max(1, min(size // length, len(records) - self._block))
        data = self._reading(path, records)
        data.seek(self._starts[1][self._block])
        out = data.read(sum(records[self._block:self._block + count]))
        self._block += count
        self._eod_reads = 0
        return out
