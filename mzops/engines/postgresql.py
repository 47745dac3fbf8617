"""PostgreSQL: catalogue queries, their parsers, the protocol reader, accounts, locks
and the SQL that puts a hardening run's catalogue changes back.

Rows come as psql -A prints them with -F US (\\x1f, never inside a value); the
protocol reader prints them the same way, so both paths feed the same parsers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from mzops.accounts import Account
from mzops.bundle import Bundle, Section
from mzops.facts import Facts
from mzops.compliance.platforms import Platform
from mzops.engines.base import DatabaseError, Engine, LockPlan, Setting, sections_text
from mzops.paths import PLAYBOOKS

PLATFORM = Platform("postgresql", (), kind="postgresql")
_FILES = PLAYBOOKS / "roles" / "mlps3_postgresql" / "files"
ATTRIBUTES = ("superuser", "createrole", "replication", "bypassrls")


@dataclass(frozen=True)
class PgRole:
    name: str
    login: bool
    superuser: bool
    createrole: bool
    replication: bool
    bypassrls: bool
    valid_until: str
    config: dict[str, str]


class PostgreSQL(Engine):
    name = "postgresql"
    family = "postgresql"
    default_port = 5432
    sep = "\x1f"
    runner = "pg_sql"
    queries = {
        "version": "SELECT version()",
        "pg_settings": "SELECT name, setting, coalesce(unit, ''), source, coalesce(sourcefile, ''), "
                       "coalesce(sourceline::text, ''), pending_restart FROM pg_settings ORDER BY 1",
        "pg_hba": "SELECT line_number, type, array_to_string(database, ','), array_to_string(user_name, ','), "
                  "coalesce(address, ''), coalesce(netmask, ''), coalesce(auth_method, ''), coalesce(error, '') "
                  "FROM pg_hba_file_rules ORDER BY line_number",
        # pg_roles, not pg_authid: readable by a read-only login (rolpassword is hidden
        # there). Role-level settings (ALTER ROLE ... SET) joined with chr(30): a value
        # may hold commas.
        "pg_roles": "SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolreplication, "
                    "r.rolbypassrls, coalesce(r.rolvaliduntil::text, ''), coalesce((SELECT "
                    "array_to_string(s.setconfig, chr(30)) FROM pg_db_role_setting s WHERE s.setrole = r.oid "
                    "AND s.setdatabase = 0), '') FROM pg_roles r WHERE r.rolname !~ '^pg_' ORDER BY 1",
        # The kind of each stored hash only; the hash never leaves the server. Superuser only.
        "pg_hashes": "SELECT rolname, CASE WHEN rolpassword IS NULL THEN 'none' "
                     "WHEN rolpassword LIKE 'SCRAM-SHA-256$%' THEN 'scram-sha-256' "
                     "WHEN rolpassword ~ '^md5[0-9a-f]{32}$' THEN 'md5' ELSE 'plain' END "
                     "FROM pg_authid WHERE rolcanlogin ORDER BY 1",
        "pg_sessions": "SELECT usename, coalesce(host(client_addr), 'local'), count(*) FROM pg_stat_activity "
                       "WHERE usename IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
    }
    account_queries = ("version", "pg_roles", "pg_sessions")
    stat_paths = ' '.join(f'"$(pg_sql \'SHOW {s}\')"' for s in ("data_directory", "config_file", "hba_file"))
    sql_exec = (_FILES / "psql.sh").read_bytes() + b'printf \'%s\\n\' "$sql" | psql_run\n'
    # sh -s -- PORT [restart]: reload; restart when a restored setting waits for one (or
    # the server is down).
    after_restore = b'PORT=$1\n' + (_FILES / "psql.sh").read_bytes() + b"""
if echo "SELECT pg_reload_conf()" | psql_run >/dev/null 2>&1; then
  sleep 1
  [ "$(echo 'SELECT count(*) FROM pg_settings WHERE pending_restart' | psql_run)" = 0 ] && exit 0
  echo "restarting postgresql: a restored setting takes effect only at start" >&2
else
  echo "starting postgresql: it was down" >&2
fi
""" + (_FILES / "validate.sh").read_bytes() + (_FILES / "restart.sh").read_bytes()

    def read(self, host, port, user, password, queries, tunnelled):
        import psycopg

        sections: dict[str, Section] = {}
        try:
            # Read-only on the server side; autocommit so one refused query spoils no other.
            with psycopg.connect(host=host, port=port, user=user, password=password, dbname="postgres",
                                 connect_timeout=10, application_name="mzops", autocommit=True,
                                 sslmode="prefer" if tunnelled else "require",
                                 options="-c default_transaction_read_only=on") as conn:
                for section, sql in queries.items():
                    try:
                        sections[section] = Section(0, sections_text(conn.execute(sql).fetchall(), self.sep))
                    except psycopg.Error as exc:
                        sections[section] = Section(1, str(exc).strip().splitlines()[0].encode())
        except psycopg.OperationalError as exc:
            raise DatabaseError(str(exc).strip().splitlines()[-1]) from None
        return sections

    def platform(self, bundle: Bundle) -> Platform:
        return PLATFORM

    # ------------------------------------------------------------- parsed facts

    def settings(self, facts: Facts) -> tuple[str, dict[str, Setting]]:
        out = {}
        for r in self.rows(facts, "pg_settings"):
            name, value, _unit, source, file, line = r[:6]
            origin = f"{file}:{line}" if file else source
            if len(r) > 6 and r[6] == "t":
                origin += ", changed on disk, waiting for a restart"
            out[name.lower()] = Setting(name, value, origin)
        return "pg_settings", out

    def roles(self, facts: Facts) -> list[PgRole]:
        out = []
        for r in self.rows(facts, "pg_roles"):
            if len(r) < 7:
                continue
            config = dict(item.split("=", 1) for item in r[7].split("\x1e") if "=" in item) if len(r) > 7 else {}
            out.append(PgRole(r[0], *(v == "t" for v in r[1:6]), r[6], config))
        return out

    def sessions(self, facts: Facts) -> dict[str, set[str]]:
        """Network addresses each role has sessions from now (local socket left out)."""
        out: dict[str, set[str]] = defaultdict(set)
        if facts.rc("sql:pg_sessions") != 0:
            return out
        for r in self.rows(facts, "pg_sessions"):
            if len(r) == 3 and r[1] != "local":
                out[r[0]].add(r[1])
        return out

    def accounts(self, asset: str, facts: Facts, today: dt.date) -> list[Account]:
        sessions = self.sessions(facts)
        out = []
        for number, role in enumerate(self.roles(facts), 1):
            # NOLOGIN roles (groups, locked accounts) exist but cannot log in: locked records.
            record = Account(asset, role.name, f"pg_roles row {number}", tracks_logins=False,
                             sources=set(sessions.get(role.name, set())), locked=not role.login)
            if role.valid_until and role.valid_until != "infinity":
                if dt.date.fromisoformat(role.valid_until[:10]) < today:
                    record.expired.append(f"pg_roles: rolvaliduntil {role.valid_until}")
            record.admin += [f"pg_roles: {role.name} has {a.upper()}" for a in ATTRIBUTES if getattr(role, a)]
            out.append(record)
        return out

    # ------------------------------------------------------------- changes

    def lock(self, account: str, facts: Facts, port: int | None = None) -> LockPlan:
        role = next((r for r in self.roles(facts) if r.name == account), None)
        state = "absent" if role is None else ("present" if role.login else "locked")
        sql = f"ALTER ROLE {ident(account)} NOLOGIN"
        argv = ["runuser", "-u", "postgres", "--", "psql", "-XAtq", "-v", "ON_ERROR_STOP=1",
                "-p", str(port or self.default_port), "-d", "postgres", "-c", sql]
        return LockPlan(state, argv)

    def undo_statements(self, applied, table, before, now, restarting=False):
        out: list[str] = []
        owned = {rule: table.get(rule, {}).get("sql") for rule in applied}
        was = {r.name: r for r in self.roles(before)}
        for role in self.roles(now):
            old = was.get(role.name)
            if old is None:
                continue
            if owned.get("pg.privileged_roles"):
                flags = [("" if getattr(old, a) else "NO") + a.upper() for a in ATTRIBUTES
                         if getattr(old, a) != getattr(role, a)]
                if flags:
                    out.append(f"ALTER ROLE {ident(role.name)} {' '.join(flags)};")
            if owned.get("pg.role_validity") and old.valid_until != role.valid_until:
                # ALTER ROLE cannot give back "no expiry" (NULL), only 'infinity'.
                out.append(f"ALTER ROLE {ident(role.name)} VALID UNTIL {literal(old.valid_until)};"
                           if old.valid_until else
                           f"UPDATE pg_authid SET rolvaliduntil = NULL WHERE rolname = {literal(role.name)};")
            if owned.get("pg.admin_idle_timeout"):
                key = "idle_session_timeout"
                if old.config.get(key) != role.config.get(key):
                    out.append(f"ALTER ROLE {ident(role.name)} SET {key} = {literal(old.config[key])};"
                               if key in old.config else f"ALTER ROLE {ident(role.name)} RESET {key};")
        return out


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """A standard string literal: quotes doubled; a backslash is itself
    (standard_conforming_strings is on by default since PostgreSQL 9.1)."""
    return "'" + value.replace("'", "''") + "'"


ENGINE = PostgreSQL()
