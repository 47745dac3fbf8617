"""Rules the lab cannot show (one kernel is shared): each seen passing and failing on a
recorded bundle of a real lab host with the relevant sections replaced."""

from __future__ import annotations

import pytest

from bundles import debian12, patched, with_sysctl
from mzops.compliance import catalogue, evaluate

CATALOGUE = catalogue.load("mlps3")
RECORDED = [r for r in CATALOGUE.baseline.rules if not r.scenarios.lab]


def status_of(rule, bundle):
    _, results = evaluate.evaluate(bundle, [rule], CATALOGUE.baseline.parameters)
    return results[0]


def apply(bundle, changes):
    sysctl = {k[1:] if k.startswith("+") else k: v for k, v in changes.items() if k.lstrip("+") == "sysctl"}
    if sysctl:
        values = dict(line.split(" = ", 1) for text in sysctl.values() for line in text.strip().splitlines())
        bundle = with_sysctl(bundle, values)
        changes = {k: v for k, v in changes.items() if k.lstrip("+") != "sysctl"}
    return patched(bundle, changes)


@pytest.mark.parametrize("rule", RECORDED, ids=lambda r: r.id)
def test_recorded_rule_passes(rule):
    result = status_of(rule, apply(debian12(), rule.scenarios.passing))
    assert result.status == "pass", (result.actual, result.evidence)


@pytest.mark.parametrize("rule", RECORDED, ids=lambda r: r.id)
def test_recorded_rule_fails(rule):
    result = status_of(rule, apply(debian12(), rule.scenarios.failing))
    assert result.status == rule.scenarios.fail_status, (result.actual, result.evidence)
    assert result.evidence, "a finding must carry evidence"


def test_every_rule_has_both_scenarios_and_a_remediation():
    assert len(CATALOGUE.rules) >= 45
    for rule in CATALOGUE.baseline.rules:
        if rule.scenarios.lab:   # shell run on a lab host (a recorded one may be {}: the bundle as recorded)
            assert str(rule.scenarios.passing).strip() and str(rule.scenarios.failing).strip(), rule.id
        assert rule.remediation.hint.en and rule.remediation.hint.zh
        if not rule.scenarios.lab:
            assert rule.scenarios.why_not_lab, rule.id
