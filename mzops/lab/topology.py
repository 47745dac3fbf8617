"""Where each lab host sits: site, zone, network segment and address (pure).

The lab mirrors the estate: every (site, zone) pair that has hosts is its own segment
(a bridge in the lab control namespace), so a later firewall host can stand between
two zone segments and the link between the two sites can be cut at the router.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass

SUBNET = ipaddress.ip_network("10.77.0.0/16")
NETNS_PREFIX = "mzl-"
CONTROL_NETNS = "mzl-ctl"

SITES = ("primary", "dr")
ZONES = ("smc", "user", "core", "internet", "wan", "monitor")

# The order in which general hosts fill the estate: every zone of the primary site,
# with the DR site's core, management and user zones interleaved.
SLOTS = (
    ("primary", "core"), ("primary", "user"), ("dr", "core"),
    ("primary", "smc"), ("primary", "internet"), ("dr", "smc"),
    ("primary", "wan"), ("primary", "monitor"), ("dr", "user"),
)
DB_SLOTS = (("primary", "core"), ("dr", "core"))
FIRST_HOST_OCTET = 11
MAX_HOSTS = 60


@dataclass(frozen=True)
class Segment:
    site: str
    zone: str

    @property
    def index(self) -> int:
        return SITES.index(self.site) * 16 + ZONES.index(self.zone) + 1

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.ip_network(f"{SUBNET.network_address + self.index * 256}/24")

    @property
    def gateway(self) -> str:
        return str(self.network.network_address + 1)

    @property
    def bridge(self) -> str:
        return f"mzbr{self.index}"


@dataclass(frozen=True)
class LabHost:
    name: str
    site: str
    zone: str
    address: str
    databases: bool = False
    systemd: bool = False

    @property
    def segment(self) -> Segment:
        return Segment(self.site, self.zone)

    @property
    def netns(self) -> str:
        return NETNS_PREFIX + self.name

    def to_dict(self) -> dict:
        return asdict(self)


def plan(hosts: int, databases: bool = False, systemd: bool = False) -> list[LabHost]:
    """Hosts lab01..labNN over SLOTS, plus labdb1/labdb2 (primary/DR core) with --db."""
    if not 1 <= hosts <= MAX_HOSTS:
        raise ValueError(f"--hosts must be between 1 and {MAX_HOSTS}")
    slots = [(f"lab{i + 1:02d}", *SLOTS[i % len(SLOTS)], False) for i in range(hosts)]
    if databases:
        slots += [(f"labdb{i + 1}", site, zone, True) for i, (site, zone) in enumerate(DB_SLOTS)]
    used: dict[Segment, int] = {}
    out = []
    for name, site, zone, is_db in slots:
        segment = Segment(site, zone)
        offset = FIRST_HOST_OCTET + used.get(segment, 0)
        used[segment] = used.get(segment, 0) + 1
        address = str(segment.network.network_address + offset)
        out.append(LabHost(name, site, zone, address, is_db, systemd))
    return out


def segments(hosts: list[LabHost]) -> list[Segment]:
    return sorted({h.segment for h in hosts}, key=lambda s: s.index)
