"""The audit against real lab hosts: every rule the lab can show is seen passing on one
host and failing on another; collection through sudo; unreachable hosts; read-only."""

from __future__ import annotations

import json

import pytest

from conftest import run_mzops, write_inventory
from mzops.compliance import catalogue

pytestmark = pytest.mark.lab

CATALOGUE = catalogue.load("mlps3")
LAB_RULES = [r for r in CATALOGUE.baseline.rules if r.scenarios.lab]
PASS_HOST, FAIL_HOST, SUDO_HOST = "lab01", "lab02", "lab03"


@pytest.fixture(scope="module")
def scenario_run(lab_session, tmp_path_factory):
    status = lab_session.ensure_up()
    assert lab_session.run("lab", "reset", PASS_HOST, FAIL_HOST).returncode == 0
    for host, key in ((PASS_HOST, "passing"), (FAIL_HOST, "failing")):
        # One script per host; each scenario in a subshell, announced, so a failing
        # step names its rule.
        steps = [f"echo 'scenario {rule.id}' >&2\n( {getattr(rule.scenarios, key)} )" for rule in LAB_RULES]
        proc = lab_session.run("lab", "exec", host, "--", "sh", "-ec", "\n".join(steps))
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        assert proc.returncode == 0, f"{key} scenarios on {host} stopped: {last}: {proc.stderr[-500:]}"
    facts = tmp_path_factory.mktemp("facts")
    proc = run_mzops("-q", "-i", status["inventory"], "audit", "run", "--limit", f"{PASS_HOST},{FAIL_HOST}",
                     "--json", "--save-facts", str(facts))
    assert proc.returncode == 1, proc.stderr  # the failing host has findings
    data = json.loads(proc.stdout)
    yield {t["name"]: {r["rule"]: r for r in t["results"]} for t in data["targets"]}, facts, data
    lab_session.run("lab", "reset", PASS_HOST, FAIL_HOST)


@pytest.mark.parametrize("rule", LAB_RULES, ids=lambda r: r.id)
def test_rule_passes_and_fails_in_the_lab(scenario_run, rule):
    results, _, _ = scenario_run
    passed, failed = results[PASS_HOST][rule.id], results[FAIL_HOST][rule.id]
    assert passed["status"] == "pass", (passed["actual"], passed["evidence"])
    assert failed["status"] == rule.scenarios.fail_status, (failed["actual"], failed["evidence"])
    assert failed["evidence"], "every finding carries evidence"


def test_json_contract(scenario_run):
    _, _, data = scenario_run
    assert {"profile", "generated_at", "targets"} <= set(data)
    for target in data["targets"]:
        assert {"name", "status", "results"} <= set(target) and target["status"] == "assessed"
        for result in target["results"]:
            assert {"rule", "title", "clause", "severity", "status", "expected", "actual", "evidence"} <= set(result)


def test_saved_facts_evaluate_offline_to_the_same_result(scenario_run, lab):
    results, facts, _ = scenario_run
    proc = run_mzops("-i", lab["inventory"], "audit", "evaluate", str(facts), "--json")
    assert proc.returncode == 1
    offline = {t["name"]: {r["rule"]: r["status"] for r in t["results"]} for t in json.loads(proc.stdout)["targets"]}
    assert offline == {host: {rule: r["status"] for rule, r in rules.items()} for host, rules in results.items()}


def test_sshd_drop_in_counts(scenario_run):
    """OpenSCAP reads only sshd_config; the effective config (sshd -T) sees drop-ins."""
    results, _, _ = scenario_run
    evidence = results[PASS_HOST]["linux.ssh.idle_interval"]["evidence"]
    assert any("/etc/ssh/sshd_config.d/10-alive.conf" in line for line in evidence)


def test_collection_through_sudo_matches_root(lab_session, lab, tmp_path):
    """A non-root automation account with sudo collects the same facts as root."""
    assert lab_session.run("lab", "reset", SUDO_HOST).returncode == 0
    setup = ("useradd -m -s /bin/bash mzops && mkdir -p ~mzops/.ssh && cp /root/.ssh/authorized_keys ~mzops/.ssh/ "
             "&& chown -R mzops: ~mzops/.ssh && echo 'mzops ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/mzops "
             "&& chmod 440 /etc/sudoers.d/mzops")
    assert lab_session.run("lab", "exec", SUDO_HOST, "--", "sh", "-ec", setup).returncode == 0
    as_root = run_mzops("-q", "-i", lab["inventory"], "audit", "run", "--limit", SUDO_HOST, "--json")
    inv = write_inventory(lab["inventory"], tmp_path / "inv", {},
                          {SUDO_HOST: {"ansible_user": "mzops", "ansible_become": True}})
    via_sudo = run_mzops("-q", "-i", str(inv), "audit", "run", "--limit", SUDO_HOST, "--json")
    statuses = lambda p: {r["rule"]: r["status"] for r in json.loads(p.stdout)["targets"][0]["results"]}  # noqa: E731
    assert via_sudo.returncode == as_root.returncode == 1
    assert statuses(via_sudo) == statuses(as_root)
    who = lab_session.run("lab", "exec", SUDO_HOST, "--", "grep", "-c", "Accepted publickey for mzops", "/var/log/auth.log")
    assert int(who.stdout.strip() or 0) >= 1, "the second audit logged in as mzops, not root"
    lab_session.run("lab", "reset", SUDO_HOST)


def test_unreachable_and_refused_hosts_do_not_stop_the_run(lab, tmp_path):
    inv = write_inventory(lab["inventory"], tmp_path / "inv", {
        "ghost": {"ansible_host": "10.77.3.250", "mzops_platform": "debian-12"},
        "wronguser": {"ansible_host": lab["hosts"][0]["name"], "ansible_user": "nosuchuser",
                      "mzops_platform": "debian-12"},
    })
    proc = run_mzops("-i", str(inv), "audit", "run", "--json", "--rules", "linux.pw.minlen")
    assert proc.returncode == 1, proc.stderr          # a lab host fails the rule: 1 wins over 3
    assert sorted(json.loads(proc.stdout)["summary"]["unreachable"]) == ["ghost", "wronguser"]
    targets = {t["name"]: t for t in json.loads(proc.stdout)["targets"]}
    assert targets["ghost"]["status"] == "unreachable" and targets["ghost"]["results"] == []
    assert targets["wronguser"]["status"] == "unreachable"
    assert "Permission denied" in targets["wronguser"]["message"]
    # Every lab host was assessed (the lab firewall is not a host: no Linux rule selected).
    # (the backup servers are the lab's infrastructure, not in its inventory)
    assert all(targets[h["name"]]["status"] == "assessed" for h in lab["hosts"]
               if not h.get("firewall") and not h.get("backup"))
    assert "ghost: unreachable" in proc.stderr
    only = run_mzops("-i", str(inv), "audit", "run", "--json", "--rules", "linux.pw.minlen", "--limit", "ghost,wronguser")
    assert only.returncode == 3, only.stderr           # nothing failed, some targets unreachable


def test_audit_changes_nothing_on_the_target(lab_session, lab):
    host = [h for h in lab["hosts"] if not h.get("backup")][-1]["name"]
    marker = "touch /run/mzops-before && sleep 1.1"
    assert lab_session.run("lab", "exec", host, "--", "sh", "-c", marker).returncode == 0
    assert run_mzops("-q", "-i", lab["inventory"], "audit", "run", "--limit", host, "-f", "json").returncode in (0, 1)
    changed = lab_session.run(
        "lab", "exec", host, "--", "sh", "-c",
        "find / -xdev \\( -path /proc -o -path /sys -o -path /run -o -path /dev -o -path /var/log \\) -prune "
        "-o -newer /run/mzops-before -print")
    # sshd records the login itself (lastlog/wtmp/auth.log under /var/log); nothing else.
    assert changed.stdout.split() == [], changed.stdout


def test_bad_input(lab):
    inv = lab["inventory"]
    unknown_rule = run_mzops("-i", inv, "audit", "run", "--rules", "linux.pw.minlen,linux.nope")
    assert unknown_rule.returncode == 2 and "unknown rule id 'linux.nope'" in unknown_rule.stderr
    profile = run_mzops("-i", inv, "audit", "run", "--profile", "mlps9")
    assert profile.returncode == 2 and "unknown profile 'mlps9'" in profile.stderr
    fmt = run_mzops("-i", inv, "audit", "run", "--format", "pdf")
    assert fmt.returncode == 2 and "unknown format 'pdf'" in fmt.stderr
    nothing = run_mzops("-i", inv, "audit", "run", "--limit", "nosuchhost")
    assert nothing.returncode == 2 and "matches no asset" in nothing.stderr
    for proc in (unknown_rule, profile, fmt, nothing):
        assert len(proc.stderr.strip().splitlines()) == 1 and proc.stdout == ""
