"""`mzops harden rollback RUN_ID`: put back what a run changed, prove it, re-audit.

The run's snapshot on the host is compared with the host now (snapshot.sh diff);
the differences are restored, daemons reloaded after validation (a database restarts
when a restored setting is read only at start), and what a database keeps in its
catalogue (role attributes, live variables, account locks) is put back by SQL from
the facts collected before the run. Both comparisons are repeated and must come back
empty, and the audit must give the run's "before" again.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from mzops import run as runlayer
from mzops.compliance import audit
from mzops.compliance.catalogue import Catalogue
from mzops.bundle import CollectionError
from mzops.errors import InputError
from mzops.harden import roles
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

    def outcome(self) -> runlayer.Outcome:
        state = {RESTORED: runlayer.CHANGED, FAILED: runlayer.FAILED, DIFFERENT: runlayer.FAILED}.get(
            self.status, runlayer.OK)
        return runlayer.Outcome(self.name, state, self.message, record=self)


@dataclass
class Rollback:
    run_id: str
    check: bool
    started: str
    hosts: list[HostRollback] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def result(self) -> runlayer.Result:
        return runlayer.Result("harden", self.run_id, [h.outcome() for h in self.hosts], self.seconds)

    def exit_code(self) -> int:
        return self.result().exit_code()


def _lines(raw: bytes) -> list[str]:
    return [line for line in raw.decode(errors="replace").splitlines() if line.strip()]


def rollback(estate: Estate, catalogues: dict[str, Catalogue], run_id: str, limit: str | None, check: bool,
             resolver: Resolver | None = None, progress: Callable[[str], None] = lambda _: None) -> Rollback:
    started = time.monotonic()
    record = hrun.load(run_id)
    snapshotted = {h.name: h for h in record.hosts if h.snapshot}
    if not snapshotted:
        raise InputError(f"run {run_id}: no host was changed (a preview, or refused before any change)")
    names = set(estate.limit(limit)) if limit else set(snapshotted)
    chosen = [snapshotted[n] for n in snapshotted if n in names]
    if not chosen:
        raise InputError(f"--limit: {limit!r} matches none of the hosts changed by run {run_id} "
                         f"({', '.join(sorted(snapshotted))})")
    missing = [h.name for h in chosen if h.name not in estate.assets]
    if missing:
        raise InputError(f"run {run_id}: host {missing[0]} is no longer in {estate.source}")
    result = Rollback(run_id, check, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))

    def one(host: hrun.HostRun) -> HostRollback:
        out = HostRollback(host.name)
        try:
            _restore_host(estate, run_id, host, out, check, resolver, progress)
        except (CollectionError, InputError) as exc:
            out.status, out.message = FAILED, f"database state not read: {exc}"
        return out

    # One host at a time: a rollback is done when something went wrong; keep it calm.
    result.hosts = runlayer.each(chosen, one, forks=1)
    if not check:
        _reaudit(estate, catalogues, record, result, resolver, progress)
    result.seconds = time.monotonic() - started
    folder = hrun.run_dir(run_id)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    (folder / f"rollback-{stamp}{'-check' if check else ''}.json").write_text(
        json.dumps(result.to_dict(), ensure_ascii=False, indent=1))
    return result


def _restore_host(estate: Estate, run_id: str, host: hrun.HostRun, out: HostRollback, check: bool,
                  resolver: Resolver | None, progress: Callable[[str], None]) -> None:
    asset = estate.assets[host.name]
    try:
        line = Lifeline(hrun.target_for(asset, resolver))
        line.open()
    except Exception as exc:  # noqa: BLE001 - whatever the cause, this host cannot be restored now
        out.status, out.message = FAILED, f"cannot connect: {exc}"
        return
    try:
        diff = line.run(hrun.SNAPSHOT_SCRIPT, ["diff", host.snapshot])
        if diff.rc != 0:
            out.status, out.message = FAILED, (diff.stderr or "snapshot unreadable")[:300]
            return
        files = _lines(diff.stdout)
        statements = hrun.undo_sql(estate, run_id, host, resolver)
        out.actions = files + [f"sql|{s}" for s in statements]
        if check or not out.actions:
            out.status = PLANNED if out.actions else NOTHING
            return
        progress(f"{host.name}: restoring {len(out.actions)} difference(s)")
        try:
            if files:
                progress(f"{host.name}: {hrun.restore(line, host, asset)}")
            if statements:
                progress(f"{host.name}: {hrun.put_back_sql(line, asset, statements)}")
        except hrun.RestoreError as exc:
            out.status, out.message = FAILED, str(exc)
            return
        again = line.run(hrun.SNAPSHOT_SCRIPT, ["diff", host.snapshot])
        out.remaining = _lines(again.stdout) + [f"sql|{s}" for s in hrun.undo_sql(estate, run_id, host, resolver)]
        login = line.fresh_login() if roles.ROLES[host.family].fresh_login else None
        if login is not None and login.rc != 0:
            out.status, out.message = FAILED, f"new logins fail after the restore: {login.stderr[:200]}"
        elif out.remaining:
            out.status, out.message = DIFFERENT, f"{len(out.remaining)} difference(s) remain"
        else:
            out.status = RESTORED
    finally:
        line.close()


def _reaudit(estate, catalogues, record, result: Rollback, resolver, progress) -> None:
    """Compare the audit now with the run's "before" for the rules it applied."""
    restored = [h for h in result.hosts if h.status in (RESTORED, NOTHING)]
    if not restored:
        return
    before = {h.name: h for h in record.hosts}
    suites = {}
    for host in restored:
        family = before[host.name].family
        ids = set(before[host.name].rules) | ({r.id for r in suites[family].rules} if family in suites else set())
        suites[family] = audit.Suite(catalogues[family], [r for r in catalogues[family].baseline.rules if r.id in ids])
    request = audit.AuditRequest(suites, [], [], resolver=resolver)
    now = audit.run(estate, [estate.assets[h.name] for h in restored], request, progress=progress)
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
