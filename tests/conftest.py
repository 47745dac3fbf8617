"""Shared fixtures: the sample estate, a CLI runner, and the lab of real SSH hosts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SAMPLE_INVENTORY = REPO / "inventory"
MZOPS = [sys.executable, "-m", "mzops"]


def run_mzops(*args: str, env: dict | None = None, home: Path | None = None,
              input: str | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess, as a user or a scheduler would."""
    full_env = {**os.environ, **(env or {})}
    if home is not None:
        full_env["MZOPS_HOME"] = str(home)
    return subprocess.run([*MZOPS, *args], capture_output=True, text=True, env=full_env,
                          input=input, cwd=REPO, timeout=600)


@pytest.fixture
def sample_inventory(tmp_path: Path) -> Path:
    """A private copy of the sample estate that a test may break."""
    target = tmp_path / "inventory"
    shutil.copytree(SAMPLE_INVENTORY, target)
    return target


class LabSession:
    """One lab for the whole test session, brought up on first use.

    MZOPS_HOME is a short private folder (ssh control socket paths are limited).
    """

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="mzt-"))
        self.status: dict | None = None

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return run_mzops(*args, home=self.home)

    def ensure_up(self, hosts: int = 3, db: bool = True) -> dict:
        if self.status is None:
            if os.geteuid() != 0:
                pytest.skip("the lab needs root")
            self.run("lab", "down")  # a lab left by an earlier run or session
            args = ["-q", "lab", "up", "--hosts", str(hosts), "--json"] + (["--db"] if db else [])
            proc = self.run(*args)
            assert proc.returncode == 0, proc.stderr
            self.status = json.loads(proc.stdout)
        return self.status

    def down(self) -> subprocess.CompletedProcess:
        self.status = None
        return self.run("lab", "down")


@pytest.fixture(scope="session")
def lab_session():
    session = LabSession()
    yield session
    if session.status is not None:
        session.down()
    shutil.rmtree(session.home, ignore_errors=True)


@pytest.fixture
def lab(lab_session: LabSession) -> dict:
    return lab_session.ensure_up()
