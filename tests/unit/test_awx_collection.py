"""The AWX side: the mzops.mlps3 collection installs and documents itself, and the
execution environment's build context holds mzops and the collection. No container
engine runs here: the image itself is not built (README, "AWX / Automation Platform")."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import yaml

from conftest import REPO

BIN = Path(sys.executable).parent
COLLECTION = REPO / "collections" / "ansible_collections" / "mzops" / "mlps3"


def _env(**extra: str) -> dict:
    return {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", **extra}


def test_the_build_context_holds_mzops_and_the_collection(tmp_path):
    context = tmp_path / "context"
    proc = subprocess.run(["sh", str(REPO / "awx" / "build-context.sh"), str(context)], env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    containerfile = (context / "Containerfile").read_text()
    base = yaml.safe_load((REPO / "awx" / "execution-environment.yml").read_text())["images"]["base_image"]["name"]
    assert f'ARG EE_BASE_IMAGE="{base}"' in containerfile
    assert "COPY _build/mzops /opt/mzops-build" in containerfile
    assert "pip install --no-cache-dir -e /opt/mzops" in containerfile
    assert "ansible-galaxy collection install --offline -p /usr/share/ansible/collections" in containerfile
    assert "openssh-clients" in (context / "_build" / "bindep.txt").read_text()
    with tarfile.open(context / "_build" / "mzops" / "mzops-src.tar.gz") as src:
        names = set(src.getnames())
    for needed in ("./mzops/compliance/collect_linux.sh", "./baselines/mlps3/linux.yml", "./pyproject.toml",
                   "./collections/ansible_collections/mzops/mlps3/plugins/action/audit.py"):
        assert needed in names, needed
    assert not any(n.startswith(("./.venv/", "./.git/")) for n in names)
    with tarfile.open(context / "_build" / "mzops" / "mzops-mlps3.tar.gz") as archive:
        files = set(archive.getnames())
    assert {"MANIFEST.json", "plugins/action/audit.py", "plugins/callback/report.py", "playbooks/audit.yml"} <= files


def test_the_collection_installs_and_its_plugins_are_documented(tmp_path):
    built = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path),
                            str(COLLECTION)], env=_env(), capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    archive = next(tmp_path.glob("mzops-mlps3-*.tar.gz"))
    installed = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p",
                                str(tmp_path / "collections"), str(archive)], env=_env(), capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr
    env = _env(ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "collections"))
    module = subprocess.run([str(BIN / "ansible-doc"), "-t", "module", "mzops.mlps3.audit"], env=env,
                            capture_output=True, text=True)
    assert module.returncode == 0 and "waivers" in module.stdout and "mzops_target" in module.stdout, module.stderr
    callback = subprocess.run([str(BIN / "ansible-doc"), "-t", "callback", "mzops.mlps3.report"], env=env,
                              capture_output=True, text=True)
    assert callback.returncode == 0 and "MZOPS_REPORT" in callback.stdout, callback.stderr
