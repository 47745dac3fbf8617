from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from mzops.results import Run

STATUS_STYLE = {"pass": "green", "fail": "red", "error": "magenta", "manual": "yellow",
                "waived": "cyan", "notapplicable": "dim"}


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
