"""Property: whatever happens to a tree between runs (files added, changed, deleted,
renamed; directories renamed, also two swapped in a cycle; hard links; sparse files;
names that are not UTF-8), backing it up at levels 0..n through mzops's engine (real
GNU tar with --listed-incremental, the file-backed tape, the catalogue) and restoring
the chain that ends at each level gives exactly the tree as it was at that level.

The engine runs here with its `LocalTarget` (sh instead of ssh): the scripts, tar, tape
and catalogue are the ones a lab host's backup uses.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from localjob import local_job
from mzops.backup import engine, restore

NAMES = st.sampled_from([b"a", b"b", b"c", b"d\xff\xfe", "\u65e5\u5fd7".encode(), b"sp ace", b"x.y"])
DIRS = st.sampled_from([b"", b"d1", b"d2", b"d1/sub"])
OPS = st.one_of(
    st.tuples(st.just("write"), DIRS, NAMES, st.binary(max_size=3000)),
    st.tuples(st.just("delete"), DIRS, NAMES),
    st.tuples(st.just("rename"), DIRS, NAMES, NAMES),
    st.tuples(st.just("swapdirs")),
    st.tuples(st.just("link"), DIRS, NAMES, NAMES),
    st.tuples(st.just("sparse"), DIRS, NAMES, st.integers(1, 4)),
)


def apply(root: bytes, op: tuple) -> None:
    kind = op[0]
    if kind == "swapdirs":          # d1 -> tmp, d2 -> d1, tmp -> d2: a cyclic rename
        a, b, t = (os.path.join(root, n) for n in (b"d1", b"d2", b"tmp-swap"))
        if os.path.isdir(a) and os.path.isdir(b):
            os.rename(a, t)
            os.rename(b, a)
            os.rename(t, b)
        return
    folder = os.path.join(root, op[1])
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, op[2])
    if os.path.isdir(path):
        return
    if kind == "write":
        with open(path, "wb") as out:
            out.write(op[3])
    elif kind == "delete":
        if os.path.lexists(path):
            os.unlink(path)
    elif kind == "rename":
        target = os.path.join(folder, op[3])
        if os.path.isfile(path) and not os.path.isdir(target):
            os.replace(path, target)
    elif kind == "link":
        target = os.path.join(folder, op[3])
        if os.path.isfile(path) and not os.path.lexists(target):
            os.link(path, target)
    elif kind == "sparse":
        with open(path, "wb") as out:
            out.seek(op[3] * 1024 * 1024)
            out.write(b"end")


def snapshot(root: bytes) -> dict[bytes, tuple]:
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root)
            info = os.lstat(path)
            if stat.S_ISDIR(info.st_mode):
                out[rel] = ("dir",)
            else:
                with open(path, "rb") as handle:
                    out[rel] = ("file", handle.read())
    return out


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(OPS, min_size=1, max_size=6), min_size=2, max_size=4))
def test_each_level_restores_exactly_its_tree(levels):
    with tempfile.TemporaryDirectory(prefix="mzops-prop-") as work:
        work = Path(work)
        tree = work / "tree"
        tree.mkdir()
        policy, catalogue, target = local_job(work, [str(tree)])
        expected, previous = [], None
        for number, ops in enumerate(levels):
            for op in ops:
                apply(os.fsencode(tree), op)
            outcome = engine.back_up(policy, "j", None, "h", catalogue, f"run{number}", target=target,
                                     requested=None if number else "full")
            assert outcome.state == "changed", outcome.message
            # the next level, or a full where GNU tar's incremental would not restore right
            level = outcome.record["level"]
            assert level == (0 if previous is None else previous + 1) or (
                level == 0 and any("a full instead" in w for w in outcome.record["warnings"])), outcome.record
            previous = level
            expected.append(snapshot(os.fsencode(tree)))
        for number in range(len(levels)):
            out = work / f"out{number}"
            restore.restore(policy, catalogue, "j", "h", out, run=f"run{number}/j/h")
            restored = os.fsencode(out / str(tree).lstrip("/"))
            assert snapshot(restored) == expected[number], number
            # the catalogue's names are the file system's bytes, its checksums the files' (libarchive's
            # reading of the stream, checked against what tar restored)
            for row in catalogue.files_of(f"run{number}/j/h"):
                if row.kind == "file":
                    content = Path(os.fsdecode(os.fsencode(out) + b"/" + row.raw)).read_bytes()
                    assert hashlib.sha256(content).hexdigest() == row.sha256, row.raw
        shutil.rmtree(work / "lib")


def test_gnu_tar_missing_a_recreated_directory_takes_a_full(tmp_path):
    """GNU tar 1.34: after swapping two directories, a directory made again under the
    old name is recorded as unchanged and its files are not dumped. The engine sees the
    directory missing from the new snapshot and takes a full instead of a broken level."""
    tree = tmp_path / "tree"
    (tree / "d1" / "sub").mkdir(parents=True)
    (tree / "d2").mkdir()
    (tree / "d2" / "a").write_bytes(b"")
    (tree / "d1" / "sub" / "a").write_bytes(b"old")
    policy, catalogue, target = local_job(tmp_path, [str(tree)])
    assert engine.back_up(policy, "j", None, "h", catalogue, "r0", target=target).record["level"] == 0
    apply(os.fsencode(tree), ("swapdirs",))
    apply(os.fsencode(tree), ("write", b"d1/sub", b"a", b"new"))
    second = engine.back_up(policy, "j", None, "h", catalogue, "r1", target=target)
    assert second.record["level"] == 0 and "GNU tar incremental defect" in second.record["warnings"][0]
    restore.restore(policy, catalogue, "j", "h", tmp_path / "out", run="r1/j/h")
    assert (tmp_path / "out" / str(tree).lstrip("/") / "d1" / "sub" / "a").read_bytes() == b"new"


def test_directories_swapped_back_take_a_full(tmp_path):
    """GNU tar 1.34: swap two directories, back them up, swap them back: restoring the
    third level gives the second level's tree. A level after directory renames is
    replaced by a full."""
    tree = tmp_path / "tree"
    (tree / "d1").mkdir(parents=True)
    (tree / "d2").mkdir()
    (tree / "d1" / "a").write_bytes(b"X")
    (tree / "d2" / "a").write_bytes(b"")
    policy, catalogue, target = local_job(tmp_path, [str(tree)])
    levels = []
    for number in range(3):
        if number:
            apply(os.fsencode(tree), ("swapdirs",))
        levels.append(engine.back_up(policy, "j", None, "h", catalogue, f"r{number}", target=target).record["level"])
    assert levels == [0, 0, 0]
    restore.restore(policy, catalogue, "j", "h", tmp_path / "out", run="r2/j/h")
    assert (tmp_path / "out" / str(tree).lstrip("/") / "d1" / "a").read_bytes() == b"X"
