"""The operation log: every command appends one record; any tampering is named."""

from __future__ import annotations

import json
import os
import socket

import pytest

from conftest import run_mzops
from mzops import oplog


@pytest.fixture
def home(tmp_path):
    return tmp_path / "home"


def records(home):
    path = home / "oplog" / "operations.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def three_commands(home):
    assert run_mzops("inventory", "list", home=home).returncode == 0
    assert run_mzops("inventory", "show", "fw-wan-01", home=home).returncode == 0
    assert run_mzops("inventory", "show", "no-such", home=home).returncode == 2
    return home / "oplog" / "operations.jsonl"


def test_each_command_appends_one_record(home):
    three_commands(home)
    got = records(home)
    assert [r["seq"] for r in got] == [1, 2, 3]
    assert got[1]["command"] == ["mzops", "inventory", "show", "fw-wan-01"]
    assert got[1]["targets"] == ["fw-wan-01"] and got[1]["result"] == "ok" and got[1]["exit_code"] == 0
    assert got[2]["exit_code"] == 2
    import pwd
    assert all(r["user"] == pwd.getpwuid(os.getuid()).pw_name and r["role"] == "unrestricted" for r in got)
    assert got[0]["prev"] == oplog.GENESIS and got[1]["prev"] == got[0]["hash"]
    assert len({r["run_id"] for r in got}) == 3
    verify = run_mzops("log", "verify", home=home)
    assert verify.returncode == 0 and "3 records, chain whole" in verify.stdout


def test_user_comes_from_the_uid_not_the_environment(home):
    assert run_mzops("inventory", "list", home=home, env={"USER": "someone-else", "LOGNAME": "someone-else"}).returncode == 0
    assert records(home)[0]["user"] != "someone-else"


def rewrite(path, lines):
    path.write_text("".join(json.dumps(line, sort_keys=True) + "\n" if isinstance(line, dict) else line
                            for line in lines))


@pytest.mark.parametrize("tamper, expected", [
    ("edit", "line 2: record 2 was edited"),
    ("delete", "line 2: record seq 3 where 2 was due"),
    ("reorder", "line 2: record seq 3 where 2 was due"),
    ("truncate", "records removed from the end (truncated)"),
    ("garbage", "line 2: not a JSON record"),
])
def test_tampering_is_detected_and_named(home, tamper, expected):
    path = three_commands(home)
    lines = path.read_text().splitlines(keepends=True)
    if tamper == "edit":
        record = json.loads(lines[1])
        record["result"] = "refused"
        lines[1] = json.dumps(record, sort_keys=True) + "\n"
    elif tamper == "delete":
        del lines[1]
    elif tamper == "reorder":
        lines[1], lines[2] = lines[2], lines[1]
    elif tamper == "truncate":
        del lines[2]
    elif tamper == "garbage":
        lines[1] = "this is not json\n"
    path.write_text("".join(lines))
    verdict = oplog.verify(path)
    assert not verdict.whole and expected in verdict.problem
    proc = run_mzops("log", "verify", home=home)
    assert proc.returncode == 1 and expected in proc.stderr


def test_recomputed_hash_still_breaks_the_chain(home):
    """Editing a record and fixing its own hash is caught by the next record's link."""
    path = three_commands(home)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    lines[1]["result"] = "ok"
    lines[1]["command"] = ["mzops", "inventory", "list"]
    lines[1]["hash"] = oplog.record_hash(lines[1])
    rewrite(path, lines)
    verdict = oplog.verify(path)
    assert not verdict.whole and "line 3: record 3 does not follow" in verdict.problem


def test_log_show_json_and_since(home):
    three_commands(home)
    proc = run_mzops("log", "show", "--json", home=home)
    assert proc.returncode == 0 and len(json.loads(proc.stdout)) == 3  # show itself is logged after it prints
    future = run_mzops("log", "show", "--json", "--since", "2999-01-01", home=home)
    assert json.loads(future.stdout) == []
    bad = run_mzops("log", "show", "--since", "yesterday-ish", home=home)
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_records_forwarded_to_syslog(home):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        port = sock.getsockname()[1]
        assert run_mzops("inventory", "list", home=home, env={"MZOPS_OPLOG_SYSLOG": f"udp://127.0.0.1:{port}"}).returncode == 0
        message = sock.recv(65536).decode()
    assert message.startswith("<86>mzops[")
    forwarded = json.loads(message.split("]: ", 1)[1])
    assert forwarded["hash"] == records(home)[0]["hash"]


def test_a_deleted_log_or_head_is_never_a_whole_chain(home):
    path = three_commands(home)
    head = oplog.head_path(path)
    saved = head.read_text()
    head.unlink()
    verdict = oplog.verify(path)
    assert not verdict.whole and "head anchor missing" in verdict.problem
    head.write_text(saved)
    path.unlink()
    verdict = oplog.verify(path)
    assert not verdict.whole and "the log is gone" in verdict.problem
    proc = run_mzops("log", "verify", home=home)
    assert proc.returncode == 1 and "the log is gone" in proc.stderr


def test_log_show_names_a_damaged_line_and_survives_an_edited_time(home):
    path = three_commands(home)
    lines = path.read_text().splitlines(keepends=True)
    edited = json.loads(lines[0])
    edited["time"] = "last tuesday"
    lines[0] = json.dumps(edited, sort_keys=True) + "\n"
    lines[1] = "{not json\n"
    path.write_text("".join(lines))
    shown = run_mzops("log", "show", "--since", "2020-01-01", home=home)
    assert shown.returncode == 0, shown.stderr
    assert "line 2: not a record: {not json" in shown.stdout and "damaged" in shown.stdout
    assert "last tuesday (?)" in shown.stdout and "None" not in shown.stdout
    assert shown.stderr.strip() == "mzops: 1 damaged line(s) in the log (line 2 first): run `mzops log verify`"
    assert " UTC " in shown.stdout, "times carry their zone"
