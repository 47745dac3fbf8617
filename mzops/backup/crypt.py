"""Encryption of jobs that hold personal data (GB/T 22239-2019 8.1.4.8): age (Debian
package `age`), authenticated encryption a restorer can undo by hand with
`age -d -i KEYFILE`. The job names a credential reference to an age identity
(`AGE-SECRET-KEY-1...`, kept in Vault/OpenBao); the identity reaches age through a pipe
(/dev/fd/N), never a file, an argument or a log; only the public recipient (age1...)
goes on the tape, in the header. Each file's SHA-256 is still taken from the
plaintext, before encryption.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from typing import Iterable, Iterator

from mzops.errors import OperationFailed


def _age(tool: str = "age") -> str:
    found = shutil.which(tool)
    if found is None:
        raise OperationFailed(f"{tool} is not installed (Debian package age): encrypted jobs need it")
    return found


def recipient(identity: str) -> str:
    """The public recipient of an age identity."""
    done = subprocess.run([_age("age-keygen"), "-y"], input=identity.strip() + "\n", capture_output=True, text=True)
    if done.returncode != 0 or not done.stdout.startswith("age1"):
        raise OperationFailed("the job's encryption key is not an age identity (AGE-SECRET-KEY-1...)")
    return done.stdout.strip()


def _pump(chunks: Iterable[bytes], sink, errors: list[BaseException]) -> None:
    try:
        for chunk in chunks:
            sink.write(chunk)
    except BaseException as exc:    # noqa: BLE001 - reported by the reader's side
        errors.append(exc)
    finally:
        try:
            sink.close()
        except OSError:
            pass


def _through(argv: list[str], chunks: Iterable[bytes], pass_fds: tuple[int, ...] = ()) -> Iterator[bytes]:
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            pass_fds=pass_fds)
    for fd in pass_fds:
        os.close(fd)
    errors: list[BaseException] = []
    feeder = threading.Thread(target=_pump, args=(chunks, proc.stdin, errors), daemon=True)
    feeder.start()
    try:
        for chunk in iter(lambda: proc.stdout.read(1 << 20), b""):
            yield chunk
    finally:
        feeder.join()
        said = proc.stderr.read().decode(errors="replace").strip()
        code = proc.wait()
    if errors:
        raise errors[0]
    if code != 0:
        raise OperationFailed(f"age failed: {said.splitlines()[-1] if said else code}")


def encrypt(chunks: Iterable[bytes], to: str) -> Iterator[bytes]:
    return _through([_age(), "--encrypt", "--recipient", to], chunks)


def decrypt(chunks: Iterable[bytes], identity: str) -> Iterator[bytes]:
    read, write = os.pipe()
    os.write(write, (identity.strip() + "\n").encode())     # a key is far smaller than a pipe's buffer
    os.close(write)
    return _through([_age(), "--decrypt", "--identity", f"/dev/fd/{read}"], chunks, pass_fds=(read,))
