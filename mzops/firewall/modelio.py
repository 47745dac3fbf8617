"""DeviceConfig to and from plain data (YAML/JSON), for fixtures and saved snapshots."""

from __future__ import annotations

import dataclasses
from typing import Any

from mzops.firewall.model import Address, Admin, DeviceConfig, Management, RuleSet, Rule, Service


def to_data(cfg: DeviceConfig) -> dict[str, Any]:
    data = dataclasses.asdict(cfg)
    data.pop("origin", None)
    return data


def from_data(data: dict[str, Any], vendor: str | None = None) -> DeviceConfig:
    management = dict(data.get("management") or {})
    management["admins"] = [Admin(**a) for a in management.get("admins", [])]
    ruleset = data.get("ruleset") or data.get("policy") or {}   # "policy": the key's first name
    return DeviceConfig(
        vendor or data.get("vendor", ""), data.get("hostname", ""),
        RuleSet(zones={k: list(v) for k, v in (ruleset.get("zones") or {}).items()},
                addresses={k: Address(**v) for k, v in (ruleset.get("addresses") or {}).items()},
                services={k: Service(**v) for k, v in (ruleset.get("services") or {}).items()},
                rules=[Rule(**r) for r in ruleset.get("rules") or []],
                default_action=ruleset.get("default_action", "deny")),
        Management(**management))
