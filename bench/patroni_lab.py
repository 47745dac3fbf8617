"""Patroni with etcd on the lab's hosts, the anchor bench/dr_bench.py measures mzops against.

Debian's `patroni` and `etcd-server` packages, installed from the lab's mirror: etcd
members on labdb1, labdb2 and lab01 (three, so the DCS keeps its quorum when one
database host is killed), Patroni on the two database hosts managing a PostgreSQL 15
cluster of its own (port 5433, next to the one mzops protects), with Patroni's
defaults for the leader lock (ttl 30 s, loop_wait 10 s, retry_timeout 10 s) as a
site would run it. Bench-only: the passwords below protect a throw-away lab cluster.
"""

from __future__ import annotations

import json
import time
from typing import Callable

PORT = 5433
DATA = "/var/lib/postgresql/15/patroni"
CONF = "/etc/patroni/bench.yml"
PSQL = f"runuser -u postgres -- psql -XAtq -h /var/run/postgresql -p {PORT}"
PACKAGES = {"db": "patroni python3-etcd etcd-server etcd-client", "witness": "etcd-server"}

CONFIG = """scope: bench
name: {name}
restapi:
  listen: {address}:8008
  connect_address: {address}:8008
etcd3:
  hosts: {etcd}
bootstrap:
  dcs:
    ttl: 30
    loop_wait: 10
    retry_timeout: 10
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: true
      parameters: {{wal_log_hints: "on"}}
  initdb: [{{encoding: UTF8}}, data-checksums]
  pg_hba:
    - local all all trust
    - host replication replicator 10.77.0.0/16 scram-sha-256
    - host all all 10.77.0.0/16 scram-sha-256
postgresql:
  listen: "*:{port}"
  connect_address: {address}:{port}
  data_dir: {data}
  bin_dir: /usr/lib/postgresql/15/bin
  pgpass: /var/lib/postgresql/.pgpass-patroni
  authentication:
    replication: {{username: replicator, password: bench-replicator}}
    superuser: {{username: postgres, password: bench-superuser}}
    rewind: {{username: rewinder, password: bench-rewinder}}
  parameters:
    unix_socket_directories: /var/run/postgresql
"""

Run = Callable[[str, str], "object"]      # (host, shell) -> CompletedProcess


def etcd_command(name: str, address: str, members: dict[str, str]) -> str:
    cluster = ",".join(f"{n}=http://{a}:2380" for n, a in members.items())
    return (f"mkdir -p /var/lib/etcd-bench && setsid -f etcd --name {name} --data-dir /var/lib/etcd-bench/{name} "
            f"--listen-peer-urls http://{address}:2380 --initial-advertise-peer-urls http://{address}:2380 "
            f"--listen-client-urls http://{address}:2379,http://127.0.0.1:2379 "
            f"--advertise-client-urls http://{address}:2379 --initial-cluster {cluster} "
            f"--initial-cluster-state new --initial-cluster-token mzops-bench >/var/log/etcd-bench.log 2>&1")


def start_patroni(run: Run, host: str) -> None:
    run(host, f"setsid -f runuser -u postgres -- patroni {CONF} >>/var/log/patroni-bench.log 2>&1")


def set_up(run: Run, db_hosts: dict[str, str], witness: tuple[str, str]) -> None:
    """Install, start etcd on three hosts and Patroni on the two database hosts, and
    wait until one leads and the other streams from it."""
    members = {**db_hosts, witness[0]: witness[1]}
    for host in members:
        kind = "witness" if host == witness[0] else "db"
        done = run(host, "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                         f"--no-install-recommends {PACKAGES[kind]} >/dev/null")
        if done.returncode != 0:
            raise SystemExit(f"{host}: installing {PACKAGES[kind]} from the lab mirror failed: {done.stderr}")
    for host, address in members.items():
        run(host, etcd_command(host, address, members))
    etcd = ",".join(f"{a}:2379" for a in members.values())
    for host, address in db_hosts.items():
        config = CONFIG.format(name=host, address=address, etcd=etcd, port=PORT, data=DATA)
        run(host, f"mkdir -p /etc/patroni && cat > {CONF} <<'EOF'\n{config}EOF\nchown postgres: {CONF}")
    first = next(iter(db_hosts))
    start_patroni(run, first)
    wait_for(run, first, lambda m: any(x["Role"] == "Leader" and x["State"] == "running" for x in m), 120)
    for host in list(db_hosts)[1:]:
        start_patroni(run, host)
    wait_healthy(run, first, len(db_hosts))
    run(first, f"{PSQL} -c 'CREATE TABLE t (n int PRIMARY KEY)' -c 'CREATE TABLE probe (n int)'")


def members(run: Run, host: str) -> list[dict]:
    done = run(host, f"patronictl -c {CONF} list -f json 2>/dev/null")
    try:
        return json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        return []


def wait_for(run: Run, host: str, condition, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = members(run, host)
        if now and condition(now):
            return now
        time.sleep(0.5)
    raise SystemExit(f"Patroni: not reached within {timeout:.0f} s: {members(run, host)}")


def wait_healthy(run: Run, host: str, count: int, timeout: float = 180) -> str:
    """Wait for a leader and every other member streaming from it with no lag (Patroni
    3.0.2 lists a streaming replica as "running": pg_stat_replication says which);
    return the leader."""
    def healthy(now: list[dict]) -> bool:
        leaders = [m for m in now if m["Role"] == "Leader" and m["State"] == "running"]
        replicas = [m for m in now if m["Role"] != "Leader" and m["State"] in ("running", "streaming")
                    and m.get("Lag in MB", 0) == 0]
        if len(now) != count or len(leaders) != 1 or len(replicas) != count - 1:
            return False
        streaming = run(leaders[0]["Member"], f"{PSQL} -c \"SELECT count(*) FROM pg_stat_replication "
                                              f"WHERE state = 'streaming'\"").stdout.strip()
        return streaming == str(count - 1)
    now = wait_for(run, host, healthy, timeout)
    return next(m["Member"] for m in now if m["Role"] == "Leader")


def switchover(run: Run, on: str, leader: str, candidate: str):
    return run(on, f"patronictl -c {CONF} switchover --leader {leader} --candidate {candidate} --force")


def kill_leader(run: Run, host: str) -> None:
    """The leader's host loses Patroni and PostgreSQL at once (its etcd member lives on)."""
    run(host, f"pkill -9 -f 'bin/patroni {CONF}'; kill -9 $(head -n 1 {DATA}/postmaster.pid)")


def tear_down(run: Run, hosts: list[str]) -> None:
    for host in hosts:
        run(host, f"pkill -9 -f 'bin/patroni {CONF}'; pkill -9 -x etcd; "
                  f"[ -f {DATA}/postmaster.pid ] && kill -9 $(head -n 1 {DATA}/postmaster.pid); "
                  f"rm -rf {DATA} /var/lib/etcd-bench; true")
