"""Reports of a run: terminal table, JSON, JUnit XML, self-contained HTML."""

from __future__ import annotations

import json

from mzops.results import VERDICTS, Run, clause_key, counts_template, verdict

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
    """Per MLPS clause: counts over every assessed target and the verdict."""
    rows: dict[str, dict] = {}
    for target in run.targets:
        for r in target.results:
            row = rows.setdefault(r.clause, {"clause": r.clause, "eval_ids": set(), "rules": set(), **counts_template()})
            row["eval_ids"].add(r.eval_id)
            row["rules"].add(r.rule)
            row[r.status] += 1
    out = []
    for clause in sorted(rows, key=clause_key):
        row = rows[clause]
        said = verdict(row)
        out.append({**row, "eval_ids": sorted(row["eval_ids"]), "rules": sorted(row["rules"]),
                    "verdict": said, "verdict_zh": VERDICTS[said]})
    return out
