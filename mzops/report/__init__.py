"""Reports of a run: terminal table, JSON, JUnit XML, self-contained HTML."""

from __future__ import annotations

import json

from mzops.results import Run

FORMATS = ("table", "json", "junit", "html")


def render(run: Run, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(run.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "junit":
        from mzops.report.junit import render as junit
        return junit(run)
    if fmt == "html":
        from mzops.report.html import render as html
        return html(run)
    from mzops.report.table import render as table
    return table(run)


def clause_rollup(run: Run) -> list[dict]:
    """Per MLPS clause: counts over every assessed target and a verdict in the terms of
    an evaluation report (符合 / 部分符合 / 不符合)."""
    rows: dict[str, dict] = {}
    for target in run.targets:
        for r in target.results:
            row = rows.setdefault(r.clause, {"clause": r.clause, "eval_ids": set(), "rules": set(),
                                            "pass": 0, "fail": 0, "error": 0, "manual": 0,
                                            "waived": 0, "notapplicable": 0})
            row["eval_ids"].add(r.eval_id)
            row["rules"].add(r.rule)
            row[r.status] += 1
    out = []
    for clause in sorted(rows, key=_clause_key):
        row = rows[clause]
        good = row["pass"] + row["waived"]
        bad = row["fail"] + row["error"]
        if bad == 0 and good and not row["manual"]:
            verdict, zh = "compliant", "符合"
        elif good == 0 and bad:
            verdict, zh = "non-compliant", "不符合"
        elif bad or row["manual"]:
            verdict, zh = "partially compliant", "部分符合"
        else:
            verdict, zh = "not applicable", "不适用"
        out.append({**row, "eval_ids": sorted(row["eval_ids"]), "rules": sorted(row["rules"]),
                    "verdict": verdict, "verdict_zh": zh})
    return out


def _clause_key(clause: str) -> tuple:
    numbers = [int(n) for n in clause.split()[0].split(".") if n.isdigit()]
    return (numbers, clause)
