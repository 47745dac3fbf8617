"""What goes wrong with tapes and jobs, each once: a write-protected cartridge, the wrong
cartridge behind a barcode, a job that dies midway, a chain whose volume is away, a
write error, two runs at once. The engine runs with its LocalTarget (real GNU tar, the
file-backed library, the catalogue); nothing half done is ever catalogued."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

import pytest

from conftest import REPO, run_mzops
from localjob import local_job
from mzops.backup import engine, restore
from mzops.backup.catalogue import Catalogue
from mzops.backup.tape.filedrive import Cartridge
from mzops.backup.tape.filelibrary import FileLibrary
from mzops.errors import OperationFailed


@pytest.fixture
def setup(tmp_path):
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "hosts").write_text("127.0.0.1 localhost\n")
    policy, catalogue, target = local_job(tmp_path, [str(tree)], {"P001": {"capacity": 50_000_000},
                                                                 "P002": {"capacity": 50_000_000}}, slots=3, ie=1)
    return tmp_path, tree, FileLibrary(tmp_path / "lib"), policy, catalogue, target


def run(setup, run_id="r0"):
    tmp_path, tree, lib, policy, catalogue, target = setup
    return engine.back_up(policy, "j", None, "h", catalogue, run_id, target=target)


def runs(catalogue):
    from sqlalchemy import select
    from mzops.backup.catalogue import Run
    with catalogue.session() as session:
        return list(session.scalars(select(Run)))


def test_a_write_protected_cartridge_fails_the_job_and_catalogues_nothing(setup):
    tmp_path, tree, lib, policy, catalogue, target = setup
    assert run(setup).state == "changed"                   # P001 labelled and written
    cart = tmp_path / "lib" / "media" / "P001"
    meta = Cartridge.read(cart)
    meta.write_protected = True
    meta.save(cart)
    FileLibrary(tmp_path / "lib").unload(1, 0)             # as an operator would reload it
    outcome = engine.back_up(policy, "j", None, "h", Catalogue(f"sqlite:///{tmp_path}/catalogue.sqlite"), "r1",
                             target=target)
    assert outcome.state == "failed" and "write-protected" in outcome.message
    assert [r.id for r in runs(catalogue)] == ["r0/j/h"]


def test_the_wrong_cartridge_behind_a_barcode_is_refused(setup):
    tmp_path, tree, lib, policy, catalogue, target = setup
    assert run(setup).state == "changed"
    FileLibrary(tmp_path / "lib").unload(1, 0)
    media = tmp_path / "lib" / "media"
    media.joinpath("P001").rename(media / "swap")          # the cartridges' contents swapped
    media.joinpath("P002").rename(media / "P001")
    media.joinpath("swap").rename(media / "P002")
    with pytest.raises(OperationFailed, match="wrong tape: the cartridge with barcode P001 does not carry its label"):
        restore.restore(policy, catalogue, "j", "h", tmp_path / "out")
    outcome = run(setup, "r1")
    assert outcome.state == "failed" and "wrong tape" in outcome.message


def test_a_job_that_dies_midway_leaves_nothing_and_the_next_run_is_right(setup):
    tmp_path, tree, lib, policy, catalogue, target = setup
    policy.jobs["j"].paths.append(str(tmp_path / "does-not-exist"))     # tar ends with status 2
    outcome = run(setup)
    assert outcome.state == "failed" and "tar exit 2" in outcome.message
    assert runs(catalogue) == [] and not (tmp_path / "state" / "j" / "level-0.snar").exists()
    policy.jobs["j"].paths.pop()
    assert run(setup, "r1").record["level"] == 0                        # the full is redone
    assert run(setup, "r2").record["level"] == 1


def test_a_chain_with_a_volume_away_names_it_and_where_it_is(setup):
    tmp_path, tree, lib, policy, catalogue, target = setup
    assert run(setup).state == "changed"
    lib = FileLibrary(tmp_path / "lib")
    lib.unload(1, 0)
    lib.transfer(1, 4)
    lib.remove(4)
    from mzops.backup.catalogue import Volume
    with catalogue.session() as session, session.begin():
        session.get(Volume, "P001").location = "in transit to DR site vault"
    with pytest.raises(OperationFailed, match="volume P001 is not in library lib .*in transit to DR site vault"):
        restore.restore(policy, catalogue, "j", "h", tmp_path / "out")


def test_a_write_error_fails_the_job_cleanly(setup):
    tmp_path, tree, lib, policy, catalogue, target = setup
    cart = tmp_path / "lib" / "media" / "P001"
    meta = Cartridge.read(cart)
    meta.fail_write_after = 2                              # the label and the header, then an error
    meta.save(cart)
    outcome = run(setup)
    assert outcome.state == "failed" and "write error" in outcome.message
    assert runs(catalogue) == []


def test_two_runs_at_once_the_second_is_refused(tmp_path, sample_inventory):
    """Held by another run, the lock makes `backup run` refuse before it contacts anyone."""
    from mzops import run as runlayer
    import os

    shutil.copytree(REPO / "backup", tmp_path / "backup")
    home = tmp_path / "home"
    os.environ["MZOPS_HOME"] = str(home)
    try:
        with runlayer.exclusive("backup", "backup run (the nightly one)"):
            proc = run_mzops("-i", str(sample_inventory), "backup", "run", "--json", home=home)
    finally:
        del os.environ["MZOPS_HOME"]
    # the holder's own command is named, then the one refused
    assert proc.returncode == 2 and "another mzops backup run (the nightly one) holds" in proc.stderr
    assert ".lock (pid" in proc.stderr and "this one (backup run " in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not json.loads(run_mzops("-i", str(sample_inventory), "backup", "list", "--json", home=home).stdout)
    assert Path(home / "backup").is_dir()


def test_labelling_a_cartridge_and_refusing_to_erase_a_labelled_one(setup):
    from mzops.backup import volume
    from mzops.backup.library import Mounter
    tmp_path, tree, lib, policy, catalogue, target = setup
    mounter = Mounter(policy, "p", catalogue)
    mounter.label("P002")
    assert volume.read_label(mounter.drive)["volume"] == "P002"
    assert {v.barcode: v.state for v in catalogue.volumes()} == {"P002": "append"}
    with pytest.raises(volume.FormatError, match="already labelled P002"):
        mounter.label("P002")
    mounter.label("P002", force=True)
    with pytest.raises(Exception, match="P009: not in library lib"):
        mounter.label("P009")


def test_a_path_restore_reads_only_the_levels_that_hold_it(setup):
    """An incremental holds only what changed: a file unchanged since the full comes from
    the full alone (GNU tar would stop with 'Not found in archive' on the other levels); a
    file deleted by the chosen time is refused, as is a path never backed up."""
    tmp_path, tree, lib, policy, catalogue, target = setup
    (tree / "etc" / "gone").write_text("deleted at level 2\n")
    assert run(setup, "r0").state == "changed"
    (tree / "etc" / "new").write_text("added at level 1\n")
    assert run(setup, "r1").record["level"] == 1
    (tree / "etc" / "gone").unlink()
    assert run(setup, "r2").record["level"] == 2
    hosts = str(tree / "etc" / "hosts")
    restore.restore(policy, catalogue, "j", "h", tmp_path / "out", paths=[hosts])
    out = tmp_path / "out" / tree.relative_to("/") / "etc"
    assert [p.name for p in out.iterdir()] == ["hosts"] and (out / "hosts").read_text() == "127.0.0.1 localhost\n"
    with pytest.raises(Exception, match=r"--path .*/etc/gone: not in the tree of h as of .* \(gone by then\)"):
        restore.restore(policy, catalogue, "j", "h", tmp_path / "out2", paths=[str(tree / "etc" / "gone")])
    restore.restore(policy, catalogue, "j", "h", tmp_path / "out3", paths=[str(tree / "etc" / "gone")], run="r1/j/h")
    assert (tmp_path / "out3" / tree.relative_to("/") / "etc" / "gone").read_text() == "deleted at level 2\n"
    with pytest.raises(Exception, match=r"--path /nowhere: in no backup of h"):
        restore.restore(policy, catalogue, "j", "h", tmp_path / "out4", paths=["/nowhere"])


def with_program(tmp_path, target, name: str, body: str, only=lambda command: True) -> engine.LocalTarget:
    """TARGET with program NAME replaced by a sh script of BODY, in the scripts ONLY picks."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / name).write_text("#!/bin/sh\n" + body)
    (fake / name).chmod(0o755)
    changed = engine.LocalTarget("h", target.state)
    changed.argv = lambda command, **_: (["env", f"PATH={fake}:/usr/bin:/bin", "/bin/sh", "-c", command]
                                         if only(command) else ["/bin/sh", "-c", command])
    return changed


def test_an_incremental_whose_directories_cannot_be_listed_fails_and_catalogues_nothing(setup, tmp_path):
    """The incremental is checked against the asset's directories (GNU tar's rename and
    re-created directory defects); a walk that fails is a failed job, never a check against
    fewer directories than there are."""
    _, tree, lib, policy, catalogue, target = setup
    assert run(setup).state == "changed"
    failing = with_program(tmp_path, target, "find", "echo 'find: a directory vanished' >&2\nexit 1\n")
    (tree / "etc" / "hosts").write_text("127.0.0.2 changed\n")
    outcome = engine.back_up(policy, "j", None, "h", catalogue, "r1", target=failing)
    assert outcome.state == "failed" and "directories could not be listed: find: a directory vanished" \
        in outcome.message, outcome.message
    assert [r.id for r in runs(catalogue)] == ["r0/j/h"]
    assert run(setup, "r2").record["level"] == 1                 # the level is redone, as a level 1


@pytest.mark.parametrize("level", [0, 1])
def test_a_snapshot_that_does_not_arrive_whole_fails_the_job_and_commits_nothing(setup, tmp_path, level):
    """The snapshot tar wrote comes back gzipped after the stream (CREATE, on stderr): a
    gzip that fails there (in a pipe, sh returns base64's status) must fail the job, and
    the level's snapshot on the asset stays uncommitted, never a level catalogued with a
    snapshot cut short."""
    _, tree, lib, policy, catalogue, target = setup
    if level:
        assert run(setup).state == "changed"
    # gzip's output cut after its first 20 bytes, and its failure; only in the stream's
    # script (the directory walk beside it gzips too)
    failing = with_program(tmp_path, target, "gzip", "/bin/gzip \"$@\" | head -c 20\necho 'gzip: write error' >&2\n"
                           "exit 1\n", only=lambda command: engine.SNAPSHOT_MARK in shlex.split(command))
    (tree / "etc" / "hosts").write_text("127.0.0.2 changed\n")
    outcome = engine.back_up(policy, "j", None, "h", catalogue, f"r{level}", target=failing)
    assert outcome.state == "failed" and "the snapshot could not be read" in outcome.message, outcome.message
    assert [r.id for r in runs(catalogue)] == (["r0/j/h"] if level else [])
    assert not (Path(target.state) / "j" / f"level-{level}.snar").exists()
    assert run(setup, "r9").record["level"] == level                 # the level is redone
