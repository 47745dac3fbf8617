"""The nightly run for the scheduler: units systemd-analyze accepts, a bad time refused
before anything is written, a cron line that runs with no terminal."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import REPO, run_mzops


@pytest.fixture
def estate(tmp_path, sample_inventory):
    shutil.copytree(REPO / "backup", tmp_path / "backup")
    return sample_inventory


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze (Debian package systemd)")
def test_units_are_verified_and_written(estate, tmp_path):
    folder = tmp_path / "units"
    proc = run_mzops("-i", str(estate), "backup", "schedule", "install", "smc-system", "--at", "02:15",
                     "--folder", str(folder), home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    service = (folder / "mzops-backup.service").read_text()
    timer = (folder / "mzops-backup.timer").read_text()
    assert "OnCalendar=*-*-* 02:15:00" in timer and "Persistent=true" in timer
    assert "StandardInput=null" in service and "backup run --json smc-system" in service
    done = subprocess.run(["systemd-analyze", "verify", str(folder / "mzops-backup.timer"),
                           str(folder / "mzops-backup.service")], capture_output=True, text=True, cwd=folder)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("args,message", [(["--at", "25:30"], "--at: a time of day HH:MM"),
                                          (["nightly"], "job 'nightly': not in")])
def test_bad_input_is_refused_before_anything_is_written(estate, tmp_path, args, message):
    folder = tmp_path / "units"
    proc = run_mzops("-i", str(estate), "backup", "schedule", "install", *args, "--folder", str(folder),
                     home=tmp_path / "home")
    assert proc.returncode == 2 and message in proc.stderr and not folder.exists()
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cron_line(estate, tmp_path):
    proc = run_mzops("-i", str(estate), "backup", "schedule", "install", "--cron", "--at", "1:05", "--user", "backup",
                     "--folder", str(tmp_path / "cron.d"), home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    line = (tmp_path / "cron.d" / "mzops-backup").read_text().splitlines()[-1]
    assert line.startswith("5 1 * * * backup MZOPS_HOME=") and line.endswith("backup run --json </dev/null")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze (Debian package systemd)")
def test_monthly_drills_get_a_timer_of_their_own(estate, tmp_path):
    folder = tmp_path / "units"
    proc = run_mzops("-i", str(estate), "backup", "schedule", "install", "--drills", "monthly", "--drill-count", "3",
                     "--folder", str(folder), home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    timer = (folder / "mzops-backup-drill.timer").read_text()
    assert "OnCalendar=*-*-01 05:00:00" in timer and "Persistent=true" in timer
    assert "backup drill --random 3 --json" in (folder / "mzops-backup-drill.service").read_text()
    assert "mzops-backup.timer mzops-backup-drill.timer" in proc.stderr
    units = [str(folder / n) for n in ("mzops-backup-drill.timer", "mzops-backup-drill.service")]
    done = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, cwd=folder)
    assert done.returncode == 0, done.stderr


def test_weekly_drills_in_cron_and_an_unknown_period_refused(estate, tmp_path):
    proc = run_mzops("-i", str(estate), "backup", "schedule", "install", "--cron", "--drills", "weekly",
                     "--drill-at", "04:10", "--folder", str(tmp_path / "cron.d"), home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    line = (tmp_path / "cron.d" / "mzops-backup").read_text().splitlines()[-1]
    assert line.startswith("10 4 * * 0 root MZOPS_HOME=") and line.endswith("backup drill --random 1 --json </dev/null")
    refused = run_mzops("-i", str(estate), "backup", "schedule", "install", "--drills", "daily",
                        "--folder", str(tmp_path / "u"), home=tmp_path / "home")
    assert refused.returncode == 2 and "--drills: one of weekly, monthly" in refused.stderr
