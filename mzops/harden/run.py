"""`mzops harden run`: preview, or apply in batches with guards, snapshot and verification.

Hosts and databases alike (each asset to its baseline family's role, see
`mzops.harden.roles`). For each batch: hold a lifeline (SSH master) to each asset's
host, save what the rules may change on the host itself, run the roles through
ansible-runner, log in afresh where sshd/PAM changed (broken logins are restored
through the lifeline at once), collect the facts again and evaluate. The first asset
that fails stops the run: later batches are not touched.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from mzops import run as runlayer
from mzops.compliance import audit, dbcollect
from mzops.compliance.catalogue import Rule
from mzops.bundle import Bundle, CollectionError
from mzops.facts import Facts
from mzops.connect import ansible, ssh
from mzops.errors import InputError
from mzops.harden import events as ev
from mzops.harden import guards, roles, selection
from mzops.harden.lifeline import Lifeline
from mzops.harden.locks import automation_account
from mzops.inventory.model import Asset, Estate
from mzops.oplog import current_user
from mzops.results import ASSESSED
from mzops.secrets import Resolver

PLAYBOOKS = roles.PLAYBOOKS
HOST_SNAPSHOTS = "/var/lib/mzops/snapshot"
SNAPSHOT_SCRIPT = (Path(__file__).parent / "snapshot.sh").read_bytes()
GUARD_GROUPS = ("accounts", "sudo", "logins", "sshd")

# Host states in a run record.
PREVIEWED, APPLIED, FAILED, REFUSED, UNREACHABLE, NOT_RUN = (
    "previewed", "applied", "failed", "refused", "unreachable", "not-run")


@dataclass
class HostRun:
    name: str
    status: str = NOT_RUN
    message: str = ""
    rules: list[str] = field(default_factory=list)           # rules applied (their tags)
    left_out: dict[str, str] = field(default_factory=dict)   # rule -> why not applied
    refusals: list[str] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    before: dict[str, str] = field(default_factory=dict)     # rule -> audit status
    after: dict[str, str] = field(default_factory=dict)
    snapshot: str = ""                                        # its folder on the host
    login: str = ""
    family: str = "linux"                                     # baseline family (role)
    restart: list[str] = field(default_factory=list)          # applied rules read only at start
    strategy: str = ""                                        # what Ansible ran on it (and why not the one asked)

    def changed_rules(self) -> list[str]:
        return sorted({t["rule"] for t in self.tasks if t["status"] == "changed" and t["rule"] != ev.SHARED})

    def outcome(self) -> runlayer.Outcome:
        state = {FAILED: runlayer.FAILED, REFUSED: runlayer.REFUSED, UNREACHABLE: runlayer.UNREACHABLE}.get(
            self.status, runlayer.OK)
        if self.status == APPLIED and self.changed_rules():
            state = runlayer.CHANGED
        return runlayer.Outcome(self.name, state, self.message, record=self)

    def still_failing(self) -> list[str]:
        return [r for r in self.rules if self.after.get(r) not in ("pass", "waived", "notapplicable")]


@dataclass
class HardenRun:
    run_id: str
    mode: str                       # preview | apply
    profile: str
    user: str
    started: str
    hosts: list[HostRun] = field(default_factory=list)
    seconds: float = 0.0
    stopped: str = ""

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for host, data in zip(self.hosts, out["hosts"]):
            data["changed_rules"] = host.changed_rules()
            data["backup"] = host.snapshot   # the field's first name, kept for readers of the JSON
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HardenRun:
        def host(h: dict[str, Any]) -> HostRun:
            fields = {k: v for k, v in h.items() if k not in ("changed_rules", "backup")}
            fields.setdefault("snapshot", h.get("backup", ""))   # records written before the rename
            return HostRun(**fields)
        return cls(**{k: v for k, v in data.items() if k != "hosts"}, hosts=[host(h) for h in data["hosts"]])

    def result(self) -> runlayer.Result:
        return runlayer.Result("harden", self.run_id, [h.outcome() for h in self.hosts], self.seconds,
                               self.stopped)

    def exit_code(self) -> int:
        return self.result().exit_code()


@dataclass
class HardenRequest:
    suites: dict[str, audit.Suite]   # baseline family -> catalogue and selected rules
    skip: set[str]
    disruptive: bool
    apply: bool
    batches: list[int]
    run_id: str
    forks: int = 10
    resolver: Resolver | None = None
    restart: bool = False   # allow rules that take effect at a server restart
    strategy: str | None = None   # --strategy; else each host's mzops_ansible_strategy, else the default

    @property
    def profile(self) -> str:
        return next(iter(self.suites.values())).catalogue.baseline.profile

    def rules_of(self, family: str) -> dict[str, Rule]:
        return self.suites[family].catalogue.rules


RECORDS = runlayer.Records("harden")


def run_dir(run_id: str) -> Path:
    return RECORDS.folder(run_id)


def exclusive():
    """One run or rollback at a time on this controller (a timer and an engineer may collide)."""
    return runlayer.exclusive("harden", "harden run or rollback")


def history() -> list[HardenRun]:
    """Recorded runs, newest first."""
    return [load(run_id) for run_id in RECORDS.history()]


def save(record: HardenRun) -> Path:
    return RECORDS.save(record.run_id, record.to_dict())


def load(run_id: str) -> HardenRun:
    return HardenRun.from_dict(RECORDS.load(run_id))


def target_for(asset: Asset, resolver: Resolver | None) -> ssh.Target:
    return ssh.target_of(asset, resolver)


def _audit(estate: Estate, assets: list[Asset], request: HardenRequest, facts_dir: Path | None,
           progress: Callable[[str], None]):
    areq = audit.AuditRequest(request.suites, [], [], forks=request.forks, save_facts=facts_dir,
                              resolver=request.resolver, extra_groups=GUARD_GROUPS)
    return audit.run(estate, assets, areq, progress=progress)


def _statuses(result) -> dict[str, str]:
    return {r.rule: r.status for r in result.results}


def _batches(names: list[str], sizes: list[int]) -> list[list[str]]:
    out, i, n = [], 0, 0
    while i < len(names):
        size = sizes[min(n, len(sizes) - 1)]
        out.append(names[i:i + size])
        i, n = i + size, n + 1
    return out


def _ansible(estate: Estate, hosts: list[HostRun], request: HardenRequest, folder: Path, check: bool) -> None:
    """One ansible-runner call per family and distinct rule set (usually one per family)."""
    groups: dict[tuple[str, tuple[str, ...], str], list[HostRun]] = {}
    for host in hosts:
        asked = request.strategy or ansible.asked_by([estate.assets[host.name].vars])
        groups.setdefault((host.family, tuple(host.rules), asked), []).append(host)
    for index, ((family, tags, asked), members) in enumerate(groups.items()):
        if not tags:
            continue
        chosen = ansible.strategy(asked)
        # Keys held in Vault reach Ansible's ssh through a private agent, never a file.
        keys = [target_for(estate.assets[h.name], request.resolver).key for h in members]
        with ssh.agent(keys) as agent_env:
            runner = ansible.run_project(
                folder / f"ansible-{index}", estate.source, PLAYBOOKS, roles.ROLES[family].playbook,
                [h.name for h in members],
                list(tags), check, {"mzops_run_id": request.run_id}, forks=request.forks,
                agent_socket=(agent_env or {}).get("SSH_AUTH_SOCK"), chosen=chosen)
        per_host = ev.from_events(runner.events)
        for host in members:
            host.strategy = str(runner.used.get(host.name, chosen))
            tasks = per_host.get(host.name, ev.HostTasks())
            host.tasks = [t.to_dict() for t in tasks.tasks]
            host.counts = tasks.counts()
            failed = [t for t in tasks.tasks if t.status in ("failed", "unreachable")]
            if failed:
                host.status = FAILED
                host.message = f"{failed[0].rule} | {failed[0].task}: {failed[0].message}"[:500]
            elif host.name not in per_host:
                host.status = FAILED
                host.message = f"Ansible did not run on it ({runner.status}): {_last_error(runner)}"


def _last_error(runner) -> str:
    """The reason Ansible gives when it stops before any host (syntax, inventory)."""
    try:
        text = runner.stdout.read()
    except (AttributeError, OSError, ValueError):
        return "no output"
    errors = [line for line in text.splitlines() if "ERROR" in line]
    return (errors[-1] if errors else text.strip()[-300:]) or "no output"


def plan(estate: Estate, assets: list[Asset], request: HardenRequest,
         progress: Callable[[str], None]) -> HardenRun:
    """Collect facts, select rules per asset and check the lockout guards."""
    record = HardenRun(request.run_id, "apply" if request.apply else "preview",
                       request.profile, current_user()[0],
                       dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
    facts_dir = run_dir(request.run_id) / "before"
    before = _audit(estate, assets, request, facts_dir, progress)
    bundles = {p.stem: Bundle.load(p) for p in facts_dir.glob("*.json")} if facts_dir.is_dir() else {}
    for asset, result in zip(assets, before.targets):
        host = HostRun(asset.name)
        record.hosts.append(host)
        if result.status != ASSESSED:
            host.status, host.message = UNREACHABLE if result.status == "unreachable" else FAILED, result.message
            continue
        host.family = audit.family_of(asset)
        suite = request.suites[host.family]
        params = suite.catalogue.params_for(asset.vars, estate.where(asset.name))
        chosen = selection.select(suite.rules, params, request.disruptive, request.skip, request.restart)
        host.rules, host.left_out, host.before = chosen.tags, chosen.left_out, _statuses(result)
        host.restart = [r.id for r in chosen.apply if r.remediation.restart]
        bundle = bundles.get(asset.name)
        if bundle is not None and host.family == "linux":
            become = ssh.Target.from_vars(asset.name, asset.vars).become
            host.refusals = guards.refusals(Facts(bundle), set(host.rules), params, automation_account(asset), become)
        if host.refusals:
            host.status, host.message = REFUSED, host.refusals[0]
    return record


def _announce(events: runlayer.Events, record: HardenRun) -> None:
    events.begin("harden", [h.name for h in record.hosts])
    for host in record.hosts:
        events.finished(host.outcome())
    events.end(record.stopped)


def preview(estate: Estate, assets: list[Asset], request: HardenRequest,
            progress: runlayer.Events | Callable[[str], None] | None = None) -> HardenRun:
    started = time.monotonic()
    progress = runlayer.as_events(progress)
    record = plan(estate, assets, request, progress)
    ready = [h for h in record.hosts if h.status == NOT_RUN]
    progress(f"preview (check mode) on {len(ready)} host(s)")
    _ansible(estate, ready, request, run_dir(request.run_id), check=True)
    for host in ready:
        if host.status == NOT_RUN:
            host.status = PREVIEWED
    record.seconds = time.monotonic() - started
    save(record)
    _announce(progress, record)
    return record


def undo_sql(estate: Estate, run_id: str, host: HostRun, resolver: Resolver | None) -> list[str]:
    """Statements that put a database's catalogue back to its facts before the run
    (read now over the database's usual path); none for a Linux host."""
    if host.family == "linux":
        return []
    path = run_dir(run_id) / "before" / f"{host.name}.json"
    if not path.is_file():
        raise InputError(f"run {run_id}: {path} is missing (the facts before the run)")
    asset = estate.assets[host.name]
    now = dbcollect.collect(estate, asset, resolver or Resolver())
    table = roles.ROLES[host.family].table()
    return dbcollect.engine_of(asset).undo_statements(host.rules, table, Facts(Bundle.load(path)), Facts(now),
                                                      restarting=bool(host.restart))


def restore(lifeline: Lifeline, host: HostRun, asset: Asset) -> str:
    """Put an asset's files back from its snapshot through the held connection, then let
    what reads them do so again (validated reloads; a database restarts if needed)."""
    done = lifeline.run(SNAPSHOT_SCRIPT, ["restore", host.snapshot])
    role = roles.ROLES[host.family]
    args = [] if asset.kind == "host" else [str(dbcollect.port_of(asset)), "restart" if host.restart else ""]
    reload = lifeline.run(role.after_restore, args)
    return (done.stdout.decode(errors="replace") + done.stderr + reload.stderr).strip()


def put_back_sql(lifeline: Lifeline, asset: Asset, statements: list[str]) -> str:
    """Run the statements that give a database's catalogue back (RestoreError if refused)."""
    script = b'PORT=$1 sql=$2\n' + dbcollect.engine_of(asset).sql_exec
    sql = lifeline.run(script, [str(dbcollect.port_of(asset)), "\n".join(statements)])
    if sql.rc != 0:
        raise RestoreError(f"SQL undo failed: {sql.stderr[:300]}")
    return "\n".join(statements)


class RestoreError(Exception):
    pass


def _restore_failed(estate: Estate, host: HostRun, line: Lifeline, request: HardenRequest,
                    progress: Callable[[str], None]) -> None:
    """A database whose run failed gets its files back at once (the server restarted
    on them if need be), then its catalogue, read again once it answers."""
    progress(f"{host.name}: {host.message}; restoring the snapshot")
    asset = estate.assets[host.name]
    progress(f"{host.name}: {restore(line, host, asset)}")
    try:
        statements = undo_sql(estate, request.run_id, host, request.resolver)
        if statements:
            progress(f"{host.name}: {put_back_sql(line, asset, statements)}")
    except (RestoreError, InputError, CollectionError) as exc:
        host.message += f"; RESTORE INCOMPLETE: {exc} (run `mzops harden rollback {request.run_id}`)"
        progress(f"{host.name}: {exc}")


def apply(estate: Estate, assets: list[Asset], request: HardenRequest,
          progress: runlayer.Events | Callable[[str], None] | None = None) -> HardenRun:
    started = time.monotonic()
    progress = runlayer.as_events(progress)
    record = plan(estate, assets, request, progress)
    refused = [h for h in record.hosts if h.status == REFUSED]
    if refused:
        # Nothing changes anywhere while one host would be put at risk.
        record.stopped = f"refused before any change: {refused[0].name}: {refused[0].message}"
        record.seconds = time.monotonic() - started
        save(record)
        _announce(progress, record)
        return record
    by_name = {a.name: a for a in assets}
    hosts = {h.name: h for h in record.hosts}
    ready = [h.name for h in record.hosts if h.status == NOT_RUN and h.rules]
    for index, batch in enumerate(_batches(ready, request.batches)):
        progress(f"batch {index + 1}: {', '.join(batch)}")
        _apply_batch(estate, [by_name[n] for n in batch], [hosts[n] for n in batch], request, index, progress)
        save(record)
        failed = [n for n in batch if hosts[n].status != APPLIED]
        if failed:
            record.stopped = f"stopped after batch {index + 1}: {failed[0]} failed ({hosts[failed[0]].message})"
            progress(record.stopped)
            break
    record.seconds = time.monotonic() - started
    save(record)
    _announce(progress, record)
    return record


def _apply_batch(estate: Estate, assets: list[Asset], hosts: list[HostRun], request: HardenRequest,
                 index: int, progress: Callable[[str], None]) -> None:
    lifelines: dict[str, Lifeline] = {}
    before = run_dir(request.run_id) / "before"
    try:
        def prepare(pair) -> None:
            asset, host = pair
            try:
                line = Lifeline(target_for(asset, request.resolver))
                line.open()
            except Exception as exc:  # noqa: BLE001 - whatever the cause, this host cannot go on
                host.status, host.message = FAILED, f"no lifeline connection: {exc}"
                return
            lifelines[host.name] = line
            # One folder per asset: a host and the databases it runs share the host.
            host.snapshot = f"{HOST_SNAPSHOTS}/{request.run_id}" + ("" if host.family == "linux" else f"/{host.name}")
            bundle_path = before / f"{host.name}.json"
            params = request.suites[host.family].catalogue.params_for(asset.vars, estate.where(asset.name))
            values = roles.placeholders(Bundle.load(bundle_path) if bundle_path.exists() else None, params)
            specs = roles.snapshot_specs(roles.ROLES[host.family], host.rules,
                                          request.rules_of(host.family), values)
            saved = line.run(SNAPSHOT_SCRIPT, ["save", host.snapshot, *specs])
            if saved.rc != 0:
                host.status, host.message = FAILED, f"snapshot failed: {saved.stderr or saved.stdout.decode()}"[:500]
                host.snapshot = ""
            else:
                progress(f"{host.name}: {saved.stdout.decode().strip()}")

        runlayer.each(list(zip(assets, hosts)), prepare, request.forks)
        ready = [h for h in hosts if h.status == NOT_RUN]
        _ansible(estate, ready, request, run_dir(request.run_id) / f"batch-{index + 1}", check=False)
        for host in ready:
            line = lifelines[host.name]
            if not roles.ROLES[host.family].fresh_login:
                host.login = "ok"  # a database's own login is proven by the verification below
                if host.status == FAILED:
                    _restore_failed(estate, host, line, request, progress)
                continue
            login = line.fresh_login()
            if login.rc != 0:
                host.login = f"new logins fail: {login.stderr[:300]}"
                host.status = FAILED
                host.message = f"{host.login}; restored from the snapshot through the held connection"
                progress(f"{host.name}: {host.message}")
                progress(f"{host.name}: {restore(line, host, estate.assets[host.name])}")
                continue
            host.login = "ok"
        checked = [h for h in ready if h.login == "ok"]
        if checked:
            after = _audit(estate, [a for a in assets if a.name in {h.name for h in checked}], request, None, progress)
            for host, result in zip(checked, after.targets):
                host.after = _statuses(result)
                failing = host.still_failing()
                if host.status == FAILED:
                    continue
                if result.status != ASSESSED:
                    host.status, host.message = FAILED, f"not verified: {result.message}"
                    if host.family != "linux":  # the database no longer answers mzops: put it back
                        _restore_failed(estate, host, lifelines[host.name], request, progress)
                elif failing:
                    actual = {r.rule: r.actual for r in result.results}
                    host.status = FAILED
                    host.message = "still failing after apply: " + "; ".join(
                        f"{rule} ({actual.get(rule, 'not evaluated')})" for rule in failing)
                else:
                    host.status = APPLIED
    finally:
        for line in lifelines.values():
            line.close()
