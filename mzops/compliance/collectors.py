"""Collectors by asset kind: how one asset's facts are gathered, in one round trip.

Hosts and databases are collected by mzops.compliance itself; firewalls by the
firewall package (through their NAPALM drivers), which registers its collector when
it is imported. `get` imports the packages that provide collectors, so a caller
needs no knowledge of which package serves which kind.
"""

from __future__ import annotations

import importlib
from typing import Callable, Protocol

from mzops.bundle import Bundle
from mzops.compliance import collector
from mzops.connect import ssh
from mzops.errors import InputError
from mzops.inventory.model import Asset, Estate
from mzops.secrets import Resolver

# Packages whose import registers collectors for further kinds.
PROVIDERS = ("mzops.compliance.dbcollect", "mzops.firewall.audit_config")


class Collector(Protocol):
    def __call__(self, estate: Estate, asset: Asset, resolver: Resolver, groups: list[str],
                 timeout: float) -> Bundle: ...


_COLLECTORS: dict[str, Collector] = {}


def register(kind: str) -> Callable[[Collector], Collector]:
    def wrap(fn: Collector) -> Collector:
        _COLLECTORS[kind] = fn
        return fn
    return wrap


def get(kind: str) -> Collector:
    if kind not in _COLLECTORS:
        for provider in PROVIDERS:
            importlib.import_module(provider)
    try:
        return _COLLECTORS[kind]
    except KeyError:
        raise InputError(f"no collector for assets of kind {kind!r}") from None


@register("host")
def collect_host(estate: Estate, asset: Asset, resolver: Resolver, groups: list[str], timeout: float) -> Bundle:
    return collector.collect(ssh.target_of(asset, resolver), groups, timeout=timeout)
