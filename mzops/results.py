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


# Verdicts in the terms of an evaluation report. Waived and manual results are no
# evidence of compliance: a clause with nothing else is said to be what it is.
VERDICTS = {
    "compliant": "符合", "partially compliant": "部分符合", "non-compliant": "不符合",
    "waived": "豁免（补偿措施）", "to be checked by hand": "待人工核查", "not applicable": "不适用",
}


def verdict(counts: dict[str, int]) -> str:
    good, bad = counts.get("pass", 0), counts.get("fail", 0) + counts.get("error", 0)
    manual, waived = counts.get("manual", 0), counts.get("waived", 0)
    if bad:
        return "partially compliant" if good else "non-compliant"
    if good:
        return "partially compliant" if manual else "compliant"
    if manual:
        return "to be checked by hand"
    return "waived" if waived else "not applicable"


def counts_template() -> dict:
    return {"pass": 0, "fail": 0, "error": 0, "manual": 0, "waived": 0, "notapplicable": 0}


def clause_verdicts(results: list[RuleResult]) -> dict[str, str]:
    """One asset's verdict per clause."""
    rows: dict[str, dict] = {}
    for r in results:
        rows.setdefault(r.clause, counts_template())[r.status] += 1
    return {clause: verdict(rows[clause]) for clause in sorted(rows, key=clause_key)}


def clause_key(clause: str) -> tuple:
    numbers = [int(n) for n in clause.split()[0].split(".") if n.isdigit()]
    return (numbers, clause)


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
    collected_at: str = ""   # when its facts were collected (the evidence's date)

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
            "collected_at": self.collected_at, "verdicts": clause_verdicts(self.results),
            "results": [r.to_dict() for r in self.results],
        }


_RULE_TEXT = ("rule", "title", "title_zh", "clause", "eval_id", "severity", "status", "expected", "actual")
TARGET_STATUSES = (ASSESSED, UNREACHABLE, TARGET_ERROR)


def target_from_dict(data: Any) -> TargetResult:
    """A target as `TargetResult.to_dict` wrote it (JSON and JSON Lines reports), read
    back for `mzops audit merge`. A wrong shape raises ValueError naming the key."""
    def need(cond: bool, key: str, what: str) -> None:
        if not cond:
            raise ValueError(f"{key}: {what}")

    need(isinstance(data, dict), "target", "expected an object")
    need(isinstance(data.get("name"), str) and data["name"] != "", "name", "expected the target's name")
    need(data.get("status") in TARGET_STATUSES, "status", f"expected one of {', '.join(TARGET_STATUSES)}")
    results = data.get("results", [])
    need(isinstance(results, list), "results", "expected a list")
    rules = []
    for i, r in enumerate(results):
        need(isinstance(r, dict), f"results.{i}", "expected an object")
        for key in _RULE_TEXT:
            need(isinstance(r.get(key), str), f"results.{i}.{key}", "expected a string")
        need(r["status"] in STATUSES, f"results.{i}.status", f"expected one of {', '.join(STATUSES)}")
        evidence = r.get("evidence", [])
        need(isinstance(evidence, list) and all(isinstance(x, str) for x in evidence),
             f"results.{i}.evidence", "expected a list of strings")
        need(r.get("waiver") is None or isinstance(r.get("waiver"), dict), f"results.{i}.waiver", "expected an object")
        rules.append(RuleResult(**{k: r[k] for k in _RULE_TEXT}, evidence=list(evidence),
                                remediation=r.get("remediation"), hint=str(r.get("hint") or ""),
                                hint_zh=str(r.get("hint_zh") or ""), waiver=r.get("waiver")))
    text = {k: data.get(k) or "" for k in ("kind", "zone", "site", "platform", "message", "server", "collected_at")}
    for key, value in text.items():
        need(isinstance(value, str), key, "expected a string")
    seconds = data.get("seconds") or 0.0
    need(isinstance(seconds, (int, float)), "seconds", "expected a number")
    return TargetResult(data["name"], data["status"], results=rules, seconds=float(seconds),
                        **{**text, "kind": text["kind"] or "host"})


@dataclass
class Run:
    profile: str
    targets: list[TargetResult]
    generated_at: str = field(
        default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    expired_waivers: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    run_id: str = ""
    # The graded system (inventory mzops_system): name, name_zh, level, filing; {} unknown.
    system: dict[str, Any] = field(default_factory=dict)

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

    def header(self) -> dict[str, Any]:
        """The run without its targets (the first line of a JSON Lines report)."""
        return {"profile": self.profile, "generated_at": self.generated_at, "run_id": self.run_id,
                "seconds": round(self.seconds, 3), "system": self.system or None,
                "expired_waivers": self.expired_waivers}

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile, "generated_at": self.generated_at,
            "seconds": round(self.seconds, 3), "system": self.system or None,
            "summary": {
                "targets": len(self.targets), "failed": self.failed_targets,
                "unassessed": self.unassessed_targets,
                "unreachable": [t.name for t in self.targets if t.status == UNREACHABLE],
            },
            "expired_waivers": self.expired_waivers,
            "targets": [t.to_dict() for t in self.targets],
        }
