"""Database backups across the lab network: labdb1's PostgreSQL 15 gets WAL archiving by
the hardening machinery (rule pg.wal_archive: preview, apply with --restart), labbk1 backs
it up over SSH (a pg_basebackup full and the archived WAL, to tape through its spool),
with writes going on, and restores it to a moment between two transactions into a
scratch copy on labdb2, the DR site's database host, which opens read-write only there;
then a restore drill of it on labdb2, recorded in the report."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import MZOPS, REPO, run_mzops

pytestmark = pytest.mark.lab

SOURCE, COPY_HOST, ASSET = "labdb1", "labdb2", "labdb1-pg"


def sql(home, host: str, text: str, socket: str | None = None) -> str:
    argv = ["runuser", "-u", "postgres", "--", "psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", "postgres",
            *(["-h", socket, "-p", "5432"] if socket else []), "-c", text]
    proc = run_mzops("lab", "exec", host, "--", "sh", "-c", "cd / && exec " + " ".join(
        "'" + a.replace("'", "'\\''") + "'" for a in argv), home=home)
    assert proc.returncode == 0, proc.stderr[-800:]
    return proc.stdout.strip()


def server(home, *args: str):
    return run_mzops("lab", "server", "--", *args, home=home)


OWN_LOGIN = {"full": "mzops_backup", "checksums": "mzops_backup", "logs": "mzops_backup"}


def wal_archived(inv, home) -> None:
    """Rules pg.wal_archive (a restart) and pg.backup_account (the backups' own login)
    applied to labdb1's server by the hardening machinery."""
    applied = run_mzops("-i", inv, "harden", "run", "--limit", ASSET, "--rules", "pg.wal_archive,pg.backup_account",
                        "--apply", "--restart", "--json", home=home)
    assert applied.returncode == 0, applied.stdout[-2000:] + applied.stderr[-2000:]


def moment_between(home, first: str, second: str) -> str:
    """FIRST run on labdb1, then the time (UTC, ISO 8601), then SECOND 0.3 s later."""
    sql(home, SOURCE, first)
    at = sql(home, SOURCE, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                           "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')")
    sql(home, SOURCE, "SELECT pg_sleep(0.3)")
    sql(home, SOURCE, second)
    return at


@pytest.fixture
def archiving(lab, lab_session):
    home = lab_session.home
    assert lab_session.run("lab", "reset", SOURCE, COPY_HOST).returncode == 0
    yield home
    lab_session.run("lab", "reset", SOURCE, COPY_HOST)


def test_wal_archiving_by_hardening_then_backup_and_point_in_time_restore_on_the_dr_host(lab, archiving, tmp_path):
    home, inv = archiving, lab["inventory"]
    # not archiving yet: the backup is an error for the asset, named
    refused = server(home, "backup", "run", "lab-pg", "--json")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "archive_mode is off" in json.loads(refused.stdout)["outcomes"][0]["message"]
    # the hardening machinery sets archiving up: a preview names the restart, the apply does it
    preview = run_mzops("-i", inv, "harden", "run", "--limit", ASSET, "--rules", "pg.wal_archive", "--restart",
                        home=tmp_path)
    assert preview.returncode == 0 and "RESTART" in preview.stdout, preview.stdout + preview.stderr
    assert sql(home, SOURCE, "SHOW archive_mode") == "off"
    wal_archived(inv, tmp_path)
    assert sql(home, SOURCE, "SHOW archive_mode") == "on"
    sql(home, SOURCE, "CREATE TABLE t (n int PRIMARY KEY)")
    # a full and the WAL, with writes going on on labdb1 meanwhile
    writer = subprocess.Popen([*MZOPS, "lab", "exec", SOURCE, "--", "sh", "-c",
                               "cd / && for i in $(seq 1000 1400); do runuser -u postgres -- psql -XAtq -d postgres "
                               "-c \"INSERT INTO t VALUES ($i)\" >/dev/null; done"],
                              cwd=REPO, env={**__import__("os").environ, "MZOPS_HOME": str(home)})
    first = server(home, "backup", "run", "lab-pg", "--json")
    writer.wait(timeout=300)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "a full (no full yet)" in json.loads(first.stdout)["outcomes"][0]["message"]
    # over SSH as root, every step logged in as the backups' login (peer, mapped by pg_ident)
    assert json.loads(first.stdout)["outcomes"][0]["logins"] == OWN_LOGIN, first.stdout
    between = moment_between(home, "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)")
    second = server(home, "backup", "run", "lab-pg", "--json")
    assert second.returncode == 0, second.stdout + second.stderr
    # the dry run names the full, the WAL range and the volumes; nothing is written
    dry = server(home, "backup", "restore", "--asset", ASSET, "--at", between, "--to", COPY_HOST, "--dry-run",
                 "--json")
    assert dry.returncode == 0, dry.stderr
    planned = json.loads(dry.stdout)
    assert [s["kind"] for s in planned["steps"]] == ["full", "log", "log"]
    assert all(p["where"] for s in planned["steps"] for p in s["parts"])
    # the restore, on the DR site's database host, beside its own running server
    restored = server(home, "backup", "restore", "--asset", ASSET, "--at", between, "--to", COPY_HOST, "--json")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    where = json.loads(restored.stdout)
    assert where["host"] == COPY_HOST and where["data_directory"].startswith("/var/lib/mzops/restore/")
    socket = where["socket"]
    assert sql(home, COPY_HOST, "SELECT string_agg(n::text, ',') FROM t WHERE n < 1000", socket) == "1"
    assert sql(home, COPY_HOST, "SELECT count(*) FROM t WHERE n >= 1000", socket) == "401"
    assert sql(home, COPY_HOST, "SELECT pg_is_in_recovery()", socket) == "f"
    assert sql(home, COPY_HOST, "SELECT count(*) FROM pg_class") != ""          # its own server still runs
    # the same restore again is refused: the folder is not empty, nothing is overwritten
    again = server(home, "backup", "restore", "--asset", ASSET, "--at", between, "--to",
                   f"{COPY_HOST}:{where['data_directory']}")
    assert again.returncode != 0 and "is not empty" in again.stderr
    # a drill: a recorded point replayed on labdb2, pg_amcheck and every table compared, the copy removed
    drilled = server(home, "backup", "drill", "--asset", ASSET, "--to", COPY_HOST, "--json")
    assert drilled.returncode == 0, drilled.stdout + drilled.stderr
    [result] = json.loads(drilled.stdout)["drills"]
    assert result["passed"] and result["host"] == COPY_HOST and "tables of postgres" in result["checked"]
    left = run_mzops("lab", "exec", COPY_HOST, "--", "sh", "-c", "ls /var/lib/mzops/restore", home=home)
    assert not [n for n in left.stdout.split() if n.startswith("drill-")]
    report = json.loads(server(home, "backup", "report", "-f", "json").stdout)
    [row] = [r for r in report["assets"] if r["asset"] == ASSET]
    assert row["drill"]["passed"] and row["drill"]["first_byte_seconds"] <= row["drill"]["seconds"]


DR_ENV = {"MZOPS_LAB_DR_PASSWORD": "lab:dr\\pass word"}


def test_the_full_and_checksums_are_read_on_the_dr_standby_while_it_is_current(lab, archiving, tmp_path):
    """labdb1 paired with labdb2 by `dr protect` (the lab's DR plan lab-pg): the night's
    full and the drills' checksums are read on labdb2, the WAL from labdb1's archive; a
    standby whose replay is paused is not current, and the primary is read instead, said
    in the outcome; the standby's full restores and drills on labdb2 like a primary's."""
    home, inv = archiving, lab["inventory"]
    wal_archived(inv, tmp_path)
    paired = run_mzops("-i", inv, "dr", "protect", "lab-pg", "--apply", "--restart", home=home, env=DR_ENV)
    assert paired.returncode == 0, paired.stdout[-2000:] + paired.stderr[-2000:]
    sql(home, SOURCE, "CREATE TABLE t (n int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, 1000)")
    first = server(home, "backup", "run", "lab-pg", "--level", "full", "--json")   # the catalogue is the module's
    assert first.returncode == 0, first.stdout + first.stderr
    message = json.loads(first.stdout)["outcomes"][0]["message"]
    assert "a full (--level full) on labdb2-pg, then" in message and "read on the primary" not in message, message

    sql(home, COPY_HOST, "SELECT pg_wal_replay_pause()")
    try:
        second = server(home, "backup", "run", "lab-pg", "--level", "full", "--json")
    finally:
        sql(home, COPY_HOST, "SELECT pg_wal_replay_resume()")
    assert second.returncode == 0, second.stdout + second.stderr
    message = json.loads(second.stdout)["outcomes"][0]["message"]
    assert "read on the primary: labdb2-pg: replay is paused" in message, message
    assert " on labdb2-pg, then" not in message

    third = server(home, "backup", "run", "lab-pg", "--level", "full", "--json")
    assert third.returncode == 0 and " on labdb2-pg, then" in third.stdout, third.stdout + third.stderr
    between = moment_between(home, "INSERT INTO t SELECT generate_series(1001, 1500)",
                             "INSERT INTO t VALUES (-1)")
    fourth = server(home, "backup", "run", "lab-pg", "--json")
    assert fourth.returncode == 0, fourth.stdout + fourth.stderr
    # the standby's full and the primary's WAL, restored on labdb2 to a moment between two transactions
    restored = server(home, "backup", "restore", "--asset", ASSET, "--at", between, "--to", COPY_HOST, "--json")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    socket = json.loads(restored.stdout)["socket"]
    assert sql(home, COPY_HOST, "SELECT count(*), min(n), max(n) FROM t", socket) == "1500|1|1500"
    drilled = server(home, "backup", "drill", "--asset", ASSET, "--to", COPY_HOST, "--json")
    assert drilled.returncode == 0, drilled.stdout + drilled.stderr
    assert all(d["passed"] for d in json.loads(drilled.stdout)["drills"])


def test_a_restore_in_place_over_the_stopped_server_with_its_own_configuration(lab, archiving, tmp_path):
    """Debian's cluster layout (configuration in /etc/postgresql, pg_ctlcluster): refused
    while the server runs, previewed, then applied over labdb1's own data directory, kept
    aside; the server opens at the moment asked with its own settings (archiving on)."""
    home, inv = archiving, lab["inventory"]
    wal_archived(inv, tmp_path)
    sql(home, SOURCE, "CREATE TABLE t (n int PRIMARY KEY)")
    assert server(home, "backup", "run", "lab-pg", "--level", "full").returncode == 0
    between = moment_between(home, "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)")
    assert server(home, "backup", "run", "lab-pg").returncode == 0
    running = server(home, "backup", "restore", "--asset", ASSET, "--at", between, "--in-place", "--apply")
    assert running.returncode == 1 and "stop it first" in running.stderr, running.stdout + running.stderr
    assert sql(home, SOURCE, "SELECT count(*) FROM t") == "2", "a refused restore changes nothing"
    stop = run_mzops("lab", "exec", SOURCE, "--", "pg_ctlcluster", "15", "main", "stop", home=home)
    assert stop.returncode == 0, stop.stderr
    preview = server(home, "backup", "restore", "--asset", ASSET, "--at", between, "--in-place")
    assert preview.returncode == 0 and "preview only" in preview.stdout, preview.stdout + preview.stderr
    done = server(home, "backup", "restore", "--asset", ASSET, "--at", between, "--in-place", "--apply", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["data_directory"] == "/var/lib/postgresql/15/main" and result["applied"]
    assert sql(home, SOURCE, "SELECT string_agg(n::text, ',') FROM t") == "1"
    assert sql(home, SOURCE, "SELECT pg_is_in_recovery()") == "f"
    assert sql(home, SOURCE, "SHOW archive_mode") == "on", "the server's own configuration"
    leftover = run_mzops("lab", "exec", SOURCE, "--", "grep", "-E", "restore_command|recovery_target|hot_standby",
                         "/var/lib/postgresql/15/main/postgresql.auto.conf", home=home)
    assert leftover.returncode == 1, "the restore's settings are reset: " + leftover.stdout
    kept = run_mzops("lab", "exec", SOURCE, "--", "test", "-f", result["kept"] + "/PG_VERSION", home=home)
    assert kept.returncode == 0, "the data before the restore is kept"
    sql(home, SOURCE, "INSERT INTO t VALUES (3)")


MY_ASSET = "labdb1-mariadb"


def my_sql(home, host: str, text: str, socket: str | None = None) -> str:
    argv = ["mariadb", *(["-S", socket] if socket else []), "-NBe", text]
    proc = run_mzops("lab", "exec", host, "--", *argv, home=home)
    assert proc.returncode == 0, proc.stderr[-800:]
    return proc.stdout.strip()


def test_mariadb_binary_log_by_hardening_then_full_incremental_and_restore_on_the_dr_host(lab, archiving, tmp_path):
    home, inv = archiving, lab["inventory"]
    refused = server(home, "backup", "run", "lab-mariadb", "--json")
    assert refused.returncode == 1 and "binary logging is off" in json.loads(refused.stdout)["outcomes"][0]["message"]
    applied = run_mzops("-i", inv, "harden", "run", "--limit", MY_ASSET, "--rules", "my.binlog,my.backup_account",
                        "--apply", "--restart", "--json", home=tmp_path)
    assert applied.returncode == 0, applied.stdout[-2000:] + applied.stderr[-2000:]
    assert my_sql(home, SOURCE, "SELECT @@log_bin") == "1"
    my_sql(home, SOURCE, "CREATE DATABASE shop; CREATE TABLE shop.t (n int PRIMARY KEY) ENGINE=InnoDB; "
                         "INSERT INTO shop.t VALUES (10)")
    first = server(home, "backup", "run", "lab-mariadb", "--json")
    assert first.returncode == 0 and "a full" in json.loads(first.stdout)["outcomes"][0]["message"], first.stdout
    # mariabackup and the binary log flush logged in with the option file the rule wrote
    assert json.loads(first.stdout)["outcomes"][0]["logins"] == OWN_LOGIN, first.stdout
    my_sql(home, SOURCE, "INSERT INTO shop.t VALUES (11)")
    second = server(home, "backup", "run", "lab-mariadb", "--json")
    assert second.returncode == 0 and "an incremental" in json.loads(second.stdout)["outcomes"][0]["message"]
    my_sql(home, SOURCE, "INSERT INTO shop.t VALUES (1)")
    my_sql(home, SOURCE, "DO SLEEP(1.2)")
    between = my_sql(home, SOURCE, "SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%f+00:00')")
    my_sql(home, SOURCE, "DO SLEEP(1.2)")
    my_sql(home, SOURCE, "INSERT INTO shop.t VALUES (2)")
    assert server(home, "backup", "run", "lab-mariadb").returncode == 0
    restored = server(home, "backup", "restore", "--asset", MY_ASSET, "--at", between, "--to", COPY_HOST, "--json")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    where = json.loads(restored.stdout)
    assert [s["kind"] for s in where["plan"]["steps"]][:2] == ["full", "incremental"]
    assert my_sql(home, COPY_HOST, "SELECT GROUP_CONCAT(n ORDER BY n) FROM shop.t", where["socket"]) == "1,10,11"
    drilled = server(home, "backup", "drill", "--asset", MY_ASSET, "--json")      # onto the job's drill_host
    assert drilled.returncode == 0, drilled.stdout + drilled.stderr
    [result] = json.loads(drilled.stdout)["drills"]
    assert result["passed"] and result["host"] == COPY_HOST and "tables of mariadb" in result["checked"]
    # in place over labdb1's own server (Debian's init script): refused while it runs,
    # then over its stopped data, kept aside; the server itself starts at the moment asked
    running = server(home, "backup", "restore", "--asset", MY_ASSET, "--at", between, "--in-place", "--apply")
    assert running.returncode == 1 and "stop it first" in running.stderr, running.stdout + running.stderr
    stop = run_mzops("lab", "exec", SOURCE, "--", "/etc/init.d/mariadb", "stop", home=home)
    assert stop.returncode == 0, stop.stderr
    preview = server(home, "backup", "restore", "--asset", MY_ASSET, "--at", between, "--in-place")
    assert preview.returncode == 0 and "preview only" in preview.stdout, preview.stdout + preview.stderr
    done = server(home, "backup", "restore", "--asset", MY_ASSET, "--at", between, "--in-place", "--apply", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["data_directory"] == "/var/lib/mysql" and result["applied"]
    assert my_sql(home, SOURCE, "SELECT GROUP_CONCAT(n ORDER BY n) FROM shop.t") == "1,10,11"
    assert my_sql(home, SOURCE, "SELECT @@log_bin") == "1", "the server's own configuration"
    kept = run_mzops("lab", "exec", SOURCE, "--", "test", "-d", result["kept"] + "/shop", home=home)
    assert kept.returncode == 0, "the data before the restore is kept"
    left = run_mzops("lab", "exec", SOURCE, "--", "test", "-e", "/var/lib/mysql.mzops-restoring", home=home)
    assert left.returncode == 1, "the restore's staging is removed"
    my_sql(home, SOURCE, "INSERT INTO shop.t VALUES (3)")                 # read-write, the server itself
