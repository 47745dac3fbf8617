"""Bad input to the backup commands: one line naming what is wrong, exit 2, before any
target, tape or catalogue is touched."""

from __future__ import annotations

import shutil

import pytest

from conftest import REPO, run_mzops


@pytest.mark.parametrize("args,message", [
    (["backup", "run", "--level", "weekly"], "--level: one of full, differential, incremental (got 'weekly')"),
    (["backup", "run", "nightly"], "job 'nightly': not in"),
    (["backup", "restore", "--job", "smc-system", "--asset", "smc-log-01", "--to", "/tmp/x", "--at", "yesterday"],
     "--at: not an ISO 8601 time: 'yesterday'"),
    (["backup", "restore", "--job", "nope", "--asset", "smc-log-01", "--to", "/tmp/x", "--dry-run"],
     "--job: no job 'nope'"),
    (["backup", "report", "-f", "pdf"], "--format: table, json or html (got 'pdf')"),
    (["backup", "tapes", "list", "--library", "nope"], "--library: no library 'nope'"),
    (["backup", "tapes", "label", "--pool", "nope", "X00001L8"], "--pool: no pool 'nope'"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, sample_inventory, args, message):
    shutil.copytree(REPO / "backup", tmp_path / "backup")
    proc = run_mzops("-i", str(sample_inventory), *args, home=tmp_path / "home")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
