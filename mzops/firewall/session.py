"""One CLI session to a firewall through Netmiko: read the running configuration, send a
batch of configuration commands, save.

Commands are pipelined: a batch is written at once and the answer read until one
prompt per command has come back, then each command's output is checked against the
vendor's error patterns. Netmiko's own send_config_set waits for each echo and, on
Huawei, for ~2 s of quiet per config-mode check; over a slow link or 100 rules that
is minutes. A batch always ends by leaving configuration mode, so a command that
fails half-way does not leave the session in a view.
"""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass
from typing import Any

from mzops.errors import MzopsError
from mzops.firewall.vendors import Vendor

BATCH = 50            # commands written before their prompts are read back


class DeviceError(MzopsError):
    """A device could not be reached, refused the login, or failed a command."""


@dataclass
class Failure:
    command: str
    output: str


class CliSession:
    def __init__(self, vendor: Vendor, host: str, username: str, password: str, port: int = 22,
                 timeout: float = 30, sock: Any = None):
        self.vendor, self.host, self.port = vendor, host, port
        self.username, self._password = username, password
        self.timeout, self.sock = timeout, sock
        self.conn = None

    # -- connection -------------------------------------------------------------

    def open(self) -> None:
        from netmiko import ConnectHandler
        from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

        log = io.BytesIO()          # in memory only: explains a refused login, never written
        params = dict(device_type=self.vendor.device_type, host=self.host, port=self.port,
                      username=self.username, password=self._password, conn_timeout=self.timeout,
                      auth_timeout=self.timeout, banner_timeout=self.timeout, read_timeout_override=None,
                      session_log=log, fast_cli=True, allow_agent=False, use_keys=False)
        if self.sock is not None:
            params["sock"] = self.sock
        try:
            self.conn = ConnectHandler(**params)
        except NetmikoAuthenticationException:
            raise DeviceError(f"{self.host}:{self.port}: authentication failed for {self.username}") from None
        except NetmikoTimeoutException:
            raise DeviceError(f"{self.host}:{self.port}: unreachable (no SSH answer in {self.timeout:g} s)") from None
        except Exception as exc:  # noqa: BLE001 - netmiko/paramiko raise many kinds; all mean "no session"
            seen = log.getvalue().decode(errors="replace")
            if re.search(r"(?i)password.*(expired|change)|change.*password", seen):
                raise DeviceError(f"{self.host}:{self.port}: the device demands a password change for "
                                  f"{self.username} at login: change it by hand, then update the credential "
                                  "store") from None
            raise DeviceError(f"{self.host}:{self.port}: no CLI session ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else 'closed'})") from None

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.disconnect()
            except Exception:  # noqa: BLE001 - a dropped session has nothing left to close
                pass
            self.conn = None

    def alive(self) -> bool:
        return self.conn is not None and self.conn.is_alive()

    @property
    def prompt(self) -> re.Pattern:
        return re.compile(self.vendor.prompt.replace("{base}", re.escape(self.conn.base_prompt)))

    # -- commands ---------------------------------------------------------------

    def show(self, command: str) -> str:
        self._need()
        try:
            return self.conn.send_command(command, expect_string=self.prompt.pattern, read_timeout=120)
        except Exception as exc:  # noqa: BLE001
            raise DeviceError(f"{self.host}: {command!r} failed: {type(exc).__name__}") from None

    def running(self) -> str:
        text = self.show(self.vendor.show_running).replace("\x07", "")
        # Netmiko strips the echo only when it comes back exactly as sent: drop what is left of it.
        head, echo, rest = text.partition(self.vendor.show_running)
        if echo and "\n" not in head.strip():
            text = rest
        return text.lstrip("\n").rstrip() + "\n"

    def to_user_view(self) -> None:
        """Leave any configuration view (after an error a session may still be in one)."""
        self._need()
        self.conn.write_channel(self.vendor.leave_config + self.conn.RETURN)
        self.conn.read_until_pattern(pattern=self.prompt.pattern, read_timeout=self.timeout)

    def configure(self, commands: list[str]) -> list[Failure]:
        """Send COMMANDS from configuration mode, back to user view at the end.
        Returns the commands the device refused (empty: all taken)."""
        self._need()
        lines = [self.vendor.enter_config, *commands, self.vendor.leave_config]
        failures: list[Failure] = []
        errors = [re.compile(p, re.M) for p in self.vendor.error_patterns]
        for start in range(0, len(lines), BATCH):
            chunk = lines[start:start + BATCH]
            outputs = self._pipeline(chunk)
            for command, output in zip(chunk, outputs):
                if any(e.search(output) for e in errors):
                    failures.append(Failure(command, output.strip()))
            if failures:
                # The rest of this batch was already on its way; send no more, and leave the view.
                if start + BATCH < len(lines):
                    self.to_user_view()
                break
        return failures

    def _pipeline(self, chunk: list[str]) -> list[str]:
        ret = self.conn.RETURN
        self.conn.write_channel("".join(c + ret for c in chunk))
        buffer, deadline = "", time.monotonic() + self.timeout + 2 * len(chunk)
        while len(self.prompt.findall(buffer)) < len(chunk):
            if time.monotonic() > deadline:
                raise DeviceError(f"{self.host}: no prompt after {chunk[-1]!r} (timeout)")
            try:
                data = self.conn.read_channel()
            except Exception as exc:  # noqa: BLE001 - paramiko: OSError/EOFError on a dropped link
                raise DeviceError(f"{self.host}: connection lost during the push ({type(exc).__name__})") from None
            if not data:
                if not self.conn.remote_conn.get_transport() or not self.conn.remote_conn.get_transport().is_active() \
                        or self.conn.remote_conn.closed:
                    raise DeviceError(f"{self.host}: connection lost during the push")
                time.sleep(0.005)
            buffer += self.conn.strip_ansi_escape_codes(data)
        # One segment per command: its echo and output, up to the prompt that follows.
        segments, last = [], 0
        for match in list(self.prompt.finditer(buffer))[:len(chunk)]:
            segments.append(buffer[last:match.end()])
            last = match.end()
        return segments

    def save(self) -> str:
        """Save the running configuration, answering the vendor's confirmations."""
        self._need()
        out = ""
        for command in self.vendor.save:
            self.conn.write_channel(command + self.conn.RETURN)
            questions = {re.compile(q): a for q, a in self.vendor.confirmations.items()}
            deadline = time.monotonic() + 120
            seen = ""
            while time.monotonic() < deadline:
                seen += self.conn.read_until_pattern(
                    pattern="|".join([self.prompt.pattern, *self.vendor.confirmations]), read_timeout=120)
                tail = seen.splitlines()[-1] if seen.splitlines() else ""
                answer = next((a for q, a in questions.items() if q.search(tail)), None)
                if answer is not None:
                    self.conn.write_channel(answer + self.conn.RETURN)
                    seen += "\n"
                    continue
                if self.prompt.search(tail):
                    break
            out += seen
        if any(re.search(p, out, re.M) for p in self.vendor.error_patterns):
            raise DeviceError(f"{self.host}: save failed: {out.strip().splitlines()[-2:]}")
        return out

    def _need(self) -> None:
        if self.conn is None:
            raise DeviceError(f"{self.host}: no session")
