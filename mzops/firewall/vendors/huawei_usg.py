"""Huawei USG (VRP): `display current-configuration` syntax, views by one-space indent.

Management commands from Huawei's USG manuals; the password-policy view syntax is
marked unverified in shared/notes/firewalls.md and kept to one place here.
"""

from __future__ import annotations

import re

from mzops.firewall import tree
from mzops.firewall.model import (ANY, Address, Admin, DeviceConfig, Rule, Service, address_range, inline_address,
                                  network, prefix_of_mask)
from mzops.firewall.delta import Syntax
from mzops.firewall.vendors import Vendor, vrp

PASSWORD_VIEW = "local-aaa-user password policy administrator"
# Neutral admin roles as manager-user levels (USG's role-based admin syntax: unverified).
LEVELS = {"admin": "15", "operator": "3", "auditor": "2"}


def parse(text: str) -> DeviceConfig:
    cfg = DeviceConfig("huawei_usg")
    m, p, origin = cfg.management, cfg.ruleset, cfg.origin
    root = tree.parse(text)
    acls: dict[str, list[str]] = {}
    vty_acl = None
    for node in root.children:
        w = node.words
        if w[:1] == ["sysname"] and len(w) > 1:
            cfg.hostname = w[1]
        elif w == ["undo", "telnet", "server", "enable"] or w == ["telnet", "server", "enable"]:
            m.telnet = w[0] != "undo"
            origin["telnet"] = node.evidence()
        elif w in (["stelnet", "server", "enable"], ["undo", "stelnet", "server", "enable"]):
            m.ssh = w[0] != "undo"
            origin["ssh"] = node.evidence()
        elif w in (["web-manager", "enable"], ["undo", "web-manager", "enable"]):
            m.http = w[0] != "undo"
            origin["http"] = node.evidence()
        elif w in (["web-manager", "security", "enable"], ["undo", "web-manager", "security", "enable"]):
            m.https = w[0] != "undo"
            origin["https"] = node.evidence()
        elif vrp.common(w, node, cfg):
            pass
        elif w[:2] == ["acl", "number"] and len(w) > 2:
            acls[w[2]] = vrp.acl_sources(node)
        elif w == ["aaa"]:
            _aaa(node, cfg)
        elif w[:2] == ["user-interface", "vty"]:
            for child in node.children:
                cw = child.words
                vty_acl = vrp.vty_line(child, cfg) or vty_acl
                if cw[:2] == ["protocol", "inbound"] and len(cw) > 2 and cw[2] in ("all", "telnet"):
                    m.telnet = True if m.telnet is None else m.telnet
        elif w[:2] == ["firewall", "zone"]:
            name = w[3] if w[2:3] == ["name"] and len(w) > 3 else w[2]
            p.zones[name] = [c.words[2] for c in node.find("add", "interface") if len(c.words) > 2]
        elif w[:2] == ["ip", "address-set"] and len(w) > 2:
            p.addresses[w[2]] = Address(w[2], [
                network(f"{c.words[2]}/{prefix_of_mask(c.words[4]) if len(c.words) > 4 else 32}")
                for c in node.find("address") if len(c.words) > 2])
        elif w[:2] == ["ip", "service-set"] and len(w) > 2:
            svc = node.first("service")
            if svc is not None:
                sw = svc.words
                proto = sw[sw.index("protocol") + 1] if "protocol" in sw else "tcp"
                ports = []
                if "destination-port" in sw:
                    rest = sw[sw.index("destination-port") + 1:]
                    ports = [f"{rest[0]}-{rest[2]}" if len(rest) > 2 and rest[1] == "to" else rest[0]]
                p.services[w[2]] = Service(w[2], proto, ports)
        elif w == ["security-policy"]:
            for rule in node.find("rule", "name"):
                p.rules.append(_rule(rule, p))
            default = node.first("default", "action")
            if default is not None and len(default.words) > 2:
                p.default_action = default.words[2]
    if vty_acl is not None:
        m.mgmt_sources = acls.get(vty_acl, [])
    return cfg


def _aaa(node: tree.Node, cfg: DeviceConfig) -> None:
    m, origin = cfg.management, cfg.origin
    for child in node.children:
        cw = child.words
        if cw[:2] == ["lock-authentication", "failed-count"] and len(cw) > 2:
            m.lockout_attempts = int(cw[2])
            origin["lockout"] = child.evidence()
        elif cw[:2] == ["lock-authentication", "timeout"] and len(cw) > 2:
            m.lockout_minutes = int(cw[2])
        elif cw[:1] == ["manager-user"] and len(cw) > 1:
            admin = Admin(cw[1])
            for attr in child.children:
                aw = attr.words
                if aw[:1] == ["service-type"]:
                    admin.access = aw[1:]
                elif aw[:1] == ["level"] and len(aw) > 1:
                    admin.role = next((r for r, level in LEVELS.items() if level == aw[1]), f"level-{aw[1]}")
            m.admins.append(admin)
        elif child.text.strip() == PASSWORD_VIEW:
            origin["password"] = child.evidence()
            for attr in child.children:
                aw = attr.words
                if aw[:2] == ["password", "expire"] and len(aw) > 2:
                    m.password_aging_days = int(aw[2])
                elif aw[:4] == ["password", "history", "record", "number"] and len(aw) > 4:
                    m.password_history = int(aw[4])
                elif aw[:2] == ["password", "min-length"] and len(aw) > 2:
                    m.password_min_length = int(aw[2])
                elif aw[:2] == ["password", "complexity-check"]:
                    m.password_complexity = True


# Rule-view lines that do not narrow what a rule matches (content profiles, logging, notes).
NOT_CRITERIA = ("description", "policy", "session", "profile", "long-link", "counting")


def _rule(node: tree.Node, p) -> Rule:
    """One `rule name` view of `security-policy`. IPv4 and IPv6 share the list (USG
    matches both in one order); addresses may be objects or written inline."""
    rule = Rule(node.words[2])
    sources, destinations, services = [], [], []
    for child in node.children:
        cw = child.words
        if cw[:1] == ["source-zone"] and len(cw) > 1:
            rule.from_zone = cw[1]
        elif cw[:1] == ["destination-zone"] and len(cw) > 1:
            rule.to_zone = cw[1]
        elif cw[:1] in (["source-address"], ["destination-address"]) and len(cw) > 2:
            into = sources if cw[0] == "source-address" else destinations
            name = _address(cw[1:], p)
            if name is None:
                rule.unread.append(child.evidence())
            else:
                into.append(name)
        elif cw[:2] == ["service", "protocol"] and len(cw) > 2:
            ports = []
            if "destination-port" in cw:
                rest = cw[cw.index("destination-port") + 1:]
                ports = [f"{rest[0]}-{rest[2]}" if len(rest) > 2 and rest[1] == "to" else rest[0]]
            service = Service(f"{cw[2]}:{','.join(ports) or 'any'}", cw[2], ports, inline=True)
            p.services.setdefault(service.name, service)
            services.append(service.name)
        elif cw[:1] == ["service"] and len(cw) > 1:
            services.append(cw[1])
        elif cw[:1] == ["action"] and len(cw) > 1:
            rule.action = cw[1]
        elif cw == ["policy", "logging"]:
            rule.log = True
        elif cw == ["disable"]:
            rule.enabled = False
        elif cw == ["enable"]:
            rule.enabled = True
        elif cw[:1] and cw[0] not in NOT_CRITERIA:
            rule.unread.append(child.evidence())
    rule.sources, rule.destinations, rule.services = sources or [ANY], destinations or [ANY], services or [ANY]
    return rule


def _address(words: list[str], p) -> str | None:
    """The address a rule's `source-address`/`destination-address` names (after that
    word): an address-set, `IP MASKLEN`, `IP mask MASK` or `range A B`; None for a form
    not modelled (domain sets, regions)."""
    if words[0] == "address-set" and len(words) > 1:
        return words[1]
    if words[0] == "range" and len(words) > 2:
        found = inline_address(address_range(words[1], words[2]))
    elif len(words) > 2 and words[1] == "mask":
        found = inline_address([network(f"{words[0]}/{prefix_of_mask(words[2])}")])
    elif len(words) > 1 and words[1].isdigit():
        found = inline_address([network(f"{words[0]}/{words[1]}")])
    else:
        return None
    p.addresses.setdefault(found.name, found)
    return found.name


def _render_address(direction: str, name: str, p) -> list[str]:
    address = p.addresses.get(name)
    if address is None or not address.inline:
        return [f"  {direction}-address address-set {name}"]
    return [f"  {direction}-address {cidr.replace('/', ' ')}" for cidr in address.networks]


def _render_service(name: str, p) -> str:
    service = p.services.get(name)
    if service is None or not service.inline:
        return f"  service {name}"
    low, _, high = (service.ports or [""])[0].partition("-")
    port = f" destination-port {low}" + (f" to {high}" if high else "") if low else ""
    return f"  service protocol {service.protocol}{port}"


def render(cfg: DeviceConfig) -> str:
    m, p = cfg.management, cfg.ruleset
    out = ["#", f" sysname {cfg.hostname}", "#"] if cfg.hostname else ["#"]
    if m.telnet is not None:
        out.append(f" {'' if m.telnet else 'undo '}telnet server enable")
    if m.ssh is not None:
        out.append(f" {'' if m.ssh else 'undo '}stelnet server enable")
    if m.http is not None:
        out.append(f" {'' if m.http else 'undo '}web-manager enable")
    if m.https is not None:
        out.append(f" {'' if m.https else 'undo '}web-manager security enable")
    out += [f" info-center loghost {h}" for h in m.syslog_hosts]
    out += [f" ntp-service unicast-server {h}" for h in m.ntp_servers]
    if m.snmp_versions:
        out.append(f" snmp-agent sys-info version {' '.join(m.snmp_versions)}")
    out.append("#")
    if m.mgmt_sources:
        out += vrp.render_acl(f"acl number {vrp.MGMT_ACL}", m.mgmt_sources)
    out.append("aaa")
    if m.lockout_attempts is not None:
        out += [" lock-authentication enable", f" lock-authentication failed-count {m.lockout_attempts}"]
    if m.lockout_minutes is not None:
        out.append(f" lock-authentication timeout {m.lockout_minutes}")
    if any(v is not None for v in (m.password_aging_days, m.password_history, m.password_min_length,
                                   m.password_complexity)):
        out.append(f" {PASSWORD_VIEW}")
        if m.password_min_length is not None:
            out.append(f"  password min-length {m.password_min_length}")
        if m.password_complexity:
            out.append("  password complexity-check")
        if m.password_history is not None:
            out.append(f"  password history record number {m.password_history}")
        if m.password_aging_days is not None:
            out.append(f"  password expire {m.password_aging_days}")
    for admin in m.admins:
        out.append(f" manager-user {admin.name}")
        if admin.access:
            out.append(f"  service-type {' '.join(admin.access)}")
        level = LEVELS.get(admin.role) or (admin.role[6:] if admin.role.startswith("level-") else "")
        if level:
            out.append(f"  level {level}")
    out += ["#", "user-interface vty 0 4", " authentication-mode aaa", " protocol inbound ssh"]
    if m.mgmt_sources:
        out.append(f" acl {vrp.MGMT_ACL} inbound")
    if m.idle_timeout_minutes is not None:
        out.append(vrp.render_idle_timeout(m.idle_timeout_minutes))
    out.append("#")
    for address in (a for a in p.addresses.values() if not a.inline):
        out.append(f"ip address-set {address.name} type object")
        for index, cidr in enumerate(address.networks):
            net, prefix = cidr.split("/")
            out.append(f" address {index} {net} mask {prefix}")
        out.append("#")
    for service in (s for s in p.services.values() if not s.inline):
        out.append(f"ip service-set {service.name} type object")
        port = ""
        if service.ports:
            low, _, high = service.ports[0].partition("-")
            port = f" destination-port {low}" + (f" to {high}" if high else "")
        out += [f" service 0 protocol {service.protocol}{port}", "#"]
    for zone, interfaces in p.zones.items():
        out.append(f"firewall zone {zone}" if zone in ("trust", "untrust", "dmz", "local") else f"firewall zone name {zone}")
        out += [f" add interface {i}" for i in interfaces]
        out.append("#")
    out.append("security-policy")
    for rule in p.rules:
        out.append(f" rule name {rule.name}")
        if rule.from_zone != ANY:
            out.append(f"  source-zone {rule.from_zone}")
        if rule.to_zone != ANY:
            out.append(f"  destination-zone {rule.to_zone}")
        out += [line for a in rule.sources if a != ANY for line in _render_address("source", a, p)]
        out += [line for a in rule.destinations if a != ANY for line in _render_address("destination", a, p)]
        out += [_render_service(s, p) for s in rule.services if s != ANY]
        out.append(f"  action {rule.action}")
        if rule.log:
            out.append("  policy logging")
    out += ["#", "return"]
    return "\n".join(out) + "\n"


# What this syntax does not carry as mzops's model does (a parse gives it back as this).
LOSSY = {"mgmt_interfaces": []}

VENDOR = Vendor(
    name="huawei_usg", title="Huawei USG", device_type="huawei",
    enter_config="system-view", leave_config="return", negation="undo",
    error_patterns=(r"Error: ", r"Unrecognized command", r"Incomplete command", r"Wrong parameter"),
    confirmations={r"\[Y/N\]": "y", r"Are you sure to continue\?": "y"},
    save=("save",), render=render, parse=parse, lossy=LOSSY,
    show_running="display current-configuration", session_setup=("screen-length 0 temporary",),
    prompt=r"(?:HRP_[MS])?[<\[]{base}[^\]>\n]*[\]>]", user_prompt=r"(?:HRP_[MS])?<{base}>",
    syntax=Syntax(
        negation="undo", view_exit="quit",
        single_valued=(("sysname",), ("lock-authentication", "failed-count"), ("lock-authentication", "timeout"),
                       ("password", "min-length"), ("password", "expire"), ("password", "history", "record", "number"),
                       ("level",), ("service-type",), ("idle-timeout",), ("authentication-mode",),
                       ("protocol", "inbound"), ("snmp-agent", "sys-info", "version"), ("default", "action")),
        views=(r"firewall zone .*", r"ip (address|service)-set .*", r"manager-user \S+"),
        persistent=(r"aaa", r"user-interface vty .*", r"security-policy", r"firewall zone (trust|untrust|dmz|local)",
                    re.escape(PASSWORD_VIEW)),
        ordered={r"security-policy": r"rule name \S+"},
        negate_header=((r"ip (address|service)-set (\S+) type object", r"ip \1-set \2"),)),
    lockout=(r"undo stelnet server enable", r"undo manager-user {account}", r"undo aaa",
             r"protocol inbound telnet", r"undo user-interface vty .*"),
    markers=(r"^security-policy\s*$", r"^ ?manager-user \S+", r"^user-interface vty", r"^firewall zone ", r"^ip (address|service)-set ", r"^ ?stelnet server enable"))
