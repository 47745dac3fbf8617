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
import yaml

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


def write_inventory(lab_inventory: str, target: Path, extra_hosts: dict, host_vars: dict | None = None) -> Path:
    """A copy of the lab's inventory with hosts added (zone core, primary site) or changed."""
    shutil.copytree(lab_inventory, target)
    doc = yaml.safe_load((target / "hosts.yml").read_text())
    doc["all"]["children"]["hosts"]["hosts"].update(extra_hosts)
    zone = doc["all"]["children"]["zone_core"]["hosts"]
    site = doc["all"]["children"]["primary"]["hosts"]
    for name in extra_hosts:
        zone[name] = None
        site[name] = None
    for name, values in (host_vars or {}).items():
        doc["all"]["children"]["hosts"]["hosts"][name].update(values)
    (target / "hosts.yml").write_text(yaml.safe_dump(doc))
    return target


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
            args = ["-q", "lab", "up", "--hosts", str(hosts), "--firewall", "--backup", "--json"] + (
                ["--db"] if db else [])
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


# ------------------------------------------------------------------ a real Vault API server

def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OpenBao:
    """`bao server -dev` on a loopback port, with an AppRole for mzops."""

    def __init__(self, tmp: Path):
        import secrets as pysecrets

        self.root_token = "root-" + pysecrets.token_hex(8)
        self.addr = f"http://127.0.0.1:{free_port()}"
        bao = Path(sys.executable).parent / "bao"
        self.proc = subprocess.Popen(
            [str(bao), "server", "-dev", f"-dev-listen-address={self.addr[7:]}",
             f"-dev-root-token-id={self.root_token}"],
            stdout=open(tmp / "bao.log", "wb"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={"PATH": os.environ["PATH"], "HOME": str(tmp)})
        import hvac
        import time

        self.admin = hvac.Client(url=self.addr, token=self.root_token)
        for _ in range(100):
            try:
                if self.admin.sys.is_initialized():
                    break
            except Exception:
                pass
            time.sleep(0.1)
        self.admin.sys.enable_auth_method("approle")
        self.admin.sys.create_or_update_policy("mzops-read", 'path "secret/data/mzops/*" { capabilities = ["read"] }')

    def approle(self, ttl: str = "1h") -> dict[str, str]:
        self.admin.auth.approle.create_or_update_approle(
            "mzops", token_policies=["mzops-read"], token_ttl=ttl, token_max_ttl="2h")
        role_id = self.admin.auth.approle.read_role_id("mzops")["data"]["role_id"]
        secret_id = self.admin.auth.approle.generate_secret_id("mzops")["data"]["secret_id"]
        return {"VAULT_ADDR": self.addr, "VAULT_ROLE_ID": role_id, "VAULT_SECRET_ID": secret_id}

    def put(self, path: str, **data: str) -> None:
        self.admin.secrets.kv.v2.create_or_update_secret(path=path, secret=data, mount_point="secret")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="session")
def openbao(tmp_path_factory):
    server = OpenBao(tmp_path_factory.mktemp("openbao"))
    yield server
    server.stop()
