"""What happened between audits: the saved audit records read back as a history.

An annual MLPS evaluation asks what changed since the last one. Every `audit run`
leaves a record (`audit.record`): per asset its status, score, counts and verdict per
clause. Reading them back is I/O (`load`); comparing them is pure (`changes`,
`asset_trend`, `mean_score`), so the reports and `mzops audit history` share one
meaning of "regressed".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from mzops.run.records import Records

RECORDS = Records("audit")

# A clause's verdicts from best to worst: moving right is a regression.
RANK = {"compliant": 0, "waived": 1, "not applicable": 1, "to be checked by hand": 2,
        "partially compliant": 3, "non-compliant": 4}


def load(profile: str | None = None, last: int | None = None, skip: str = "") -> list[dict[str, Any]]:
    """Saved audit records, oldest first (of PROFILE if given; the run SKIP left out).
    A record that cannot be read is left out: a history is no evidence of compliance,
    and one damaged file must not hide the rest."""
    out = []
    for run_id in RECORDS.history():
        if run_id == skip:
            continue
        try:
            data = RECORDS.load(run_id)
        except Exception:  # noqa: BLE001 - a damaged record is skipped, see above
            continue
        if not isinstance(data, dict) or not isinstance(data.get("assets"), list):
            continue
        if profile and data.get("profile") != profile:
            continue
        out.append({**data, "run_id": run_id})
        if last and len(out) >= last:
            break
    return sorted(out, key=lambda r: str(r.get("generated_at", "")))


def entry(target) -> dict[str, Any]:
    """A target of a run (`mzops.results.TargetResult`) in the form the record keeps."""
    from mzops.results import clause_verdicts

    return {"name": target.name, "status": target.status, "kind": target.kind, "zone": target.zone,
            "site": target.site, "score": target.score, "counts": target.counts(),
            "verdicts": clause_verdicts(target.results)}


def mean_score(assets: Iterable[dict]) -> float | None:
    scores = [a["score"] for a in assets if a.get("status") == "assessed" and a.get("score") is not None]
    return round(sum(scores) / len(scores), 1) if scores else None


def summary(record: dict) -> dict[str, Any]:
    """One line of the history: when, how many, how well."""
    assets = record.get("assets", [])
    return {"run_id": record.get("run_id", ""), "generated_at": record.get("generated_at", ""),
            "profile": record.get("profile", ""), "assets": len(assets),
            "assessed": sum(a.get("status") == "assessed" for a in assets),
            "with_findings": sum(bool(a.get("counts", {}).get("fail") or a.get("counts", {}).get("error"))
                                 for a in assets),
            "not_assessed": sum(a.get("status") != "assessed" for a in assets),
            "mean_score": mean_score(assets)}


@dataclass
class AssetChange:
    name: str
    before: float | None
    after: float | None
    worse: list[str] = field(default_factory=list)    # "8.1.4.1 a): compliant → non-compliant"
    better: list[str] = field(default_factory=list)
    status: str = ""                                   # "assessed → unreachable" when that changed

    @property
    def regressed(self) -> bool:
        dropped = self.before is not None and self.after is not None and self.after < self.before
        return bool(self.worse) or dropped or self.status.endswith("→ unreachable") or self.status.endswith("→ error")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "score_before": self.before, "score_after": self.after,
                "worse": self.worse, "better": self.better, "status": self.status, "regressed": self.regressed}


@dataclass
class Changes:
    previous: str                        # run id of the earlier audit
    previous_at: str
    regressed: list[AssetChange]
    improved: list[AssetChange]
    new: list[str]                       # audited now, not then
    not_now: list[str]                   # audited then, not in this run
    clauses_known: bool                  # the earlier record has verdicts per clause

    def to_dict(self) -> dict[str, Any]:
        return {"previous": self.previous, "previous_at": self.previous_at,
                "regressed": [c.to_dict() for c in self.regressed], "improved": [c.to_dict() for c in self.improved],
                "new": self.new, "not_now": self.not_now, "clauses_known": self.clauses_known}


def _compare(name: str, then: dict, now: dict) -> AssetChange:
    change = AssetChange(name, then.get("score"), now.get("score"))
    if then.get("status") != now.get("status"):
        change.status = f"{then.get('status')} → {now.get('status')}"
    before, after = then.get("verdicts") or {}, now.get("verdicts") or {}
    for clause in sorted(set(before) & set(after)):
        a, b = RANK.get(before[clause], 2), RANK.get(after[clause], 2)
        if b > a:
            change.worse.append(f"{clause}: {before[clause]} → {after[clause]}")
        elif b < a:
            change.better.append(f"{clause}: {before[clause]} → {after[clause]}")
    return change


def changes(previous: dict, assets: list[dict]) -> Changes:
    """This run's assets (in the record's form) against an earlier record."""
    then = {a["name"]: a for a in previous.get("assets", []) if isinstance(a, dict) and "name" in a}
    now = {a["name"]: a for a in assets}
    regressed, improved = [], []
    for name in sorted(set(then) & set(now)):
        change = _compare(name, then[name], now[name])
        if change.regressed:
            regressed.append(change)
        elif change.better or (change.before is not None and change.after is not None and change.after > change.before):
            improved.append(change)
    regressed.sort(key=lambda c: ((c.after or 0) - (c.before or 0), c.name))
    return Changes(previous.get("run_id", ""), str(previous.get("generated_at", "")), regressed, improved,
                   sorted(set(now) - set(then)), sorted(set(then) - set(now)),
                   any("verdicts" in a for a in then.values()))


def asset_trend(records: list[dict], name: str) -> list[dict[str, Any]]:
    """One asset through the records (oldest first): score, counts, and each clause whose
    verdict changed from the audit before."""
    out, last = [], None
    for record in records:
        entry = next((a for a in record.get("assets", []) if isinstance(a, dict) and a.get("name") == name), None)
        if entry is None:
            continue
        row = {"run_id": record.get("run_id", ""), "generated_at": record.get("generated_at", ""),
               "status": entry.get("status"), "score": entry.get("score"), "counts": entry.get("counts", {}),
               "worse": [], "better": []}
        if last is not None:
            change = _compare(name, last, entry)
            row["worse"], row["better"] = change.worse, change.better
        out.append(row)
        last = entry
    return out


def scores_by_asset(records: list[dict]) -> dict[str, list[tuple[str, float | None]]]:
    """Each asset's (audit time, score) in every record, oldest first (None where not
    assessed)."""
    out: dict[str, list[tuple[str, float | None]]] = {}
    for record in records:
        when = str(record.get("generated_at", ""))
        for a in record.get("assets", []):
            if isinstance(a, dict) and "name" in a:
                out.setdefault(a["name"], []).append((when, a.get("score") if a.get("status") == "assessed" else None))
    return out
