"""Check types for firewalls, over the running configuration parsed by the vendor's
module (`fw:config` and `fw:vendor` sections: from the device, or a saved export)."""

from __future__ import annotations

import ipaddress

from mzops.compliance.checks import ERROR, FAIL, MANUAL, PASS, Context, Outcome, check, compare, describe
from mzops.facts import Facts
from mzops.firewall import vendors
from mzops.firewall.model import ANY, DeviceConfig, Rule

def device(facts: Facts) -> DeviceConfig:
    """The configuration parsed by its vendor's module, once per bundle; ValueError (an
    `error` for every rule) when the text is not that vendor's or the pager cut it."""
    def parse() -> DeviceConfig:
        vendor = vendors.get((facts.text("fw:vendor") or "").strip(), "fw:vendor")
        text = facts.text("fw:config") or ""
        refused = vendors.refusal(vendor, text)
        if refused:
            raise ValueError(f"fw:config: {refused}")
        return vendor.parse(text)
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


def _shadows(earlier: Rule, later: Rule, p) -> bool:
    return (earlier.from_zone in (ANY, later.from_zone) and earlier.to_zone in (ANY, later.to_zone)
            and _covers(earlier.sources, later.sources, p.addresses, _net_contains)
            and _covers(earlier.destinations, later.destinations, p.addresses, _net_contains)
            and _covers(earlier.services, later.services, p.services, _svc_contains))


def lists(cfg: DeviceConfig) -> dict[str, list[Rule]]:
    """The rules in force, by the list they are matched in (main, IPv6, each applied
    object policy), in order. A disabled rule matches nothing: it is not in force."""
    out: dict[str, list[Rule]] = {}
    for rule in cfg.ruleset.rules:
        out.setdefault(rule.policy, [])
        if rule.enabled:
            out[rule.policy].append(rule)
    return out


def shadowing(cfg: DeviceConfig) -> list[tuple[Rule, Rule]]:
    """(later, earlier) pairs: the later rule can never match, an earlier one in force
    in the same list takes all it would. An earlier rule with criteria not read may
    match less, so it is not counted here (see `uncertain_shadowing`)."""
    out = []
    for rules in lists(cfg).values():
        for index, later in enumerate(rules):
            earlier = next((e for e in rules[:index] if not e.unread and _shadows(e, later, cfg.ruleset)), None)
            if earlier is not None:
                out.append((later, earlier))
    return out


def uncertain_shadowing(cfg: DeviceConfig) -> list[tuple[Rule, Rule]]:
    """(later, earlier) pairs where the earlier rule would shadow the later one but has
    criteria mzops does not read (a time range, an application)."""
    out = []
    for rules in lists(cfg).values():
        for index, later in enumerate(rules):
            earlier = next((e for e in rules[:index] if e.unread and _shadows(e, later, cfg.ruleset)), None)
            if earlier is not None:
                out.append((later, earlier))
    return out


def _describe(rule: Rule) -> str:
    where = f"{rule.policy}: " if rule.policy else ""
    return (f"{where}rule {rule.name}: {rule.from_zone} -> {rule.to_zone}, {','.join(rule.sources)} -> "
            f"{','.join(rule.destinations)} {','.join(rule.services)} {rule.action}{' log' if rule.log else ''}"
            + ("" if rule.enabled else " (disabled)"))


def _list_name(policy: str) -> str:
    return policy or "security policy"


def _disabled(cfg: DeviceConfig) -> list[str]:
    return [f"not in force: {_describe(r)}" for r in cfg.ruleset.rules if not r.enabled]


def _wide(names: list[str], addresses: dict) -> bool:
    """Any address: `any`, or an address holding 0.0.0.0/0 or ::/0 (`source-address 0.0.0.0 0`)."""
    return names == [ANY] or any(ipaddress.ip_network(n).prefixlen == 0
                                 for name in names if name in addresses for n in addresses[name].networks)


def _wide_permit(rule: Rule, cfg: DeviceConfig) -> bool:
    p = cfg.ruleset
    return (rule.action == "permit" and _wide(rule.sources, p.addresses) and _wide(rule.destinations, p.addresses)
            and rule.services == [ANY])


def _any_to_any(rule: Rule) -> bool:
    return rule.sources == [ANY] and rule.destinations == [ANY] and rule.services == [ANY] \
        and rule.from_zone == rule.to_zone == ANY


@check("fw_policy", needs=())
def fw_policy(ctx: Context) -> Outcome:
    """The security policy: each rule list ends in an explicit deny that logs; no any-any
    permit; every permit logs; no rule shadowed by an earlier one. Only rules in force
    count (a disabled final deny is no final deny); IPv6 lists and applied object
    policies are lists of their own."""
    what = ctx.args["property"]
    cfg = device(ctx.facts)
    rules = cfg.ruleset.rules
    if not rules:   # "none of 0 rules" would pass any-any and logging: no policy read is no evidence
        return Outcome(ERROR, f"security policy: {what}", "the configuration parsed into no policy rules",
                       ["fw:config: no security policy rule recognised (wrong vendor, a cut-off export, or a "
                        "policy syntax mzops does not read)"])
    in_force = [r for r in rules if r.enabled]
    disabled = _disabled(cfg)
    if what == "final_deny":
        expected = "each rule list ends with a rule in force that denies any to any and logs"
        bad, unsure, seen = [], [], []
        for policy, listed in lists(cfg).items():
            last = listed[-1] if listed else None
            if last is None:
                bad.append(f"{_list_name(policy)}: no rule in force")
                continue
            seen.append(_describe(last))
            if last.action == "deny" and last.log and _any_to_any(last):
                if last.unread:
                    unsure.append(f"{_describe(last)} -- criteria not read: {'; '.join(last.unread)}")
            else:
                bad.append(f"{_list_name(policy)} ends with {_describe(last)}")
        if bad:
            return Outcome(FAIL, expected, "; ".join(bad), bad + disabled)
        if unsure:
            return Outcome(ERROR, expected, "the final deny has criteria mzops does not read", unsure)
        return Outcome(PASS, expected, "; ".join(seen), seen + disabled)
    if what == "no_any_permit":
        expected = "no rule permits any source to any destination for any service"
        bad = [r for r in in_force if _wide_permit(r, cfg) and not r.unread]
        unsure = [r for r in in_force if _wide_permit(r, cfg) and r.unread]
        if bad:
            return Outcome(FAIL, expected, ", ".join(r.name for r in bad), [_describe(r) for r in bad])
        if unsure:
            return Outcome(ERROR, expected, "any-any permits whose other criteria mzops does not read: "
                           + ", ".join(r.name for r in unsure),
                           [f"{_describe(r)} -- {'; '.join(r.unread)}" for r in unsure])
        return Outcome(PASS, expected, f"none of {len(in_force)} rules in force",
                       [f"{len(in_force)} rules in force checked"] + disabled)
    if what == "permits_log":
        bad = [r for r in in_force if r.action == "permit" and not r.log]
        return Outcome(FAIL if bad else PASS, "every permit rule logs", ", ".join(r.name for r in bad) or "all log",
                       [_describe(r) for r in bad]
                       or [f"{sum(r.action == 'permit' for r in in_force)} permit rules in force log"])
    if what == "no_shadowed":
        pairs = shadowing(cfg)
        expected = "no rule shadowed by an earlier one"
        if pairs:
            return Outcome(FAIL, expected, ", ".join(f"{later.name} (by {earlier.name})" for later, earlier in pairs),
                           [f"{_describe(later)} -- never matches: {_describe(earlier)}" for later, earlier in pairs])
        unsure = uncertain_shadowing(cfg)
        if unsure:
            return Outcome(ERROR, expected, "shadowing depends on criteria mzops does not read: "
                           + ", ".join(f"{later.name} (by {earlier.name})" for later, earlier in unsure),
                           [f"{_describe(earlier)} -- {'; '.join(earlier.unread)}" for _, earlier in unsure])
        return Outcome(PASS, expected, "none", [f"{len(in_force)} rules in force checked"])
    return Outcome(ERROR, what, "unknown policy property", [])
