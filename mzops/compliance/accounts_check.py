"""The accounts check run: one round trip per server host collects its accounts and
those of the databases it runs; evaluation is `mzops.accounts` (pure)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Callable

from mzops import accounts
from mzops import run as runlayer
from mzops import engines
from mzops.compliance import collector, dbcollect
from mzops.bundle import Bundle, CollectionError
from mzops.facts import Facts, completeness
from mzops.connect import db
from mzops.errors import InputError
from mzops.inventory.model import Asset, Estate
from mzops.inventory.register import LoadedRegister
from mzops.results import ASSESSED, TARGET_ERROR, UNREACHABLE
from mzops.secrets import Resolver, SecretError

GROUPS = ["os", "accounts", "logins", "sudo"]


@dataclass
class AssetStatus:
    name: str
    kind: str
    status: str
    message: str = ""
    accounts: int = 0


@dataclass
class Report:
    generated_at: str
    assets: list[AssetStatus]
    findings: list[accounts.Finding]
    seconds: float = 0.0
    dormant_days: int = 90
    kinds: list[str] = field(default_factory=lambda: list(accounts.SEVERITY))
    run_id: str = ""

    def result(self) -> runlayer.Result:
        """Per asset: failed with findings or when not assessed; the register's own
        findings (people past their dates, stale entries) are the target `register`."""
        with_findings: dict[str, int] = {}
        for f in self.findings:
            with_findings[f.asset] = with_findings.get(f.asset, 0) + 1
        outcomes = [asset_outcome(a, with_findings.get(a.name, 0)) for a in self.assets]
        if with_findings.get("register"):
            outcomes.append(runlayer.Outcome("register", runlayer.FAILED, f"{with_findings['register']} finding(s)"))
        return runlayer.Result("accounts", self.run_id, outcomes, self.seconds)

    def exit_code(self) -> int:
        return self.result().exit_code()

    def to_dict(self) -> dict:
        return {
            "generated_at": self.generated_at, "seconds": round(self.seconds, 3),
            "dormant_days": self.dormant_days,
            "assets": [vars(a) for a in self.assets],
            "findings": [f.to_dict() for f in self.findings],
        }


def asset_outcome(status: AssetStatus, findings: int = 0) -> runlayer.Outcome:
    if status.status == UNREACHABLE:
        return runlayer.Outcome(status.name, runlayer.UNREACHABLE, status.message)
    if status.status != ASSESSED:
        return runlayer.Outcome(status.name, runlayer.FAILED, status.message or "not assessed")
    said = f"{status.accounts} accounts, {findings} findings"
    return runlayer.Outcome(status.name, runlayer.FAILED if findings else runlayer.OK, said)


def select(estate: Estate, pattern: str | None) -> list[Asset]:
    names = estate.limit(pattern)
    if pattern and not names:
        raise InputError(f"--limit: {pattern!r} matches no asset in {estate.source}")
    chosen = [estate.assets[n] for n in names if estate.assets[n].kind in ("host", "database")]
    if not chosen:
        raise InputError("--limit: no host or database among the selected assets")
    return chosen


def run(estate: Estate, chosen: list[Asset], register: LoadedRegister, thresholds: accounts.Thresholds,
        resolver: Resolver | None = None, forks: int = 10,
        progress: runlayer.Events | Callable[[str], None] | None = None, run_id: str = "") -> Report:
    started = time.monotonic()
    events = runlayer.as_events(progress)
    view = accounts.RegisterView.build(register, estate)
    # Each database is read on the host that runs it, in that host's one round trip.
    servers: dict[str, list[Asset]] = {}
    statuses: list[AssetStatus] = []
    over_protocol: list[Asset] = []
    for asset in chosen:
        if asset.kind == "database" and asset.credentials.get("db"):
            over_protocol.append(asset)  # its own protocol, with a read-only credential
            continue
        server = asset.name if asset.kind == "host" else asset.db_server
        if server is None or server not in estate.assets:
            statuses.append(AssetStatus(asset.name, asset.kind, TARGET_ERROR,
                                        "no mzops_db_server: databases not on an inventory host are not read yet"))
            continue
        servers.setdefault(server, []).append(asset)

    def one(server_name: str) -> tuple[list[AssetStatus], list[accounts.Finding]]:
        members = servers[server_name]
        try:
            bundle = collect_server(estate.assets[server_name], [a for a in members if a.kind == "database"],
                                    resolver or Resolver())
        except (CollectionError, SecretError) as exc:
            status = UNREACHABLE if getattr(exc, "unreachable", False) else TARGET_ERROR
            return [AssetStatus(a.name, a.kind, status, str(exc)) for a in members], []
        return evaluate_bundle(bundle, members, view, thresholds)

    def one_database(asset: Asset) -> tuple[list[AssetStatus], list[accounts.Finding]]:
        try:
            bundle = read_database(estate, asset, resolver or Resolver())
        except (SecretError, db.DatabaseError, CollectionError, InputError) as exc:
            return [AssetStatus(asset.name, asset.kind, TARGET_ERROR, str(exc))], []
        return evaluate_bundle(bundle, [asset], view, thresholds)

    def work(job: tuple[str, object]) -> tuple[list[AssetStatus], list[accounts.Finding]]:
        kind, what = job
        found = one(what) if kind == "server" else one_database(what)
        for status in found[0]:  # a server host reports itself and the databases it runs
            events.finished(asset_outcome(status, sum(f.asset == status.name for f in found[1])))
        return found

    findings = accounts.register_findings(register, thresholds)
    events.begin("accounts", [a.name for a in chosen])
    for status in statuses:
        events.finished(asset_outcome(status))
    jobs = [("server", name) for name in sorted(servers)] + [("database", a) for a in over_protocol]
    for server_statuses, server_findings in runlayer.each(jobs, work, forks):
        statuses += server_statuses
        findings += server_findings
    events.end()
    return Report(dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                  sorted(statuses, key=lambda s: s.name), findings, time.monotonic() - started,
                  thresholds.dormant_days, run_id=run_id)


def collect_server(server: Asset, databases: list[Asset], resolver: Resolver) -> Bundle:
    """A server host's accounts and those of the databases it runs, in one round trip
    (each database's account queries run there as its own superuser)."""
    extra = ""
    for asset in databases:
        try:
            engine = dbcollect.engine_of(asset)
        except InputError:
            continue  # reported for that database when it is evaluated
        extra += engine.host_lines(dbcollect.port_of(asset), engine.account_queries)
    return collector.collect(dbcollect.server_target(server, resolver), GROUPS, extra=extra)


def read_database(estate: Estate, asset: Asset, resolver: Resolver) -> Bundle:
    """Read a database's accounts over its protocol, through its server host if any."""
    engine = dbcollect.engine_of(asset)
    if not asset.db_user:
        raise InputError(f"{estate.where(asset.name)}: {asset.name}.mzops_db_user: missing (the read-only login)")
    password = resolver.resolve(asset.credentials["db"])
    queries = {name: engine.queries[name] for name in engine.account_queries}
    bundle = dbcollect.read_over_protocol(estate, asset, password.reveal(), queries, resolver)
    version = bundle.sections.get("sql:version")
    if version is None or version.rc != 0:
        raise db.DatabaseError(f"{asset.db_engine} did not answer: {(version.text if version else '').strip()}")
    return bundle


def evaluate_bundle(bundle: Bundle, members: list[Asset], view: accounts.RegisterView, thresholds: accounts.Thresholds
                    ) -> tuple[list[AssetStatus], list[accounts.Finding]]:
    """Findings for a server host and the databases it runs, from its one bundle."""
    facts = Facts(bundle)
    statuses, findings = [], []
    for asset in members:
        present = None
        if asset.kind == "host":
            with facts.reading() as read:
                records = accounts.host_accounts(asset.name, facts, thresholds.today)
                present = {a.name for a in facts.accounts}
            lost = completeness.problems(bundle, read)
            if lost:   # fail closed: an unreadable shadow or login record is no "clean"
                statuses.append(AssetStatus(asset.name, asset.kind, TARGET_ERROR,
                                            f"facts not read whole: {'; '.join(lost[:3])}"))
                continue
        else:
            try:
                engine = dbcollect.engine_of(asset)
            except InputError as exc:
                statuses.append(AssetStatus(asset.name, asset.kind, TARGET_ERROR, str(exc)))
                continue
            if facts.rc("sql:version") != 0:
                detail = (facts.text("sql:version") or "").strip().splitlines()
                message = (f"{engine.name} did not answer on {bundle.target}: "
                           f"{detail[-1] if detail else 'not running'}")
                statuses.append(AssetStatus(asset.name, asset.kind, TARGET_ERROR, message))
                continue
            try:
                records = engine.accounts(asset.name, facts, thresholds.today)
            except engines.Refused as exc:
                statuses.append(AssetStatus(asset.name, asset.kind, TARGET_ERROR,
                                            f"{engine.name} refused a query mzops needs: {exc}"))
                continue
        found = accounts.evaluate_asset(asset, records, view, thresholds, present)
        statuses.append(AssetStatus(asset.name, asset.kind, ASSESSED, accounts=len(records)))
        findings += found
    return statuses, findings
