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
import re
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
    # Lines only this vendor's configuration has (regexes, multiline): a file audited
    # with the wrong --vendor is recognised by another vendor's marks and none of its own.
    markers: tuple[str, ...] = ()


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


# What a terminal's pager leaves in a captured configuration: the prompt (Huawei and
# H3C `---- More ----`, StoneOS `--More--`), the cursor moves that erase it, backspaces.
PAGING = re.compile(r"-{2,4} ?More ?-{2,4}|\x1b\[[0-9;]*[A-Za-z]|\x08")


def marks(vendor: Vendor, text: str) -> str | None:
    """The first line of TEXT that only VENDOR writes ("line N: ..."), or None."""
    for pattern in vendor.markers:
        found = re.search(pattern, text, re.M)
        if found:
            line = text.count("\n", 0, found.start()) + 1
            return f"line {line}: {text.splitlines()[line - 1].strip()}"
    return None


def refusal(vendor: Vendor, text: str) -> str | None:
    """Why TEXT cannot be audited as VENDOR's configuration: pager residue (lines may be
    cut or joined), or another vendor's syntax and none of this one's. None when it can."""
    found = PAGING.search(text)
    if found:
        line = text.count("\n", 0, found.start()) + 1
        return (f"line {line}: pager residue ({found.group(0)!r}): the export was captured with paging on "
                f"and lines may be cut; capture it again with paging off ({', '.join(vendor.session_setup) or 'no pager'})")
    if marks(vendor, text) is None:
        for other in vendors().values():
            evidence = other is not vendor and marks(other, text)
            if evidence:
                return (f"reads as a {other.title} configuration ({evidence}), not {vendor.title}: "
                        f"use --vendor {other.name}")
    return None


def comparable(vendor: Vendor, cfg: DeviceConfig) -> DeviceConfig:
    """CFG as it reads back from this vendor's syntax: what the syntax cannot carry takes
    the value a parse gives (so a desired configuration and a parsed one compare)."""
    out = copy.deepcopy(cfg)
    out.vendor = vendor.name
    for name, value in vendor.lossy.items():
        if getattr(out.management, name):
            setattr(out.management, name, copy.deepcopy(value))
    return out
