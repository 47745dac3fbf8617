"""The firewall baseline on configurations written in each vendor's syntax: every rule
seen passing on good.* and failing on bad.*, for each vendor it applies to."""

from __future__ import annotations

from pathlib import Path

import pytest

from mzops.compliance import catalogue, evaluate
from mzops.firewall import audit_config, vendors

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "firewall" / "audit"
CATALOGUE = catalogue.load("mlps3", "firewall")
REGISTERED = ["alice", "wangfang", "lina"]


def results(vendor: str, which: str) -> dict:
    path = next((FIXTURES / vendor).glob(f"{which}.*"))
    bundle = audit_config.bundle(path.read_text(), vendor, path.stem)
    params = {**CATALOGUE.baseline.parameters, "fw_registered_admins": REGISTERED}
    _, out = evaluate.evaluate(bundle, list(CATALOGUE.baseline.rules), params)
    return {r.rule: r for r in out}


CASES = [(v, r) for v in sorted(vendors.vendors()) for r in CATALOGUE.baseline.rules]


@pytest.mark.parametrize("vendor,rule", CASES, ids=lambda x: getattr(x, "id", x))
def test_rule_passes_on_good_and_fails_on_bad(vendor, rule):
    good, bad = results(vendor, "good")[rule.id], results(vendor, "bad")[rule.id]
    if vendor not in rule.platforms and "firewall" not in rule.platforms:
        assert good.status == bad.status == "notapplicable"
        return
    assert good.status == "pass", (good.actual, good.evidence)
    assert bad.status == rule.scenarios.fail_status, (bad.actual, bad.evidence)
    assert bad.evidence and good.evidence


def test_evidence_quotes_the_configuration_line():
    found = results("huawei_usg", "bad")
    assert found["fw.telnet"].evidence == ["line 4: telnet server enable"]
    assert any("permit-any" in e for e in found["fw.no_any_permit"].evidence)
    assert "portal-out (by lan-out)" in found["fw.no_shadowed"].actual


def test_without_the_register_administrators_are_a_manual_check():
    path = FIXTURES / "h3c_secpath" / "good.cfg"
    bundle = audit_config.bundle(path.read_text(), "h3c_secpath", "good")
    _, out = evaluate.evaluate(bundle, [CATALOGUE.rules["fw.admins"]], CATALOGUE.baseline.parameters)
    assert out[0].status == "manual"


def test_audit_config_command(tmp_path):
    from conftest import run_mzops

    bad = FIXTURES / "huawei_usg" / "bad.cfg"
    proc = run_mzops("audit", "config", str(bad), "--vendor", "huawei_usg", "--json", home=tmp_path)
    assert proc.returncode == 1, proc.stderr
    import json

    target = json.loads(proc.stdout)["targets"][0]
    assert target["name"] == "fw-inet-legacy" and target["kind"] == "firewall" and target["platform"] == "huawei_usg"
    assert {r["status"] for r in target["results"]} == {"fail"}
    html = tmp_path / "r.html"
    good = FIXTURES / "hillstone_stoneos" / "good.cfg"
    proc = run_mzops("audit", "config", str(good), "--vendor", "hillstone_stoneos", "-f", "html", "-o", str(html),
                     home=tmp_path)
    assert proc.returncode == 0 and "fw.admins" in html.read_text()  # manual without the register (not a failure)
    for args, message in ((["--vendor", "cisco"], "unsupported firewall vendor 'cisco'"),
                          (["--vendor", "hillstone_stoneos"], "reads as a Huawei USG configuration (line 36: security-policy), "
                           "not Hillstone StoneOS: use --vendor huawei_usg"),
                          (["--vendor", "huawei_usg", "--rules", "linux.pw.minlen"], "no firewall rule selected")):
        proc = run_mzops("audit", "config", str(bad), *args, home=tmp_path)
        assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("vendor", sorted(vendors.vendors()))
def test_a_configuration_with_no_policy_rules_is_no_evidence(vendor):
    """An export whose policy is cut off (or in a syntax not read) parses into no rules:
    'no any-any permit' and 'permits log' are errors then, not passes over 0 rules."""
    path = next((FIXTURES / vendor).glob("good.*"))
    text = path.read_text()
    head = "\n".join(line for line in text.splitlines()
                     if "policy" not in line and "rule" not in line and "chain" not in line)
    bundle = audit_config.bundle(head, vendor, path.stem)
    policy_rules = [r for r in CATALOGUE.baseline.rules if r.check == "fw_policy"]
    _, out = evaluate.evaluate(bundle, policy_rules, {**CATALOGUE.baseline.parameters,
                                                      "fw_registered_admins": REGISTERED})
    assert policy_rules and {r.status for r in out} == {"error"}, [(r.rule, r.status, r.actual) for r in out]
