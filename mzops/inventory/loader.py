"""Read the estate from an Ansible inventory, through Ansible's own inventory engine.

Ansible resolves groups, children, group_vars/host_vars and patterns exactly as the
playbooks will see them; mzops only adds a line-aware pre-read of the YAML files so
that a broken file is reported with its line, and the locations of asset definitions
for later error messages.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mzops import yamlfile
from mzops.errors import InputError
from mzops.inventory import model

# Files in the inventory folder that are mzops data, not inventory sources. The same
# list is in the repository's ansible.cfg so plain `ansible-inventory` agrees.
MZOPS_DATA_FILES = ("accounts.yml", "zone_policy.yml", "waivers.yml")
IGNORE_REGEX = ",".join(rf"^{name.replace('.', chr(92) + '.')}$" for name in MZOPS_DATA_FILES)
YAML_SUFFIXES = (".yml", ".yaml")


def ansible_environment() -> dict[str, str]:
    """Settings every Ansible call made by mzops runs with (inventory engine and runner)."""
    return {
        "ANSIBLE_INVENTORY_IGNORE_REGEX": IGNORE_REGEX,
        "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
        "ANSIBLE_DUPLICATE_YAML_DICT_KEY": "error",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "ANSIBLE_NOCOLOR": "True",
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_PIPELINING": "True",
    }


def _yaml_sources(path: Path) -> list[Path]:
    if path.is_file():
        return [path] if path.suffix in YAML_SUFFIXES else []
    out = []
    for item in sorted(path.rglob("*")):
        rel = item.relative_to(path)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if item.is_file() and item.suffix in YAML_SUFFIXES:
            if len(rel.parts) == 1 and item.name in MZOPS_DATA_FILES:
                continue
            out.append(item)
    return out


def _host_locations(doc: yamlfile.Located) -> dict[str, str]:
    """Where each host of a YAML inventory is defined: the entry carrying its vars,
    else its first mention as a group member."""
    defined: dict[str, str] = {}
    mentioned: dict[str, str] = {}

    def walk_group(group: Any, keypath: tuple) -> None:
        if not isinstance(group, dict):
            return
        hosts = group.get("hosts")
        if isinstance(hosts, dict):
            for host, hostvars in hosts.items():
                target = defined if hostvars else mentioned
                target.setdefault(str(host), doc.where(keypath + ("hosts", host)))
        children = group.get("children")
        if isinstance(children, dict):
            for name, child in children.items():
                walk_group(child, keypath + ("children", name))

    if isinstance(doc.data, dict):
        for name, group in doc.data.items():
            walk_group(group, (name,))
    return {**mentioned, **defined}


def load(path: Path | str) -> model.Estate:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: inventory not found (give -i PATH or set MZOPS_INVENTORY)")
    locations: dict[str, str] = {}
    for source in _yaml_sources(path):
        doc = yamlfile.load(source)
        if doc.data is not None and not isinstance(doc.data, dict):
            raise InputError(f"{source}:1: expected a mapping at the top level")
        if "group_vars" not in source.parts and "host_vars" not in source.parts:
            for host, where in _host_locations(doc).items():
                locations.setdefault(host, where)

    manager, variables = _ansible_inventory(path)
    set_by = _set_by_groups(manager, variables, path)
    assets: dict[str, model.Asset] = {}
    catalogue: dict[str, Any] = {}
    for host in manager.get_hosts("all"):
        hostvars = variables.get_vars(host=host, include_hostvars=False)
        catalogue = catalogue or hostvars
        # Ansible 2.19 tags its strings; mzops hands plain ones to everything downstream.
        assets[str(host.name)] = asset_from_vars(str(host.name), hostvars, [str(g.name) for g in host.get_groups()])
        assets[str(host.name)].set_by = {
            var: found for var in model.ONE_GROUP_VARS
            if (found := {g: set_by[g][var] for g in map(str, (g.name for g in host.get_groups()))
                          if var in set_by.get(g, {})})}
    if not assets:
        empty = [str(p) for p in _yaml_sources(path) if yamlfile.load(p).data is None]
        raise InputError(f"{empty[0] if len(empty) == 1 else path}: empty inventory: no asset defined")
    groups = {
        str(name): sorted(str(h.name) for h in group.get_hosts())
        for name, group in manager.groups.items()
    }
    if not catalogue:
        catalogue = variables.get_vars()
    estate = model.Estate(
        source=str(path), assets=assets,
        zones=_catalogue(catalogue.get(model.VAR_ZONES)),
        sites=_catalogue(catalogue.get(model.VAR_SITES)),
        groups=groups, locations=locations, system=_system(catalogue.get(model.VAR_SYSTEM), path),
    )
    estate.pattern_matcher = lambda pattern: _quietly(lambda: _hosts(manager, pattern))
    return estate


def _set_by_groups(manager, variables, path: Path) -> dict[str, dict[str, str]]:
    """Group -> the kind, zone and site it sets (inline vars and group_vars files): Ansible
    merges a host's groups silently, so a host in two zone groups gets one of them."""
    from ansible.vars.plugins import get_vars_from_inventory_sources

    out: dict[str, dict[str, str]] = {}
    for name, group in manager.groups.items():
        found = dict(group.get_vars())
        found.update(get_vars_from_inventory_sources(variables._loader, [str(path)], [group], "inventory"))
        own = {var: str(found[var]) for var in model.ONE_GROUP_VARS if var in found}
        if own:
            out[str(name)] = own
    return out


def _hosts(manager, pattern: str) -> list[str]:
    from ansible.errors import AnsibleError

    try:
        return [str(h.name) for h in manager.get_hosts(pattern)]
    except AnsibleError as exc:
        raise InputError(f"--limit: {pattern!r}: {str(exc).splitlines()[0]}") from None


def _quietly(call):
    """Run an Ansible call without its warnings on stderr (mzops reports the outcome)."""
    from ansible.utils.display import Display

    display = Display()
    saved = display.warning
    display.warning = lambda *args, **kwargs: None
    try:
        return call()
    finally:
        display.warning = saved


def _ansible_inventory(path: Path):
    os.environ.update({k: v for k, v in ansible_environment().items() if k not in os.environ})
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.vars.manager import VariableManager

    loader = DataLoader()
    try:
        manager = InventoryManager(loader=loader, sources=[str(path)])
    except AnsibleError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise InputError(f"{path}: Ansible cannot read this inventory: {first}") from None
    return manager, VariableManager(loader=loader, inventory=manager)


def _system(raw: Any, path: Path) -> model.System | None:
    """mzops_system: {name, name_zh, level, filing}; None when the inventory does not say."""
    if raw is None:
        return None
    where = f"{path}: {model.VAR_SYSTEM}"
    if not isinstance(raw, dict) or not str(raw.get("name") or "").strip():
        raise InputError(f"{where}: expected a mapping with at least name and level")
    level = raw.get("level")
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
        raise InputError(f"{where}.level: expected a protection level 1 to 5, got {level!r}")
    unknown = sorted(set(raw) - {"name", "name_zh", "level", "filing"})
    if unknown:
        raise InputError(f"{where}: unknown key {unknown[0]!r} (name, name_zh, level, filing)")
    return model.System(str(raw["name"]), level, str(raw.get("name_zh") or ""), str(raw.get("filing") or ""))


def _catalogue(raw: Any) -> dict[str, model.Zone]:
    out: dict[str, model.Zone] = {}
    if isinstance(raw, dict):
        for key, value in raw.items():
            value = value if isinstance(value, dict) else {}
            out[str(key)] = model.Zone(
                id=str(key), name=str(value.get("name", key)), name_zh=str(value.get("name_zh", ""))
            )
    return out


def asset_from_vars(name: str, hv: dict[str, Any], groups: list[str]) -> model.Asset:
    """An asset from its Ansible host variables and groups (the inventory, or a task's
    variables when Ansible runs the audit: mzops.compliance.playbook)."""
    def text(key: str) -> str | None:
        value = hv.get(key)
        return None if value is None else str(value)

    port = hv.get(model.VAR_DB_PORT)
    creds = hv.get(model.VAR_CREDENTIALS) or {}
    return model.Asset(
        name=name,
        kind=text(model.VAR_KIND) or "",
        zone=text(model.VAR_ZONE) or "",
        site=text(model.VAR_SITE) or "",
        platform=text(model.VAR_PLATFORM),
        address=text("ansible_host") or name,
        criticality=text(model.VAR_CRITICALITY) or "normal",
        groups=sorted(g for g in groups if g not in ("all", "ungrouped")),
        db_engine=text(model.VAR_DB_ENGINE),
        db_port=port if isinstance(port, int) or port is None else _int_or_raw(port),
        db_server=text(model.VAR_DB_SERVER),
        db_user=text(model.VAR_DB_USER),
        fw_vendor=text(model.VAR_FW_VENDOR),
        device_type=text(model.VAR_DEVICE_TYPE),
        credentials={str(k): str(v) for k, v in creds.items()} if isinstance(creds, dict) else {"?": str(creds)},
        vars=dict(hv),
    )


def _int_or_raw(value: Any) -> Any:
    try:
        return int(str(value))
    except ValueError:
        return value
