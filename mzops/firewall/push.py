"""Backup, drift and push over NAPALM drivers, one device per worker.

A push, per device: save the running configuration (the snapshot), load the desired
configuration as a replace candidate, take the commands the driver would send
(the preview stops here), commit, re-read and compare with what the device should
now carry; on a refused command, a lost session or a mismatch, roll back to the
snapshot and check that the device is equal to it again. Devices are independent:
one that cannot be reached is reported as such and the others go on.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from napalm.base import NetworkDriver
from napalm.base.exceptions import ConnectionException

from mzops import run as runlayer
from mzops.errors import InputError, MzopsError
from mzops.firewall import policy, store, vendors
from mzops.firewall.drivers import DRIVERS
from mzops.firewall.model import Admin, DeviceConfig
from mzops.inventory.model import Asset, Estate
from mzops.connect import ssh

# What happened on a device; each maps to one state of the run layer's outcome.
UNCHANGED, PREVIEW, CHANGED, SAVED = "unchanged", "preview", "changed", "saved"
ROLLED_BACK, ROLLBACK_FAILED, FAILED, UNREACHABLE = "rolled back", "ROLLBACK FAILED", "failed", "unreachable"
STATE = {UNCHANGED: runlayer.OK, PREVIEW: runlayer.OK, SAVED: runlayer.OK, CHANGED: runlayer.CHANGED,
         ROLLED_BACK: runlayer.FAILED, ROLLBACK_FAILED: runlayer.FAILED, FAILED: runlayer.FAILED,
         UNREACHABLE: runlayer.UNREACHABLE}


@dataclass
class DeviceResult:
    name: str
    vendor: str
    status: str
    commands: list[str] = field(default_factory=list)
    detail: str = ""
    snapshot: str = ""      # the saved configuration taken before a push (or by `firewall save`)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def outcome(self, drift_fails: bool = False) -> runlayer.Outcome:
        """With DRIFT_FAILS (`firewall diff`), a device that is not in line is a finding."""
        state = runlayer.FAILED if drift_fails and self.status == PREVIEW else STATE[self.status]
        message = self.detail or (f"{len(self.commands)} line(s) to send" if self.commands else "")
        return runlayer.Outcome(self.name, state, message, "\n".join(self.commands), self.seconds, record=self)


RECORDS = runlayer.Records("firewall")


def exclusive():
    """One push at a time (a scheduler and a person may start one together)."""
    return runlayer.exclusive("firewall", "firewall push")


@dataclass
class Device:
    """One firewall of the inventory, with what is needed to open its driver."""

    asset: Asset
    account: str
    password: str = field(default="", repr=False)

    @property
    def vendor(self) -> str:
        return self.asset.fw_vendor or ""

    @property
    def napalm_driver(self) -> str | None:
        """A NAPALM driver named in the inventory for a platform mzops has no module for."""
        value = self.asset.vars.get("mzops_napalm_driver")
        return str(value) if value else None

    def driver(self, timeout: int = 30) -> NetworkDriver:
        import napalm

        vars_ = self.asset.vars
        host = str(vars_.get("ansible_host") or self.asset.name)
        port = vars_.get("ansible_port")
        if self.napalm_driver:
            args = dict(vars_.get("mzops_napalm_args") or {})
            try:
                found = napalm.get_network_driver(self.napalm_driver)
            except napalm.base.exceptions.ModuleImportError as exc:
                raise InputError(f"{self.asset.name}.mzops_napalm_driver: {exc}") from None
            return found(host, self.account, self.password, timeout=timeout, optional_args=args)
        if self.vendor == "nftables":
            target = ssh.Target.from_vars(self.asset.name, vars_)
            return DRIVERS["nftables"](host, self.account, timeout=timeout, optional_args={"target": target})
        vendors.get(self.vendor, f"{self.asset.name}.mzops_fw_vendor")
        return DRIVERS[self.vendor](host, self.account, self.password, timeout=timeout,
                                    optional_args={"port": int(port) if port else 22})


def devices(estate: Estate, names: list[str], resolver) -> tuple[list[Device], list[DeviceResult]]:
    """Devices for NAMES; a firewall whose credential cannot be had is an outcome at once."""
    out, failed = [], []
    for name in names:
        asset = estate.assets[name]
        account = str(asset.vars.get("ansible_user") or "")
        password = ""
        reference = asset.credentials.get("cli")
        if reference:
            try:
                password = resolver.resolve(reference).reveal()
            except MzopsError as exc:
                failed.append(DeviceResult(name, asset.fw_vendor or "", FAILED, detail=f"credential: {exc}"))
                continue
        out.append(Device(asset, account, password))
    return out, failed


def desired(estate: Estate, inventory: Path, device: Device, register, profile: str = "mlps3") -> DeviceConfig:
    """What the device should carry; the automation account stays an administrator
    (the register lists people; a push must never remove the account it runs as)."""
    cfg = policy.desired_for(estate, inventory, device.asset.name, register, profile)
    if device.vendor != "nftables" and device.account and \
            device.account not in [a.name for a in cfg.management.admins]:
        cfg.management.admins.append(Admin(device.account, "admin", ["ssh"]))
    return cfg


def wanted(estate: Estate, inventory: Path, devices: list[Device], register, profile: str = "mlps3") -> tuple[dict[str, DeviceConfig],
                                                                                     list[DeviceResult]]:
    """The desired configuration per device name; devices mzops renders nothing for are
    outcomes at once. A bad zone policy stops everything before any device is touched."""
    policy.load(inventory, estate)
    wants, failed = {}, []
    for device in devices:
        if device.napalm_driver:
            failed.append(DeviceResult(device.asset.name, device.napalm_driver, FAILED,
                                  detail=f"NAPALM driver {device.napalm_driver}: mzops renders no configuration "
                                         "for it (save and history only)"))
            continue
        wants[device.asset.name] = desired(estate, inventory, device, register, profile)
    return wants, failed


def each(devices: list[Device], work: Callable[[Device], DeviceResult], forks: int,
         events: runlayer.Events | None = None, drift_fails: bool = False) -> list[DeviceResult]:
    """WORK on every device, FORKS at once; a driver's unexpected exception is that
    device's failure and the others go on."""
    def failed(device: Device, exc: Exception) -> DeviceResult:
        return DeviceResult(device.asset.name, device.vendor, FAILED, detail=_say(exc))

    return runlayer.each(devices, work, forks, events=events, outcome=lambda r: r.outcome(drift_fails),
                         on_error=failed)


def save_running(device: Device, reason: str = "saved") -> DeviceResult:
    start = time.monotonic()
    try:
        driver = device.driver()
    except MzopsError as exc:
        return DeviceResult(device.asset.name, device.vendor, FAILED, detail=str(exc))
    try:
        driver.open()
        running = driver.get_config(retrieve="running")["running"]
    except (ConnectionException, MzopsError) as exc:
        return DeviceResult(device.asset.name, device.vendor, UNREACHABLE, detail=str(exc), seconds=time.monotonic() - start)
    except Exception as exc:  # noqa: BLE001 - any driver's failure is this device's, not the run's
        return DeviceResult(device.asset.name, device.vendor, FAILED, detail=_say(exc), seconds=time.monotonic() - start)
    finally:
        _close(driver)
    path = store.save(device.asset.name, running, reason)
    return DeviceResult(device.asset.name, device.vendor, SAVED, snapshot=str(path), seconds=time.monotonic() - start,
                   detail=f"{len(running.splitlines())} lines")


def push(device: Device, want: DeviceConfig, apply: bool) -> DeviceResult:
    """Preview (apply=False) or push the difference, verify, roll back on any failure."""
    start = time.monotonic()
    name = device.asset.name
    outcome = DeviceResult(name, device.vendor, PREVIEW)
    try:
        vendor, driver = vendors.get(device.vendor, f"{name}.mzops_fw_vendor"), device.driver()
    except MzopsError as exc:
        outcome.status, outcome.detail = FAILED, str(exc)
        return outcome
    try:
        try:
            driver.open()
            running = driver.get_config(retrieve="running")["running"]
        except (ConnectionException, MzopsError) as exc:
            outcome.status, outcome.detail = UNREACHABLE, str(exc)
            return outcome
        candidate = vendor.render(want)
        driver.load_replace_candidate(config=candidate)
        diff = driver.compare_config()
        outcome.commands = diff.splitlines()
        if not diff.strip():
            outcome.status = UNCHANGED
            return outcome
        if not apply:
            driver.discard_config()
            return outcome
        outcome.snapshot = str(store.save(name, running, "before-push"))
        try:
            driver.commit_config()
            after = driver.get_config(retrieve="running")["running"]
            left = remaining(driver, candidate)
            if left:
                raise MzopsError(f"verification failed: {len(left)} command(s) still to send after the push, "
                                 f"first {left[0]!r}")
            store.save(name, after, "after-push")
            outcome.status = CHANGED
        except Exception as exc:  # noqa: BLE001 - whatever broke, the device goes back to its snapshot
            outcome.detail = _say(exc)
            outcome.status, why = _roll_back(device, driver, vendor, running)
            if outcome.status == ROLLBACK_FAILED:
                outcome.detail += f"; rollback did not restore the snapshot ({why}): restore it by hand from {outcome.snapshot}"
        return outcome
    finally:
        _close(driver)
        outcome.seconds = time.monotonic() - start


def _roll_back(device: Device, driver: NetworkDriver, vendor: vendors.Vendor, snapshot: str) -> tuple[str, str]:
    """(status, why it failed) after taking the device back to SNAPSHOT."""
    try:
        driver.rollback()
        now = driver.get_config(retrieve="running")["running"]
    except Exception:  # noqa: BLE001 - the first session may be gone: one fresh attempt
        _close(driver)
        try:
            driver.open()
            driver.rollback()
            now = driver.get_config(retrieve="running")["running"]
        except Exception as exc:  # noqa: BLE001
            return ROLLBACK_FAILED, _say(exc)
    store.save(device.asset.name, now, "after-rollback")
    try:
        left = remaining(driver, snapshot)
    except Exception as exc:  # noqa: BLE001
        return ROLLBACK_FAILED, _say(exc)
    return (ROLLED_BACK, "") if not left else (ROLLBACK_FAILED, f"{len(left)} command(s) from the snapshot, first {left[0]!r}")


def remaining(driver: NetworkDriver, config: str) -> list[str]:
    """What the driver would still send to reach CONFIG: the device carries it when empty."""
    driver.load_replace_candidate(config=config)
    try:
        return driver.compare_config().splitlines()
    finally:
        driver.discard_config()


def drift(device: Device, want: DeviceConfig) -> DeviceResult:
    """Running against desired: the commands a push would send (never changes anything)."""
    return push(device, want, apply=False)


def _close(driver: NetworkDriver) -> None:
    try:
        driver.close()
    except Exception:  # noqa: BLE001 - closing a dead session
        pass


def _say(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
