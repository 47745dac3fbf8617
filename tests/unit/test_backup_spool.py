"""The disk spool and the drives: a stream spooled in segments goes to tape one part per
segment; a write error mid-job is met by writing the part again, from the spool, on the
next volume (Bacula's storage daemon does the same with its spooled data: a volume
in error is given up and the job goes on on another); without a spool the run fails and
nothing is catalogued; several jobs write on several drives at once, never on one volume.
Real GNU tar, the file-backed library (st semantics), the catalogue."""

from __future__ import annotations

import os
import stat

import pytest

from localjob import local_job
from mzops import run as runlayer
from mzops.backup import engine, restore, spool
from mzops.backup.catalogue import Run
from mzops.backup.library import Drives
from mzops.backup.tape.filedrive import Cartridge
from mzops.backup.tape.filelibrary import FileLibrary

MiB = 1024 ** 2


def tree_of(root, files: int, size: int):
    for n in range(files):
        folder = root / f"d{n % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{n}").write_bytes(os.urandom(size))
    return root


def contents(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def runs(catalogue):
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload
    with catalogue.session() as session:
        return {r.id: r for r in session.scalars(select(Run).options(selectinload(Run.parts)))}


def test_segments_split_a_stream_and_are_private(tmp_path):
    chunks = [b"a" * 700_000, b"b" * 900_000, b"c" * 10]
    found = []
    for path in spool.segments(chunks, tmp_path / "spool", "s", MiB):
        found.append((path.name, path.stat().st_size, stat.S_IMODE(path.stat().st_mode)))
    assert found == [("s.1.spool", MiB, 0o600), ("s.2.spool", 1_600_010 - MiB, 0o600)]
    assert stat.S_IMODE((tmp_path / "spool").stat().st_mode) == 0o700


def test_a_spooled_stream_is_one_part_per_segment_and_the_spool_is_emptied(tmp_path):
    tree = tree_of(tmp_path / "tree", 40, 100_000)                  # ~4 MB of tar
    policy, catalogue, target = local_job(tmp_path, [str(tree)], {"P001": {"capacity": 500_000_000}},
                                          spool={"directory": str(tmp_path / "spool"), "segment_size": "1MiB"})
    outcome = engine.back_up(policy, "j", None, "h", catalogue, "r0", target=target)
    assert outcome.state == "changed", outcome.message
    parts = runs(catalogue)["r0/j/h"].parts
    assert len(parts) == 4 and all(p.bytes == MiB for p in parts[:-1]) and parts[-1].bytes <= MiB
    assert [p.tape_file for p in parts] == [1, 2, 3, 4]
    assert list((tmp_path / "spool").iterdir()) == []
    restore.restore(policy, catalogue, "j", "h", tmp_path / "out")
    assert contents(tmp_path / "out" / tree.relative_to("/")) == contents(tree)


def test_a_write_error_mid_job_rewrites_the_part_on_the_next_volume(tmp_path):
    tree = tree_of(tmp_path / "tree", 30, 100_000)
    policy, catalogue, target = local_job(tmp_path, [str(tree)], {"P001": {"capacity": 500_000_000},
                                                                 "P002": {"capacity": 500_000_000}},
                                          spool={"directory": str(tmp_path / "spool"), "segment_size": "1MiB"})
    cart = tmp_path / "lib" / "media" / "P001"
    meta = Cartridge.read(cart)
    meta.fail_write_after = 20          # counted per load: the label, the header, 18 records of part 1
    meta.save(cart)
    outcome = engine.back_up(policy, "j", None, "h", catalogue, "r0", target=target)
    assert outcome.state == "changed", outcome.message
    assert "part 1 on P001" in outcome.message and "written again on P002" in outcome.message
    run = runs(catalogue)["r0/j/h"]
    assert [(p.number, p.volume, p.tape_file) for p in run.parts] == [(1, "P002", 1), (2, "P002", 2),
                                                                      (3, "P002", 3)]
    volumes = {v.barcode: v for v in catalogue.volumes()}
    assert volumes["P001"].state == "error" and "write error on P001" in volumes["P001"].problem
    restore.restore(policy, catalogue, "j", "h", tmp_path / "out")
    assert contents(tmp_path / "out" / tree.relative_to("/")) == contents(tree)
    # a volume in error is never written again, and retention never recycles it
    assert engine.back_up(policy, "j", None, "h", catalogue, "r1", target=target).state == "changed"
    assert {p.volume for p in runs(catalogue)["r1/j/h"].parts} == {"P002"}


def test_without_a_spool_a_write_error_fails_the_run_and_the_volume_is_given_up(tmp_path):
    tree = tree_of(tmp_path / "tree", 10, 100_000)
    policy, catalogue, target = local_job(tmp_path, [str(tree)], {"P001": {"capacity": 500_000_000},
                                                                 "P002": {"capacity": 500_000_000}})
    cart = tmp_path / "lib" / "media" / "P001"
    meta = Cartridge.read(cart)
    meta.fail_write_after = 5
    meta.save(cart)
    outcome = engine.back_up(policy, "j", None, "h", catalogue, "r0", target=target)
    assert outcome.state == "failed" and "without a spool the part cannot be written again" in outcome.message
    assert runs(catalogue) == {} and not (tmp_path / "state" / "j" / "level-0.snar").exists()
    assert {v.barcode: v.state for v in catalogue.volumes()} == {"P001": "error"}
    again = engine.back_up(policy, "j", None, "h", catalogue, "r1", target=target)
    assert again.state == "changed" and again.record["level"] == 0 and "P002" in again.message


@pytest.mark.parametrize("spooled", [False, True], ids=["direct", "spooled"])
def test_jobs_write_on_two_drives_at_once_each_on_its_own_volume(tmp_path, spooled):
    trees = [tree_of(tmp_path / f"tree{n}", 60, 200_000) for n in range(2)]
    policy, catalogue, _ = local_job(tmp_path, [str(trees[0])], {"P001": {"capacity": 500_000_000},
                                                                "P002": {"capacity": 500_000_000}},
                                     drives=2, **({"spool": {"directory": str(tmp_path / "spool"),
                                                             "segment_size": "2MiB"}} if spooled else {}))
    policy.jobs["k"] = policy.jobs["j"].model_copy(update={"paths": [str(trees[1])]})
    drives, manifests = Drives(policy), {}
    targets = {"j": engine.LocalTarget("h", str(tmp_path / "state")),
               "k": engine.LocalTarget("h", str(tmp_path / "state"))}
    outcomes = runlayer.each(["j", "k"], lambda job: engine.back_up(
        policy, job, None, "h", catalogue, "r0", target=targets[job], drives=drives, manifests=manifests), 2)
    assert [o.state for o in outcomes] == ["changed", "changed"], [o.message for o in outcomes]
    by_job = {r.job: r for r in runs(catalogue).values()}
    a, b = by_job["j"], by_job["k"]
    if not spooled:                     # a drive held for the whole stream: one volume each
        assert {p.volume for p in a.parts}.isdisjoint({p.volume for p in b.parts})
    assert a.started < b.finished and b.started < a.finished          # they ran at the same time
    assert engine.write_manifests(policy, catalogue, manifests, drives) == []
    for job, tree in zip(["j", "k"], trees):
        restore.restore(policy, catalogue, job, "h", tmp_path / f"out-{job}")
        assert contents(tmp_path / f"out-{job}" / tree.relative_to("/")) == contents(tree)


def test_one_file_is_restored_by_spacing_to_it_not_by_reading_the_level(tmp_path):
    """A file near the end of a 3-part stream: the restore spaces over the records before
    it (MTFSR), so it succeeds on a cartridge that fails after 20 reads, where reading the
    whole level would take a hundred; a byte flipped inside the file on tape is caught by
    the file's own checksum."""
    tree = tree_of(tmp_path / "tree", 30, 100_000)
    last = sorted(tree.rglob("f*"))[-1]
    policy, catalogue, target = local_job(tmp_path, [str(tree)], {"P001": {"capacity": 500_000_000}},
                                          spool={"directory": str(tmp_path / "spool"), "segment_size": "1MiB"})
    assert engine.back_up(policy, "j", None, "h", catalogue, "r0", target=target).state == "changed"
    assert len(runs(catalogue)["r0/j/h"].parts) == 3
    cart = tmp_path / "lib" / "media" / "P001"
    meta = Cartridge.read(cart)
    meta.fail_read_after = 20
    meta.save(cart)
    FileLibrary(tmp_path / "lib").unload(1, 0)          # reloaded: the read count starts again
    with pytest.raises(Exception, match="read error"):
        restore.restore(policy, catalogue, "j", "h", tmp_path / "whole")
    FileLibrary(tmp_path / "lib").unload(1, 0)
    restore.restore(policy, catalogue, "j", "h", tmp_path / "one", paths=[str(last)])
    assert (tmp_path / "one" / last.relative_to("/")).read_bytes() == last.read_bytes()
    # the same file damaged on tape
    meta.fail_read_after = None
    meta.save(cart)
    offset, _, _ = catalogue.member_span("r0/j/h", str(last.relative_to("/")))
    part_start = sum(p.bytes for p in runs(catalogue)["r0/j/h"].parts[:2])
    data = cart / "file-3.dat"
    raw = bytearray(data.read_bytes())
    raw[32 * 1024 + (offset - part_start) + 3000] ^= 0xFF     # past the part's header and the file's headers
    data.write_bytes(bytes(raw))
    FileLibrary(tmp_path / "lib").unload(1, 0)
    with pytest.raises(Exception, match="does not match its checksum in the catalogue"):
        restore.restore(policy, catalogue, "j", "h", tmp_path / "damaged", paths=[str(last)])
