"""The estate as mzops sees it: assets with kind, zone, site and what reaching them needs.

Pure data; loading from Ansible lives in `loader`, checks in `validate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

KINDS = ("host", "database", "firewall")
CRITICALITIES = ("key", "normal")
# Engines the estate runs that mzops has no engine file for yet: named in the inventory,
# reported by the audit as "no baseline yet". The others are mzops.engines'.
PLANNED_DB_ENGINES = ("dm", "kingbase")

# Per-asset variables mzops reads from the Ansible inventory.
VAR_KIND = "mzops_kind"
VAR_ZONE = "mzops_zone"
VAR_SITE = "mzops_site"
VAR_PLATFORM = "mzops_platform"
VAR_CRITICALITY = "mzops_criticality"
VAR_DB_ENGINE = "mzops_db_engine"
VAR_DB_PORT = "mzops_db_port"
VAR_DB_SERVER = "mzops_db_server"
VAR_DB_USER = "mzops_db_user"
VAR_FW_VENDOR = "mzops_fw_vendor"
VAR_DEVICE_TYPE = "mzops_device_type"
VAR_CREDENTIALS = "mzops_credentials"
# The catalogue of zones and sites, declared once for the whole inventory.
VAR_ZONES = "mzops_zones"
VAR_SITES = "mzops_sites"
# The system under evaluation (定级对象): its name, MLPS level and filing number.
VAR_SYSTEM = "mzops_system"

# A credential is always a reference to where the secret lives, never the secret.
CREDENTIAL_REF = re.compile(r"^(vault|env|ansible-vault):[^\s]+$")


@dataclass
class Asset:
    name: str
    kind: str
    zone: str
    site: str
    platform: str | None = None
    address: str | None = None
    criticality: str = "normal"
    groups: list[str] = field(default_factory=list)
    db_engine: str | None = None
    db_port: int | None = None
    db_server: str | None = None
    db_user: str | None = None
    fw_vendor: str | None = None
    device_type: str | None = None
    credentials: dict[str, str] = field(default_factory=dict)
    vars: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name, "kind": self.kind, "zone": self.zone, "site": self.site,
            "platform": self.platform, "address": self.address,
            "criticality": self.criticality, "groups": self.groups,
            "credentials": self.credentials,
        }
        if self.kind == "database":
            out.update(db_engine=self.db_engine, db_port=self.db_port, db_server=self.db_server,
                       db_user=self.db_user)
        if self.kind == "firewall":
            out.update(fw_vendor=self.fw_vendor, device_type=self.device_type)
        return out


@dataclass
class Zone:
    id: str
    name: str
    name_zh: str = ""


@dataclass
class System:
    """The graded system the estate makes up, as the evaluation names it."""

    name: str
    level: int                      # MLPS protection level, 1-5
    name_zh: str = ""
    filing: str = ""                # the public-security filing number (备案编号)

    def to_dict(self) -> dict:
        return {"name": self.name, "name_zh": self.name_zh, "level": self.level, "filing": self.filing}


@dataclass
class Estate:
    """Assets plus the declared zones and sites, and where each came from."""

    source: str
    assets: dict[str, Asset]
    zones: dict[str, Zone]
    sites: dict[str, Zone]
    groups: dict[str, list[str]]  # group name -> member asset names (recursive)
    # asset name -> "file:line" of its first definition, for error messages
    locations: dict[str, str] = field(default_factory=dict)
    system: System | None = None
    # Ansible's own host-pattern matching (set by the loader): pattern -> asset names
    pattern_matcher: Callable[[str], list[str]] | None = field(default=None, repr=False)

    def where(self, asset: str) -> str:
        return self.locations.get(asset, self.source)

    def select(self, kind: str | None = None, zone: str | None = None,
               site: str | None = None) -> list[Asset]:
        return [
            a for a in self.assets.values()
            if (kind is None or a.kind == kind)
            and (zone is None or a.zone == zone)
            and (site is None or a.site == site)
        ]

    def limit(self, pattern: str | None) -> list[str]:
        """Asset names an Ansible host pattern selects ('web*', 'dr:&databases', '!fw-*')."""
        if not pattern:
            return sorted(self.assets)
        if self.pattern_matcher is None:
            raise RuntimeError("estate was not loaded through Ansible")
        return sorted(set(self.pattern_matcher(pattern)) & set(self.assets))

    def expand(self, names: list[str]) -> set[str]:
        """Asset names for a list of asset or group names (unknown names are skipped)."""
        out: set[str] = set()
        for name in names:
            if name in self.assets:
                out.add(name)
            out.update(self.groups.get(name, ()))
        return out
