"""The run layer every capability stands on: one exit-code rule, fan-out, locks, run
records and progress events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

from mzops import run as runlayer
from mzops.run import CHANGED, FAILED, OK, REFUSED, UNREACHABLE, Outcome, Result


@pytest.mark.parametrize("states, code", [
    ((), 0), ((OK, CHANGED), 0), ((OK, UNREACHABLE), 3), ((FAILED,), 1), ((REFUSED, OK), 1),
    # a failure is never hidden behind an unreachable target
    ((UNREACHABLE, FAILED), 1), ((UNREACHABLE, REFUSED, CHANGED), 1),
])
def test_one_exit_code_rule(states, code):
    outcomes = [Outcome(f"t{i}", s) for i, s in enumerate(states)]
    assert runlayer.exit_code(outcomes) == code
    result = Result("x", "r1", outcomes)
    assert result.exit_code() == code
    assert result.failed == [o.target for o in outcomes if o.state in (FAILED, REFUSED)]
    assert result.unreachable == [o.target for o in outcomes if o.state == UNREACHABLE]


def test_a_stopped_run_fails_even_when_every_target_it_reached_is_ok():
    assert Result("harden", "r", [Outcome("a", OK)], stopped="refused before any change").exit_code() == 1


def test_an_unknown_state_is_refused():
    with pytest.raises(ValueError, match="unknown outcome state 'passed'"):
        Outcome("a", "passed")


def test_fan_out_keeps_order_bounds_workers_and_isolates_a_failing_target():
    running, peak, lock = [0], [0], threading.Lock()

    def work(n: int) -> Outcome:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        if n == 3:
            raise RuntimeError("driver blew up")
        return Outcome(str(n), OK)

    seen = []
    events = runlayer.Events([seen.append])
    got = runlayer.each(range(8), work, forks=3, events=events, outcome=lambda o: o,
                        on_error=lambda n, exc: Outcome(str(n), FAILED, str(exc)))
    assert [o.target for o in got] == [str(n) for n in range(8)]
    assert got[3].state == FAILED and got[3].message == "driver blew up"
    assert peak[0] <= 3
    assert sorted(e.outcome.target for e in seen) == sorted(str(n) for n in range(8))


def test_fan_out_without_on_error_raises_a_programming_error():
    with pytest.raises(ZeroDivisionError):
        runlayer.each([1, 0], lambda n: 1 / n, forks=2)


def test_the_run_lock_refuses_a_second_holder_and_names_the_first(tmp_path, monkeypatch):
    monkeypatch.setenv("MZOPS_HOME", str(tmp_path))
    code = ("import time, sys; from mzops import run\n"
            "with run.exclusive('backup', 'backup run'):\n"
            "    print('held', flush=True); time.sleep(5)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "MZOPS_HOME": str(tmp_path)})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(runlayer.Busy, match=r"another mzops backup run holds .*backup/\.lock \(pid \d+\)"):
            with runlayer.exclusive("backup", "backup run"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with runlayer.exclusive("backup"):   # free again once the holder is gone
        pass


def test_run_records_are_written_one_way_and_listed_newest_first(tmp_path, monkeypatch):
    monkeypatch.setenv("MZOPS_HOME", str(tmp_path))
    records = runlayer.Records("backup")
    first, second = runlayer.new_run_id(), runlayer.new_run_id()
    assert first != second
    records.save(first, {"n": 1})
    time.sleep(0.01)
    path = records.save(second, {"n": 2})
    assert path == tmp_path / "backup" / second / "run.json"
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"
    assert json.loads(path.read_text()) == {"n": 2} and records.load(first) == {"n": 1}
    assert records.history() == [second, first]
    with pytest.raises(runlayer.records.InputError, match="no record at"):
        records.load("20990101T000000-abcdef")
    with pytest.raises(runlayer.records.InputError, match="not a run id"):
        records.folder("../etc")


def test_events_reach_every_consumer_and_targets_are_kept_for_the_log():
    lines: list[str] = []
    targets = runlayer.events.Targets()
    events = runlayer.Events([targets, runlayer.events.Lines(lines.append)])
    events.begin("audit", ["a", "b"])
    events.note("auditing 2 hosts")
    events.finished(Outcome("a", OK, "73 pass", seconds=1.5))
    events.finished(Outcome("b", UNREACHABLE, "ssh: connect to host b port 22: No route to host"))
    events.end()
    assert targets.names == {"a", "b"}
    assert lines == ["auditing 2 hosts", "a: ok: 73 pass (1.50 s)",
                     "b: unreachable: ssh: connect to host b port 22: No route to host"]


def test_a_plain_progress_callback_still_works():
    said: list[str] = []
    events = runlayer.as_events(said.append)
    events("batch 1: a")
    events.finished(Outcome("a", CHANGED))
    assert said == ["batch 1: a", "a: changed"]
    assert runlayer.as_events(None).consumers == []


def test_a_record_or_lock_that_cannot_be_written_is_one_line_not_a_traceback(tmp_path, monkeypatch):
    blocker = tmp_path / "home"
    blocker.write_text("a file where the state folder should be")
    monkeypatch.setenv("MZOPS_HOME", str(blocker))
    with pytest.raises(runlayer.records.OperationFailed, match=r"home/audit/.*cannot keep the run's record: Not a directory"):
        runlayer.Records("audit").save(runlayer.new_run_id(), {})
    with pytest.raises(runlayer.lock.OperationFailed, match=r"home/harden/\.lock: cannot take the run lock"):
        with runlayer.exclusive("harden"):
            pass
