"""Firewall vendors: one module each, discovered (adding a vendor is adding a module).

A module defines `VENDOR = Vendor(...)`: what a session needs to know (Netmiko
device_type, entering and leaving configuration, the negation word, error patterns,
confirmation prompts, saving) and two pure functions: `render` (model -> the
configuration the device should carry, in its own syntax) and `parse` (its running
configuration -> model).
"""

from __future__ import annotations

import copy
import importlib
import pkgutil
import threading
from dataclasses import dataclass, field
from typing import Callable

from mzops.errors import InputError
from mzops.firewall.delta import Syntax
from mzops.firewall.model import DeviceConfig


@dataclass(frozen=True)
class Vendor:
    name: str
    title: str
    device_type: str                        # Netmiko's
    enter_config: str
    leave_config: str
    negation: str                           # undo | no | delete
    error_patterns: tuple[str, ...]         # regexes on a command's output
    confirmations: dict[str, str] = field(default_factory=dict)   # prompt regex -> answer
    save: tuple[str, ...] = ()
    render: Callable[[DeviceConfig], str] = None  # type: ignore[assignment]
    parse: Callable[[str], DeviceConfig] = None   # type: ignore[assignment]
    # Management fields the syntax cannot carry as the model does, and what a parse
    # gives back for them (compared as equal in drift and round trips).
    lossy: dict = field(default_factory=dict)
    # The CLI's views, for the delta (None: the whole configuration is replaced at once).
    syntax: Syntax | None = None
    # Commands that would lock the automation account ({account}) out: never sent.
    lockout: tuple[str, ...] = ()
    # Reading the running configuration, and preparing the session (paging off).
    show_running: str = ""
    session_setup: tuple[str, ...] = ()
    # Any prompt of the CLI, and the user-view prompt only ({base}: the device's name).
    prompt: str = ""
    user_prompt: str = ""


_VENDORS: dict[str, Vendor] = {}
_LOADING = threading.Lock()


def vendors() -> dict[str, Vendor]:
    # Devices are worked on in threads: the registry is filled once, whole, under a lock.
    with _LOADING:
        if not _VENDORS:
            found = {}
            for mod in pkgutil.iter_modules(__path__):
                module = importlib.import_module(f"{__name__}.{mod.name}")
                vendor = getattr(module, "VENDOR", None)
                if vendor is not None:
                    found[vendor.name] = vendor
            _VENDORS.update(found)
    return _VENDORS


def get(name: str, where: str = "--vendor") -> Vendor:
    known = vendors()
    if name not in known:
        raise InputError(f"{where}: unsupported firewall vendor {name!r} (supported: {', '.join(sorted(known))})")
    return known[name]


def comparable(vendor: Vendor, cfg: DeviceConfig) -> DeviceConfig:
    """CFG as it reads back from this vendor's syntax: what the syntax cannot carry takes
    the value a parse gives (so a desired configuration and a parsed one compare)."""
    out = copy.deepcopy(cfg)
    out.vendor = vendor.name
    for name, value in vendor.lossy.items():
        if getattr(out.management, name):
            setattr(out.management, name, copy.deepcopy(value))
    return out
