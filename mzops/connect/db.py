"""Database access over the databases' own protocols, with read-only credentials.

A database behind its server host is reached through an SSH tunnel over that host
(ssh -L to its loopback port), the way a DBA reaches it through a bastion; one on its
own address is reached directly. Queries return rows as the same text sections the
host collector produces, so both paths feed the same pure normalisers.
"""

from __future__ import annotations

import socket
import subprocess
import time
from contextlib import contextmanager
from typing import Iterator

from mzops import engines
from mzops.bundle import Bundle
from mzops.connect import ssh

DatabaseError = engines.DatabaseError


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def tunnel(via: ssh.Target, port: int, timeout: float = 15) -> Iterator[tuple[str, int]]:
    """A local port forwarded to 127.0.0.1:PORT on the server host, for one check."""
    local = _free_port()
    argv = via.argv("", connect_timeout=10)[:-1]  # drop the (empty) remote command
    argv[1:1] = ["-N", "-o", "ExitOnForwardFailure=yes", "-o", "ControlMaster=no", "-o", "ControlPath=none",
                 "-L", f"127.0.0.1:{local}:127.0.0.1:{port}"]
    with ssh.agent(via.key) as env:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=env)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise DatabaseError(f"ssh tunnel through {via.name} failed: "
                                        f"{proc.stderr.read().decode(errors='replace').strip()[-200:]}")
                try:
                    socket.create_connection(("127.0.0.1", local), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise DatabaseError(f"ssh tunnel through {via.name}: no forward after {timeout:.0f} s")
                    time.sleep(0.05)
            yield "127.0.0.1", local
        finally:
            proc.terminate()
            proc.wait(timeout=5)


def read(engine: engines.Engine, host: str, port: int, user: str, password: str, name: str,
         queries: dict[str, str], tunnelled: bool = False) -> Bundle:
    """Run named queries over one read-only connection of ENGINE's protocol, one round
    trip per query; a query the server refuses (no privilege, not this flavour) becomes
    a section with its error and a non-zero rc, as in the host collector. A direct
    connection requires TLS (the password crosses the network); through an SSH tunnel
    TLS is used when the server offers it."""
    started = time.monotonic()
    sections = engine.read(host, port, user, password, queries, tunnelled)
    return Bundle(name, "", sections, time.monotonic() - started)
