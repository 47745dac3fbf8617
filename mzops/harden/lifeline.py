"""An SSH master connection opened before a change and held while it runs.

If the change breaks new logins (sshd, PAM), commands still pass through the
already-authenticated master, so the saved state can be put back. `fresh_login`
proves the opposite case: a brand-new connection, through the new configuration.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from mzops.connect import ssh


class LifelineError(Exception):
    pass


class Lifeline:
    def __init__(self, target: ssh.Target):
        self.target = target
        # A short path: unix sockets are limited to ~100 bytes.
        self._folder = Path(tempfile.mkdtemp(prefix="mzl-"))
        self.socket = self._folder / "m"
        self._master: subprocess.Popen | None = None

    def _via_master(self) -> tuple[str, ...]:
        return ("-o", "ControlMaster=no", "-o", f"ControlPath={self.socket}")

    def open(self, timeout: float = 20) -> None:
        options = ("-N", "-o", "ControlMaster=yes", "-o", f"ControlPath={self.socket}", "-o", "ControlPersist=no")
        with ssh.agent(self.target.key) as env:
            self._master = subprocess.Popen(self.target.argv("true", options=options), env=env,
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.PIPE)
            deadline = time.monotonic() + timeout
            while not self.socket.exists():
                if self._master.poll() is not None or time.monotonic() > deadline:
                    message = (self._master.stderr.read() or b"").decode(errors="replace").strip() \
                        if self._master.poll() is not None else f"no master connection within {timeout:.0f} s"
                    self.close()
                    raise LifelineError(message or "ssh master connection failed")
                time.sleep(0.05)

    def run(self, script: bytes, args: list[str], timeout: float = 300) -> ssh.Execution:
        return ssh.run_script(self.target, script, args, timeout=timeout, options=self._via_master())

    def fresh_login(self, timeout: float = 30) -> ssh.Execution:
        """A new TCP connection and authentication (and sudo, if the asset becomes root)."""
        options = ("-o", "ControlMaster=no", "-o", "ControlPath=none")
        return ssh.run_script(self.target, b"id -u\n", [], timeout=timeout, options=options)

    def close(self) -> None:
        if self._master is not None:
            if self._master.poll() is None:
                subprocess.run(["ssh", "-o", f"ControlPath={self.socket}", "-O", "exit", self.target.host],
                               capture_output=True, timeout=10)
                try:
                    self._master.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._master.kill()
                    self._master.wait()
            if self._master.stderr:
                self._master.stderr.close()
            self._master = None
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> Lifeline:
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
