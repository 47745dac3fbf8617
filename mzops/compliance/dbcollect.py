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

import shlex

from mzops.compliance import collector
from mzops.compliance.collector import Bundle, CollectionError, Section
from mzops.compliance.platforms import MARIADB, MYSQL, POSTGRESQL, Platform
from mzops.connect import db, ssh
from mzops.errors import InputError
from mzops.inventory.model import Asset, Estate
from mzops.secrets import Resolver

FAMILY = {"postgresql": "postgresql", "mariadb": "mysql", "mysql": "mysql"}
DEFAULT_PORT = {"postgresql": 5432, "mariadb": 3306, "mysql": 3306}
PG_SEP = "\x1f"  # what pg_sql in collect_linux.sh separates fields with

PG = {
    "version": "SELECT version()",
    "pg_settings": "SELECT name, setting, coalesce(unit, ''), source, coalesce(sourcefile, ''), "
                   "coalesce(sourceline::text, ''), pending_restart FROM pg_settings ORDER BY 1",
    "pg_hba": "SELECT line_number, type, array_to_string(database, ','), array_to_string(user_name, ','), "
              "coalesce(address, ''), coalesce(netmask, ''), coalesce(auth_method, ''), coalesce(error, '') "
              "FROM pg_hba_file_rules ORDER BY line_number",
    # Role-level settings (ALTER ROLE ... SET) joined with chr(30): a value may hold commas.
    "pg_roles": "SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolreplication, r.rolbypassrls, "
                "coalesce(r.rolvaliduntil::text, ''), coalesce((SELECT array_to_string(s.setconfig, chr(30)) "
                "FROM pg_db_role_setting s WHERE s.setrole = r.oid AND s.setdatabase = 0), '') "
                "FROM pg_roles r WHERE r.rolname !~ '^pg_' ORDER BY 1",
    # The kind of each stored hash only; the hash never leaves the server. Superuser only.
    "pg_hashes": "SELECT rolname, CASE WHEN rolpassword IS NULL THEN 'none' "
                 "WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram-sha-256' "
                 "WHEN rolpassword ~ '^md5[0-9a-f]{32}$' THEN 'md5' ELSE 'plain' END "
                 "FROM pg_authid WHERE rolcanlogin ORDER BY 1",
}

# MariaDB and MySQL 8 keep users and variables in different catalogues: both variants
# run, the one the server does not have comes back as an error section.
MY = {
    "version": "SELECT @@version, @@version_comment",
    "my_variables_mariadb": "SELECT lower(variable_name), coalesce(global_value, '<NULL>'), "
                            "coalesce(global_value_path, '') FROM information_schema.system_variables",
    "my_variables_mysql": "SELECT lower(g.variable_name), coalesce(g.variable_value, '<NULL>'), "
                          "coalesce(i.variable_path, '') FROM performance_schema.global_variables g "
                          "LEFT JOIN performance_schema.variables_info i USING (variable_name)",
    "my_plugins": "SELECT plugin_name, plugin_status, plugin_type, coalesce(load_option, '') "
                  "FROM information_schema.plugins",
    "my_components": "SELECT component_urn FROM mysql.component",
    # user, host, auth plugins, empty password, password lifetime ('' = server default),
    # locked, role, Super, Grant, File, Shutdown, Process, failed-login attempts, lock days
    "my_users_mariadb": "SELECT g.user, g.host, concat_ws(',', json_value(g.priv, '$.plugin'), "
                        "json_value(g.priv, '$.auth_or[0].plugin'), json_value(g.priv, '$.auth_or[1].plugin')), "
                        "coalesce(json_value(g.priv, '$.authentication_string'), '') = '', "
                        "coalesce(json_value(g.priv, '$.password_lifetime'), ''), "
                        "coalesce(json_value(g.priv, '$.account_locked'), 'false') IN ('true', '1'), u.is_role = 'Y', "
                        "u.Super_priv, u.Grant_priv, u.File_priv, u.Shutdown_priv, u.Process_priv, '', '' "
                        "FROM mysql.global_priv g JOIN mysql.user u ON u.user = g.user AND u.host = g.host "
                        "ORDER BY 1, 2",
    "my_users_mysql": "SELECT user, host, plugin, authentication_string = '', coalesce(password_lifetime, ''), "
                      "account_locked = 'Y', false, Super_priv, Grant_priv, File_priv, Shutdown_priv, "
                      "Process_priv, coalesce(json_value(User_attributes, "
                      "'$.Password_locking.failed_login_attempts'), ''), coalesce(json_value(User_attributes, "
                      "'$.Password_locking.password_lock_time_days'), '') FROM mysql.user ORDER BY 1, 2",
    "my_databases": "SHOW DATABASES",
}

QUERIES = {"postgresql": PG, "mysql": MY}


def family_of(asset: Asset) -> str:
    engine = asset.db_engine or ""
    if engine not in FAMILY:
        raise InputError(f"{asset.name}: database engine {engine!r} has no baseline yet "
                         "(postgresql, mariadb, mysql; DM8 and KingbaseES are planned)")
    return FAMILY[engine]


def platform_of(bundle: Bundle) -> Platform | None:
    """The flavour from the server's own version string; None for a host's bundle."""
    engine = bundle.sections.get("db:engine")
    if engine is None:
        return None
    if engine.text.strip() == "postgresql":
        return POSTGRESQL
    version = bundle.sections.get("sql:version")
    return MARIADB if version and "mariadb" in version.text.lower() else MYSQL


def host_lines(family: str, port: int) -> str:
    """Shell lines for the host collector: each query a section, then file modes."""
    run = "pg_sql" if family == "postgresql" else "my_sql"
    lines = [f"PORT={int(port)}", f"sec db:engine echo {family}"]
    lines += [f"sec sql:{name} {run} {shlex.quote(sql)}" for name, sql in QUERIES[family].items()]
    if family == "postgresql":
        paths = ' '.join(f'"$(pg_sql {shlex.quote("SHOW " + s)})"' for s in ("data_directory", "config_file", "hba_file"))
    else:
        paths = '"$(my_sql \'SELECT @@datadir\')"'
    lines.append(f"sec db:stat statlist {paths}")
    return "\n".join(lines) + "\n"


def collect(estate: Estate, asset: Asset, resolver: Resolver, timeout: float = 120) -> Bundle:
    """The asset's bundle; CollectionError when its server or the database does not answer."""
    family = family_of(asset)
    port = int(asset.db_port or DEFAULT_PORT[asset.db_engine or ""])
    server = estate.assets.get(asset.db_server or "")
    if asset.credentials.get("db"):
        if not asset.db_user:
            raise InputError(f"{estate.where(asset.name)}: {asset.name}.mzops_db_user: missing (the read-only login)")
        password = resolver.resolve(asset.credentials["db"]).reveal()
        try:
            if server is None:
                bundle = db.read(asset.db_engine, asset.address or asset.name, port, asset.db_user, password,
                                 asset.name, QUERIES[family], tolerate=True, pg_sep=PG_SEP)
            else:
                via = server_target(server, resolver)
                with db.tunnel(via, port) as (host, local_port):
                    bundle = db.read(asset.db_engine, host, local_port, asset.db_user, password, asset.name,
                                     QUERIES[family], tolerate=True, pg_sep=PG_SEP, tunnelled=True)
        except db.DatabaseError as exc:
            raise CollectionError(str(exc), unreachable=False) from None
        bundle.sections = {f"sql:{k}": v for k, v in bundle.sections.items()}
        bundle.sections["db:engine"] = Section(0, family.encode() + b"\n")
    elif server is not None:
        bundle = collector.collect(server_target(server, resolver), ["os"], timeout=timeout,
                                   extra=host_lines(family, port), name=asset.name)
    else:
        raise InputError(f"{estate.where(asset.name)}: {asset.name}: neither mzops_db_server (an inventory host) "
                         "nor a db credential: mzops cannot reach this database")
    version = bundle.sections.get("sql:version")
    if version is None or version.rc != 0:
        detail = version.text.strip().splitlines()[-1:] if version else []
        raise CollectionError(f"{asset.db_engine} did not answer: {detail[0] if detail else 'not running'}",
                              unreachable=False)
    return bundle


def server_target(server: Asset, resolver: Resolver) -> ssh.Target:
    target = ssh.Target.from_vars(server.name, server.vars)
    if server.credentials.get("ssh"):
        target.key = resolver.resolve(server.credentials["ssh"])
    return target
