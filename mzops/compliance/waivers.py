"""Waivers: an approved, time-limited exception for a rule on some targets.

An expired waiver no longer applies; the run reports it as expired so the auditor
sees it lapse instead of the finding silently coming back.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mzops import yamlfile
from mzops.errors import InputError


class Waiver(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str = Field(min_length=1)          # rule id, or a prefix ending in *
    targets: str = Field(min_length=1)       # asset or group name, glob allowed
    justification: str = Field(min_length=10)
    approver: str = Field(min_length=1)
    expires: dt.date

    def covers(self, rule_id: str, name: str, groups: list[str]) -> bool:
        rule_ok = fnmatch.fnmatchcase(rule_id, self.rule)
        return rule_ok and any(fnmatch.fnmatchcase(n, self.targets) for n in [name, *groups])

    def to_dict(self) -> dict:
        return {**self.model_dump(), "expires": self.expires.isoformat()}


class WaiverFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    waivers: tuple[Waiver, ...] = ()


def load(path: Path, known_rules: set[str], names: set[str] | None = None) -> list[Waiver]:
    """The waivers of a file; with `names` (the estate's assets and groups), a waiver
    whose targets match none of them is refused: it would silently never apply."""
    doc = yamlfile.load(path)
    if not isinstance(doc.data, dict):
        raise InputError(f"{path}:1: expected a mapping with a 'waivers' list")
    try:
        parsed = WaiverFile.model_validate(doc.data)
    except ValidationError as exc:
        err = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        raise doc.error(tuple(err["loc"]), message) from None
    for index, waiver in enumerate(parsed.waivers):
        if not any(fnmatch.fnmatchcase(r, waiver.rule) for r in known_rules):
            raise doc.error(("waivers", index, "rule"), f"no rule matches {waiver.rule!r}")
        if names is not None and not any(fnmatch.fnmatchcase(n, waiver.targets) for n in names):
            raise doc.error(("waivers", index, "targets"), f"{waiver.targets!r} matches no asset or group")
    return list(parsed.waivers)


def split(waivers: list[Waiver], today: dt.date) -> tuple[list[Waiver], list[Waiver]]:
    """(in force, expired)"""
    return [w for w in waivers if w.expires >= today], [w for w in waivers if w.expires < today]
