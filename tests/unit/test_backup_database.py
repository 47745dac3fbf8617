"""Database backups against a real PostgreSQL 15 on this machine (a cluster of the test's
own, on a Unix socket only: no TCP), through the same scripts a server host runs over
ssh (the engine's LocalTarget): pg_basebackup fulls, WAL archived by the archive_command
rule pg.wal_archive writes, collected with every run, point-in-time recovery into a
scratch copy that opens only at its target (PostgreSQL's "Continuous Archiving and
Point-in-Time Recovery (PITR)"; recovery_target_time, recovery_target_action)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

from localjob import database_job
from mzops.backup import database
from mzops.backup.catalogue import Run
from mzops.backup.engine import LocalTarget
from mzops.backup.tape.filedrive import Cartridge
from mzops.engines import get

BIN = Path("/usr/lib/postgresql/15/bin")
PORT = 55432


def as_postgres(*argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "postgres", "--", *argv], cwd="/", capture_output=True, text=True,
                          check=True, **kw)


def archive_command(directory: str) -> str:
    # what the pg.wal_archive rule writes (playbooks/roles/mlps3_postgresql/tasks/settings.yml)
    return (f'd={directory}; if [ -f "$d/%f" ]; then cmp -s "%p" "$d/%f"; else cp "%p" "$d/%f.part" '
            f'&& sync "$d/%f.part" && mv "$d/%f.part" "$d/%f"; fi')


class Server:
    def __init__(self, root: Path):
        self.root, self.data, self.wal = root, root / "data", root / "wal"

    def sql(self, text: str, host: str | None = None, port: int = PORT) -> str:
        return as_postgres(str(BIN / "psql"), "-XAtq", "-v", "ON_ERROR_STOP=1", "-h", host or str(self.root),
                           "-p", str(port), "-d", "postgres", "-c", text).stdout.strip()

    def set(self, line: str) -> None:
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(line + "\n")
        self.sql("SELECT pg_reload_conf()")
        time.sleep(0.3)


@pytest.fixture(scope="module")
def server():
    root = Path(tempfile.mkdtemp(prefix="mzops-pg-"))
    os.chmod(root, 0o755)
    shutil.chown(root, "postgres")
    srv = Server(root)
    srv.wal.mkdir()
    shutil.chown(srv.wal, "postgres")
    as_postgres(str(BIN / "initdb"), "-D", str(srv.data), "-A", "peer", "--no-sync")
    with open(srv.data / "postgresql.conf", "a") as conf:
        conf.write(f"port = {PORT}\nlisten_addresses = ''\nunix_socket_directories = '{root}'\n"
                   f"archive_mode = on\narchive_command = '{archive_command(str(srv.wal))}'\nfsync = off\n")
    as_postgres(str(BIN / "pg_ctl"), "-D", str(srv.data), "-l", str(root / "log"), "-w", "start")
    srv.sql("CREATE TABLE t (n int PRIMARY KEY, at timestamptz DEFAULT clock_timestamp())")
    os.environ["PGHOST"] = str(root)          # the scripts reach the server's socket as on a Debian host
    yield srv
    os.environ.pop("PGHOST", None)
    subprocess.run(["runuser", "-u", "postgres", "--", str(BIN / "pg_ctl"), "-D", str(srv.data), "-m", "immediate",
                    "stop"], cwd="/", capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def job(tmp_path):
    return database_job(tmp_path, "postgresql", PORT, "pg")


def back_up(job, run_id: str, **kw):
    policy, estate, catalogue = job
    return database.back_up(policy, "pg", estate, "db", catalogue, run_id, target=LocalTarget("h"), **kw)


def restore_to(job, at: str, into: Path):
    policy, estate, catalogue = job
    planned = database.plan(policy, catalogue, estate, "pg", "db", at)
    return database.restore(policy, catalogue, estate, planned, "h", str(into), target=LocalTarget("h"))


def stop_copy(directory: Path) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", str(BIN / "pg_ctl"), "-D", str(directory), "-m", "fast",
                    "stop"], cwd="/", capture_output=True)


def restore_dir(server) -> Path:
    out = server.root / f"restore-{time.monotonic_ns()}"
    return out


def test_a_restore_to_a_time_between_two_transactions_has_the_first_not_the_second(server, job):
    stop = threading.Event()
    written = []

    def writer():                      # continuous writes during the backup
        n = 1_000_000
        while not stop.is_set():
            server.sql(f"INSERT INTO t (n) VALUES ({n})")
            written.append(n)
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        first = back_up(job, "r1")
    finally:
        stop.set()
        thread.join()
    assert first.state == "changed", first.message
    assert "a full (no full yet)" in first.message
    server.sql("INSERT INTO t (n) VALUES (1)")
    between = server.sql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                         "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')")
    time.sleep(0.2)
    server.sql("INSERT INTO t (n) VALUES (2)")
    second = back_up(job, "r2")
    assert second.state == "changed", second.message
    assert "a full" not in second.message                 # logs only: the full is fresh
    into = restore_dir(server)
    try:
        opened = restore_to(job, between, into)
        assert opened["data_directory"] == str(into) and opened["socket"] == str(into)
        rows = server.sql("SELECT n FROM t WHERE n < 1000000 ORDER BY n", host=str(into), port=5432)
        assert rows == "1"                                 # the first transaction, not the second
        assert server.sql("SELECT pg_is_in_recovery()", host=str(into), port=5432) == "f"   # read-write
        during = int(server.sql("SELECT count(*) FROM t WHERE n >= 1000000", host=str(into), port=5432))
        assert during == len(written)                      # every row written during the backup came back
    finally:
        stop_copy(into)


def test_the_dry_run_names_the_full_the_wal_range_and_the_volumes(server, job):
    first = back_up(job, "r1")
    assert first.state == "changed", first.message
    at = dt.datetime.now(dt.timezone.utc).isoformat()
    second = back_up(job, "r2")
    assert second.state == "changed", second.message
    policy, estate, catalogue = job
    planned = database.plan(policy, catalogue, estate, "pg", "db", at).to_dict()
    assert planned["full"] == "r1/pg/db/full"
    assert [s["kind"] for s in planned["steps"]] == ["full", "log", "log"]
    assert planned["logs"]["from"] <= planned["logs"]["to"] and len(planned["logs"]["to"]) == 24
    assert {p["volume"] for s in planned["steps"] for p in s["parts"]} == {"P001"}


def test_a_wal_segment_missing_from_the_archive_is_named_and_the_next_run_takes_a_full(server, job):
    assert back_up(job, "r1").state == "changed"
    for n in range(3):                                        # three segments archived after the full
        server.sql(f"INSERT INTO t (n) VALUES ({100 + n})")
        server.sql("SELECT pg_switch_wal()")
    time.sleep(1)
    lost = sorted(p.name for p in server.wal.iterdir() if len(p.name) == 24)[1]
    (server.wal / lost).unlink()
    at = dt.datetime.now(dt.timezone.utc).isoformat()
    gap = back_up(job, "r2")
    assert gap.state == "failed" and lost in gap.message and "the next run takes a new full" in gap.message
    policy, estate, catalogue = job
    with pytest.raises(Exception, match=f"log {lost} is not on tape.*none attempted"):
        database.plan(policy, catalogue, estate, "pg", "db", at)
    from mzops.backup import report
    [row] = report.rows(policy, estate, catalogue, 26)
    assert row["status"].startswith(f"log {lost} missing from tape")
    again = back_up(job, "r3")
    assert again.state == "changed" and f"a full (the chain lacks log {lost})" in again.message


def test_archiving_off_or_failing_is_an_error_for_the_asset_and_nothing_is_written(server, job):
    policy, estate, catalogue = job
    server.set("archive_command = 'exit 1'")
    try:
        server.sql("INSERT INTO t (n) VALUES (500)")
        server.sql("SELECT pg_switch_wal()")
        time.sleep(1.5)                                         # the archiver tries, and fails
        failed = back_up(job, "r1")
        assert failed.state == "failed"
        assert "not the one rule pg.wal_archive writes" in failed.message and "the archive command fails" in failed.message
    finally:
        server.set(f"archive_command = '{archive_command(str(server.wal))}'")
    with catalogue.session() as session:
        assert session.query(Run).count() == 0


def test_a_backup_cut_short_leaves_no_catalogue_entry_and_the_wal_on_the_server(server, job, tmp_path):
    cart = tmp_path / "lib" / "media" / "P001"
    meta = Cartridge.read(cart)
    meta.fail_write_after = 30          # mid-full: the drive fails (no spool: the run cannot go on)
    meta.save(cart)
    before = {p.name for p in server.wal.iterdir()}
    cut = back_up(job, "r1")
    assert cut.state == "failed", cut.message
    policy, estate, catalogue = job
    with catalogue.session() as session:
        assert session.query(Run).count() == 0
    assert before <= {p.name for p in server.wal.iterdir()}


def test_the_server_down_is_an_error_naming_it(server, job, monkeypatch):
    monkeypatch.setenv("PGHOST", str(server.root / "nowhere"))
    down = back_up(job, "r1")
    assert down.state == "failed" and "the server did not answer" in down.message


def test_wal_gaps_follow_segment_numbering():
    """Segment names: timeline, then the segment number's high and low 32-bit halves
    (xlog_internal.h XLogFileName); with 16 MiB segments the low half counts 0..FF."""
    pg = get("postgresql")
    full = {"end_lsn": "0/FF000100", "timeline": "1", "segment_size": str(16 * 1024 ** 2)}
    have = ["0000000100000000000000FF", "000000010000000100000001"]
    assert pg.log_gaps(full, have, "000000010000000100000001") == ["000000010000000100000000"]
    assert pg.log_gaps(full, have + ["000000020000000100000000"], "000000010000000100000001") == []
    assert pg.log_gaps(full, [], "0000000100000000000000FF") == ["0000000100000000000000FF"]
    assert pg.full_positions("pg_basebackup: write-ahead log start point: 0/2000028 on timeline 1\n"
                             "pg_basebackup: write-ahead log end point: 0/2000100\n") == {
        "start_lsn": "0/2000028", "timeline": "1", "end_lsn": "0/2000100"}
    with pytest.raises(ValueError):
        pg.full_positions("pg_basebackup: error: connection to server failed")


def test_backup_problems_name_what_breaks_point_in_time_restore():
    pg = get("postgresql")
    good = {"archive_mode": "on", "archive_command": archive_command("/var/lib/mzops-wal/5432"),
            "wal_segment_size": "16777216", "data_directory": "/d", "in_recovery": "false", "failing": "false",
            "timeline": "1"}
    assert pg.backup_problems(good) == []
    assert pg.log_directory(good) == "/var/lib/mzops-wal/5432"
    assert "archive_mode is off" in pg.backup_problems({**good, "archive_mode": "off"})[0]
    assert "a standby" in pg.backup_problems({**good, "in_recovery": "true"})[0]
    assert "could not be archived" in pg.backup_problems({**good, "failing": "true", "last_failed_wal": "X"})[0]
    missing = dict(good)
    del missing["timeline"]
    assert pg.backup_problems(missing) == ["the server did not say timeline (pg_settings, pg_stat_archiver)"]


def drill(job, rng_seed: int = 1):
    import random
    from mzops.backup import drill as drilling
    policy, estate, catalogue = job
    return drilling.drill(policy, catalogue, estate, "pg", "db", random.Random(rng_seed), host="h",
                          target=LocalTarget("h"), scratch=Path(os.environ["PGHOST"]) / "drills")


def test_a_drill_restores_to_a_recorded_point_and_compares_every_table(server, job):
    server.sql("CREATE TABLE IF NOT EXISTS drilled (k int, v text)")
    server.sql("INSERT INTO drilled SELECT g, md5(g::text) FROM generate_series(1, 500) g")
    assert back_up(job, "r1").state == "changed"
    server.sql("INSERT INTO drilled VALUES (501, 'after')")           # after the recorded point: not in the copy
    result = drill(job)
    assert result.passed, result.problems
    assert "tables of postgres (rows and checksums)" in result.checked and result.first_byte_seconds > 0
    assert not list((server.root / "drills").iterdir()) and result.host == "h"      # the copy is gone
    policy, estate, catalogue = job
    from mzops.backup import report
    from mzops.backup.drill import last_drills
    assert last_drills(catalogue)[("pg", "db")].passed
    [row] = report.rows(policy, estate, catalogue, 26)
    assert row["drill"]["passed"] and row["drill"]["seconds"] >= row["drill"]["first_byte_seconds"]


def test_a_drill_fails_loudly_on_a_corrupted_tape_part(server, job, tmp_path):
    assert back_up(job, "r1").state == "changed"
    data = tmp_path / "lib" / "media" / "P001" / "file-1.dat"         # the full's first part
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    result = drill(job)
    assert not result.passed and "does not match its checksum" in result.problems[0]
    policy, estate, catalogue = job
    from mzops.backup import report
    [row] = report.rows(policy, estate, catalogue, 26)
    assert row["status"].startswith("the last restore drill failed")


def test_a_drill_without_recorded_checksums_fails(server, job, monkeypatch):
    from mzops.engines import postgresql
    monkeypatch.setattr(postgresql.PostgreSQL, "table_sums", b"exit 7\n")    # the server could not sum its tables
    outcome = back_up(job, "r1")
    assert outcome.state == "changed" and "no table checksums for drills" in outcome.message
    monkeypatch.undo()
    result = drill(job)
    assert not result.passed and "recorded table checksums" in result.problems[0]


def test_a_copy_that_differs_from_the_recorded_checksums_fails_the_drill(server, job):
    import json
    server.sql("CREATE TABLE IF NOT EXISTS drilled (k int, v text)")
    assert back_up(job, "r1").state == "changed"
    policy, estate, catalogue = job
    with catalogue.session() as session, session.begin():      # as if the backup had recorded other rows
        run = session.get(Run, "r1/pg/db/log")
        facts = json.loads(run.facts)
        facts["sums"]["postgres"]["tables"]["public.drilled"][1] = "12345"
        run.facts = json.dumps(facts)
    result = drill(job)
    assert not result.passed
    assert result.problems == ["postgres.public.drilled: " + result.problems[0].split(": ", 1)[1]]
    assert "checksum differs" in result.problems[0]


def test_a_restore_to_a_quiet_moment_replays_all_the_wal_up_to_the_collection(server, job):
    """No transaction ends between TIME and the collection: recovery_target_time has no
    commit to stop at (PostgreSQL stops at commits and aborts only) and ends before it;
    the WAL up to the collection is then the state at TIME."""
    assert back_up(job, "r1").state == "changed"
    server.sql("INSERT INTO t (n) VALUES (3)")
    quiet = dt.datetime.now(dt.timezone.utc).isoformat()
    time.sleep(0.2)
    assert back_up(job, "r2").state == "changed"
    into = restore_dir(server)
    try:
        restore_to(job, quiet, into)
        assert server.sql("SELECT count(*) FROM t WHERE n = 3", host=str(into), port=5432) == "1"
    finally:
        stop_copy(into)


# ----------------------------------------------------------------- read on a standby

STANDBY_PORT = PORT + 1


@pytest.fixture(scope="module")
def standby(server):
    """A streaming standby of the test's server (pg_basebackup -R), on the same socket
    folder: the DR standby a backup reads instead of the primary."""
    data = server.root / "standby"
    as_postgres(str(BIN / "pg_basebackup"), "-h", str(server.root), "-p", str(PORT), "-D", str(data), "-R",
                "-X", "stream", "-c", "fast")
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(f"port = {STANDBY_PORT}\nhot_standby = on\n")
    as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-l", str(server.root / "standby.log"), "-w", "start")
    for _ in range(100):
        if server.sql("SELECT status FROM pg_stat_wal_receiver", port=STANDBY_PORT) == "streaming":
            break
        time.sleep(0.1)
    yield data
    subprocess.run(["runuser", "-u", "postgres", "--", str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate",
                    "stop"], cwd="/", capture_output=True)


def test_a_full_and_the_checksums_read_on_a_current_standby_restore_and_drill_as_the_primarys(server, standby, job,
                                                                                              monkeypatch):
    """pg_basebackup and the drills' checksums on the standby, with writes going on at the
    primary; the WAL from the primary's archive. The checksums' position is the standby's
    replay position, exact only if nothing was replayed between reading it and the
    snapshot (the script reads again until so): a drill replaying a copy to it must find
    every table as recorded."""
    from types import SimpleNamespace
    reader = SimpleNamespace(target=LocalTarget("h"), port=str(STANDBY_PORT), name="db-dr")
    monkeypatch.setattr(database, "standby_to_read", lambda *args: (reader, ""))   # the DR plan's lookup: lab
    server.sql("CREATE TABLE IF NOT EXISTS drilled (k int, v text)")
    stop, written = threading.Event(), []

    def writer():
        n = 3_000_000
        while not stop.is_set():
            server.sql(f"INSERT INTO drilled VALUES ({n}, md5('{n}'))")
            written.append((n, dt.datetime.now(dt.timezone.utc)))      # acknowledged by then
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        outcome = back_up(job, "s1", requested="full")
    finally:
        stop.set()
        thread.join()
    assert outcome.state == "changed", outcome.message
    assert "a full (--level full) on db-dr, then" in outcome.message and "read on the primary" not in outcome.message
    policy, estate, catalogue = job
    full = database.facts_of(catalogue.chain("pg", "db")[0])
    assert full["taken_on"] == "db-dr"
    assert written, "the writer wrote during the backup"
    result = drill(job)
    assert result.passed, result.problems
    into = restore_dir(server)
    upto = database.facts_of(catalogue.chain("pg", "db")[-1])["upto_time"]
    before = {n for n, at in written if at < dt.datetime.fromisoformat(upto)}
    try:         # the collection's moment: every row the primary acknowledged before it
        restore_to(job, upto, into)
        held = server.sql("SELECT k FROM drilled WHERE k >= 3000000", host=str(into), port=5432).split()
        assert before and before <= {int(k) for k in held}
    finally:
        stop_copy(into)


def test_a_standby_that_is_not_current_leaves_the_reading_to_the_primary_and_says_why(server, job, monkeypatch):
    monkeypatch.setattr(database, "standby_to_read",
                        lambda *args: (None, "db-dr is 8192 bytes of WAL behind db after 60 s"))
    outcome = back_up(job, "s2", requested="full")
    assert outcome.state == "changed", outcome.message
    assert "read on the primary: db-dr is 8192 bytes of WAL behind db" in outcome.message
    policy, estate, catalogue = job
    assert database.facts_of(catalogue.chain("pg", "db")[0])["taken_on"] == "db"


# ----------------------------------------------------------------- restore in place

IN_PLACE_PORT = PORT + 2


@pytest.fixture
def own_server(server, tmp_path):
    """A cluster of this test's own (its socket beside the module's server), archiving
    like a production server: the one a restore in place goes over."""
    data, wal = server.root / f"inplace-{time.monotonic_ns()}", server.root / f"inplace-wal-{time.monotonic_ns()}"
    wal.mkdir()
    shutil.chown(wal, "postgres")
    as_postgres(str(BIN / "initdb"), "-D", str(data), "-A", "peer", "--no-sync")
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(f"port = {IN_PLACE_PORT}\nlisten_addresses = ''\nunix_socket_directories = '{server.root}'\n"
                   f"archive_mode = on\narchive_command = '{archive_command(str(wal))}'\nfsync = off\n")
    as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-l", str(data) + ".log", "-w", "start")
    server.sql("CREATE TABLE t (n int PRIMARY KEY)", port=IN_PLACE_PORT)
    yield data
    subprocess.run(["runuser", "-u", "postgres", "--", str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate",
                    "stop"], cwd="/", capture_output=True)


def test_a_restore_in_place_goes_over_the_stopped_server_only_and_keeps_its_data_aside(server, own_server, tmp_path):
    data = own_server
    policy, estate, catalogue = job = database_job(tmp_path, "postgresql", IN_PLACE_PORT, "pg")
    sql = lambda text: server.sql(text, port=IN_PLACE_PORT)             # noqa: E731
    assert back_up(job, "r1").state == "changed"
    sql("INSERT INTO t VALUES (1)")
    between = sql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')")
    sql("SELECT pg_sleep(0.3)")
    sql("INSERT INTO t VALUES (2)")
    assert back_up(job, "r2").state == "changed"
    planned = database.plan(policy, catalogue, estate, "pg", "db", between)

    with pytest.raises(database.OperationFailed, match="runs: stop it first"):
        database.restore_in_place(policy, catalogue, estate, planned, False, target=LocalTarget("h"))
    as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    preview = database.restore_in_place(policy, catalogue, estate, planned, False, target=LocalTarget("h"))
    assert preview["data_directory"] == str(data) and not preview["applied"]
    assert (data / "PG_VERSION").is_file() and not Path(preview["kept"]).exists(), "a preview changes nothing"

    done = database.restore_in_place(policy, catalogue, estate, planned, True, target=LocalTarget("h"))
    assert done["applied"] and Path(done["kept"], "PG_VERSION").is_file(), "the way back is kept"
    assert sql("SELECT string_agg(n::text, ',') FROM t") == "1", "restored to the moment between the two"
    assert sql("SELECT pg_is_in_recovery()") == "f"
    sql("INSERT INTO t VALUES (3)")                                       # read-write, the server itself
    settings = (data / "postgresql.auto.conf").read_text()
    assert "restore_command" not in settings and "recovery_target" not in settings, settings
    assert not (data / "mzops-wal").exists()


def test_a_restore_in_place_that_fails_puts_the_servers_data_back(server, own_server, tmp_path):
    data = own_server
    policy, estate, catalogue = job = database_job(tmp_path, "postgresql", IN_PLACE_PORT, "pg")
    assert back_up(job, "r1").state == "changed"
    at = database.facts_of(catalogue.chain("pg", "db")[-1])["upto_time"]
    planned = database.plan(policy, catalogue, estate, "pg", "db", at)
    part = tmp_path / "lib" / "media" / "P001" / "file-1.dat"            # the full's first part
    raw = bytearray(part.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    part.write_bytes(bytes(raw))
    as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    before = sorted(p.name for p in data.iterdir())
    with pytest.raises(database.OperationFailed, match="its data before the restore is back in place"):
        database.restore_in_place(policy, catalogue, estate, planned, True, target=LocalTarget("h"))
    assert sorted(p.name for p in data.iterdir()) == before
    assert not list(data.parent.glob(data.name + ".mzops-before-restore-*"))
    as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-l", str(data) + ".log", "-w", "start")
    assert server.sql("SELECT count(*) FROM t", port=IN_PLACE_PORT) == "0"


# ----------------------------------------------------------------- the backups' login

def test_backups_read_as_their_own_login_once_it_is_set_up_and_say_so_when_not(server, job):
    """Without the login (rule pg.backup_account not applied) the superuser reads and the
    outcome names it; with the role, its pg_hba lines first and root mapped to it in
    pg_ident.conf as the rule leaves them, every step logs in as mzops_backup (the
    server's own connection log says so) and the night's backup restores as before."""
    server.set("log_connections = on")
    without = back_up(job, "acct1", requested="full")
    assert without.state == "changed", without.message
    # peer authentication is tried first: root is not mzops_backup without the map
    assert ("read as postgres, not mzops_backup (full, checksums, logs): FATAL:  Peer authentication failed for "
            'user "mzops_backup" (rule pg.backup_account') in without.message, without.message
    assert set(without.record["logins"].values()) == {"postgres"}
    # what the rule makes (playbooks/roles/mlps3_postgresql/tasks/roles.yml), by hand here
    server.sql("CREATE ROLE mzops_backup LOGIN REPLICATION; GRANT pg_read_all_data, pg_read_all_settings TO "
               "mzops_backup; GRANT EXECUTE ON FUNCTION pg_switch_wal(), pg_create_restore_point(text) TO mzops_backup")
    hba = server.data / "pg_hba.conf"
    hba.write_text("local replication mzops_backup peer map=mzops_backup\n"
                   "local all mzops_backup peer map=mzops_backup\n" + hba.read_text())
    with open(server.data / "pg_ident.conf", "a") as ident:
        ident.write("mzops_backup root mzops_backup\n")
    server.sql("SELECT pg_reload_conf()")
    time.sleep(0.3)
    server.sql("INSERT INTO t (n) VALUES (7000001)")
    log_start = (server.root / "log").stat().st_size
    own = back_up(job, "acct2", requested="full")
    assert own.state == "changed", own.message
    assert "not mzops_backup" not in own.message, own.message
    assert own.record["logins"] == {"full": "mzops_backup", "checksums": "mzops_backup", "logs": "mzops_backup"}
    policy, estate, catalogue = job
    assert database.facts_of(catalogue.chain("pg", "db")[0])["account"] == "mzops_backup"
    log = (server.root / "log").read_bytes()[log_start:].decode(errors="replace")
    assert "replication connection authorized: user=mzops_backup" in log
    assert "connection authorized: user=mzops_backup database=postgres" in log
    assert "user=postgres" not in log, "a step still logged in as the superuser"
    # it can read what a backup reads and write nothing
    refused = subprocess.run(["psql", "-XAtq", "-U", "mzops_backup", "-h", str(server.root), "-p", str(PORT),
                              "-d", "postgres", "-c", "INSERT INTO t (n) VALUES (7000002)"], capture_output=True,
                             text=True, cwd="/")
    assert refused.returncode != 0 and "permission denied for table t" in refused.stderr
    result = drill(job)
    assert result.passed, result.problems
