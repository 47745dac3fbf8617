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
from mzops.connect import ssh
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
    for asset in chosen:
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

    findings = accounts.register_findings(register, policy)
    with ThreadPoolExecutor(max_workers=max(1, forks)) as pool:
        for server_statuses, server_findings in pool.map(one, sorted(servers)):
            statuses += server_statuses
            findings += server_findings
    return Report(dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                  sorted(statuses, key=lambda s: s.name), findings, time.monotonic() - started,
                  policy.dormant_days)


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
