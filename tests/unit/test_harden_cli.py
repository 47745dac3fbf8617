"""Bad input to `mzops harden` is refused in one line, before anything connects."""

from __future__ import annotations

import pytest

from conftest import SAMPLE_INVENTORY, run_mzops


@pytest.mark.parametrize("args, message", [
    (["run", "--rules", "linux.nosuch"], "--rules: unknown rule id 'linux.nosuch'"),
    (["run", "--rules", "linux.ssh.x11", "--skip", "linux.pw.*"], "give --rules or --skip, not both"),
    (["run", "--skip", "linux.nosuch"], "--skip: unknown rule id 'linux.nosuch'"),
    (["run", "--batch", "0"], "--batch: '0' is not a list of host counts"),
    (["run", "--limit", "nosuchhost"], "--limit: 'nosuchhost' matches no asset"),
    (["run", "--limit", "firewalls"], "only firewalls selected: they are hardened by `mzops firewall push`"),
    (["run", "--limit", "fw-smc-01,smc-bastion-01", "--rules", "fw.telnet"], "--rules: unknown rule id 'fw.telnet'"),
    (["rollback", "feedc0ffee00"], "run 'feedc0ffee00': no record at"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    proc = run_mzops("-i", str(SAMPLE_INVENTORY), "harden", *args, home=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mzops: error: ") and message in lines[0], lines


def test_history_is_empty_then_lists_nothing_secret(tmp_path):
    proc = run_mzops("-i", str(SAMPLE_INVENTORY), "harden", "history", home=tmp_path)
    assert proc.returncode == 0 and proc.stdout == "no hardening runs recorded\n"
    proc = run_mzops("-i", str(SAMPLE_INVENTORY), "harden", "history", "--json", home=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == "[]"


def test_one_change_at_a_time(tmp_path, monkeypatch):
    """A second run or rollback while one holds the lock is refused, not queued."""
    from mzops.harden import run as hrun

    monkeypatch.setenv("MZOPS_HOME", str(tmp_path))
    with hrun.exclusive():
        proc = run_mzops("-i", str(SAMPLE_INVENTORY), "harden", "rollback", "feedc0ffee00", home=tmp_path)
    assert proc.returncode == 2 and "another mzops harden run or rollback holds" in proc.stderr
    proc = run_mzops("-i", str(SAMPLE_INVENTORY), "harden", "rollback", "feedc0ffee00", home=tmp_path)
    assert proc.returncode == 2 and "no record at" in proc.stderr
