"""Fail closed: a rule whose facts are missing, unreadable or cut off is an `error`
naming them, never a `pass` or `notapplicable` (GB/T 28448 asks for evidence; none is
no evidence). Every rule of the Linux baseline is held to it here, section by section.
"""

from __future__ import annotations

import copy
import fnmatch

import pytest

from bundles import debian12, patched
from mzops.bundle import Bundle, Section
from mzops.compliance import audit, catalogue, evaluate
from mzops.facts import Facts, completeness
from tests.unit.test_rules_recorded import apply

CATALOGUE = catalogue.load("mlps3")
RULES = list(CATALOGUE.baseline.rules)
PARAMS = CATALOGUE.baseline.parameters


def passing_bundle(rule) -> Bundle:
    """The recorded host, with the rule's recorded passing scenario where it has one."""
    base = debian12()
    return apply(base, rule.scenarios.passing) if not rule.scenarios.lab else base


def outcome(rule, bundle: Bundle):
    return evaluate.evaluate(bundle, [rule], PARAMS)[1][0]


def sections_read(rule, bundle: Bundle) -> set[str]:
    facts = Facts(bundle)
    platform = evaluate.platform_of(bundle, facts)
    from mzops.compliance.checks import Context, registry

    with facts.reading() as read:
        registry()[rule.check].fn(Context(facts, platform, rule.resolve_args(PARAMS)))
    return read


def without(bundle: Bundle, name: str) -> Bundle:
    """The bundle as if NAME had been lost: a command's section removed, or for a file
    the section and its group's end marker (a cut-off output)."""
    out = copy.deepcopy(bundle)
    out.sections.pop(name, None)
    if name.startswith("file:"):
        for group in completeness.groups_collecting(name[5:]):
            out.sections.pop(completeness.MARKER + group, None)
    return out


PASSING = [r for r in RULES if outcome(r, passing_bundle(r)).status == "pass"]


def test_most_rules_pass_on_the_recorded_host_so_the_contract_is_exercised():
    assert len(PASSING) >= 30


@pytest.mark.parametrize("rule", PASSING, ids=lambda r: r.id)
def test_every_passing_rule_errs_when_any_section_it_read_is_lost(rule):
    bundle = passing_bundle(rule)
    read = {n for n in sections_read(rule, bundle) if not n.startswith("group:")}
    assert read, f"{rule.id} read nothing"
    for name in sorted(read):
        if name.startswith("file:") and "*" in name:
            continue   # a glob: its files are read by name as well
        lost = outcome(rule, without(bundle, name))
        if lost.status == "manual":
            continue   # the rule asks a person to check by hand: no verdict to trust or not
        assert lost.status == "error", f"{rule.id} without {name}: {lost.status} ({lost.actual})"
        assert any(_names(line, name) for line in lost.evidence), lost.evidence


def _names(line: str, section: str) -> bool:
    """The evidence names the lost section (or a glob of files that covers it)."""
    what = section.split(":", 1)[-1]
    head = line.split(": ", 1)[0]
    return what in line or fnmatch.fnmatch(what, head)


@pytest.mark.parametrize("rule", PASSING, ids=lambda r: r.id)
def test_every_passing_rule_errs_when_a_command_it_read_failed(rule):
    bundle = passing_bundle(rule)
    for name in sorted(n for n in sections_read(rule, bundle) if not n.startswith(("file:", "group:"))
                       and n in bundle.sections):
        broken = copy.deepcopy(bundle)
        broken.sections[name] = Section(1, b"sh: 1: cannot open: Permission denied\n")
        lost = outcome(rule, broken)
        assert lost.status in ("error", "manual"), f"{rule.id} with {name} failed: {lost.status}"


def test_an_unreadable_sudoers_is_an_error_not_an_empty_sudoers():
    rule = CATALOGUE.rules["linux.sudo.nopasswd"]
    denied = patched(debian12(), {})
    denied.sections["file:/etc/sudoers"] = Section(1, b"cat: /etc/sudoers: Permission denied\n")
    got = outcome(rule, denied)
    assert got.status == "error" and "Permission denied" in got.actual


def test_a_file_absent_from_a_whole_group_is_absent_on_the_host():
    """With the group's end marker present, a missing file means the host has none:
    here no /etc/inetd.conf, so telnet is not offered through inetd."""
    rule = CATALOGUE.rules["linux.svc.no_telnet"]
    bundle = debian12()
    assert "file:/etc/inetd.conf" not in bundle.sections and "group:services" in bundle.sections
    assert outcome(rule, bundle).status == "pass"


def test_a_host_whose_platform_cannot_be_told_has_every_rule_in_error():
    lost = without(debian12(), "file:/etc/os-release")
    _, results = evaluate.evaluate(lost, RULES, PARAMS)
    assert {r.status for r in results} == {"error"}
    assert "os-release" in results[0].actual
    exotic = patched(debian12(), {"file:/etc/os-release": 'ID=plan9\nNAME="Plan 9"\n'})
    _, results = evaluate.evaluate(exotic, RULES, PARAMS)
    assert {r.status for r in results} == {"error"} and "ID='plan9' ID_LIKE='' is no platform" in results[0].actual


def test_one_damaged_bundle_does_not_stop_the_evaluation_of_the_others(tmp_path):
    debian12().save(tmp_path)
    (tmp_path / "broken.json").write_text('{"format": "mzops-facts/1", "target": "broken", "sections": {')
    request = audit.AuditRequest.single(CATALOGUE, RULES)
    run = audit.evaluate_saved(tmp_path, None, request)
    by_name = {t.name: t for t in run.targets}
    assert by_name["debian12-lab"].status == "assessed"
    assert by_name["broken"].status == "error" and "broken.json" in by_name["broken"].message
    assert run.exit_code() == 1
