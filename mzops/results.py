"""The audit's records: rule results per target, targets per run.

Each audited target reduces to one `mzops.run.Outcome` (failed when a rule failed or
could not be evaluated, or the target could not be assessed), and the run's exit code
is the run layer's one rule over those outcomes. JSON is the contract other tools read.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from mzops import run as runlayer

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

    def outcome(self) -> runlayer.Outcome:
        if self.status == UNREACHABLE:
            return runlayer.Outcome(self.name, runlayer.UNREACHABLE, self.message, seconds=self.seconds, record=self)
        if self.status != ASSESSED:
            return runlayer.Outcome(self.name, runlayer.FAILED, self.message or "not assessed",
                                    seconds=self.seconds, record=self)
        c = self.counts()
        said = f"{c['pass']} pass, {c['fail']} fail, {c['error']} error, {c['manual']} manual"
        state = runlayer.FAILED if c["fail"] or c["error"] else runlayer.OK
        return runlayer.Outcome(self.name, state, said, seconds=self.seconds, record=self)

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

    run_id: str = ""

    @property
    def failed_targets(self) -> list[str]:
        return [t.name for t in self.targets if any(r.status in ("fail", "error") for r in t.results)]

    @property
    def unassessed_targets(self) -> list[str]:
        return [t.name for t in self.targets if t.status != ASSESSED]

    def result(self) -> runlayer.Result:
        return runlayer.Result("audit", self.run_id, [t.outcome() for t in self.targets], self.seconds)

    def exit_code(self) -> int:
        return self.result().exit_code()

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile, "generated_at": self.generated_at,
            "seconds": round(self.seconds, 3),
            "summary": {
                "targets": len(self.targets), "failed": self.failed_targets,
                "unassessed": self.unassessed_targets,
                "unreachable": [t.name for t in self.targets if t.status == UNREACHABLE],
            },
            "expired_waivers": self.expired_waivers,
            "targets": [t.to_dict() for t in self.targets],
        }
