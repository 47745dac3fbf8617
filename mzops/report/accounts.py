"""Reports of an accounts check: table, JSON, self-contained bilingual HTML."""

from __future__ import annotations

import io
import json
from html import escape

from rich.console import Console
from rich.table import Table

from mzops.report.html import CSS

FORMATS = ("table", "json", "html")
KIND_ZH = {"shared": "共享账户", "unregistered": "未登记（多余）账户", "expired": "过期账户", "dormant": "长期未用账户",
           "empty_password": "空口令", "uid0": "额外的 UID 0", "role_conflict": "权限/三权分立冲突",
           "register_stale": "登记表过时条目"}


def render(report, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "html":
        return _html(report)
    buffer = io.StringIO()
    console = Console(file=buffer, width=160, color_system=None)
    assets = Table("asset", "kind", "status", "accounts", "message", title="Account hygiene")
    for a in report.assets:
        assets.add_row(a.name, a.kind, a.status, str(a.accounts), a.message)
    console.print(assets)
    if report.findings:
        table = Table("asset", "account", "kind", "severity", "detail", title=f"{len(report.findings)} findings")
        for f in report.findings:
            table.add_row(f.asset, f.account, f.kind, f.severity, f.detail)
        console.print(table)
    return buffer.getvalue()


def render_locks(locks, applied: bool) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=160, color_system=None)
    table = Table("asset", "account", "state", "action", "result", "detail",
                  title="lock (applied)" if applied else "lock preview (nothing changed; --apply to lock)")
    for lock in locks:
        table.add_row(lock.asset, lock.account, lock.state, " ".join(lock.command), lock.result, lock.detail)
    console.print(table)
    return buffer.getvalue()


def _html(report) -> str:
    e = escape
    out = ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
           "<title>账户安全检查报告 / Account hygiene report</title>", f"<style>{CSS}</style></head><body>",
           "<h1>账户安全检查报告（共享、多余、过期账户与三权分立）<br>Account hygiene report</h1>",
           f'<p class="meta">GB/T 22239-2019 8.1.4.2 c) d) · 生成时间 Generated: {e(report.generated_at)} · '
           f"长期未用阈值 Dormant after: {report.dormant_days} days · 只读检查 read-only</p>",
           "<h2>一、检查对象 / Assets</h2><table><tr><th>对象 Asset</th><th>类型 Kind</th><th>状态 Status</th>"
           "<th>账户数 Accounts</th><th>说明 Message</th></tr>"]
    for a in report.assets:
        out.append(f"<tr><td>{e(a.name)}</td><td>{e(a.kind)}</td><td>{e(a.status)}</td><td>{a.accounts}</td>"
                   f"<td>{e(a.message)}</td></tr>")
    out.append("</table><h2>二、问题 / Findings</h2>")
    if not report.findings:
        out.append("<p>无问题 / No finding.</p>")
    for f in report.findings:
        out.append(f'<div class="finding"><p><b>{e(f.asset)}: {e(f.account)}</b> — {e(KIND_ZH.get(f.kind, f.kind))} / '
                   f'{e(f.kind)} <span class="sev-{e(f.severity)}">{e(f.severity)}</span></p>'
                   f"<p>{e(f.detail)}</p><pre>{e(chr(10).join(f.evidence))}</pre></div>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"
