"""SSH servers (asyncssh) in front of simulated devices: one listening port per device
on loopback, password logins, a PTY shell whose lines go to the device's CLI.

    with Simulators() as sims:
        port = sims.add(Device.from_text(HUAWEI, "fw1", {"mzops": "pw"}, text))

Also runnable for a demo or a benchmark:
    python -m tests.fwsim.server --vendor huawei_usg --port 2201 [--config FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import threading
from pathlib import Path

import asyncssh

from tests.fwsim.device import Closed, Device, Session
from tests.fwsim.dialects import DIALECTS


class _Server(asyncssh.SSHServer):
    def __init__(self, device: Device):
        self.device = device

    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return self.device.can_login(username, password)


async def _shell(device: Device, process: asyncssh.SSHServerProcess) -> None:
    device.sessions += 1
    session = Session(device)
    process.stdout.write(session.banner())
    try:
        while True:
            line = await process.stdin.readline()
            if not line:
                break
            try:
                out = session.feed(line.rstrip("\r\n"))
            except Closed as closed:
                if closed.abrupt:
                    # A dropped link: no goodbye, the transport just goes.
                    process.channel.get_connection().abort()
                    return
                process.stdout.write(str(closed))
                break
            process.stdout.write(out if out.startswith("\n") else "\n" + out)
    except (asyncssh.BreakReceived, asyncssh.TerminalSizeChanged, ConnectionError):
        pass
    process.exit(0)


class Simulators:
    """Simulated devices served on 127.0.0.1 from a background event loop."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.servers: list[asyncssh.SSHAcceptor] = []
        self.key = asyncssh.generate_private_key("ssh-ed25519")

    def __enter__(self) -> Simulators:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add(self, device: Device, port: int = 0, host: str | None = None) -> int:
        async def start() -> asyncssh.SSHAcceptor:
            return await asyncssh.create_server(
                lambda: _Server(device), host or self.host, port, server_host_keys=[self.key],
                process_factory=lambda p: _shell(device, p), line_editor=True, line_echo=True,
                keepalive_interval=0)
        server = asyncio.run_coroutine_threadsafe(start(), self.loop).result(10)
        self.servers.append(server)
        return server.sockets[0].getsockname()[1]

    def close(self) -> None:
        async def stop() -> None:
            for server in self.servers:
                server.close()
                await server.wait_closed()
        if self.thread.is_alive():
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve one simulated firewall over SSH on loopback.")
    parser.add_argument("--vendor", required=True, choices=sorted(DIALECTS))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--hostname", default="fw-sim")
    parser.add_argument("--user", default="mzops")
    parser.add_argument("--password", default="mzops-sim")
    parser.add_argument("--config", type=Path)
    args = parser.parse_args()
    text = args.config.read_text() if args.config else ""
    device = Device.from_text(DIALECTS[args.vendor], args.hostname, {args.user: args.password}, text)
    with Simulators() as sims:
        sims.add(device, args.port)
        print(f"{args.vendor} simulator on 127.0.0.1:{args.port}", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
