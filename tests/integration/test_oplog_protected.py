"""An operator can append to a protected log but not rewrite it (kernel append-only)."""

from __future__ import annotations

import os
import subprocess

import pytest

from conftest import run_mzops
from mzops import oplog

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="chattr +a needs root")


def test_append_only_log(tmp_path):
    path = tmp_path / "oplog" / "operations.jsonl"
    env = {"MZOPS_OPLOG": str(path)}
    init = run_mzops("log", "init", env=env, home=tmp_path / "home")
    if init.returncode != 0 and "Operation not supported" in init.stderr:
        pytest.skip("this filesystem has no append-only attribute")
    assert init.returncode == 0, init.stderr
    try:
        assert run_mzops("inventory", "list", env=env, home=tmp_path / "home").returncode == 0
        before = path.read_text()
        with pytest.raises(PermissionError):
            open(path, "w").close()            # truncate-and-rewrite
        with pytest.raises(PermissionError):
            with open(path, "r+") as handle:   # edit in place
                handle.write("x")
        assert path.read_text() == before
        assert oplog.verify(path).whole and oplog.verify(path).records == 2
    finally:
        subprocess.run(["chattr", "-a", str(path)], check=False)
