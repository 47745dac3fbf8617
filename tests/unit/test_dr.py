"""DR plans (validated like the inventory), the position gate, PostgreSQL's replication
facts as the DR machinery reads them, and the replication account's secrets as a real
PostgreSQL 15 and libpq take them. The switches themselves run on the lab's two sites:
tests/integration/test_dr_lab.py."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import REPO, run_mzops
from mzops.dr import plan as plans
from mzops.dr import replication
from mzops.dr.mission import DISASTER, PLANNED, Link, Mission, Side
from mzops.engines.postgresql import pgpass_line, scram_verifier
from mzops.dr.steps import StepFailed
from mzops.engines import get
from mzops.engines.base import DOWN, PRIMARY, STANDBY, STOPPED, ReplicationState, forked
from mzops.errors import InputError
from mzops.inventory import loader

PG = get("postgresql")
SAMPLE = REPO / "backup" / "dr" / "core-records.yml"


@pytest.fixture
def estate_and_plans(tmp_path, sample_inventory):
    shutil.copytree(REPO / "backup", tmp_path / "backup")
    return loader.load(sample_inventory), sample_inventory, tmp_path / "backup" / "dr" / "core-records.yml"


def test_the_sample_plan_loads_in_its_order(estate_and_plans):
    estate, inventory, _ = estate_and_plans
    found = plans.load(inventory, "core-records", estate)
    assert [s.name for s in found.steps] == ["preflight", "fence-primary", "promote", "start-apps", "smoke", "notify"]
    assert found.pairs[0].mode == "synchronous" and found.spec.replication.max_lag_bytes == 16 << 20
    assert found.steps[1].spec.confirm and found.steps[4].params.sql
    assert found.steps[3].params.hosts == {"primary": "core-app-01", "dr": "dr-app-01"}


@pytest.mark.parametrize("old,new,message", [
    ("kind: preflight, group: 1", "kind: prefligth, group: 1", r"plan.steps.0.kind: no step kind 'prefligth'"),
    ("    - {name: promote, kind: promote, group: 2, timeout: 120}\n", "",
     r"plan.steps: a plan has a promote step"),
    ("kind: fence\n      group: 1", "kind: fence\n      group: 3", r"preflight, fence and promote run in that order"),
    ("after: [preflight]", "after: [prefight]", r"plan.steps.1.after: no step named 'prefight'"),
    ("group: 1, timeout: 60}", "group: 2, timeout: 60}", r"plan.steps.1.after: 'preflight' is in a later priority"),
    ("primary: core-pg-01, standby: dr-pg-01", "primary: core-mysql-01, standby: dr-pg-01",
     r"core-mysql-01: mzops has no replication for database engine 'mysql'"),
    ("standby: dr-pg-01", "standby: dr-pg-02", r"plan.databases.0.standby: 'dr-pg-02' is no database asset"),
    ('credentials: "vault:secret/mzops/dr/core-records#password"', "credentials: hunter2",
     r"plan.replication.credentials: a credential reference .*never the password"),
    ("wal_keep: 4GB", "wal_keep: 4 gigs", r"plan.replication.wal_keep: a size as PostgreSQL writes it"),
    ("sql: [", "sqll: [", r"plan.steps.4.sqll: Extra inputs are not permitted"),
    ("timeout: 60, sql", "timeout: -1, sql", r"plan.steps.4.timeout: Input should be greater than 0"),
    ("playbook: point-apps.yml", "playbook: start-everything.yml",
     r"plan.steps.3.playbook: no playbook 'start-everything.yml' in .*playbooks/dr"),
    ("playbook: point-apps.yml", "playbook: ../harden_linux.yml", r"plan.steps.3.playbook: String should match"),
    ("vars: {app_service: records-app}", "vars: {app_service: [a, b]}", r"plan.steps.3.vars.app_service"),
    ("mode: synchronous", "mode: sometimes", r"plan.databases.0.mode: Input should be 'asynchronous' or 'synchronous'"),
])
def test_a_wrong_plan_is_refused_naming_file_line_and_key(estate_and_plans, old, new, message):
    estate, inventory, path = estate_and_plans
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(InputError) as raised:
        plans.load(inventory, "core-records", estate)
    assert re.search(r"core-records.yml:\d+: " if "plan." in message else "core-records.yml", str(raised.value))
    assert re.search(message, str(raised.value)), str(raised.value)


def test_a_pair_at_one_site_and_steps_waiting_for_each_other_are_refused(estate_and_plans):
    estate, inventory, path = estate_and_plans
    text = path.read_text()
    path.write_text(text.replace("standby: dr-pg-01", "standby: core-pg-01"))
    with pytest.raises(InputError, match="core-pg-01 is in two pairs|same site"):
        plans.load(inventory, "core-records", estate)
    path.write_text(text.replace("{name: preflight, kind: preflight, group: 1, timeout: 60}",
                                 "{name: preflight, kind: preflight, group: 1, timeout: 60, after: [fence-primary]}"))
    with pytest.raises(InputError, match="steps that wait for each other: preflight, fence-primary"):
        plans.load(inventory, "core-records", estate)


def test_inventory_validate_checks_the_plans(estate_and_plans):
    _, inventory, path = estate_and_plans
    assert run_mzops("-i", str(inventory), "inventory", "validate").returncode == 0
    path.write_text(path.read_text().replace("kind: fence", "kind: fense"))
    done = run_mzops("-i", str(inventory), "inventory", "validate")
    assert done.returncode == 2 and re.search(r"core-records.yml:\d+: plan.steps.1.kind: no step kind 'fense'",
                                              done.stderr), done.stderr
    assert "Traceback" not in done.stderr


# ----------------------------------------------------------------- facts -> state

RUNNING = {"running": "true", "in_recovery": "false", "position": "0/3000148", "timeline": "2", "system": "7"}


@pytest.mark.parametrize("facts,role,position,problem", [
    (RUNNING, PRIMARY, 0x3000148, ""),
    ({**RUNNING, "in_recovery": "true", "position": "0/3000060", "receiver": "streaming 10.0.0.1 5432",
      "replay_paused": "not paused"}, STANDBY, 0x3000060, ""),
    ({**RUNNING, "in_recovery": "true", "position": "0/3000060", "receiver": "waiting 10.0.0.1 5432",
      "replay_paused": "not paused"}, STANDBY, 0x3000060, "not streaming from a primary (waiting)"),
    ({**RUNNING, "in_recovery": "true", "position": "0/3000060", "receiver": "streaming 10.0.0.1 5432",
      "replay_paused": "paused"}, STANDBY, 0x3000060, "replay is paused"),
    # pg_controldata of a server stopped by `pg_ctl stop -m fast` (src/bin/pg_controldata: DBState names)
    ({"running": "false", "cluster_state": "shut down", "checkpoint": "0/30254A0", "checkpoint_timeline": "1"},
     STOPPED, 0x30254A0, ""),
    ({"running": "false", "cluster_state": "in production", "checkpoint": "0/3000028"}, DOWN, 0x3000028,
     "stopped without a clean shutdown"),
    ({"running": "false", "cluster_state": "shut down", "checkpoint": "0/1", "postmaster": "alive",
      "said": "FATAL: too many connections"}, DOWN, None, "the postmaster runs but does not answer"),
    ({"running": "false", "control": "none", "said": "no such cluster"}, DOWN, None, "control file cannot be read"),
])
def test_replication_facts_become_a_state(facts, role, position, problem):
    state = PG.replication_state("db", facts)
    assert (state.role, state.position) == (role, position)
    assert problem in state.problem and (problem or not state.problem)


def test_a_timeline_is_read_where_the_server_says_it_and_unknown_is_never_timeline_0():
    standby = PG.replication_state("db", {**RUNNING, "in_recovery": "true", "timeline": "1",
                                          "receiver": "waiting 10.0.0.1 5432"})
    assert standby.timeline == 1
    # pg_controldata without a "Latest checkpoint's TimeLineID" line (src/bin/pg_controldata)
    stopped = PG.replication_state("db", {"running": "false", "cluster_state": "shut down", "checkpoint": "0/1"})
    assert stopped.role == STOPPED and stopped.timeline is None
    crashed = PG.replication_state("db", {"running": "false", "cluster_state": "in production",
                                          "checkpoint": "0/3000028", "checkpoint_timeline": "3"})
    assert crashed.timeline == 3


@pytest.mark.parametrize("mine,theirs,answer", [
    (1, 2, True), (2, 2, False), (None, 2, False), (2, None, False), (None, None, False)])
def test_positions_are_compared_only_on_one_timeline(mine, theirs, answer):
    assert forked(mine, theirs) is answer


def test_a_standby_replaying_a_forked_timeline_does_not_stream_from_the_primary_even_while_connected():
    """The failback trap's old primary (shared/notes/backup-dr.md): its WAL receiver
    reconnects every wal_retrieve_retry_interval and is 'streaming' for a moment, on
    timeline 1, while the primary writes timeline 2."""
    link = _link(None, "unknown", 0)
    link.home.asset.address = "10.0.0.1"
    link.home.state = ReplicationState("home", PRIMARY, 0x4C00000, "0/4C00000", timeline=2)
    trapped = ReplicationState("away", STANDBY, 0x4906198, "0/4906198", timeline=1, following="10.0.0.1",
                               streaming=True)
    assert not replication.streams_from(trapped, link.home)
    assert "replays timeline 1, home writes timeline 2" in replication.fork_text(trapped, link.home)
    trapped.timeline = 2
    assert replication.streams_from(trapped, link.home) and not replication.fork_text(trapped, link.home)


def test_a_standby_stopped_cleanly_says_it_was_one_and_rewind_needs_hints_or_checksums():
    state = PG.replication_state("db", {"running": "false", "cluster_state": "shut down in recovery",
                                        "checkpoint": "0/5000028"})
    assert state.role == STOPPED and state.was == STANDBY
    assert PG.replication_problems({"running": "true", "wal_log_hints": "off", "data_checksums": "off"})
    assert not PG.replication_problems({"running": "true", "wal_log_hints": "on", "data_checksums": "off"})
    assert not PG.replication_problems({"running": "false", "wal_log_hints": "off", "checksum_version": "1"})


# ----------------------------------------------------------------- the gate

def _link(source_last: int | None, basis: str, replayed: int) -> Link:
    def side(name):
        return Side(asset=type("A", (), {"name": name})(), server=None, engine=PG, target=None)
    link = Link(pair=None, home=side("home"), away=side("away"))
    link.source, link.target = link.home, link.away
    link.source_last, link.source_last_text, link.source_last_basis = source_last, hex(source_last or 0), basis
    link.source_last_exact = basis == "shutdown checkpoint"
    link.source_last_timeline = 1 if source_last is not None else None
    link.target.state = ReplicationState("away", STANDBY, replayed, hex(replayed), timeline=1)
    return link


def _mission(mode: str, accept: bool = False) -> Mission:
    return Mission(plan=None, estate=None, resolver=None, mode=mode, operator="op", run_id="r", accept_loss=accept)


@pytest.mark.parametrize("last,basis,replayed,mode,accept,lost", [
    (100, "shutdown checkpoint", 101, PLANNED, False, 0),     # replayed past the shutdown checkpoint
    (100, "shutdown checkpoint", 100, PLANNED, False, None),  # at its start only: the record is not replayed
    (100, "last seen", 100, DISASTER, False, 0),
    (100, "last seen", 90, DISASTER, False, None),
    (100, "last seen", 90, DISASTER, True, 10),
    (None, "unknown", 90, DISASTER, False, None),
    (None, "unknown", 90, PLANNED, True, None),
])
def test_the_gate_promotes_only_a_standby_that_has_the_old_primarys_last_position(last, basis, replayed, mode,
                                                                                  accept, lost):
    link, mission = _link(last, basis, replayed), _mission(mode, accept)
    if lost is None and not (accept and mode == DISASTER):
        with pytest.raises(StepFailed, match="not promoted|not known"):
            mission.gate(link)
        return
    mission.gate(link)
    assert link.lost_bytes == lost
    assert bool(mission.notes) == (mode == DISASTER and accept), "an accepted loss is recorded with the name"


@pytest.mark.parametrize("mode,accept", [(PLANNED, False), (DISASTER, False), (PLANNED, True), (DISASTER, True)])
def test_the_gate_refuses_a_candidate_on_another_timeline_even_when_its_number_looks_ahead(mode, accept):
    """An old primary that never rewound replays its own timeline, at a position that
    may be past the new primary's: promoted, it would drop every row written since the
    fork (the 50,001 rows of shared/notes/backup-dr.md)."""
    link, mission = _link(100, "last seen", 500), _mission(mode, accept)
    link.source_last_timeline, link.target.state.timeline = 2, 1
    if mode == DISASTER and accept:
        mission.gate(link)
        assert link.lost_bytes is None and "timeline 1" in mission.notes[0] and "op" in mission.notes[0]
        return
    with pytest.raises(StepFailed, match="replays timeline 1, home's last position 0x64 is on timeline 2"):
        mission.gate(link)
    link.target.state.timeline = 2
    mission.gate(link)
    assert link.lost_bytes == 0


@pytest.mark.parametrize("side", ["source", "target"])
def test_the_gate_refuses_a_postgresql_position_whose_timeline_is_not_known(side):
    """Fail closed: a position without its timeline cannot be shown to be on the same
    history as the other side's."""
    link, mission = _link(100, "last seen", 500), _mission(PLANNED)
    if side == "source":
        link.source_last_timeline = None
    else:
        link.target.state.timeline = None
    with pytest.raises(StepFailed, match="a position without its timeline does not show what it has; not promoted"):
        mission.gate(link)


# ----------------------------------------------------------------- secrets, as PostgreSQL takes them

BIN = Path("/usr/lib/postgresql/15/bin")


def as_postgres(*argv: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "postgres", "--", *argv], cwd="/", capture_output=True, text=True,
                          check=check, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def scram_server():
    root = Path(tempfile.mkdtemp(prefix="mzops-dr-"))
    os.chmod(root, 0o755)
    shutil.chown(root, "postgres")
    data = root / "data"
    as_postgres(str(BIN / "initdb"), "-D", str(data), "-A", "peer", "--no-sync")
    (data / "pg_hba.conf").write_text("local all postgres peer\nlocal all all scram-sha-256\n")
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(f"port = 55433\nlisten_addresses = ''\nunix_socket_directories = '{root}'\nfsync = off\n"
                   "log_statement = 'all'\n")
    as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "start")
    yield root
    as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop", check=False)
    shutil.rmtree(root, ignore_errors=True)


def test_the_verifier_and_the_password_file_let_the_account_in_and_the_log_never_sees_the_password(scram_server):
    root, password = scram_server, "dr:pass\\word with spaces"
    verifier = scram_verifier(password)
    as_postgres(str(BIN / "psql"), "-XAtq", "-h", str(root), "-p", "55433", "-d", "postgres", "-c",
                f"CREATE ROLE mzops_replication LOGIN PASSWORD '{verifier}'")
    passfile = root / "pgpass"
    passfile.write_text(pgpass_line("mzops_replication", password) + "\n")
    shutil.chown(passfile, "postgres")
    passfile.chmod(0o600)
    login = ["psql", "-XAtq", "-h", str(root), "-p", "55433", "-U", "mzops_replication", "-d", "postgres", "-w",
             "-c", "SELECT current_user"]
    done = as_postgres(str(BIN / login[0]), *login[1:], env={"PGPASSFILE": str(passfile)}, check=False)
    assert done.returncode == 0 and done.stdout.strip() == "mzops_replication", done.stderr
    passfile.write_text(pgpass_line("mzops_replication", password + "x") + "\n")
    wrong = as_postgres(str(BIN / login[0]), *login[1:], env={"PGPASSFILE": str(passfile)}, check=False)
    assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr
    assert password not in (root / "log").read_text()


def test_the_report_shows_every_step_the_rto_and_what_was_lost():
    from mzops.dr import report
    planned = {"run_id": "20261201T1", "plan": "p", "service": "s", "mode": "planned", "operator": "li.wei",
               "result": "ok", "started": "2026-12-01T10:00:00+00:00", "rto_seconds": 1.4,
               "rpo": {"lost": 0, "unit": ["bytes of WAL"], "basis": ["shutdown checkpoint"], "exact": True},
               "steps": [{"name": "fence", "kind": "fence", "group": 1, "started": "a", "ended": "b", "seconds": 0.5,
                          "result": "ok", "message": "db1: stopped cleanly"}],
               "notes": ["fence: answered yes by --yes (li.wei)"],
               "components": [{"asset": "db1", "site": "primary", "role": "stopped", "position": "0/3", "problem": ""}]}
    lost = {**planned, "run_id": "20261201T2", "mode": "disaster", "result": "failed", "rto_seconds": None,
            "rpo": {"lost": None, "basis": ["unknown"], "exact": False},
            "steps": [{**planned["steps"][0], "result": "failed", "message": "<db1>'s state cannot be known"}]}
    text = report.html([lost, planned], "now")
    assert "no committed row lost" in text and "unknown (unknown)" in text
    assert '<tr class="failed"><td>1</td><td>fence</td>' in text and "&lt;db1&gt;" in text
    assert text.index("20261201T2") < text.index("20261201T1"), "newest first, as given"
    assert "answered yes by --yes (li.wei)" in text and "8.1.4.9 c)" in text


# ----------------------------------------------------------------- MariaDB

MY = get("mariadb")
# boolean variables as CONCAT_WS prints them (ON/OFF), the scripts' own SELECTs as 1/0
MY_RUNNING = {"running": "true", "read_only": "OFF", "binlog_position": "0-3084-17", "slave_position": "",
              "log_bin": "ON"}
# SHOW SLAVE STATUS fields as MariaDB 10.11 prints them (sql/sql_repl.cc, show_master_info)
MY_REPLICA = {**MY_RUNNING, "read_only": "ON", "slave_position": "0-3084-15", "master": "10.77.3.12",
              "io_running": "Yes", "sql_running": "Yes", "receive_position": "0-3084-17", "behind": "0"}


@pytest.mark.parametrize("facts,role,position,problem", [
    (MY_RUNNING, PRIMARY, 17, ""),
    (MY_REPLICA, STANDBY, 15, ""),
    ({**MY_REPLICA, "io_running": "Connecting", "io_error": "error connecting to master"}, STANDBY, 15,
     "replication not running (IO Connecting, SQL Yes): error connecting to master"),
    ({**MY_REPLICA, "read_only": "OFF"}, STANDBY, 15, "read_only off: applications can write"),
    ({**MY_RUNNING, "read_only": "1"}, STANDBY, 17, "replicating from nobody"),
    ({"running": "false", "cluster_state": "shut down", "checkpoint": "0-3084-17"}, STOPPED, 17, ""),
    ({"running": "false", "cluster_state": "crashed", "checkpoint": "0-3084-17"}, DOWN, 17, "sync_binlog"),
    ({"running": "false", "postmaster": "alive", "said": "Too many connections"}, DOWN, None, "does not answer"),
    ({"running": "false", "control": "none"}, DOWN, None, "no binary log"),
])
def test_mariadb_replication_facts_become_a_state(facts, role, position, problem):
    state = MY.replication_state("db", facts)
    assert (state.role, state.position) == (role, position)
    assert problem in state.problem and (problem or not state.problem)


def test_gtid_positions_order_transactions_and_a_wrong_one_is_refused():
    from mzops.engines.mariadb import gtid_number, native_hash
    assert gtid_number("") == 0 and gtid_number("0-1-5,1-2-7") == 12
    assert gtid_number("0-1-5") < gtid_number("0-2-6"), "a new server id does not restart the count"
    with pytest.raises(ValueError):
        gtid_number("0-1")
    # the documented example: PASSWORD('password') (MariaDB KB, "PASSWORD")
    assert native_hash("password") == "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"


def test_a_synchronous_mariadb_pair_is_refused_and_mysql_has_no_replication(estate_and_plans):
    estate, inventory, path = estate_and_plans
    assert not MY.synchronous and get("mysql").replication_facts is None
    text = path.read_text().replace("core-pg-01", "core-mysql-01")
    path.write_text(text)
    with pytest.raises(InputError, match="no replication for database engine 'mysql'"):
        plans.load(inventory, "core-records", estate)


def test_the_mariadb_password_is_a_string_literal_and_its_hash_what_the_server_stores():
    secrets = MY.replication_secrets("mzops_replication", "it's a\\b")
    assert secrets["MZOPS_PASSWORD"] == "it''s a\\\\b"      # inside '...': quote doubled, backslash escaped
    assert secrets["MZOPS_HASH"].startswith("*") and len(secrets["MZOPS_HASH"]) == 41


def test_a_play_runs_at_the_site_that_took_over():
    from mzops.dr.steps import play

    mapped = play.Params(playbook="point-apps.yml", hosts={"primary": "core-app-01", "dr": "dr-app-01"})
    assert play.pattern_for(mapped, "dr") == "dr-app-01" and play.pattern_for(mapped, "primary") == "core-app-01"
    with pytest.raises(StepFailed, match="no pattern for the backup site"):
        play.pattern_for(mapped, "backup")
    pattern = play.Params(playbook="point-apps.yml", hosts="{site}:&zone_core:&hosts")
    assert play.pattern_for(pattern, "dr") == "dr:&zone_core:&hosts"


@pytest.mark.parametrize("source_position, target_position, message", [
    (None, 100, "home did not say its log position"),        # read as 0, it passed the lag check once
    (100, None, "away did not say its log position"),
    (5000, 100, "away is 4900 bytes of WAL behind home"),
    (100, 5000, "away: it replays timeline 1, home writes timeline 2"),     # ahead, on another history
])
def test_a_planned_preflight_compares_only_positions_both_servers_gave(monkeypatch, source_position,
                                                                       target_position, message):
    from types import SimpleNamespace

    from mzops.dr import mission as mission_module
    from mzops.dr.steps import preflight

    link = _link(None, "unknown", 0)
    forks = "timeline" in message
    link.source.state = ReplicationState("home", PRIMARY, source_position, str(source_position), timeline=2)
    link.target.state = ReplicationState("away", STANDBY, target_position, str(target_position),
                                         timeline=1 if forks else 2)
    monkeypatch.setattr(mission_module, "read_state", lambda side, timeout=None: side.state)
    mission = _mission(PLANNED)
    mission.links = [link]
    mission.plan = SimpleNamespace(name="p", spec=SimpleNamespace(replication=SimpleNamespace(max_lag_bytes=1000,
                                                                                    max_lag_transactions=10)))
    with pytest.raises(StepFailed, match=message):
        preflight.run(mission, None)


# ----------------------------------------------------------------- a standby to back up from

def _standby_states(monkeypatch, states: list[ReplicationState], primary: ReplicationState):
    """replication.current_standby with the standby answering STATES in turn."""
    from types import SimpleNamespace
    sides = {}

    def side_of(estate, name, resolver):
        side = Side(asset=SimpleNamespace(name=name, address="10.0.0.1" if name == "db" else "10.0.0.2"),
                    server=None, engine=PG, target=None)
        sides[name] = side
        return side

    answers = iter(states)

    def read_state(side, timeout=30):
        side.state = primary if side.name == "db" else next(answers)
        return side.state
    monkeypatch.setattr(replication, "side_of", side_of)
    monkeypatch.setattr(replication, "read_state", read_state)
    return replication.current_standby(None, None, SimpleNamespace(primary="db", standby="db-dr"), wait=5)


def _standby(position: int, timeline: int = 2, **kw) -> ReplicationState:
    return ReplicationState("db-dr", STANDBY, position, hex(position), timeline=timeline, following="10.0.0.1",
                            streaming=True, **kw)


PRIMARY_AT = ReplicationState("db", PRIMARY, 1000, "0/3E8", timeline=2)


def test_a_backup_reads_the_standby_once_it_has_replayed_what_the_primary_had(monkeypatch):
    side, why = _standby_states(monkeypatch, [_standby(900), _standby(1000)], PRIMARY_AT)
    assert side is not None and side.name == "db-dr" and why == ""


@pytest.mark.parametrize("state,reason", [
    (_standby(1000, timeline=1), "replays timeline 1, db writes timeline 2"),
    (_standby(1000, problem="replay is paused"), "db-dr: replay is paused"),
    (ReplicationState("db-dr", PRIMARY, 2000, "0/7D0", timeline=3), "does not stream from db: primary"),
])
def test_a_standby_that_is_not_current_is_not_read(monkeypatch, state, reason):
    side, why = _standby_states(monkeypatch, [state], PRIMARY_AT)
    assert side is None and reason in why


def test_a_standby_still_behind_after_the_wait_is_not_read(monkeypatch):
    monkeypatch.setattr(replication.time, "sleep", lambda s: None)
    clock = iter(range(0, 100, 2))
    monkeypatch.setattr(replication.time, "monotonic", lambda: next(clock))
    side, why = _standby_states(monkeypatch, [_standby(900)] * 50, PRIMARY_AT)
    assert side is None and "db-dr is 100 bytes of WAL behind db after 5 s" in why
