"""Check types for database servers (PostgreSQL, MariaDB/MySQL), over the `sql:*`
sections of mzops.compliance.dbcollect: settings, pg_hba rules, roles, users, plugins.

A section the server refused (no privilege for the read-only login) makes the rule an
error that names the query and the server's words, never a pass.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from dataclasses import dataclass

from mzops.compliance.checks import (ERROR, FAIL, MANUAL, PASS, Context, Outcome, check, compare,
                                     describe)
from mzops import engines
from mzops.facts import Facts
from mzops.engines import Engine, Refused, Setting, mariadb, postgresql
from mzops.engines.mariadb import MyUser
from mzops.engines.postgresql import PgRole

SOCKET_PLUGINS, LOCAL_HOSTS = mariadb.SOCKET_PLUGINS, mariadb.LOCAL_HOSTS


def engine(facts: Facts) -> Engine:
    found = engines.of_facts(facts)
    if found is None:
        raise Refused(("version",), facts)
    return found


def rows(facts: Facts, section: str) -> list[list[str]]:
    return engine(facts).rows(facts, section)


def settings(facts: Facts) -> tuple[str, dict[str, Setting]]:
    """Server settings by lower-case name, with the label of the catalogue they came from."""
    return engine(facts).settings(facts)


def pg_roles(facts: Facts) -> list[PgRole]:
    return postgresql.ENGINE.roles(facts)


def my_users(facts: Facts) -> list[MyUser]:
    return mariadb.ENGINE.users(facts)


def _refused(expected: str, exc: Refused) -> Outcome:
    return Outcome(ERROR, expected, "the server refused a query mzops needs (privilege of the audit login?)",
                   [str(exc)])


def _one_setting(ctx: Context, expected: str) -> tuple[Setting, str] | Outcome:
    key = ctx.args["key"].lower()
    try:
        label, known = settings(ctx.facts)
    except Refused as exc:
        return _refused(expected, exc)
    found = known.get(key) or Setting(key, None, "no such setting: its module or plugin is not loaded")
    return found, label


@check("db_setting", needs=())
def db_setting(ctx: Context) -> Outcome:
    """One server setting compared with its expectation (pg_settings / global variables)."""
    key, op, value = ctx.args["key"], ctx.args["op"], ctx.args.get("value")
    expected = f"{key} {describe(op, value)}"
    got = _one_setting(ctx, expected)
    if isinstance(got, Outcome):
        return got
    found, label = got
    ok = compare(found.value, op, value)
    return Outcome(PASS if ok else FAIL, expected, f"{key} = {found.value!r}" if found.value is not None
                   else f"{key} not set", [found.evidence(label)])


@check("db_setting_has", needs=())
def db_setting_has(ctx: Context) -> Outcome:
    """A setting holds every item ("a|b": either). mode list: comma list; text: substrings."""
    key, items, mode = ctx.args["key"], ctx.args["items"], ctx.args.get("mode", "list")
    expected = f"{key} with {', '.join(i.replace('|', ' or ') for i in items)}"
    got = _one_setting(ctx, expected)
    if isinstance(got, Outcome):
        return got
    found, label = got
    text = found.value or ""
    if mode == "list":
        present = {v.strip().lower() for v in text.split(",") if v.strip()}
        has = lambda alt: alt.lower() in present  # noqa: E731
    else:
        has = lambda alt: alt in text  # noqa: E731
    missing = [item.replace("|", " or ") for item in items if not any(has(alt) for alt in item.split("|"))]
    actual = f"missing {', '.join(missing)}" if missing else f"{key} = {text!r}"
    return Outcome(FAIL if missing else PASS, expected, actual, [found.evidence(label)])


@check("db_setting_excludes", needs=())
def db_setting_excludes(ctx: Context) -> Outcome:
    """A comma-list setting (TLS versions) holds nothing matching the weak patterns."""
    key, weak = ctx.args["key"], ctx.args["weak"]
    expected = f"{key} without {', '.join(weak)}"
    got = _one_setting(ctx, expected)
    if isinstance(got, Outcome):
        return got
    found, label = got
    if found.value is None or not found.value.strip():
        return Outcome(FAIL, expected, f"{key} not set (server default)", [found.evidence(label)])
    bad = [v.strip() for v in found.value.split(",") if any(fnmatch.fnmatch(v.strip(), p) for p in weak)]
    return Outcome(FAIL if bad else PASS, expected, f"weak: {', '.join(bad)}" if bad else f"{key} = {found.value}",
                   [found.evidence(label)])


# ------------------------------------------------------------------ PostgreSQL

@dataclass(frozen=True)
class HbaLine:
    line: int
    type: str
    databases: str
    users: str
    address: str
    netmask: str
    method: str
    error: str
    options: str | None = None     # "map=NAME ..."; None: collected without them

    def __str__(self) -> str:
        where = f"{self.address}/{self.netmask}" if self.netmask else self.address
        text = f"pg_hba.conf line {self.line}: {self.type} {self.databases} {self.users} {where} {self.method}"
        return (text + (f" {self.options}" if self.options else "")).replace("  ", " ")

    @property
    def loopback(self) -> bool:
        if self.type == "local":
            return True
        if self.address in ("localhost",):
            return True
        try:
            return ipaddress.ip_address(self.address).is_loopback
        except ValueError:
            return False


def hba(facts: Facts) -> list[HbaLine]:
    return [HbaLine(int(r[0]), *r[1:8], r[8] if len(r) > 8 else None) for r in rows(facts, "pg_hba") if len(r) >= 8]


def _hba_outcome(expected: str, lines: list[HbaLine], bad: list[HbaLine], what: str) -> Outcome:
    """Offending lines fail the rule; lines the server cannot use are shown with them,
    and alone (nothing offending among the rest) make the result an error."""
    errors = [f"{h} error: {h.error}" for h in lines if h.error]
    if bad:
        return Outcome(FAIL, expected, f"{len(bad)} line(s) {what}", [str(h) for h in bad] + errors)
    if errors:
        return Outcome(ERROR, expected, "pg_hba.conf has lines the server cannot use", errors)
    return Outcome(PASS, expected, f"none of {len(lines)} lines {what}", [str(h) for h in lines[:8]])


@check("pg_hba_methods", needs=())
def pg_hba_methods(ctx: Context) -> Outcome:
    """No pg_hba line authenticates with a forbidden method (trust, password, md5)."""
    forbidden = [m.lower() for m in ctx.args["forbidden"]]
    expected = f"no pg_hba line with {', '.join(forbidden)}"
    try:
        lines = hba(ctx.facts)
    except Refused as exc:
        return _refused(expected, exc)
    bad = [h for h in lines if h.method.lower() in forbidden]
    return _hba_outcome(expected, lines, bad, f"use {'/'.join(forbidden)}")


@check("pg_hba_ssl", needs=())
def pg_hba_ssl(ctx: Context) -> Outcome:
    """Every line accepting connections from the network requires TLS (hostssl)."""
    expected = "network lines are hostssl (loopback and local socket excepted)"
    try:
        lines = hba(ctx.facts)
    except Refused as exc:
        return _refused(expected, exc)
    bad = [h for h in lines if h.type in ("host", "hostnossl", "hostgssenc", "hostnogssenc") and not h.loopback
           and h.method != "reject"]
    return _hba_outcome(expected, lines, bad, "accept network connections without TLS")


@check("pg_password_policy", needs=())
def pg_password_policy(ctx: Context) -> Outcome:
    """Password rules enforced by a module, or network logins delegated to a directory.

    PostgreSQL itself checks neither complexity nor failed logins: a preloaded module
    (credcheck; passwordcheck for complexity) or delegated authentication must."""
    modules, setting = ctx.args["modules"], ctx.args.get("setting")
    delegated = [m.lower() for m in ctx.args["delegated"]]
    expected = f"{' or '.join(modules)} loaded" + (f" with {setting} set" if setting else "") + \
        f", or network logins by {', '.join(delegated)}"
    try:
        _, known = settings(ctx.facts)
        lines = hba(ctx.facts)
    except Refused as exc:
        return _refused(expected, exc)
    preload = known.get("shared_preload_libraries") or Setting("shared_preload_libraries", "", "")
    loaded = [m for m in modules if m in {v.strip() for v in (preload.value or "").split(",")}]
    evidence = [preload.evidence("pg_settings")]
    if loaded and setting:
        value = known.get(setting.lower())
        evidence.append(value.evidence("pg_settings") if value else f"pg_settings: {setting} (not set)")
        if value and compare(value.value, "gt", 0):
            return Outcome(PASS, expected, f"{loaded[0]} loaded, {setting} = {value.value}", evidence)
    elif loaded:
        return Outcome(PASS, expected, f"{loaded[0]} loaded", evidence)
    network = [h for h in lines if h.type != "local" and not h.loopback and h.method not in ("reject",)]
    own = [h for h in network if h.method.lower() not in delegated]
    evidence += [str(h) for h in (own or network)[:10]]
    if own:
        return Outcome(FAIL, expected, f"no such module, and {len(own)} network line(s) check passwords themselves",
                       evidence)
    return Outcome(PASS, expected, f"network logins delegated ({len(network)} line(s))" if network
                   else "no network logins (local socket and loopback only)", evidence)


ATTRIBUTES = postgresql.ATTRIBUTES


@check("pg_role_attributes", needs=())
def pg_role_attributes(ctx: Context) -> Outcome:
    """Superuser, CREATEROLE, REPLICATION and BYPASSRLS only on the approved roles;
    REPLICATION alone also on the replication roles (the DR plans' replication account),
    which may hold nothing else."""
    allowed = set(ctx.args["allowed"])
    replication = set(ctx.args.get("replication_only") or [])
    expected = (f"{', '.join(ATTRIBUTES)} only on {', '.join(sorted(allowed)) or 'no role'}"
                + (f"; replication alone on {', '.join(sorted(replication))}" if replication else ""))
    try:
        roles = pg_roles(ctx.facts)
    except Refused as exc:
        return _refused(expected, exc)
    holders = [(r, [a for a in ATTRIBUTES if getattr(r, a)]) for r in roles]
    bad = [(r, attrs) for r, attrs in holders
           if attrs and r.name not in allowed and not (r.name in replication and attrs == ["replication"])]
    evidence = [f"pg_roles: {r.name}: {', '.join(attrs)}" for r, attrs in (bad or [h for h in holders if h[1]])]
    if bad:
        return Outcome(FAIL, expected, "not approved: " + ", ".join(r.name for r, _ in bad), evidence)
    return Outcome(PASS, expected, "only approved roles hold them", evidence)


@check("pg_role_validity", needs=())
def pg_role_validity(ctx: Context) -> Outcome:
    """Login roles of people carry an expiry (VALID UNTIL), not 'infinity'."""
    exempt = set(ctx.args["exempt"])
    expected = f"VALID UNTIL set for login roles (except {', '.join(sorted(exempt)) or 'none'})"
    try:
        roles = pg_roles(ctx.facts)
    except Refused as exc:
        return _refused(expected, exc)
    logins = [r for r in roles if r.login and r.name not in exempt]
    bad = [r for r in logins if not r.valid_until or r.valid_until == "infinity"]
    evidence = [f"pg_roles: {r.name} valid until {r.valid_until or '(never)'}" for r in (bad or logins)]
    if bad:
        return Outcome(FAIL, expected, "without expiry: " + ", ".join(r.name for r in bad), evidence)
    return Outcome(PASS, expected, f"{len(logins)} login role(s) expire", evidence or ["pg_roles: no other login role"])


def _milliseconds(value: str) -> float | None:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|min|h|d)?\s*", value or "")
    if not m:
        return None
    return float(m.group(1)) * {"ms": 1, "s": 1000, "min": 60000, "h": 3600000, "d": 86400000, None: 1}[m.group(2)]


@check("pg_admin_idle_timeout", needs=())
def pg_admin_idle_timeout(ctx: Context) -> Outcome:
    """Administrators' idle sessions end (idle_session_timeout, per role or server-wide)."""
    limit = float(ctx.args["max_seconds"]) * 1000
    expected = f"idle_session_timeout between 1 ms and {ctx.args['max_seconds']} s for administrator roles"
    try:
        _, known = settings(ctx.facts)
        roles = pg_roles(ctx.facts)
    except Refused as exc:
        return _refused(expected, exc)
    server = known.get("idle_session_timeout") or Setting("idle_session_timeout", "0", "default")
    admins = [r for r in roles if r.login and (r.superuser or r.createrole)]
    bad, evidence = [], [server.evidence("pg_settings")]
    for role in admins:
        value, origin = (role.config["idle_session_timeout"], "ALTER ROLE") if "idle_session_timeout" in role.config \
            else (server.value or "0", "server-wide")
        ms = _milliseconds(value)
        evidence.append(f"{role.name}: idle_session_timeout {value} ({origin})")
        if ms is None or not 0 < ms <= limit:
            bad.append(role.name)
    if bad:
        return Outcome(FAIL, expected, "no or too long timeout: " + ", ".join(bad), evidence)
    return Outcome(PASS, expected, f"{len(admins)} administrator role(s) time out", evidence)


@check("pg_role_hashes", needs=())
def pg_role_hashes(ctx: Context) -> Outcome:
    """Stored passwords are SCRAM-SHA-256 (md5 and plain text can be replayed or read)."""
    expected = "every stored password SCRAM-SHA-256"
    try:
        hashes = rows(ctx.facts, "pg_hashes")
    except Refused as exc:
        return Outcome(MANUAL, expected, "pg_authid is readable by superusers only: check as the server's superuser",
                       [str(exc)])
    bad = [r for r in hashes if r[1] in ("md5", "plain")]
    evidence = [f"pg_authid: {r[0]} {r[1]}" for r in (bad or hashes)]
    if bad:
        return Outcome(FAIL, expected, "weak: " + ", ".join(f"{r[0]} ({r[1]})" for r in bad), evidence)
    return Outcome(PASS, expected, f"{len(hashes)} login role(s), none md5 or plain", evidence or ["pg_authid: no login role"])


@check("db_data_dir_mode", needs=())
def db_data_dir_mode(ctx: Context) -> Outcome:
    """The data directory is no more open than a mode (read on the server host)."""
    max_mode = int(str(ctx.args["max_mode"]), 8)
    expected = f"data directory mode <= {max_mode:04o}"
    stats = ctx.facts.stats_in("db:stat")
    if ctx.facts.rc("db:stat") is not None and stats:
        data = next(iter(stats.values()))  # the first line is the data directory
        ok = data.mode & ~max_mode == 0
        return Outcome(PASS if ok else FAIL, expected, f"{data.path} mode {data.mode:04o}",
                       [f"stat {data.path}: {data.mode:04o} {data.owner}:{data.group}"])
    try:
        _, known = settings(ctx.facts)
    except Refused as exc:
        return _refused(expected, exc)
    mode = known.get("data_directory_mode")
    if mode and mode.value:  # PostgreSQL reports it itself
        ok = int(mode.value, 8) & ~max_mode == 0
        return Outcome(PASS if ok else FAIL, expected, f"data_directory_mode {mode.value}", [mode.evidence("pg_settings")])
    return Outcome(MANUAL, expected, "the server does not report it and its host was not read",
                   ["no db:stat section: the database was read over its protocol only"])


# ------------------------------------------------------------------ MariaDB / MySQL

def _matches(user: MyUser, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(user.account, p) for p in patterns)


def _user_problem(kind: str, user: MyUser, args: dict) -> str | None:
    """Why this user breaks the rule KIND, or None."""
    allowed = args.get("allowed", [])
    if _matches(user, allowed):
        return None
    # A locked anonymous or remote root account is disabled: what the rule asks for.
    if kind == "anonymous":
        return "anonymous user" if user.user == "" and not user.locked else None
    if kind == "empty_password":
        if user.empty_password and not user.locked and not (set(user.plugins) & set(SOCKET_PLUGINS)):
            return f"no password (plugin {','.join(user.plugins) or 'default'})"
        return None
    if kind == "remote_root":
        return f"root from {user.host}" if user.user == "root" and user.host not in LOCAL_HOSTS \
            and not user.locked else None
    if kind == "wildcard_host":
        return f"any host ({user.host})" if "%" in user.host or "_" in user.host else None
    if kind == "lifetime_never":
        return "PASSWORD EXPIRE NEVER" if user.lifetime == "0" and not user.locked and not user.socket_only else None
    if kind == "admin_privileges":
        held = [p for p, yes in user.privileges.items() if yes]
        # the backups' login needs PROCESS (mariabackup refuses to start without it), alone
        if held == ["Process"] and user.account == args.get("process_only"):
            return None
        return f"holds {', '.join(held)}" if held else None
    raise ValueError(f"unknown user rule {kind!r}")


@check("my_users", needs=())
def my_users_check(ctx: Context) -> Outcome:
    """One account property over mysql.user: anonymous, empty password, remote root, any
    host, password never expiring, administrative privileges (allowed: user@host globs)."""
    kind = ctx.args["problem"]
    allowed = ctx.args.get("allowed", [])
    expected = {"anonymous": "no anonymous user", "empty_password": "no account without a password",
                "remote_root": "root only from localhost", "wildcard_host": "no account for any host (%)",
                "lifetime_never": "no account exempt from password expiry",
                "admin_privileges": "Super, Grant, File, Shutdown, Process only for " + (", ".join(allowed) or "nobody"),
                }[kind]
    try:
        users = my_users(ctx.facts)
    except Refused as exc:
        return _refused(expected, exc)
    bad = [(u, why) for u in users for why in [_user_problem(kind, u, ctx.args)] if why]
    if bad:
        return Outcome(FAIL, expected, ", ".join(u.account for u, _ in bad),
                       [f"mysql.user: {u.account}: {why}" for u, why in bad])
    return Outcome(PASS, expected, f"none among {len(users)} accounts",
                   [f"mysql.user: {', '.join(u.account for u in users)}"])


@check("my_plugin", needs=())
def my_plugin(ctx: Context) -> Outcome:
    """One of the plugins ACTIVE (with the load option, if required), or a MySQL component."""
    names, components = ctx.args["plugins"], ctx.args.get("components", [])
    option = ctx.args.get("load_option")
    expected = f"{' or '.join(names + components)} active" + (f" ({option})" if option else "")
    try:
        plugins = rows(ctx.facts, "my_plugins")
    except Refused as exc:
        return _refused(expected, exc)
    found = {r[0].lower(): r for r in plugins if len(r) >= 4}
    evidence = []
    for name in names:
        row = found.get(name.lower())
        if not row:
            continue
        evidence.append(f"information_schema.plugins: {row[0]} {row[1]} load_option {row[3] or '-'}")
        if row[1] == "ACTIVE" and (not option or row[3] == option):
            return Outcome(PASS, expected, f"{row[0]} {row[1]}", evidence)
    if components and ctx.facts.rc("sql:my_components") == 0:
        urns = [r[0] for r in rows(ctx.facts, "my_components")]
        hit = [u for u in urns if any(c in u for c in components)]
        if hit:
            return Outcome(PASS, expected, f"component {hit[0]}", [f"mysql.component: {hit[0]}"])
    return Outcome(FAIL, expected, "not active" if evidence else "not installed",
                   evidence or [f"information_schema.plugins: no {', '.join(names)}"])


@check("my_lockout", needs=())
def my_lockout(ctx: Context) -> Outcome:
    """Failed logins lock the account: MariaDB max_password_errors; MySQL per-account
    FAILED_LOGIN_ATTEMPTS with PASSWORD_LOCK_TIME."""
    limit = int(ctx.args["max_attempts"])
    exempt = ctx.args.get("exempt", [])
    expected = f"at most {limit} failed logins before lock"
    try:
        label, known = settings(ctx.facts)
        users = my_users(ctx.facts)
    except Refused as exc:
        return _refused(expected, exc)
    errors = known.get("max_password_errors")
    if errors is not None:  # MariaDB: server-wide, for password logins
        ok = compare(errors.value, "range", [1, limit])
        return Outcome(PASS if ok else FAIL, expected, f"max_password_errors = {errors.value}", [errors.evidence(label)])
    logins = [u for u in users if not u.locked and not u.socket_only and not _matches(u, exempt)]
    bad = [u for u in logins if not compare(u.failed_attempts, "range", [1, limit]) or u.lock_days in ("", "0")]
    evidence = [f"mysql.user: {u.account}: FAILED_LOGIN_ATTEMPTS {u.failed_attempts or 0}, "
                f"PASSWORD_LOCK_TIME {u.lock_days or 0}" for u in (bad or logins)]
    if bad:
        return Outcome(FAIL, expected, "no lockout: " + ", ".join(u.account for u in bad), evidence)
    return Outcome(PASS, expected, f"{len(logins)} password account(s) lock", evidence or ["mysql.user: no password account"])


@check("my_no_database", needs=())
def my_no_database(ctx: Context) -> Outcome:
    """No database named like the patterns (the sample `test` database)."""
    patterns = ctx.args["patterns"]
    expected = f"no database {', '.join(patterns)}"
    try:
        names = [r[0] for r in rows(ctx.facts, "my_databases")]
    except Refused as exc:
        return _refused(expected, exc)
    bad = [n for n in names if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
    return Outcome(FAIL if bad else PASS, expected, ", ".join(bad) if bad else "none",
                   [f"SHOW DATABASES: {', '.join(names)}"])


# ---------------------------------------------------------------- the backup's login


def hba_match(lines: list[HbaLine], database: str, user: str, groups: set[str]) -> HbaLine | None:
    """The line PostgreSQL uses for a local-socket connection of USER to DATABASE
    ("replication": a physical replication connection): the first whose type, database
    and user match (the documentation's "The pg_hba.conf File"): `all` matches every
    database but not replication, which only `replication` matches; `sameuser` and
    `samerole` the user's own name and groups; `+group` in the user field a member of it
    (GROUPS: the roles USER is a direct member of). Lines the server could not read are
    skipped, as it skips them."""
    for h in lines:
        if h.error or h.type != "local":
            continue
        dbs = h.databases.split(",")
        if database == "replication":
            db_ok = "replication" in dbs
        else:
            db_ok = "all" in dbs or database in dbs or ("sameuser" in dbs and database == user) or \
                ("samerole" in dbs and database in groups | {user})
        users = h.users.split(",")
        user_ok = "all" in users or user in users or any(u.startswith("+") and u[1:] in groups for u in users)
        if db_ok and user_ok:
            return h
    return None


@check("pg_backup_account", needs=())
def pg_backup_account(ctx: Context) -> Outcome:
    """The backups' own login exists with what a backup needs and nothing more: LOGIN and
    REPLICATION (pg_basebackup), membership in exactly MEMBER_OF (read every table and
    setting), EXECUTE on pg_switch_wal and pg_create_restore_point, no other attribute;
    and it is reached without a password: its local-socket lines (a database and
    replication) are peer with a map that maps SYSTEM_USER to it in pg_ident.conf."""
    account, system_user = ctx.args["account"], ctx.args["system_user"]
    member_of = set(ctx.args["member_of"])
    expected = (f"{account}: LOGIN REPLICATION, member of {', '.join(sorted(member_of))} only, may run "
                f"{', '.join(postgresql.BACKUP_FUNCTIONS)}; local peer login mapped from {system_user}")
    try:
        role = next((r for r in pg_roles(ctx.facts) if r.name == account), None)
        grants = postgresql.ENGINE.grants(ctx.facts)
        lines = hba(ctx.facts)
        ident = rows(ctx.facts, "pg_ident")
    except Refused as exc:
        return _refused(expected, exc)
    if role is None:
        return Outcome(FAIL, expected, f"no role {account}: backups read as the superuser",
                       [f"pg_roles: no {account} among {len(pg_roles(ctx.facts))} roles"])
    got = grants.get(account)
    if got is None:
        return Outcome(ERROR, expected, f"pg_role_grants has no row for {account}", [])
    problems, evidence = [], []
    attrs = [a for a in ATTRIBUTES if getattr(role, a)] + (["createdb"] if got.createdb else [])
    evidence.append(f"pg_roles: {account}: {'LOGIN' if role.login else 'NOLOGIN'} {' '.join(attrs).upper()}".strip())
    if not role.login:
        problems.append("it cannot log in (NOLOGIN)")
    if not role.replication:
        problems.append("no REPLICATION (pg_basebackup needs it)")
    extra = [a for a in attrs if a != "replication"]
    if extra:
        problems.append("more than a backup needs: " + ", ".join(a.upper() for a in extra))
    evidence.append(f"pg_auth_members: {account} is a member of {', '.join(sorted(got.member_of)) or 'no role'}")
    if member_of - got.member_of:
        problems.append("not a member of " + ", ".join(sorted(member_of - got.member_of)))
    if got.member_of - member_of:
        problems.append("also a member of " + ", ".join(sorted(got.member_of - member_of)))
    evidence.append(f"has_function_privilege: {account} may run {', '.join(sorted(got.functions)) or 'neither'} "
                    f"of {', '.join(postgresql.BACKUP_FUNCTIONS)}")
    if set(postgresql.BACKUP_FUNCTIONS) - got.functions:
        problems.append("may not run " + ", ".join(f for f in postgresql.BACKUP_FUNCTIONS if f not in got.functions))
    if any(h.options is None for h in lines):
        return Outcome(ERROR, expected, "pg_hba rows were collected without their options (map=)",
                       evidence + ["pg_hba: collected by an older mzops: collect again"])
    for database in ("postgres", "replication"):
        line = hba_match(lines, database, account, got.member_of)
        if line is None:
            problems.append(f"no pg_hba line lets it connect to {database} over the local socket")
            evidence.append(f"pg_hba.conf: no local line matches {account} to {database}")
            continue
        evidence.append(f"{line} (used for {account} to {database})")
        mapped = dict(o.split("=", 1) for o in line.options.split() if "=" in o).get("map")
        if line.method != "peer" or not mapped:
            problems.append(f"pg_hba.conf line {line.line} ({database}) is {line.method}"
                            + ("" if line.method != "peer" else " without a map") + f", not peer with a map from "
                            f"{system_user}")
            continue
        ok = [r for r in ident if len(r) >= 5 and not r[4] and r[1] == mapped and r[2] == system_user
              and r[3] == account]
        if ok:
            evidence.append(f"pg_ident.conf line {ok[0][0]}: {mapped} {system_user} {account}")
        else:
            problems.append(f"pg_ident.conf map {mapped} does not map {system_user} to {account}")
            evidence += [f"pg_ident.conf line {r[0]}: {' '.join(r[1:4])}" for r in ident if len(r) >= 4
                         and r[1] == mapped][:4]
    problems = list(dict.fromkeys(problems))
    if problems:
        return Outcome(FAIL, expected, "; ".join(problems), list(dict.fromkeys(evidence)))
    return Outcome(PASS, expected, f"{account} reads as a backup needs and no more, without a password",
                   list(dict.fromkeys(evidence)))


@check("my_backup_account", needs=())
def my_backup_account(ctx: Context) -> Outcome:
    """The backups' own login (ACCOUNT, user@localhost) exists, unlocked, with exactly the
    global PRIVILEGES mariabackup, the binary log flush and the table checksums need (its
    "Authentication and Privileges": RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR; SELECT
    for the checksums) and no grant on a database or table. Its password lives only in an
    option file on the server host, which no query sees: a backup that cannot log in with
    it says so in its outcome."""
    account = ctx.args["account"]
    wanted = {p.upper() for p in ctx.args["privileges"]}
    expected = f"{account}: {', '.join(sorted(wanted))} on *.* and nothing else, unlocked"
    user, _, host = account.partition("@")
    grantee = f"'{user}'@'{host}'"
    try:
        users = [u for u in my_users(ctx.facts) if u.account == account]
        grants = mariadb.ENGINE.grants(ctx.facts).get(grantee, set())
    except Refused as exc:
        return _refused(expected, exc)
    if not users:
        return Outcome(FAIL, expected, f"no account {account}: backups read as root",
                       [f"mysql.user: no {account}"])
    found = users[0]
    problems = []
    evidence = [f"mysql.user: {account}: plugin {','.join(found.plugins) or 'default'}"
                + (", locked" if found.locked else ""),
                f"information_schema: {grantee}: {', '.join(sorted(grants)) or 'USAGE only'}"]
    if found.locked:
        problems.append("it is locked")
    held = {g.split(" ON ")[0] for g in grants if g.endswith(" ON *.*")}
    if wanted - held:
        problems.append("lacks " + ", ".join(sorted(wanted - held)))
    more = sorted(g for g in grants if not g.endswith(" ON *.*") or g.split(" ON ")[0] not in wanted)
    if more:
        problems.append("more than a backup needs: " + ", ".join(more))
    if problems:
        return Outcome(FAIL, expected, "; ".join(problems), evidence)
    return Outcome(PASS, expected, f"{account} reads as a backup needs and no more", evidence)
