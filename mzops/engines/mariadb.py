"""MariaDB (and, through its subclass in mysql.py, MySQL 8): catalogue queries for both
flavours, their parsers, the protocol reader, accounts, locks and the SQL that puts a
hardening run's catalogue changes back.

The two keep users and variables in different catalogues: both variants run, the one
the server does not have comes back as an error section. Rows come tab-separated, as
`mariadb -NB` prints them.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections import defaultdict
from dataclasses import dataclass

from mzops.accounts import Account
from mzops.bundle import Bundle, Section
from mzops.facts import Facts
from mzops.compliance.platforms import Platform
from mzops.engines.base import DatabaseError, Engine, LockPlan, Setting, sections_text
from mzops.paths import PLAYBOOKS

MARIADB = Platform("mariadb", (), kind="mysql")
MYSQL = Platform("mysql", (), kind="mysql")
_FILES = PLAYBOOKS / "roles" / "mlps3_mysql" / "files"
SOCKET_PLUGINS = ("unix_socket", "auth_socket")
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
PRIVILEGES = ("Super", "Grant", "File", "Shutdown", "Process")


@dataclass(frozen=True)
class MyUser:
    user: str
    host: str
    plugins: tuple[str, ...]
    empty_password: bool
    lifetime: str
    locked: bool
    role: bool
    privileges: dict[str, bool]
    failed_attempts: str
    lock_days: str
    password_changed: str = ""     # epoch seconds, '' when the server keeps none
    password_expired: bool = False

    @property
    def account(self) -> str:
        return f"{self.user}@{self.host}"

    @property
    def socket_only(self) -> bool:
        return bool(self.plugins) and all(p in SOCKET_PLUGINS for p in self.plugins)


class MariaDB(Engine):
    name = "mariadb"
    family = "mysql"
    default_port = 3306
    sep = "\t"
    runner = "my_sql"
    client = "mariadb"
    queries = {
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
        # locked, role, Super, Grant, File, Shutdown, Process, failed-login attempts, lock
        # days, password last changed (epoch), password expired
        "my_users_mariadb": "SELECT g.user, g.host, concat_ws(',', json_value(g.priv, '$.plugin'), "
                            "json_value(g.priv, '$.auth_or[0].plugin'), json_value(g.priv, '$.auth_or[1].plugin')), "
                            "coalesce(json_value(g.priv, '$.authentication_string'), '') = '', "
                            "coalesce(json_value(g.priv, '$.password_lifetime'), ''), "
                            "coalesce(json_value(g.priv, '$.account_locked'), 'false') IN ('true', '1'), "
                            "u.is_role = 'Y', u.Super_priv, u.Grant_priv, u.File_priv, u.Shutdown_priv, "
                            "u.Process_priv, '', '', coalesce(json_value(g.priv, '$.password_last_changed'), ''), "
                            "u.password_expired = 'Y' FROM mysql.global_priv g JOIN mysql.user u "
                            "ON u.user = g.user AND u.host = g.host ORDER BY 1, 2",
        "my_users_mysql": "SELECT user, host, plugin, authentication_string = '', coalesce(password_lifetime, ''), "
                          "account_locked = 'Y', false, Super_priv, Grant_priv, File_priv, Shutdown_priv, "
                          "Process_priv, coalesce(json_value(User_attributes, "
                          "'$.Password_locking.failed_login_attempts'), ''), coalesce(json_value(User_attributes, "
                          "'$.Password_locking.password_lock_time_days'), ''), "
                          "coalesce(unix_timestamp(password_last_changed), ''), password_expired = 'Y' "
                          "FROM mysql.user ORDER BY 1, 2",
        "my_databases": "SHOW DATABASES",
        "my_sessions": "SELECT user, substring_index(host, ':', 1), count(*) FROM information_schema.processlist "
                       "WHERE user NOT IN ('system user', 'event_scheduler') GROUP BY 1, 2",
    }
    account_queries = ("version", "my_users_mariadb", "my_users_mysql", "my_sessions")
    stat_paths = '"$(my_sql \'SELECT @@datadir\')"'
    sql_exec = (_FILES / "mysql.sh").read_bytes() + b'my_run "$sql"\n'
    # sh -s -- PORT [restart]: restart only when the run changed what is read at start.
    after_restore = (b'[ "${2:-}" = restart ] || exit 0\n'
                     b'echo "restarting the server: restored options are read at start" >&2\n'
                     + (_FILES / "restart.sh").read_bytes())

    def read(self, host, port, user, password, queries, tunnelled):
        import pymysql

        sections: dict[str, Section] = {}
        conn = _connect(pymysql, host, port, user, password, tunnelled)
        try:
            with conn.cursor() as cursor:
                cursor.execute("SET SESSION TRANSACTION READ ONLY")
                for section, sql in queries.items():
                    try:
                        cursor.execute(sql)
                        sections[section] = Section(0, sections_text(cursor.fetchall(), self.sep))
                    except (pymysql.err.ProgrammingError, pymysql.err.OperationalError,
                            pymysql.err.InternalError) as exc:
                        if isinstance(exc, pymysql.err.OperationalError) and not conn.open:
                            raise
                        sections[section] = Section(1, str(exc.args[-1]).encode())
        except pymysql.err.MySQLError as exc:
            raise DatabaseError(str(exc.args[-1])) from None
        finally:
            conn.close()
        return sections

    def platform(self, bundle: Bundle) -> Platform:
        version = bundle.sections.get("sql:version")
        return MARIADB if version and "mariadb" in version.text.lower() else MYSQL

    # ------------------------------------------------------------- parsed facts

    def settings(self, facts: Facts) -> tuple[str, dict[str, Setting]]:
        _, found = self.first_rows(facts, "my_variables_mariadb", "my_variables_mysql")
        out = {}
        for r in found:
            value = None if r[1] == "<NULL>" else r[1]
            out[r[0].lower()] = Setting(r[0].lower(), value, r[2] if len(r) > 2 else "")
        return "global variables", out

    def users(self, facts: Facts, roles: bool = False) -> list[MyUser]:
        """Accounts (user@host entries); roles left out unless ROLES."""
        _, found = self.first_rows(facts, "my_users_mariadb", "my_users_mysql")
        out = []
        for r in found:
            if len(r) < 14:
                continue
            plugins = tuple(p for p in r[2].split(",") if p)
            changed, expired = (r[14], r[15] in ("1", "t")) if len(r) >= 16 else ("", False)
            out.append(MyUser(r[0], r[1], plugins, r[3] == "1", r[4], r[5] == "1", r[6] == "1",
                              dict(zip(PRIVILEGES, (v == "Y" for v in r[7:12]))), r[12], r[13], changed, expired))
        return [u for u in out if roles or not u.role]

    def sessions(self, facts: Facts) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        if facts.rc("sql:my_sessions") != 0:
            return out
        for r in self.rows(facts, "my_sessions"):
            if len(r) == 3 and r[1] not in ("localhost", ""):
                out[r[0]].add(r[1])
        return out

    def accounts(self, asset: str, facts: Facts, today: dt.date) -> list[Account]:
        sessions = self.sessions(facts)
        by_user: dict[str, Account] = {}
        for number, user in enumerate(self.users(facts), 1):
            record = by_user.setdefault(user.user, Account(asset, user.user, f"mysql.user row {number}",
                                                           tracks_logins=False, locked=True,
                                                           sources=set(sessions.get(user.user, set()))))
            record.locked = record.locked and user.locked
            native = not user.plugins or any(p in ("mysql_native_password", "mysql_old_password")
                                             for p in user.plugins)
            if user.empty_password and native and not user.locked:
                record.empty_password = True
            if user.host not in LOCAL_HOSTS:
                record.sources.add(user.host)
                if "%" in user.host or "_" in user.host:
                    record.wildcard_hosts.append(f"{user.user}@'{user.host}'")
            record.admin += [f"mysql.user: {user.account} has {p}_priv" for p in ("Super", "Grant")
                             if user.privileges.get(p)]
            if user.password_expired:
                record.expired.append(f"mysql.user: {user.account} password_expired = Y")
            lifetime = user.lifetime
            if user.password_changed.isdigit() and lifetime not in ("", "-1", "0") and lifetime.isdigit():
                changed = dt.datetime.fromtimestamp(int(user.password_changed), dt.timezone.utc).date()
                if changed + dt.timedelta(days=int(lifetime)) < today:
                    record.expired.append(f"mysql.user: {user.account} password older than {lifetime} days")
        return list(by_user.values())

    # ------------------------------------------------------------- changes

    def lock(self, account: str, facts: Facts, port: int | None = None) -> LockPlan:
        mine = [u for u in self.users(facts) if u.user == account]
        if not mine:
            return LockPlan("absent", [])
        state = "locked" if all(u.locked for u in mine) else "present"
        sql = "; ".join(f"ALTER USER {literal(u.user)}@{literal(u.host)} ACCOUNT LOCK" for u in mine)
        return LockPlan(state, [self.client, "-e", sql])

    def undo_statements(self, applied, table, before, now, restarting=False):
        out: list[str] = []
        owned = {rule: table.get(rule, {}).get("sql") for rule in applied}
        variables = [v for rule in applied if isinstance(owned[rule], list) for v in owned[rule]]
        if variables and not restarting:  # a restart re-reads the restored option files anyway
            _, was = self.settings(before)
            _, is_now = self.settings(now)
            for key in dict.fromkeys(variables):
                if key not in was or key not in is_now:
                    continue
                old, new = was[key].value, is_now[key].value
                if old is not None and old != new:
                    value = old if old.isdigit() or old.upper() in ("ON", "OFF") else literal(old)
                    out.append(f"SET GLOBAL {key} = {value};")
        if owned.get("my.anonymous") or owned.get("my.remote_root"):
            locked_before = {u.account for u in self.users(before) if u.locked}
            for user in self.users(now):
                if user.locked and user.account not in locked_before:
                    out.append(f"ALTER USER {literal(user.user)}@{literal(user.host)} ACCOUNT UNLOCK;")
        return out


def literal(value: str) -> str:
    """A string literal: backslash escapes it in MariaDB/MySQL (unless
    NO_BACKSLASH_ESCAPES), so it is doubled, and quotes are doubled."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _connect(pymysql, host: str, port: int, user: str, password: str, tunnelled: bool):
    """TLS first (servers with require_secure_transport refuse plain TCP). Through a
    tunnel the certificate is not checked and a server without TLS is read in the
    clear inside SSH; directly, TLS is required and verified against the system CAs."""
    tls = ssl.create_default_context()
    if tunnelled:
        tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE
    try:
        return pymysql.connect(host=host, port=port, user=user, password=password, connect_timeout=10, ssl=tls)
    except pymysql.err.OperationalError as exc:
        if not (tunnelled and "doesn't support" in str(exc.args[-1])):
            raise DatabaseError(str(exc.args[-1])) from None
    try:
        return pymysql.connect(host=host, port=port, user=user, password=password, connect_timeout=10)
    except pymysql.err.OperationalError as exc:
        raise DatabaseError(str(exc.args[-1])) from None


ENGINE = MariaDB()
