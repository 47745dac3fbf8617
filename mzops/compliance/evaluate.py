"""Evaluate rules over a fact bundle (pure: facts in, results out)."""

from __future__ import annotations

from mzops import engines
from mzops.compliance.catalogue import Rule
from mzops.compliance.checks import ERROR, NOTAPPLICABLE, Context, Outcome, registry
from mzops.bundle import Bundle
from mzops.facts import Facts
from mzops.compliance.platforms import Platform, detect, firewall
from mzops.compliance.waivers import Waiver
from mzops.results import RuleResult


def platform_of(bundle: Bundle, facts: Facts) -> Platform:
    """A firewall's vendor, a database server's flavour, else the host's distribution."""
    vendor = bundle.sections.get("fw:vendor")
    if vendor is not None:
        return firewall(vendor.text.strip())
    engine = engines.of_bundle(bundle)
    return engine.platform(bundle) if engine else detect(facts.os_release)


def evaluate(bundle: Bundle, rules: list[Rule], params: dict, waivers: list[Waiver] = (),
             groups: list[str] = ()) -> tuple[Platform, list[RuleResult]]:
    facts = Facts(bundle)
    platform = platform_of(bundle, facts)
    checks = registry()
    out = []
    for rule in rules:
        if not set(rule.platforms) & platform.names:
            outcome = Outcome(NOTAPPLICABLE, "", f"platform {platform.name}",
                              [f"/etc/os-release: ID={facts.os_release.get('ID', '?')}"
                               if platform.kind == "linux" else f"server: {platform.name}"])
        else:
            try:
                outcome = checks[rule.check].fn(Context(facts, platform, rule.resolve_args(params)))
            except Exception as exc:  # a parser meeting unexpected input must not sink the run
                outcome = Outcome(ERROR, "", f"check failed: {type(exc).__name__}: {exc}", [])
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
