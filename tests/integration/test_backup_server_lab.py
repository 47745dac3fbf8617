"""The lab's backup servers (`lab up --backup`): mzops run as labbk1, at the primary
site's management zone, backs up the lab's hosts over the lab network (each client sees
the SSH connection come from labbk1's address), through its spool onto its two drives,
and copies every run to the DR site's library; then, with the primary library gone,
labbk2 at the DR site rebuilds a catalogue of its own from the DR library's cartridges
and restores a host's files from them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import run_mzops

pytestmark = pytest.mark.lab


def server(home: Path, *args: str, site: str = "primary"):
    return run_mzops("lab", "server", "--site", site, "--", *args, home=home)


def test_the_backup_server_backs_up_over_the_lab_network_and_the_dr_server_restores(lab, lab_session, tmp_path):
    home = lab_session.home
    status = json.loads(run_mzops("lab", "status", "--json", home=home).stdout)
    servers = {h["name"]: h for h in status["hosts"] if h["backup"]}
    assert sorted(servers) == ["labbk1", "labbk2"] and status["backup"]
    proc = server(home, "backup", "run", "lab-system", "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    outcomes = json.loads(proc.stdout)["outcomes"]
    backed_up = sorted(o["target"] for o in outcomes if "copy_of" not in o)
    copied = sorted(o["target"] for o in outcomes if "copy_of" in o)
    assert backed_up == copied and "lab01" in backed_up and all(o["state"] == "changed" for o in outcomes)
    # labbk1's SSH master to lab01 is still up (ControlPersist): lab01 sees it come from labbk1
    seen = run_mzops("lab", "exec", "lab01", "--", "ss", "-Htn", "state", "established", "( sport = :22 )",
                     home=home)
    peers = {line.split()[-1].rsplit(":", 1)[0] for line in seen.stdout.splitlines() if line.strip()}
    assert servers["labbk1"]["address"] in peers, seen.stdout
    report = json.loads(server(home, "backup", "report", "-f", "json").stdout)
    # this job's rows (other jobs may not have run in this session's lab)
    assert all(r["copies"] for r in report["assets"] if r["job"] == "lab-system"), report
    # the primary site is lost: its library, and the primary server's catalogue with it
    primary = Path(status["backup"]) / "libraries" / "primary"
    shutil.move(primary, tmp_path / "primary-library-lost")
    try:
        proc = server(home, "backup", "catalog", "rebuild", "--library", "dr-library", "--json", site="dr")
        assert proc.returncode == 0, proc.stderr
        listed = json.loads(server(home, "backup", "list", "--json", site="dr").stdout)
        assert json.loads(proc.stdout)["runs"] == len(listed)            # other jobs' runs (lab-pg) too
        assert len([r for r in listed if r["job"] == "lab-system"]) == len(backed_up)
        out = tmp_path / "restored"
        proc = server(home, "backup", "restore", "--job", "lab-system", "--asset", "lab01", "--library",
                      "dr-library", "--to", str(out), site="dr")
        assert proc.returncode == 0, proc.stderr
        assert (out / "etc" / "hostname").read_text() == "lab01\n"
        assert (out / "root" / ".ssh" / "authorized_keys").exists()
    finally:
        shutil.move(tmp_path / "primary-library-lost", primary)
