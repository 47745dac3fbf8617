"""snapshot.sh with real GNU find/tar/coreutils on a scratch tree: save, change, diff,
restore, and the tree is byte for byte (and mode for mode) what it was."""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from mzops.harden.run import SNAPSHOT_SCRIPT


def sh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-s", "--", *args], input=SNAPSHOT_SCRIPT, capture_output=True, check=False)


def state(root: Path) -> dict[str, tuple]:
    out = {}
    for path in sorted(root.rglob("*")) + [root]:
        st = path.lstat()
        content = path.read_bytes() if path.is_file() and not path.is_symlink() else \
            (os.readlink(path).encode() if path.is_symlink() else b"")
        out[str(path)] = (st.st_mode, st.st_uid, st.st_gid, hashlib.sha256(content).hexdigest())
    return out


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "etc"
    (root / "pam.d").mkdir(parents=True)
    (root / "pam.d" / "common-auth").write_text("auth required pam_unix.so nullok\n")
    (root / "pam.d" / "other").write_text("auth required pam_deny.so\n")
    (root / "login.defs").write_text("PASS_MAX_DAYS 99999\n")
    (root / "link").symlink_to("login.defs")
    (root / "logs").mkdir()
    (root / "logs" / "auth.log").write_text("x\n")
    os.chmod(root / "logs" / "auth.log", 0o644)
    return root


def test_save_change_restore_is_exact(tree: Path, tmp_path: Path):
    backup = str(tmp_path / "backup")
    before = state(tree)
    saved = sh("save", backup, f"C:{tree}/pam.d", f"C:{tree}/login.defs", f"C:{tree}/link",
               f"C:{tree}/new.d", f"M:{tree}/logs")
    assert saved.returncode == 0, saved.stderr
    assert sh("diff", backup).stdout == b""
    # what a hardening run does: edit, add, delete, chmod, re-point, create a folder
    (tree / "pam.d" / "common-auth").write_text("auth required pam_unix.so\n")
    (tree / "pam.d" / "mzops-faillock").write_text("auth required pam_faillock.so\n")
    (tree / "pam.d" / "other").unlink()
    os.chmod(tree / "login.defs", 0o600)
    (tree / "link").unlink()
    (tree / "link").symlink_to("pam.d")
    (tree / "new.d" / "sub").mkdir(parents=True)
    (tree / "new.d" / "sub" / "f").write_text("created\n")
    os.chmod(tree / "logs" / "auth.log", 0o640)
    (tree / "logs" / "auth.log").write_text("x\nmore log lines keep coming\n")
    diff = sh("diff", backup).stdout.decode().splitlines()
    assert f"restore|{tree}/pam.d/common-auth" in diff
    assert f"remove|{tree}/pam.d/mzops-faillock" in diff
    assert f"restore|{tree}/pam.d/other" in diff
    assert f"meta|c|{tree}/login.defs" in diff
    assert f"replace|{tree}/link" in diff
    assert f"remove|{tree}/new.d" in diff
    assert f"meta|m|{tree}/logs/auth.log" in diff
    restored = sh("restore", backup)
    assert restored.returncode == 0, restored.stderr
    assert sh("diff", backup).stdout == b""
    after = state(tree)
    log = str(tree / "logs" / "auth.log")
    # metadata-only entries keep their new content (logs grow) but get their mode back
    assert after[log][0] == before[log][0] and after[log][3] != before[log][3]
    after.pop(log), before.pop(log)
    assert after == before


def test_a_second_save_never_overwrites_the_first(tree: Path, tmp_path: Path):
    backup = str(tmp_path / "backup")
    assert sh("save", backup, f"C:{tree}/login.defs").returncode == 0
    again = sh("save", backup, f"C:{tree}/login.defs")
    assert again.returncode == 3 and b"exists already" in again.stderr
    assert sh("diff", str(tmp_path / "nothing")).returncode == 3
