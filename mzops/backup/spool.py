"""The disk spool: a client's stream is written to segment files on the backup server
while the client sends it, and each full segment goes to tape at drive speed, so a
drive never waits on a slow client (it would stop and reposition, "shoe-shining") and
a part that meets a write error can be written again from the segment on disk.

Segments hold the stream as it goes to tape (after encryption, for an encrypted job),
mode 0600 in a 0700 folder, and are removed once on tape. At most two of one stream are
on disk at a time: one being filled, one being written.
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path
from typing import Iterable, Iterator

from mzops.errors import OperationFailed


def segments(chunks: Iterable[bytes], folder: Path, stem: str, segment_size: int) -> Iterator[Path]:
    """CHUNKS written to files FOLDER/STEM.N.spool of at most SEGMENT_SIZE bytes; each
    file's path once it is complete (closed)."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    number, handle, written = 0, None, 0
    try:
        for chunk in chunks:
            view = memoryview(chunk)
            while view:
                if handle is None:
                    number += 1
                    path = folder / f"{stem}.{number}.spool"
                    handle = open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
                    written = 0
                room = segment_size - written
                handle.write(view[:room])
                written += min(room, len(view))
                view = view[room:]
                if written == segment_size:
                    handle.close()
                    handle = None
                    yield path
        if handle is not None:
            handle.close()
            handle = None
            yield path
    except OSError as exc:
        raise OperationFailed(f"spool {folder}: {exc.strerror or exc}") from None
    finally:
        if handle is not None:
            handle.close()
            path.unlink(missing_ok=True)


class Filler:
    """`segments` in a thread of its own, one segment ahead of the writer."""

    def __init__(self, chunks: Iterable[bytes], folder: Path, stem: str, segment_size: int):
        self.ready: "queue.Queue[Path | None]" = queue.Queue(maxsize=1)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._fill, args=(chunks, folder, stem, segment_size), daemon=True)
        self.thread.start()

    def _fill(self, chunks, folder, stem, segment_size) -> None:
        try:
            for path in segments(chunks, folder, stem, segment_size):
                self.ready.put(path)
        except BaseException as exc:  # noqa: BLE001 - handed to the writer's thread in __iter__
            self.failure = exc
        finally:
            self.ready.put(None)

    def __iter__(self) -> Iterator[Path]:
        while (path := self.ready.get()) is not None:
            try:
                yield path
            finally:
                path.unlink(missing_ok=True)
        self.thread.join()
        if self.failure is not None:
            raise self.failure

    def discard(self) -> None:
        """After the writer gave up (its source stopped): the segments left, removed."""
        while self.thread.is_alive() or not self.ready.empty():
            try:
                path = self.ready.get(timeout=0.5)
            except queue.Empty:
                continue
            if path is None:
                break
            path.unlink(missing_ok=True)
        self.thread.join(timeout=5)
