"""Hillstone StoneOS 5.5: `show configuration` syntax, two-space views closed by `exit`."""

from __future__ import annotations

from mzops.firewall import tree
from mzops.firewall.model import ANY, Address, Admin, DeviceConfig, Rule, Service, address_range, inline_address, network
from mzops.firewall.delta import Syntax
from mzops.firewall.vendors import Vendor


def parse(text: str) -> DeviceConfig:
    cfg = DeviceConfig("hillstone_stoneos")
    m, p, origin = cfg.management, cfg.ruleset, cfg.origin
    manage: dict[str, set[str]] = {}          # interface -> services allowed to manage it
    for node in tree.parse(text).children:
        w = node.words
        if w[:1] == ["hostname"] and len(w) > 1:
            cfg.hostname = w[1]
        elif w[:2] == ["admin", "user"] and len(w) > 2:
            admin = Admin(w[2])
            for attr in node.children:
                aw = attr.words
                if aw[:1] == ["role"] and len(aw) > 1:
                    admin.role = aw[1]
                elif aw[:1] == ["access"] and len(aw) > 1:
                    admin.access.append(aw[1])
            m.admins.append(admin)
        elif w[:2] == ["admin", "host"] and len(w) > 2:
            m.mgmt_sources.append(ANY if w[2] in ("any", "0.0.0.0/0") else network(w[2]))
            origin.setdefault("mgmt_sources", node.evidence())
        elif w[:2] == ["admin", "max-login-failure"] and len(w) > 2:
            m.lockout_attempts = int(w[2])
            origin["lockout"] = node.evidence()
        elif w[:2] == ["admin", "lockout-duration"] and len(w) > 2:
            m.lockout_minutes = int(w[2])
        elif w == ["password-policy"]:
            origin["password"] = node.evidence()
            for attr in node.children:
                aw = attr.words
                if aw[:2] == ["admin", "min-length"] and len(aw) > 2:
                    m.password_min_length = int(aw[2])
                elif aw[:3] == ["admin", "complexity", "enable"]:
                    m.password_complexity = True
                elif aw[:2] == ["admin", "password-expiration"] and len(aw) > 2:
                    m.password_aging_days = int(aw[2])
                elif aw[:3] == ["admin", "history-password-check", "enable"]:
                    # StoneOS fixes how many old passwords it checks: 1 means "enforced".
                    m.password_history = 1
        elif w[:2] == ["ssh", "timeout"] and len(w) > 2:
            m.idle_timeout_minutes = int(w[2])
            origin["idle_timeout"] = node.evidence()
        elif w[:2] == ["logging", "syslog"] and len(w) > 2:
            m.syslog_hosts.append(w[2])
            origin.setdefault("syslog", node.evidence())
        elif w[:2] == ["ntp", "server"] and len(w) > 2:
            m.ntp_servers.append(w[2])
            origin.setdefault("ntp", node.evidence())
        elif w[:2] == ["snmp-server", "version"]:
            m.snmp_versions = sorted(set(m.snmp_versions) | set(w[2:]))
            origin["snmp"] = node.evidence()
        elif w[:1] == ["address"] and len(w) > 1:
            p.addresses[w[1]] = Address(w[1], [network(c.words[1]) for c in node.find("ip") if len(c.words) > 1])
        elif w[:1] == ["service"] and len(w) > 1:
            entry = node.children[0].words if node.children else []
            if entry:
                ports = []
                if "dst-port" in entry:
                    rest = entry[entry.index("dst-port") + 1:]
                    ports = [f"{rest[0]}-{rest[1]}" if len(rest) > 1 else rest[0]]
                p.services[w[1]] = Service(w[1], entry[0], ports)
        elif w[:1] == ["zone"] and len(w) > 1:
            p.zones.setdefault(w[1], [])
        elif w[:1] == ["interface"] and len(w) > 1:
            manage[w[1]] = set()
            for c in node.children:
                cw = c.words
                if cw[:1] == ["zone"] and len(cw) > 1:
                    p.zones.setdefault(cw[1], []).append(w[1])
                elif cw[:1] == ["manage"] and len(cw) > 1:
                    manage[w[1]].add(cw[1])
                    origin.setdefault(f"manage_{cw[1]}", c.evidence())
        elif w == ["policy-global"]:
            p.rules += [_rule(r, p) for r in node.find("rule")]
    m.mgmt_interfaces = [name for name, services in manage.items() if services]
    allowed = set().union(*manage.values()) if manage else set()
    if allowed:  # per interface `manage X`: what no interface allows is off
        m.telnet, m.ssh, m.http, m.https = ("telnet" in allowed, "ssh" in allowed, "http" in allowed,
                                            "https" in allowed)
    return cfg


# Rule lines that do not narrow what a rule matches (StoneOS CLI, policy rule mode).
NOT_CRITERIA = ("description", "log", "name", "counting", "session-limit")


def _rule(node: tree.Node, p) -> Rule:
    """One `rule id N` of `policy-global` (IPv4 and IPv6 in one list)."""
    rule = Rule("")
    sources, destinations, services = [], [], []
    for child in node.children:
        cw = child.words
        if cw[:1] == ["name"] and len(cw) > 1:
            rule.name = cw[1]
        elif cw[:1] == ["action"] and len(cw) > 1:
            rule.action = cw[1]
        elif cw == ["disable"]:
            rule.enabled = False
        elif cw == ["enable"]:
            rule.enabled = True
        elif cw[:1] == ["src-zone"] and len(cw) > 1:
            rule.from_zone = cw[1].lower()
        elif cw[:1] == ["dst-zone"] and len(cw) > 1:
            rule.to_zone = cw[1].lower()
        elif cw[:1] == ["src-addr"] and len(cw) > 1:
            sources.append(cw[1] if cw[1].lower() != "any" else ANY)
        elif cw[:1] == ["dst-addr"] and len(cw) > 1:
            destinations.append(cw[1] if cw[1].lower() != "any" else ANY)
        elif cw[:1] in (["src-ip"], ["dst-ip"], ["src-range"], ["dst-range"]) and len(cw) > 1:
            networks = address_range(cw[1], cw[2]) if cw[0].endswith("range") and len(cw) > 2 else [network(cw[1])]
            found = inline_address(networks)
            p.addresses.setdefault(found.name, found)
            (sources if cw[0].startswith("src") else destinations).append(found.name)
        elif cw[:1] == ["service"] and len(cw) > 1:
            services.append(cw[1] if cw[1].lower() != "any" else ANY)
        elif cw[:1] == ["log"]:
            rule.log = True
        elif cw[:1] and cw[0] not in NOT_CRITERIA:
            rule.unread.append(child.evidence())
    if not rule.name:
        rule.name = f"id-{node.words[2]}" if len(node.words) > 2 else "unnamed"
    rule.sources, rule.destinations, rule.services = sources or [ANY], destinations or [ANY], services or [ANY]
    return rule


def _render_address(direction: str, name: str, p) -> list[str]:
    address = p.addresses.get(name)
    if address is None or not address.inline:
        return [f'    {direction}-addr "{name if name != ANY else "Any"}"']
    return [f"    {direction}-ip {cidr}" for cidr in address.networks]


def render(cfg: DeviceConfig) -> str:
    m, p = cfg.management, cfg.ruleset
    out = [f"hostname {cfg.hostname}"] if cfg.hostname else []
    for admin in m.admins:
        out.append(f'admin user "{admin.name}"')
        if admin.role:
            out.append(f"  role {admin.role}")
        out += [f"  access {a}" for a in admin.access]
        out.append("exit")
    out += [f"admin host {cidr} ssh" for cidr in m.mgmt_sources]
    if m.lockout_attempts is not None:
        out.append(f"admin max-login-failure {m.lockout_attempts}")
    if m.lockout_minutes is not None:
        out.append(f"admin lockout-duration {m.lockout_minutes}")
    out.append("password-policy")
    if m.password_complexity:
        out.append("  admin complexity enable")
    if m.password_min_length is not None:
        out.append(f"  admin min-length {m.password_min_length}")
    if m.password_aging_days is not None:
        out.append(f"  admin password-expiration {m.password_aging_days}")
    if m.password_history:
        out.append("  admin history-password-check enable")
    out.append("exit")
    if m.idle_timeout_minutes is not None:
        out += [f"ssh timeout {int(m.idle_timeout_minutes)}", f"console timeout {int(m.idle_timeout_minutes)}"]
    out += [f'logging syslog {h} vrouter "trust-vr" udp 514 type event' for h in m.syslog_hosts]
    out += [f"ntp server {h} prefer" for h in m.ntp_servers] + (["ntp enable"] if m.ntp_servers else [])
    if m.snmp_versions:
        out.append(f"snmp-server version {' '.join(m.snmp_versions)}")
    for address in (a for a in p.addresses.values() if not a.inline):
        out.append(f'address "{address.name}"')
        out += [f"  ip {cidr}" for cidr in address.networks]
        out.append("exit")
    for service in p.services.values():
        port = ""
        if service.ports:
            low, _, high = service.ports[0].partition("-")
            port = f" dst-port {low}" + (f" {high}" if high else "")
        out += [f'service "{service.name}"', f"  {service.protocol}{port}", "exit"]
    for zone in p.zones:
        out += [f'zone "{zone}"', "exit"]
    manage = [name for name, flag in (("ssh", m.ssh), ("https", m.https), ("telnet", m.telnet), ("http", m.http))
              if flag]
    for zone, interfaces in p.zones.items():
        for interface in interfaces:
            offered = manage if not m.mgmt_interfaces or interface in m.mgmt_interfaces else []
            out += [f"interface {interface}", f'  zone "{zone}"'] + [f"  manage {s}" for s in offered] + ["exit"]
    out.append("policy-global")
    for index, rule in enumerate((r for r in p.rules if not r.policy), start=1):
        out += [f"  rule id {index}", f"    action {rule.action}"]
        if rule.from_zone != ANY:
            out.append(f'    src-zone "{rule.from_zone}"')
        if rule.to_zone != ANY:
            out.append(f'    dst-zone "{rule.to_zone}"')
        out += [line for a in rule.sources for line in _render_address("src", a, p)]
        out += [line for a in rule.destinations for line in _render_address("dst", a, p)]
        out += [f'    service "{s if s != ANY else "Any"}"' for s in rule.services]
        out.append(f'    name "{rule.name}"')
        if rule.log:
            out.append("    log session-start")
        out.append("  exit")
    out.append("exit")
    return "\n".join(out) + "\n"


# What StoneOS cannot say as mzops's model does (a parse gives it back as this):
# it fixes how many old passwords it checks.
LOSSY = {"password_history": 1}

VENDOR = Vendor(
    name="hillstone_stoneos", title="Hillstone StoneOS", device_type="hillstone_stoneos",
    enter_config="configure", leave_config="end", negation="no",
    error_patterns=(r"-+unrecognized keyword", r"^Error:", r"-+incomplete command"),
    confirmations={r"Save configuration, are you sure\? \[y\]/n:": "y",
                   r"Backup start configuration file, are you sure\? y/\[n\]:": "n"},
    save=("save",), render=render, parse=parse, lossy=LOSSY,
    show_running="show configuration", session_setup=("terminal length 0",),
    prompt=r"{base}(?:\([^)\n]*\))?# ?", user_prompt=r"{base}# ?",
    syntax=Syntax(
        negation="no", view_exit="exit",
        single_valued=(("hostname",), ("admin", "max-login-failure"), ("admin", "lockout-duration"),
                       ("admin", "min-length"), ("admin", "password-expiration"), ("ssh", "timeout"),
                       ("console", "timeout"), ("snmp-server", "version"), ("role",), ("action",)),
        scoped_single={r"interface \S+": (("zone",),)},
        views=(r"zone \S+", r"address \S+", r"service \S+", r"admin user \S+", r"interface \S+"),
        persistent=(r"interface \S+", r"policy-global", r"password-policy",
                    r'zone "?(trust|untrust|dmz|l2-trust|l2-untrust|l2-dmz|mgt|VPNHub|HA)"?'),
        negate_leaf=((r"admin host (\S+) \S+", r"admin host \1"),),
        ordered={r"policy-global": r"rule id \d+"}),
    lockout=(r'no admin user "?{account}"?', r"no interface \S+"),
    markers=(r"^policy-global\s*$", r"^admin user ", r"^ +rule id \d+", r"^address \"", r"^ +src-addr "))
