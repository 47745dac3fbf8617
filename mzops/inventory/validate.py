"""Consistency checks of the estate and the account register (pure: no I/O).

Each problem is one line naming the file, line and key at fault. Findings about the
*accounts themselves* (shared, role conflicts, ...) belong to `mzops accounts check`,
not here: this only refuses input that cannot be meant.
"""

from __future__ import annotations

import difflib
import ipaddress
import re

from mzops import engines
from mzops.errors import InputError
from mzops.firewall import vendors
from mzops.inventory import model
from mzops.inventory.register import LoadedRegister

SECRET_NAME = re.compile(r"(pass(word|wd|phrase)?|pwd|secret|token|private_key|api_key)$", re.IGNORECASE)
# RFC 1123 host names; anything made of digits and dots must be an IPv4 address.
HOST_NAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")


def estate_problems(estate: model.Estate) -> list[str]:
    problems: list[str] = []
    if not estate.zones:
        problems.append(f"{estate.source}: {model.VAR_ZONES}: no zones declared (group_vars/all)")
    if not estate.sites:
        problems.append(f"{estate.source}: {model.VAR_SITES}: no sites declared (group_vars/all)")
    by_folded: dict[str, str] = {}
    by_address: dict[str, str] = {}
    for asset in estate.assets.values():
        where = estate.where(asset.name)

        def bad(key: str, message: str) -> None:
            problems.append(f"{where}: {asset.name}.{key}: {message}")

        folded = asset.name.lower()
        if folded in by_folded:
            bad("name", f"duplicate asset: same name as {by_folded[folded]!r} but for letter case")
        by_folded[folded] = asset.name

        if asset.kind not in model.KINDS:
            bad(model.VAR_KIND, _choice(asset.kind, model.KINDS, "kind"))
        if asset.zone not in estate.zones and estate.zones:
            bad(model.VAR_ZONE, _choice(asset.zone, estate.zones, "zone"))
        if asset.site not in estate.sites and estate.sites:
            bad(model.VAR_SITE, _choice(asset.site, estate.sites, "site"))
        if asset.criticality not in model.CRITICALITIES:
            bad(model.VAR_CRITICALITY, _choice(asset.criticality, model.CRITICALITIES, "criticality"))
        strategy = asset.vars.get(model.VAR_ANSIBLE_STRATEGY)
        if strategy is not None and strategy not in model.STRATEGIES:
            bad(model.VAR_ANSIBLE_STRATEGY, _choice(strategy, model.STRATEGIES, "Ansible strategy"))
        if asset.kind in ("host", "firewall") and not asset.platform:
            bad(model.VAR_PLATFORM, "missing (e.g. debian-12, kylin-v10, huawei-usg)")

        if asset.kind == "database":
            allowed = (*sorted(engines.known()), *model.PLANNED_DB_ENGINES)
            if asset.db_engine not in allowed:
                bad(model.VAR_DB_ENGINE, _choice(asset.db_engine, allowed, "database engine"))
            if not isinstance(asset.db_port, int) or not 0 < asset.db_port < 65536:
                bad(model.VAR_DB_PORT, f"{asset.db_port!r} is not a TCP port")
            if asset.db_server is not None:
                server = estate.assets.get(asset.db_server)
                if server is None or server.kind != "host":
                    bad(model.VAR_DB_SERVER, f"{asset.db_server!r} is not a host asset")
        elif asset.kind in ("host", "firewall") and asset.address:
            other = by_address.get(asset.address)
            if other:
                bad("ansible_host", f"duplicate asset: address {asset.address} is also {other!r}")
            by_address[asset.address] = asset.name

        if asset.kind == "firewall":
            if not asset.fw_vendor:
                bad(model.VAR_FW_VENDOR, "missing (e.g. huawei_usg, h3c_secpath, hillstone_stoneos, nftables)")
            if not asset.device_type:
                bad(model.VAR_DEVICE_TYPE, "missing (the Netmiko device_type, e.g. huawei)")

        for var, groups in asset.set_by.items():
            if len(set(groups.values())) > 1:
                given = ", ".join(f"{g} ({v})" for g, v in sorted(groups.items()))
                bad(var, f"set by more than one group: {given}; Ansible silently keeps one "
                         f"({asset.vars.get(var)})")
        for key in sorted(asset.vars):
            if key in model.RUN_VARS:
                bad(key, "set by mzops for each run: remove it from the inventory")
            elif key.startswith("mzops_") and key not in model.INVENTORY_VARS:
                near = difflib.get_close_matches(key, sorted(model.INVENTORY_VARS), n=1)
                bad(key, "unknown mzops variable" + (f" (did you mean {near[0]}?)" if near else ""))
        if asset.kind in ("host", "firewall", "database"):
            problem = address_problem(asset.vars.get("ansible_host"))
            if problem:
                bad("ansible_host", problem)
        raw_credentials = asset.vars.get(model.VAR_CREDENTIALS)
        if raw_credentials is not None and not isinstance(raw_credentials, dict):
            bad(model.VAR_CREDENTIALS, f"must be a mapping of role to reference (e.g. {{ssh: "
                                       f"\"vault:PATH#FIELD\"}}), not {type(raw_credentials).__name__}")
        if asset.kind == "firewall" and asset.fw_vendor:
            # A misspelt vendor is a mistake; a vendor mzops has no module for (yet) is that
            # device's failure when it is worked on, not the estate's (the others go on).
            near = difflib.get_close_matches(asset.fw_vendor, sorted(vendors.vendors()), n=1, cutoff=0.75)
            if asset.fw_vendor not in vendors.vendors() and near:
                bad(model.VAR_FW_VENDOR, f"unknown firewall vendor {asset.fw_vendor!r} (did you mean {near[0]}?)")
        for role, ref in (asset.credentials.items() if isinstance(raw_credentials, dict) else ()):
            if not model.CREDENTIAL_REF.match(ref):
                bad(f"{model.VAR_CREDENTIALS}.{role}",
                    "not a credential reference (use vault:PATH#FIELD, env:NAME or ansible-vault:FILE#KEY)")
        for key, value in asset.vars.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)          # a numeric password is still a password
            if SECRET_NAME.search(key) and isinstance(value, str) and value \
                    and not model.CREDENTIAL_REF.match(value) and "{{" not in value:
                bad(key, "looks like a literal secret: put a reference in mzops_credentials instead")
    return problems


def address_problem(value) -> str | None:
    """Why an ansible_host cannot be an address (None: it can)."""
    if value is None:
        return None
    text = str(value)
    if re.fullmatch(r"[\d.]+", text):
        try:
            ipaddress.IPv4Address(text)
        except ValueError:
            return f"{text!r} is not an IPv4 address"
        return None
    if ":" in text:
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            return f"{text!r} is not an IPv6 address"
        return None
    return None if HOST_NAME.match(text) else f"{text!r} is neither an address nor a host name"


def parameter_problems(estate: model.Estate, catalogues: dict) -> list[str]:
    """Every asset's mzops_baseline_params against the baselines of its family: unknown
    names and values of the wrong type (as an audit would find them, but before one)."""
    from mzops.compliance import audit      # heavy (collectors): loaded only for this check

    problems = []
    for asset in estate.assets.values():
        try:
            family = audit.family_of(asset)
        except InputError:
            continue
        if family in catalogues:
            try:
                catalogues[family].params_for(asset.vars, f"{estate.where(asset.name)}: {asset.name}")
            except InputError as exc:
                problems.append(str(exc))
    return problems


def register_problems(reg: LoadedRegister, estate: model.Estate) -> list[str]:
    problems: list[str] = []
    doc = reg.doc
    seen_people: dict[str, int] = {}
    for index, person in enumerate(reg.register.people):
        if person.id in seen_people:
            problems.append(f"{doc.where(('people', index, 'id'))}: people.{index}.id: "
                            f"duplicate person id {person.id!r} (also item {seen_people[person.id]})")
        seen_people.setdefault(person.id, index)
    people = reg.people
    seen_entries: dict[tuple, int] = {}
    for index, entry in enumerate(reg.register.accounts):
        def bad(key: str, message: str, sub: tuple = ()) -> None:
            keypath = ("accounts", index, key) + sub
            problems.append(f"{doc.where(keypath)}: {'.'.join(map(str, keypath))}: {message}")

        person = people.get(entry.person)
        if person is None:
            bad("person", f"unknown person {entry.person!r} (not in people)")
        elif entry.role and entry.role not in person.roles:
            bad("role", f"{entry.person} does not hold role {entry.role!r} (holds: "
                        f"{', '.join(person.roles) or 'none'})")
        for pos, name in enumerate(entry.assets):
            if name not in estate.assets and name not in estate.groups:
                bad("assets", f"unknown asset or group {name!r}", (pos,))
        identity = (entry.account, entry.person, tuple(sorted(entry.assets)))
        if identity in seen_entries:
            bad("account", f"duplicate entry (same as accounts.{seen_entries[identity]})")
        seen_entries.setdefault(identity, index)
    return problems


def _choice(value, allowed, what: str) -> str:
    if not value:
        return f"missing {what} (one of: {', '.join(allowed)})"
    return f"unknown {what} {value!r} (one of: {', '.join(allowed)})"
