"""MariaDB backups against a real MariaDB 10.11 on this machine (a server of the test's
own, on a Unix socket only: --skip-networking), through the scripts a server host runs
over ssh (the engine's LocalTarget): mariabackup fulls and incrementals from the
catalogued log sequence number (--incremental-lsn: no earlier backup on disk), the
server's binary logs collected with every run, and a restore that prepares the full,
applies the incrementals in order and replays the binary logs with mysqlbinlog up to a
time (--stop-datetime, in seconds: binary log events keep seconds) or a position
(MariaDB's "Incremental Backup and Restore with mariadb-backup" and mysqlbinlog's
documentation)."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from localjob import database_job
from mzops.backup import database
from mzops.backup import drill as drilling
from mzops.backup.catalogue import Run
from mzops.backup.engine import LocalTarget
from mzops.engines import get


class Server:
    def __init__(self, root: Path):
        self.root, self.data, self.socket = root, root / "data", root / "mysqld.sock"

    def sql(self, text: str, socket: Path | str | None = None) -> str:
        return subprocess.run(["mariadb", "-S", str(socket or self.socket), "-NBe", text], capture_output=True,
                              text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def server():
    root = Path(tempfile.mkdtemp(prefix="mzops-my-"))
    os.chmod(root, 0o755)
    shutil.chown(root, "mysql")                          # its socket and error log are made there
    srv = Server(root)
    subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={srv.data}", "--user=mysql",
                    "--auth-root-authentication-method=socket", "--skip-test-db"], capture_output=True, check=True,
                   cwd="/")
    proc = subprocess.Popen(["runuser", "-u", "mysql", "--", "mariadbd", "--no-defaults", f"--datadir={srv.data}",
                             f"--socket={srv.socket}", "--skip-networking", f"--log-bin={srv.data}/mysql-bin",
                             "--server-id=1", f"--pid-file={root}/pid", f"--log-error={root}/err",
                             "--innodb-flush-log-at-trx-commit=2"], cwd="/")
    for _ in range(100):
        if srv.socket.exists():
            break
        time.sleep(0.1)
    time.sleep(0.5)
    srv.sql("CREATE DATABASE shop; CREATE TABLE shop.t (n int PRIMARY KEY, v varchar(20)) ENGINE=InnoDB")
    os.environ["MYSQL_UNIX_PORT"] = str(srv.socket)
    yield srv
    os.environ.pop("MYSQL_UNIX_PORT", None)
    proc.terminate()
    proc.wait(timeout=60)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def job(tmp_path):
    return database_job(tmp_path, "mariadb", 3306, "my")


def back_up(job, run_id: str, **kw):
    policy, estate, catalogue = job
    return database.back_up(policy, "my", estate, "db", catalogue, run_id, target=LocalTarget("h"), **kw)


def restore_to(server, job, at: str):
    policy, estate, catalogue = job
    planned = database.plan(policy, catalogue, estate, "my", "db", at)
    into = server.root / f"restore-{time.monotonic_ns()}"
    return planned, database.restore(policy, catalogue, estate, planned, "h", str(into), target=LocalTarget("h"))


def stop_copy(folder: str) -> None:
    subprocess.run(["sh", "-s", "--", folder], input=get("mariadb").restore_remove, capture_output=True)


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def test_full_incrementals_and_binary_logs_restore_to_a_time_between_two_transactions(server, job):
    server.sql("INSERT INTO shop.t VALUES (1, 'full')")
    first = back_up(job, "r1")
    assert first.state == "changed" and "a full (no full yet)" in first.message, first.message
    server.sql("INSERT INTO shop.t VALUES (2, 'incremental')")
    second = back_up(job, "r2")
    assert second.state == "changed" and "an incremental, then" in second.message, second.message
    policy, estate, catalogue = job
    with catalogue.session() as session:
        incremental = session.get(Run, "r2/my/db/incremental")
        full = session.get(Run, "r1/my/db/full")
        assert database.facts_of(incremental)["since"] == database.facts_of(full)["to_lsn"]
    server.sql("INSERT INTO shop.t VALUES (3, 'binlog')")
    time.sleep(1.2)
    between = now()                                      # binary logs keep seconds: a second apart
    time.sleep(1.2)
    server.sql("INSERT INTO shop.t VALUES (4, 'after')")
    assert back_up(job, "r3").state == "changed"
    planned, opened = restore_to(server, job, between)
    try:
        # r3's incremental was taken after the moment asked: the binary logs since r2's stand in
        assert [r.id for r in planned.chain] == ["r1/my/db/full", "r2/my/db/incremental", "r2/my/db/log",
                                                 "r3/my/db/log"]
        rows = server.sql("SELECT GROUP_CONCAT(n ORDER BY n) FROM shop.t", opened["socket"])
        assert rows == "1,2,3"                           # the first transaction, not the second
        assert opened["data_directory"].endswith("/base")
    finally:
        stop_copy(opened["folder"])


def test_a_copy_equals_the_source_table_by_table(server, job):
    server.sql("CREATE TABLE IF NOT EXISTS shop.big (k int PRIMARY KEY, v text) ENGINE=InnoDB")
    server.sql("SET SESSION max_recursive_iterations = 5000; INSERT INTO shop.big WITH RECURSIVE s(k) AS "
               "(SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < 2000) "
               "SELECT k, md5(k) FROM s")
    assert back_up(job, "r1").state == "changed"
    server.sql("UPDATE shop.big SET v = 'changed' WHERE k <= 100")
    assert back_up(job, "r2").state == "changed"
    server.sql("DELETE FROM shop.big WHERE k > 1900")
    time.sleep(1.1)
    at = now()
    time.sleep(1.1)
    assert back_up(job, "r3").state == "changed"
    source = server.sql("CHECKSUM TABLE shop.big, shop.t")
    planned, opened = restore_to(server, job, at)
    try:
        assert server.sql("CHECKSUM TABLE shop.big, shop.t", opened["socket"]) == source
    finally:
        stop_copy(opened["folder"])


def test_a_binary_log_missing_is_named_before_a_restore_and_the_next_run_takes_a_full(server, job):
    assert back_up(job, "r1").state == "changed"
    server.sql("FLUSH BINARY LOGS")
    server.sql("INSERT INTO shop.t VALUES (50, 'gap') ON DUPLICATE KEY UPDATE v = 'gap'")
    server.sql("FLUSH BINARY LOGS")
    logs = server.sql("SHOW BINARY LOGS").splitlines()
    lost = logs[-2].split("\t")[0]
    (server.data / lost).unlink()                        # gone from the server before it reached tape
    at = now()
    gap = back_up(job, "r2")
    assert gap.state == "failed" and lost in gap.message and "the next run takes a new full" in gap.message
    policy, estate, catalogue = job
    with pytest.raises(Exception, match=f"log {lost} is not on tape.*none attempted"):
        database.plan(policy, catalogue, estate, "my", "db", at)
    again = back_up(job, "r3")
    assert again.state == "changed" and f"a full (the chain lacks log {lost})" in again.message
    server.sql("FLUSH BINARY LOGS")
    subprocess.run(["mariadb", "-S", str(server.socket), "-e", f"PURGE BINARY LOGS TO '{logs[-1].split()[0]}'"],
                   capture_output=True)


def test_binary_logging_off_is_an_error_naming_the_rule():
    my = get("mariadb")
    facts = {"log_bin": "0", "log_bin_basename": "", "data_directory": "/var/lib/mysql/"}
    assert "harden with rule my.binlog" in my.backup_problems(facts)[0]
    assert my.backup_problems({**facts, "log_bin": "1"}) == []
    assert my.backup_problems({}) and "log_bin" in my.backup_problems({})[0]


def test_mariabackup_output_and_binary_log_gaps():
    """mariabackup's own lines (extra/mariabackup); binary log names: a base name and a
    six-digit sequence (sql/log.cc)."""
    my = get("mariadb")
    said = ("[00] 2026-12-01 17:08:18 mariabackup: The latest check point (for incremental): '44404'\n"
            "[00] 2026-12-01 17:08:18 MySQL binlog position: filename 'mysql-bin.000001', position '763', "
            "GTID of the last change '0-1-3'\n")
    assert my.full_positions(said) == {"to_lsn": "44404", "binlog_file": "mysql-bin.000001", "binlog_pos": "763"}
    with pytest.raises(ValueError):
        my.full_positions("[00] mariabackup: Error: failed to connect")
    base = {"binlog_file": "mysql-bin.000009"}
    assert my.log_gaps(base, ["mysql-bin.000009", "mysql-bin.000011"], "mysql-bin.000011") == ["mysql-bin.000010"]
    assert my.log_gaps(base, ["mysql-bin.000009", "mysql-bin.000010"], "mysql-bin.000010") == []


def test_a_drill_replays_to_the_recorded_snapshot_position_and_compares_every_table(server, job):
    server.sql("INSERT INTO shop.t VALUES (70, 'drill') ON DUPLICATE KEY UPDATE v = 'drill'")
    assert back_up(job, "r1").state == "changed"
    server.sql("INSERT INTO shop.t VALUES (71, 'after the snapshot')")
    policy, estate, catalogue = job
    result = drilling.drill(policy, catalogue, estate, "my", "db", random.Random(3), host="h",
                            target=LocalTarget("h"), scratch=server.root / "drills")
    assert result.passed, result.problems
    assert "tables of mariadb" in result.checked and not list((server.root / "drills").iterdir())


def test_verify_reads_every_part_of_a_mariadb_chain_back(server, job, tmp_path):
    """The fulls and incrementals are xbstream (no members indexed): verify checks each
    part's SHA-256; the binary log collections are tar and have each file's."""
    from mzops.backup import restore
    assert back_up(job, "r1").state == "changed"
    assert back_up(job, "r2").state == "changed"
    policy, estate, catalogue = job
    assert restore.verify(policy, catalogue, "my", "db") == []
    data = tmp_path / "lib" / "media" / "P001" / "file-1.dat"          # the full's part
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    problems = restore.verify(policy, catalogue, "my", "db")
    assert problems and "r1/my/db/full" in problems[0] and "does not match its checksum" in problems[0]


def test_backups_read_as_their_own_login_once_it_is_set_up_and_say_so_when_not(server, job, tmp_path, monkeypatch):
    """Without the login's option file root reads and the outcome names it; with the
    rule's task run against this server (playbooks/roles/mlps3_mysql/files/backup_account.sh,
    its option file here instead of /etc/mysql), every step logs in as mzops_backup, which
    may read and not write, and the backup restores and drills as before."""
    options = tmp_path / "mzops-backup.cnf"
    monkeypatch.setenv("MZOPS_BACKUP_OPTIONS", str(options))
    without = back_up(job, "a1", requested="full")
    assert without.state == "changed", without.message
    assert f"read as root, not mzops_backup (full, checksums, logs): no {options} (the login's option file)" \
        in without.message, without.message
    from mzops.paths import PLAYBOOKS
    files = PLAYBOOKS / "roles" / "mlps3_mysql" / "files"
    task = (files / "mysql.sh").read_text() + f"sock=--socket={server.socket}\n" + \
        'my_run() { "$my_client" $sock -NB -e "$1"; }\n' + (files / "backup_account.sh").read_text()
    env = {**os.environ, "ACCOUNT": "mzops_backup@localhost", "OPTIONS": str(options), "DRY": "False",
           "PRIVILEGES": "RELOAD,PROCESS,LOCK TABLES,BINLOG MONITOR,SELECT"}
    made = subprocess.run(["sh", "-c", task], env=env, capture_output=True, text=True, cwd="/")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("CREATE USER 'mzops_backup'@'localhost' (its password made here"), made.stdout
    password = options.read_text().split("password=")[1].strip()
    assert len(password) >= 24 and password not in made.stdout + made.stderr
    assert oct(options.stat().st_mode & 0o777) == "0o600"
    again = subprocess.run(["sh", "-c", task], env=env, capture_output=True, text=True, cwd="/")
    assert again.returncode == 0 and again.stdout == "", again.stdout + again.stderr
    server.sql("INSERT INTO shop.t VALUES (80, 'own login') ON DUPLICATE KEY UPDATE v = 'own login'")
    own = back_up(job, "a2", requested="full")
    assert own.state == "changed", own.message
    assert "not mzops_backup" not in own.message, own.message
    assert own.record["logins"] == {"full": "mzops_backup", "checksums": "mzops_backup", "logs": "mzops_backup"}
    refused = subprocess.run(["mariadb", f"--defaults-extra-file={options}", "-S", str(server.socket), "-e",
                              "INSERT INTO shop.t VALUES (81, 'no')"], capture_output=True, text=True)
    assert refused.returncode != 0 and "INSERT command denied" in refused.stderr
    policy, estate, catalogue = job
    result = drilling.drill(policy, catalogue, estate, "my", "db", random.Random(4), host="h",
                            target=LocalTarget("h"), scratch=server.root / "drills")
    assert result.passed, result.problems
    server.sql("DROP USER 'mzops_backup'@'localhost'")
