"""Every database engine keeps the contract (mzops.engines.base.Engine), its parsers
read the rows as the servers' own clients print them, and an engine added from
outside is taken up everywhere without touching any other module.

Row formats: psql -XAt -F US prints booleans as t/f and NULL as the empty string
(psql(1), "-A", "-F"); `mariadb -NB` prints tab-separated rows, booleans of an
expression as 1/0 (MariaDB manual, "mariadb Command-line Client", --batch).
"""

from __future__ import annotations

import datetime as dt
import inspect

import pytest

from mzops import engines
from mzops.bundle import Bundle, Section
from mzops.compliance import audit, dbcollect
from mzops.facts import Facts
from mzops.engines.base import Engine
from mzops.engines.postgresql import PostgreSQL
from mzops.inventory.model import Asset

US = "\x1f"
CONTRACT = ("read", "platform", "settings", "accounts", "lock", "undo_statements")


def facts(engine: str, **sections: str | Section) -> Facts:
    out = {"db:engine": Section(0, engine.encode() + b"\n")}
    for name, text in sections.items():
        out[f"sql:{name}"] = text if isinstance(text, Section) else Section(0, text.encode())
    return Facts(Bundle("db1", "", out))


@pytest.mark.parametrize("name", sorted(engines.known()))
def test_every_engine_keeps_the_contract(name):
    engine = engines.get(name)
    assert engine.name == name and engine.family and 0 < engine.default_port < 65536
    for method in CONTRACT:
        assert getattr(type(engine), method) is not getattr(Engine, method), f"{name} lacks {method}"
    assert "version" in engine.queries
    assert set(engine.account_queries) <= set(engine.queries)
    lines = engine.host_lines(engine.default_port)
    assert f"sec db:engine echo {name}" in lines and f"PORT={engine.default_port}" in lines
    assert all(f"sec sql:{q} {engine.runner} " in lines for q in engine.queries)
    assert "db:stat" not in engine.host_lines(1, engine.account_queries)
    assert engine.sql_exec and engine.after_restore

BACKUP_SCRIPTS = ("backup_facts", "full_backup", "log_backup", "restore_start", "table_sums", "copy_check",
                  "restore_remove")
BACKUP_METHODS = ("backup_problems", "log_directory", "full_positions", "restore_facts", "restore_layout",
                  "restore_args", "log_gaps")


@pytest.mark.parametrize("name", sorted(engines.known()))
def test_an_engine_with_backups_has_the_whole_of_them(name):
    """A backup is worth what its restore and its drill are: an engine that backs up has
    every script and parser of the contract, or none (the policy then refuses its jobs)."""
    engine = engines.get(name)
    if engine.full_backup is None:
        assert all(getattr(engine, script) is None for script in BACKUP_SCRIPTS), name
        return
    assert all(getattr(engine, script) for script in BACKUP_SCRIPTS), name
    assert engine.full_format and engine.full_extract
    for method in BACKUP_METHODS:
        assert getattr(type(engine), method) is not getattr(Engine, method), f"{name} lacks {method}"


def test_an_unknown_engine_names_the_asset_and_the_known_ones():
    with pytest.raises(Exception) as err:
        engines.get("dm", "core-dm-01")
    assert "core-dm-01: database engine 'dm' has no baseline yet" in str(err.value)
    assert "postgresql" in str(err.value)


def test_postgresql_roles_parse_flags_expiry_and_role_settings():
    row = US.join(["app", "t", "f", "t", "f", "f", "2026-12-31 00:00:00+00",
                   "idle_session_timeout=600000\x1esearch_path=a, b"])
    group = US.join(["readers", "f", "f", "f", "f", "f", "", ""])
    roles = engines.get("postgresql").roles(facts("postgresql", pg_roles=row + "\n" + group + "\n"))
    assert [r.name for r in roles] == ["app", "readers"]
    app = roles[0]
    assert app.login and app.createrole and not app.superuser
    assert app.valid_until.startswith("2026-12-31")
    assert app.config == {"idle_session_timeout": "600000", "search_path": "a, b"}   # comma kept
    assert not roles[1].login and roles[1].config == {}


def test_postgresql_accounts_expiry_admin_and_network_sources():
    rows = "\n".join(US.join(r) for r in [
        ["old", "t", "f", "f", "f", "f", "2020-01-01 00:00:00+08", ""],
        ["dba", "t", "t", "f", "f", "f", "infinity", ""],
        ["nologin", "f", "f", "f", "f", "f", "", ""]]) + "\n"
    sessions = "\n".join(US.join(r) for r in [["dba", "10.0.0.5", "2"], ["dba", "local", "1"]]) + "\n"
    found = {a.name: a for a in engines.get("postgresql").accounts(
        "pg1", facts("postgresql", pg_roles=rows, pg_sessions=sessions), dt.date(2026, 12, 1))}
    assert found["old"].expired and not found["dba"].expired        # infinity never expires
    assert found["dba"].admin == ["pg_roles: dba has SUPERUSER"] and found["dba"].sources == {"10.0.0.5"}
    assert found["nologin"].locked and not found["old"].locked


def test_refused_roles_query_is_an_error_naming_the_servers_words():
    refused = Section(1, b"ERROR:  permission denied for table pg_authid")
    with pytest.raises(engines.Refused, match="query pg_roles: ERROR:  permission denied"):
        engines.get("postgresql").accounts("pg1", facts("postgresql", pg_roles=refused), dt.date.today())


def _my_user(user, host, *, locked="0", empty="0", plugin="mysql_native_password", lifetime="", super_="N",
             changed=None, expired=None):
    cells = [user, host, plugin, empty, lifetime, locked, "0", super_, "N", "N", "N", "N", "", ""]
    if changed is not None:
        cells += [changed, expired or "0"]
    return "\t".join(cells)


def test_mariadb_users_read_14_or_16_columns_and_leave_roles_out():
    text = "\n".join([_my_user("app", "%"), _my_user("old", "localhost", changed="1600000000", expired="1"),
                      "\t".join(["r1", "", "", "0", "", "0", "1", *"NNNNN", "", ""])]) + "\n"
    users = engines.get("mariadb").users(facts("mariadb", my_users_mariadb=text))
    assert [u.account for u in users] == ["app@%", "old@localhost"]
    assert users[0].password_changed == "" and not users[0].password_expired   # a 14-column row (older bundle)
    assert users[1].password_changed == "1600000000" and users[1].password_expired


def test_mariadb_accounts_merge_hosts_and_find_wildcards_empty_passwords_and_age():
    text = "\n".join([_my_user("app", "%", empty="1"), _my_user("app", "localhost", locked="1"),
                      _my_user("dba", "localhost", super_="Y", lifetime="90", changed="1600000000", expired="0"),
                      ]) + "\n"
    found = {a.name: a for a in engines.get("mariadb").accounts(
        "my1", facts("mariadb", my_users_mariadb=Section(1, b"no such table"), my_users_mysql=text),
        dt.date(2026, 12, 1))}
    assert found["app"].empty_password and found["app"].wildcard_hosts == ["app@'%'"] and not found["app"].locked
    assert found["dba"].admin == ["mysql.user: dba@localhost has Super_priv"]
    assert found["dba"].expired == ["mysql.user: dba@localhost password older than 90 days"]


def test_lock_plans_follow_the_catalogue():
    pg = engines.get("postgresql")
    rows = US.join(["app", "t", "f", "f", "f", "f", "", ""]) + "\n"
    plan = pg.lock("app", facts("postgresql", pg_roles=rows), 5433)
    assert plan.state == "present" and plan.argv[-1] == 'ALTER ROLE "app" NOLOGIN' and "5433" in plan.argv
    assert pg.lock("ghost", facts("postgresql", pg_roles=rows)).state == "absent"
    my = engines.get("mysql")
    text = "\n".join([_my_user("o'b", "%"), _my_user("o'b", "localhost", locked="1")]) + "\n"
    plan = my.lock("o'b", facts("mysql", my_users_mysql=text))
    assert plan.state == "present" and plan.argv[0] == "mysql"
    assert plan.argv[-1] == "ALTER USER 'o''b'@'%' ACCOUNT LOCK; ALTER USER 'o''b'@'localhost' ACCOUNT LOCK"


def test_a_bundle_saved_before_engines_had_files_still_finds_its_engine():
    old = Bundle("x", "", {"db:engine": Section(0, b"mysql\n"), "sql:version": Section(0, b"10.11.6-MariaDB\t\n")})
    engine = engines.of_bundle(old)
    assert engine.family == "mysql" and engine.platform(old).name == "mariadb"


class ToyDB(PostgreSQL):
    """A throw-away engine: a PostgreSQL fork on its own port (as KingbaseES is), held to
    the PostgreSQL baseline. Registering it is all it takes."""

    name = "toydb"
    default_port = 54321


def test_an_engine_added_from_outside_is_taken_up_everywhere(monkeypatch):
    monkeypatch.setattr(engines, "_ENGINES", dict(engines.known()))
    engines.register(ToyDB())
    asset = Asset(name="toy-01", kind="database", zone="zone_core", site="primary", db_engine="toydb",
                  db_server="core-db-01")
    assert audit.family_of(asset) == "postgresql" and dbcollect.port_of(asset) == 54321
    assert "sec db:engine echo toydb" in dbcollect.engine_of(asset).host_lines(54321)
    bundle = Bundle("toy-01", "", {"db:engine": Section(0, b"toydb\n")})
    assert engines.of_bundle(bundle).name == "toydb"
    rows = US.join(["app", "t", "f", "f", "f", "f", "", ""]) + "\n"
    assert [a.name for a in engines.get("toydb").accounts("toy-01", facts("toydb", pg_roles=rows),
                                                          dt.date.today())] == ["app"]


def test_no_module_outside_engines_names_an_engine_in_a_condition():
    """The contract's point: engine knowledge lives in mzops/engines/ only."""
    import pathlib
    import re

    import mzops

    root = pathlib.Path(inspect.getfile(mzops)).parent
    pattern = re.compile(r"""(==|!=|\bin\b)\s*\(?["'](postgresql|mariadb|mysql)["']|["'](postgresql|mariadb|mysql)["']\s*(==|!=)""")
    offenders = [f"{p.relative_to(root)}:{n}" for p in root.rglob("*.py") if "engines" not in p.parts
                 for n, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert offenders == []


def test_string_literals_follow_each_servers_escaping():
    # PostgreSQL: standard_conforming_strings (on since 9.1), a backslash is itself;
    # MariaDB: a backslash escapes (String Literals, unless NO_BACKSLASH_ESCAPES).
    from mzops.engines import mariadb, postgresql

    assert postgresql.literal("o'b\\x") == "'o''b\\x'"
    assert mariadb.literal("o'b\\x") == "'o''b\\\\x'"


REPLICATION_SCRIPTS = ("replication_facts", "protect", "standby_build", "server_stop", "server_start", "promote",
                       "rejoin", "write_probe", "drill_copy")
REPLICATION_METHODS = ("replication_state", "replication_problems", "position", "replication_secrets")


@pytest.mark.parametrize("name", sorted(engines.known()))
def test_an_engine_with_replication_has_the_whole_of_it(name):
    """A failover is worth what its failback is: an engine that replicates can also be
    fenced, promoted and turned back into a standby, or a DR plan naming it is refused."""
    engine = engines.get(name)
    if engine.replication_facts is None:
        assert all(getattr(engine, script) is None for script in REPLICATION_SCRIPTS), name
        return
    assert all(getattr(engine, script) for script in REPLICATION_SCRIPTS), name
    for method in REPLICATION_METHODS:
        assert getattr(type(engine), method) is not getattr(Engine, method), f"{name} lacks {method}"
    assert (engine.seed_source is None) == (engine.seed_receive is None), "a relayed copy has both ends"
    assert engine.rejoin_method and engine.stopped_position_name
