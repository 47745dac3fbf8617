"""A self-contained HTML report for the evaluator: one file, no network, no script.

Organised the way an MLPS evaluation report is: per-target scores, a roll-up per
clause with its verdict, then every finding with its evidence and remediation hint,
manual items, waivers and targets that could not be assessed. Chinese and English.
"""

from __future__ import annotations

from html import escape

from mzops.report import clause_rollup
from mzops.results import VERDICTS, Run, clause_key, clause_verdicts

CSS = """
body{font-family:"Noto Sans CJK SC","Source Han Sans SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
h1{font-size:1.5em;margin-bottom:.2em} h2{border-bottom:2px solid #345;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0;width:100%} th,td{border:1px solid #bbb;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#e8edf3} .meta{color:#555}
.pass{color:#17692b;font-weight:bold} .fail{color:#b00020;font-weight:bold} .error{color:#8a2be2;font-weight:bold}
.manual{color:#a36200;font-weight:bold} .waived{color:#00738a;font-weight:bold} .notapplicable{color:#777}
.compliant{background:#e3f4e6} .non-compliant{background:#fbe3e6} .partially{background:#fff4de}
.finding{border:1px solid #ccc;border-left:6px solid #b00020;padding:.5em 1em;margin:1em 0;page-break-inside:avoid}
.finding.manual{border-left-color:#a36200} pre{background:#f6f6f6;padding:.5em;white-space:pre-wrap;word-break:break-all;margin:.3em 0}
.sev-critical{color:#fff;background:#b00020;padding:0 .4em} .sev-high{color:#fff;background:#d9534f;padding:0 .4em}
.sev-medium{background:#f0ad4e;padding:0 .4em} .sev-low{background:#ddd;padding:0 .4em}
.v-compliant{background:#e3f4e6} .v-non-compliant{background:#fbe3e6} .v-partially-compliant{background:#fff4de}
.v-waived{background:#e0f1f4} .v-to-be-checked-by-hand{background:#fdf0d5} .v-not-applicable{color:#777}
.matrix td,.matrix th{text-align:center;font-size:.85em;padding:.2em .3em} .matrix td:first-child{text-align:left}
.signoff td{height:2.5em}
"""
SYMBOL = {"compliant": "✓", "non-compliant": "✗", "partially compliant": "◐", "waived": "W",
          "to be checked by hand": "?", "not applicable": "–"}

STATUS_ZH = {"pass": "通过", "fail": "不通过", "error": "错误", "manual": "需人工核查",
             "waived": "已豁免", "notapplicable": "不适用"}
TARGET_ZH = {"assessed": "已评估", "unreachable": "不可达", "error": "错误"}


def _status(status: str) -> str:
    return f'<span class="{escape(status)}">{escape(STATUS_ZH.get(status, status))} / {escape(status)}</span>'


def render(run: Run) -> str:
    e = escape
    out = [
        "<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>等级保护测评 合规检查报告 / MLPS compliance report — {e(run.profile)}</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>网络安全等级保护2.0（第三级）合规检查报告<br>MLPS 2.0 level 3 compliance report</h1>",
        f'<p class="meta">基线 Profile: <b>{e(run.profile)}</b> (GB/T 22239-2019, GB/T 28448-2019) · '
        f"生成时间 Generated: {e(run.generated_at)} · 对象 Targets: {len(run.targets)} · "
        "只读检查 read-only assessment by mzops</p>",
    ]
    out += _system(run.system)

    targets = by_asset(run.targets)
    out.append("<h2>一、测评对象得分 / Scores per target</h2>")
    out.append("<table><tr><th>对象 Target</th><th>类型 Kind</th><th>区域 Zone</th><th>站点 Site</th><th>平台 Platform</th>"
               "<th>状态 Status</th><th>得分 Score</th><th>通过 Pass</th><th>不通过 Fail</th>"
               "<th>错误 Error</th><th>人工 Manual</th><th>豁免 Waived</th><th>不适用 N/A</th><th>采集时间 Collected</th></tr>")
    for t in targets:
        c = t.counts()
        score = "—" if t.score is None else f"{t.score:.1f}%"
        status = f"{TARGET_ZH.get(t.status, t.status)} / {t.status}"
        out.append(f"<tr><td>{e(_label(t))}</td><td>{e(KIND_ZH.get(t.kind, t.kind))} / {e(t.kind)}</td><td>{e(t.zone)}</td><td>{e(t.site)}</td><td>{e(t.platform)}</td>"
                   f"<td>{e(status)}</td><td><b>{score}</b></td><td>{c['pass']}</td><td>{c['fail']}</td>"
                   f"<td>{c['error']}</td><td>{c['manual']}</td><td>{c['waived']}</td><td>{c['notapplicable']}</td>"
                   f"<td>{e(t.collected_at or '—')}</td></tr>")
    out.append("</table>")

    out.append("<h2>二、按条款汇总 / Results per MLPS clause</h2>")
    out.append("<table><tr><th>条款 Clause (GB/T 22239)</th><th>测评项 Eval id (GB/T 28448)</th><th>规则 Rules</th>"
               "<th>通过 Pass</th><th>不通过 Fail</th><th>错误 Error</th><th>人工 Manual</th><th>豁免 Waived</th>"
               "<th>结论 Verdict</th></tr>")
    for row in clause_rollup(run):
        css = "v-" + row["verdict"].replace(" ", "-")
        out.append(f'<tr class="{css}"><td>{e(row["clause"])}</td><td>{e(", ".join(row["eval_ids"]))}</td>'
                   f'<td>{len(row["rules"])}</td><td>{row["pass"]}</td><td>{row["fail"]}</td><td>{row["error"]}</td>'
                   f'<td>{row["manual"]}</td><td>{row["waived"]}</td>'
                   f'<td><b>{e(row["verdict_zh"])} / {e(row["verdict"])}</b></td></tr>')
    out.append("</table>")

    out += _matrix(targets)

    out.append("<h2>三、问题与证据 / Findings with evidence</h2>")
    any_finding = False
    for t in targets:
        findings = [r for r in t.results if r.status in ("fail", "error")]
        if not findings:
            continue
        any_finding = True
        out.append(f"<h3>{e(_label(t))}</h3>")
        for r in findings:
            out.append(_finding(r))
    if not any_finding:
        out.append("<p>无不通过项 / No failing rule.</p>")

    manual = [(t, r) for t in run.targets for r in t.results if r.status == "manual"]
    out.append("<h2>四、需人工核查 / Manual checks</h2>")
    if manual:
        for t, r in manual:
            out.append(_finding(r, css="finding manual", target=t.name))
    else:
        out.append("<p>无 / None.</p>")

    out.append("<h2>五、豁免 / Waivers</h2>")
    waived = [(t, r) for t in run.targets for r in t.results if r.status == "waived"]
    if waived or run.expired_waivers:
        out.append("<table><tr><th>对象 Target</th><th>规则 Rule</th><th>理由 Justification</th><th>审批人 Approver</th>"
                   "<th>有效期至 Expires</th><th>状态 State</th></tr>")
        for t, r in waived:
            w = r.waiver or {}
            out.append(f"<tr><td>{e(t.name)}</td><td>{e(r.rule)}</td><td>{e(w.get('justification', ''))}</td>"
                       f"<td>{e(w.get('approver', ''))}</td><td>{e(w.get('expires', ''))}</td><td>有效 / in force</td></tr>")
        for w in run.expired_waivers:
            out.append(f"<tr><td>{e(w['targets'])}</td><td>{e(w['rule'])}</td><td>{e(w['justification'])}</td>"
                       f"<td>{e(w['approver'])}</td><td>{e(w['expires'])}</td>"
                       '<td class="fail">已过期，不再生效 / expired, not applied</td></tr>')
        out.append("</table>")
    else:
        out.append("<p>无 / None.</p>")

    unassessed = [t for t in run.targets if t.status != "assessed"]
    out.append("<h2>六、未能评估的对象 / Targets not assessed</h2>")
    if unassessed:
        out.append("<table><tr><th>对象 Target</th><th>状态 Status</th><th>原因 Reason</th></tr>")
        for t in unassessed:
            out.append(f"<tr><td>{e(t.name)}</td><td class=\"error\">{e(TARGET_ZH.get(t.status, t.status))} / "
                       f"{e(t.status)}</td><td>{e(t.message)}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>无 / None.</p>")
    out.append("<h2>七、通过项的证据 / Evidence of passing results</h2>")
    for t in targets:
        passed = [r for r in t.results if r.status == "pass"]
        if passed:
            out.append(f"<details><summary>{e(_label(t))}: {len(passed)} 项通过 / passed "
                       f"(采集于 collected {e(t.collected_at or '?')})</summary><table>"
                       "<tr><th>规则 Rule</th><th>条款 Clause</th><th>实际 Actual</th><th>证据 Evidence</th></tr>")
            for r in passed:
                out.append(f"<tr><td>{e(r.rule)}</td><td>{e(r.clause)}</td><td>{e(r.actual)}</td>"
                           f"<td><pre>{e(chr(10).join(r.evidence) or '(none)')}</pre></td></tr>")
            out.append("</table></details>")
    out += _signoff()

    out.append("</body></html>")
    return "\n".join(out) + "\n"


KIND_ZH = {"host": "主机", "database": "数据库", "firewall": "防火墙"}


def _matrix(targets: list) -> list[str]:
    """A verdict per asset and clause, as the evaluation report lists them per object."""
    e = escape
    clauses = sorted({r.clause for t in targets for r in t.results}, key=clause_key)
    legend = " · ".join(f"{SYMBOL[v]} {VERDICTS[v]} {v}" for v in SYMBOL)
    out = ["<h2>二（续）、各对象按条款结论 / Verdict per asset and clause</h2>", f'<p class="meta">{e(legend)}</p>',
           '<table class="matrix"><tr><th>对象 Asset</th>' + "".join(f"<th>{e(c)}</th>" for c in clauses) + "</tr>"]
    for t in targets:
        if t.status != "assessed":
            continue
        verdicts = clause_verdicts(t.results)
        cells = []
        for c in clauses:
            v = verdicts.get(c)
            cells.append(f'<td class="v-{v.replace(" ", "-")}" title="{e(VERDICTS[v])} / {e(v)}">{SYMBOL[v]}</td>'
                         if v else "<td></td>")
        out.append(f"<tr><td>{e(_label(t))}</td>{''.join(cells)}</tr>")
    out.append("</table>")
    return out


LEVEL_ZH = {1: "第一级", 2: "第二级", 3: "第三级", 4: "第四级", 5: "第五级"}


def _system(system: dict) -> list[str]:
    """The graded system the report is about, as the inventory declares it."""
    e = escape
    if not system:
        return ['<p class="finding error">定级对象未声明 / The system under evaluation is not declared: '
                "set mzops_system (name, level, filing) in the inventory.</p>"]
    level = system.get("level")
    return ['<table class="system"><tr><th>定级对象 System</th><td>'
            f'{e(system.get("name_zh") or "")} {e(system.get("name") or "")}</td>'
            f'<th>安全保护等级 Level</th><td>{e(LEVEL_ZH.get(level, str(level)))} / level {e(str(level))}</td>'
            f'<th>备案编号 Filing</th><td>{e(system.get("filing") or "—")}</td></tr></table>']


def _signoff(number: str = "八") -> list[str]:
    return [f"<h2>{number}、签署 / Sign-off</h2>",
            '<table class="signoff"><tr><th>测评人员 Evaluator</th><td></td><th>日期 Date</th><td></td></tr>'
            "<tr><th>被测单位确认 Assessed organisation</th><td></td><th>日期 Date</th><td></td></tr></table>",
            '<p class="meta">本报告由 mzops 只读采集生成；“通过”均附证据，豁免与需人工核查项不计为符合。 / '
            "Generated by mzops from read-only collection; every pass carries its evidence; waived and "
            "manual results are not counted as compliant.</p>"]


def by_asset(targets: list) -> list:
    """Each host followed by the databases it runs (its asset group), then the rest."""
    return sorted(targets, key=lambda t: (t.server or t.name, t.kind != "host", t.name))


def _label(t) -> str:
    return f"{t.name} ({t.platform or t.kind} @ {t.server})" if t.server else t.name


def _finding(r, css: str = "finding", target: str | None = None) -> str:
    e = escape
    evidence = "\n".join(r.evidence) or "(none)"
    head = f"{e(target)}: " if target else ""
    return (f'<div class="{css}"><p><b>{head}{e(r.rule)}</b> — {e(r.title_zh)} / {e(r.title)} '
            f'<span class="sev-{e(r.severity)}">{e(r.severity)}</span> {_status(r.status)}</p>'
            f"<p>条款 Clause: {e(r.clause)} · 测评项 {e(r.eval_id)}</p>"
            f"<p>期望 Expected: {e(r.expected)}<br>实际 Actual: {e(r.actual)}</p>"
            f"<p>证据 Evidence:</p><pre>{e(evidence)}</pre>"
            f"<p>整改建议 Remediation: {e(r.hint_zh)} / {e(r.hint)}"
            + (f" (remediation task <code>{e(r.remediation)}</code>)" if r.remediation else "")
            + "</p></div>")
