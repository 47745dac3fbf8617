"""The delta from a running configuration to the desired one, per vendor (pure)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from mzops.firewall import delta, vendors
from mzops.firewall.model import DeviceConfig, Rule, merged
from tests.fwsim.device import Device, Session
from tests.fwsim.dialects import DIALECTS

GOLDEN = Path(__file__).resolve().parent.parent / "fixtures" / "firewall" / "golden"
CLI_VENDORS = ["huawei_usg", "h3c_secpath", "hillstone_stoneos"]


def base(vendor: str):
    v = vendors.get(vendor)
    return v, v.parse((GOLDEN / f"{vendor}.cfg").read_text())


def commands(v, running, desired) -> list[str]:
    return delta.delta(v.render(running), v.render(desired), v.syntax)


def replay(vendor: str, running: str, cmds: list[str]) -> str:
    """CMDS typed into the vendor's simulated CLI (no network: the session alone)."""
    dialect = DIALECTS[vendor]
    device = Device.from_text(dialect, "fw", {}, running)
    session = Session(device)
    for command in [dialect.enter_config, *cmds, dialect.leave_config]:
        out = session.feed(command)
        assert dialect.unknown not in out and dialect.missing not in out, (command, out)
    assert session.path is None, "a view was left open"
    return device.running()


@pytest.mark.parametrize("vendor", CLI_VENDORS)
def test_nothing_to_send_when_equal_and_everything_from_nothing(vendor):
    v, cfg = base(vendor)
    assert commands(v, cfg, cfg) == []
    full = delta.delta("", v.render(cfg), v.syntax)
    said = {line.strip() for line in v.render(cfg).splitlines()}
    assert all(c in said for c in full if c.startswith(v.syntax.negation + " "))   # only the config's own "undo X"
    assert delta.delta(v.render(v.parse(replay(vendor, "", full))), v.render(cfg), v.syntax) == []


@pytest.mark.parametrize("vendor", CLI_VENDORS)
def test_a_new_value_is_sent_over_the_old_one(vendor):
    v, cfg = base(vendor)
    want = copy.deepcopy(cfg)
    want.management.idle_timeout_minutes = 9
    out = commands(v, cfg, want)
    assert not any(c.startswith(v.syntax.negation) for c in out), out
    assert any("9" in c and "timeout" in c for c in out)
    assert v.parse(replay(vendor, v.render(cfg), out)).management.idle_timeout_minutes == 9


@pytest.mark.parametrize("vendor", CLI_VENDORS)
def test_rules_are_recreated_in_order_from_the_first_that_differs(vendor):
    v, cfg = base(vendor)
    want = copy.deepcopy(cfg)
    want.ruleset.rules.insert(1, Rule("inserted", want.ruleset.rules[0].from_zone, want.ruleset.rules[0].to_zone,
                                     action="deny", log=True))
    out = commands(v, cfg, want)
    removed = [c for c in out if c.startswith(v.syntax.negation + " rule")]
    assert len(removed) == len(cfg.ruleset.rules) - 1          # the first rule stays
    # Typed into the device, the commands leave it carrying the rules in the wanted order.
    after = v.parse(replay(vendor, v.render(cfg), out))
    assert [r.name for r in after.ruleset.rules] == [r.name for r in want.ruleset.rules]
    assert after.ruleset.rules == v.parse(v.render(want)).ruleset.rules


@pytest.mark.parametrize("vendor", CLI_VENDORS)
def test_objects_go_after_the_rules_that_used_them_and_merge_removes_nothing(vendor):
    v, cfg = base(vendor)
    want = copy.deepcopy(cfg)
    gone = next(iter(want.ruleset.addresses))
    del want.ruleset.addresses[gone]
    want.ruleset.rules = [r for r in want.ruleset.rules if gone not in r.sources + r.destinations]
    out = commands(v, cfg, want)
    object_removal = next(i for i, c in enumerate(out) if c.startswith(v.syntax.negation) and gone in c and "rule" not in c)
    last_rule_change = max(i for i, c in enumerate(out) if "rule" in c)
    assert object_removal > last_rule_change
    assert gone not in v.parse(replay(vendor, v.render(cfg), out)).ruleset.addresses
    # A merge of the same candidate removes nothing.
    assert not any(c.startswith(v.syntax.negation) for c in commands(v, cfg, merged(cfg, want)))


def test_built_in_zones_are_emptied_not_removed():
    v, cfg = base("huawei_usg")
    want = copy.deepcopy(cfg)
    want.ruleset.zones = {z: i for z, i in want.ruleset.zones.items() if z != "trust"}
    out = commands(v, cfg, want)
    assert "undo firewall zone trust" not in out
    assert "firewall zone trust" in out and any(c.startswith("undo add interface") for c in out)


def test_stoneos_empty_views_are_left_and_default_any_is_negated_as_the_device_says_it():
    v = vendors.get("hillstone_stoneos")
    out = delta.delta('admin host any any\n', 'zone "core"\nexit\nzone "user"\nexit\n', v.syntax)
    assert out == ['zone "core"', "exit", 'zone "user"', "exit", "no admin host any"]


@pytest.mark.parametrize("vendor,command", [
    ("huawei_usg", "undo stelnet server enable"), ("huawei_usg", "undo manager-user mzops"),
    ("h3c_secpath", "undo ssh server enable"), ("h3c_secpath", "undo local-user mzops class manage"),
    ("hillstone_stoneos", 'no admin user "mzops"'),
])
def test_lockout_commands_are_recognised(vendor, command):
    v = vendors.get(vendor)
    assert delta.lockouts(["sysname x", command], v.lockout, "mzops") == [command]
    assert delta.lockouts([command.replace("mzops", "alice")], v.lockout, "mzops") == ([] if "mzops" in command else
                                                                                          [command])


@pytest.mark.parametrize("vendor", CLI_VENDORS)
def test_a_merged_rule_goes_in_before_the_final_deny(vendor):
    v, cfg = base(vendor)
    assert cfg.ruleset.rules[-1].name == "deny-all"
    candidate = DeviceConfig(vendor)
    candidate.ruleset.rules = [Rule("merged", cfg.ruleset.rules[0].from_zone, cfg.ruleset.rules[0].to_zone,
                                   action="permit", log=True)]
    out = commands(v, cfg, merged(cfg, candidate))
    after = v.parse(replay(vendor, v.render(cfg), out))
    assert [r.name for r in after.ruleset.rules] == [r.name for r in cfg.ruleset.rules[:-1]] + ["merged", "deny-all"]
    assert after.management == cfg.management and after.ruleset.addresses == cfg.ruleset.addresses
    # Without a final catch-all deny, the rule is appended.
    cfg.ruleset.rules[-1].action = "permit"
    after = v.parse(replay(vendor, v.render(cfg), commands(v, cfg, merged(cfg, candidate))))
    assert after.ruleset.rules[-1].name == "merged"
