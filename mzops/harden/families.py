"""What differs between hardening a Linux host and a database server: the playbook, the
role's backup table, whether a fresh SSH login proves the change, how a restored
server re-reads its configuration, and which state is put back by SQL.

A family is added by adding its role (tasks, backup.yml) and an entry here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mzops.compliance.catalogue import Rule
from mzops.compliance.checks import database
from mzops.compliance.collector import Bundle
from mzops.compliance.facts import Facts
from mzops.errors import InputError

PLAYBOOKS = Path(__file__).resolve().parent.parent.parent / "playbooks"

# After a Linux host's files are restored: validated reloads of what reads its
# configuration once.
LINUX_RELOAD = b"""
if /usr/sbin/sshd -t; then
  if [ -d /run/systemd/system ]; then systemctl reload ssh 2>/dev/null || systemctl reload sshd
  elif [ -s /run/sshd.pid ]; then kill -HUP "$(cat /run/sshd.pid)"; fi
else echo "sshd -t failed: sshd not reloaded" >&2; fi
if command -v rsyslogd >/dev/null && rsyslogd -N1 >/dev/null 2>&1; then
  if [ -d /run/systemd/system ]; then systemctl try-restart rsyslog
  elif pid=$(pgrep -xo rsyslogd); then kill "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; rsyslogd; fi
fi
exit 0
"""

_PG_FILES = PLAYBOOKS / "roles" / "mlps3_postgresql" / "files"
_MY_FILES = PLAYBOOKS / "roles" / "mlps3_mysql" / "files"

# sh -s -- PORT [restart]: reload; restart when a restored setting waits for one (or
# the server is down).
PG_RELOAD = b'PORT=$1\n' + (_PG_FILES / "psql.sh").read_bytes() + b"""
if echo "SELECT pg_reload_conf()" | psql_run >/dev/null 2>&1; then
  sleep 1
  [ "$(echo 'SELECT count(*) FROM pg_settings WHERE pending_restart' | psql_run)" = 0 ] && exit 0
  echo "restarting postgresql: a restored setting takes effect only at start" >&2
else
  echo "starting postgresql: it was down" >&2
fi
""" + (_PG_FILES / "validate.sh").read_bytes() + (_PG_FILES / "restart.sh").read_bytes()

# sh -s -- PORT [restart]: restart only when the run changed what is read at start.
MY_RELOAD = b'[ "${2:-}" = restart ] || exit 0\necho "restarting the server: restored options are read at start" >&2\n' \
    + (_MY_FILES / "restart.sh").read_bytes()

# sh -s -- ENGINE PORT SQL: run statements as the server's superuser on its socket.
SQL_EXEC = b"""
engine=$1 PORT=$2 sql=$3
if [ "$engine" = postgresql ]; then
""" + (_PG_FILES / "psql.sh").read_bytes() + b"""
  printf '%s\\n' "$sql" | psql_run
else
""" + (_MY_FILES / "mysql.sh").read_bytes() + b"""
  my_run "$sql"
fi
"""


@dataclass(frozen=True)
class Family:
    name: str
    playbook: str
    role: str
    fresh_login: bool          # its rules touch sshd/PAM: prove a new SSH login works
    after_restore: bytes       # run on the host after its files are restored

    @property
    def backup_table(self) -> Path:
        return PLAYBOOKS / "roles" / self.role / "backup.yml"

    def table(self) -> dict[str, dict]:
        return yaml.safe_load(self.backup_table.read_text())["rules"]


FAMILIES = {
    "linux": Family("linux", "harden_linux.yml", "mlps3_linux", True, LINUX_RELOAD),
    "postgresql": Family("postgresql", "harden_postgresql.yml", "mlps3_postgresql", False, PG_RELOAD),
    "mysql": Family("mysql", "harden_mysql.yml", "mlps3_mysql", False, MY_RELOAD),
}


def placeholders(bundle: Bundle | None, params: dict[str, Any]) -> dict[str, str]:
    """Values for {names} in a database role's backup table: the server's own paths."""
    values = {k: str(v) for k, v in params.items() if isinstance(v, (str, int))}
    if bundle is None or "db:engine" not in bundle.sections:
        return values
    try:
        _, known = database.settings(Facts(bundle))
    except database.Refused:
        return values
    for name in ("config_file", "hba_file", "data_directory", "datadir"):
        if known.get(name) and known[name].value:
            values[name] = known[name].value.rstrip("/") or "/"
    if "config_file" in values:
        values["managed"] = os.path.join(os.path.dirname(values["config_file"]), "mzops-mlps3.conf")
    return values


def backup_specs(family: Family, rule_ids: list[str], rules: dict[str, Rule],
                 values: dict[str, str] | None = None) -> list[str]:
    """snapshot.sh arguments for these rules: C:content M:metadata of a tree, N:of one
    path (a data directory whose files belong to the server), S:sysctl key."""
    table = family.table()
    specs: list[str] = []

    def flat(items):
        for item in items:
            yield from (flat(item) if isinstance(item, list) else [item])

    def path(text: str) -> str:
        try:
            return text.format(**(values or {}))
        except KeyError as exc:
            raise InputError(f"{family.backup_table}: {text}: the server did not report {exc}") from None

    for rule_id in rule_ids:
        entry = table.get(rule_id)
        if entry is None:
            raise InputError(f"{family.backup_table}: rule {rule_id} has no entry (what its tasks may change)")
        specs += [f"C:{path(p)}" for p in flat(entry.get("content", []))]
        specs += [f"M:{path(p)}" for p in flat(entry.get("metadata", []))]
        specs += [f"N:{path(p)}" for p in flat(entry.get("node", []))]
        if entry.get("sysctl"):
            specs += [f"S:{k}" for k in rules[rule_id].args.get("keys", {})]
    return list(dict.fromkeys(specs))


# ------------------------------------------------------------------ SQL state

def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


PG_FLAGS = {attribute: attribute.upper() for attribute in database.ATTRIBUTES}  # ALTER ROLE keywords


def undo_statements(family: str, applied: list[str], table: dict[str, dict], before: Facts, now: Facts,
                    restarting: bool = False) -> list[str]:
    """SQL that puts back what the applied rules changed in the server's catalogue (pure:
    the facts before the run and now in, statements out; empty when nothing differs).
    TABLE is the role's backup table: its `sql` entries say what each rule changes."""
    out: list[str] = []
    owned = {rule: table.get(rule, {}).get("sql") for rule in applied}
    if family == "postgresql":
        was = {r.name: r for r in database.pg_roles(before)}
        for role in database.pg_roles(now):
            old = was.get(role.name)
            if old is None:
                continue
            if owned.get("pg.privileged_roles"):
                flags = [("" if getattr(old, a) else "NO") + kw for a, kw in PG_FLAGS.items()
                         if getattr(old, a) != getattr(role, a)]
                if flags:
                    out.append(f"ALTER ROLE {_ident(role.name)} {' '.join(flags)};")
            if owned.get("pg.role_validity") and old.valid_until != role.valid_until:
                # ALTER ROLE cannot give back "no expiry" (NULL), only 'infinity'.
                out.append(f"ALTER ROLE {_ident(role.name)} VALID UNTIL {_literal(old.valid_until)};"
                           if old.valid_until else
                           f"UPDATE pg_authid SET rolvaliduntil = NULL WHERE rolname = {_literal(role.name)};")
            if owned.get("pg.admin_idle_timeout"):
                key = "idle_session_timeout"
                if old.config.get(key) != role.config.get(key):
                    out.append(f"ALTER ROLE {_ident(role.name)} SET {key} = {_literal(old.config[key])};"
                               if key in old.config else f"ALTER ROLE {_ident(role.name)} RESET {key};")
    elif family == "mysql":
        variables = [v for rule in applied if isinstance(owned[rule], list) for v in owned[rule]]
        if variables and not restarting:  # a restart re-reads the restored option files anyway
            _, was = database.settings(before)
            _, is_now = database.settings(now)
            for key in dict.fromkeys(variables):
                if key not in was or key not in is_now:
                    continue
                old, new = was[key].value, is_now[key].value
                if old is not None and old != new:
                    value = old if old.isdigit() or old.upper() in ("ON", "OFF") else _literal(old)
                    out.append(f"SET GLOBAL {key} = {value};")
        if owned.get("my.anonymous") or owned.get("my.remote_root"):
            locked_before = {u.account for u in database.my_users(before) if u.locked}
            for user in database.my_users(now):
                if user.locked and user.account not in locked_before:
                    out.append(f"ALTER USER {_literal(user.user)}@{_literal(user.host)} ACCOUNT UNLOCK;")
    return out
