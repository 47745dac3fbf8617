"""What Huawei VRP (USG) and H3C Comware, its descendant, write alike: log host, NTP,
SNMP versions, basic ACLs with wildcard masks, and the vty line's idle timeout and
inbound ACL. Helpers for those two vendor modules (no VENDOR: not a vendor itself)."""

from __future__ import annotations

from mzops.firewall import tree
from mzops.firewall.model import DeviceConfig, network, prefix_of_mask

MGMT_ACL = "2999"       # the basic ACL mzops writes for the management sources


def common(words: list[str], node: tree.Node, cfg: DeviceConfig) -> bool:
    """Parse a top-level line both syntaxes share; False when it is not one."""
    m, origin = cfg.management, cfg.origin
    if words[:2] == ["info-center", "loghost"] and len(words) > 2:
        m.syslog_hosts.append(words[2])
        origin.setdefault("syslog", node.evidence())
    elif words[:2] == ["ntp-service", "unicast-server"] and len(words) > 2:
        m.ntp_servers.append(words[2])
        origin.setdefault("ntp", node.evidence())
    elif words[:3] == ["snmp-agent", "sys-info", "version"]:
        m.snmp_versions = sorted(set(m.snmp_versions) | set(words[3:]))
        origin["snmp"] = node.evidence()
    elif words[:4] == ["undo", "snmp-agent", "sys-info", "version"]:
        m.snmp_versions = sorted(set(m.snmp_versions) - set(words[4:]))
    else:
        return False
    return True


def acl_sources(node: tree.Node) -> list[str]:
    """Networks a basic ACL permits (`rule 5 permit source 10.77.0.0 0.0.255.255`)."""
    return [network(f"{r.words[4]}/{wildcard_prefix(r.words[5])}") for r in node.children
            if len(r.words) > 5 and r.words[0] == "rule" and r.words[2:4] == ["permit", "source"]]


def vty_line(child: tree.Node, cfg: DeviceConfig) -> str | None:
    """Read one line of a vty view; the inbound ACL's number when it is that line."""
    words = child.words
    if words[:1] == ["idle-timeout"] and len(words) > 1:
        cfg.management.idle_timeout_minutes = int(words[1]) + (int(words[2]) / 60 if len(words) > 2 else 0)
        cfg.origin["idle_timeout"] = child.evidence()
    elif words[:1] == ["acl"] and len(words) > 2 and words[2] == "inbound":
        cfg.origin["mgmt_sources"] = child.evidence()
        return words[1]
    return None


def render_acl(header: str, sources: list[str]) -> list[str]:
    """The management ACL, e.g. header `acl number 2999` (USG) or `acl basic 2999` (Comware)."""
    out = [header]
    for index, cidr in enumerate(sources):
        net, prefix = cidr.split("/")
        wildcard = ".".join(str(255 - int(o)) for o in mask(int(prefix)).split("."))
        out.append(f" rule {5 * (index + 1)} permit source {net} {wildcard if prefix != '32' else '0'}")
    return out + ["#"]


def render_idle_timeout(minutes: float) -> str:
    whole = int(minutes)
    return f" idle-timeout {whole} {round((minutes - whole) * 60)}"


def wildcard_prefix(wildcard: str) -> int:
    if wildcard == "0":
        return 32
    return prefix_of_mask(".".join(str(255 - int(o)) for o in wildcard.split(".")))


def mask(prefix: int) -> str:
    bits = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
    return ".".join(str((bits >> s) & 255) for s in (24, 16, 8, 0))
