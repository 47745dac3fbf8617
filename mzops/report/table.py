from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from mzops.results import Run

STATUS_STYLE = {"pass": "green", "fail": "red", "error": "magenta", "manual": "yellow",
                "waived": "cyan", "notapplicable": "dim"}


# Beyond this many targets the summary beside a written report is the estate's, not
# every target's (the report holds those).
BRIEF_ABOVE = 200


def summary(run: Run) -> str:
    """What the terminal shows beside a report written to a file."""
    return render(run) if len(run.targets) <= BRIEF_ABOVE else brief(run)


def brief(run: Run) -> str:
    """An estate's audit in a screen: counts, the roll-up per clause, the worst assets and
    the targets not assessed (the first of them)."""
    from mzops.report import clause_rollup

    buffer = io.StringIO()
    console = Console(file=buffer, width=160, force_terminal=False, color_system=None)
    assessed = [t for t in run.targets if t.status == "assessed"]
    findings = sum(1 for t in assessed if t.counts()["fail"] or t.counts()["error"])
    console.print(f"MLPS audit ({run.profile}): {len(run.targets)} targets, {len(assessed)} assessed, "
                  f"{findings} with findings, {len(run.targets) - len(assessed)} not assessed")
    clauses = Table("clause", "rules", "pass", "fail", "error", "manual", "waived", "verdict", title="per clause")
    for row in clause_rollup(run):
        clauses.add_row(row["clause"], str(len(row["rules"])), str(row["pass"]), str(row["fail"]), str(row["error"]),
                        str(row["manual"]), str(row["waived"]), row["verdict"])
    console.print(clauses)
    worst = sorted((t for t in assessed if t.score is not None), key=lambda t: (t.score, t.name))[:10]
    table = Table("target", "zone", "site", "score", "fail", "error", title="lowest scores")
    for t in worst:
        c = t.counts()
        table.add_row(t.name, t.zone, t.site, f"{t.score:.0f}%", str(c["fail"]), str(c["error"]))
    console.print(table)
    missing = [t for t in run.targets if t.status != "assessed"]
    for t in missing[:20]:
        console.print(f"not assessed: {t.name}: {t.status}: {t.message}")
    if len(missing) > 20:
        console.print(f"... and {len(missing) - 20} more not assessed (see the report)")
    for w in run.expired_waivers:
        console.print(f"expired waiver: {w['rule']} on {w['targets']} (expired {w['expires']}, approver {w['approver']})")
    return buffer.getvalue()


def render(run: Run) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=160, force_terminal=False, color_system=None)
    summary = Table("target", "status", "platform", "score", "pass", "fail", "error", "manual",
                    "waived", "n/a", title=f"MLPS audit ({run.profile})")
    for t in run.targets:
        c = t.counts()
        summary.add_row(t.name, t.status if not t.message else f"{t.status}: {t.message}", t.platform,
                        "" if t.score is None else f"{t.score:.0f}%", str(c["pass"]), str(c["fail"]),
                        str(c["error"]), str(c["manual"]), str(c["waived"]), str(c["notapplicable"]))
    console.print(summary)
    for t in run.targets:
        bad = [r for r in t.results if r.status in ("fail", "error")]
        if not bad:
            continue
        table = Table("rule", "clause", "severity", "status", "actual", title=f"{t.name}: findings")
        for r in bad:
            table.add_row(r.rule, r.clause, r.severity, r.status, r.actual)
        console.print(table)
    for w in run.expired_waivers:
        console.print(f"expired waiver: {w['rule']} on {w['targets']} (expired {w['expires']}, approver {w['approver']})")
    return buffer.getvalue()
