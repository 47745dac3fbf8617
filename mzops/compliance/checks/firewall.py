"""Check types for firewalls, over the running configuration parsed by the vendor's
module (`fw:config` and `fw:vendor` sections: from the device, or a saved export)."""

from __future__ import annotations

import ipaddress

from mzops.compliance.checks import ERROR, FAIL, MANUAL, PASS, Context, Outcome, check, compare, describe
from mzops.facts import Facts
from mzops.firewall import vendors
from mzops.firewall.model import ANY, DeviceConfig, Rule

def device(facts: Facts) -> DeviceConfig:
    """The configuration parsed by its vendor's module, once per bundle."""
    def parse() -> DeviceConfig:
        vendor = vendors.get((facts.text("fw:vendor") or "").strip(), "fw:vendor")
        return vendor.parse(facts.text("fw:config") or "")
    return facts.memo("firewall", parse)


def _where(cfg: DeviceConfig, key: str, fallback: str) -> list[str]:
    return [cfg.origin[key]] if key in cfg.origin else [fallback]


@check("fw_setting", needs=())
def fw_setting(ctx: Context) -> Outcome:
    """One management-plane setting compared with its expectation; a setting the
    configuration does not state fails (the vendor's default is not evidence)."""
    key, op, value = ctx.args["key"], ctx.args["op"], ctx.args.get("value")
    expected = f"{key} {describe(op, value)}"
    cfg = device(ctx.facts)
    actual = getattr(cfg.management, key)
    if isinstance(actual, bool):
        actual = "yes" if actual else "no"
    if actual is None:
        return Outcome(FAIL, expected, f"{key} not configured", [f"no line sets {key} (vendor default unproven)"])
    ok = compare(actual, op, value)
    return Outcome(PASS if ok else FAIL, expected, f"{key} = {actual}",
                   _where(cfg, ctx.args.get("origin", key), f"{key}: {actual}"))


@check("fw_list", needs=())
def fw_list(ctx: Context) -> Outcome:
    """A list setting (log hosts, NTP servers, management sources, SNMP versions):
    non-empty, within allowed values, or containing a required one."""
    key = ctx.args["key"]
    cfg = device(ctx.facts)
    values = list(getattr(cfg.management, key))
    required, allowed, forbidden = ctx.args.get("contains"), ctx.args.get("allowed"), ctx.args.get("forbidden", [])
    expected = (f"{key} set" + (f", including {required}" if required else "")
                + (f", only {', '.join(allowed)}" if allowed else "")
                + (f", none of {', '.join(forbidden)}" if forbidden else ""))
    evidence = _where(cfg, ctx.args.get("origin", key), f"{key}: {', '.join(values) or '(none)'}")
    if not values:
        return Outcome(FAIL, expected, f"{key}: none", [f"no line sets {key}"])
    bad = [v for v in values if v in forbidden or (allowed and v not in allowed)]
    if bad:
        return Outcome(FAIL, expected, f"{key}: {', '.join(bad)}", evidence)
    if required and required not in values:
        return Outcome(FAIL, expected, f"{key}: {', '.join(values)} (not {required})", evidence)
    return Outcome(PASS, expected, f"{key}: {', '.join(values)}", evidence)


@check("fw_mgmt_sources", needs=())
def fw_mgmt_sources(ctx: Context) -> Outcome:
    """Management restricted to known source networks (no 0.0.0.0/0, nothing wider than
    the allowed networks, when the site lists them)."""
    allowed = [ipaddress.ip_network(c) for c in ctx.args.get("allowed") or []]
    expected = "management only from " + (", ".join(map(str, allowed)) if allowed else "restricted networks")
    cfg = device(ctx.facts)
    sources = cfg.management.mgmt_sources
    evidence = _where(cfg, "mgmt_sources", f"management sources: {', '.join(sources) or '(any)'}")
    if not sources or ANY in sources or "0.0.0.0/0" in sources:
        return Outcome(FAIL, expected, "any source may manage the device", evidence)
    nets = [ipaddress.ip_network(s) for s in sources]
    wider = [str(n) for n in nets if allowed and not any(n.subnet_of(a) for a in allowed if a.version == n.version)]
    if wider:
        return Outcome(FAIL, expected, f"outside the allowed networks: {', '.join(wider)}", evidence)
    return Outcome(PASS, expected, ", ".join(sources), evidence)


@check("fw_admins", needs=())
def fw_admins(ctx: Context) -> Outcome:
    """Administrators are personal accounts of the account register (no shared or
    default names); without the register (an exported configuration) a manual check."""
    registered, generic = ctx.args.get("registered"), set(ctx.args["generic"])
    cfg = device(ctx.facts)
    names = [a.name for a in cfg.management.admins]
    expected = "administrators are personal, registered accounts"
    listed = ", ".join(f"{a.name} ({a.role or '-'})" for a in cfg.management.admins)
    evidence = [f"administrators: {listed or '(none)'}"]
    shared = [n for n in names if n.lower() in generic]
    if shared:
        return Outcome(FAIL, expected, f"default or shared: {', '.join(shared)}", evidence)
    if registered is None:
        return Outcome(MANUAL, expected, "compare with the account register (not given)", evidence)
    unknown = [n for n in names if n not in registered]
    if unknown:
        return Outcome(FAIL, expected, f"not in the register: {', '.join(unknown)}", evidence)
    return Outcome(PASS, expected, f"{len(names)} registered administrator(s)", evidence)


def _covers(outer: list[str], inner: list[str], objects: dict, contains) -> bool:
    if outer == [ANY]:
        return True
    if inner == [ANY]:
        return False
    return all(any(o == i or (o in objects and i in objects and contains(objects[o], objects[i])) for o in outer)
               for i in inner)


def _net_contains(a, b) -> bool:
    outer = [ipaddress.ip_network(n) for n in a.networks]
    return all(any(ipaddress.ip_network(n).subnet_of(o) for o in outer if o.version == ipaddress.ip_network(n).version)
               for n in b.networks)


def _svc_contains(a, b) -> bool:
    def span(port: str) -> tuple[int, int]:
        low, _, high = port.partition("-")
        return int(low), int(high or low)
    if a.protocol != b.protocol:
        return False
    if not a.ports:
        return True
    return all(any(span(o)[0] <= span(i)[0] and span(i)[1] <= span(o)[1] for o in a.ports) for i in b.ports)


def shadowing(cfg: DeviceConfig) -> list[tuple[Rule, Rule]]:
    """(later, earlier) pairs: the later rule can never match, an earlier one takes all it would."""
    p, out = cfg.ruleset, []
    for index, later in enumerate(p.rules):
        for earlier in p.rules[:index]:
            if (earlier.from_zone in (ANY, later.from_zone) and earlier.to_zone in (ANY, later.to_zone)
                    and _covers(earlier.sources, later.sources, p.addresses, _net_contains)
                    and _covers(earlier.destinations, later.destinations, p.addresses, _net_contains)
                    and _covers(earlier.services, later.services, p.services, _svc_contains)):
                out.append((later, earlier))
                break
    return out


def _describe(rule: Rule) -> str:
    return (f"rule {rule.name}: {rule.from_zone} -> {rule.to_zone}, {','.join(rule.sources)} -> "
            f"{','.join(rule.destinations)} {','.join(rule.services)} {rule.action}{' log' if rule.log else ''}")


@check("fw_policy", needs=())
def fw_policy(ctx: Context) -> Outcome:
    """The security policy: ends in an explicit deny that logs; no any-any permit; every
    permit logs; no rule shadowed by an earlier one."""
    what = ctx.args["property"]
    cfg = device(ctx.facts)
    rules = cfg.ruleset.rules
    if not rules:   # "none of 0 rules" would pass any-any and logging: no policy read is no evidence
        return Outcome(ERROR, f"security policy: {what}", "the configuration parsed into no policy rules",
                       ["fw:config: no security policy rule recognised (wrong vendor, a cut-off export, or a "
                        "policy syntax mzops does not read)"])
    if what == "final_deny":
        expected = "the last rule denies any to any and logs"
        last = rules[-1] if rules else None
        ok = (last is not None and last.action == "deny" and last.log and last.sources == [ANY]
              and last.destinations == [ANY] and last.services == [ANY] and last.from_zone == last.to_zone == ANY)
        return Outcome(PASS if ok else FAIL, expected, _describe(last) if last else "no rules",
                       [_describe(last) if last else "security policy: no rules"])
    if what == "no_any_permit":
        bad = [r for r in rules if r.any_any_permit]
        return Outcome(FAIL if bad else PASS, "no rule permits any source to any destination for any service",
                       ", ".join(r.name for r in bad) or f"none of {len(rules)} rules", [_describe(r) for r in bad]
                       or [f"{len(rules)} rules checked"])
    if what == "permits_log":
        bad = [r for r in rules if r.action == "permit" and not r.log]
        return Outcome(FAIL if bad else PASS, "every permit rule logs", ", ".join(r.name for r in bad) or "all log",
                       [_describe(r) for r in bad] or [f"{sum(r.action == 'permit' for r in rules)} permit rules log"])
    if what == "no_shadowed":
        pairs = shadowing(cfg)
        return Outcome(FAIL if pairs else PASS, "no rule shadowed by an earlier one",
                       ", ".join(f"{later.name} (by {earlier.name})" for later, earlier in pairs) or "none",
                       [f"{_describe(later)} -- never matches: {_describe(earlier)}" for later, earlier in pairs]
                       or [f"{len(rules)} rules checked"])
    return Outcome(ERROR, what, "unknown policy property", [])
