"""The audit report at the size of an estate: a summary page, then one page per asset.

One HTML file of 2,000 hosts with all their evidence is tens of MB that no browser
opens and no person reads. Here `index.html` is what a person reads first: the verdict
per clause across the estate, per zone and site, a clause × zone heat map and the score
trend (inline SVG), the worst assets, what changed since the previous audit, the
targets not assessed, waivers, and an index linking every asset's page
(`assets/NAME.html`: its verdicts per clause, findings with evidence, manual checks,
waivers, evidence of what passed, its score over the saved audits). No script, no
network, each page's style inline: the folder (or its zip) opens anywhere.

`pages` is pure (a run and the earlier records in, (path, text) out); `write` is the
only I/O and never leaves a half-written report where a finished one was.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import zipfile
from html import escape
from pathlib import Path
from typing import Iterator

from mzops.compliance import history
from mzops.errors import InputError
from mzops.report import clause_rollup
from mzops.report.html import (CSS, KIND_ZH, SYMBOL, TARGET_ZH, _finding, _label, _signoff, _system, by_asset)
from mzops.results import VERDICTS, Run, TargetResult, clause_key, clause_verdicts

MARKER = '<meta name="generator" content="mzops audit report (folder)">'
WORST = 25            # assets listed as the worst on the summary
TREND_RUNS = 20       # earlier audits the trends show
SITE_CSS = CSS + """
.nav{font-size:.9em} svg text{font-family:inherit} .num{text-align:right}
td.r{text-align:right} .small{font-size:.85em}
"""


def asset_file(name: str) -> str:
    """A page name for asset NAME: its name where that is a safe file name, else the safe
    part and a digest (two names never share a page)."""
    slug = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:80] or "_"
    if slug != name or slug.startswith("."):
        slug = f"{slug.lstrip('.')}-{hashlib.sha256(name.encode()).hexdigest()[:10]}"
    return f"assets/{slug}.html"


def _head(title: str) -> list[str]:
    return ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">', MARKER,
            f"<title>{escape(title)}</title>", f"<style>{SITE_CSS}</style></head><body>"]


def pages(run: Run, records: list[dict]) -> Iterator[tuple[str, str]]:
    """(relative path, HTML) of every page: the summary first, then each asset's.
    RECORDS: earlier audits of this profile, oldest first (for changes and trends)."""
    targets = by_asset(run.targets)
    entries = [history.entry(t) for t in targets]
    earlier = records[-TREND_RUNS:]
    scores = history.scores_by_asset(earlier)
    yield "index.html", _summary(run, targets, entries, earlier)
    for t in targets:
        yield asset_file(t.name), _asset_page(run, t, scores.get(t.name, []))


# --- the summary --------------------------------------------------------------------

def _summary(run: Run, targets: list[TargetResult], entries: list[dict], earlier: list[dict]) -> str:
    e = escape
    assessed = [t for t in targets if t.status == "assessed"]
    with_findings = [t for t in assessed if t.counts()["fail"] or t.counts()["error"]]
    out = _head(f"等级保护测评 合规检查报告 / MLPS compliance report — {run.profile}")
    out += ["<h1>网络安全等级保护2.0（第三级）合规检查报告<br>MLPS 2.0 level 3 compliance report</h1>",
            f'<p class="meta">基线 Profile: <b>{e(run.profile)}</b> (GB/T 22239-2019, GB/T 28448-2019) · '
            f"生成时间 Generated: {e(run.generated_at)} · 对象 Targets: {len(targets)} · "
            "只读检查 read-only assessment by mzops · 每个对象的证据见其页面 / each asset's evidence is on its page</p>"]
    out += _system(run.system)

    mean = history.mean_score(entries)
    out.append("<h2>一、总览 / Overview</h2>")
    out.append("<table><tr><th>对象 Targets</th><th>已评估 Assessed</th><th>全部通过 No finding</th>"
               "<th>有问题 With findings</th><th>未能评估 Not assessed</th><th>平均得分 Mean score</th></tr>"
               f"<tr><td>{len(targets)}</td><td>{len(assessed)}</td><td>{len(assessed) - len(with_findings)}</td>"
               f"<td>{len(with_findings)}</td><td>{len(targets) - len(assessed)}</td>"
               f"<td><b>{'—' if mean is None else f'{mean:.1f}%'}</b></td></tr></table>")
    out.append("<h3>得分趋势 / Mean score over the saved audits</h3>")
    out.append(_trend_svg([(r.get("generated_at", ""), history.mean_score(r.get("assets", []))) for r in earlier]
                          + [(run.generated_at + " (本次 this run)", mean)]))

    out.append("<h2>二、按条款汇总 / Results per MLPS clause</h2>")
    per_clause_assets: dict[str, int] = {}
    for t in assessed:
        for clause, said in clause_verdicts(t.results).items():
            if said in ("non-compliant", "partially compliant"):
                per_clause_assets[clause] = per_clause_assets.get(clause, 0) + 1
    out.append("<table><tr><th>条款 Clause (GB/T 22239)</th><th>测评项 Eval id (GB/T 28448)</th><th>规则 Rules</th>"
               "<th>通过 Pass</th><th>不通过 Fail</th><th>错误 Error</th><th>人工 Manual</th><th>豁免 Waived</th>"
               "<th>不符合的对象 Assets not compliant</th><th>结论 Verdict</th></tr>")
    for row in clause_rollup(run):
        css = "v-" + row["verdict"].replace(" ", "-")
        out.append(f'<tr class="{css}"><td>{e(row["clause"])}</td><td>{e(", ".join(row["eval_ids"]))}</td>'
                   f'<td class="r">{len(row["rules"])}</td><td class="r">{row["pass"]}</td>'
                   f'<td class="r">{row["fail"]}</td><td class="r">{row["error"]}</td>'
                   f'<td class="r">{row["manual"]}</td><td class="r">{row["waived"]}</td>'
                   f'<td class="r">{per_clause_assets.get(row["clause"], 0)}</td>'
                   f'<td><b>{e(row["verdict_zh"])} / {e(row["verdict"])}</b></td></tr>')
    out.append("</table>")

    out.append("<h2>三、按区域与站点 / Per zone and site</h2>")
    out.append(_heat_map(assessed))
    out.append(_places(targets))

    out.append(f"<h2>四、得分最低的对象 / The {WORST} lowest-scoring assets</h2>")
    worst = sorted((t for t in assessed if t.score is not None), key=lambda t: (t.score, t.name))[:WORST]
    if worst:
        out.append("<table><tr><th>对象 Asset</th><th>区域 Zone</th><th>站点 Site</th><th>得分 Score</th>"
                   "<th>不通过 Fail</th><th>错误 Error</th><th>不符合的条款 Clauses not compliant</th></tr>")
        for t in worst:
            bad = [c for c, v in clause_verdicts(t.results).items() if v in ("non-compliant", "partially compliant")]
            c = t.counts()
            out.append(f"<tr><td>{_link(t)}</td><td>{e(t.zone)}</td><td>{e(t.site)}</td><td class=\"r\"><b>{t.score:.1f}%</b></td>"
                       f'<td class="r">{c["fail"]}</td><td class="r">{c["error"]}</td>'
                       f'<td class="small">{e(", ".join(bad))}</td></tr>')
        out.append("</table>")
    else:
        out.append("<p>无已评估的对象 / No asset was assessed.</p>")

    out.append("<h2>五、与上次评估相比 / Changes since the previous audit</h2>")
    out += _changes(earlier[-1] if earlier else None, entries)

    unassessed = [t for t in targets if t.status != "assessed"]
    out.append("<h2>六、未能评估的对象 / Targets not assessed</h2>")
    if unassessed:
        out.append("<table><tr><th>对象 Target</th><th>区域 Zone</th><th>站点 Site</th><th>状态 Status</th>"
                   "<th>原因 Reason</th></tr>")
        for t in unassessed:
            out.append(f"<tr><td>{_link(t)}</td><td>{e(t.zone)}</td><td>{e(t.site)}</td>"
                       f'<td class="error">{e(TARGET_ZH.get(t.status, t.status))} / {e(t.status)}</td>'
                       f"<td>{e(t.message)}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>无 / None.</p>")

    out.append("<h2>七、豁免 / Waivers</h2>")
    out += _waivers(run)

    out.append("<h2>八、全部对象 / Every asset</h2>")
    out.append("<table><tr><th>对象 Asset</th><th>类型 Kind</th><th>区域 Zone</th><th>站点 Site</th>"
               "<th>平台 Platform</th><th>状态 Status</th><th>得分 Score</th><th>不通过 Fail</th><th>错误 Error</th>"
               "<th>人工 Manual</th></tr>")
    for t in targets:
        c = t.counts()
        score = "—" if t.score is None else f"{t.score:.1f}%"
        out.append(f"<tr><td>{_link(t)}</td><td>{e(t.kind)}</td><td>{e(t.zone)}</td><td>{e(t.site)}</td>"
                   f"<td>{e(t.platform)}</td><td>{e(t.status)}</td><td class=\"r\">{score}</td>"
                   f'<td class="r">{c["fail"]}</td><td class="r">{c["error"]}</td><td class="r">{c["manual"]}</td></tr>')
    out.append("</table>")
    out += _signoff("九")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _link(t: TargetResult, up: str = "") -> str:
    return f'<a href="{up}{escape(asset_file(t.name))}">{escape(_label(t))}</a>'


def _share_colour(share: float) -> str:
    """Red (none compliant) through amber to green (all compliant)."""
    return f"hsl({round(120 * share)},62%,{round(88 - 18 * (1 - abs(share - 0.5) * 2))}%)"


# Verdicts the heat map measures: automated evidence, good or bad. Waived, manual and
# not-applicable clauses are neither; a cell with nothing else is grey.
MEASURED = ("compliant", "partially compliant", "non-compliant")


def _heat_map(assessed: list[TargetResult]) -> str:
    """Clauses × zones: the share of the zone's assessed assets whose verdict on the clause
    is compliant, among those with automated evidence on it."""
    e = escape
    cells: dict[tuple[str, str], list[int]] = {}
    for t in assessed:
        for clause, said in clause_verdicts(t.results).items():
            cell = cells.setdefault((clause, t.zone or "—"), [0, 0])
            if said in MEASURED:
                cell[1] += 1
                cell[0] += said == "compliant"
    if not cells:
        return "<p>无已评估的对象 / No asset was assessed.</p>"
    clauses = sorted({c for c, _ in cells}, key=clause_key)
    zones = sorted({z for _, z in cells})
    label_w, cell_w, cell_h, top = 190, 86, 22, 34
    width, height = label_w + cell_w * len(zones) + 10, top + cell_h * len(clauses) + 8
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           f'aria-label="clause by zone heat map"><title>条款 × 区域 / clause × zone: share of assets compliant</title>']
    for j, zone in enumerate(zones):
        x = label_w + j * cell_w + cell_w / 2
        svg.append(f'<text x="{x:.0f}" y="{top - 10}" text-anchor="middle" font-size="12" font-weight="bold">{e(zone)}</text>')
    for i, clause in enumerate(clauses):
        y = top + i * cell_h
        svg.append(f'<text x="4" y="{y + 15}" font-size="12">{e(clause)}</text>')
        for j, zone in enumerate(zones):
            x = label_w + j * cell_w
            good, total = cells.get((clause, zone), (0, 0))
            if not total:
                svg.append(f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="#eee">'
                           f"<title>{e(clause)} · {e(zone)}: 无自动证据（豁免、人工或不适用） / no automated evidence "
                           "(waived, manual or not applicable)</title></rect>"
                           f'<text x="{x + cell_w / 2 - 1:.0f}" y="{y + 15}" text-anchor="middle" font-size="11">—</text>')
                continue
            share = good / total
            svg.append(f'<rect x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" fill="{_share_colour(share)}">'
                       f"<title>{e(clause)} · {e(zone)}: {good}/{total} 符合 compliant</title></rect>"
                       f'<text x="{x + cell_w / 2 - 1:.0f}" y="{y + 15}" text-anchor="middle" font-size="11">'
                       f"{round(100 * share)}% ({good}/{total})</text>")
    svg.append("</svg>")
    return ('<p class="meta">每格：该区域已评估对象中此条款结论为“符合”的比例 / each cell: the share of the '
            "zone's assessed assets whose verdict on the clause is compliant, among those with automated "
            "evidence on it (grey: waived, manual or not applicable only)</p>"
            + "".join(svg))


def _places(targets: list[TargetResult]) -> str:
    e = escape
    rows: dict[tuple[str, str], list[TargetResult]] = {}
    for t in targets:
        rows.setdefault((t.zone or "—", t.site or "—"), []).append(t)
    out = ["<table><tr><th>区域 Zone</th><th>站点 Site</th><th>对象 Targets</th><th>已评估 Assessed</th>"
           "<th>有问题 With findings</th><th>未能评估 Not assessed</th><th>平均得分 Mean score</th></tr>"]
    for (zone, site), group in sorted(rows.items()):
        assessed = [t for t in group if t.status == "assessed"]
        findings = sum(1 for t in assessed if t.counts()["fail"] or t.counts()["error"])
        scores = [t.score for t in assessed if t.score is not None]
        mean = f"{sum(scores) / len(scores):.1f}%" if scores else "—"
        out.append(f'<tr><td>{e(zone)}</td><td>{e(site)}</td><td class="r">{len(group)}</td>'
                   f'<td class="r">{len(assessed)}</td><td class="r">{findings}</td>'
                   f'<td class="r">{len(group) - len(assessed)}</td><td class="r">{mean}</td></tr>')
    out.append("</table>")
    return "".join(out)


def _trend_svg(points: list[tuple[str, float | None]], width: int = 640, height: int = 160) -> str:
    """Scores (0–100) over the audits, oldest left; a gap where an audit had no score."""
    known = [(i, label, v) for i, (label, v) in enumerate(points) if v is not None]
    if len(points) < 2:
        return ('<p class="meta">只有本次评估的记录，趋势从下次评估开始 / Only this audit is on record: '
                "the trend starts with the next one.</p>")
    left, right, top, bottom = 40, 10, 10, 30
    step = (width - left - right) / max(len(points) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return left + i * step, top + (100 - v) / 100 * (height - top - bottom)

    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
           'aria-label="score trend"><title>得分趋势 / score over the audits</title>']
    for v in (0, 50, 100):
        _, y = xy(0, v)
        svg.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{v}%</text>')
    if len(known) > 1:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, v) for i, _, v in known))
        svg.append(f'<polyline points="{path}" fill="none" stroke="#345" stroke-width="2"/>')
    for i, label, v in known:
        x, y = xy(i, v)
        svg.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#345"><title>{escape(label)}: {v:.1f}%</title></circle>')
    for i in {0, len(points) - 1}:
        x, _ = xy(i, 0)
        svg.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="{"start" if i == 0 else "end"}" font-size="10">'
                   f"{escape(points[i][0][:10])}</text>")
    svg.append("</svg>")
    return "".join(svg)


def _changes(previous: dict | None, entries: list[dict]) -> list[str]:
    e = escape
    if previous is None:
        return ["<p>无上次评估的记录 / No earlier audit of this profile is on record on this controller.</p>"]
    diff = history.changes(previous, entries)
    out = [f'<p class="meta">上次评估 Previous audit: {e(diff.previous_at)} (run {e(diff.previous)}) · '
           f"退步 regressed: {len(diff.regressed)} · 改进 improved: {len(diff.improved)} · "
           f"新增 new: {len(diff.new)} · 本次未评估 audited then, not now: {len(diff.not_now)}</p>"]
    if not diff.clauses_known:
        out.append('<p class="meta">上次记录没有按条款的结论，只比较得分 / The earlier record has no verdict per clause: '
                   "scores and statuses only.</p>")
    if diff.regressed:
        out.append("<table><tr><th>对象 Asset</th><th>得分 Score</th><th>状态 Status</th><th>变差的条款 Clauses now worse</th></tr>")
        for c in diff.regressed:
            before = "—" if c.before is None else f"{c.before:.1f}%"
            after = "—" if c.after is None else f"{c.after:.1f}%"
            out.append(f'<tr><td><a href="{e(asset_file(c.name))}">{e(c.name)}</a></td><td>{before} → {after}</td>'
                       f'<td>{e(c.status)}</td><td class="small">{e("; ".join(c.worse))}</td></tr>')
        out.append("</table>")
    else:
        out.append("<p>无退步 / Nothing regressed.</p>")
    for title, names in (("新增的对象 / Assets new in this audit", diff.new),
                         ("上次评估、本次未评估 / Audited then, not in this audit", diff.not_now)):
        if names:
            out.append(f"<details><summary>{e(title)}: {len(names)}</summary><p class=\"small\">"
                       f"{e(', '.join(names))}</p></details>")
    return out


def _waivers(run: Run) -> list[str]:
    """Per waived rule: how many assets, why and by whom (each asset's page has its own)."""
    e = escape
    by_rule: dict[tuple, int] = {}
    for t in run.targets:
        for r in t.results:
            if r.status == "waived":
                w = r.waiver or {}
                key = (r.rule, w.get("justification", ""), w.get("approver", ""), str(w.get("expires", "")))
                by_rule[key] = by_rule.get(key, 0) + 1
    if not by_rule and not run.expired_waivers:
        return ["<p>无 / None.</p>"]
    out = ["<table><tr><th>规则 Rule</th><th>对象数 Assets</th><th>理由 Justification</th><th>审批人 Approver</th>"
           "<th>有效期至 Expires</th><th>状态 State</th></tr>"]
    for (rule, why, who, until), n in sorted(by_rule.items()):
        out.append(f'<tr><td>{e(rule)}</td><td class="r">{n}</td><td>{e(why)}</td><td>{e(who)}</td>'
                   f"<td>{e(until)}</td><td>有效 / in force</td></tr>")
    for w in run.expired_waivers:
        out.append(f"<tr><td>{e(w['rule'])}</td><td>{e(w['targets'])}</td><td>{e(w['justification'])}</td>"
                   f"<td>{e(w['approver'])}</td><td>{e(w['expires'])}</td>"
                   '<td class="fail">已过期，不再生效 / expired, not applied</td></tr>')
    out.append("</table>")
    return out


# --- one asset ----------------------------------------------------------------------

def _asset_page(run: Run, t: TargetResult, scores: list[tuple[str, float | None]]) -> str:
    e = escape
    c = t.counts()
    out = _head(f"{t.name} — MLPS compliance report")
    out.append(f'<p class="nav"><a href="../index.html">← 汇总 / Summary</a> · 基线 Profile {e(run.profile)} · '
               f"生成时间 Generated {e(run.generated_at)}</p>")
    out.append(f"<h1>{e(_label(t))}</h1>")
    score = "—" if t.score is None else f"{t.score:.1f}%"
    out.append("<table><tr><th>类型 Kind</th><th>区域 Zone</th><th>站点 Site</th><th>平台 Platform</th>"
               "<th>状态 Status</th><th>得分 Score</th><th>通过 Pass</th><th>不通过 Fail</th><th>错误 Error</th>"
               "<th>人工 Manual</th><th>豁免 Waived</th><th>不适用 N/A</th><th>采集时间 Collected</th></tr>"
               f"<tr><td>{e(KIND_ZH.get(t.kind, t.kind))} / {e(t.kind)}</td><td>{e(t.zone)}</td><td>{e(t.site)}</td>"
               f"<td>{e(t.platform)}</td><td>{e(TARGET_ZH.get(t.status, t.status))} / {e(t.status)}</td>"
               f"<td><b>{score}</b></td><td>{c['pass']}</td><td>{c['fail']}</td><td>{c['error']}</td>"
               f"<td>{c['manual']}</td><td>{c['waived']}</td><td>{c['notapplicable']}</td>"
               f"<td>{e(t.collected_at or '—')}</td></tr></table>")
    if t.status != "assessed":
        out.append(f'<p class="error">未能评估 / Not assessed: {e(t.message)}</p>')
    out.append("<h2>得分趋势 / Score over the saved audits</h2>")
    out.append(_trend_svg(scores + [(run.generated_at + " (本次 this run)", t.score)]))

    out.append("<h2>一、按条款结论 / Verdict per clause</h2>")
    verdicts = clause_verdicts(t.results)
    if verdicts:
        out.append("<table><tr><th>条款 Clause</th><th>结论 Verdict</th></tr>")
        for clause, said in verdicts.items():
            out.append(f'<tr class="v-{said.replace(" ", "-")}"><td>{e(clause)}</td>'
                       f"<td>{SYMBOL[said]} {e(VERDICTS[said])} / {e(said)}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>无 / None.</p>")

    out.append("<h2>二、问题与证据 / Findings with evidence</h2>")
    findings = [r for r in t.results if r.status in ("fail", "error")]
    out += [_finding(r) for r in findings] or ["<p>无不通过项 / No failing rule.</p>"]
    out.append("<h2>三、需人工核查 / Manual checks</h2>")
    manual = [r for r in t.results if r.status == "manual"]
    out += [_finding(r, css="finding manual") for r in manual] or ["<p>无 / None.</p>"]
    out.append("<h2>四、豁免 / Waivers</h2>")
    waived = [r for r in t.results if r.status == "waived"]
    if waived:
        out.append("<table><tr><th>规则 Rule</th><th>理由 Justification</th><th>审批人 Approver</th><th>有效期至 Expires</th></tr>")
        for r in waived:
            w = r.waiver or {}
            out.append(f"<tr><td>{e(r.rule)}</td><td>{e(w.get('justification', ''))}</td>"
                       f"<td>{e(w.get('approver', ''))}</td><td>{e(w.get('expires', ''))}</td></tr>")
        out.append("</table>")
    else:
        out.append("<p>无 / None.</p>")
    out.append("<h2>五、通过项的证据 / Evidence of passing results</h2>")
    passed = [r for r in t.results if r.status == "pass"]
    if passed:
        out.append("<table><tr><th>规则 Rule</th><th>条款 Clause</th><th>实际 Actual</th><th>证据 Evidence</th></tr>")
        for r in passed:
            out.append(f"<tr><td>{e(r.rule)}</td><td>{e(r.clause)}</td><td>{e(r.actual)}</td>"
                       f"<td><pre>{e(chr(10).join(r.evidence) or '(none)')}</pre></td></tr>")
        out.append("</table>")
    else:
        out.append("<p>无 / None.</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# --- writing ------------------------------------------------------------------------

def is_folder_output(output: Path) -> bool:
    """-o names a folder report: an existing folder, a name without a suffix, or a .zip."""
    return output.is_dir() or output.suffix in ("", ".zip")


def write(run: Run, dest: Path, records: list[dict]) -> int:
    """The report into folder DEST (replacing an earlier mzops report there, nothing else)
    or into the zip archive DEST; pages are written as they are rendered. Returns the
    size of the summary page in bytes."""
    if dest.suffix != ".zip" and dest.exists() and not replaceable(dest):
        raise InputError(f"-o {dest}: exists and is not an mzops report folder (give a new or empty folder)")
    dest.parent.mkdir(parents=True, exist_ok=True)
    summary_size = 0
    if dest.suffix == ".zip":
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
        os.close(fd)
        try:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for path, text in pages(run, records):
                    data = text.encode("utf-8")
                    summary_size = summary_size or len(data)
                    archive.writestr(f"{dest.stem}/{path}", data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return summary_size
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        (tmp_dir / "assets").mkdir()
        for path, text in pages(run, records):
            data = text.encode("utf-8")
            summary_size = summary_size or len(data)
            (tmp_dir / path).write_bytes(data)
        tmp_dir.chmod(0o755)
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
            dest.rename(old)
            tmp_dir.rename(dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp_dir.rename(dest)
    finally:
        if tmp_dir.exists():
            shutil.rmtree(tmp_dir, ignore_errors=True)
    return summary_size


def replaceable(folder: Path) -> bool:
    """An empty folder, or one an earlier `write` made (its summary carries the marker)."""
    if not folder.is_dir():
        return False
    entries = {p.name for p in folder.iterdir()}
    if not entries:
        return True
    index = folder / "index.html"
    try:
        return entries <= {"index.html", "assets"} and MARKER in index.read_text(encoding="utf-8", errors="replace")[:2000]
    except OSError:
        return False
