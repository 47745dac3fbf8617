"""Encrypted jobs (8.1.4.8): what reaches the tape is age ciphertext, the header names
only the public recipient, the identity is nowhere on tape or in the catalogue, and
the tape restores through mzops and by hand with dd, age and tar."""

from __future__ import annotations

import os
import subprocess

import pytest

from localjob import local_job
from mzops.backup import engine, restore
from mzops.secrets import Resolver

MARK = b"PERSONAL-DATA-ID-110101199003070000"


@pytest.fixture
def identity(monkeypatch):
    key = subprocess.run(["age-keygen"], capture_output=True, text=True, check=True).stdout
    secret = next(line for line in key.splitlines() if line.startswith("AGE-SECRET-KEY-"))
    monkeypatch.setenv("MZOPS_TEST_AGE_KEY", secret)
    return secret


def test_encrypted_job_round_trip(tmp_path, identity):
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "people.csv").write_bytes(MARK * 100)
    policy, catalogue, target = local_job(tmp_path, [str(tree)], {"E001": {}},
                                          encryption={"key": "env:MZOPS_TEST_AGE_KEY"})
    outcome = engine.back_up(policy, "j", None, "h", catalogue, "r0", Resolver(), target=target)
    assert outcome.state == "changed", outcome.message
    tape = (tmp_path / "lib" / "media" / "E001" / "file-1.dat").read_bytes()
    header = tape[:32768].rstrip(b"\0").decode()
    assert "encrypted with age to age1" in header and "age -d -i KEYFILE" in header
    everything = b"".join(p.read_bytes() for p in (tmp_path / "lib").rglob("*") if p.is_file())
    everything += (tmp_path / "catalogue.sqlite").read_bytes()
    assert MARK not in everything and identity.encode() not in everything
    out = tmp_path / "out"
    restore.restore(policy, catalogue, "j", "h", out, resolver=Resolver())
    assert (out / str(tree).lstrip("/") / "people.csv").read_bytes() == MARK * 100
    assert restore.verify(policy, catalogue, "j", "h", resolver=Resolver()) == []
    # by hand: the key in a file the restorer makes, then dd | age | tar
    keyfile = tmp_path / "key.txt"
    keyfile.write_text(identity + "\n")
    os.chmod(keyfile, 0o600)
    by_hand = tmp_path / "by-hand"
    by_hand.mkdir()
    done = subprocess.run(f"dd if={tmp_path}/lib/media/E001/file-1.dat bs=32k skip=1 status=none | "
                          f"age -d -i {keyfile} | tar -x --listed-incremental=/dev/null -f - -C {by_hand}",
                          shell=True, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert (by_hand / str(tree).lstrip("/") / "people.csv").read_bytes() == MARK * 100


def test_a_key_that_is_not_an_age_identity_fails_the_job_before_any_tape_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("MZOPS_TEST_AGE_KEY", "hunter2")
    policy, catalogue, target = local_job(tmp_path, [str(tmp_path / "state")], {"E001": {}},
                                          encryption={"key": "env:MZOPS_TEST_AGE_KEY"})
    outcome = engine.back_up(policy, "j", None, "h", catalogue, "r0", Resolver(), target=target)
    assert outcome.state == "failed" and "not an age identity" in outcome.message and "hunter2" not in outcome.message
    assert not (tmp_path / "lib" / "media" / "E001" / "file-0.idx").exists()
