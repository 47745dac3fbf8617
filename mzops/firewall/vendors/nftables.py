"""Linux nftables: the zone policy as one table (`inet mzops`), in `nft list ruleset`
syntax. Zones are interface-name sets, address objects ipv4_addr sets, service objects
inet_service sets whose comment is the protocol; each policy rule is one line per
(source, destination, service), all with the rule's name as comment, in a forward
chain whose policy drops. The management plane is the host's (the Linux baseline
audits sshd and friends), so it stays empty here.
"""

from __future__ import annotations

import itertools
import re

from mzops.firewall.model import ANY, Address, DeviceConfig, Rule, Service, network
from mzops.firewall.vendors import Vendor

TABLE = "mzops"


def _elements(block: str) -> list[str]:
    found = re.search(r"elements = \{([^}]*)\}", block, re.S)
    return [e.strip().strip('"') for e in found.group(1).replace("\n", " ").split(",")] if found else []


def parse(text: str) -> DeviceConfig:
    cfg = DeviceConfig("nftables")
    p = cfg.ruleset
    table = re.search(r"table inet " + TABLE + r" \{(.*)^\}", text, re.S | re.M)
    if not table:
        return cfg
    body = table.group(1)
    for name, block in re.findall(r"^\s*set (\S+) \{(.*?)^\s*\}", body, re.S | re.M):
        if name.startswith("zone-"):
            p.zones[name[5:]] = _elements(block)
        elif name.startswith("svc-"):
            proto = re.search(r'comment "(\w+)"', block)
            p.services[name[4:]] = Service(name[4:], proto.group(1) if proto else "tcp", _elements(block))
        else:
            p.addresses[name] = Address(name, [network(e) for e in _elements(block)])
    chain = re.search(r"chain forward \{(.*?)^\s*\}", body, re.S | re.M)
    if not chain:
        return cfg
    policy = re.search(r"policy (\w+);", chain.group(1))
    p.default_action = "deny" if policy and policy.group(1) == "drop" else "permit"
    current: Rule | None = None
    for line in chain.group(1).splitlines():
        named = re.search(r'comment "([^"]+)"\s*$', line)
        if not named:
            continue
        name = named.group(1)
        if current is None or current.name != name:
            current = Rule(name, sources=[], destinations=[], services=[])
            p.rules.append(current)
        current.from_zone = _match(r"iifname @zone-(\S+)", line) or ANY
        current.to_zone = _match(r"oifname @zone-(\S+)", line) or ANY
        for field, pattern in (("sources", r"ip saddr @(\S+)"), ("destinations", r"ip daddr @(\S+)"),
                               ("services", r"dport @svc-(\S+)")):
            value = _match(pattern, line) or ANY
            if value not in getattr(current, field):
                getattr(current, field).append(value)
        current.action = "permit" if re.search(r"\baccept\b", line) else "deny"
        current.log = re.search(r"(^|\s)log(\s|$)", line) is not None
    return cfg


def _match(pattern: str, line: str) -> str | None:
    found = re.search(pattern, line)
    return found.group(1) if found else None


def render(cfg: DeviceConfig) -> str:
    p = cfg.ruleset
    out = [f"table inet {TABLE} {{"]
    for zone, interfaces in p.zones.items():
        out += [f"\tset zone-{zone} {{", "\t\ttype ifname"]
        if interfaces:
            out.append("\t\telements = { " + ", ".join(f'"{i}"' for i in interfaces) + " }")
        out += ["\t}", ""]
    for address in p.addresses.values():
        elements = ", ".join(n[:-3] if n.endswith("/32") else n for n in address.networks)
        out += [f"\tset {address.name} {{", "\t\ttype ipv4_addr", "\t\tflags interval",
                f"\t\telements = {{ {elements} }}", "\t}", ""]
    for service in p.services.values():
        out += [f"\tset svc-{service.name} {{", "\t\ttype inet_service", "\t\tflags interval",
                f'\t\tcomment "{service.protocol}"']
        if service.ports:
            out.append(f"\t\telements = {{ {', '.join(service.ports)} }}")
        out += ["\t}", ""]
    out += ["\tchain forward {",
            f"\t\ttype filter hook forward priority filter; policy {'drop' if p.default_action == 'deny' else 'accept'};",
            "\t\tct state established,related accept"]
    for rule in p.rules:
        for source, destination, service in itertools.product(rule.sources, rule.destinations, rule.services):
            parts = []
            if rule.from_zone != ANY:
                parts.append(f"iifname @zone-{rule.from_zone}")
            if rule.to_zone != ANY:
                parts.append(f"oifname @zone-{rule.to_zone}")
            if source != ANY:
                parts.append(f"ip saddr @{source}")
            if destination != ANY:
                parts.append(f"ip daddr @{destination}")
            if service != ANY:
                parts.append(f"{p.services[service].protocol} dport @svc-{service}")
            if rule.log:
                parts.append(f'log prefix "{rule.name} "')
            parts += ["accept" if rule.action == "permit" else "drop", f'comment "{rule.name}"']
            out.append("\t\t" + " ".join(parts))
    out += ["\t}", "}"]
    return "\n".join(out) + "\n"


VENDOR = Vendor(
    name="nftables", title="Linux nftables", device_type="linux",
    enter_config="", leave_config="", negation="delete",
    error_patterns=(r"^Error: ", r"syntax error"),
    render=render, parse=parse,
    markers=(r"^table (ip|ip6|inet|arp|bridge|netdev) \S+ \{",))
