"""Collect a database server's facts for its baseline: the same named SQL sections
whichever way the server is reached.

- On an inventory host (`mzops_db_server`, no `db` credential): appended to that
  host's collector script, run as the server's own superuser over its local socket in
  read-only transactions, with the data directory's and configuration files' modes:
  one SSH execution.
- With a `db` credential (a read-only login): over the database's protocol, through an
  SSH tunnel over its server host if it has one; one connection, one round trip per
  query; files are not visible this way (their rules say so).

Either way the bundle has `db:engine` plus `sql:NAME` sections; a query the server
refuses (no privilege, another flavour's catalogue) is kept as an error section.
"""

from __future__ import annotations

from mzops import engines
from mzops.bundle import Bundle, CollectionError, Section
from mzops.compliance import collector, collectors
from mzops.connect import db, ssh
from mzops.engines import Engine
from mzops.errors import InputError
from mzops.inventory.model import Asset, Estate
from mzops.secrets import Resolver


def engine_of(asset: Asset) -> Engine:
    return engines.get(asset.db_engine, asset.name)


def family_of(asset: Asset) -> str:
    """The baseline family a database is held to (InputError for an engine without one)."""
    return engine_of(asset).family


def port_of(asset: Asset) -> int:
    return int(asset.db_port or engine_of(asset).default_port)


def collect(estate: Estate, asset: Asset, resolver: Resolver, timeout: float = 120) -> Bundle:
    """The asset's bundle; CollectionError when its server or the database does not answer."""
    engine = engine_of(asset)
    port = port_of(asset)
    server = estate.assets.get(asset.db_server or "")
    if asset.credentials.get("db"):
        if not asset.db_user:
            raise InputError(f"{estate.where(asset.name)}: {asset.name}.mzops_db_user: missing (the read-only login)")
        password = resolver.resolve(asset.credentials["db"]).reveal()
        try:
            bundle = read_over_protocol(estate, asset, password, engine.queries, resolver)
        except db.DatabaseError as exc:
            raise CollectionError(str(exc), unreachable=False) from None
    elif server is not None:
        bundle = collector.collect(server_target(server, resolver), ["os"], timeout=timeout,
                                   extra=engine.host_lines(port), name=asset.name)
    else:
        raise InputError(f"{estate.where(asset.name)}: {asset.name}: neither mzops_db_server (an inventory host) "
                         "nor a db credential: mzops cannot reach this database")
    version = bundle.sections.get("sql:version")
    if version is None or version.rc != 0:
        detail = version.text.strip().splitlines()[-1:] if version else []
        raise CollectionError(f"{asset.db_engine} did not answer: {detail[0] if detail else 'not running'}",
                              unreachable=False)
    return bundle


def read_over_protocol(estate: Estate, asset: Asset, password: str, queries: dict[str, str],
                       resolver: Resolver) -> Bundle:
    """QUERIES over the database's protocol, through an SSH tunnel over its server host
    if it has one; sections named sql:QUERY with db:engine, as the host path writes them."""
    engine, port = engine_of(asset), port_of(asset)
    server = estate.assets.get(asset.db_server or "")
    if server is None:
        bundle = db.read(engine, asset.address or asset.name, port, asset.db_user, password, asset.name, queries)
    else:
        with db.tunnel(server_target(server, resolver), port) as (host, local_port):
            bundle = db.read(engine, host, local_port, asset.db_user, password, asset.name, queries,
                             tunnelled=True)
    bundle.sections = {f"sql:{k}": v for k, v in bundle.sections.items()}
    bundle.sections["db:engine"] = Section(0, engine.name.encode() + b"\n")
    return bundle


def server_target(server: Asset, resolver: Resolver) -> ssh.Target:
    return ssh.target_of(server, resolver)


@collectors.register("database")
def collect_asset(estate: Estate, asset: Asset, resolver: Resolver, groups: list[str], timeout: float) -> Bundle:
    return collect(estate, asset, resolver, timeout=timeout)
