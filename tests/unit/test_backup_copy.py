"""The copy job to the DR site's library: every run of a pool with `copy_to` read back
(each part's checksum checked) and written on the other library's pool; a restore and a
catalogue rebuild work there with the primary library's folder deleted; a damaged
original is never copied. Real GNU tar, two file-backed libraries, the catalogue."""

from __future__ import annotations

import shutil

import pytest

from localjob import local_job
from mzops.backup import catalogue as cat
from mzops.backup import copy, engine, offsite, restore
from mzops.backup.library import Drives, open_library
from mzops.backup.policy import LibrarySpec, PoolSpec
from mzops.backup.tape.filelibrary import FileLibrary


def contents(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def two_sites(tmp_path):
    tree = tmp_path / "tree"
    (tree / "etc").mkdir(parents=True)
    (tree / "etc" / "hosts").write_text("127.0.0.1 localhost\n")
    (tree / "etc" / "big").write_bytes(bytes(range(256)) * 4000)
    policy, catalogue, target = local_job(tmp_path, [str(tree)], {"P001": {"capacity": 500_000_000}})
    dr = FileLibrary.create(tmp_path / "dr", drives=1, slots=3)
    dr.add_cartridge(1, "Q001", capacity=500_000_000)
    policy.libraries["dr"] = LibrarySpec(site="dr", kind="file", path=str(tmp_path / "dr"), drives=1, slots=3)
    policy.pools["q"] = PoolSpec(library="dr", label="Q{n:03d}", block_size=64 * 1024)
    policy.pools["p"] = policy.pools["p"].model_copy(update={"copy_to": "q"})
    return tmp_path, tree, policy, catalogue, target


def back_up_and_copy(policy, catalogue, target, run_id):
    assert engine.back_up(policy, "j", None, "h", catalogue, run_id, target=target).state == "changed"
    drives, manifests = Drives(policy), {}
    outcomes = copy.copy_all(policy, catalogue, drives, manifests, [f"{run_id}/j/h"])
    assert engine.write_manifests(policy, catalogue, manifests, drives) == []
    return outcomes


def test_copies_restore_and_rebuild_at_the_dr_site_with_the_primary_library_gone(two_sites):
    tmp_path, tree, policy, catalogue, target = two_sites
    [first] = back_up_and_copy(policy, catalogue, target, "r0")
    assert first.state == "changed" and "on Q001 in dr" in first.message
    (tree / "etc" / "hosts").write_text("10.0.0.1 changed\n")
    (tree / "etc" / "new").write_text("added at level 1\n")
    [second] = back_up_and_copy(policy, catalogue, target, "r1")
    assert second.state == "changed" and copy.pending(policy, catalogue) == []
    steps = restore.plan(policy, catalogue, "j", "h", None, library="dr")
    assert [(s.level, [v for v, _, _ in s.parts]) for s in steps] == [(0, ["Q001"]), (1, ["Q001"])]
    shutil.rmtree(tmp_path / "lib")                       # the primary site's library is lost
    restore.restore(policy, catalogue, "j", "h", tmp_path / "out", library="dr")
    assert contents(tmp_path / "out" / tree.relative_to("/")) == contents(tree)
    # and with the catalogue lost too: rebuilt from the DR library's manifests alone
    changer, drive_of = open_library("dr", policy.libraries["dr"])
    labels, manifests, skipped = offsite.read_library(changer, drive_of)
    fresh = cat.Catalogue(f"sqlite:///{tmp_path}/fresh.sqlite")
    counts = cat.rebuild(fresh, manifests, labels, "dr")
    assert skipped == [] and counts["runs"] == 2
    restore.restore(policy, fresh, "j", "h", tmp_path / "out2", library="dr")
    assert contents(tmp_path / "out2" / tree.relative_to("/")) == contents(tree)


def test_a_damaged_original_is_not_copied(two_sites):
    tmp_path, tree, policy, catalogue, target = two_sites
    assert engine.back_up(policy, "j", None, "h", catalogue, "r0", target=target).state == "changed"
    data = tmp_path / "lib" / "media" / "P001" / "file-1.dat"
    raw = bytearray(data.read_bytes())
    raw[40_000] ^= 0xFF                                   # one bit flipped on tape, past the header
    data.write_bytes(bytes(raw))
    [(pool, run)] = copy.pending(policy, catalogue)
    outcome = copy.copy_run(policy, catalogue, pool, run, Drives(policy), {})
    assert outcome.state == "failed" and "does not match its checksum" in outcome.message
    assert [r for _, r in copy.pending(policy, catalogue)][0].id == run.id       # still to copy


def test_the_report_names_where_the_copies_are_and_a_run_without_one(two_sites):
    from mzops.backup import report
    from mzops.inventory.model import Asset, Estate
    tmp_path, tree, policy, catalogue, target = two_sites
    estate = Estate(source="test", assets={"h": Asset(name="h", kind="host", zone="core", site="primary")},
                    zones={}, sites={}, groups={})
    assert engine.back_up(policy, "j", None, "h", catalogue, "r0", target=target).state == "changed"
    [row] = report.rows(policy, estate, catalogue, 26)
    assert row["status"].startswith("no copy in dr of level 0") and row["copies"] == {}
    [(pool, run)] = copy.pending(policy, catalogue)
    assert copy.copy_run(policy, catalogue, pool, run, Drives(policy), {}).state == "changed"
    [row] = report.rows(policy, estate, catalogue, 26)
    assert row["status"] == "ok (chain not verified yet)" and row["copies"] == {"Q001": "dr"}
    assert "<td>Q001: dr</td>" in report.html([row], "now")
