"""Collect a host's facts in one SSH execution, and keep them as a portable bundle.

A bundle is the raw output of each collector section (bytes + exit code). It can be
saved (`--save-facts`) and evaluated again offline (`mzops audit evaluate`), which is
also how rules about the shared kernel are tested on recorded facts.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
import datetime as dt
import secrets
from importlib import resources

from mzops.bundle import Bundle, CollectionError, Section
from mzops.connect import ssh

def script() -> bytes:
    return resources.files("mzops.compliance").joinpath("collect_linux.sh").read_bytes()


def collect(target: ssh.Target, groups: list[str], timeout: float = 300, extra: str = "",
            name: str | None = None) -> Bundle:
    """Collect GROUPS, then run EXTRA (shell lines using the script's functions, e.g. a
    database's SQL sections), in one SSH execution. NAME: the asset the bundle is for."""
    nonce = "MZ" + secrets.token_hex(8)
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    text = script() + b"\n" + extra.encode() if extra else script()
    run = ssh.run_script(target, text, [nonce, *groups], timeout=timeout, compress=True)
    if run.transport_failed:
        raise CollectionError(_first_line(run.stderr) or "ssh failed", unreachable=True)
    sections = parse(_gunzip(run.stdout), nonce)
    if not sections:
        raise CollectionError(
            f"no facts returned (exit {run.rc}): {_first_line(run.stderr) or 'empty output'}",
            unreachable=False)
    return Bundle(name or target.name, started, sections, run.seconds)


def _gunzip(data: bytes) -> bytes:
    """Output is gzipped when the target had gzip; a cut-off stream yields what arrived."""
    if not data.startswith(b"\x1f\x8b"):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError):
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def parse(output: bytes, nonce: str) -> dict[str, Section]:
    """Split the framed output; a section cut off mid-way is dropped, not guessed."""
    sections: dict[str, Section] = {}
    begin, end = f"{nonce} BEGIN ".encode(), f"{nonce} END ".encode()
    name: str | None = None
    chunks: list[bytes] = []
    for line in output.split(b"\n"):
        if line.startswith(begin):
            name, chunks = line[len(begin):].decode(errors="replace"), []
        elif line.startswith(end) and name is not None:
            rest = line[len(end):].decode(errors="replace").rsplit(" ", 1)
            rc = int(rest[1]) if len(rest) == 2 and rest[1].strip().isdigit() else -1
            try:
                sections[name] = Section(rc, base64.b64decode(b"".join(chunks)))
            except binascii.Error:
                pass
            name = None
        elif name is not None:
            chunks.append(line.strip())
    return sections
