"""Evaluate rules over a fact bundle (pure: facts in, results out).

Fail closed: on a host's bundle, a rule that passes, fails or finds nothing to apply
to on sections that were not collected whole is an `error` naming them (a missing
program, exit 127, may still be what a failing rule reports); a host whose platform
cannot be told has every rule in `error`, never `notapplicable`.
"""

from __future__ import annotations

from mzops import engines
from mzops.compliance.catalogue import Rule
from mzops.compliance.checks import ERROR, NOTAPPLICABLE, Context, Outcome, registry
from mzops.bundle import Bundle
from mzops.compliance.checks import FAIL, MANUAL
from mzops.compliance.platforms import UNKNOWN, Platform, detect, firewall
from mzops.facts import Facts, completeness
from mzops.compliance.waivers import Waiver
from mzops.results import RuleResult


def platform_of(bundle: Bundle, facts: Facts) -> Platform:
    """A firewall's vendor, a database server's flavour, else the host's distribution."""
    vendor = bundle.sections.get("fw:vendor")
    if vendor is not None:
        return firewall(vendor.text.strip())
    engine = engines.of_bundle(bundle)
    return engine.platform(bundle) if engine else detect(facts.os_release)


def is_host(bundle: Bundle) -> bool:
    return "fw:vendor" not in bundle.sections and engines.of_bundle(bundle) is None


def _platform_problems(bundle: Bundle, facts: Facts, platform: Platform, read: set[str]) -> list[str]:
    missing = completeness.problems(bundle, read)
    if missing or platform is not UNKNOWN:
        return missing
    release = facts.os_release
    return [f"/etc/os-release: ID={release.get('ID', '')!r} ID_LIKE={release.get('ID_LIKE', '')!r} is no "
            "platform mzops knows (mzops/compliance/platforms/)"]


def _checked(check, facts: Facts, bundle: Bundle, context: Context, host: bool) -> Outcome:
    with facts.reading() as read:
        try:
            outcome = check.fn(context)
        except Exception as exc:  # a parser meeting unexpected input must not sink the run
            return Outcome(ERROR, "", f"check failed: {type(exc).__name__}: {exc}", [])
    if not host or outcome.status == MANUAL:
        return outcome   # a person checks it by hand anyway
    missing = completeness.problems(bundle, read)
    if outcome.status == FAIL:
        # A program that is not installed (exit 127) is itself what a failing rule may
        # report (no auditctl: no audit); anything else lost makes the verdict unsound.
        missing = [m for m in missing if "(exit 127)" not in m]
    if not missing:
        return outcome
    if outcome.status == ERROR:   # the check saw it too: say which facts were lost
        return Outcome(ERROR, outcome.expected, outcome.actual, outcome.evidence + missing)
    return Outcome(ERROR, outcome.expected, f"not evaluated: {missing[0]}",
                   missing + [f"(on the facts that were there it would read: {outcome.actual})"])


def evaluate(bundle: Bundle, rules: list[Rule], params: dict, waivers: list[Waiver] = (),
             groups: list[str] = ()) -> tuple[Platform, list[RuleResult]]:
    facts = Facts(bundle)
    host = is_host(bundle)
    with facts.reading() as read:
        platform = platform_of(bundle, facts)
    unknown = _platform_problems(bundle, facts, platform, read) if host else []
    checks = registry()
    out = []
    for rule in rules:
        if unknown:
            outcome = Outcome(ERROR, "", f"the platform could not be told: {unknown[0]}", unknown)
        elif not set(rule.platforms) & platform.names:
            outcome = Outcome(NOTAPPLICABLE, "", f"platform {platform.name}",
                              [f"/etc/os-release: ID={facts.os_release.get('ID', '?')}"
                               if platform.kind == "linux" else f"server: {platform.name}"])
        else:
            outcome = _checked(checks[rule.check], facts, bundle,
                               Context(facts, platform, rule.resolve_args(params)), host)
        result = RuleResult(
            rule=rule.id, title=rule.title.en, title_zh=rule.title.zh, clause=rule.clause,
            eval_id=rule.eval_id, severity=rule.severity, status=outcome.status,
            expected=outcome.expected, actual=outcome.actual, evidence=outcome.evidence,
            remediation=rule.remediation.task, hint=rule.remediation.hint.en,
            hint_zh=rule.remediation.hint.zh,
        )
        if result.status in ("fail", "error", "manual"):
            waiver = next((w for w in waivers if w.covers(rule.id, bundle.target, list(groups))), None)
            if waiver:
                result.waiver = waiver.to_dict()
                result.status = "waived"
        out.append(result)
    return platform, out
