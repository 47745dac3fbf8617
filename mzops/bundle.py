"""A fact bundle: the raw output of each collected section (bytes + exit code) of one
target, whichever collector produced it (a host's script, a database's queries, a
firewall's running configuration). Saved with `--save-facts`, evaluated again offline.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path

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


class CollectionError(Exception):
    """The target could not be reached, or answered nothing usable."""

    def __init__(self, message: str, unreachable: bool):
        super().__init__(message)
        self.unreachable = unreachable
