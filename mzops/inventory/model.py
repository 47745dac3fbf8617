"""The estate as mzops sees it: assets with kind, zone, site and what reaching them needs.

Pure data; loading from Ansible lives in `loader`, checks in `validate`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from mzops.errors import InputError

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
# The Ansible execution strategy of mzops's runs on a host: Ansible's own linear one (the
# default) or Mitogen's (mzops.connect.ansible.strategy).
VAR_ANSIBLE_STRATEGY = "mzops_ansible_strategy"
STRATEGIES = ("mitogen", "linear")

# A credential is always a reference to where the secret lives, never the secret.
# What one group gives a host: a host in two zone groups would get one of them silently.
ONE_GROUP_VARS = (VAR_KIND, VAR_ZONE, VAR_SITE)
# Every mzops_* variable an inventory may set (the roles' defaults are found in their files).
INVENTORY_VARS = frozenset({
    VAR_KIND, VAR_ZONE, VAR_SITE, VAR_PLATFORM, VAR_CRITICALITY, VAR_DB_ENGINE, VAR_DB_PORT, VAR_DB_SERVER,
    VAR_DB_USER, VAR_FW_VENDOR, VAR_DEVICE_TYPE, VAR_CREDENTIALS, VAR_ZONES, VAR_SITES, VAR_SYSTEM,
    VAR_ANSIBLE_STRATEGY,
    "mzops_baseline_params", "mzops_napalm_driver", "mzops_napalm_args",
    # the hardening roles' defaults (playbooks/roles/*/defaults/main.yml; a test keeps them in step)
    "mzops_auditd_actions", "mzops_my_managed_name", "mzops_pg_managed_name",
})
# Set by mzops for each run: an inventory setting them is refused.
RUN_VARS = frozenset({"mzops_baseline_file", "mzops_run_id"})
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
    # var -> {group: value} for ONE_GROUP_VARS: more than one value is a mistake
    set_by: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)

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
        if pattern is None:
            return sorted(self.assets)
        check_pattern(pattern)
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


# An Ansible host pattern (docs: "Patterns: targeting hosts and groups"): terms separated
# by commas (or colons), each a name or glob with an optional & or ! before it and at
# most one subscript [N], [N:M], [-N] at its end; a ~ term is a regular expression.
_SUBSCRIPT = re.compile(r"\[-?\d*(:-?\d*)?\]$")


def check_pattern(pattern: str) -> None:
    """Refuse a --limit Ansible would read otherwise than its writer meant: Ansible takes
    an empty pattern, or a lone '[', as every host (split_host_pattern drops it)."""
    from ansible.inventory.manager import split_host_pattern

    if not pattern.strip():
        raise InputError("--limit: the pattern is empty (leave --limit out to select every asset)")
    for term in (t.strip() for t in pattern.split(",")):
        if not term.lstrip("&!"):
            raise InputError(f"--limit: {pattern!r} has an empty term")
        if term.lstrip("&!").startswith("~"):
            try:
                re.compile(term.lstrip("&!")[1:])
            except re.error as exc:
                raise InputError(f"--limit: {term!r} is not a regular expression: {exc}") from None
        elif "[" in _SUBSCRIPT.sub("", term) or "]" in _SUBSCRIPT.sub("", term):
            raise InputError(f"--limit: {term!r}: brackets only as one subscript at the end ([N], [N:M], [-N])")
    if not split_host_pattern(pattern):
        raise InputError(f"--limit: {pattern!r} names no host or group")
