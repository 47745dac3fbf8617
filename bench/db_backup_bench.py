#!/usr/bin/env python3
"""Database backups, side by side in one run on this machine: mzops against the engine's
own tool, which is the floor (issue 15's goal: within 1.2 times of it).

PostgreSQL 15 (a cluster of the bench's own, Unix socket only, pgbench's tables to about
--pg-gib GiB): mzops's full (pg_basebackup streamed to the file-backed tape, every member
indexed with its SHA-256) against pgBackRest 2.45's full to a disk repository
(compress-type none, one process, as mzops); the day after (pgbench for --minutes):
mzops's WAL collection against pgBackRest's incremental (the changed files; its WAL is
pushed by the archive command meanwhile); and a point-in-time restore to a moment of
that day, until the copy is open read-write, against `pgbackrest restore --type=time`
and the server's recovery. Both archive the same WAL: the archive command copies each
segment into mzops's folder and runs `pgbackrest archive-push`.

MariaDB 10.11 (a server of its own, --skip-networking, a table to about --my-gib GiB):
mzops's full and incremental against `mariabackup --backup --stream=xbstream` by hand
into a file, and mzops's point-in-time restore (prepare, the incremental, the binary
logs) against the same steps by hand from those files (mbstream, mariabackup --prepare,
a server, mysqlbinlog).

Time is wall time; bytes are what each wrote (mzops: the stream on tape; pgBackRest: its
repository; mariabackup: its files). Needs Debian's postgresql-15, pgbackrest,
mariadb-server and mariadb-backup:

    sudo .venv/bin/python bench/db_backup_bench.py [--pg-gib 5] [--my-gib 2] [--minutes 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from localjob import database_job  # noqa: E402
from mzops.backup import database  # noqa: E402
from mzops.backup.catalogue import Run  # noqa: E402
from mzops.backup.engine import LocalTarget  # noqa: E402

BIN = Path("/usr/lib/postgresql/15/bin")
PG_PORT = 55433
GiB = 1024 ** 3


def sh(*argv, user: str | None = None, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    full = ["runuser", "-u", user, "--", *argv] if user else list(argv)
    done = subprocess.run(full, cwd="/", capture_output=True, text=True, env={**os.environ, **(env or {})}, **kw)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(full)}: exit {done.returncode}: {(done.stderr or done.stdout)[-600:]}")
    return done


def timed(call) -> tuple[float, object]:
    start = time.monotonic()
    out = call()
    return time.monotonic() - start, out


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat()


def job(work: Path, engine: str, port: int):
    return database_job(work, engine, port, "j", capacity=200 * GiB, block_size=1024 ** 2)


def mzops_backup(setup, run_id: str) -> tuple[float, int, dict]:
    """(seconds, bytes on tape, seconds of each step: the backup, the drills' table
    checksums, the logs)."""
    policy, estate, catalogue = setup
    seconds, outcome = timed(lambda: database.back_up(policy, "j", estate, "db", catalogue, run_id,
                                                      target=LocalTarget("h")))
    if outcome.state != "changed":
        raise SystemExit(f"mzops backup {run_id}: {outcome.message}")
    with catalogue.session() as session:
        written = sum(session.get(Run, key).bytes for key in outcome.record["runs"])
    return seconds, written, outcome.record["steps"]


def steps(taken: dict) -> str:
    return ", ".join(f"{k} {v:.1f} s" for k, v in taken.items())


def mzops_restore(setup, at: str, into: Path) -> float:
    policy, estate, catalogue = setup

    def go():
        planned = database.plan(policy, catalogue, estate, "j", "db", at)
        return database.restore(policy, catalogue, estate, planned, "h", str(into), target=LocalTarget("h"))
    seconds, _ = timed(go)
    return seconds


# ----------------------------------------------------------------------- PostgreSQL


def postgres(work: Path, gib: float, minutes: float) -> list[tuple]:
    root = work / "pg"
    root.mkdir()
    shutil.chown(root, "postgres")
    data, wal, repo = root / "data", root / "wal", root / "repo"
    for folder in (wal, repo):
        folder.mkdir()
        shutil.chown(folder, "postgres")
    sh(str(BIN / "initdb"), "-D", str(data), "-A", "peer", user="postgres")
    conf = root / "pgbackrest.conf"
    conf.write_text(f"[global]\nrepo1-path={repo}\ncompress-type=none\nstart-fast=y\nprocess-max=1\n"
                    f"log-level-console=warn\nlog-path={root}\nlock-path={root}\n\n"
                    f"[bench]\npg1-path={data}\npg1-port={PG_PORT}\npg1-socket-path={root}\n")
    os.chmod(conf, 0o644)
    with open(data / "postgresql.conf", "a") as f:
        f.write(f"port = {PG_PORT}\nlisten_addresses = ''\nunix_socket_directories = '{root}'\n"
                "max_wal_size = 4GB\n")
    ctl = lambda *a: sh(str(BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", *a,  # noqa: E731
                        user="postgres")
    psql = lambda q: sh(str(BIN / "psql"), "-XAtq", "-h", str(root), "-p", str(PG_PORT), "-d", "postgres",  # noqa
                        "-c", q, user="postgres").stdout.strip()
    ctl("start")
    scale = max(1, int(gib * 1024 / 15.5))
    print(f"PostgreSQL: pgbench -i -s {scale} ...", flush=True)
    sh(str(BIN / "pgbench"), "-i", "-q", "-s", str(scale), "-h", str(root), "-p", str(PG_PORT), "postgres",
       user="postgres")
    size = int(psql("SELECT pg_database_size('postgres')"))
    mzops_cmd = (f'd={wal}; if [ -f "$d/%f" ]; then cmp -s "%p" "$d/%f"; else cp "%p" "$d/%f.part" '
                 f'&& sync "$d/%f.part" && mv "$d/%f.part" "$d/%f"; fi')
    with open(data / "postgresql.conf", "a") as f:
        f.write(f"archive_mode = on\narchive_command = '{mzops_cmd} && pgbackrest --config={conf} "
                "--stanza=bench archive-push %p'\n")
    ctl("restart")
    sh("pgbackrest", f"--config={conf}", "--stanza=bench", "stanza-create", user="postgres")
    os.environ["PGHOST"] = str(root)
    setup = job(work / "pg-mzops", "postgresql", PG_PORT)
    rows = []
    full = mzops_backup(setup, "full")
    theirs = timed(lambda: sh("pgbackrest", f"--config={conf}", "--stanza=bench", "--type=full", "backup",
                              user="postgres"))[0]
    rows.append(("PostgreSQL", f"full ({size / GiB:.1f} GiB)", full[0], full[1], theirs, du(repo / "backup")))
    rows.append(("PostgreSQL", "  the full alone (without checksums and WAL)", full[2]["backup"], None, theirs, None))
    print(f"PostgreSQL full: {steps(full[2])}", flush=True)
    print(f"PostgreSQL: pgbench -T {minutes * 60:.0f} (the day's changes) ...", flush=True)
    sh(str(BIN / "pgbench"), "-T", str(int(minutes * 60)), "-c", "2", "-h", str(root), "-p", str(PG_PORT),
       "postgres", user="postgres")
    at = now()
    psql("INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1, 1, 1, 0, now())")
    before_repo = du(repo)
    day = mzops_backup(setup, "day")
    theirs = timed(lambda: sh("pgbackrest", f"--config={conf}", "--stanza=bench", "--type=incr", "backup",
                              user="postgres"))[0]
    rows.append(("PostgreSQL", "the day after: mzops WAL / pgBackRest incr", day[0], day[1], theirs,
                 du(repo) - before_repo))
    rows.append(("PostgreSQL", "  the WAL alone (without checksums)", day[2]["backup"] + day[2]["logs"], None, theirs,
                 None))
    print(f"PostgreSQL day after: {steps(day[2])}", flush=True)
    ours = mzops_restore(setup, at, root / "restore-mzops")
    database_dir = root / "restore-pgbackrest"

    def theirs_restore():
        sh("pgbackrest", f"--config={conf}", "--stanza=bench", f"--pg1-path={database_dir}", "--type=time",
           f"--target={dt.datetime.fromisoformat(at).strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]}+00",
           "--target-action=promote", "restore", user="postgres")
        with open(database_dir / "postgresql.auto.conf", "a") as f:
            f.write(f"port = {PG_PORT + 1}\nunix_socket_directories = '{root}'\narchive_mode = off\n")
        sh(str(BIN / "pg_ctl"), "-D", str(database_dir), "-l", str(root / "log-restore"), "-w", "-t", "3600",
           "start", user="postgres")
        while sh(str(BIN / "psql"), "-XAtq", "-h", str(root), "-p", str(PG_PORT + 1), "-d", "postgres", "-c",
                 "SELECT pg_is_in_recovery()", user="postgres").stdout.strip() != "f":
            time.sleep(0.2)
    theirs = timed(theirs_restore)[0]
    rows.append(("PostgreSQL", "point-in-time restore, open read-write", ours, None, theirs, None))
    for folder in (root / "restore-mzops", database_dir, data):
        subprocess.run(["runuser", "-u", "postgres", "--", str(BIN / "pg_ctl"), "-D", str(folder), "-m",
                        "immediate", "stop"], capture_output=True, cwd="/")
    os.environ.pop("PGHOST", None)
    shutil.rmtree(root, ignore_errors=True)                # room for MariaDB's
    shutil.rmtree(work / "pg-mzops", ignore_errors=True)
    return rows


# ----------------------------------------------------------------------- MariaDB


def mariadb(work: Path, gib: float) -> list[tuple]:
    root = work / "my"
    root.mkdir()
    shutil.chown(root, "mysql")
    data, socket = root / "data", root / "mysqld.sock"
    sh("mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=mysql",
       "--auth-root-authentication-method=socket", "--skip-test-db")
    server = subprocess.Popen(["runuser", "-u", "mysql", "--", "mariadbd", "--no-defaults", f"--datadir={data}",
                               f"--socket={socket}", "--skip-networking", f"--log-bin={data}/mysql-bin",
                               "--server-id=1", f"--log-error={root}/err", "--innodb-buffer-pool-size=1G",
                               "--max-binlog-size=256M"], cwd="/")
    while not socket.exists():
        time.sleep(0.2)
    time.sleep(0.5)
    my = lambda q, s=socket: sh("mariadb", "-S", str(s), "-NBe", q).stdout.strip()  # noqa: E731
    rows_wanted = max(1000, int(gib * GiB / 2100))
    print(f"MariaDB: {rows_wanted} rows of 2 KiB ...", flush=True)
    my("CREATE DATABASE b; CREATE TABLE b.t (id int AUTO_INCREMENT PRIMARY KEY, v varchar(2048)) ENGINE=InnoDB;"
       "SET SESSION max_recursive_iterations = 1000000; INSERT INTO b.t (v) WITH RECURSIVE s(k) AS "
       "(SELECT 1 UNION ALL SELECT k + 1 FROM s WHERE k < 1000) SELECT repeat(md5(k), 64) FROM s")
    while int(my("SELECT COUNT(*) FROM b.t")) < rows_wanted:
        my(f"INSERT INTO b.t (v) SELECT v FROM b.t LIMIT {rows_wanted - int(my('SELECT COUNT(*) FROM b.t'))}")
    size = int(my("SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema='b'"))
    my("RESET MASTER")              # the load's binary logs are history: the backups start from here
    os.environ["MYSQL_UNIX_PORT"] = str(socket)
    setup = job(work / "my-mzops", "mariadb", 3306)
    rows = []
    hand = root / "hand"
    hand.mkdir()

    def mariabackup(name: str, since: str | None = None) -> str:
        with open(hand / name, "wb") as out:
            done = subprocess.run(["mariabackup", "--backup", "--stream=xbstream", "--user=root",
                                   f"--socket={socket}", f"--target-dir={root}/tmp",
                                   *([f"--incremental-lsn={since}"] if since else [])],
                                  stdout=out, stderr=subprocess.PIPE, text=True, check=True, cwd="/")
        return done.stderr
    full = mzops_backup(setup, "full")
    theirs, said = timed(lambda: mariabackup("full.xb"))
    lsn = said.split("The latest check point (for incremental): '")[1].split("'")[0]
    rows.append(("MariaDB", f"full ({size / GiB:.1f} GiB; mzops with the binary logs)", full[0], full[1], theirs,
                 (hand / "full.xb").stat().st_size))
    rows.append(("MariaDB", "  the full alone (without checksums and logs)", full[2]["backup"], None, theirs, None))
    print(f"MariaDB full: {steps(full[2])}", flush=True)
    my("UPDATE b.t SET v = repeat(md5(id + 1), 64) WHERE id % 20 = 0")
    at = now()
    time.sleep(1.1)
    my("UPDATE b.t SET v = 'after' WHERE id = 1")
    inc = mzops_backup(setup, "inc")
    theirs = timed(lambda: mariabackup("inc.xb", lsn))[0]
    rows.append(("MariaDB", "incremental (5 % of rows changed; mzops with the binary logs)", inc[0], inc[1], theirs,
                 (hand / "inc.xb").stat().st_size))
    rows.append(("MariaDB", "  the incremental alone (without checksums and logs)", inc[2]["backup"], None, theirs,
                 None))
    print(f"MariaDB incremental: {steps(inc[2])}", flush=True)
    ours = mzops_restore(setup, at, root / "restore-mzops")
    by_hand = root / "restore-hand"

    def theirs_restore():
        for name, folder in (("full.xb", by_hand / "base"), ("inc.xb", by_hand / "inc")):
            folder.mkdir(parents=True)
            with open(hand / name, "rb") as stream:
                subprocess.run(["mbstream", "-x", "-C", str(folder)], stdin=stream, check=True)
        sh("mariabackup", "--prepare", f"--target-dir={by_hand}/base")
        sh("mariabackup", "--prepare", f"--target-dir={by_hand}/base", f"--incremental-dir={by_hand}/inc")
        shutil.chown(by_hand, "mysql")
        sh("chown", "-R", "mysql:mysql", str(by_hand))
        copy_socket = by_hand / "mysqld.sock"
        subprocess.Popen(["runuser", "-u", "mysql", "--", "mariadbd", "--no-defaults", f"--datadir={by_hand}/base",
                          f"--socket={copy_socket}", "--skip-networking", "--skip-log-bin",
                          f"--pid-file={by_hand}/pid", f"--log-error={by_hand}/err"], cwd="/")
        while not copy_socket.exists():
            time.sleep(0.1)
        file, pos = (by_hand / "inc" / "xtrabackup_binlog_info").read_text().split()[:2]
        logs = sorted(p.name for p in data.glob("mysql-bin.[0-9]*") if p.name >= file)
        stop = (dt.datetime.fromisoformat(at) + dt.timedelta(seconds=1)).strftime("%Y-%m-%d %H:%M:%S")
        replay = subprocess.Popen(["mysqlbinlog", f"--start-position={pos}", f"--stop-datetime={stop}", *logs],
                                  cwd=data, stdout=subprocess.PIPE, env={**os.environ, "TZ": "UTC"})
        subprocess.run(["mariadb", "-S", str(copy_socket)], stdin=replay.stdout, check=True)
        replay.wait()
    theirs = timed(theirs_restore)[0]
    rows.append(("MariaDB", "point-in-time restore, open read-write", ours, None, theirs, None))
    for pid_file in (root / "restore-mzops" / "mysqld.pid", by_hand / "pid"):
        if pid_file.exists():
            subprocess.run(["kill", pid_file.read_text().strip()])
    server.terminate()
    server.wait()
    os.environ.pop("MYSQL_UNIX_PORT", None)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-gib", type=float, default=5.0)
    parser.add_argument("--my-gib", type=float, default=2.0)
    parser.add_argument("--minutes", type=float, default=2.0, help="pgbench's day of changes")
    parser.add_argument("--keep", action="store_true", help="leave the work folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mzops-dbbench-", dir="/var/tmp"))
    os.chmod(work, 0o755)
    try:
        show(postgres(work, args.pg_gib, args.minutes))
        show(mariadb(work, args.my_gib))
    finally:
        if not args.keep:
            subprocess.run(["pkill", "-f", str(work)], capture_output=True)
            time.sleep(1)
            shutil.rmtree(work, ignore_errors=True)


def show(rows: list[tuple]) -> None:
    print(f"\n{'engine':<11} {'what':<58} {'mzops s':>8} {'tool s':>8} {'ratio':>6} {'mzops MiB':>10} "
          f"{'tool MiB':>9}", flush=True)
    for engine, what, ours, ours_bytes, theirs, theirs_bytes in rows:
        mib = lambda b: f"{b / 1024 ** 2:10.0f}" if b is not None else f"{'-':>10}"  # noqa: E731
        print(f"{engine:<11} {what:<58} {ours:8.1f} {theirs:8.1f} {ours / theirs:6.2f} {mib(ours_bytes)} "
              f"{mib(theirs_bytes)[1:]}", flush=True)


if __name__ == "__main__":
    main()
