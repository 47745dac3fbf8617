"""Reading a tar stream member by member, with the SHA-256 of each file's content, by
libarchive (Debian's libarchive13, through libarchive-c): its C reader of POSIX pax
archives, GNU sparse files and non-UTF-8 names (pax hdrcharset=BINARY) takes a
million small files in seconds, where Python's tarfile takes minutes.

A member's name is the bytes the file system had (libarchive's multibyte form, which
Python's UTF-8 locale leaves as they are), without a directory's trailing slash, as
GNU tar and Python's tarfile name it."""

from __future__ import annotations

import ctypes
import hashlib
from dataclasses import dataclass
from typing import Iterable, Iterator

import libarchive
from libarchive import ffi
from libarchive.exception import ArchiveError

# archive_read_header_position(3): the stream offset of the header just read (for pax,
# of the extended header before it); libarchive-c does not bind it
_position = ffi.ffi("read_header_position", [ffi.c_archive_p], ctypes.c_longlong)


class StreamError(Exception):
    """The stream is not a tar archive libarchive can read to its end."""


@dataclass
class Member:
    raw: bytes              # the name's bytes
    kind: str               # file | dir | link (symbolic) | hard | other
    size: int
    mtime: int
    sha256: str             # of a file's content ("" for other kinds)
    offset: int             # where its first header begins in the stream (a restore of it seeks there)


def members(chunks: Iterable[bytes]) -> Iterator[Member]:
    """Each member of the tar stream CHUNKS, in stream order."""
    source = iter(chunks)
    held: list[bytes] = []          # the chunk libarchive is reading: alive until the next call

    def read(_archive, _context, pointer):
        for chunk in source:
            if chunk:
                chunk = bytes(chunk)
                held[:] = [chunk]
                ctypes.cast(pointer, ctypes.POINTER(ctypes.c_void_p))[0] = ctypes.cast(
                    ctypes.c_char_p(chunk), ctypes.c_void_p)
                return len(chunk)
        return 0

    buffer = ctypes.create_string_buffer(1 << 20)       # one for every file: a fresh one per file costs a memset
    try:
        # seek_func=0: a pipe cannot seek (libarchive-c 5.3 wants a callable or an address)
        with libarchive.custom_reader(read, format_name="tar", filter_name="none", seek_func=0) as archive:
            for entry in archive:
                offset = _position(archive._pointer)
                pointer = entry._entry_p
                raw = ffi.entry_pathname(pointer) or b""
                if ffi.entry_hardlink(pointer):
                    kind = "hard"
                elif entry.isdir:
                    kind, raw = "dir", raw.rstrip(b"/")
                elif entry.issym:
                    kind = "link"
                elif entry.isreg:
                    kind = "file"
                else:
                    kind = "other"
                digest = ""
                if kind == "file":
                    h = hashlib.sha256()
                    while (length := ffi.read_data(archive._pointer, buffer, len(buffer))) > 0:
                        h.update(memoryview(buffer)[:length])
                    digest = h.hexdigest()
                yield Member(raw, kind, entry.size or 0, int(ffi.entry_mtime(pointer)), digest, offset)
    except ArchiveError as exc:
        raise StreamError(str(exc)) from None
    finally:
        for _ in source:            # drain, so whoever feeds the chunks never blocks
            pass
