"""Levels and chains from the catalogue: a first run and a stale full are level 0,
incrementals climb, differentials stay at 1; a chain runs from its full; the tar
stream's members are indexed with their SHA-256 on the way to tape."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import queue
import tarfile

import pytest

from mzops.backup import engine
from mzops.backup.catalogue import Catalogue, Part, Run, Volume
from mzops.backup.policy import JobSpec

JOB = JobSpec.model_validate({"assets": ["h"], "paths": ["/srv"], "pool": "p", "retention": {"restorable_days": 35},
                              "levels": {"full_every_days": 7}})
DIFF = JobSpec.model_validate({"assets": ["h"], "paths": ["/srv"], "pool": "p", "retention": {"restorable_days": 35},
                               "levels": {"full_every_days": 7, "differential": True}})


def add(catalogue, key, level, parent, finished):
    with catalogue.session() as session, session.begin():
        if session.get(Volume, "V1") is None:
            session.add(Volume(barcode="V1", pool="p", library="l", labelled_at=finished))
        session.add(Run(id=key, run_id=key, job="j", asset="h", level=level, parent=parent, started=finished,
                        finished=finished, bytes=1, sha256="0", snapshot_gz=b"",
                        parts=[Part(number=1, volume="V1", tape_file=1, bytes=1, sha256="0")]))


def test_levels(tmp_path):
    c = Catalogue(f"sqlite:///{tmp_path}/c.sqlite")
    assert engine.plan_level(c, "j", JOB, "h", None) == (0, None)
    add(c, "r0", 0, None, "2026-12-01T01:00:00+00:00")
    day = dt.datetime(2026, 12, 2, 1, tzinfo=dt.timezone.utc)
    level, parent = engine.plan_level(c, "j", JOB, "h", None, today=day)
    assert level == 1 and parent.id == "r0"
    add(c, "r1", 1, "r0", "2026-12-02T01:00:00+00:00")
    assert engine.plan_level(c, "j", JOB, "h", None, today=day)[0] == 2
    assert engine.plan_level(c, "j", DIFF, "h", None, today=day)[0] == 1          # against the full
    assert engine.plan_level(c, "j", JOB, "h", "full", today=day) == (0, None)
    week = dt.datetime(2026, 12, 8, 1, tzinfo=dt.timezone.utc)
    assert engine.plan_level(c, "j", JOB, "h", None, today=week) == (0, None)     # full_every_days
    assert [r.id for r in c.chain("j", "h")] == ["r0", "r1"]
    assert [r.id for r in c.chain("j", "h", at="2026-12-01T12:00:00+00:00")] == ["r0"]


def test_a_chain_without_its_full_is_refused(tmp_path):
    c = Catalogue(f"sqlite:///{tmp_path}/c.sqlite")
    add(c, "r1", 1, "gone", "2026-12-02T01:00:00+00:00")
    with pytest.raises(LookupError, match="lacks its full"):
        c.chain("j", "h")


def test_the_stream_is_indexed_with_checksums():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in (("srv/a.txt", b"alpha"), ("srv/b.bin", b"\0" * 100_000)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    chunks: queue.Queue = queue.Queue()
    raw = buffer.getvalue()
    for offset in range(0, len(raw), 7000):
        chunks.put(raw[offset:offset + 7000])
    chunks.put(None)
    files, errors = [], []
    engine._index(chunks, files, errors)
    assert not errors
    assert {(f["path"], f["sha256"]) for f in files} == {("srv/a.txt", hashlib.sha256(b"alpha").hexdigest()),
                                                   ("srv/b.bin", hashlib.sha256(b"\0" * 100_000).hexdigest())}


def test_manifests_rebuild_the_catalogue(tmp_path):
    from mzops.backup import catalogue as cat
    c = Catalogue(f"sqlite:///{tmp_path}/c.sqlite")
    add(c, "r0", 0, None, "2026-12-01T01:00:00+00:00")
    add(c, "r1", 1, "r0", "2026-12-02T01:00:00+00:00")
    older = engine.manifest_of(c, "V1")
    older["runs"] = older["runs"][:1]                 # the manifest written after the first run
    newer = engine.manifest_of(c, "V1")
    fresh = Catalogue(f"sqlite:///{tmp_path}/fresh.sqlite")
    counts = cat.rebuild(fresh, {"V1": [older, newer]}, {"V1": {"pool": "p", "labelled": "2026-12-01"}}, "lib")
    assert counts == {"volumes": 1, "runs": 2, "files": 0}
    assert [(r.id, r.level, r.parent) for r in fresh.chain("j", "h")] == [("r0", 0, None), ("r1", 1, "r0")]
    with pytest.raises(ValueError, match="not empty"):
        cat.rebuild(fresh, {"V1": [newer]}, {"V1": {}}, "lib")


def test_the_snapshot_parser_reads_what_tar_recorded(tmp_path):
    """GNU tar's own snapshot of a tree with empty and full directories, a non-UTF-8 name:
    every directory with the device and inode os.stat gives, and its entries."""
    import os
    import subprocess
    tree = tmp_path / "tree"
    for folder in ("a", "a/empty", "b", "b/c"):
        (tree / folder).mkdir(parents=True)
    (tree / "a" / "one").write_text("1")
    (tree / "b" / "c" / "two").write_text("2")
    os.mkdir(os.fsencode(tree / "b") + b"/\xff\xfe")
    subprocess.run(["tar", "--create", "--listed-incremental", str(tmp_path / "s.snar"), "--file", "/dev/null",
                    str(tree)], check=True, capture_output=True)
    snar = (tmp_path / "s.snar").read_bytes()
    found = engine.snapshot_directories(snar)
    root = str(tree).lstrip("/")
    expected = {}
    for folder in [tree, *(p for p in tree.rglob("*") if p.is_dir())]:
        st = os.stat(folder)
        expected[str(folder).lstrip("/")] = (str(st.st_dev).encode(), str(st.st_ino).encode())
    assert found == expected and f"{root}/b/\udcff\udcfe" in found
    entries = engine.snapshot_entries(snar)
    assert set(entries) == set(expected) and entries[f"{root}/a"] == {"one", "empty"}
    assert entries[f"{root}/a/empty"] == set()
    with pytest.raises(ValueError, match="a truncated GNU tar snapshot"):     # fail closed, never a partial list
        engine.snapshot_directories(snar[:len(snar) // 2])
