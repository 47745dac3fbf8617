"""The backup report for auditors and the morning after (GB/T 22239-2019 8.1.4.9 a), b)):
per job and asset the last good backup and its age, the chain a restore needs and
whether every part of it is accounted for, the last read-back and what it found, where
every volume of the chain is, and the last restore drill with the restore time it
measured (a failed drill is a finding)."""

from __future__ import annotations

import datetime as dt
import json
from html import escape

from sqlalchemy import select

from mzops.backup.catalogue import Catalogue, Verification, Volume
from mzops.backup.policy import Policy
from mzops.inventory.model import Estate


def rows(policy: Policy, estate: Estate, catalogue: Catalogue, max_age_hours: float,
         now: dt.datetime | None = None) -> list[dict]:
    now = now or dt.datetime.now(dt.timezone.utc)
    with catalogue.session() as session:
        where = {v.barcode: v.location or v.library for v in session.scalars(select(Volume))}
        checks = {}
        for v in session.scalars(select(Verification).order_by(Verification.at)):
            checks[v.run_key] = v
    from mzops.backup.drill import last_drills
    drills = last_drills(catalogue)
    out = []
    for name, job in sorted(policy.jobs.items()):
        for asset in sorted(estate.expand(job.assets)):
            row = {"job": name, "asset": asset, "last": None, "age_hours": None, "level": None, "chain": [],
                   "volumes": {}, "copies": {}, "verified": None, "verify_problems": "", "status": "no backup",
                   "drill": _drill(drills.get((name, asset))),
                   "last_passed_drill": _drill(drills.get((name, asset, "passed")))}
            try:
                chain = catalogue.chain(name, asset)
            except LookupError as exc:
                row["status"] = f"broken chain: {exc}"
                out.append(row)
                continue
            if not chain:
                out.append(row)
                continue
            last = chain[-1]
            age = (now - dt.datetime.fromisoformat(last.finished)).total_seconds() / 3600
            volumes = {p.volume: where.get(p.volume, "unknown") for r in chain for p in r.parts}
            verified = [checks[r.id] for r in chain if r.id in checks]
            copies = {c.volume: where.get(c.volume, "unknown") for r in chain for c in r.copies}
            uncopied = [r for r in chain if not r.copies] if policy.pools[job.pool].copy_to else []
            row.update(last=last.finished, age_hours=round(age, 1), level=last.level,
                       chain=[f"{r.level}:{r.finished}" for r in chain], volumes=volumes, copies=copies)
            if len(verified) == len(chain):
                row["verified"] = min(v.at for v in verified)
                row["verify_problems"] = "\n".join(v.problems for v in verified if v.problems)
            gaps = json.loads(last.facts or "{}").get("gaps")
            if row["verify_problems"]:
                row["status"] = "verify failed"
            elif gaps:
                row["status"] = (f"log {gaps[0]} missing from tape: the times it covers cannot be restored "
                                 "(the next run takes a full)")
            elif row["drill"] and not row["drill"]["passed"]:
                row["status"] = f"the last restore drill failed ({row['drill']['at']}): {row['drill']['problems'][:200]}"
            elif age > max_age_hours:
                row["status"] = f"stale (older than {max_age_hours:g} h)"
            elif any(w == "unknown" for w in volumes.values()):
                row["status"] = "a volume's whereabouts unknown"
            elif uncopied:
                row["status"] = (f"no copy in {policy.pools[policy.pools[job.pool].copy_to].library} of level "
                                 f"{uncopied[0].level} ({uncopied[0].finished}): run `mzops backup copy`")
            else:
                row["status"] = "ok" if row["verified"] else "ok (chain not verified yet)"
            out.append(row)
    return out


def _drill(found) -> dict | None:
    if found is None:
        return None
    return {"at": found.started, "passed": found.passed, "point": found.point, "host": found.host,
            "seconds": round(found.seconds, 1), "first_byte_seconds": round(found.first_byte_seconds, 1),
            "checked": found.checked, "problems": found.problems}


def healthy(found: list[dict]) -> bool:
    return all(r["status"].startswith("ok") for r in found)


def _drill_cell(row: dict) -> str:
    d, good = row["drill"], row["last_passed_drill"]
    if d is None:
        return "— (never drilled)"
    text = (f"{escape(d['at'])}: {'passed' if d['passed'] else 'FAILED'}, {d['seconds']} s "
            f"(first byte {d['first_byte_seconds']} s)<br>{escape(d['checked'] or d['problems'][:200])}")
    if not d["passed"] and good is not None:
        text += f"<br>last passed: {escape(good['at'])}, {good['seconds']} s"
    return text


def html(found: list[dict], generated: str) -> str:
    e = escape
    out = ["<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
           "<title>备份与恢复报告 / Backup report</title>",
           "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
           "td,th{border:1px solid #999;padding:.3em .6em;vertical-align:top}.bad{background:#fdd}"
           ".ok{background:#dfd}</style></head><body>",
           "<h1>数据备份与恢复检查报告<br>Backup and recovery report</h1>",
           f"<p>GB/T 22239-2019 8.1.4.9 a) b) · 生成时间 Generated: {e(generated)}</p>",
           "<table><tr><th>作业 Job</th><th>对象 Asset</th><th>最近备份 Last backup</th><th>时长 Age (h)</th>"
           "<th>恢复链 Chain (level:time)</th><th>介质及位置 Volumes and where</th>"
           "<th>异地副本 Off-site copies</th><th>校验 Verified</th>"
           "<th>恢复演练 Last restore drill (restore time)</th>"
           "<th>结论 Status</th></tr>"]
    for r in found:
        css = "ok" if r["status"].startswith("ok") else "bad"
        volumes = "<br>".join(f"{e(b)}: {e(w)}" for b, w in r["volumes"].items())
        copies = "<br>".join(f"{e(b)}: {e(w)}" for b, w in r["copies"].items())
        verified = e(r["verified"] or "—") + (f"<br>{e(r['verify_problems'])}" if r["verify_problems"] else "")
        out.append(f'<tr class="{css}"><td>{e(r["job"])}</td><td>{e(r["asset"])}</td><td>{e(r["last"] or "—")}</td>'
                   f'<td>{r["age_hours"] if r["age_hours"] is not None else "—"}</td>'
                   f'<td>{"<br>".join(e(c) for c in r["chain"]) or "—"}</td><td>{volumes or "—"}</td>'
                   f'<td>{copies or "—"}</td>'
                   f'<td>{verified}</td><td>{_drill_cell(r)}</td><td><b>{e(r["status"])}</b></td></tr>')
    out.append("</table></body></html>")
    return "\n".join(out) + "\n"
