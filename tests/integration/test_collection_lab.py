"""The mzops.mlps3 collection run by plain ansible-playbook gives what `mzops audit run`
gives, on real lab hosts: one as root, one through sudo as an automation account, one
with failing scenarios; an unreachable host is reported, and `audit merge` reads the
collection's report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_mzops, write_inventory
from mzops.compliance import catalogue

pytestmark = pytest.mark.lab

ROOT_HOST, SUDO_HOST, FAILING_HOST = "lab01", "lab03", "lab02"
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")


def _comparable(targets: list[dict]) -> dict:
    return {t["name"]: (t["status"], t.get("platform"), t.get("zone"), t.get("site"),
                        [(r["rule"], r["status"], r["actual"], r["evidence"], r["waiver"]) for r in t["results"]])
            for t in targets}


def test_the_collection_gives_the_results_of_mzops_audit_run(lab_session, lab, tmp_path):
    assert lab_session.run("lab", "reset", ROOT_HOST, SUDO_HOST, FAILING_HOST).returncode == 0
    setup = ("useradd -m -s /bin/bash mzops && mkdir -p ~mzops/.ssh && cp /root/.ssh/authorized_keys ~mzops/.ssh/ "
             "&& chown -R mzops: ~mzops/.ssh && echo 'mzops ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/mzops "
             "&& chmod 440 /etc/sudoers.d/mzops")
    assert lab_session.run("lab", "exec", SUDO_HOST, "--", "sh", "-ec", setup).returncode == 0
    rules = [r for r in catalogue.load("mlps3").baseline.rules if r.scenarios.lab]
    failing = "\n".join(f"( {r.scenarios.failing} )" for r in rules)
    assert lab_session.run("lab", "exec", FAILING_HOST, "--", "sh", "-ec", failing).returncode == 0
    waivers = tmp_path / "waivers.yml"
    waivers.write_text("waivers:\n  - rule: linux.ssh.x11\n    targets: lab02\n    approver: 李娜\n"
                       "    justification: a graphical installer during the migration\n    expires: 2099-12-31\n")
    inv = write_inventory(lab["inventory"], tmp_path / "inv", {
        "ghost": {"ansible_host": "10.77.3.250", "mzops_platform": "debian-12",
                  "ansible_ssh_common_args": "-o ConnectTimeout=3"}},
        {SUDO_HOST: {"ansible_user": "mzops", "ansible_become": True}})
    hosts = [ROOT_HOST, SUDO_HOST, FAILING_HOST, "ghost"]
    try:
        mzops = run_mzops("-q", "-i", str(inv), "audit", "run", "--limit", ",".join(hosts), "--waivers",
                          str(waivers), "--json")
        assert mzops.returncode == 1, mzops.stderr
        report = tmp_path / "awx-job.jsonl"
        # the repository's ansible.cfg: mzops's data files beside the inventory are not inventory
        env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_COLLECTIONS_PATH": str(REPO / "collections"),
               "ANSIBLE_CALLBACKS_ENABLED": "mzops.mlps3.report", "MZOPS_REPORT": str(report)}
        # the playbook an AWX job template runs: it imports the collection's
        played = subprocess.run([ANSIBLE_PLAYBOOK, "-i", str(inv), str(REPO / "playbooks" / "mlps3_audit.yml"), "-e",
                                 f"mzops_hosts={','.join(hosts)}", "-e", f"mzops_waivers={waivers}"],
                                env=env, capture_output=True, text=True, cwd=tmp_path, timeout=600)
        assert "unreachable=1" in played.stdout and played.stdout.count("failed=0") == 4, played.stdout[-3000:]
        # Ansible's become through sudo, as the automation account (sudo logs the command it ran)
        who = lab_session.run("lab", "exec", SUDO_HOST, "--", "grep", "-c", "mzops : .*COMMAND=.*BECOME-SUCCESS",
                              "/var/log/auth.log")
        assert int(who.stdout.strip() or 0) >= 1, "the collection's audit of lab03 went through sudo as mzops"
    finally:
        lab_session.run("lab", "reset", ROOT_HOST, SUDO_HOST, FAILING_HOST)
    lines = [json.loads(line) for line in report.read_text().splitlines()]
    assert lines[0]["record"] == "run" and lines[0]["profile"] == "mlps3"
    by_collection = {t["name"]: t for t in lines[1:]}
    by_mzops = {t["name"]: t for t in json.loads(mzops.stdout)["targets"]}
    assert by_collection["ghost"]["status"] == by_mzops["ghost"]["status"] == "unreachable"
    assessed = [ROOT_HOST, SUDO_HOST, FAILING_HOST]
    assert _comparable([by_collection[n] for n in assessed]) == _comparable([by_mzops[n] for n in assessed])
    statuses = {r["status"] for r in by_collection[FAILING_HOST]["results"]}
    assert {"pass", "fail", "waived"} <= statuses          # the comparison saw every kind of result
    merged = run_mzops("-q", "-i", str(inv), "audit", "merge", str(report), "--json", home=tmp_path / "home")
    assert merged.returncode == 1 and len(json.loads(merged.stdout)["targets"]) == 4
