"""Audit a firewall's configuration as text: a saved export (`mzops audit config FILE
--vendor V`, no device access) or what a session read from the device. Either way
the facts are two sections, the vendor and the configuration, evaluated by the same
firewall baseline."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from mzops.compliance.collector import Bundle, Section
from mzops.errors import InputError
from mzops.firewall import vendors


def bundle(text: str, vendor: str, name: str) -> Bundle:
    return Bundle(name, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), {
        "fw:vendor": Section(0, vendor.encode()),
        "fw:config": Section(0, text.encode()),
    })


def from_file(path: Path, vendor_name: str) -> Bundle:
    """The bundle for a saved configuration, refusing one that is not that vendor's."""
    vendor = vendors.get(vendor_name)
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        parsed = vendor.parse(text)
    except (ValueError, IndexError) as exc:
        raise InputError(f"{path}: not a {vendor.title} configuration: {exc}") from None
    m = parsed.management
    if not (parsed.hostname or parsed.policy.rules or parsed.policy.zones or m.admins):
        raise InputError(f"{path}: nothing in it reads as a {vendor.title} configuration (wrong --vendor?)")
    return bundle(text, vendor.name, parsed.hostname or path.stem)
