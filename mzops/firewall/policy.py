"""The estate's inter-zone policy as code: `inventory/zone_policy.yml`.

    addresses: {NAME: [CIDR, ...]}
    services:  {NAME: {protocol: tcp|udp|icmp, ports: [443, "8000-8080"]}}
    firewalls: {FIREWALL: {zones: {ZONE: [INTERFACE, ...]}}}
    rules:     [{name, from, to, source, destination, service, action, log, firewalls}]

Zones are the estate's (mzops_zones). A rule goes to the firewalls it names, or else
to every firewall that has both its zones (`any` matches every zone). The list must
end with an explicit deny that logs: it goes to every firewall. The desired
configuration of a firewall is its part of the policy plus the management plane the
firewall baseline's parameters describe, with its administrators from the account
register.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mzops import yamlfile
from mzops.compliance import catalogue
from mzops.errors import InputError
from mzops.firewall.model import ANY, Address, Admin, DeviceConfig, Management, RuleSet, Rule, Service, network
from mzops.inventory.model import Estate

FILE = "zone_policy.yml"
# Register roles (三权分立) as firewall administrator roles.
ROLE_OF = {"sysadmin": "admin", "secadmin": "admin", "auditadmin": "auditor"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ServiceSpec(_Strict):
    protocol: Literal["tcp", "udp", "icmp"]
    ports: list[str] = []

    @field_validator("ports", mode="before")
    @classmethod
    def _ports(cls, value: Any) -> list[str]:
        out = []
        for port in value or []:
            text = str(port)
            low, _, high = text.partition("-")
            if not low.isdigit() or (high and not high.isdigit()) or not 0 < int(low) < 65536 \
                    or (high and not int(low) <= int(high) < 65536):
                raise ValueError(f"not a port or port range: {text!r}")
            out.append(text)
        return out


class FirewallSpec(_Strict):
    zones: dict[str, list[str]]


def _names(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


class RuleSpec(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,63}$")
    from_zone: str = Field(alias="from")
    to_zone: str = Field(alias="to")
    source: list[str] = [ANY]
    destination: list[str] = [ANY]
    service: list[str] = [ANY]
    action: Literal["permit", "deny"]
    log: bool = False
    firewalls: list[str] | None = None

    @field_validator("source", "destination", "service", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> list[str]:
        return _names(value)


class PolicySpec(_Strict):
    addresses: dict[str, list[str]] = {}
    services: dict[str, ServiceSpec] = {}
    firewalls: dict[str, FirewallSpec]
    rules: list[RuleSpec]


class ZonePolicy:
    def __init__(self, spec: PolicySpec, doc: yamlfile.Located):
        self.spec = spec
        self.doc = doc

    def rules_for(self, firewall: str) -> list[RuleSpec]:
        zones = set(self.spec.firewalls[firewall].zones) | {ANY}
        out = []
        for rule in self.spec.rules:
            if rule.firewalls is not None:
                if firewall in rule.firewalls:
                    out.append(rule)
            elif rule.from_zone in zones and rule.to_zone in zones:
                out.append(rule)
        return out

    def ruleset_for(self, firewall: str) -> RuleSet:
        spec = self.spec
        rules = self.rules_for(firewall)
        used_addresses = {a for r in rules for a in r.source + r.destination if a != ANY}
        used_services = {s for r in rules for s in r.service if s != ANY}
        return RuleSet(
            zones={z: list(i) for z, i in spec.firewalls[firewall].zones.items()},
            addresses={n: Address(n, [network(c) for c in spec.addresses[n]]) for n in spec.addresses
                       if n in used_addresses},
            services={n: Service(n, s.protocol, list(s.ports)) for n, s in spec.services.items() if n in used_services},
            rules=[Rule(r.name, r.from_zone, r.to_zone, list(r.source), list(r.destination), list(r.service),
                        r.action, r.log) for r in rules])


def load(inventory: Path, estate: Estate) -> ZonePolicy:
    folder = inventory if inventory.is_dir() else inventory.parent
    path = folder / FILE
    if not path.is_file():
        raise InputError(f"{path}: no zone policy (the estate's inter-zone rules as code)")
    doc = yamlfile.load(path)
    try:
        spec = PolicySpec.model_validate(doc.data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple("from" if k == "from_zone" else "to" if k == "to_zone" else k for k in err["loc"])
        raise doc.error(loc, err["msg"].replace("Value error, ", "")) from None
    problems = _consistency(spec, estate)
    if problems:
        keypath, message = problems[0]
        raise doc.error(keypath, message)
    return ZonePolicy(spec, doc)


def _consistency(spec: PolicySpec, estate: Estate) -> list[tuple[tuple, str]]:
    out: list[tuple[tuple, str]] = []
    for name, cidrs in spec.addresses.items():
        for index, cidr in enumerate(cidrs):
            try:
                network(cidr)
            except ValueError as exc:
                out.append((("addresses", name, index), str(exc)))
    for name, fw in spec.firewalls.items():
        asset = estate.assets.get(name)
        if asset is None or asset.kind != "firewall":
            out.append((("firewalls", name), f"{name!r} is not a firewall in {estate.source}"))
        for zone in fw.zones:
            if zone not in estate.zones:
                out.append((("firewalls", name, "zones", zone), f"unknown zone {zone!r} (mzops_zones: "
                                                                 f"{', '.join(sorted(estate.zones))})"))
        # an interface belongs to one zone: in two, the device would take the last one
        owner: dict[str, str] = {}
        for zone, interfaces in fw.zones.items():
            for index, interface in enumerate(interfaces):
                if interface in owner and owner[interface] != zone:
                    out.append((("firewalls", name, "zones", zone, index),
                                f"interface {interface!r} is already in zone {owner[interface]!r}"))
                owner.setdefault(interface, zone)
    seen: set[str] = set()
    for index, rule in enumerate(spec.rules):
        if rule.name in seen:
            out.append((("rules", index, "name"), f"duplicate rule name {rule.name!r}"))
        seen.add(rule.name)
        for key, zone in (("from", rule.from_zone), ("to", rule.to_zone)):
            if zone != ANY and zone not in estate.zones:
                out.append((("rules", index, key), f"unknown zone {zone!r}"))
        for key, names, known in (("source", rule.source, spec.addresses), ("destination", rule.destination,
                                  spec.addresses), ("service", rule.service, spec.services)):
            for name in names:
                if name != ANY and name not in known:
                    out.append((("rules", index, key), f"unknown {'service' if key == 'service' else 'address'} "
                                                       f"object {name!r}"))
        for name in rule.firewalls or []:
            if name not in spec.firewalls:
                out.append((("rules", index, "firewalls"), f"{name!r} is not under firewalls:"))
    if spec.rules:
        last = spec.rules[-1]
        final = (last.action == "deny" and last.log and last.firewalls is None
                 and (last.from_zone, last.to_zone, last.source, last.destination, last.service)
                 == (ANY, ANY, [ANY], [ANY], [ANY]))
        if not final:
            out.append((("rules", len(spec.rules) - 1), "the policy must end with an explicit deny that logs "
                                                         "(from any to any, action deny, log true, all firewalls)"))
    else:
        out.append((("rules",), "no rules: the policy must at least end with an explicit deny that logs"))
    return out


def management(params: dict[str, Any], admins: list[Admin]) -> Management:
    """The management plane the baseline's parameters describe."""
    return Management(
        telnet=False, ssh=True, http=False, https=True, admins=admins,
        password_min_length=params["fw_password_min_length"], password_complexity=True,
        password_aging_days=params["fw_password_max_days"], password_history=params["fw_password_history"],
        lockout_attempts=params["fw_lockout_attempts"], lockout_minutes=params["fw_lockout_minutes"],
        idle_timeout_minutes=params["fw_idle_timeout_minutes"],
        mgmt_sources=[network(c) for c in params["fw_mgmt_sources"]],
        mgmt_interfaces=list(params.get("fw_mgmt_interfaces") or []),
        syslog_hosts=[params["fw_log_host"]] if params.get("fw_log_host") else [],
        ntp_servers=[params["fw_ntp_server"]] if params.get("fw_ntp_server") else [],
        snmp_versions=["v3"])


def desired(zone_policy: ZonePolicy, name: str, vendor: str, params: dict[str, Any],
            admins: list[Admin]) -> DeviceConfig:
    if name not in zone_policy.spec.firewalls:
        raise InputError(f"{zone_policy.doc.path}: firewall {name!r} has no entry under firewalls:")
    return DeviceConfig(vendor, name, zone_policy.ruleset_for(name), management(params, admins))


def register_admins(register, estate: Estate, name: str) -> list[Admin]:
    """Personal accounts the account register grants on this firewall, with their role."""
    people = register.people
    out = []
    for account in register.accounts:
        if account.kind != "personal" or name not in estate.expand(list(account.assets)):
            continue
        role = account.role or next(iter(people[account.person].roles), None) if account.person in people else None
        out.append(Admin(account.account, ROLE_OF.get(role or "", "operator"), ["ssh"]))
    return out


def desired_for(estate: Estate, inventory: Path, name: str, register=None, profile: str = "mlps3") -> DeviceConfig:
    """What firewall NAME should carry: its part of the zone policy and the management
    plane of the firewall baseline (site parameters from the inventory, administrators
    from the account register when there is one)."""
    asset = estate.assets.get(name)
    if asset is None or asset.kind != "firewall":
        raise InputError(f"{name!r}: no firewall of that name in {estate.source}")
    if not asset.fw_vendor:
        raise InputError(f"{estate.where(name)}: {name}.mzops_fw_vendor: missing")
    zone_policy = load(inventory, estate)
    params = catalogue.load(profile, "firewall").params_for(asset.vars, estate.where(name))
    admins = register_admins(register, estate, name) if register is not None else []
    return desired(zone_policy, name, asset.fw_vendor, params, admins)
