"""`mzops harden rollback RUN_ID`: put back what a run changed, prove it, re-audit.

The host-side backup of the run is compared with the host now (snapshot.sh diff);
the differences are restored, daemons reloaded after validation, the comparison is
repeated and must come back empty, and the audit must give the run's "before" again.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from mzops.compliance import audit
from mzops.compliance.catalogue import Catalogue
from mzops.errors import InputError
from mzops.harden import run as hrun
from mzops.harden.lifeline import Lifeline
from mzops.inventory.model import Estate
from mzops.results import ASSESSED
from mzops.secrets import Resolver

RESTORED, DIFFERENT, FAILED, NOTHING, PLANNED = "restored", "different", "failed", "nothing-to-do", "planned"


@dataclass
class HostRollback:
    name: str
    status: str = PLANNED
    message: str = ""
    actions: list[str] = field(default_factory=list)     # what was (or would be) restored
    remaining: list[str] = field(default_factory=list)   # differences left after restoring
    audit_changes: dict[str, list[str]] = field(default_factory=dict)  # rule -> [before, now]


@dataclass
class Rollback:
    run_id: str
    check: bool
    started: str
    hosts: list[HostRollback] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def exit_code(self) -> int:
        return 1 if any(h.status in (FAILED, DIFFERENT) for h in self.hosts) else 0


def _lines(raw: bytes) -> list[str]:
    return [line for line in raw.decode(errors="replace").splitlines() if line.strip()]


def rollback(estate: Estate, catalogue: Catalogue, run_id: str, limit: str | None, check: bool,
             resolver: Resolver | None = None, progress: Callable[[str], None] = lambda _: None) -> Rollback:
    started = time.monotonic()
    record = hrun.load(run_id)
    backed_up = {h.name: h for h in record.hosts if h.backup}
    if not backed_up:
        raise InputError(f"run {run_id}: no host was changed (a preview, or refused before any change)")
    names = set(estate.limit(limit)) if limit else set(backed_up)
    chosen = [backed_up[n] for n in backed_up if n in names]
    if not chosen:
        raise InputError(f"--limit: {limit!r} matches none of the hosts changed by run {run_id} "
                         f"({', '.join(sorted(backed_up))})")
    missing = [h.name for h in chosen if h.name not in estate.assets]
    if missing:
        raise InputError(f"run {run_id}: host {missing[0]} is no longer in {estate.source}")
    result = Rollback(run_id, check, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    rule_ids = sorted({r for h in chosen for r in h.rules})
    for host in chosen:
        out = HostRollback(host.name)
        result.hosts.append(out)
        try:
            line = Lifeline(hrun.target_for(estate.assets[host.name], resolver))
            line.open()
        except Exception as exc:  # noqa: BLE001 - whatever the cause, this host cannot be restored now
            out.status, out.message = FAILED, f"cannot connect: {exc}"
            continue
        try:
            diff = line.run(hrun.SNAPSHOT_SCRIPT, ["diff", host.backup])
            if diff.rc != 0:
                out.status, out.message = FAILED, (diff.stderr or "backup unreadable")[:300]
                continue
            out.actions = _lines(diff.stdout)
            if check or not out.actions:
                out.status = PLANNED if out.actions else NOTHING
                continue
            progress(f"{host.name}: restoring {len(out.actions)} difference(s)")
            hrun.restore(line, host.backup)
            again = line.run(hrun.SNAPSHOT_SCRIPT, ["diff", host.backup])
            out.remaining = _lines(again.stdout)
            login = line.fresh_login()
            if login.rc != 0:
                out.status, out.message = FAILED, f"new logins fail after the restore: {login.stderr[:200]}"
            elif out.remaining:
                out.status, out.message = DIFFERENT, f"{len(out.remaining)} difference(s) remain"
            else:
                out.status = RESTORED
        finally:
            line.close()
    if not check:
        _reaudit(estate, catalogue, record, result, rule_ids, resolver, progress)
    result.seconds = time.monotonic() - started
    folder = hrun.run_dir(run_id)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    (folder / f"rollback-{stamp}{'-check' if check else ''}.json").write_text(
        json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
    return result


def _reaudit(estate, catalogue, record, result: Rollback, rule_ids, resolver, progress) -> None:
    """Compare the audit now with the run's "before" for the rules it applied."""
    restored = [h for h in result.hosts if h.status in (RESTORED, NOTHING)]
    if not restored:
        return
    rules = [catalogue.rules[r] for r in rule_ids if r in catalogue.rules]
    request = audit.AuditRequest.single(catalogue, rules, resolver=resolver)
    now = audit.run(estate, [estate.assets[h.name] for h in restored], request, progress=progress)
    before = {h.name: h for h in record.hosts}
    for host, target in zip(restored, now.targets):
        if target.status != ASSESSED:
            host.status, host.message = FAILED, f"not re-audited: {target.message}"
            continue
        was = before[host.name].before
        for r in target.results:
            if r.rule in before[host.name].rules and was.get(r.rule) != r.status:
                host.audit_changes[r.rule] = [was.get(r.rule, "?"), r.status]
        if host.audit_changes:
            host.status = DIFFERENT
            host.message = f"audit differs from before the run: {', '.join(sorted(host.audit_changes))}"
