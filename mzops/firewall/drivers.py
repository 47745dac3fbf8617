"""mzops's firewall vendors as NAPALM drivers (subclasses of napalm's NetworkDriver).

Huawei USG, H3C SecPath and Hillstone StoneOS speak their CLI through Netmiko; nftables
runs `nft` on the Linux firewall over SSH. Candidates are configurations in the
vendor's own syntax; `compare_config` answers with the commands a commit would send
(the delta from the running configuration, mzops.firewall.delta), `commit_config`
sends them and saves, `rollback` takes the device back to the configuration it ran
before the last commit. NAPALM and Nornir find them as `huawei_usg`, `h3c_secpath`,
`hillstone_stoneos` (packages napalm_<name>), and mzops drives napalm's own drivers
through the same interface.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from napalm.base import NetworkDriver
from napalm.base.exceptions import CommitError, ConnectionException, MergeConfigException, ReplaceConfigException

from mzops.firewall import delta, vendors
from mzops.firewall.model import merged
from mzops.firewall.session import CliSession, DeviceError
from mzops.connect import ssh


def _text(filename: str | None, config: str | None) -> str:
    if config is not None:
        return config
    if filename is None:
        raise ReplaceConfigException("a candidate needs filename or config")
    return Path(filename).read_text(encoding="utf-8")


class _Candidate:
    """Candidate handling shared by the drivers: replace or merge, compared as mzops renders."""

    vendor: vendors.Vendor
    _candidate: str | None = None
    _merge: bool = False
    _snapshot: str | None = None

    def load_replace_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        self._candidate, self._merge = _text(filename, config), False
        self._check_candidate(ReplaceConfigException)

    def load_merge_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        self._candidate, self._merge = _text(filename, config), True
        self._check_candidate(MergeConfigException)

    def discard_config(self) -> None:
        self._candidate, self._merge = None, False

    def _check_candidate(self, error: type[Exception]) -> None:
        try:
            self.vendor.parse(self._candidate)
        except ValueError as exc:
            self._candidate = None
            raise error(f"candidate is not a {self.vendor.title} configuration: {exc}") from None

    def _normal(self, text: str) -> str:
        return self.vendor.render(self.vendor.parse(text))

    def _target(self, running: str) -> str:
        """The configuration a commit leads to: the candidate, or with a merge the
        running configuration with the candidate merged in."""
        if not self._merge:
            return self._normal(self._candidate)
        return self.vendor.render(merged(self.vendor.parse(running), self.vendor.parse(self._candidate)))


class CliDriver(_Candidate, NetworkDriver):
    """A firewall managed through its CLI (Netmiko). Subclasses name the vendor."""

    VENDOR = ""

    def __init__(self, hostname: str, username: str, password: str, timeout: int = 60,
                 optional_args: dict[str, Any] | None = None):
        args = optional_args or {}
        self.hostname, self.username, self.timeout = hostname, username, timeout
        self._password = password
        self.port = int(args.get("port", 22))
        self.sock = args.get("sock")
        self.vendor = vendors.get(self.VENDOR)
        self.session: CliSession | None = None

    # -- connection -------------------------------------------------------------

    def open(self) -> None:
        self.session = CliSession(self.vendor, self.hostname, self.username, self._password, port=self.port,
                                  timeout=self.timeout, sock=self.sock)
        try:
            self.session.open()
        except DeviceError as exc:
            self.session = None
            raise ConnectionException(str(exc)) from None

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def is_alive(self) -> dict[str, bool]:
        return {"is_alive": self.session is not None and self.session.alive()}

    def _live(self) -> CliSession:
        if self.session is None or not self.session.alive():
            self.close()
            self.open()
        return self.session

    # -- getters ----------------------------------------------------------------

    def get_config(self, retrieve: str = "all", full: bool = False, sanitized: bool = False,
                   format: str = "text") -> dict[str, str]:
        running = self._live().running() if retrieve in ("all", "running") else ""
        return {"running": running, "startup": "", "candidate": self._candidate or ""}

    def get_facts(self) -> dict[str, Any]:
        parsed = self.vendor.parse(self._live().running())
        interfaces = sorted({i for members in parsed.ruleset.zones.values() for i in members})
        return {"hostname": parsed.hostname, "fqdn": parsed.hostname, "vendor": self.vendor.title,
                "model": "", "os_version": "", "serial_number": "", "uptime": -1.0,
                "interface_list": interfaces}

    # -- changes ----------------------------------------------------------------

    def commands(self, running: str | None = None) -> list[str]:
        """What a commit would send, from RUNNING (read from the device when not given)."""
        if self._candidate is None:
            return []
        running = self._live().running() if running is None else running
        return delta.delta(self._normal(running), self._target(running), self.vendor.syntax)

    def compare_config(self) -> str:
        return "\n".join(self.commands())

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        if revert_in is not None:
            raise NotImplementedError("commit confirmed is not available on this platform")
        session = self._live()
        running = session.running()
        self._snapshot = running
        self._send(self.commands(running))
        self.discard_config()

    def rollback(self) -> None:
        """Back to the running configuration before the last commit (what mzops manages)."""
        if self._snapshot is None:
            raise CommitError("nothing to roll back: no commit in this session")
        session = self._live()
        try:
            session.to_user_view()      # a failed batch may have left the session in a view
        except Exception:  # noqa: BLE001 - a dead session is replaced below
            self.close()
            session = self._live()
        running = session.running()
        self._send(delta.delta(self._normal(running), self._normal(self._snapshot), self.vendor.syntax))

    def _send(self, commands: list[str]) -> None:
        if not commands:
            return
        refused = delta.lockouts(commands, self.vendor.lockout, self.username)
        if refused:
            raise CommitError(f"refused: {refused[0]!r} would lock the automation account {self.username} out")
        try:
            failures = self.session.configure(commands)
        except DeviceError as exc:
            raise CommitError(str(exc)) from None
        if failures:
            first = failures[0]
            said = [line.strip() for line in first.output.splitlines() if line.strip()]
            reason = next((line for line in said if any(re.search(p, line) for p in self.vendor.error_patterns)),
                          said[-1] if said else "error")
            raise CommitError(f"the device refused {first.command!r}: {reason}")
        self.session.save()


class HuaweiUSGDriver(CliDriver):
    VENDOR = "huawei_usg"


class H3CSecPathDriver(CliDriver):
    VENDOR = "h3c_secpath"


class HillstoneStoneOSDriver(CliDriver):
    VENDOR = "hillstone_stoneos"


class NftablesDriver(_Candidate, NetworkDriver):
    """A Linux firewall: mzops's table `inet mzops`, replaced atomically by `nft -f`
    after `nft -c` has checked it. Reached over SSH as the audit reaches hosts
    (optional_args["target"]: a mzops.connect.ssh.Target)."""

    def __init__(self, hostname: str, username: str, password: str = "", timeout: int = 60,
                 optional_args: dict[str, Any] | None = None):

        args = optional_args or {}
        self.hostname, self.username, self.timeout = hostname, username, timeout
        self.target = args.get("target") or ssh.Target(name=hostname, host=hostname, user=username or None,
                                                    port=args.get("port"))
        self.vendor = vendors.get("nftables")
        self._open = False

    def open(self) -> None:
        self._run("nft --version >/dev/null")
        self._open = True

    def close(self) -> None:
        self._open = False

    def is_alive(self) -> dict[str, bool]:
        return {"is_alive": self._open}

    def _run(self, script: str) -> str:

        done = ssh.run_script(self.target, script.encode(), [], timeout=self.timeout)
        if done.transport_failed:
            raise ConnectionException(f"{self.hostname}: {done.stderr.splitlines()[-1] if done.stderr else 'ssh failed'}")
        if done.rc != 0:
            raise CommitError(f"{self.hostname}: {done.stderr.splitlines()[-1] if done.stderr else f'exit {done.rc}'}")
        return done.stdout.decode()

    def get_config(self, retrieve: str = "all", full: bool = False, sanitized: bool = False,
                   format: str = "text") -> dict[str, str]:
        running = self._run("nft list table inet mzops 2>/dev/null || true") if retrieve in ("all", "running") else ""
        return {"running": running, "startup": "", "candidate": self._candidate or ""}

    def get_facts(self) -> dict[str, Any]:
        name = self._run("hostname").strip()
        return {"hostname": name, "fqdn": name, "vendor": "Linux nftables", "model": "", "os_version": "",
                "serial_number": "", "uptime": -1.0, "interface_list": []}

    def compare_config(self) -> str:
        if self._candidate is None:
            return ""
        import difflib

        running = self.get_config("running")["running"]
        before = self._normal(running) if running.strip() else ""
        after = self._target(running)
        return "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True), "running", "candidate"))

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        if revert_in is not None:
            raise NotImplementedError("commit confirmed is not available on this platform")
        self._snapshot = self.get_config("running")["running"]
        self._load(self._target(self._snapshot))
        self.discard_config()

    def rollback(self) -> None:
        if self._snapshot is None:
            raise CommitError("nothing to roll back: no commit in this session")
        self._load(self._snapshot if self._snapshot.strip() else None)

    def _load(self, ruleset: str | None) -> None:
        # One transaction: create (if absent), delete, then the new table: never a moment
        # without the table, and nothing applied if any line is wrong (checked first by -c).
        body = "table inet mzops\ndelete table inet mzops\n" + (ruleset or "")
        self._run(f"rules={shlex.quote(body)}\n"
                  'printf "%s\\n" "$rules" | nft -c -f - && printf "%s\\n" "$rules" | nft -f -')


DRIVERS: dict[str, type[NetworkDriver]] = {
    "huawei_usg": HuaweiUSGDriver, "h3c_secpath": H3CSecPathDriver,
    "hillstone_stoneos": HillstoneStoneOSDriver, "nftables": NftablesDriver,
}
