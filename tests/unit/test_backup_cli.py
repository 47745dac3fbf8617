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
    (["backup", "restore", "--job", "core-pg", "--asset", "core-pg-01", "--to", "dr-db-01"],
     "--at: a database is restored to a moment: give it"),
    (["backup", "restore", "--job", "core-pg", "--asset", "core-pg-01", "--to", "dr-db-01", "--at",
      "2026-12-01T10:00:00", "--path", "/etc"], "--path and --run are for files"),
    (["backup", "restore", "--asset", "core-pg-01", "--to", "dr-db-01", "--at", "2026-12-01T10:00:00"],
     "--job: core-pg-01 was backed up by no job yet"),
    (["backup", "restore", "--job", "core-pg", "--asset", "core-pg-01", "--to", "dr-db-01", "--at",
      "2026-12-01T10:00:00", "--apply"], "--apply is for --in-place"),
    (["backup", "restore", "--job", "core-pg", "--asset", "core-pg-01", "--to", "dr-db-01", "--at",
      "2026-12-01T10:00:00", "--in-place"], "--to and --in-place: a restore in place goes to the asset's own server"),
    (["backup", "restore", "--job", "core-pg", "--asset", "core-pg-01", "--at", "2026-12-01T10:00:00"],
     "--to: where the copy goes (HOST[:DIR]), or --in-place"),
    (["backup", "restore", "--job", "core-pg", "--asset", "core-pg-01", "--at", "2026-12-01T10:00:00",
      "--in-place"], "no database backup of core-pg-01 by job core-pg"),
    (["backup", "restore", "--job", "smc-system", "--asset", "smc-log-01", "--to", "/tmp/x", "--in-place"],
     "--in-place is for databases"),
    (["backup", "restore", "--job", "smc-system", "--asset", "smc-log-01"], "--to: the folder the files are"),
    (["backup", "drill", "--asset", "core-pg-01"], "--asset core-pg-01: no catalogued backup to drill"),
    (["backup", "drill", "--to", "core-pg-01"], "--to core-pg-01: not a host of"),
    (["backup", "schedule", "install", "--drills", "yearly", "--dry-run"], "--drills: one of weekly, monthly"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, sample_inventory, args, message):
    shutil.copytree(REPO / "backup", tmp_path / "backup")
    proc = run_mzops("-i", str(sample_inventory), *args, home=tmp_path / "home")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def file_policy(tmp_path):
    """The sample's pools and jobs, its libraries replaced by file-backed ones."""
    from mzops.backup.tape.filelibrary import FileLibrary
    shutil.copytree(REPO / "backup", tmp_path / "backup")
    for name in ("primary", "dr"):
        lib = FileLibrary.create(tmp_path / name, drives=2, slots=4, ie=1)
        lib.add_cartridge(1, f"{name[:3].upper()}001L8")
    (tmp_path / "backup" / "libraries.yml").write_text(
        "libraries:\n"
        f"  primary-library: {{site: primary, kind: file, path: {tmp_path / 'primary'}, drives: 2, slots: 4, ie: 1}}\n"
        f"  dr-library: {{site: dr, kind: file, path: {tmp_path / 'dr'}, drives: 2, slots: 4, ie: 1}}\n")


def test_tapes_load_and_unload(tmp_path, sample_inventory):
    import json
    file_policy(tmp_path)
    home = tmp_path / "home"

    def mz(*args):
        return run_mzops("-i", str(sample_inventory), "backup", "tapes", *args, home=home)

    def drives():
        rows = json.loads(mz("list", "--library", "primary-library", "--json").stdout)
        return [r["barcode"] for r in rows if r["element"].startswith("drive")]

    assert mz("load", "--library", "primary-library", "--drive", "1", "PRI001L8").returncode == 0
    assert drives() == [None, "PRI001L8"]
    for args, message in [(["load", "--library", "primary-library", "PRI001L8"], "PRI001L8: not in a slot of "
                            "primary-library (it is in drive 1)"),
                          (["unload", "--library", "primary-library", "--drive", "0"], "drive 0 of primary-library "
                           "is empty"),
                          (["unload", "--library", "primary-library", "--drive", "7"], "--drive: primary-library "
                           "has drives 0 to 1")]:
        proc = mz(*args)
        assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    proc = mz("unload", "--library", "primary-library", "--drive", "1")
    assert proc.returncode == 0 and "into slot 1" in proc.stderr + proc.stdout
    assert drives() == [None, None]


def test_backup_copy_with_nothing_to_copy(tmp_path, sample_inventory):
    file_policy(tmp_path)
    proc = run_mzops("-i", str(sample_inventory), "backup", "copy", home=tmp_path / "home")
    assert proc.returncode == 0 and "nothing to copy" in proc.stderr + proc.stdout


@pytest.mark.parametrize("args,message", [
    (["lab", "server", "--site", "mars", "--", "backup", "run"], "--site: one of primary, dr (got 'mars')"),
    (["lab", "server"], "no mzops arguments given (mzops lab server -- backup run)"),
])
def test_lab_server_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    proc = run_mzops(*args, home=tmp_path / "home")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
