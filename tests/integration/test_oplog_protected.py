"""An operator can append to a protected log but not rewrite it (kernel append-only)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import MZOPS, REPO, run_mzops
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


def test_every_user_appends_to_the_shared_log_after_init(tmp_path):
    """`log init` makes a log every user's commands are recorded in (README: anyone may
    append), while no one, its owner included, can rewrite it."""
    shared = Path(tempfile.mkdtemp(prefix="mzops-oplog-", dir="/tmp"))
    os.chmod(shared, 0o755)
    path = shared / "oplog" / "operations.jsonl"
    nobody_home = Path(tempfile.mkdtemp(prefix="mzops-nobody-", dir="/tmp"))
    os.chown(nobody_home, 65534, 65534)
    env = {"MZOPS_OPLOG": str(path)}
    try:
        init = run_mzops("log", "init", env=env, home=tmp_path / "home")
        if init.returncode != 0 and "Operation not supported" in init.stderr:
            pytest.skip("this filesystem has no append-only attribute")
        assert init.returncode == 0, init.stderr
        as_nobody = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *MZOPS, "inventory", "list"],
            capture_output=True, text=True, cwd=REPO,
            env={**os.environ, **env, "MZOPS_HOME": str(nobody_home), "HOME": str(nobody_home)})
        assert as_nobody.returncode == 0, as_nobody.stderr
        records = [json.loads(line) for line in path.read_text().splitlines()]
        assert [r["uid"] for r in records][-1] == 65534 and records[-1]["command"][1:] == ["inventory", "list"]
        assert oplog.verify(path).whole, oplog.verify(path).problem
        rewrite = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c",
                                  f": > {path}"], capture_output=True, text=True)
        assert rewrite.returncode != 0 and oplog.verify(path).whole
    finally:
        subprocess.run(["chattr", "-a", str(path)], check=False)
        shutil.rmtree(shared, ignore_errors=True)
        shutil.rmtree(nobody_home, ignore_errors=True)
