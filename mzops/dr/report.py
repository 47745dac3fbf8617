"""The DR report an auditor hands the evaluator (GB/T 22239-2019 8.1.4.9 c): every
run and drill of the plans, newest first, each step's start, end and result, the RTO
achieved and the log lost, the state each component was left in."""

from __future__ import annotations

from html import escape


def _rpo(run: dict) -> str:
    lost = (run.get("rpo") or {}).get("lost")
    unit = " / ".join((run.get("rpo") or {}).get("unit", [])) or "bytes of WAL"
    if run.get("mode") == "drill":
        return "—"
    basis = ", ".join(b for b in (run.get("rpo") or {}).get("basis", []) if b)
    if lost is None:
        return f"unknown ({escape(basis) or 'no promotion'})"
    exact = (run.get("rpo") or {}).get("exact", "shutdown checkpoint" in basis)
    return f"{lost} {escape(unit)} {'(positions equal: no committed row lost)' if exact and lost == 0 else '(' + escape(basis) + ')'}"


def html(runs: list[dict], generated: str) -> str:
    e = escape
    out = ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
           "<title>灾难恢复切换与演练报告 / DR failover and drill report</title>",
           "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1.5em}"
           "td,th{border:1px solid #999;padding:.3em .6em;vertical-align:top}.failed{background:#fdd}"
           ".ok{background:#dfd}h2{margin-top:2em}</style></head><body>",
           "<h1>灾难恢复切换与演练报告<br>Disaster recovery: failovers, failbacks and drills</h1>",
           f"<p>GB/T 22239-2019 8.1.4.9 c) · 生成时间 Generated: {e(generated)} · {len(runs)} runs</p>",
           "<table><tr><th>运行 Run</th><th>预案 Plan</th><th>方式 Mode</th><th>操作员 Operator</th>"
           "<th>开始 Started</th><th>RTO (s)</th><th>RPO</th><th>结论 Result</th></tr>"]
    for run in runs:
        css = "ok" if run.get("result") == "ok" else "failed"
        out.append(f'<tr class="{css}"><td><a href="#{e(run.get("run_id", ""))}">{e(run.get("run_id", ""))}</a></td>'
                   f'<td>{e(str(run.get("plan")))}</td><td>{e(str(run.get("mode")))}</td>'
                   f'<td>{e(str(run.get("operator")))}</td><td>{e(str(run.get("started")))}</td>'
                   f'<td>{run.get("rto_seconds") if run.get("rto_seconds") is not None else "—"}</td>'
                   f'<td>{_rpo(run)}</td><td><b>{e(str(run.get("result")))}</b></td></tr>')
    out.append("</table>")
    for run in runs:
        out.append(f'<h2 id="{e(run.get("run_id", ""))}">{e(run.get("run_id", ""))}: {e(str(run.get("plan")))} '
                   f'({e(str(run.get("service")))}), {e(str(run.get("mode")))}, {e(str(run.get("result")))}</h2>')
        out.append("<table><tr><th>组 Group</th><th>步骤 Step</th><th>类型 Kind</th><th>开始 Start</th>"
                   "<th>结束 End</th><th>秒 Seconds</th><th>结果 Result</th><th>说明 What happened</th></tr>")
        for step in run.get("steps", []):
            css = "ok" if step["result"] == "ok" else "failed"
            out.append(f'<tr class="{css}"><td>{step["group"]}</td><td>{e(step["name"])}</td><td>{e(step["kind"])}</td>'
                       f'<td>{e(step["started"] or "—")}</td><td>{e(step["ended"] or "—")}</td>'
                       f'<td>{step["seconds"]}</td><td>{e(step["result"])}</td><td>{e(step["message"])}</td></tr>')
        out.append("</table>")
        if run.get("notes"):
            out.append("<p>" + "<br>".join(e(n) for n in run["notes"]) + "</p>")
        out.append("<table><tr><th>组件 Component</th><th>站点 Site</th><th>角色 Role afterwards</th>"
                   "<th>位置 Position</th><th>问题 Problem</th></tr>")
        for c in run.get("components", []):
            out.append(f'<tr><td>{e(c["asset"])}</td><td>{e(str(c.get("site")))}</td><td>{e(c["role"])}</td>'
                       f'<td>{e(c["position"] or "—")}</td><td>{e(c["problem"] or "")}</td></tr>')
        out.append("</table>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
