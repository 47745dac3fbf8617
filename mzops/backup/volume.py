"""The open tape format: what mzops writes on a volume, so that a tape can be read back
with `mt`, `dd` and `tar` alone, decades later, without mzops or its catalogue.

    tape file 0       the volume label: one 32 KiB header record
    tape file 1..n    one part of a stream each: a 32 KiB header record saying in
                      words and commands what follows and how to restore it, then
                      the stream's bytes in records of the pool's block size
                      (a stream too long for one volume continues, as its next
                      part, on the next volume)
    manifest files    a header record, then JSON: the job, its level and parent
                      chain, each part's volume and tape file, the SHA-256 of each
                      part and of each file in the archive (`catalogue rebuild`
                      reads only these)

A header is plain text padded with NUL bytes to HEADER_SIZE, `key: value` lines first
(read back by `parse_header`), then the restore recipe.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import queue
import threading
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterable, Iterator

from mzops.backup.tape import Drive, EarlyWarning, MediaError, TapeError

HEADER_SIZE = 32 * 1024
MAGIC = "MZOPS TAPE FILE"
LABEL, PART, MANIFEST = "volume label", "stream part", "manifest"


class FormatError(TapeError):
    """What is on the tape is not what mzops wrote there (or not where it should be)."""


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def header(fields: dict[str, str], recipe: list[str]) -> bytes:
    lines = [MAGIC] + [f"{k}: {v}" for k, v in fields.items()] + [""] + recipe
    text = ("\n".join(lines) + "\n").encode()
    if len(text) > HEADER_SIZE:
        raise FormatError(f"a tape file header of {len(text)} bytes does not fit {HEADER_SIZE}")
    return text + b"\0" * (HEADER_SIZE - len(text))


def parse_header(record: bytes) -> dict[str, str]:
    text = record.rstrip(b"\0").decode(errors="replace")
    lines = text.split("\n")
    if not lines or lines[0] != MAGIC:
        raise FormatError("not an mzops tape file header")
    out = {}
    for line in lines[1:]:
        if not line:
            break
        key, _, value = line.partition(": ")
        out[key] = value
    return out


def label(drive: Drive, barcode: str, pool: str, block_size: int, force: bool = False) -> None:
    """Write the volume label at the beginning of the tape (everything after it is lost)."""
    drive.rewind()
    if not force:
        try:
            found = read_label(drive)
        except TapeError:
            found = None
        if found is not None:
            raise FormatError(f"{drive.name}: the tape is already labelled {found['volume']} (pool "
                              f"{found.get('pool', '?')}); relabelling erases it: give --force")
        drive.rewind()
    drive.set_block_size(0)
    drive.write(header({"kind": LABEL, "volume": barcode, "pool": pool, "block size": str(block_size),
                        "labelled": now()},
                       ["This is an mzops backup volume. Each later tape file begins with a header",
                        "like this one that says what it holds and how to restore it with mt, dd and tar."]))
    drive.write_filemark()


def read_label(drive: Drive) -> dict[str, str]:
    drive.rewind()
    drive.set_block_size(0)
    record = drive.read(HEADER_SIZE)
    if not record:
        raise FormatError(f"{drive.name}: blank tape (no label)")
    found = parse_header(record)
    if found.get("kind") != LABEL:
        raise FormatError(f"{drive.name}: the first tape file is not a volume label")
    return found


def recipe(file_number: int, part: int, parts_note: str, block_size: int, extract: str) -> list[str]:
    return [
        "To restore with standard tools only (mt-st, dd, GNU tar), on the tape drive /dev/nst0:",
        "  mt -f /dev/nst0 rewind",
        f"  mt -f /dev/nst0 fsf {file_number}",
        f"  dd if=/dev/nst0 bs={HEADER_SIZE // 1024}k count=1        # this header",
        f"  dd if=/dev/nst0 bs={max(block_size, HEADER_SIZE) // 1024}k | {extract}",
        f"This is part {part} of the stream{parts_note}. A stream in several parts (on one or more",
        "volumes) is restored by reading its parts in order into one pipe:",
        f"  ( dd ... part 1 ...; dd ... part 2 ... ) | {extract}",
        "An incremental chain is restored level by level: the full first, then each later level.",
    ]


@dataclass
class Part:
    volume: str
    file: int                   # tape file number on the volume
    number: int                 # 1-based within the stream
    bytes: int
    sha256: str


class StreamWriter:
    """Writes one stream as parts: on the loaded volume while it lasts; at the early
    warning the part is closed and the stream goes on, as the next part, on the volume
    `next_volume()` loads (and returns the drive and barcode of). From a spool segment
    (`write_spooled`), a part that meets a write error is written again, whole, on the
    volume `failed_volume(barcode, why)` gives instead.

    `sha256()`: the whole stream's. Each byte is hashed once while the stream is in its
    first part (that part's hash is the stream's so far), twice after (its part's and
    the stream's, carried on from a copy of the parts before)."""

    def __init__(self, drive: Drive | None, volume: str, block_size: int, fields: dict[str, str], extract: str,
                 next_volume: Callable[[], tuple[Drive, str]],
                 failed_volume: Callable[[str, str], tuple[Drive, str]] | None = None):
        self.drive, self.volume, self.block_size = drive, volume, block_size
        self.fields, self.extract, self.next_volume = fields, extract, next_volume
        self.failed_volume = failed_volume
        self.parts: list[Part] = []
        self.bytes = 0
        self._closed = hashlib.sha256()     # the stream's hash through the parts closed
        self._hash: _PartHash | None = None
        self.rewritten: list[str] = []      # "part 2 on V1 (write error ...): written again on V2"

    def _begin_part(self) -> None:
        self.drive.end_of_data()
        status = self.drive.status()
        number = len(self.parts) + 1
        file_number = status.position.file if status.position else 0
        self.drive.set_block_size(0)
        self.drive.write(header({"kind": PART, "volume": self.volume, "file": str(file_number),
                                 "part": str(number), **self.fields, "written": now()},
                                recipe(file_number, number, "", self.block_size, self.extract)))
        self._part_bytes, self._file = 0, file_number
        self._stop_hash()                   # a part begun again after a write error
        # from the same closed parts; in part 1 the part's hash is the stream's
        self._hash = _PartHash(self._closed.copy() if self.parts else None)

    def _end_part(self) -> None:
        self.drive.write_filemark()
        hashed = self._stop_hash()
        self.parts.append(Part(self.volume, self._file, len(self.parts) + 1, self._part_bytes,
                               hashed.part.hexdigest()))
        self._closed = hashed.part if hashed.stream is None else hashed.stream

    def _stop_hash(self) -> "_PartHash | None":
        """The part's hash, once every record put is hashed (its thread ended)."""
        hashed, self._hash = self._hash, None
        if hashed is not None:
            hashed.finish()
        return hashed

    def sha256(self) -> str:
        """The SHA-256 of the whole stream (the parts' bytes in order), once it is written."""
        return self._closed.hexdigest()

    def write(self, chunks: Iterable[bytes]) -> list[Part]:
        try:
            return self._write(chunks)
        finally:
            self._stop_hash()               # a stream given up mid-part leaves no thread behind

    def _write(self, chunks: Iterable[bytes]) -> list[Part]:
        self._begin_part()
        pending = b""
        for chunk in _records(chunks, self.block_size):
            pending = chunk
            while pending:
                try:
                    self.drive.write(pending)
                except EarlyWarning:
                    # the record was not written: close this part, continue on the next volume
                    self._end_part()
                    self.drive, self.volume = self.next_volume()
                    self._begin_part()
                    continue
                self._count(pending)
                pending = b""
        self._end_part()
        return self.parts


    def write_spooled(self, handle: BinaryIO) -> None:
        """The spool segment HANDLE (from its start) as the stream's next part(s) on the
        loaded volume. On a write error the volume is given up and the part begun on it
        is written again from the segment, so the stream on tape never has a hole."""
        try:
            self._write_spooled(handle)
        finally:
            self._stop_hash()

    def _write_spooled(self, handle: BinaryIO) -> None:
        handle.seek(0)
        while True:
            start, saved = handle.tell(), self.bytes
            try:
                self._begin_part()
                for record in iter(lambda: handle.read(self.block_size), b""):
                    try:
                        self.drive.write(record)
                    except EarlyWarning:
                        self._end_part()
                        self.drive, self.volume = self.next_volume()
                        start, saved = handle.tell() - len(record), self.bytes
                        self._begin_part()
                        self.drive.write(record)
                    self._count(record)
                self._end_part()
                return
            except MediaError as exc:
                if self.failed_volume is None:
                    raise
                failed = self.volume
                self.drive, self.volume = self.failed_volume(failed, str(exc))
                self.rewritten.append(f"part {len(self.parts) + 1} on {failed} ({exc}): written again on "
                                      f"{self.volume}")
                handle.seek(start)
                self.bytes = saved

    def _count(self, record: bytes) -> None:
        self._hash.records.put(record)
        self._part_bytes += len(record)
        self.bytes += len(record)


class _PartHash:
    """A part's SHA-256, and the stream's carried on from STREAM when given, taken in a
    thread of its own (hashlib lets go of the GIL for large data) while the writer's
    thread writes the next records: the tape is written and hashed at once."""

    def __init__(self, stream):
        self.part, self.stream = hashlib.sha256(), stream
        self.records: "queue.Queue[bytes | None]" = queue.Queue(maxsize=64)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (record := self.records.get()) is not None:
            self.part.update(record)
            if self.stream is not None:
                self.stream.update(record)

    def finish(self) -> None:
        """After the records put so far are hashed."""
        self.records.put(None)
        self._thread.join()


def _records(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Chunks regrouped into records of SIZE bytes (the last one shorter), as views of
    the chunks where they can be (no copy of a stream that is gigabytes long)."""
    pending = b""
    for chunk in chunks:
        if pending:
            chunk = pending + chunk
        view = memoryview(chunk)
        whole = len(view) // size * size
        for offset in range(0, whole, size):
            yield view[offset:offset + size]
        pending = bytes(view[whole:])
    if pending:
        yield pending


def read_part(drive: Drive, file_number: int, block_size: int) -> tuple[dict[str, str], Iterator[bytes]]:
    """The header of tape file FILE_NUMBER and an iterator over its stream's records."""
    drive.rewind()
    if file_number:
        drive.forward_files(file_number)
    drive.set_block_size(0)
    found = parse_header(drive.read(HEADER_SIZE))
    if found.get("file") not in (None, str(file_number)):
        raise FormatError(f"{drive.name}: tape file {file_number} says it is file {found.get('file')}")

    def records() -> Iterator[bytes]:
        while True:
            record = drive.read(max(block_size, HEADER_SIZE))
            if not record:
                return
            yield record
    return found, records()


def manifest(drive: Drive, volume: str, content: dict) -> int:
    """Append a manifest tape file (header, then the JSON in records); its file number."""
    drive.end_of_data()
    status = drive.status()
    file_number = status.position.file if status.position else 0
    drive.set_block_size(0)
    # no indent: json's C encoder takes none, and a full's manifest lists a million files
    data = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    records = [header({"kind": MANIFEST, "volume": volume, "file": str(file_number), "written": now()},
                      ["The JSON after this header lists the jobs on this volume: their levels and",
                       "parent chains, each part's volume and tape file, and the SHA-256 of every file.",
                       f"  mt -f /dev/nst0 rewind; mt -f /dev/nst0 fsf {file_number}",
                       f"  dd if=/dev/nst0 bs={HEADER_SIZE // 1024}k skip=1 | less"])]
    records += [data[offset:offset + HEADER_SIZE] for offset in range(0, len(data), HEADER_SIZE)]
    for record in records:
        try:
            drive.write(record)
        except EarlyWarning:
            # st(4): the write that meets the early warning is refused once, later ones are
            # written until the physical end; a manifest is small enough to fit there
            drive.write(record)
    drive.write_filemark()
    return file_number


def read_manifests(drive: Drive) -> list[dict]:
    """Every manifest on the loaded volume, in tape order (a rebuild reads only these)."""
    read_label(drive)
    out = []
    file_number = 1
    while True:
        drive.rewind()
        try:
            drive.forward_files(file_number)
        except TapeError:
            return out
        record = drive.read(HEADER_SIZE)
        if not record:
            return out
        found = parse_header(record)
        if found.get("kind") == MANIFEST:
            data = b""
            while True:
                chunk = drive.read(HEADER_SIZE)
                if not chunk:
                    break
                data += chunk
            out.append(json.loads(data))
        file_number += 1
