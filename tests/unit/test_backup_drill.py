"""Restore drills of file backups (GB/T 22239-2019 8.1.4.9 a)): a random run within
retention restored into a scratch folder on the backup server, every file the tree holds
at that run compared with the SHA-256 recorded when it was written, the folder removed,
the result recorded; a flipped byte on tape or a file gone from the catalogue's tree
fails the drill. Real GNU tar, the file-backed library, the catalogue."""

from __future__ import annotations

import random

from localjob import local_job
from mzops.backup import drill, engine, report
from mzops.inventory.model import Asset, Estate


def tree_of(root):
    for n in range(30):
        (root / f"d{n % 3}").mkdir(parents=True, exist_ok=True)
        (root / f"d{n % 3}" / f"f{n}").write_bytes(bytes([n]) * (1000 + n))
    return root


def setup(tmp_path):
    tree = tree_of(tmp_path / "tree")
    policy, catalogue, target = local_job(tmp_path, [str(tree)])
    assert engine.back_up(policy, "j", None, "h", catalogue, "r0", target=target).state == "changed"
    (tree / "d0" / "f0").unlink()                                   # gone at level 1
    (tree / "d1" / "f1").write_bytes(b"changed")
    assert engine.back_up(policy, "j", None, "h", catalogue, "r1", target=target).state == "changed"
    return tree, policy, catalogue


def test_a_files_drill_restores_a_random_run_and_checks_every_file(tmp_path):
    tree, policy, catalogue = setup(tmp_path)
    scratch = tmp_path / "drills"
    results = [drill.drill(policy, catalogue, None, "j", "h", random.Random(seed), scratch=scratch)
               for seed in range(6)]
    assert all(r.passed for r in results), [r.problems for r in results]
    assert {r.point for r in results} == {"r0/j/h", "r1/j/h"}              # both runs drilled, at random
    assert {r.checked for r in results} == {"30 files against their recorded SHA-256",
                                            "29 files against their recorded SHA-256"}
    assert list(scratch.iterdir()) == []                                  # the scratch copies are gone
    estate = Estate("test", {"h": Asset("h", "host", "core", "primary")}, {}, {}, {})
    [row] = report.rows(policy, estate, catalogue, 26)
    assert row["drill"]["passed"] and row["status"].startswith("ok")
    assert "never drilled" not in report.html([row], "now")


def test_a_flipped_byte_on_tape_fails_the_drill_and_the_report_says_so(tmp_path):
    tree, policy, catalogue = setup(tmp_path)
    data = tmp_path / "lib" / "media" / "P001" / "file-3.dat"            # level 1's part (2: r0's manifest)
    raw = bytearray(data.read_bytes())
    raw[33_000] ^= 0xFF                                                  # past the 32 KiB header
    data.write_bytes(bytes(raw))
    found = next(r for r in (drill.drill(policy, catalogue, None, "j", "h", random.Random(s),
                                         scratch=tmp_path / "drills") for s in range(10)) if r.point == "r1/j/h")
    assert not found.passed and "does not match its checksum" in found.problems[0]
    estate = Estate("test", {"h": Asset("h", "host", "core", "primary")}, {}, {}, {})
    [row] = report.rows(policy, estate, catalogue, 26)
    assert row["status"].startswith("the last restore drill failed")


def test_choose_takes_named_assets_or_a_random_few():
    found = [("j", "a"), ("j", "b"), ("k", "c")]
    assert drill.choose(found, ["b"], 1, random.Random(0)) == [("j", "b")]
    assert len(drill.choose(found, [], 2, random.Random(0))) == 2
    assert drill.choose(found, [], 9, random.Random(0)) == sorted(found)
    import pytest
    from mzops.errors import InputError
    with pytest.raises(InputError, match="--asset z: no catalogued backup"):
        drill.choose(found, ["z"], 1, random.Random(0))
