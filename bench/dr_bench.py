#!/usr/bin/env python3
"""DR benchmark on a private lab (needs root; about 5 minutes for 3 rounds).

For PostgreSQL 15 and MariaDB 10.11 between labdb1 (primary site) and labdb2 (DR site),
each round from a protected pair: a planned failover, a failback, and a disaster (the
primary's server killed with SIGKILL, then `dr failover --disaster`), with a client
writing one row per transaction meanwhile. It prints, per engine, the RTO as each run
recorded it (command start to the first write the new primary took: every check
included), the wall time of the command (Python's start-up and the final report
included), the lost log (positions) and whether every acknowledged row arrived.

Patroni (Debian `patroni` with `etcd-server`), the issue's comparison, is not in this
bench yet: the lab's hosts cannot install packages (issue 18's mirror), and a layer of
its own is still to be built.

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

REPO = Path(__file__).resolve().parent.parent
MZOPS = [sys.executable, "-m", "mzops"]
PLANS = {"postgresql": "lab-pg", "mariadb": "lab-mariadb"}
KILL = {"postgresql": "kill -9 $(head -n 1 /var/lib/postgresql/15/main/postmaster.pid)",
        "mariadb": "pkill -9 -x mysqld_safe; pkill -9 -x mariadbd"}   # mysqld_safe would restart it
SETUP = {"postgresql": ("runuser -u postgres -- psql -XAtq -c 'CREATE TABLE t (n int PRIMARY KEY)'",),
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


def writer(home: Path, host: str, engine: str, first: int) -> subprocess.Popen:
    loop = f"cd / && i={first}; while :; do if {INSERT[engine]} >/dev/null 2>&1; then echo $i; fi; i=$((i + 1)); done"
    return subprocess.Popen([*MZOPS, "lab", "exec", host, "--", "sh", "-c", loop], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, start_new_session=True,
                            env={**os.environ, "MZOPS_HOME": str(home)})


def stop(proc: subprocess.Popen) -> set[int]:
    os.killpg(proc.pid, 15)
    out, _ = proc.communicate(timeout=60)
    return {int(n) for n in out.split()}


def timed(home: Path, inv: str, *args: str) -> tuple[float, dict]:
    start = time.monotonic()
    done = mzops(home, "-i", inv, "dr", *args, "--json")
    seconds = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"dr {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="mzb-"))
    up = mzops(home, "-q", "lab", "up", "--hosts", "1", "--db", "--backup", "--json")
    if up.returncode != 0:
        raise SystemExit(up.stderr)
    inv = json.loads(up.stdout)["inventory"]
    rows: dict[str, dict[str, list]] = {}
    try:
        for engine, plan in PLANS.items():
            got = rows.setdefault(engine, {k: [] for k in ("planned", "failback", "disaster", "wall_planned",
                                                             "wall_failback", "wall_disaster", "lost", "missing")})
            protected = mzops(home, "-i", inv, "dr", "protect", plan, "--apply", "--restart")
            if protected.returncode != 0:
                raise SystemExit(protected.stdout + protected.stderr)
            for command in SETUP[engine]:
                on(home, "labdb1", command)
            for round_ in range(args.rounds):
                client = writer(home, "labdb1", engine, round_ * 1_000_000)
                time.sleep(1)
                wall, record = timed(home, inv, "failover", plan, "--planned", "--yes")
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
                on(home, "labdb1", KILL[engine])
                wall, record = timed(home, inv, "failover", plan, "--disaster", "--yes")
                got["disaster"].append(record["rto_seconds"])
                got["wall_disaster"].append(wall)
                timed(home, inv, "failback", plan, "--yes")
    finally:
        mzops(home, "lab", "down")
    print(f"\nDR on the lab, {args.rounds} rounds per engine (seconds: median, min-max)\n")
    print("| engine | planned RTO | planned wall | failback RTO | failback wall | disaster RTO | disaster wall "
          "| log lost (planned) | acknowledged rows missing |")
    print("|---|---|---|---|---|---|---|---|---|")
    fmt = lambda xs: f"{statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"  # noqa: E731
    for engine, got in rows.items():
        print(f"| {engine} | {fmt(got['planned'])} | {fmt(got['wall_planned'])} | {fmt(got['failback'])} | "
              f"{fmt(got['wall_failback'])} | {fmt(got['disaster'])} | {fmt(got['wall_disaster'])} | "
              f"{max(got['lost'])} | {sum(got['missing'])} |")


if __name__ == "__main__":
    main()
