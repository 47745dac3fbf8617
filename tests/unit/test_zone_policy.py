"""The zone policy as code: the sample loads; bad input is one line naming file, line
and key; what mzops renders for each firewall passes mzops's own firewall audit."""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import SAMPLE_INVENTORY, run_mzops
from mzops.compliance import catalogue, evaluate
from mzops.errors import InputError
from mzops.firewall import audit_config, policy, vendors
from mzops.inventory import register
from mzops.inventory.loader import load


def test_sample_policy_gives_each_firewall_its_rules_and_the_final_deny():
    estate = load(SAMPLE_INVENTORY)
    zp = policy.load(SAMPLE_INVENTORY, estate)
    assert [r.name for r in zp.rules_for("fw-wan-01")] == ["counties-to-app", "deny-all"]
    assert [r.name for r in zp.rules_for("fw-dr-01")] == ["dr-replication", "deny-all"]
    for name in zp.spec.firewalls:
        assert zp.rules_for(name)[-1].name == "deny-all"


@pytest.mark.parametrize("name", ["fw-inet-01", "fw-core-01", "fw-wan-01", "fw-smc-01", "fw-dr-01"])
def test_rendered_configuration_passes_the_firewall_audit(name):
    estate = load(SAMPLE_INVENTORY)
    reg = register.load(SAMPLE_INVENTORY / "accounts.yml")
    desired = policy.desired_for(estate, SAMPLE_INVENTORY, name, reg)
    text = vendors.get(desired.vendor).render(desired)
    cat = catalogue.load("mlps3", "firewall")
    params = cat.params_for(estate.assets[name].vars, name)
    params["fw_registered_admins"] = [a.name for a in desired.management.admins]
    _, results = evaluate.evaluate(audit_config.bundle(text, desired.vendor, name), list(cat.baseline.rules), params)
    assert {r.rule: r.status for r in results if r.status not in ("pass", "notapplicable")} == {}


BROKEN = [
    (lambda d: d["rules"][0].update({"from": "moon"}), r"zone_policy.yml:\d+: rules.0.from: unknown zone 'moon'"),
    (lambda d: d["rules"][1].update({"destination": "nowhere"}),
     r"zone_policy.yml:\d+: rules.1.destination: unknown address object 'nowhere'"),
    (lambda d: d["rules"].pop(), r"zone_policy.yml:\d+: rules.5: the policy must end with an explicit deny that logs"),
    (lambda d: d["rules"][-1].update({"log": False}), r"rules.6: the policy must end with an explicit deny"),
    (lambda d: d["services"]["https"].update({"ports": [70000]}), r"services.https.ports: not a port or port range: '70000'"),
    (lambda d: d["firewalls"].update({"lab99": {"zones": {"core": ["x"]}}}), r"firewalls.lab99: 'lab99' is not a firewall"),
    (lambda d: d["rules"][1].update({"name": "internet-to-portal"}), r"rules.1.name: duplicate rule name"),
    (lambda d: d["rules"][0].update({"acton": "permit"}), r"rules.0.acton: Extra inputs are not permitted"),
    (lambda d: d["addresses"].update({"bad": ["10.1.1.300/24"]}), r"addresses.bad.0: not an address or network"),
    (lambda d: d["firewalls"]["fw-smc-01"]["zones"]["user"].append("eth2"),
     r"firewalls.fw-smc-01.zones.user.1: interface 'eth2' is already in zone 'core'"),
]


@pytest.mark.parametrize("breaks,message", BROKEN)
def test_bad_policy_is_one_line_naming_file_line_and_key(sample_inventory, breaks, message):
    path = sample_inventory / "zone_policy.yml"
    data = yaml.safe_load(path.read_text())
    breaks(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    estate = load(sample_inventory)
    with pytest.raises(InputError) as err:
        policy.load(sample_inventory, estate)
    assert re.search(message, str(err.value)), str(err.value)


def test_render_command(tmp_path):
    proc = run_mzops("-i", str(SAMPLE_INVENTORY), "firewall", "render", "fw-inet-01", home=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "rule name internet-to-portal" in proc.stdout and " undo telnet server enable" in proc.stdout
    wrong = run_mzops("-i", str(SAMPLE_INVENTORY), "firewall", "render", "core-db-01", home=tmp_path)
    assert wrong.returncode == 2 and "no firewall of that name" in wrong.stderr


def test_inventory_validate_checks_the_zone_policy(sample_inventory, tmp_path):
    path = sample_inventory / "zone_policy.yml"
    data = yaml.safe_load(path.read_text())
    data["rules"][0]["from"] = "moon"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    proc = run_mzops("-i", str(sample_inventory), "inventory", "validate", home=tmp_path)
    assert proc.returncode == 2
    assert re.search(r"zone_policy.yml:\d+: rules.0.from: unknown zone 'moon'", proc.stderr), proc.stderr
    # A push names the same line and touches nothing.
    push = run_mzops("-i", str(sample_inventory), "firewall", "push", "--limit", "fw-core-01", home=tmp_path)
    assert push.returncode == 2 and "unknown zone 'moon'" in push.stderr
