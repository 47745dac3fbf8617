"""Saved running configurations: $MZOPS_HOME/firewalls/NAME/STAMP-REASON.cfg, one file
per save (mode 0600: configurations carry password hashes), never rewritten."""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from mzops.errors import InputError
from mzops.paths import mzops_home

# "backup" is what `firewall save` was called before: its old files still list.
REASONS = ("saved", "before-push", "after-push", "after-rollback", "backup")
_NAME = re.compile(r"^(\d{8}T\d{6}\.\d{3}Z)-([a-z-]+)\.cfg$")


@dataclass(frozen=True)
class Version:
    index: int              # 1 = oldest
    stamp: str              # 20261129T230102.123Z (UTC)
    reason: str
    path: Path

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def to_dict(self) -> dict:
        return {"index": self.index, "stamp": self.stamp, "reason": self.reason, "path": str(self.path),
                "bytes": self.path.stat().st_size, "sha256": self.sha256}


def folder(name: str) -> Path:
    if not re.fullmatch(r"[\w.-]+", name):
        raise InputError(f"not a firewall name: {name!r}")
    return mzops_home() / "firewalls" / name


def save(name: str, text: str, reason: str) -> Path:
    assert reason in REASONS
    where = folder(name)
    where.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"
    path = where / f"{stamp}-{reason}.cfg"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def versions(name: str) -> list[Version]:
    where = folder(name)
    found = sorted(p for p in where.glob("*.cfg") if _NAME.match(p.name)) if where.is_dir() else []
    return [Version(i, *_NAME.match(p.name).groups(), p) for i, p in enumerate(found, start=1)]


def pick(name: str, which: str, option: str) -> Version:
    """A version by index (1 = oldest, -1 = newest) or by its stamp (a prefix will do)."""
    known = versions(name)
    if not known:
        raise InputError(f"{name}: no saved configuration (run `mzops firewall save --limit {name}`)")
    if re.fullmatch(r"-?\d+", which):
        index = int(which)
        if index == 0 or abs(index) > len(known):
            raise InputError(f"{option}: {name} has versions 1..{len(known)}, not {which}")
        return known[index - 1] if index > 0 else known[index]
    matches = [v for v in known if v.stamp.startswith(which)]
    if len(matches) != 1:
        raise InputError(f"{option}: {which!r} names {len(matches)} versions of {name} (give an index or a longer stamp)")
    return matches[0]


def diff(a: Version, b: Version) -> str:
    return "".join(difflib.unified_diff(
        a.path.read_text(encoding="utf-8").splitlines(True), b.path.read_text(encoding="utf-8").splitlines(True),
        f"{a.index}:{a.stamp} ({a.reason})", f"{b.index}:{b.stamp} ({b.reason})"))
