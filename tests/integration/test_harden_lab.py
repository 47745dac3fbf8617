"""Hardening real lab hosts: apply, verify, idempotence, exact rollback, lockout guards,
a failing host stopping the batch, and the lifeline that survives broken logins."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import run_mzops, write_inventory
from mzops.compliance import catalogue
from mzops.connect import ssh
from mzops.harden import roles
from mzops.harden.lifeline import Lifeline
from mzops.inventory.loader import load

pytestmark = pytest.mark.lab

MAIN, OTHER = "lab02", "lab03"
HASH = "$6$labsalt$r4gN1xyfhs2XDBAk1eEtpfXTuXe3sd8taayEE.ziUXzIpYBbGOJVECsMersFe2d.mXpNxSVVxEGIArhnOs5dL1"

# What the lab cannot show, and why (the README lists them too):
LAB_CANNOT = {
    # kernel audit is global to the machine's kernel: lab hosts have no CAP_AUDIT_CONTROL
    # and no auditd package (loading rules or `-e 2` would change the machine itself)
    "linux.audit.*",
    # the clock is the machine's: chronyd cannot run without CAP_SYS_TIME
    "linux.time.sync",
}

# A site as the brief expects it: mzops logs in as its own account with passwordless
# sudo (keys only), a named administrator exists, and the site parameters are set.
BOOTSTRAP = f"""
useradd -m -s /bin/bash -G sudo mzops
mkdir -p ~mzops/.ssh && cp /root/.ssh/authorized_keys ~mzops/.ssh/ && chown -R mzops: ~mzops/.ssh
echo 'mzops ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/mzops && chmod 440 /etc/sudoers.d/mzops
useradd -m -s /bin/bash -G sudo -p '{HASH}' alice
"""
SITE_PARAMS = {"ssh_allow_groups": ["sudo"], "log_host": "10.77.0.1"}

# Everything a hardening run could touch, as "type mode uid gid path link" and sha256.
FINGERPRINT = r"""
roots="/etc /usr/share/pam-configs /var/lib/pam /var/lib/aide"
find $roots -xdev -printf '%y %m %U %G %p %l\n' 2>/dev/null | sort
find $roots -xdev -type f -exec sha256sum {} + 2>/dev/null | sort -k2
"""


def lab_exec(lab_session, host: str, script: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = lab_session.run("lab", "exec", host, "--", "sh", "-ec", script)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def fingerprint(lab_session, host: str) -> dict[str, str]:
    out = {}
    for line in lab_exec(lab_session, host, FINGERPRINT).stdout.splitlines():
        if re.match(r"^[0-9a-f]{64}  /", line):
            digest, path = line.split("  ", 1)
            out[path + " #content"] = digest
        else:
            out[line.split(" ")[4]] = line
    return out


def statuses(proc: subprocess.CompletedProcess) -> dict[str, str]:
    return {r["rule"]: r["status"] for r in json.loads(proc.stdout)["targets"][0]["results"]}


@pytest.fixture
def site(lab_session, lab, tmp_path):
    """MAIN reset and prepared as a managed host; the inventory mzops uses for it."""
    assert lab_session.run("lab", "reset", MAIN).returncode == 0
    lab_exec(lab_session, MAIN, BOOTSTRAP)
    inv = write_inventory(lab["inventory"], tmp_path / "inv", {}, {MAIN: {
        "ansible_user": "mzops", "ansible_become": True, "mzops_baseline_params": SITE_PARAMS}})
    yield inv
    lab_session.run("lab", "reset", MAIN)


def test_harden_apply_verify_idempotent_and_exact_rollback(lab_session, site):
    home = lab_session.home
    skip = ",".join(sorted(LAB_CANNOT))
    audit_before = run_mzops("-q", "-i", str(site), "audit", "run", "--limit", MAIN, "--json", home=home)
    first = statuses(audit_before)
    failing = {r for r, s in first.items() if s == "fail"}
    before = fingerprint(lab_session, MAIN)

    preview = run_mzops("-i", str(site), "harden", "run", "--limit", MAIN, "--skip", skip, "--disruptive", home=home)
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "would change" in preview.stdout and "+X11Forwarding no" in preview.stdout
    assert fingerprint(lab_session, MAIN) == before, "a preview changed the host"

    applied = run_mzops("-i", str(site), "harden", "run", "--limit", MAIN, "--skip", skip, "--disruptive",
                        "--apply", "--json", home=home)
    assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]
    record = json.loads(applied.stdout)
    host = record["hosts"][0]
    assert host["status"] == "applied" and host["login"] == "ok"
    assert host["counts"]["changed"] > 0 and host["counts"]["failed"] == 0
    # every rule applied passes now, among them every one that failed and the lab can show
    assert all(host["after"][r] == "pass" for r in host["rules"]), host["after"]
    fixed = {r for r in host["rules"] if first[r] == "fail"}
    assert fixed == failing & set(host["rules"]) and len(fixed) >= 25, sorted(fixed)
    assert {"linux.pam.lockout", "linux.ssh.root_login", "linux.ssh.allow_groups", "linux.log.remote",
            "linux.aide.initialised"} <= fixed

    # nothing outside what snapshot.yml declares for the applied rules changed
    after = fingerprint(lab_session, MAIN)
    roots = [s[2:] for s in roles.snapshot_specs(roles.ROLES["linux"], host["rules"], catalogue.load("mlps3").rules)]
    changed = {p.removesuffix(" #content") for p in set(before) | set(after) if before.get(p) != after.get(p)}
    outside = {p for p in changed if not any(p == r or p.startswith(r.rstrip("/") + "/") for r in roots)}
    assert changed and not outside, sorted(outside)

    # no secret in what the run keeps on the controller
    kept = "\n".join(p.read_text(errors="replace") for p in (home / "harden" / record["run_id"]).rglob("*")
                     if p.is_file())
    assert "PRIVATE KEY" not in kept and HASH not in kept and "$6$" not in kept

    again = run_mzops("-q", "-i", str(site), "harden", "run", "--limit", MAIN, "--skip", skip, "--disruptive",
                      "--apply", "--json", home=home)
    assert again.returncode == 0, again.stderr[-2000:]
    assert json.loads(again.stdout)["hosts"][0]["counts"]["changed"] == 0

    back = run_mzops("-i", str(site), "harden", "rollback", record["run_id"], "--json", home=home)
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-2000:]
    result = json.loads(back.stdout)["hosts"][0]
    assert result["status"] == "restored" and result["remaining"] == [] and result["audit_changes"] == {}
    assert fingerprint(lab_session, MAIN) == before, "rollback is not byte-identical"
    audit_after = run_mzops("-q", "-i", str(site), "audit", "run", "--limit", MAIN, "--json", home=home)
    assert statuses(audit_after) == first


def test_lockout_is_refused_before_anything_changes(lab_session, lab):
    """mzops logs in as root here: PermitRootLogin no would lock it out."""
    assert lab_session.run("lab", "reset", OTHER).returncode == 0
    before = fingerprint(lab_session, OTHER)
    proc = run_mzops("-i", lab["inventory"], "harden", "run", "--limit", OTHER, "--rules",
                     "linux.ssh.root_login,linux.ssh.x11", "--disruptive", "--apply", "--json", home=lab_session.home)
    assert proc.returncode == 1
    record = json.loads(proc.stdout)
    host = record["hosts"][0]
    assert host["status"] == "refused" and "logs in as root" in host["message"]
    assert record["stopped"].startswith("refused before any change") and host["backup"] == ""
    assert fingerprint(lab_session, OTHER) == before
    # without --disruptive the same rule is left out, and the rest goes ahead in preview
    preview = run_mzops("-i", lab["inventory"], "harden", "run", "--limit", OTHER, "--rules",
                        "linux.ssh.root_login,linux.ssh.x11", "--json", home=lab_session.home)
    host = json.loads(preview.stdout)["hosts"][0]
    assert preview.returncode == 0 and host["rules"] == ["linux.ssh.x11"]
    assert "disruptive" in host["left_out"]["linux.ssh.root_login"]


def test_a_failing_host_stops_the_batches_and_the_rest_is_untouched(lab_session, lab):
    first, second = "lab01", OTHER
    assert lab_session.run("lab", "reset", first, second).returncode == 0
    # a broken sshd drop-in: every sshd_config edit fails its `sshd -t` validation
    lab_exec(lab_session, first, "echo 'NoSuchKeyword yes' > /etc/ssh/sshd_config.d/50-broken.conf")
    before = fingerprint(lab_session, first), fingerprint(lab_session, second)
    proc = run_mzops("-i", lab["inventory"], "harden", "run", "--limit", f"{first},{second}", "--rules",
                     "linux.pw.max_days,linux.ssh.x11", "--apply", "--batch", "1", "--json", home=lab_session.home)
    assert proc.returncode == 1
    record = json.loads(proc.stdout)
    hosts = {h["name"]: h for h in record["hosts"]}
    assert hosts[first]["status"] == "failed" and "linux.ssh.x11" in hosts[first]["message"]
    assert hosts[second]["status"] == "not-run" and record["stopped"].startswith("stopped after batch 1")
    assert fingerprint(lab_session, second) == before[1]
    assert fingerprint(lab_session, first) != before[0]      # login.defs was changed before the failure
    back = run_mzops("-q", "-i", lab["inventory"], "harden", "rollback", record["run_id"], "--json",
                     home=lab_session.home)
    assert [h["name"] for h in json.loads(back.stdout)["hosts"]] == [first]
    assert fingerprint(lab_session, first) == before[0]
    lab_session.run("lab", "reset", first, second)


def test_lifeline_survives_a_change_that_breaks_new_logins(lab_session, lab):
    assert lab_session.run("lab", "reset", OTHER).returncode == 0
    asset = load(Path(lab["inventory"])).assets[OTHER]
    with Lifeline(ssh.Target.from_vars(OTHER, asset.vars)) as line:
        assert line.fresh_login().rc == 0
        lab_exec(lab_session, OTHER, "echo 'DenyUsers root' >> /etc/ssh/sshd_config && kill -HUP $(cat /run/sshd.pid)")
        assert line.fresh_login().rc == ssh.SSH_ERROR
        fixed = line.run(b"sed -i '/^DenyUsers root$/d' /etc/ssh/sshd_config && kill -HUP $(cat /run/sshd.pid)\n", [])
        assert fixed.rc == 0, fixed.stderr
        assert line.fresh_login().rc == 0
    lab_session.run("lab", "reset", OTHER)


def test_broken_new_logins_are_restored_through_the_lifeline(lab_session, lab):
    """A latent sshd setting (written, never loaded) takes effect with the run's reload
    and locks mzops out: the fresh-login check catches it and restores the snapshot."""
    assert lab_session.run("lab", "reset", OTHER).returncode == 0
    lab_exec(lab_session, OTHER, "echo 'DenyUsers root' > /etc/ssh/sshd_config.d/50-latent.conf")
    before = fingerprint(lab_session, OTHER)
    proc = run_mzops("-i", lab["inventory"], "harden", "run", "--limit", OTHER, "--rules", "linux.ssh.x11",
                     "--apply", "--json", home=lab_session.home)
    assert proc.returncode == 1
    host = json.loads(proc.stdout)["hosts"][0]
    assert host["status"] == "failed" and host["login"].startswith("new logins fail")
    assert "restored from the snapshot" in host["message"]
    assert fingerprint(lab_session, OTHER) == before     # sshd_config is what it was
    lab_session.run("lab", "reset", OTHER)


def _tasks(host: dict) -> list[tuple[str, str, str, str]]:
    """What Ansible did on a host, task by task, with the host's own name taken out."""
    name = host["name"]
    return [(t["rule"], t["task"], t["status"], t["diff"].replace(name, "HOST")) for t in host["tasks"]]


def _changes(before: dict[str, str], after: dict[str, str]) -> dict[str, str]:
    """What a run changed on a host: path -> its new entry (type, mode, owner, link) or digest.
    AIDE's database is a digest of the host's own files (its ssh host keys among them), so
    only its presence and mode are compared."""
    out = {}
    for path in set(before) | set(after):
        if before.get(path) != after.get(path):
            entry = after.get(path, "gone")
            out[path] = "differs" if path.startswith("/var/lib/aide/") and path.endswith(" #content") else entry
    return out


def test_mitogen_and_linear_do_the_same_task_for_task(lab_session, lab, tmp_path):
    """Parity of the two execution strategies (issue 20): the same role on two pristine,
    identically prepared hosts, one per strategy, in one run; check mode, apply and a
    second apply give the same tasks (status, changed, diff), the same files, modes and
    owners on the hosts, the same audit, and the rollback puts both back byte for byte."""
    linear, mitogen = MAIN, OTHER
    assert lab_session.run("lab", "reset", linear, mitogen).returncode == 0
    for host in (linear, mitogen):
        lab_exec(lab_session, host, BOOTSTRAP)
    managed = {"ansible_user": "mzops", "ansible_become": True, "mzops_baseline_params": SITE_PARAMS}
    inv = write_inventory(lab["inventory"], tmp_path / "inv", {}, {
        linear: {**managed, "mzops_ansible_strategy": "linear"},
        mitogen: {**managed, "mzops_ansible_strategy": "mitogen"}})
    home, both = lab_session.home, f"{linear},{mitogen}"
    common = ["-q", "-i", str(inv), "harden", "run", "--limit", both, "--skip", ",".join(sorted(LAB_CANNOT)),
              "--disruptive", "--json"]
    before = {h: fingerprint(lab_session, h) for h in (linear, mitogen)}

    def run(*extra: str) -> dict[str, dict]:
        proc = run_mzops(*common, *extra, home=home)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        record = json.loads(proc.stdout)
        hosts = {h["name"]: h for h in record["hosts"]}
        assert hosts[linear]["strategy"] == "linear" and hosts[mitogen]["strategy"] == "mitogen_linear"
        assert _tasks(hosts[linear]) == _tasks(hosts[mitogen])
        assert hosts[linear]["counts"] == hosts[mitogen]["counts"]
        assert hosts[linear]["after"] == hosts[mitogen]["after"]
        return {"run_id": record["run_id"], **hosts}

    preview = run()
    assert preview[linear]["counts"]["changed"] >= 25 and preview[linear]["counts"]["failed"] == 0
    assert any("+X11Forwarding no" in t["diff"] for t in preview[mitogen]["tasks"])
    assert {h: fingerprint(lab_session, h) for h in (linear, mitogen)} == before, "a preview changed a host"

    applied = run("--apply")
    for host in (linear, mitogen):
        assert applied[host]["status"] == "applied" and applied[host]["login"] == "ok"
        assert all(applied[host]["after"][r] == "pass" for r in applied[host]["rules"]), applied[host]["after"]
    changed = {h: _changes(before[h], fingerprint(lab_session, h)) for h in (linear, mitogen)}
    assert changed[linear] and changed[linear] == changed[mitogen]

    again = run("--apply")
    assert again[linear]["counts"]["changed"] == 0 == again[mitogen]["counts"]["changed"]

    audits = {h: statuses(run_mzops("-q", "-i", str(inv), "audit", "run", "--limit", h, "--json", home=home))
              for h in (linear, mitogen)}
    assert audits[linear] == audits[mitogen]

    back = run_mzops("-q", "-i", str(inv), "harden", "rollback", applied["run_id"], "--json", home=home)
    assert back.returncode == 0, back.stdout[-3000:] + back.stderr[-2000:]
    for host in (linear, mitogen):
        assert fingerprint(lab_session, host) == before[host], f"{host}: rollback is not byte-identical"
    lab_session.run("lab", "reset", linear, mitogen)


def test_a_host_mitogen_cannot_reach_runs_with_linear_and_says_why(lab_session, lab, tmp_path):
    """mitogen_via, which Mitogen alone reads, sends its connection through lab01, where
    the controller's ssh config does not exist: Mitogen cannot reach the host, nothing ran
    there, so it runs again with linear (which ignores mitogen_via), and the result says so."""
    assert lab_session.run("lab", "reset", OTHER).returncode == 0
    inv = write_inventory(lab["inventory"], tmp_path / "inv", {}, {OTHER: {"mitogen_via": "lab01"}})
    proc = run_mzops("-q", "-i", str(inv), "harden", "run", "--limit", OTHER, "--rules", "linux.ssh.x11",
                     "--json", home=lab_session.home)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    host = json.loads(proc.stdout)["hosts"][0]
    assert host["status"] == "previewed" and host["counts"]["changed"] == 1 and host["counts"]["unreachable"] == 0
    assert host["strategy"].startswith("linear (mitogen asked: Mitogen could not run on it: ")
    assert "Can't open user config file" in host["strategy"]
    text = run_mzops("-i", str(inv), "harden", "run", "--limit", OTHER, "--rules", "linux.ssh.x11",
                     home=lab_session.home)
    assert "Ansible strategy: linear (mitogen asked: Mitogen could not run on it" in text.stdout
