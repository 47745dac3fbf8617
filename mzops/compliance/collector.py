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
import json
import secrets
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from mzops.connect import ssh
from mzops.errors import InputError

BUNDLE_FORMAT = "mzops-facts/1"


@dataclass
class Section:
    rc: int
    data: bytes

    @property
    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


@dataclass
class Bundle:
    target: str
    collected_at: str
    sections: dict[str, Section] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {
            "format": BUNDLE_FORMAT, "target": self.target, "collected_at": self.collected_at,
            "seconds": round(self.seconds, 3),
            "sections": {name: {"rc": s.rc, "b64": base64.b64encode(s.data).decode()}
                         for name, s in sorted(self.sections.items())},
        }

    @classmethod
    def from_json(cls, data: dict, source: str = "bundle") -> Bundle:
        if not isinstance(data, dict) or data.get("format") != BUNDLE_FORMAT:
            raise InputError(f"{source}: not an mzops fact bundle (format {BUNDLE_FORMAT})")
        try:
            sections = {name: Section(int(s["rc"]), base64.b64decode(s["b64"], validate=True))
                        for name, s in data["sections"].items()}
            return cls(str(data["target"]), str(data["collected_at"]), sections,
                       float(data.get("seconds", 0)))
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise InputError(f"{source}: damaged fact bundle ({exc})") from None

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.target}.json"
        path.write_text(json.dumps(self.to_json(), indent=1))
        return path

    @classmethod
    def load(cls, path: Path) -> Bundle:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: cannot read fact bundle: {exc}") from None
        return cls.from_json(data, str(path))


def script() -> bytes:
    return resources.files("mzops.compliance").joinpath("collect_linux.sh").read_bytes()


class CollectionError(Exception):
    """The target could not be reached, or answered nothing usable."""

    def __init__(self, message: str, unreachable: bool):
        super().__init__(message)
        self.unreachable = unreachable


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
