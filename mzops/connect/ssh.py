"""One SSH execution on a host, with the connection settings Ansible would use.

The audit sends one script on stdin and reads one framed answer, so a host costs one
round trip whatever the number of rules. The ssh command is built from the asset's
Ansible variables (ansible_host/port/user, private key, ssh args, become) so that
ssh_config, jump hosts and ControlMaster behave as they do for the playbooks.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from mzops.secrets import Resolver

# ssh exits 255 for its own errors (connect, auth, host key); anything else is the
# remote command's exit code.
SSH_ERROR = 255


@dataclass
class Target:
    name: str
    host: str
    port: int | None = None
    user: str | None = None
    identity_file: str | None = None
    ssh_args: tuple[str, ...] = ()
    become: bool = False
    become_user: str = "root"
    # A private key resolved from a credential reference (mzops.secrets.Secret).
    key: Any = None

    @classmethod
    def from_vars(cls, name: str, hostvars: dict[str, Any]) -> Target:
        args: list[str] = []
        for key in ("ansible_ssh_args", "ansible_ssh_common_args", "ansible_ssh_extra_args"):
            if hostvars.get(key):
                args += shlex.split(str(hostvars[key]))
        port = hostvars.get("ansible_port") or hostvars.get("ansible_ssh_port")
        user = hostvars.get("ansible_user") or hostvars.get("ansible_ssh_user")
        become = hostvars.get("ansible_become", False)
        return cls(
            name=name,
            host=str(hostvars.get("ansible_host") or name),
            port=int(port) if port else None,
            user=str(user) if user else None,
            identity_file=hostvars.get("ansible_ssh_private_key_file")
            or hostvars.get("ansible_private_key_file"),
            ssh_args=tuple(args),
            become=str(become).lower() in ("1", "true", "yes") or become is True,
            become_user=str(hostvars.get("ansible_become_user") or "root"),
        )

    def argv(self, remote_command: str, connect_timeout: int = 10, options: tuple[str, ...] = ()) -> list[str]:
        # Options given first win over the inventory's ssh args and ssh_config.
        cmd = ["ssh", *options, *self.ssh_args, "-o", "BatchMode=yes", "-o", f"ConnectTimeout={connect_timeout}"]
        if self.user:
            cmd += ["-o", f"User={self.user}"]
        if self.port:
            cmd += ["-o", f"Port={self.port}"]
        if self.identity_file:
            cmd += ["-i", str(self.identity_file)]
        if self.become and self.user != self.become_user:
            # -n: never prompt. A password-requiring sudo fails clearly instead of hanging.
            remote_command = f"sudo -n -u {shlex.quote(self.become_user)} -- {remote_command}"
        return [*cmd, "--", self.host, remote_command]


class AgentError(Exception):
    pass


@contextmanager
def agent(key: Any) -> Iterator[dict[str, str] | None]:
    """A private ssh-agent holding the key (or list of keys) for one execution: each key
    goes from memory to the agent on stdin, never to a file or an argument."""
    keys = [k for k in (key if isinstance(key, (list, tuple)) else [key]) if k is not None]
    if not keys:
        yield None
        return
    folder = tempfile.mkdtemp(prefix="mzops-agent-")
    sock = os.path.join(folder, "agent.sock")
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.01)
        env = {**os.environ, "SSH_AUTH_SOCK": sock}
        for one in keys:
            material = one.reveal().strip() + "\n"
            added = subprocess.run(["ssh-add", "-q", "-"], input=material.encode(), env=env, capture_output=True)
            if added.returncode != 0:
                raise AgentError(f"credential {one.reference}: not a usable SSH private key")
        yield env
    finally:
        agent.kill()
        agent.wait()
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Execution:
    rc: int
    stdout: bytes
    stderr: str
    seconds: float

    @property
    def transport_failed(self) -> bool:
        return self.rc == SSH_ERROR


def run_script(target: Target, script: bytes, args: list[str], timeout: float = 300,
               compress: bool = False, options: tuple[str, ...] = ()) -> Execution:
    """Run a POSIX sh script read from stdin on the target: `sh -s -- ARGS`.

    With compress, the output comes back gzipped when the target has gzip: on a thin,
    distant link fewer bytes means fewer round trips of TCP slow start.
    """
    run = "/bin/sh -s -- " + " ".join(shlex.quote(a) for a in args)
    if compress:
        run = f"if command -v gzip >/dev/null 2>&1; then {run} | gzip -c; else {run}; fi"
    remote = "/bin/sh -c " + shlex.quote(run)
    start = time.monotonic()
    try:
        with agent(target.key) as env:
            proc = subprocess.run(target.argv(remote, options=options), input=script, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return Execution(SSH_ERROR, b"", f"no answer within {timeout:.0f} s", time.monotonic() - start)
    except AgentError as exc:
        return Execution(SSH_ERROR, b"", str(exc), time.monotonic() - start)
    stderr = proc.stderr.decode(errors="replace").strip()
    return Execution(proc.returncode, proc.stdout, stderr, time.monotonic() - start)


@contextmanager
def feed(target: Target, script: str, args: list[str]) -> Iterator[subprocess.Popen]:
    """Run a short sh script (in the command line: never a secret) on the target with a
    pipe to its standard input, for a stream it reads (a restore). The caller closes
    stdin and waits."""
    remote = "/bin/sh -c " + shlex.quote(script) + " sh " + " ".join(shlex.quote(a) for a in args)
    with agent(target.key) as env:
        proc = subprocess.Popen(target.argv(remote), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=env)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

def target_of(asset, resolver=None) -> Target:
    """The SSH target of an inventory asset, its key resolved from its `ssh` credential
    reference (held in memory only; see `agent`)."""
    target = Target.from_vars(asset.name, asset.vars)
    reference = asset.credentials.get("ssh")
    if reference:
        target.key = (resolver or Resolver()).resolve(reference)
    return target


@contextmanager
def stream(target: Target, script: bytes, args: list[str], options: tuple[str, ...] = ()
           ) -> Iterator[subprocess.Popen]:
    """Run a POSIX sh script on the target (`sh -s -- ARGS`) with its standard output as
    a pipe to read while it runs (a tar stream); stderr collected. The caller waits."""
    remote = "/bin/sh -s -- " + " ".join(shlex.quote(a) for a in args)
    with agent(target.key) as env:
        proc = subprocess.Popen(target.argv(remote, options=options), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        try:
            proc.stdin.write(script)
            proc.stdin.close()
            yield proc
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
