#!/usr/bin/env python3
"""SSH servers on loopback that answer mzops's collector with a recorded fact bundle.

For the fleet bench: thousands of hosts cannot run here, but what the control node
does for each one can: an SSH login (real key exchange and public-key authentication,
asyncssh's server), the collector script sent on stdin, an answer in the collector's
framing ("NONCE BEGIN name", base64, "NONCE END name rc"; gzipped when the command
asks for it), after LATENCY seconds that stand in for the link. Each address serves one
recorded bundle; the nonce is taken from the command mzops sends, as a real host's
`sh -s -- NONCE ...` would.

    python3 fleet_replay.py --map MAP.json --host-key KEY --authorized-keys PUB \
        --latency 0.1 --ready FILE

MAP.json: {"127.1.0.1:2222": "bundles/host-a.json", ...}. The servers stop when stdin
closes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gzip
import json
import re
import sys
from pathlib import Path

import asyncssh

NONCE = re.compile(r"-s -- '?(MZ[0-9a-f]{16})")


def framed(bundle: dict, nonce: str) -> bytes:
    """The collector's output for the recorded sections (collect_linux.sh, `emit`)."""
    out = []
    for name, section in bundle["sections"].items():
        out.append(f"{nonce} BEGIN {name}\n".encode())
        out.append(base64.encodebytes(base64.b64decode(section["b64"])))
        out.append(f"{nonce} END {name} {section['rc']}\n".encode())
    return b"".join(out)


async def serve(ports: dict[tuple[str, int], dict], host_key: str, authorized: str, latency: float, ready: Path) -> None:
    async def answer(process: asyncssh.SSHServerProcess, bundle: dict) -> None:
        command = process.command or ""
        found = NONCE.search(command)
        await process.stdin.read()            # the collector script, to its end
        await asyncio.sleep(latency)
        if not found:
            process.stderr.write(b"replay: not a collector command\n")
            process.exit(2)
            return
        data = framed(bundle, found.group(1))
        process.stdout.write(gzip.compress(data, 6) if "gzip -c" in command else data)
        process.exit(0)

    servers = []
    for (host, port), bundle in ports.items():
        servers.append(await asyncssh.create_server(
            asyncssh.SSHServer, host, port, server_host_keys=[host_key], authorized_client_keys=authorized,
            process_factory=lambda p, b=bundle: answer(p, b), encoding=None, allow_scp=False,
            keepalive_interval=0, reuse_address=True, backlog=512))
    ready.write_text(str(len(servers)))
    loop = asyncio.get_running_loop()
    closed = asyncio.Event()
    loop.add_reader(sys.stdin.fileno(), lambda: closed.set() if not sys.stdin.buffer.read1(1) else None)
    await closed.wait()
    for server in servers:
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--map", required=True, type=Path)
    parser.add_argument("--host-key", required=True)
    parser.add_argument("--authorized-keys", required=True)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--ready", required=True, type=Path)
    args = parser.parse_args()
    cache: dict[str, dict] = {}
    ports = {}
    for where, path in json.loads(args.map.read_text()).items():
        if path not in cache:
            cache[path] = json.loads(Path(path).read_text())
        host, port = where.rsplit(":", 1)
        ports[(host, int(port))] = cache[path]
    asyncio.run(serve(ports, args.host_key, args.authorized_keys, args.latency, args.ready))


if __name__ == "__main__":
    main()
