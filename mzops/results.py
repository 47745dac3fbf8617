"""One result model for every command that acts on many targets.

A run holds per-target results; a target is assessed, unreachable or in error, and
carries rule results (audit) or other items. JSON is the contract other tools read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

ASSESSED, UNREACHABLE, TARGET_ERROR = "assessed", "unreachable", "error"
STATUSES = ("pass", "fail", "error", "notapplicable", "manual", "waived")


@dataclass
class RuleResult:
    rule: str
    title: str
    title_zh: str
    clause: str
    eval_id: str
    severity: str
    status: str
    expected: str
    actual: str
    evidence: list[str]
    remediation: str | None = None
    hint: str = ""
    hint_zh: str = ""
    waiver: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TargetResult:
    name: str
    status: str
    kind: str = "host"
    zone: str = ""
    site: str = ""
    platform: str = ""
    message: str = ""
    seconds: float = 0.0
    results: list[RuleResult] = field(default_factory=list)
    server: str = ""  # for a database: the inventory host it runs on

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATUSES}
        for r in self.results:
            out[r.status] += 1
        return out

    @property
    def score(self) -> float | None:
        """Share of applicable automated rules that pass (waived counts as passed)."""
        c = self.counts()
        total = c["pass"] + c["fail"] + c["error"] + c["waived"]
        return round(100.0 * (c["pass"] + c["waived"]) / total, 1) if total else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "status": self.status, "kind": self.kind, "zone": self.zone,
            "site": self.site, "server": self.server, "platform": self.platform, "message": self.message,
            "seconds": round(self.seconds, 3), "score": self.score, "counts": self.counts(),
            "results": [r.to_dict() for r in self.results],
        }


@dataclass
class Run:
    profile: str
    targets: list[TargetResult]
    generated_at: str = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    expired_waivers: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed_targets(self) -> list[str]:
        return [t.name for t in self.targets if any(r.status in ("fail", "error") for r in t.results)]

    @property
    def unassessed_targets(self) -> list[str]:
        return [t.name for t in self.targets if t.status != ASSESSED]

    def exit_code(self) -> int:
        if self.unassessed_targets:
            return 3
        return 1 if self.failed_targets else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile, "generated_at": self.generated_at,
            "seconds": round(self.seconds, 3),
            "summary": {
                "targets": len(self.targets), "failed": self.failed_targets,
                "unassessed": self.unassessed_targets,
            },
            "expired_waivers": self.expired_waivers,
            "targets": [t.to_dict() for t in self.targets],
        }
