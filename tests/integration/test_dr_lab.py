"""DR between the lab's two sites, on real PostgreSQL 15 and MariaDB 10.11: labdb1 (primary site) and
labdb2 (DR site) paired by `mzops dr protect` (preview, a refused apply that needs a
restart, the apply), then a planned failover and a failback with clients writing all
along (one through the service address, which moves), where every acknowledged row
must be on the side that took over; a lagging standby refused; a step over its timeout
stopping the run with the old primary started again; a disaster with the primary
killed; and one with the metro link cut and the old primary alive, refused until a
person says how it is fenced, never with two writable primaries. Facts behind the gates:
shared/notes/backup-dr.md (pg_rewind after a promotion needs a CHECKPOINT first)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from conftest import MZOPS, REPO, run_mzops
from mzops.lab import topology

pytestmark = pytest.mark.lab

HOME_DB, AWAY_DB = "labdb1", "labdb2"
PLAN = "lab-pg"
ENV = {"MZOPS_LAB_DR_PASSWORD": "lab:dr\\pass word"}


def sql(home, host: str, text: str, check: bool = True) -> subprocess.CompletedProcess:
    quoted = text.replace("'", "'\\''")
    proc = run_mzops("lab", "exec", host, "--", "sh", "-c",
                     f"cd / && exec runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 -d postgres -c '{quoted}'",
                     home=home)
    if check:
        assert proc.returncode == 0, proc.stderr[-800:]
    return proc


def dr(home, inv, *args: str) -> subprocess.CompletedProcess:
    return run_mzops("-i", inv, "dr", *args, home=home, env=ENV)


def writer(home, host: str, first: int, seconds: int) -> subprocess.Popen:
    """A client inserting one row per transaction for SECONDS, printing each id the
    server acknowledged (a failed insert is not acknowledged, and the client goes on)."""
    loop = (f"cd / && i={first}; end=$(( $(date +%s) + {seconds} )); while [ $(date +%s) -lt $end ]; do "
            "if runuser -u postgres -- psql -XAtq -d postgres -c \"INSERT INTO t VALUES ($i)\" >/dev/null 2>&1; "
            "then echo $i; fi; i=$((i + 1)); done")
    return subprocess.Popen([*MZOPS, "lab", "exec", host, "--", "sh", "-c", loop], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, env={**os.environ, "MZOPS_HOME": str(home)})


SERVICE = "10.77.40.10"          # the lab plan's service address (mzops.lab.backup.SERVICES)
APP_PASSWORD = "app-lab-pw"


def service_writer(first: int, seconds: int) -> subprocess.Popen:
    """A client of the service address, inside the lab router's namespace (the lab's
    network, never the machine's): one row per transaction, each acknowledged id
    printed; it reconnects for every row, so it follows the address when it moves."""
    loop = (f"i={first}; end=$(( $(date +%s) + {seconds} )); while [ $(date +%s) -lt $end ]; do "
            f"if psql -XAtq 'host={SERVICE} user=app dbname=postgres connect_timeout=2' "
            "-c \"INSERT INTO t VALUES ($i)\" >/dev/null 2>&1; then echo $i; fi; i=$((i + 1)); done")
    return subprocess.Popen(["nsenter", "--net=/run/netns/mzl-ctl", "runuser", "-u", "postgres", "--", "env",
                             f"PGPASSWORD={APP_PASSWORD}", "sh", "-c", loop], cwd="/", text=True,
                            stdout=subprocess.PIPE, start_new_session=True)


def grows(home, host: str, than: int, timeout: float = 60) -> bool:
    """HOST's table gets more rows than THAN within TIMEOUT (a client still writing)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if len(rows(home, host)) > than:
            return True
        time.sleep(0.5)
    return False


def stopped(proc: subprocess.Popen) -> set[int]:
    """The ids a client had acknowledged when it was stopped."""
    os.killpg(proc.pid, signal.SIGTERM)
    return acknowledged(proc)


def app_account(home) -> None:
    """The client's account (replicated) and its pg_hba line on both sides (not replicated)."""
    sql(home, HOME_DB, f"CREATE ROLE app LOGIN PASSWORD '{APP_PASSWORD}'; GRANT ALL ON t TO app")
    for host in (HOME_DB, AWAY_DB):
        added = run_mzops("lab", "exec", host, "--", "sh", "-c",
                          "sed -i '1i host postgres app 10.77.40.1/32 scram-sha-256' "
                          "/etc/postgresql/15/main/pg_hba.conf && runuser -u postgres -- psql -XAtq -c "
                          "'SELECT pg_reload_conf()' >/dev/null", home=home)
        assert added.returncode == 0, added.stderr


def holds_service(home, host: str) -> bool:
    return f" {SERVICE}/" in run_mzops("lab", "exec", host, "--", "ip", "-o", "addr", "show", "dev", "eth1",
                                       home=home).stdout


def acknowledged(proc: subprocess.Popen) -> set[int]:
    out, _ = proc.communicate(timeout=120)
    return {int(line) for line in out.split()}


def rows(home, host: str) -> set[int]:
    return {int(n) for n in sql(home, host, "SELECT n FROM t").stdout.split()}


@pytest.fixture(scope="module")
def pristine_at_the_end(lab_session):
    """The database hosts reset once after the module (each test resets them first)."""
    yield
    if lab_session.status is not None:
        lab_session.run("lab", "reset", HOME_DB, AWAY_DB)


@pytest.fixture
def pair(lab, lab_session, pristine_at_the_end):
    home = lab_session.home
    assert lab_session.run("lab", "reset", HOME_DB, AWAY_DB).returncode == 0
    yield home, lab["inventory"]
    run_mzops("lab", "link", "restore", home=home)      # whatever a failed test left cut


def protected(home, inv) -> None:
    done = dr(home, inv, "protect", PLAN, "--apply", "--restart")
    assert done.returncode == 0, done.stdout + done.stderr
    sql(home, HOME_DB, "CREATE TABLE t (n int PRIMARY KEY)")


def app_config(home, host: str, plan: str = PLAN) -> dict[str, str]:
    """What the plan's play wrote on an application host (playbooks/dr/point-apps.yml)."""
    shown = run_mzops("lab", "exec", host, "--", "cat", f"/etc/mzops-dr/{plan}.env", home=home)
    return dict(line.split("=", 1) for line in shown.stdout.splitlines() if "=" in line and not line.startswith("#"))


def test_protect_then_planned_failover_and_failback_lose_no_acknowledged_row(pair):
    home, inv = pair
    status = dr(home, inv, "status", PLAN, "--json")
    assert status.returncode == 1 and "protected" != json.loads(status.stdout)[0]["pairs"][0]["state"]
    preview = dr(home, inv, "protect", PLAN)
    assert preview.returncode == 0, preview.stderr
    assert "preview only" in preview.stdout and "rebuilt as a standby of labdb1-pg" in preview.stdout
    assert "restart: needed" in preview.stdout
    assert sql(home, HOME_DB, "SHOW listen_addresses").stdout.strip() == "localhost", "a preview changes nothing"
    refused = dr(home, inv, "protect", PLAN, "--apply")
    assert refused.returncode == 1 and "add --restart" in refused.stdout, refused.stdout
    conf_d = run_mzops("lab", "exec", HOME_DB, "--", "ls", "/etc/postgresql/15/main/conf.d", home=home).stdout
    assert "mzops-dr.conf" not in conf_d, "a refused apply leaves nothing half-changed"
    protected(home, inv)
    again = dr(home, inv, "protect", PLAN)
    assert again.returncode == 0 and "change:" not in again.stdout and "protected" in again.stdout, again.stdout
    status = json.loads(dr(home, inv, "status", PLAN, "--json").stdout)[0]["pairs"][0]
    assert status["state"] == "protected" and status["primary_site"] == "primary"
    # the password reached neither the record nor the output
    assert "pass word" not in again.stdout + again.stderr

    assert holds_service(home, HOME_DB) and not holds_service(home, AWAY_DB), "the address is on the primary"
    app_account(home)

    # a prompt needs a terminal or --yes: refused before anything runs
    asked = dr(home, inv, "failover", PLAN, "--planned")
    assert asked.returncode == 2 and "--yes" in asked.stderr
    client, local = service_writer(1, 300), writer(home, HOME_DB, 500000, 6)
    run_mzops("lab", "exec", HOME_DB, "--", "sleep", "2", home=home)
    done = dr(home, inv, "failover", PLAN, "--planned", "--yes", "--json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    record = json.loads(done.stdout)
    assert [s["result"] for s in record["steps"]] == ["ok"] * 7
    assert record["rpo"]["lost"] == 0 and record["rto_seconds"] > 0
    # the play step pointed the DR site's application host at the new primary (Ansible)
    assert app_config(home, "lab03") == {"DB_ASSET": "labdb2-pg", "DB_HOST": "10.77.40.10"}
    at_switch = len(rows(home, AWAY_DB))
    assert grows(home, AWAY_DB, at_switch), "the client writes on through the moved service address"
    acked = stopped(client) | acknowledged(local)
    assert len(acked) > 5
    assert acked <= rows(home, AWAY_DB), "a row the old primary acknowledged is missing at the DR site"
    assert holds_service(home, AWAY_DB) and not holds_service(home, HOME_DB)
    assert sql(home, HOME_DB, "INSERT INTO t VALUES (-1)", check=False).returncode != 0, "two writable primaries"
    roles = {c["asset"]: c["role"] for c in record["components"]}
    assert roles == {"labdb1-pg": "stopped", "labdb2-pg": "primary"}

    # failback with the client writing at the DR site meanwhile
    client = service_writer(100000, 300)
    run_mzops("lab", "exec", AWAY_DB, "--", "sleep", "2", home=home)
    back = dr(home, inv, "failback", PLAN, "--yes", "--json")
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-2000:]
    record = json.loads(back.stdout)
    assert [s["name"] for s in record["steps"]][0] == "follow-dr-site"
    assert record["steps"][-1]["name"] == "protect-again" and record["result"] == "ok"
    assert grows(home, HOME_DB, len(rows(home, HOME_DB))), "the client writes on at the primary site"
    acked = stopped(client)
    assert acked and acked <= rows(home, HOME_DB), "a row acknowledged at the DR site is missing after failback"
    assert sql(home, AWAY_DB, "INSERT INTO t VALUES (-2)", check=False).returncode != 0, "the DR side is read-only"
    assert holds_service(home, HOME_DB) and not holds_service(home, AWAY_DB)
    assert app_config(home, "lab01") == {"DB_ASSET": "labdb1-pg", "DB_HOST": "10.77.40.10"}
    status = json.loads(dr(home, inv, "status", PLAN, "--json").stdout)[0]["pairs"][0]
    assert status["state"] == "protected" and status["primary_site"] == "primary"
    history = json.loads(dr(home, inv, "history", "--json").stdout)
    assert [r["mode"] for r in history][-2:] == ["planned", "failback"]


def test_a_drill_leaves_production_untouched_a_lagging_standby_is_refused_a_late_step_stops_the_run(pair):
    """A drill opens a copy of the standby isolated and leaves production and replication
    untouched; a lagging standby is refused; a step over its timeout starts the old
    primary again (one protected pair for the three: each protect costs a restart)."""
    home, inv = pair
    protected(home, inv)
    sql(home, HOME_DB, "INSERT INTO t SELECT generate_series(1000001, 1000500)")
    done = dr(home, inv, "drill", PLAN, "--json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    record = json.loads(done.stdout)
    assert record["mode"] == "drill" and [s["result"] for s in record["steps"]] == ["ok"] * 4
    opened = next(s for s in record["steps"] if s["name"].startswith("open-copy"))
    assert "isolated" in opened["message"] and "took a write" in opened["message"]
    leftovers = run_mzops("lab", "exec", AWAY_DB, "--", "sh", "-c", "ls /var/lib/mzops/dr-drill 2>/dev/null | wc -l",
                          home=home)
    assert leftovers.stdout.strip() == "0", "the copy is removed"
    # production writable, the standby still a standby and following: a new row arrives there
    assert sql(home, AWAY_DB, "SELECT pg_is_in_recovery()").stdout.strip() == "t"
    before = len(rows(home, AWAY_DB))
    sql(home, HOME_DB, "INSERT INTO t VALUES (-5)")
    assert grows(home, AWAY_DB, before, timeout=30)
    status = json.loads(dr(home, inv, "status", PLAN, "--json").stdout)[0]
    assert status["pairs"][0]["state"] == "protected" and status["last_drill"]["result"] == "ok"

    sql(home, AWAY_DB, "SELECT pg_wal_replay_pause()")
    sql(home, HOME_DB, "INSERT INTO t SELECT generate_series(1, 400000)")     # tens of MB of WAL
    lagging = dr(home, inv, "failover", PLAN, "--planned", "--yes", "--json")
    assert lagging.returncode == 1, lagging.stdout[-2000:]
    record = json.loads(lagging.stdout)
    assert record["steps"][0]["result"] == "failed" and "bytes of WAL behind" in record["steps"][0]["message"]
    assert {c["asset"]: c["role"] for c in record["components"]} == {"labdb1-pg": "primary", "labdb2-pg": "standby"}
    sql(home, AWAY_DB, "SELECT pg_wal_replay_resume()")

    # the same plan with a fence step that cannot finish in time
    plan = Path(inv).parent / "backup" / "dr" / f"{PLAN}.yml"
    tight = yaml.safe_load(plan.read_text())
    next(s for s in tight["plan"]["steps"] if s["kind"] == "fence")["timeout"] = 0.01
    (plan.parent / "lab-pg-tight.yml").write_text(yaml.safe_dump(tight))
    try:
        run_mzops("lab", "exec", AWAY_DB, "--", "sleep", "3", home=home)          # caught up
        stopped = dr(home, inv, "failover", "lab-pg-tight", "--planned", "--yes", "--json")
    finally:
        (plan.parent / "lab-pg-tight.yml").unlink()
    assert stopped.returncode == 1, stopped.stdout[-2000:]
    record = json.loads(stopped.stdout)
    fence = next(s for s in record["steps"] if s["kind"] == "fence")
    assert fence["result"] == "failed" and "timeout" in fence["message"]
    assert [s["result"] for s in record["steps"]][2:] == ["not run"] * 5
    assert any("started again" in note for note in record["notes"]), record["notes"]
    assert {c["asset"]: c["role"] for c in record["components"]} == {"labdb1-pg": "primary", "labdb2-pg": "standby"}
    assert sql(home, HOME_DB, "INSERT INTO t VALUES (-1)", check=False).returncode == 0


def test_disaster_primary_killed_then_primary_unreachable_refused_until_fenced_by_a_person(pair):
    home, inv = pair
    protected(home, inv)
    sql(home, HOME_DB, "INSERT INTO t SELECT generate_series(1, 1000)")
    run_mzops("lab", "exec", AWAY_DB, "--", "sleep", "1", home=home)
    assert dr(home, inv, "status", PLAN).returncode == 0          # positions seen: the estimate after a loss
    killed = run_mzops("lab", "exec", HOME_DB, "--", "sh", "-c",
                       "kill -9 $(head -n 1 /var/lib/postgresql/15/main/postmaster.pid)", home=home)
    assert killed.returncode == 0
    done = dr(home, inv, "failover", PLAN, "--disaster", "--yes", "--json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    record = json.loads(done.stdout)
    assert record["pairs"][0]["promoted"] and record["rpo"]["lost"] == 0
    assert len(rows(home, AWAY_DB)) == 1000
    # back, then the metro link cut with the old primary alive at its site
    back = dr(home, inv, "failback", PLAN, "--yes")
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-2000:]
    assert dr(home, inv, "status", PLAN).returncode == 0
    assert run_mzops("lab", "link", "cut", home=home).returncode == 0
    try:
        refused = dr(home, inv, "failover", PLAN, "--disaster", "--yes", "--json")
        assert refused.returncode == 1, refused.stdout[-2000:]
        record = json.loads(refused.stdout)
        fence = next(s for s in record["steps"] if s["kind"] == "fence")
        assert fence["result"] == "failed" and "--fenced-by" in fence["message"]
        # never two writable primaries: the old one takes writes at its site, the DR standby none
        assert sql(home, HOME_DB, "INSERT INTO t VALUES (-10)", check=False).returncode == 0
        assert sql(home, AWAY_DB, "INSERT INTO t VALUES (-11)", check=False).returncode != 0
        # a person at the primary site fences it (its server killed by hand) and says so
        run_mzops("lab", "exec", HOME_DB, "--", "sh", "-c",
                  "kill -9 $(head -n 1 /var/lib/postgresql/15/main/postmaster.pid)", home=home)
        fenced = dr(home, inv, "failover", PLAN, "--disaster", "--yes", "--fenced-by", "server killed by hand",
                    "--json")
        assert fenced.returncode == 0, fenced.stdout[-3000:]
        record = json.loads(fenced.stdout)
        assert "fenced by" in record["pairs"][0]["fenced"] and "server killed by hand" in record["pairs"][0]["fenced"]
        address = next(s for s in record["steps"] if s["kind"] == "address")
        assert "not removed" in address["message"], "the lost site's address could not be released: said"
        assert sql(home, AWAY_DB, "INSERT INTO t VALUES (-12)", check=False).returncode == 0
        assert sql(home, HOME_DB, "INSERT INTO t VALUES (-13)", check=False).returncode != 0
    finally:
        assert run_mzops("lab", "link", "restore", home=home).returncode == 0
    # mended: the old primary (with the row the DR site never saw) rewound into a standby
    again = dr(home, inv, "failback", PLAN, "--yes", "--json")
    assert again.returncode == 0, again.stdout[-3000:]
    assert -10 not in rows(home, HOME_DB) and -12 in rows(home, HOME_DB)


# The failback of shared/notes/backup-dr.md done by hand the wrong way: pg_rewind from the
# new primary without a CHECKPOINT there first (the crashed old primary recovered in
# single-user mode with Debian's configuration file, as pg_rewind 15 does it), then
# started as a standby (its drop-in already names the other side: dr protect wrote it).
NAIVE_FAILBACK = """cd / && data=/var/lib/postgresql/15/main
runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_rewind -D $data \\
  --source-server="host={address} port=5432 user=mzops_replication dbname=postgres passfile=/var/lib/postgresql/.mzops-dr.pgpass" \\
  --config-file=/etc/postgresql/15/main/postgresql.conf 2>&1
touch $data/standby.signal && chown postgres: $data/standby.signal && pg_ctlcluster 15 main start"""


def test_the_failback_trap_set_by_hand_is_caught_and_failback_repairs_it_before_promoting(pair, lab):
    """Right after a disaster failover the new primary's first checkpoint is spread over
    minutes (200,000 rows replayed left some 1,500 dirty buffers, written ten a second),
    and until it ends its control file still names the old timeline: a pg_rewind then,
    without a CHECKPOINT, says "no rewind required", and the old primary started as a
    standby replays its own timeline, stalled behind the fork, at a position a number
    alone cannot tell from a good one. Status names the fork; failback does not take it
    for a standby: it rewinds it properly and promotes it only once it has every row
    written at the DR site."""
    home, inv = pair
    away_address = next(h["address"] for h in lab["hosts"] if h["name"] == AWAY_DB)
    protected(home, inv)
    sql(home, HOME_DB, "INSERT INTO t SELECT generate_series(1, 200000)")
    assert grows(home, AWAY_DB, 199999)
    assert dr(home, inv, "status", PLAN).returncode == 0
    killed = run_mzops("lab", "exec", HOME_DB, "--", "sh", "-c",
                       "kill -9 $(head -n 1 /var/lib/postgresql/15/main/postmaster.pid)", home=home)
    assert killed.returncode == 0
    done = dr(home, inv, "failover", PLAN, "--disaster", "--yes", "--json")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    sql(home, AWAY_DB, "INSERT INTO t SELECT generate_series(200001, 250000)")

    trap = run_mzops("lab", "exec", HOME_DB, "--", "sh", "-c", NAIVE_FAILBACK.format(address=away_address),
                     home=home)
    assert trap.returncode == 0, trap.stdout[-2000:] + trap.stderr[-2000:]
    assert "no rewind required" in trap.stdout, "the trap was not set (the new primary had checkpointed)"
    end = time.monotonic() + 60
    while True:
        status = dr(home, inv, "status", PLAN, "--json")
        state = json.loads(status.stdout)[0]["pairs"][0]["state"]
        if "forked" in state or time.monotonic() > end:
            break
        time.sleep(1)
    assert status.returncode == 1 and "replays timeline 1, labdb2-pg writes timeline 2" in state, state
    assert sql(home, HOME_DB, "SELECT pg_is_in_recovery()").stdout.strip() == "t"
    assert len(rows(home, HOME_DB)) == 200000, "the stalled standby has none of the DR site's rows"

    back = dr(home, inv, "failback", PLAN, "--yes", "--json")
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-2000:]
    follow = json.loads(back.stdout)["steps"][0]
    assert follow["name"] == "follow-dr-site" and "rewound by pg_rewind after a CHECKPOINT" in follow["message"]
    assert "already streams" not in follow["message"]
    assert rows(home, HOME_DB) >= set(range(1, 250001)), "a row written at the DR site was lost in failback"
    assert rows(home, HOME_DB) == rows(home, AWAY_DB)
    assert json.loads(dr(home, inv, "status", PLAN, "--json").stdout)[0]["pairs"][0]["state"] == "protected"


# ----------------------------------------------------------------- MariaDB 10.11, GTID replication

MY_PLAN = "lab-mariadb"


def my(home, host: str, text: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = run_mzops("lab", "exec", host, "--", "mariadb", "-NB", "-e", text, home=home)
    if check:
        assert proc.returncode == 0, proc.stderr[-800:]
    return proc


def my_writer(home, host: str, first: int, seconds: int) -> subprocess.Popen:
    """A client writing one row per transaction as an application (not root: root
    passes read_only), printing each acknowledged id."""
    loop = (f"i={first}; end=$(( $(date +%s) + {seconds} )); while [ $(date +%s) -lt $end ]; do "
            "if mariadb -uapp -papp-lab-pw -h127.0.0.1 -e \"INSERT INTO dr.t VALUES ($i)\" >/dev/null 2>&1; "
            "then echo $i; fi; i=$((i + 1)); done")
    return subprocess.Popen([*MZOPS, "lab", "exec", host, "--", "sh", "-c", loop], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, env={**os.environ, "MZOPS_HOME": str(home)})


def my_rows(home, host: str) -> set[int]:
    return {int(n) for n in my(home, host, "SELECT n FROM dr.t").stdout.split()}


def test_mariadb_protect_then_planned_failover_and_failback_lose_no_acknowledged_row(pair):
    home, inv = pair
    preview = dr(home, inv, "protect", MY_PLAN)
    assert preview.returncode == 0 and "restart: needed" in preview.stdout, preview.stdout + preview.stderr
    assert "rebuilt as a standby of labdb1-mariadb" in preview.stdout
    done = dr(home, inv, "protect", MY_PLAN, "--apply", "--restart")
    assert done.returncode == 0, done.stdout + done.stderr
    assert my(home, AWAY_DB, "SELECT @@read_only").stdout.strip() == "1"
    again = dr(home, inv, "protect", MY_PLAN)
    assert again.returncode == 0 and "change:" not in again.stdout, again.stdout
    my(home, HOME_DB, "CREATE DATABASE dr; CREATE TABLE dr.t (n int PRIMARY KEY); "
                      "CREATE USER app@'127.0.0.1' IDENTIFIED BY 'app-lab-pw'; GRANT INSERT, SELECT ON dr.* TO app@'127.0.0.1'")
    status = json.loads(dr(home, inv, "status", MY_PLAN, "--json").stdout)[0]["pairs"][0]
    assert status["state"] == "protected", status
    # an application cannot write to the replica
    refused = run_mzops("lab", "exec", AWAY_DB, "--", "mariadb", "-uapp", "-papp-lab-pw", "-h127.0.0.1", "-e",
                        "INSERT INTO dr.t VALUES (-1)", home=home)
    assert refused.returncode != 0 and "read-only" in refused.stderr.lower() + refused.stdout.lower()

    client = my_writer(home, HOME_DB, 1, 8)
    run_mzops("lab", "exec", HOME_DB, "--", "sleep", "2", home=home)
    over = dr(home, inv, "failover", MY_PLAN, "--planned", "--yes", "--json")
    assert over.returncode == 0, over.stdout[-3000:] + over.stderr[-2000:]
    record = json.loads(over.stdout)
    assert all(s["result"] == "ok" for s in record["steps"]) and record["rpo"]["lost"] == 0
    assert app_config(home, "lab03", MY_PLAN) == {"DB_ASSET": "labdb2-mariadb", "DB_HOST": "10.77.40.11"}
    acked = acknowledged(client)
    assert len(acked) > 5 and acked <= my_rows(home, AWAY_DB), "an acknowledged row is missing at the DR site"
    assert {c["asset"]: c["role"] for c in record["components"]} == {"labdb1-mariadb": "stopped",
                                                                     "labdb2-mariadb": "primary"}

    client = my_writer(home, AWAY_DB, 100000, 8)
    run_mzops("lab", "exec", AWAY_DB, "--", "sleep", "2", home=home)
    back = dr(home, inv, "failback", MY_PLAN, "--yes", "--json")
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-2000:]
    acked = acknowledged(client)
    assert acked and acked <= my_rows(home, HOME_DB), "a row acknowledged at the DR site is missing after failback"
    assert my(home, AWAY_DB, "SELECT @@read_only").stdout.strip() == "1"
    status = json.loads(dr(home, inv, "status", MY_PLAN, "--json").stdout)[0]["pairs"][0]
    assert status["state"] == "protected" and status["primary_site"] == "primary", status
    assert my_rows(home, AWAY_DB) == my_rows(home, HOME_DB)
    drill = dr(home, inv, "drill", MY_PLAN, "--json")
    assert drill.returncode == 0 and "took a write" in drill.stdout, drill.stdout[-2000:]
    assert my(home, AWAY_DB, "SELECT @@read_only").stdout.strip() == "1"


def test_mariadb_planned_failover_waits_until_the_replica_has_the_last_transaction(pair):
    """A plain stop of a MariaDB primary kills its binary log dump threads among the
    clients, so a committed transaction still being sent never reaches the replica
    (MariaDB's SQL reference, SHUTDOWN WAIT FOR ALL SLAVES). Made certain here: the
    primary's link throttled to 1 MB/s and a 24 MB transaction committed just before
    the failover (not yet on the replica when it starts); the fence must wait until the
    replica has it, and nothing is lost."""
    home, inv = pair
    done = dr(home, inv, "protect", MY_PLAN, "--apply", "--restart")
    assert done.returncode == 0, done.stdout + done.stderr
    my(home, HOME_DB, "CREATE DATABASE dr; CREATE TABLE dr.big (n int PRIMARY KEY, pad longblob)")
    deadline = time.monotonic() + 30
    while my(home, AWAY_DB, "SELECT COUNT(*) FROM dr.big", check=False).returncode != 0:
        assert time.monotonic() < deadline, "the table did not reach the replica"
        time.sleep(0.5)
    toward_dr = next(topology.SITE_NETWORKS["dr"].hosts())
    device = f"dev=$(ip -o route get {toward_dr} | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p'); "
    throttle = run_mzops("lab", "exec", HOME_DB, "--", "sh", "-c",
                         device + 'tc qdisc replace dev "$dev" root tbf rate 8mbit burst 64kb latency 2s', home=home)
    assert throttle.returncode == 0, throttle.stderr
    try:
        my(home, HOME_DB, "SET SESSION binlog_format = ROW; "
                          "INSERT INTO dr.big SELECT seq, REPEAT('x', 400000) FROM dr.seq_1_to_60")
        # a replica applies a transaction once it has all of it: still in flight here
        assert my(home, AWAY_DB, "SELECT COUNT(*) FROM dr.big").stdout.split() == ["0"]
        over = dr(home, inv, "failover", MY_PLAN, "--planned", "--yes", "--json")
    finally:
        run_mzops("lab", "exec", HOME_DB, "--", "sh", "-c", device + 'tc qdisc del dev "$dev" root', home=home)
    assert over.returncode == 0, over.stdout[-3000:] + over.stderr[-2000:]
    record = json.loads(over.stdout)
    assert record["rpo"]["lost"] == 0, record["rpo"]
    fence = next(s for s in record["steps"] if s["name"] == "fence")
    assert fence["seconds"] > 2, f"the fence did not wait for the 24 MB to be sent: {fence}"
    assert my(home, AWAY_DB, "SELECT COUNT(*), SUM(LENGTH(pad)) FROM dr.big").stdout.split() == ["60", "24000000"]
