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

# lab up --firewall: a Linux host running nftables between the primary site's user and
# core zones. Managed from the security management centre (eth0); one leg per zone, at
# .254 of that zone's segment; the hosts of each zone reach the other through it.
FIREWALL_NAME = "labfw1"
FIREWALL_SLOT = ("primary", "smc")
FIREWALL_LEGS = (("user", "eth1"), ("core", "eth2"))
FIREWALL_OCTET = 254


# lab up --backup: a backup server at each site's security management centre, driving
# that site's file-backed library; not in the lab's inventory (it is the estate's
# infrastructure, not an audit target): `mzops lab server` runs mzops as it.
BACKUP_SERVERS = (("labbk1", "primary", "smc"), ("labbk2", "dr", "smc"))


# The metro network's stretched segment (an L2 extension between the two sites, as
# same-city DR pairs often have): every database host has a leg (eth1, no address of
# its own) on it, so a service address can move between the sites. Its bridge is the
# metro link: `lab link cut` stops frames between the two sites' ports.
SERVICE_NETWORK = ipaddress.ip_network("10.77.40.0/24")
SERVICE_BRIDGE = "mzbr-svc"
SERVICE_DEVICE = "eth1"
SITE_NETWORKS = {"primary": ipaddress.ip_network("10.77.0.0/20"), "dr": ipaddress.ip_network("10.77.16.0/20")}


# The lab's package mirror (mzops/lab/mirror.py), served by the lab router: an address
# of neither site, as the ministry's internal mirror is shared infrastructure.
MIRROR_ADDRESS = "10.77.250.1"
MIRROR_PORT = 80


def service_port(host_name: str) -> str:
    """The router-side name of a database host's leg on the stretched segment."""
    return f"s-{host_name}"[:15]


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
    firewall: bool = False
    backup: bool = False

    @property
    def segment(self) -> Segment:
        return Segment(self.site, self.zone)

    @property
    def legs(self) -> list[tuple[str, str, Segment, str]]:
        """(zone, interface, segment, address) of each leg, for the lab firewall."""
        if not self.firewall:
            return []
        out = []
        for zone, interface in FIREWALL_LEGS:
            seg = Segment(self.site, zone)
            out.append((zone, interface, seg, str(seg.network.network_address + FIREWALL_OCTET)))
        return out

    @property
    def netns(self) -> str:
        return NETNS_PREFIX + self.name

    def to_dict(self) -> dict:
        return asdict(self)


def plan(hosts: int, databases: bool = False, systemd: bool = False, firewall: bool = False,
         backup: bool = False) -> list[LabHost]:
    """Hosts lab01..labNN over SLOTS, plus labdb1/labdb2 (primary/DR core) with --db,
    labfw1 (between the primary user and core zones) with --firewall and the backup
    servers labbk1/labbk2 (primary/DR management zone) with --backup."""
    if not 1 <= hosts <= MAX_HOSTS:
        raise ValueError(f"--hosts must be between 1 and {MAX_HOSTS}")
    slots = [(f"lab{i + 1:02d}", *SLOTS[i % len(SLOTS)], False) for i in range(hosts)]
    if databases:
        slots += [(f"labdb{i + 1}", site, zone, True) for i, (site, zone) in enumerate(DB_SLOTS)]
    if firewall:
        slots.append((FIREWALL_NAME, *FIREWALL_SLOT, False))
    if backup:
        slots += [(name, site, zone, False) for name, site, zone in BACKUP_SERVERS]
    servers = {name for name, _, _ in BACKUP_SERVERS} if backup else set()
    used: dict[Segment, int] = {}
    out = []
    for name, site, zone, is_db in slots:
        segment = Segment(site, zone)
        offset = FIRST_HOST_OCTET + used.get(segment, 0)
        used[segment] = used.get(segment, 0) + 1
        address = str(segment.network.network_address + offset)
        out.append(LabHost(name, site, zone, address, is_db, systemd, firewall=name == FIREWALL_NAME,
                           backup=name in servers))
    return out


def segments(hosts: list[LabHost]) -> list[Segment]:
    found = {h.segment for h in hosts} | {leg[2] for h in hosts for leg in h.legs}
    return sorted(found, key=lambda s: s.index)


def firewall_routes(hosts: list[LabHost]) -> dict[str, list[tuple[str, str]]]:
    """Host name -> (network, via): hosts of a firewalled zone reach the firewall's other
    zones through its leg in their own segment (more specific than the lab subnet)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for fw in (h for h in hosts if h.firewall):
        for zone, _, seg, address in fw.legs:
            others = [str(other.network) for z, _, other, _ in fw.legs if z != zone]
            for host in hosts:
                if host.segment == seg and not host.firewall:
                    out.setdefault(host.name, []).extend((net, address) for net in others)
    return out
