"""Reports of a run: terminal table, JSON, JUnit XML, self-contained HTML."""

from __future__ import annotations

import json

from mzops.results import VERDICTS, Run, clause_key, counts_template, verdict

FORMATS = ("table", "json", "jsonl", "junit", "html")


def render(run: Run, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(run.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "jsonl":
        return "".join(jsonl(run))
    if fmt == "junit":
        from mzops.report.junit import render as junit
        return junit(run)
    if fmt == "html":
        from mzops.report.html import render as html
        return html(run)
    from mzops.report.table import render as table
    return table(run)


def stream(run: Run, fmt: str):
    """The report in pieces, one target at a time for JSON and JSON Lines: a writer never
    holds the whole of a large estate's report (the same bytes as `render`)."""
    if fmt == "jsonl":
        yield from jsonl(run)
    elif fmt == "json":
        data = run.to_dict()
        data.pop("targets")
        head = json.dumps({**data, "targets": []}, ensure_ascii=False, indent=2)
        yield head[:head.rindex("[]")] + ("[" if run.targets else "[]")
        for i, target in enumerate(run.targets):
            text = json.dumps(target.to_dict(), ensure_ascii=False, indent=2)
            yield ("," if i else "") + "\n    " + text.replace("\n", "\n    ")
        yield ("\n  ]" if run.targets else "") + head[head.rindex("[]") + 2:] + "\n"
    else:
        yield render(run, fmt)


def jsonl(run: Run):
    """JSON Lines: the run's header, then one target per line (a tool reads it a line at a
    time; `mzops audit merge` joins several)."""
    yield json.dumps({"record": "run", **run.header()}, ensure_ascii=False) + "\n"
    for target in run.targets:
        yield json.dumps({"record": "target", **target.to_dict()}, ensure_ascii=False) + "\n"


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
