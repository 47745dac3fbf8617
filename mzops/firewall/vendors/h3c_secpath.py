"""H3C SecPath (Comware 7): `display current-configuration` syntax, one-space views."""

from __future__ import annotations

from mzops.firewall import tree
from mzops.firewall.model import (ANY, Address, Admin, DeviceConfig, Rule, Service, address_range, inline_address,
                                  network, prefix_of_mask)
from mzops.firewall.delta import Syntax
from mzops.firewall.vendors import Vendor, vrp

ROLES = {"admin": "network-admin", "operator": "network-operator", "auditor": "security-audit"}
ACTIONS = {"pass": "permit", "drop": "deny"}


def parse(text: str) -> DeviceConfig:
    cfg = DeviceConfig("h3c_secpath")
    m, p, origin = cfg.management, cfg.ruleset, cfg.origin
    acls: dict[str, list[str]] = {}
    vty_acl = None
    security_policy = False
    object_policies: dict[tuple[str, str], tree.Node] = {}
    applied: list[tuple[str, str, str, str]] = []     # (family, object policy, from zone, to zone)
    for node in tree.parse(text).children:
        w = node.words
        if w[:1] == ["sysname"] and len(w) > 1:
            cfg.hostname = w[1]
        elif w in (["telnet", "server", "enable"], ["undo", "telnet", "server", "enable"]):
            m.telnet, origin["telnet"] = w[0] != "undo", node.evidence()
        elif w in (["ssh", "server", "enable"], ["undo", "ssh", "server", "enable"]):
            m.ssh, origin["ssh"] = w[0] != "undo", node.evidence()
        elif w in (["ip", "http", "enable"], ["undo", "ip", "http", "enable"]):
            m.http, origin["http"] = w[0] != "undo", node.evidence()
        elif w in (["ip", "https", "enable"], ["undo", "ip", "https", "enable"]):
            m.https, origin["https"] = w[0] != "undo", node.evidence()
        elif vrp.common(w, node, cfg):
            pass
        elif w[:1] == ["password-control"]:
            _password_control(w[1:], node, cfg)
        elif w[:2] == ["acl", "basic"] and len(w) > 2:
            acls[w[2]] = vrp.acl_sources(node)
        elif w[:2] == ["line", "vty"]:
            for child in node.children:
                vty_acl = vrp.vty_line(child, cfg) or vty_acl
        elif w[:1] == ["object-group"] and w[1:2] in (["ip"], ["ipv6"]) and w[2:3] == ["address"] and len(w) > 3:
            networks = []
            for c in node.children:
                cw = c.words
                if cw[1:3] == ["network", "subnet"] and len(cw) > 4:
                    networks.append(network(f"{cw[3]}/{prefix_of_mask(cw[4])}"))
                elif cw[1:4] == ["network", "host", "address"] and len(cw) > 4:
                    networks.append(network(cw[4]))
                elif cw[1:3] == ["network", "range"] and len(cw) > 4:
                    networks += address_range(cw[3], cw[4])
            p.addresses[w[3]] = Address(w[3], networks)
        elif w[:2] == ["object-group", "service"] and len(w) > 2:
            entry = next((c.words for c in node.children if c.words[1:2] == ["service"]), None)
            if entry:
                ports = []
                if entry[3:5] == ["destination", "eq"] and len(entry) > 5:
                    ports = [entry[5]]
                elif entry[3:5] == ["destination", "range"] and len(entry) > 6:
                    ports = [f"{entry[5]}-{entry[6]}"]
                p.services[w[2]] = Service(w[2], entry[2], ports)
        elif w[:2] == ["security-zone", "name"] and len(w) > 2:
            p.zones[w[2].lower()] = [c.words[2] for c in node.find("import", "interface") if len(c.words) > 2]
        elif w in (["security-policy", "ip"], ["security-policy", "ipv6"]):
            family = "" if w[1] == "ip" else "ipv6"
            security_policy = True
            p.rules += [_rule(r, p, family) for r in node.find("rule") if "name" in r.words]
        elif w[:1] == ["object-policy"] and w[1:2] in (["ip"], ["ipv6"]) and len(w) > 2:
            object_policies[(w[1], w[2])] = node
        elif w[:3] == ["zone-pair", "security", "source"] and w[4:5] == ["destination"] and len(w) > 5:
            for apply in node.find("object-policy", "apply"):
                if len(apply.words) > 3:
                    applied.append((apply.words[2], apply.words[3], w[3].lower(), w[5].lower()))
        elif w[:1] == ["local-user"] and len(w) > 1:
            admin = Admin(w[1])
            for attr in node.children:
                aw = attr.words
                if aw[:1] == ["service-type"]:
                    admin.access = aw[1:]
                elif aw[:2] == ["authorization-attribute", "user-role"] and len(aw) > 2:
                    admin.role = next((r for r, v in ROLES.items() if v == aw[2]), aw[2])
            m.admins.append(admin)
    if vty_acl is not None:
        m.mgmt_sources = acls.get(vty_acl, [])
    # Object policies lose effect once security-policy view has been entered (H3C SecPath
    # FAQ V7, "Security policy FAQ"); until then each one applied to a zone pair is a list
    # of its own, matched in order for that pair. One not applied matches nothing.
    if not security_policy:
        for family, name, source, destination in applied:
            if (family, name) in object_policies:
                where = f"object-policy {family} {name} ({source} -> {destination})"
                for node in object_policies[(family, name)].find("rule"):
                    p.rules.append(_object_rule(node, p, where, source, destination))
    return cfg


def _password_control(w: list[str], node: tree.Node, cfg: DeviceConfig) -> None:
    m = cfg.management
    if w[:1] == ["length"] and len(w) > 1:
        m.password_min_length = int(w[1])
        cfg.origin["password"] = node.evidence()
    elif w[:2] == ["composition", "type-number"] and len(w) > 2:
        m.password_complexity = int(w[2]) >= 3
    elif w[:1] == ["aging"] and len(w) > 1:
        m.password_aging_days = int(w[1])
    elif w[:1] == ["history"] and len(w) > 1:
        m.password_history = int(w[1])
    elif w[:1] == ["login-attempt"] and len(w) > 1:
        m.lockout_attempts = int(w[1])
        cfg.origin["lockout"] = node.evidence()
        if "lock-time" in w and w.index("lock-time") + 1 < len(w):
            m.lockout_minutes = int(w[w.index("lock-time") + 1])


# Rule-view lines that do not narrow what a rule matches (H3C Comware 7 Security
# Command Reference, "Security policy commands").
NOT_CRITERIA = ("description", "counting", "session", "profile", "track", "parent-group")
INLINE = {"source-ip-host": "source", "source-ip-subnet": "source", "source-ip-range": "source",
          "destination-ip-host": "destination", "destination-ip-subnet": "destination",
          "destination-ip-range": "destination"}


def _rule(node: tree.Node, p, family: str = "") -> Rule:
    """One rule of `security-policy ip` (family "") or `security-policy ipv6`."""
    rule = Rule(node.words[node.words.index("name") + 1], policy=family)
    sources, destinations, services = [], [], []
    for child in node.children:
        cw = child.words
        if cw[:1] == ["action"] and len(cw) > 1:
            rule.action = ACTIONS.get(cw[1], cw[1])
        elif cw == ["logging", "enable"]:
            rule.log = True
        elif cw == ["disable"]:
            rule.enabled = False
        elif cw[:1] == ["source-zone"] and len(cw) > 1:
            rule.from_zone = cw[1].lower()
        elif cw[:1] == ["destination-zone"] and len(cw) > 1:
            rule.to_zone = cw[1].lower()
        elif cw[:1] == ["source-ip"] and len(cw) > 1:
            sources.append(cw[1])
        elif cw[:1] == ["destination-ip"] and len(cw) > 1:
            destinations.append(cw[1])
        elif cw[:1] and cw[0] in INLINE and len(cw) > 1:
            networks = (address_range(cw[1], cw[2]) if cw[0].endswith("range") and len(cw) > 2
                        else [network(f"{cw[1]}/{prefix_of_mask(cw[2])}")] if len(cw) > 2 else [network(cw[1])])
            found = inline_address(networks)
            p.addresses.setdefault(found.name, found)
            (sources if INLINE[cw[0]] == "source" else destinations).append(found.name)
        elif cw[:1] == ["service"] and len(cw) > 1:
            services.append(cw[1])
        elif cw[:1] == ["service-port"] and len(cw) > 1:
            ports = []
            if cw[2:4] == ["destination", "eq"] and len(cw) > 4:
                ports = [cw[4]]
            elif cw[2:4] == ["destination", "range"] and len(cw) > 5:
                ports = [f"{cw[4]}-{cw[5]}"]
            elif len(cw) > 2:
                rule.unread.append(child.evidence())
                continue
            service = Service(f"{cw[1]}:{','.join(ports) or 'any'}", cw[1], ports, inline=True)
            p.services.setdefault(service.name, service)
            services.append(service.name)
        elif cw[:1] and cw[0] not in NOT_CRITERIA:
            rule.unread.append(child.evidence())
    rule.sources, rule.destinations, rule.services = sources or [ANY], destinations or [ANY], services or [ANY]
    return rule


def _object_rule(node: tree.Node, p, where: str, source: str, destination: str) -> Rule:
    """`rule 0 pass source-ip lan destination-ip any service http logging` of an object
    policy (H3C Comware 7 Security Command Reference, "Object policy commands")."""
    w = node.words
    rule = Rule(f"{where} rule {w[1] if len(w) > 1 else '?'}", policy=where)
    words = w[2:] if len(w) > 1 and w[1].isdigit() else w[1:]
    if words[:1] == ["inspect"] and len(words) > 1:
        # passes what its DPI profile allows: a permit whose limits mzops does not read
        rule.action = "permit"
        rule.unread.append(f"{node.evidence()} (inspect {words[1]})")
        words = words[2:]
    elif words[:1] in (["pass"], ["drop"]):
        rule.action = ACTIONS[words[0]]
        words = words[1:]
    else:
        rule.unread.append(node.evidence())
    found: dict[str, list[str]] = {"source-ip": [], "destination-ip": [], "service": []}
    index = 0
    while index < len(words):
        word = words[index]
        if word in found and index + 1 < len(words):
            value = words[index + 1]
            found[word].append(ANY if value == "any" else value)
            index += 2
            continue
        if word == "logging":
            rule.log = True
        elif word == "disable":
            rule.enabled = False
        elif word != "counting":
            rule.unread.append(f"{node.evidence()} ({word})")
        index += 1
    rule.sources = found["source-ip"] or [ANY]
    rule.destinations = found["destination-ip"] or [ANY]
    rule.services = found["service"] or [ANY]
    return rule


def _render_address(direction: str, name: str, p) -> list[str]:
    address = p.addresses.get(name)
    if address is None or not address.inline:
        return [f"  {direction}-ip {name}"]
    return [f"  {direction}-ip-subnet {cidr.replace('/', ' ')}" for cidr in address.networks]


def _render_service(name: str, p) -> str:
    service = p.services.get(name)
    if service is None or not service.inline:
        return f"  service {name}"
    low, _, high = (service.ports or [""])[0].partition("-")
    port = (f" destination range {low} {high}" if high else f" destination eq {low}") if low else ""
    return f"  service-port {service.protocol}{port}"


def render(cfg: DeviceConfig) -> str:
    m, p = cfg.management, cfg.ruleset
    out = ["#", f" sysname {cfg.hostname}", "#"] if cfg.hostname else ["#"]
    for flag, words in ((m.telnet, "telnet server enable"), (m.ssh, "ssh server enable"),
                        (m.http, "ip http enable"), (m.https, "ip https enable")):
        if flag is not None:
            out.append(f" {'' if flag else 'undo '}{words}")
    out += [f" info-center loghost {h} facility local7" for h in m.syslog_hosts]
    if m.ntp_servers:
        out += [" ntp-service enable"] + [f" ntp-service unicast-server {h}" for h in m.ntp_servers]
    if m.snmp_versions:
        out.append(f" snmp-agent sys-info version {' '.join(m.snmp_versions)}")
    out += ["#", " password-control enable"]
    if m.password_min_length is not None:
        out.append(f" password-control length {m.password_min_length}")
    if m.password_complexity is not None:  # off is one type: said, so a rollback can put it back
        out.append(f" password-control composition type-number {3 if m.password_complexity else 1} type-length 1")
    if m.password_aging_days is not None:
        out.append(f" password-control aging {m.password_aging_days}")
    if m.password_history is not None:
        out.append(f" password-control history {m.password_history}")
    if m.lockout_attempts is not None:
        out.append(f" password-control login-attempt {m.lockout_attempts} exceed lock-time {m.lockout_minutes or 10}")
    out.append("#")
    if m.mgmt_sources:
        out += vrp.render_acl(f"acl basic {vrp.MGMT_ACL}", m.mgmt_sources)
    out += ["line vty 0 63", " authentication-mode scheme", " protocol inbound ssh"]
    if m.idle_timeout_minutes is not None:
        out.append(vrp.render_idle_timeout(m.idle_timeout_minutes))
    if m.mgmt_sources:
        out.append(f" acl {vrp.MGMT_ACL} inbound")
    out.append("#")
    for address in (a for a in p.addresses.values() if not a.inline):
        out.append(f"object-group ip address {address.name}")
        for index, cidr in enumerate(address.networks):
            net, prefix = cidr.split("/")
            out.append(f" {index} network host address {net}" if prefix == "32"
                       else f" {index} network subnet {net} {vrp.mask(int(prefix))}")
        out.append("#")
    for service in (s for s in p.services.values() if not s.inline):
        out.append(f"object-group service {service.name}")
        port = ""
        if service.ports:
            low, _, high = service.ports[0].partition("-")
            port = f" destination range {low} {high}" if high else f" destination eq {low}"
        out += [f" 0 service {service.protocol}{port}", "#"]
    for zone, interfaces in p.zones.items():
        out.append(f"security-zone name {zone}")
        out += [f" import interface {i}" for i in interfaces]
        out.append("#")
    out.append("security-policy ip")
    for index, rule in enumerate(r for r in p.rules if not r.policy):
        out.append(f" rule {index} name {rule.name}")
        out.append(f"  action {'pass' if rule.action == 'permit' else 'drop'}")
        if rule.log:
            out.append("  logging enable")
        if rule.from_zone != ANY:
            out.append(f"  source-zone {rule.from_zone}")
        if rule.to_zone != ANY:
            out.append(f"  destination-zone {rule.to_zone}")
        out += [line for a in rule.sources if a != ANY for line in _render_address("source", a, p)]
        out += [line for a in rule.destinations if a != ANY for line in _render_address("destination", a, p)]
        out += [_render_service(s, p) for s in rule.services if s != ANY]
    out.append("#")
    for admin in m.admins:
        out.append(f"local-user {admin.name} class manage")
        if admin.access:
            out.append(f" service-type {' '.join(admin.access)}")
        if admin.role:
            out.append(f" authorization-attribute user-role {ROLES.get(admin.role, admin.role)}")
        out.append("#")
    out.append("return")
    return "\n".join(out) + "\n"


# What this syntax does not carry as mzops's model does (a parse gives it back as this).
LOSSY = {"mgmt_interfaces": []}

VENDOR = Vendor(
    name="h3c_secpath", title="H3C SecPath (Comware 7)", device_type="hp_comware",
    enter_config="system-view", leave_config="return", negation="undo",
    error_patterns=(r"% Unrecognized command", r"% Incomplete command", r"% Wrong parameter", r"% Too many parameters"),
    confirmations={r"\[Y/N\]": "y"},
    save=("save force",), render=render, parse=parse, lossy=LOSSY,
    show_running="display current-configuration", session_setup=("screen-length disable",),
    prompt=r"[<\[]{base}[^\]>\n]*[\]>]", user_prompt=r"<{base}>",
    syntax=Syntax(
        negation="undo", view_exit="quit",
        single_valued=(("sysname",), ("password-control", "length"), ("password-control", "aging"),
                       ("password-control", "history"), ("password-control", "login-attempt"),
                       ("password-control", "composition"), ("idle-timeout",), ("authentication-mode",),
                       ("protocol", "inbound"), ("snmp-agent", "sys-info", "version"), ("service-type",),
                       ("authorization-attribute", "user-role")),
        views=(r"security-zone name \S+", r"object-group .*", r"local-user .*"),
        persistent=(r"line vty .*", r"security-policy ip", r"(?i)security-zone name (local|trust|untrust|dmz|management)"),
        ordered={r"security-policy ip": r"rule \d+ name \S+"},
        negate_header=((r"rule (\d+) name \S+", r"rule \1"),)),
    lockout=(r"undo ssh server enable", r"undo local-user {account}( class manage)?",
             r"protocol inbound telnet", r"undo line vty .*"),
    markers=(r"^security-policy ipv?6?\s*$", r"^security-zone name ", r"^line vty ", r"^local-user \S+ class ", r"^object-group (ip|ipv6|service) ", r"^ ?password-control ", r"^object-policy ip"))
