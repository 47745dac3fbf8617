#!/usr/bin/env python3
"""DR benchmark on a private lab (needs root; about 5 minutes for 3 rounds).

For PostgreSQL 15 and MariaDB 10.11 between labdb1 (primary site) and labdb2 (DR site),
each round from a protected pair: a planned failover, a failback, and a disaster (the
primary's server killed with SIGKILL, then `dr failover --disaster`), with a client
writing one row per transaction meanwhile. It prints, per engine, the RTO as each run
recorded it (command start to the first write the new primary took: every check
included), the wall time of the command (Python's start-up and the final report
included), the lost log (positions) and whether every acknowledged row arrived.

Then Patroni (Debian `patroni` with `etcd-server`, installed from the lab's mirror;
bench/patroni_lab.py) on the same two hosts, the mzops pair standing still meanwhile:
`patronictl switchover` and a killed leader (Patroni and PostgreSQL SIGKILLed). For
PostgreSQL both tools are also timed by the same probe: a loop on the DR host trying to
insert a row, from the command's start (or, for a killed Patroni leader, from the kill)
to the first insert the new primary took.

    sudo .venv/bin/python bench/dr_bench.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import patroni_lab

REPO = Path(__file__).resolve().parent.parent
MZOPS = [sys.executable, "-m", "mzops"]
PLANS = {"postgresql": "lab-pg", "mariadb": "lab-mariadb"}
KILL = {"postgresql": "kill -9 $(head -n 1 /var/lib/postgresql/15/main/postmaster.pid)",
        "mariadb": "pkill -9 -x mysqld_safe; pkill -9 -x mariadbd"}   # mysqld_safe would restart it
SETUP = {"postgresql": ("runuser -u postgres -- psql -XAtq -c 'CREATE TABLE t (n int PRIMARY KEY)' "
                        "-c 'CREATE TABLE probe (n int)'",),
         "mariadb": ("mariadb -e 'CREATE DATABASE dr; CREATE TABLE dr.t (n int PRIMARY KEY)'",)}
INSERT = {"postgresql": "runuser -u postgres -- psql -XAtq -c \"INSERT INTO t VALUES ($i)\"",
          "mariadb": "mariadb -e \"INSERT INTO dr.t VALUES ($i)\""}
COUNT = {"postgresql": "runuser -u postgres -- psql -XAtq -c 'SELECT n FROM t'",
         "mariadb": "mariadb -NB -e 'SELECT n FROM dr.t'"}


def mzops(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*MZOPS, *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "MZOPS_HOME": str(home), "MZOPS_LAB_DR_PASSWORD": "bench-dr-pw"})


def on(home: Path, host: str, command: str) -> subprocess.CompletedProcess:
    return mzops(home, "lab", "exec", host, "--", "sh", "-c", f"cd / && {command}")


PROBE = {"postgresql": "runuser -u postgres -- psql -XAtq -c 'INSERT INTO probe VALUES (1)'",
         "patroni": f"{patroni_lab.PSQL} -c 'INSERT INTO probe VALUES (1)'"}


def writer(home: Path, host: str, insert: str, first: int) -> subprocess.Popen:
    loop = f"cd / && i={first}; while :; do if {insert} >/dev/null 2>&1; then echo $i; fi; i=$((i + 1)); done"
    return subprocess.Popen([*MZOPS, "lab", "exec", host, "--", "sh", "-c", loop], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, start_new_session=True,
                            env={**os.environ, "MZOPS_HOME": str(home)})


def stop(proc: subprocess.Popen) -> set[int]:
    os.killpg(proc.pid, 15)
    out, _ = proc.communicate(timeout=60)
    return {int(n) for n in out.split()}


def probe(home: Path, host: str, insert: str) -> subprocess.Popen:
    """Tries to write until a write is taken; prints when (this machine's clock: the lab
    hosts share its kernel)."""
    loop = f"cd / && until {insert} >/dev/null 2>&1; do :; done; date +%s.%N"
    return subprocess.Popen([*MZOPS, "lab", "exec", host, "--", "sh", "-c", loop], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, start_new_session=True,
                            env={**os.environ, "MZOPS_HOME": str(home)})


def first_write(proc: subprocess.Popen, since: float, timeout: float = 180) -> float:
    out, _ = proc.communicate(timeout=timeout)
    return float(out.split()[-1]) - since


def timed(home: Path, inv: str, *args: str) -> tuple[float, dict]:
    start = time.monotonic()
    done = mzops(home, "-i", inv, "dr", *args, "--json")
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"dr {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout)


def mzops_rounds(home: Path, inv: str, engine: str, plan: str, rounds: int) -> dict[str, list]:
    got: dict[str, list] = {k: [] for k in ("planned", "failback", "disaster", "wall_planned", "wall_failback",
                                            "wall_disaster", "lost", "missing", "probe_planned",
                                            "probe_disaster")}
    protected = mzops(home, "-i", inv, "dr", "protect", plan, "--apply", "--restart")
    if protected.returncode != 0:
        raise SystemExit(protected.stdout + protected.stderr)
    for command in SETUP[engine]:
        on(home, "labdb1", command)
    for round_ in range(rounds):
        client = writer(home, "labdb1", INSERT[engine], round_ * 1_000_000)
        watch = probe(home, "labdb2", PROBE[engine]) if engine in PROBE else None
        time.sleep(1)
        since = time.time()
        wall, record = timed(home, inv, "failover", plan, "--planned", "--yes")
        if watch:
            got["probe_planned"].append(first_write(watch, since))
        acked = stop(client)
        have = {int(n) for n in on(home, "labdb2", COUNT[engine]).stdout.split()}
        got["planned"].append(record["rto_seconds"])
        got["wall_planned"].append(wall)
        got["lost"].append(record["rpo"]["lost"])
        got["missing"].append(len(acked - have))
        wall, record = timed(home, inv, "failback", plan, "--yes")
        got["failback"].append(record["rto_seconds"])
        got["wall_failback"].append(wall)
        mzops(home, "-i", inv, "dr", "status", plan)                   # positions seen
        watch = probe(home, "labdb2", PROBE[engine]) if engine in PROBE else None
        on(home, "labdb1", KILL[engine])
        time.sleep(1)
        since = time.time()
        wall, record = timed(home, inv, "failover", plan, "--disaster", "--yes")
        if watch:
            got["probe_disaster"].append(first_write(watch, since))
        got["disaster"].append(record["rto_seconds"])
        got["wall_disaster"].append(wall)
        timed(home, inv, "failback", plan, "--yes")
    return got


def patroni_rounds(home: Path, hosts: dict[str, str], rounds: int) -> dict[str, list]:
    got: dict[str, list] = {k: [] for k in ("probe_planned", "wall_planned", "probe_killed", "missing")}
    run = lambda host, script: on(home, host, script)  # noqa: E731
    db = {name: hosts[name] for name in ("labdb1", "labdb2")}
    for name in db:            # the pair mzops protects stands still meanwhile
        on(home, name, "pg_ctlcluster 15 main stop -m fast; /etc/init.d/mariadb stop >/dev/null")
    patroni_lab.set_up(run, db, ("lab01", hosts["lab01"]))
    try:
        leader = patroni_lab.wait_healthy(run, "labdb1", 2)
        for round_ in range(rounds):
            candidate = next(n for n in db if n != leader)
            client = writer(home, leader, f"{patroni_lab.PSQL} -c \"INSERT INTO t VALUES ($i)\"",
                            round_ * 1_000_000)
            watch = probe(home, candidate, PROBE["patroni"])
            time.sleep(1)
            since, start = time.time(), time.monotonic()
            done = patroni_lab.switchover(run, leader, leader, candidate)
            got["wall_planned"].append(time.monotonic() - start)
            if done.returncode != 0:
                raise SystemExit(f"patronictl switchover failed: {done.stdout} {done.stderr}")
            got["probe_planned"].append(first_write(watch, since))
            acked = stop(client)
            leader = patroni_lab.wait_healthy(run, candidate, 2)
            have = {int(n) for n in run(leader, f"{patroni_lab.PSQL} -c 'SELECT n FROM t'").stdout.split()}
            got["missing"].append(len(acked - have))
            candidate = next(n for n in db if n != leader)
            watch = probe(home, candidate, PROBE["patroni"])
            time.sleep(1)
            since = time.time()
            patroni_lab.kill_leader(run, leader)
            got["probe_killed"].append(first_write(watch, since))
            patroni_lab.start_patroni(run, leader)       # rejoins by pg_rewind
            leader = patroni_lab.wait_healthy(run, candidate, 2)
    finally:
        patroni_lab.tear_down(run, [*db, "lab01"])
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-patroni", action="store_true", help="leave out the Patroni comparison")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="mzb-"))
    up = mzops(home, "-q", "lab", "up", "--hosts", "1", "--db", "--backup", "--json")
    if up.returncode != 0:
        raise SystemExit(up.stderr)
    inv = json.loads(up.stdout)["inventory"]
    status = json.loads(mzops(home, "lab", "status", "--json").stdout)
    hosts = {h["name"]: h["address"] for h in status["hosts"]}
    rows: dict[str, dict[str, list]] = {}
    try:
        for engine, plan in PLANS.items():
            rows[engine] = mzops_rounds(home, inv, engine, plan, args.rounds)
        patroni = None if args.no_patroni else patroni_rounds(home, hosts, args.rounds)
    finally:
        mzops(home, "lab", "down")
    fmt = lambda xs: f"{statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})" if xs else "-"  # noqa: E731
    print(f"\nDR on the lab, {args.rounds} rounds per engine (seconds: median, min-max)\n")
    print("| engine | planned RTO | planned wall | failback RTO | failback wall | disaster RTO | disaster wall "
          "| log lost (planned) | acknowledged rows missing |")
    print("|---|---|---|---|---|---|---|---|---|")
    for engine, got in rows.items():
        print(f"| {engine} | {fmt(got['planned'])} | {fmt(got['wall_planned'])} | {fmt(got['failback'])} | "
              f"{fmt(got['wall_failback'])} | {fmt(got['disaster'])} | {fmt(got['wall_disaster'])} | "
              f"{max(got['lost'])} | {sum(got['missing'])} |")
    if patroni:
        pg = rows["postgresql"]
        ratio = lambda a, b: f"{statistics.median(a) / statistics.median(b):.2f}"  # noqa: E731
        print("\nPostgreSQL: mzops against Patroni, the same probe (first write the new primary took)\n")
        print("| | mzops | Patroni | mzops/Patroni |")
        print("|---|---|---|---|")
        print(f"| planned: command start -> writable | {fmt(pg['probe_planned'])} | {fmt(patroni['probe_planned'])} "
              f"| {ratio(pg['probe_planned'], patroni['probe_planned'])} |")
        print(f"| planned: command wall time | {fmt(pg['wall_planned'])} | {fmt(patroni['wall_planned'])} "
              f"| {ratio(pg['wall_planned'], patroni['wall_planned'])} |")
        print(f"| unplanned: mzops from `dr failover --disaster`, Patroni from the kill | "
              f"{fmt(pg['probe_disaster'])} | {fmt(patroni['probe_killed'])} "
              f"| {ratio(pg['probe_disaster'], patroni['probe_killed'])} |")
        print(f"| acknowledged rows missing after planned | {sum(pg['missing'])} | {sum(patroni['missing'])} | |")


if __name__ == "__main__":
    main()
