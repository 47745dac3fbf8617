"""The accounts check run: one round trip per server host collects its accounts and
those of the databases it runs; evaluation is `mzops.accounts` (pure)."""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from mzops import accounts
from mzops.compliance import collector
from mzops.compliance.collector import Bundle, CollectionError
from mzops.compliance.facts import Facts
from mzops.connect import db, ssh
from mzops.errors import InputError
from mzops.inventory.model import Asset, Estate
from mzops.inventory.register import LoadedRegister
from mzops.results import ASSESSED, TARGET_ERROR, UNREACHABLE
from mzops.secrets import Resolver, SecretError

GROUPS = ["os", "accounts", "logins", "sudo", "databases"]
NORMALISERS = {"postgresql": accounts.postgres_accounts, "mariadb": accounts.mysql_accounts,
               "mysql": accounts.mysql_accounts}
SECTIONS = {"postgresql": "pg_roles", "mariadb": "my_users", "mysql": "my_users"}


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

    def exit_code(self) -> int:
        if any(a.status != ASSESSED for a in self.assets):
            return 3
        return 1 if self.findings else 0

    def to_dict(self) -> dict:
        return {
            "generated_at": self.generated_at, "seconds": round(self.seconds, 3),
            "dormant_days": self.dormant_days,
            "assets": [vars(a) for a in self.assets],
            "findings": [f.to_dict() for f in self.findings],
        }


def select(estate: Estate, pattern: str | None) -> list[Asset]:
    names = estate.limit(pattern)
    if pattern and not names:
        raise InputError(f"--limit: {pattern!r} matches no asset in {estate.source}")
    chosen = [estate.assets[n] for n in names if estate.assets[n].kind in ("host", "database")]
    if not chosen:
        raise InputError("--limit: no host or database among the selected assets")
    return chosen


def run(estate: Estate, chosen: list[Asset], register: LoadedRegister, policy: accounts.Policy,
        resolver: Resolver | None = None, forks: int = 10,
        progress: Callable[[str], None] = lambda _: None) -> Report:
    started = time.monotonic()
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
        server = estate.assets[server_name]
        target = ssh.Target.from_vars(server.name, server.vars)
        members = servers[server_name]
        try:
            if server.credentials.get("ssh"):
                target.key = (resolver or Resolver()).resolve(server.credentials["ssh"])
            bundle = collector.collect(target, GROUPS)
        except (CollectionError, SecretError) as exc:
            status = UNREACHABLE if getattr(exc, "unreachable", False) else TARGET_ERROR
            progress(f"{server_name}: {status}: {exc}")
            return [AssetStatus(a.name, a.kind, status, str(exc)) for a in members], []
        return evaluate_bundle(bundle, members, view, policy, progress)

    def one_database(asset: Asset) -> tuple[list[AssetStatus], list[accounts.Finding]]:
        try:
            bundle = read_database(estate, asset, resolver or Resolver())
        except (SecretError, db.DatabaseError, CollectionError, InputError) as exc:
            progress(f"{asset.name}: error: {exc}")
            return [AssetStatus(asset.name, asset.kind, TARGET_ERROR, str(exc))], []
        return evaluate_bundle(bundle, [asset], view, policy, progress)

    findings = accounts.register_findings(register, policy)
    with ThreadPoolExecutor(max_workers=max(1, forks)) as pool:
        jobs = [pool.submit(one, name) for name in sorted(servers)]
        jobs += [pool.submit(one_database, asset) for asset in over_protocol]
        for job in jobs:
            server_statuses, server_findings = job.result()
            statuses += server_statuses
            findings += server_findings
    return Report(dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                  sorted(statuses, key=lambda s: s.name), findings, time.monotonic() - started,
                  policy.dormant_days)


def read_database(estate: Estate, asset: Asset, resolver: Resolver) -> Bundle:
    """Read a database's accounts over its protocol, through its server host if any."""
    if asset.db_engine not in NORMALISERS:
        raise InputError(f"engine {asset.db_engine!r} not read yet")
    if not asset.db_user:
        raise InputError(f"{estate.where(asset.name)}: {asset.name}.mzops_db_user: missing (the read-only login)")
    password = resolver.resolve(asset.credentials["db"])
    port = int(asset.db_port or (5432 if asset.db_engine == "postgresql" else 3306))
    server = estate.assets.get(asset.db_server or "")
    if server is None:
        return db.read(asset.db_engine, asset.address or asset.name, port, asset.db_user, password.reveal(), asset.name)
    via = ssh.Target.from_vars(server.name, server.vars)
    if server.credentials.get("ssh"):
        via.key = resolver.resolve(server.credentials["ssh"])
    with db.tunnel(via, port) as (host, local_port):
        return db.read(asset.db_engine, host, local_port, asset.db_user, password.reveal(), asset.name,
                       tunnelled=True)


def evaluate_bundle(bundle: Bundle, members: list[Asset], view: accounts.RegisterView, policy: accounts.Policy,
                    progress: Callable[[str], None] = lambda _: None
                    ) -> tuple[list[AssetStatus], list[accounts.Finding]]:
    """Findings for a server host and the databases it runs, from its one bundle."""
    facts = Facts(bundle)
    statuses, findings = [], []
    for asset in members:
        present = None
        if asset.kind == "host":
            records = accounts.host_accounts(asset.name, facts, policy.today)
            present = {a.name for a in facts.accounts}
        else:
            engine = asset.db_engine or ""
            if engine not in NORMALISERS:
                statuses.append(AssetStatus(asset.name, asset.kind, TARGET_ERROR, f"engine {engine!r} not read yet"))
                continue
            section = SECTIONS[engine]
            if facts.rc(section) != 0:
                detail = (facts.text(section) or "").strip().splitlines()
                message = (f"{engine} did not answer on {bundle.target}: {detail[-1] if detail else 'not running'}")
                statuses.append(AssetStatus(asset.name, asset.kind, TARGET_ERROR, message))
                progress(f"{asset.name}: error: {message}")
                continue
            records = NORMALISERS[engine](asset.name, facts, policy.today)
        found = accounts.evaluate_asset(asset, records, view, policy, present)
        statuses.append(AssetStatus(asset.name, asset.kind, ASSESSED, accounts=len(records)))
        findings += found
        progress(f"{asset.name}: {len(records)} accounts, {len(found)} findings")
    return statuses, findings
