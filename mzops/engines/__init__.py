"""Database engines, one file each (see `base.Engine` for the contract).

An engine is found by its module: every module of this package that defines `ENGINE`
is registered under `ENGINE.name`. Adding DM8 or KingbaseES is one file here plus its
baseline (baselines/<profile>/<family>.yml) and its hardening role.
"""

from __future__ import annotations

import importlib
import pkgutil

from mzops.bundle import Bundle
from mzops.engines.base import DatabaseError, Engine, LockPlan, Refused, Setting
from mzops.errors import InputError

__all__ = ["DatabaseError", "Engine", "LockPlan", "Refused", "Setting", "get", "known", "of_bundle", "register"]

_ENGINES: dict[str, Engine] = {}


def _discover() -> dict[str, Engine]:
    if not _ENGINES:
        for module in pkgutil.iter_modules(__path__):
            found = getattr(importlib.import_module(f"{__name__}.{module.name}"), "ENGINE", None)
            if isinstance(found, Engine):
                _ENGINES.setdefault(found.name, found)
    return _ENGINES


def register(engine: Engine) -> Engine:
    """Add an engine that lives outside this package (a plugin, a test)."""
    _discover()[engine.name] = engine
    return engine


def known() -> dict[str, Engine]:
    return dict(_discover())


def families() -> set[str]:
    return {e.family for e in _discover().values()}


def get(name: str | None, who: str = "") -> Engine:
    """The engine NAME (InputError naming WHO for one mzops has no file for)."""
    engine = _discover().get(name or "")
    if engine is None:
        raise InputError(f"{who + ': ' if who else ''}database engine {name!r} has no baseline yet "
                         f"({', '.join(sorted(_discover()))}; DM8 and KingbaseES are planned)")
    return engine


def of_bundle(bundle: Bundle) -> Engine | None:
    """The engine a bundle was collected from (None for a host's bundle). Bundles saved
    before engines had files name the baseline family; it finds the engine too."""
    section = bundle.sections.get("db:engine")
    if section is None:
        return None
    name = section.text.strip()
    engines = _discover()
    return engines.get(name) or next((e for e in engines.values() if e.family == name), None)


def of_facts(facts) -> Engine | None:
    return of_bundle(facts.bundle)
