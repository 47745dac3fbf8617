"""A firewall's configuration in vendor-neutral terms: its rule set (zones, address and
service objects, ordered rules: its part of the estate's zone policy) and the
management plane the MLPS baseline looks at. Vendor modules render it to their configuration and parse their configuration
back into it (pure data, no I/O)."""

from __future__ import annotations

import copy
import ipaddress
from dataclasses import dataclass, field, fields

ANY = "any"


@dataclass
class Address:
    name: str
    networks: list[str]             # CIDRs, normalised (10.1.1.0/24, 10.1.1.5/32)
    # Written in the rule itself (`source-ip-subnet 10.1.1.0 24`), not an address object.
    inline: bool = False


@dataclass
class Service:
    name: str
    protocol: str                   # tcp | udp | icmp
    ports: list[str] = field(default_factory=list)   # "443", "8000-8080"; empty for icmp
    inline: bool = False            # written in the rule itself, not a service object


@dataclass
class Rule:
    name: str
    from_zone: str = ANY
    to_zone: str = ANY
    sources: list[str] = field(default_factory=lambda: [ANY])        # address object names
    destinations: list[str] = field(default_factory=lambda: [ANY])
    services: list[str] = field(default_factory=lambda: [ANY])       # service object names
    action: str = "deny"            # permit | deny
    log: bool = False
    # A disabled rule stays in the configuration but matches nothing.
    enabled: bool = True
    # The rule list it belongs to: "" for the device's main (IPv4 or unified) list;
    # others are matched on their own ("ipv6", "object-policy ip op1 (trust -> untrust)").
    policy: str = ""
    # Match criteria the parser does not model (a time range, an application): evidence
    # lines. Such a rule may match less than it seems to; checks that depend on it say so.
    unread: list[str] = field(default_factory=list, compare=False)

    @property
    def any_any_permit(self) -> bool:
        return (self.action == "permit" and self.sources == [ANY] and self.destinations == [ANY]
                and self.services == [ANY])


@dataclass
class RuleSet:
    zones: dict[str, list[str]] = field(default_factory=dict)        # zone -> interfaces
    addresses: dict[str, Address] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    rules: list[Rule] = field(default_factory=list)
    default_action: str = "deny"    # what the device does after the last rule


@dataclass
class Admin:
    name: str
    role: str = ""
    access: list[str] = field(default_factory=list)   # ssh, https, telnet, console


@dataclass
class Management:
    """None: the configuration says nothing (the vendor's default applies)."""

    telnet: bool | None = None
    ssh: bool | None = None
    http: bool | None = None
    https: bool | None = None
    admins: list[Admin] = field(default_factory=list)
    password_min_length: int | None = None
    password_complexity: bool | None = None
    password_aging_days: int | None = None
    password_history: int | None = None
    lockout_attempts: int | None = None
    lockout_minutes: int | None = None
    idle_timeout_minutes: float | None = None
    mgmt_sources: list[str] = field(default_factory=list)   # CIDRs admins may come from; [] = any
    mgmt_interfaces: list[str] = field(default_factory=list)  # where management is offered; [] = not said
    syslog_hosts: list[str] = field(default_factory=list)
    ntp_servers: list[str] = field(default_factory=list)
    snmp_versions: list[str] = field(default_factory=list)  # v1, v2c, v3 enabled


@dataclass
class DeviceConfig:
    vendor: str
    hostname: str = ""
    ruleset: RuleSet = field(default_factory=RuleSet)
    management: Management = field(default_factory=Management)
    # Where each fact came from in the parsed text: key -> "line N: text" (evidence).
    origin: dict[str, str] = field(default_factory=dict, compare=False, repr=False)


def merged(running: DeviceConfig, candidate: DeviceConfig) -> DeviceConfig:
    """RUNNING with CANDIDATE merged in (NAPALM's merge): objects and zones added or
    replaced, rules replaced by name or added — before a final catch-all deny, which
    would otherwise shadow them — and the management settings the candidate states."""
    out = copy.deepcopy(running)
    p, c = out.ruleset, candidate.ruleset
    p.addresses.update(copy.deepcopy(c.addresses))
    p.services.update(copy.deepcopy(c.services))
    for zone, interfaces in c.zones.items():
        p.zones[zone] = p.zones.get(zone, []) + [i for i in interfaces if i not in p.zones.get(zone, [])]
    names = {r.name: i for i, r in enumerate(p.rules)}
    new = []
    for rule in c.rules:
        if rule.name in names:
            p.rules[names[rule.name]] = copy.deepcopy(rule)
        else:
            new.append(copy.deepcopy(rule))
    last = p.rules[-1] if p.rules else None
    final_deny = last is not None and last.action == "deny" and last.sources == last.destinations == \
        last.services == [ANY] and last.from_zone == last.to_zone == ANY
    at = len(p.rules) - 1 if final_deny else len(p.rules)
    p.rules[at:at] = new
    for f in fields(Management):
        value = getattr(candidate.management, f.name)
        if isinstance(value, list):
            current = getattr(out.management, f.name)
            if f.name == "admins":
                known = {a.name for a in current}
                current += [copy.deepcopy(a) for a in value if a.name not in known]
            else:
                current += [v for v in value if v not in current]
        elif value is not None:
            setattr(out.management, f.name, value)
    out.hostname = candidate.hostname or running.hostname
    return out


def inline_address(networks: list[str]) -> Address:
    """An address written in a rule, named by what it holds."""
    return Address(",".join(networks), networks, inline=True)


def address_range(first: str, last: str) -> list[str]:
    """The CIDRs covering FIRST..LAST (`source-ip-range 10.1.1.1 10.1.1.20`)."""
    try:
        low, high = ipaddress.ip_address(first.strip()), ipaddress.ip_address(last.strip())
        return [str(n) for n in ipaddress.summarize_address_range(low, high)]
    except (ValueError, TypeError):
        raise ValueError(f"not an address range: {first!r} to {last!r}") from None


def network(text: str) -> str:
    """A CIDR in canonical form; ValueError names the bad text."""
    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError:
        raise ValueError(f"not an address or network: {text!r}") from None


def prefix_of_mask(mask: str) -> int:
    """24 for '255.255.255.0' or '24'."""
    mask = mask.strip()
    if mask.isdigit():
        return int(mask)
    return ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen
