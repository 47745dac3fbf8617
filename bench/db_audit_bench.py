#!/usr/bin/env python3
"""Database audit benchmark on a private lab (needs root; about two minutes).

One PostgreSQL 15 and one MariaDB 10.11 server (the lab's database host), audited:
- on the server host: the SQL runs there as the server's superuser, in the host's one
  SSH execution (mzops's default when the database has `mzops_db_server`);
- over the database protocol with a read-only login, through an SSH tunnel;
- the way a script would do it: one `ssh host psql -c ...` (or `mariadb -e`) per check;
each on the lab network and behind a relay adding 300 ms of round trip. Prints wall
times (median of --runs) and the round trips each way takes.

    sudo .venv/bin/python bench/db_audit_bench.py [--runs 5] [--rtt 0.3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mzops.compliance import catalogue, dbcollect  # noqa: E402
from mzops.lab import runtime, topology  # noqa: E402

MZOPS = [sys.executable, "-m", "mzops"]
HOST = "labdb1"
READONLY = """
( cd / && runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 ) <<'SQL'
CREATE ROLE mzops_audit LOGIN PASSWORD 'Bench-pass-2026' VALID UNTIL '2027-01-01';
GRANT pg_read_all_settings, pg_read_all_stats TO mzops_audit;
GRANT SELECT ON pg_hba_file_rules TO mzops_audit;
GRANT EXECUTE ON FUNCTION pg_hba_file_rules() TO mzops_audit;
SQL
mariadb -e "CREATE USER mzops_audit@'127.0.0.1' IDENTIFIED BY 'Bench-pass-2026';
  GRANT SELECT ON mysql.* TO mzops_audit@'127.0.0.1'; GRANT SHOW DATABASES ON *.* TO mzops_audit@'127.0.0.1'"
"""


def mz(env: dict, *args: str) -> subprocess.CompletedProcess:
    proc = subprocess.run([*MZOPS, *args], env=env, capture_output=True, text=True, cwd=REPO)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"mzops {' '.join(args)} failed ({proc.returncode}): {proc.stderr[-400:]}")
    return proc


def median_time(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        start = time.monotonic()
        fn()
        times.append(time.monotonic() - start)
    return statistics.median(times)


def ssh_config(home: Path, name: str, address: str, port: int | None) -> Path:
    """An ssh_config for the lab host, direct or through the delay relay on PORT."""
    lab = home / "lab"
    proxy = (f"/usr/bin/nsenter --net=/run/netns/{topology.CONTROL_NETNS} /usr/bin/socat STDIO "
             + (f"TCP:127.0.0.1:{port}" if port else f"TCP:{address}:22"))
    path = home / f"ssh_config_{name}"
    path.write_text("\n".join([
        f"Host {name}", "  User root", f"  IdentityFile {lab / 'ssh' / 'id_ed25519'}", "  IdentitiesOnly yes",
        f"  UserKnownHostsFile {lab / 'ssh' / 'known_hosts'}", f"  HostKeyAlias {address}",
        "  StrictHostKeyChecking yes", "  BatchMode yes", f"  ProxyCommand {proxy}",
        "  ControlMaster auto", f"  ControlPath {home}/cm-{name}-%C", "  ControlPersist 120", ""]))
    return path


def inventory_for(home: Path, lab_inventory: str, name: str, config: Path) -> Path:
    """The lab inventory plus host NAME (reached through CONFIG) with its databases, on the
    host path and over the protocol."""
    inv = home / f"inventory_{name}"
    shutil.copytree(lab_inventory, inv)
    doc = yaml.safe_load((inv / "hosts.yml").read_text())
    children = doc["all"]["children"]
    children["hosts"]["hosts"][name] = {"ansible_host": name, "mzops_platform": "debian-12",
                                        "ansible_ssh_args": f"-F {config}"}
    ro = {"ansible_host": name, "mzops_db_server": name, "mzops_db_user": "mzops_audit",
          "mzops_credentials": {"db": "env:MZB_DB_PASSWORD"}}
    children["databases"]["hosts"].update({
        f"{name}-pg": {"ansible_host": name, "mzops_db_server": name, "mzops_db_engine": "postgresql",
                       "mzops_db_port": 5432},
        f"{name}-mariadb": {"ansible_host": name, "mzops_db_server": name, "mzops_db_engine": "mariadb",
                            "mzops_db_port": 3306},
        f"{name}-ro-pg": {**ro, "mzops_db_engine": "postgresql", "mzops_db_port": 5432},
        f"{name}-ro-mariadb": {**ro, "mzops_db_engine": "mariadb", "mzops_db_port": 3306},
    })
    for member in (name, f"{name}-pg", f"{name}-mariadb", f"{name}-ro-pg", f"{name}-ro-mariadb"):
        children["zone_core"]["hosts"][member] = None
        children["primary"]["hosts"][member] = None
    (inv / "hosts.yml").write_text(yaml.safe_dump(doc))
    return inv


def per_check_commands() -> list[str]:
    """What a script does without a collector: one remote command per check."""
    out = []
    for family, client in (("postgresql", "cd / && runuser -u postgres -- psql -XAtc \"SHOW {}\""),
                           ("mysql", "mariadb -NBe \"SELECT @@{}\"")):
        for rule in catalogue.load("mlps3", family).baseline.rules:
            key = rule.args.get("key", "port")
            out.append(client.format(key if family == "postgresql" else key.replace(".", "_")))
    return out


def measure(env: dict, inv: Path, name: str, config: Path, label: str, runs: int, rows: list) -> None:
    def audit(limit: str) -> None:
        mz(env, "-q", "-i", str(inv), "audit", "run", "--limit", limit, "-f", "json", "-o", "/dev/null")

    def close() -> None:
        for sock in config.parent.glob(f"cm-{name}-*"):
            subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "x"], capture_output=True)

    def cold(limit: str):
        return lambda: (close(), audit(limit))

    pg_q, my_q = len(dbcollect.PG), len(dbcollect.MY)
    rows.append((label, "mzops, on the server host: PostgreSQL (17 rules)",
                 median_time(runs, cold(f"{name}-pg")), "1 SSH execution"))
    rows.append((label, "mzops, on the server host: MariaDB (20 rules)",
                 median_time(runs, cold(f"{name}-mariadb")), "1 SSH execution"))
    rows.append((label, "mzops, on the server host: both, one run",
                 median_time(runs, cold(f"{name}-pg,{name}-mariadb")), "2 SSH executions (in parallel)"))
    rows.append((label, "mzops, read-only login through a tunnel: PostgreSQL",
                 median_time(runs, cold(f"{name}-ro-pg")), f"SSH tunnel + 1 connection + {pg_q} queries"))
    rows.append((label, "mzops, read-only login through a tunnel: MariaDB",
                 median_time(runs, cold(f"{name}-ro-mariadb")), f"SSH tunnel + 1 connection + {my_q} queries"))
    commands = per_check_commands()
    close()
    subprocess.run(["ssh", "-F", str(config), name, "true"], capture_output=True)  # warm master

    def one_by_one() -> None:
        for command in commands:
            subprocess.run(["ssh", "-F", str(config), name, command], capture_output=True)
    rows.append((label, "a script: one ssh + psql/mariadb per check (warm SSH)",
                 median_time(max(1, runs // 2), one_by_one), f"{len(commands)} SSH executions"))
    close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rtt", type=float, default=0.3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (the lab)")
    if runtime.lab_netns():
        raise SystemExit("another lab is up: run `mzops lab down` first")
    home = Path(tempfile.mkdtemp(prefix="mzb-"))
    env = {**os.environ, "MZOPS_HOME": str(home), "MZB_DB_PASSWORD": "Bench-pass-2026"}
    rows: list[tuple[str, str, float, str]] = []
    relay = None
    try:
        mz(env, "lab", "up", "--hosts", "1", "--db")
        status = json.loads(mz(env, "lab", "status", "--json").stdout)
        address = next(h["address"] for h in status["hosts"] if h["name"] == HOST)
        mz(env, "lab", "exec", HOST, "--", "sh", "-ec", READONLY)
        near = ssh_config(home, "near", address, None)
        measure(env, inventory_for(home, status["inventory"], "near", near), "near", near, "lab network",
                args.runs, rows)
        port = 2223
        relay = subprocess.Popen(["ip", "netns", "exec", topology.CONTROL_NETNS, sys.executable,
                                  str(REPO / "bench" / "delay_relay.py"), "--listen", f"127.0.0.1:{port}",
                                  "--target", f"{address}:22", "--rtt", str(args.rtt), "--lifetime", "600"],
                                 stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        far = ssh_config(home, "far", address, port)
        measure(env, inventory_for(home, status["inventory"], "far", far), "far", far,
                f"{args.rtt * 1000:.0f} ms RTT", args.runs, rows)
    finally:
        if relay:
            relay.kill()
            relay.wait()
        mz(env, "lab", "down")
        shutil.rmtree(home, ignore_errors=True)
    print(f"\n{'link':<12} {'how':<56} {'time':>8}  round trips")
    for link, how, seconds, trips in rows:
        print(f"{link:<12} {how:<56} {seconds:>6.2f} s  {trips}")


if __name__ == "__main__":
    main()
