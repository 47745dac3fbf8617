"""Audit a firewall's configuration as text: a saved export (`mzops audit config FILE
--vendor V`, no device access) or what a session read from the device. Either way
the facts are two sections, the vendor and the configuration, evaluated by the same
firewall baseline."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from napalm.base.exceptions import ConnectionException

from mzops.bundle import Bundle, CollectionError, Section
from mzops.compliance import collectors
from mzops.errors import InputError, MzopsError
from mzops.firewall import push, vendors
from mzops.inventory.model import Asset, Estate
from mzops.secrets import Resolver


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
    refused = vendors.refusal(vendor, text)
    if refused:
        raise InputError(f"{path}: {refused}")
    try:
        parsed = vendor.parse(text)
    except (ValueError, IndexError) as exc:
        raise InputError(f"{path}: not a {vendor.title} configuration: {exc}") from None
    m = parsed.management
    if not (parsed.hostname or parsed.ruleset.rules or parsed.ruleset.zones or m.admins):
        raise InputError(f"{path}: nothing in it reads as a {vendor.title} configuration (wrong --vendor?)")
    return bundle(text, vendor.name, parsed.hostname or path.stem)


def collect(device, timeout: float = 60) -> Bundle:
    """The running configuration read from the device (a mzops.firewall.push.Device),
    read-only, as a bundle; CollectionError when it cannot be had."""
    start = time.monotonic()
    try:
        driver = device.driver(timeout=int(timeout))
    except MzopsError as exc:
        raise CollectionError(str(exc), unreachable=False) from None
    try:
        driver.open()
        text = driver.get_config(retrieve="running")["running"]
    except (ConnectionException, MzopsError) as exc:
        raise CollectionError(str(exc), unreachable=True) from None
    except Exception as exc:  # noqa: BLE001 - any driver failure is this device's
        raise CollectionError(f"{type(exc).__name__}: {exc}", unreachable=False) from None
    finally:
        try:
            driver.close()
        except Exception:  # noqa: BLE001
            pass
    out = bundle(text, device.vendor, device.asset.name)
    out.seconds = time.monotonic() - start
    return out


@collectors.register("firewall")
def collect_asset(estate: Estate, asset: Asset, resolver: Resolver, groups: list[str], timeout: float) -> Bundle:
    devices, failed = push.devices(estate, [asset.name], resolver)
    if failed:
        raise CollectionError(failed[0].detail, unreachable=False)
    return collect(devices[0], timeout=min(timeout, 120))
