"""Locks taken one way: an flock on a file under $MZOPS_HOME/<capability>/.

`exclusive` is the run lock (one harden run, one firewall push, one nightly backup at
a time on this controller; a timer and an engineer may start one together). It never
waits: the second caller is told who holds it. `serialised` lets the writers of one
file (the operation log, the lab's state, a cache being built) take turns: it waits.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from typing import IO, Iterator

from mzops.errors import InputError, OperationFailed
from mzops.paths import mzops_home


class Busy(InputError):
    """Another run of the same capability holds the lock."""


@contextmanager
def exclusive(capability: str, what: str = "") -> Iterator[None]:
    folder = mzops_home() / capability
    path = folder / ".lock"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle = open(path, "a+")
    except OSError as exc:
        raise OperationFailed(f"{path}: cannot take the run lock: {exc.strerror}") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            pid, _, holder = handle.read().strip().partition(": ")      # "pid N: what it runs"
            raise Busy(f"another mzops {holder or capability} holds {path}" + (f" ({pid})" if pid else "")
                       + (f"; this one ({what}) did not start" if what else "")) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}: {what or capability}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()


@contextmanager
def serialised(handle: IO) -> Iterator[None]:
    """Hold HANDLE's file for one writer at a time (waits for the others)."""
    fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
