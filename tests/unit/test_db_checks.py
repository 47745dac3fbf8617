"""Database checks on sections as the servers write them: the MySQL 8 catalogue (no
MySQL 8 server runs here; MariaDB and PostgreSQL are tested live in the lab), refused
queries and damaged pg_hba files."""

from __future__ import annotations

from mzops import engines
from mzops.compliance import catalogue, evaluate
from mzops.bundle import Bundle, Section

MYSQL = catalogue.load("mlps3", "mysql")
PG = catalogue.load("mlps3", "postgresql")
REFUSED = Section(1, b"SELECT command denied to user 'mzops_audit'@'localhost' for table `user`")


def mysql8(users: list[str], variables: dict[str, str] | None = None, components: str = "") -> Bundle:
    values = {"default_password_lifetime": "90", "have_ssl": "YES", "tls_version": "TLSv1.2,TLSv1.3",
              "require_secure_transport": "ON", **(variables or {})}
    return Bundle("mysql8", "", {
        "db:engine": Section(0, b"mysql\n"),
        "sql:version": Section(0, b"8.0.36\tMySQL Community Server - GPL\n"),
        "sql:my_variables_mariadb": Section(1, b"Unknown column 'global_value_path' in 'field list'"),
        "sql:my_variables_mysql": Section(0, "".join(f"{k}\t{v}\t\n" for k, v in values.items()).encode()),
        "sql:my_plugins": Section(0, b"mysql_native_password\tACTIVE\tAUTHENTICATION\t\n"),
        "sql:my_components": Section(0, components.encode()),
        "sql:my_users_mariadb": Section(1, b"Table 'mysql.global_priv' doesn't exist"),
        "sql:my_users_mysql": Section(0, "".join(u + "\n" for u in users).encode()),
        "sql:my_databases": Section(0, b"information_schema\nmysql\napp\n"),
    })


def user(name: str, host: str = "localhost", attempts: str = "3", lock: str = "1", lifetime: str = "",
         super_priv: str = "N", plugin: str = "caching_sha2_password", empty: str = "0", locked: str = "0") -> str:
    return "\t".join([name, host, plugin, empty, lifetime, locked, "0", super_priv, "N", "N", "N", "N", attempts, lock])


def statuses(bundle: Bundle, cat=MYSQL) -> dict[str, str]:
    platform, results = evaluate.evaluate(bundle, list(cat.baseline.rules), cat.baseline.parameters)
    return {r.rule: r.status for r in results} | {"_platform": platform.name}


def test_mysql8_is_its_own_flavour():
    got = statuses(mysql8([user("root", super_priv="Y")]))
    assert got["_platform"] == "mysql"
    # server_audit variables are MariaDB's: not applicable to MySQL
    assert got["my.audit_logging"] == got["my.audit_events"] == "notapplicable"
    assert got["my.password_lifetime"] == got["my.tls"] == got["my.secure_transport"] == "pass"


def test_mysql8_lockout_is_per_account():
    assert statuses(mysql8([user("root"), user("app", "10.1.2.3")]))["my.lockout"] == "pass"
    failing = mysql8([user("root"), user("app", "10.1.2.3", attempts="0", lock="0")])
    assert statuses(failing)["my.lockout"] == "fail"
    # a locked or socket-only account needs no lockout
    socket_only = mysql8([user("root", plugin="auth_socket", attempts="", lock=""),
                          user("old", attempts="", lock="", locked="1")])
    assert statuses(socket_only)["my.lockout"] == "pass"


def test_mysql8_password_check_by_component():
    assert statuses(mysql8([user("root")]))["my.password_check"] == "fail"
    with_component = mysql8([user("root")], components="file://component_validate_password\n")
    assert statuses(with_component)["my.password_check"] == "pass"


def test_mysql8_accounts():
    got = statuses(mysql8([user("root", "%"), user("", "localhost"), user("ops", super_priv="Y"),
                           user("svc", lifetime="0"), user("nopw", empty="1", plugin="mysql_native_password")]))
    for rule in ("my.remote_root", "my.anonymous", "my.admin_privileges", "my.lifetime_never",
                 "my.empty_password", "my.wildcard_host"):
        assert got[rule] == "fail", rule


def test_a_refused_query_is_an_error_naming_it():
    bundle = mysql8([user("root")])
    bundle.sections["sql:my_users_mysql"] = REFUSED
    platform, results = evaluate.evaluate(bundle, [MYSQL.rules["my.anonymous"]], MYSQL.baseline.parameters)
    assert results[0].status == "error"
    assert "query my_users_mysql: SELECT command denied" in results[0].evidence[0]


def pg_bundle(hba: str, hashes: Section | None = None) -> Bundle:
    sep = "\x1f"
    settings = [["password_encryption", "scram-sha-256", "", "default", "", "", "f"],
                ["shared_preload_libraries", "", "", "default", "", "", "f"]]
    return Bundle("pg", "", {
        "db:engine": Section(0, b"postgresql\n"),
        "sql:version": Section(0, b"PostgreSQL 15.18\n"),
        "sql:pg_settings": Section(0, "".join(sep.join(r) + "\n" for r in settings).encode()),
        "sql:pg_hba": Section(0, hba.replace("|", sep).encode()),
        "sql:pg_roles": Section(0, sep.join(["postgres", "t", "t", "t", "t", "t", "", ""]).encode() + b"\n"),
        "sql:pg_hashes": hashes or Section(0, sep.join(["postgres", "none"]).encode() + b"\n"),
    })


def pg_with_roles(*rows: tuple) -> Bundle:
    """pg_bundle with pg_roles rows (name, login, superuser, createrole, replication,
    bypassrls, valid until) as the pg_roles query prints them."""
    bundle = pg_bundle("90|local|all|postgres|||peer|\n")
    text = "".join("\x1f".join([r[0], *("t" if v else "f" for v in r[1:6]), r[6], ""]) + "\n" for r in rows)
    bundle.sections["sql:pg_roles"] = Section(0, text.encode())
    return bundle


POSTGRES = ("postgres", True, True, True, True, True, "")


def test_the_dr_replication_account_may_hold_replication_alone_and_needs_no_expiry():
    """`dr protect` creates mzops_replication LOGIN REPLICATION with a password kept in
    Vault: approved for REPLICATION (pg_replication_roles) and exempt from VALID UNTIL;
    with any other privilege, or another role with REPLICATION, still a finding."""
    ok = statuses(pg_with_roles(POSTGRES, ("mzops_replication", True, False, False, True, False, "")), PG)
    assert ok["pg.privileged_roles"] == "pass" and ok["pg.role_validity"] == "pass"
    more = statuses(pg_with_roles(POSTGRES, ("mzops_replication", True, False, True, True, False, "")), PG)
    assert more["pg.privileged_roles"] == "fail"
    other = statuses(pg_with_roles(POSTGRES, ("etl", True, False, False, True, False, "2027-01-01")), PG)
    assert other["pg.privileged_roles"] == "fail"


def test_pg_hba_a_line_the_server_cannot_use_is_an_error_not_a_pass():
    broken = "90|local|all|postgres|||peer|\n107|hostssl|all|all|10.0.0.0|255.0.0.0|scram-sha-256|hostssl record cannot match because SSL is disabled\n"
    got = statuses(pg_bundle(broken), PG)
    assert got["pg.hba_methods"] == "error" and got["pg.hba_ssl"] == "error"
    md5 = broken + "108|host|all|all|10.0.0.0|255.0.0.0|md5|\n"
    assert statuses(pg_bundle(md5), PG)["pg.hba_methods"] == "fail"


def test_pg_hashes_without_superuser_are_a_manual_check():
    refused = Section(1, b"ERROR:  permission denied for table pg_authid")
    got = statuses(pg_bundle("90|local|all|postgres|||peer|\n", refused), PG)
    assert got["pg.password_hashes"] == "manual"
    md5 = Section(0, "app\x1fmd5\n".encode())
    assert statuses(pg_bundle("90|local|all|postgres|||peer|\n", md5), PG)["pg.password_hashes"] == "fail"


def test_rollback_sql_puts_the_catalogue_back_exactly():
    from mzops.facts import Facts
    from mzops.harden.roles import ROLES

    sep = "\x1f"

    def roles(*rows):
        bundle = pg_bundle("")
        bundle.sections["sql:pg_roles"] = Section(0, "".join(sep.join(r) + "\n" for r in rows).encode())
        return Facts(bundle)

    before = roles(["ops1", "t", "f", "t", "f", "f", "", ""],
                   ["postgres", "t", "t", "t", "t", "t", "", "idle_session_timeout=0"])
    now = roles(["ops1", "t", "f", "f", "f", "f", "2027-02-26 00:00:00+00", ""],
                ["postgres", "t", "t", "t", "t", "t", "", "idle_session_timeout=600s"])
    rules = ROLES["postgresql"].table()
    got = engines.get("postgresql").undo_statements(["pg.privileged_roles", "pg.role_validity", "pg.admin_idle_timeout"],
                          rules, before, now)
    assert got == ['ALTER ROLE "ops1" CREATEROLE;',
                   "UPDATE pg_authid SET rolvaliduntil = NULL WHERE rolname = 'ops1';",
                   """ALTER ROLE "postgres" SET idle_session_timeout = '0';"""]
    # only what the applied rules own
    assert engines.get("postgresql").undo_statements(["pg.privileged_roles"], rules, before, now) == ['ALTER ROLE "ops1" CREATEROLE;']
    assert engines.get("postgresql").undo_statements(["pg.admin_idle_timeout"], rules, before, before) == []


def test_rollback_sql_for_mariadb_variables_and_locks():
    from mzops.facts import Facts
    from mzops.harden.roles import ROLES

    def maria(variables: dict[str, str], locked: str) -> Facts:
        user = "\t".join(["", "localhost", "mysql_native_password", "0", "", locked, "0", "N", "N", "N", "N", "N", "", ""])
        return Facts(Bundle("m", "", {
            "db:engine": Section(0, b"mysql\n"), "sql:version": Section(0, b"10.11.18-MariaDB\tDebian 12\n"),
            "sql:my_variables_mariadb": Section(0, "".join(f"{k}\t{v}\t\n" for k, v in variables.items()).encode()),
            "sql:my_users_mariadb": Section(0, (user + "\n").encode())}))

    before = maria({"max_password_errors": "4294967295", "server_audit_events": "", "local_infile": "ON"}, "0")
    now = maria({"max_password_errors": "5", "server_audit_events": "CONNECT", "local_infile": "OFF"}, "1")
    applied = ["my.lockout", "my.audit_events", "my.local_infile", "my.anonymous"]
    table = ROLES["mysql"].table()
    got = engines.get("mariadb").undo_statements(applied, table, before, now)
    assert got == ["SET GLOBAL max_password_errors = 4294967295;", "SET GLOBAL server_audit_events = '';",
                   "SET GLOBAL local_infile = ON;", "ALTER USER ''@'localhost' ACCOUNT UNLOCK;"]
    # a restart re-reads the restored files: only the account lock is SQL then
    assert engines.get("mariadb").undo_statements(applied, table, before, now, restarting=True) == [got[-1]]


# The backups' login (pg.backup_account). Rows as the queries print them: pg_hba_file_rules
# with its options last (map=NAME), pg_ident_file_mappings, pg_role_grants.
DEBIAN_HBA = ("1|local|all|postgres|||peer||\n2|local|all|all|||peer||\n"
              "3|local|replication|all|||peer||\n")
BACKUP_HBA = ("1|local|replication|mzops_backup|||peer||map=mzops_backup\n"
              "2|local|all|mzops_backup|||peer||map=mzops_backup\n") + DEBIAN_HBA.replace("1|", "4|", 1)
BACKUP_IDENT = "5|mzops_backup|root|mzops_backup|\n"
LEAST = ("mzops_backup", True, False, False, True, False, "")


def pg_backup(hba: str = BACKUP_HBA, role: tuple | None = LEAST, member_of: str = "pg_read_all_data,pg_read_all_settings",
              functions: str = "tt", createdb: str = "f", ident: str | Section = BACKUP_IDENT) -> Bundle:
    bundle = pg_with_roles(POSTGRES, *([role] if role else []))
    sep = "\x1f"
    bundle.sections["sql:pg_hba"] = Section(0, hba.replace("|", sep).encode())
    grants = [["postgres", "t", "", "t", "t"]] + ([[role[0], createdb, member_of, *functions]] if role else [])
    bundle.sections["sql:pg_role_grants"] = Section(0, "".join(sep.join(r) + "\n" for r in grants).encode())
    bundle.sections["sql:pg_ident"] = ident if isinstance(ident, Section) else Section(0, ident.replace("|", sep).encode())
    return bundle


def backup_account(bundle: Bundle):
    rule = PG.rules["pg.backup_account"]
    _, results = evaluate.evaluate(bundle, [rule], PG.baseline.parameters)
    return results[0]


def test_the_backup_login_passes_only_with_exactly_what_a_backup_needs():
    ok = backup_account(pg_backup())
    assert ok.status == "pass", (ok.actual, ok.evidence)
    assert "pg_hba.conf line 1: local replication mzops_backup peer map=mzops_backup (used for mzops_backup to " \
           "replication)" in ok.evidence and "pg_ident.conf line 5: mzops_backup root mzops_backup" in ok.evidence
    # the login exempt from expiry and approved for REPLICATION alone by the other role rules
    assert statuses(pg_backup(), PG)["pg.privileged_roles"] == "pass"
    assert statuses(pg_backup(), PG)["pg.role_validity"] == "pass"
    for bundle, said in (
            (pg_backup(role=None), "no role mzops_backup"),
            (pg_backup(role=("mzops_backup", True, True, False, True, False, "")), "more than a backup needs: SUPERUSER"),
            (pg_backup(createdb="t"), "more than a backup needs: CREATEDB"),
            (pg_backup(role=("mzops_backup", True, False, False, False, False, "")), "no REPLICATION"),
            (pg_backup(role=("mzops_backup", False, False, False, True, False, "")), "cannot log in"),
            (pg_backup(member_of="pg_read_all_data"), "not a member of pg_read_all_settings"),
            (pg_backup(member_of="pg_read_all_data,pg_read_all_settings,pg_write_all_data"),
             "also a member of pg_write_all_data"),
            (pg_backup(functions="tf"), "may not run pg_create_restore_point"),
            (pg_backup(ident="5|mzops_backup|backup|mzops_backup|\n"), "does not map root to mzops_backup"),
    ):
        got = backup_account(bundle)
        assert got.status == "fail" and said in got.actual, (said, got.actual)


def test_the_backup_login_follows_pg_hba_first_match():
    """The first line whose type, database and user match is used ("The pg_hba.conf
    File": "The first record with a matching connection type, client address, requested
    database, and user name is used"); `all` does not match replication connections."""
    # the lines after Debian's `local all all peer`: that line is used, peer without a map
    late = DEBIAN_HBA + BACKUP_HBA.replace("1|", "8|", 1).replace("2|", "9|", 1)
    got = backup_account(pg_backup(hba=late))
    assert got.status == "fail" and "line 2 (postgres) is peer without a map" in got.actual, got.actual
    # `all` in the database field does not reach replication: Debian's line 3 answers it
    only_all = "1|local|all|mzops_backup|||peer||map=mzops_backup\n" + DEBIAN_HBA.replace("1|", "4|", 1)
    got = backup_account(pg_backup(hba=only_all))
    assert got.status == "fail" and "(replication) is peer without a map" in got.actual, got.actual
    # a +group line matches its members; scram-sha-256 is not peer
    group = "1|local|all,replication|+pg_read_all_data|||scram-sha-256||\n" + BACKUP_HBA
    got = backup_account(pg_backup(hba=group))
    assert got.status == "fail" and "is scram-sha-256, not peer" in got.actual, got.actual
    # a line the server could not read is skipped, as the server skips it
    broken = "1|local|all|mzops_backup|||peer|invalid authentication method|map=x\n" + BACKUP_HBA.replace("1|", "7|", 1)
    assert backup_account(pg_backup(hba=broken)).status == "pass"


def test_the_backup_login_is_an_error_when_what_it_needs_is_not_known():
    # PostgreSQL before 15 has no pg_ident_file_mappings; the audit login may not read it
    refused = Section(1, b'ERROR:  relation "pg_ident_file_mappings" does not exist')
    got = backup_account(pg_backup(ident=refused))
    assert got.status == "error" and "query pg_ident" in got.evidence[0], got.evidence
    # pg_hba rows of an older collector (no options column): not read as "no map"
    old = "".join("|".join(line.split("|")[:8]) + "\n" for line in BACKUP_HBA.splitlines())
    got = backup_account(pg_backup(hba=old))
    assert got.status == "error" and "without their options" in got.actual


def test_rollback_sql_gives_the_backup_login_back_as_it_was():
    from mzops.facts import Facts
    from mzops.harden.roles import ROLES

    table = ROLES["postgresql"].table()
    engine = engines.get("postgresql")
    made = engine.undo_statements(["pg.backup_account"], table, Facts(pg_backup(role=None)), Facts(pg_backup()))
    assert made == ['REVOKE EXECUTE ON FUNCTION pg_switch_wal(), pg_create_restore_point(text) FROM "mzops_backup";',
                    'DROP ROLE "mzops_backup";']
    # an account that was there with too much: its CREATEDB, pg_write_all_data and missing grants back
    before = pg_backup(createdb="t", member_of="pg_read_all_data,pg_write_all_data", functions="ff")
    got = engine.undo_statements(["pg.backup_account"], table, Facts(before), Facts(pg_backup()))
    assert got == ['ALTER ROLE "mzops_backup" CREATEDB;', 'GRANT "pg_write_all_data" TO "mzops_backup";',
                   'REVOKE "pg_read_all_settings" FROM "mzops_backup";',
                   "REVOKE EXECUTE ON FUNCTION pg_switch_wal() FROM \"mzops_backup\";",
                   "REVOKE EXECUTE ON FUNCTION pg_create_restore_point(text) FROM \"mzops_backup\";"]
    assert engine.undo_statements(["pg.backup_account"], table, Facts(pg_backup()), Facts(pg_backup())) == []


def test_the_backup_login_the_rule_makes_is_the_one_the_backups_use():
    assert PG.baseline.parameters["pg_backup_account"] == engines.get("postgresql").backup_account
    assert engines.get("postgresql").backup_account in PG.baseline.parameters["pg_replication_roles"]
    assert engines.get("postgresql").backup_account in PG.baseline.parameters["pg_roles_without_expiry"]


# MariaDB's backups' login (my.backup_account): mysql.user rows as my_users_mariadb prints
# them, grants as information_schema's USER_, SCHEMA_ and TABLE_PRIVILEGES list them.
MARIA = catalogue.load("mlps3", "mysql")
BACKUP_GRANTS = ["RELOAD", "PROCESS", "LOCK TABLES", "BINLOG MONITOR", "SELECT"]


def maria_backup(grants: list[tuple[str, str]] | None = None, exists: bool = True, locked: str = "0",
                 process: str = "Y") -> Bundle:
    grants = [("*.*", g) for g in BACKUP_GRANTS] if grants is None else grants
    users = ["\t".join(["root", "localhost", "mysql_native_password,unix_socket", "0", "", "0", "0", "Y", "Y", "Y",
                        "Y", "Y", "", "", "", "0"])]
    if exists:
        users.append("\t".join(["mzops_backup", "localhost", "mysql_native_password", "0", "", locked, "0", "N", "N",
                                "N", "N", process, "", "", "1764658800", "0"]))
    rows = ["'root'@'localhost'\t*.*\tSUPER"] + [f"'mzops_backup'@'localhost'\t{scope}\t{what}" for scope, what in grants]
    return Bundle("m", "", {
        "db:engine": Section(0, b"mysql\n"), "sql:version": Section(0, b"10.11.18-MariaDB\tDebian 12\n"),
        "sql:my_variables_mariadb": Section(0, b"max_password_errors\t5\t\n"),
        "sql:my_users_mariadb": Section(0, ("\n".join(users) + "\n").encode()),
        "sql:my_grants": Section(0, ("\n".join(rows) + "\n").encode()),
    })


def maria_rule(bundle: Bundle, rule: str):
    _, results = evaluate.evaluate(bundle, [MARIA.rules[rule]], MARIA.baseline.parameters)
    return results[0]


def test_the_mariadb_backup_login_passes_only_with_exactly_what_mariabackup_needs():
    ok = maria_rule(maria_backup(), "my.backup_account")
    assert ok.status == "pass", (ok.actual, ok.evidence)
    # PROCESS alone is approved for it by the admin privileges rule; with more it is not
    assert maria_rule(maria_backup(), "my.admin_privileges").status == "pass"
    assert maria_rule(maria_backup(), "my.lockout").status == "pass"
    for bundle, said in (
            (maria_backup(exists=False), "no account mzops_backup@localhost"),
            (maria_backup(locked="1"), "it is locked"),
            (maria_backup(grants=[("*.*", g) for g in BACKUP_GRANTS if g != "PROCESS"]), "lacks PROCESS"),
            (maria_backup(grants=[("*.*", g) for g in BACKUP_GRANTS] + [("*.*", "SUPER")]),
             "more than a backup needs: SUPER ON *.*"),
            (maria_backup(grants=[("*.*", g) for g in BACKUP_GRANTS] + [("shop.*", "INSERT")]),
             "more than a backup needs: INSERT ON shop.*"),
            (maria_backup(grants=[("*.*", g) for g in BACKUP_GRANTS] + [("shop.t", "UPDATE")]),
             "more than a backup needs: UPDATE ON shop.t"),
    ):
        got = maria_rule(bundle, "my.backup_account")
        assert got.status == "fail" and said in got.actual, (said, got.actual)
    refused = maria_backup()
    refused.sections["sql:my_grants"] = Section(1, b"SELECT command denied to user 'mzops_audit'@'localhost'")
    assert maria_rule(refused, "my.backup_account").status == "error"


def test_rollback_sql_gives_the_mariadb_backup_login_back_as_it_was():
    from mzops.facts import Facts
    from mzops.harden.roles import ROLES

    table = ROLES["mysql"].table()
    engine = engines.get("mariadb")
    made = engine.undo_statements(["my.backup_account"], table, Facts(maria_backup(exists=False)),
                                  Facts(maria_backup()))
    assert made == ["DROP USER 'mzops_backup'@'localhost';"]
    before = maria_backup(grants=[("*.*", "SELECT"), ("*.*", "SUPER"), ("shop.*", "INSERT")])
    got = engine.undo_statements(["my.backup_account"], table, Facts(before), Facts(maria_backup()))
    assert got == ["GRANT INSERT ON `shop`.* TO 'mzops_backup'@'localhost';",
                   "GRANT SUPER ON *.* TO 'mzops_backup'@'localhost';",
                   "REVOKE BINLOG MONITOR ON *.* FROM 'mzops_backup'@'localhost';",
                   "REVOKE LOCK TABLES ON *.* FROM 'mzops_backup'@'localhost';",
                   "REVOKE PROCESS ON *.* FROM 'mzops_backup'@'localhost';",
                   "REVOKE RELOAD ON *.* FROM 'mzops_backup'@'localhost';"]


def test_the_mariadb_backup_login_the_rule_makes_is_the_one_the_backups_use():
    import yaml

    from mzops.engines import mariadb
    from mzops.paths import PLAYBOOKS
    assert MARIA.baseline.parameters["my_backup_account"] == f"{mariadb.BACKUP_ACCOUNT}@localhost"
    fixed = yaml.safe_load((PLAYBOOKS / "roles" / "mlps3_mysql" / "vars" / "main.yml").read_text())
    assert fixed["mzops_my_backup_options"] == mariadb.BACKUP_OPTIONS
    assert f"{mariadb.BACKUP_ACCOUNT}@localhost" in MARIA.baseline.parameters["my_service_accounts"]
