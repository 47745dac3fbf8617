"""Lock accounts (never delete them): preview from fresh facts, apply through Ansible,
verify by collecting again.

Hosts: `usermod --lock --expiredate 1` (password and key logins both refused; unlike
Ansible's `user` module it can never create the account). PostgreSQL: `ALTER ROLE …
NOLOGIN`. MariaDB/MySQL: `ALTER USER … ACCOUNT LOCK` for each of its host entries.
Database statements run on the server host, as the database's own admin over its
local socket.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from mzops import run as runlayer
from mzops.bundle import CollectionError
from mzops.compliance import accounts_check, dbcollect
from mzops.facts import Facts
from mzops.connect import ansible
from mzops import engines
from mzops.errors import InputError
from mzops.secrets import Resolver
from mzops.inventory.model import Asset, Estate


@dataclass
class Lock:
    asset: str
    account: str
    server: str
    state: str                    # present | locked | absent
    command: list[str] = field(default_factory=list)
    result: str = "planned"       # planned | unchanged | locked | failed
    detail: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def outcome(self) -> runlayer.Outcome:
        state = {"planned": runlayer.OK, "unchanged": runlayer.OK, "locked": runlayer.CHANGED}.get(
            self.result, runlayer.FAILED)
        return runlayer.Outcome(f"{self.asset}/{self.account}", state, self.detail, record=self)


RECORDS = runlayer.Records("accounts")


def automation_account(asset: Asset) -> str:
    return str(asset.vars.get("ansible_user") or "root")


def _server(estate: Estate, asset: Asset) -> Asset:
    if asset.kind == "host":
        return asset
    if asset.db_server and asset.db_server in estate.assets:
        return estate.assets[asset.db_server]
    raise InputError(f"{estate.where(asset.name)}: {asset.name}: no mzops_db_server to run the lock on")


def _facts(server: Asset, databases: list[Asset], resolver=None) -> Facts:
    try:
        return Facts(accounts_check.collect_server(server, databases, resolver or Resolver()))
    except CollectionError as exc:
        raise InputError(f"{server.name}: cannot read its accounts: {exc}") from None


def expired_targets(findings) -> list[tuple[str, str]]:
    """(asset, account) of every `expired` finding of an accounts check."""
    return sorted({(f.asset, f.account) for f in findings if f.kind == "expired"})


def plan(estate: Estate, asset_name: str, account: str, resolver=None) -> Lock:
    asset = estate.assets.get(asset_name)
    if asset is None:
        raise InputError(f"--asset: no asset named {asset_name!r} in {estate.source}")
    server = _server(estate, asset)
    if asset.kind == "host" and account == automation_account(asset):
        raise InputError(f"refused: {account} is the account mzops itself uses on {asset.name} "
                         "(locking it would lock mzops out)")
    engine = dbcollect.engine_of(asset) if asset.kind == "database" else None
    facts = _facts(server, [asset] if engine else [], resolver)
    lock = Lock(asset.name, account, server.name, "absent")
    if engine is None:
        if any(a.name == account for a in facts.accounts):
            shadow = facts.shadow.get(account)
            expired = shadow is not None and shadow.expire is not None and shadow.expire <= 1
            lock.state = "locked" if shadow and shadow.state in ("locked", "nologin") and expired else "present"
        lock.command = ["usermod", "--lock", "--expiredate", "1", account]
    else:
        if facts.rc("sql:version") != 0:
            raise InputError(f"{asset.name}: {engine.name} did not answer on {server.name}: "
                             f"{(facts.text('sql:version') or '').strip()[-200:]}")
        try:
            planned = engine.lock(account, facts, dbcollect.port_of(asset))
        except engines.Refused as exc:
            raise InputError(f"{asset.name}: cannot read its accounts: {exc}") from None
        lock.state, lock.command = planned.state, planned.argv
    if lock.state == "absent":
        lock.result, lock.detail = "failed", f"no account {account!r} on {asset.name}"
    elif lock.state == "locked":
        lock.result, lock.detail = "unchanged", "already locked"
    return lock


def apply(estate: Estate, locks: list[Lock], run_dir: Path, resolver=None) -> list[Lock]:
    """Run each planned lock on its server through ansible-runner, then verify."""
    for index, lock in enumerate(locks):
        if lock.result != "planned":
            continue
        play = [{"name": f"lock {lock.account} on {lock.asset}", "hosts": lock.server, "gather_facts": False,
                 "tasks": [{"name": "lock", "ansible.builtin.command": {"argv": lock.command}}]}]
        chosen = ansible.strategy(ansible.asked_by([estate.assets[lock.server].vars]))
        run = ansible.run_playbook(run_dir / f"{index:03d}-{lock.asset}", estate.source, play, chosen=chosen)
        failed = [e for e in run.events if e.get("event") in ("runner_on_failed", "runner_on_unreachable")]
        if run.status != "successful" or failed:
            message = failed[0]["event_data"].get("res", {}).get("msg", "") if failed else run.status
            lock.result, lock.detail = "failed", str(message)[:300]
            continue
        again = plan(estate, lock.asset, lock.account, resolver)
        lock.result = "locked" if again.state == "locked" else "failed"
        lock.detail = "verified: the account is now locked" if again.state == "locked" else \
            f"still {again.state} after the change"
        fallbacks = [str(s) for s in run.used.values() if s.fallback]
        if fallbacks:
            lock.detail += f" (Ansible strategy: {fallbacks[0]})"
    return locks
