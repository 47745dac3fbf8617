"""A TCP relay that adds latency, standing in for a satellite link (no netem here).

Each chunk is forwarded `delay/2` seconds after it arrived, in each direction, so the
round trip grows by `delay` while throughput is kept. Run it inside the lab control
namespace (`ip netns exec mzl-ctl python3 delay_relay.py ...`); it listens on
loopback there and stops by itself after --lifetime seconds.

    python3 delay_relay.py --listen 127.0.0.1:2222 --target 10.77.3.11:22 --rtt 0.3
"""

from __future__ import annotations

import argparse
import asyncio
import time


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, one_way: float) -> None:
    queue: asyncio.Queue = asyncio.Queue()

    async def receive() -> None:
        while True:
            data = await reader.read(65536)
            await queue.put((time.monotonic(), data))
            if not data:
                return

    async def send() -> None:
        while True:
            arrived, data = await queue.get()
            wait = arrived + one_way - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    await asyncio.gather(receive(), send())


async def main(listen: str, target: str, rtt: float, lifetime: float) -> None:
    host, port = target.rsplit(":", 1)
    one_way = rtt / 2

    async def handle(client_reader, client_writer):
        server_reader, server_writer = await asyncio.open_connection(host, int(port))
        try:
            await asyncio.gather(pump(client_reader, server_writer, one_way),
                                 pump(server_reader, client_writer, one_way))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            for w in (client_writer, server_writer):
                w.close()

    lhost, lport = listen.rsplit(":", 1)
    server = await asyncio.start_server(handle, lhost, int(lport))
    async with server:
        await asyncio.sleep(lifetime)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--rtt", type=float, default=0.3)
    parser.add_argument("--lifetime", type=float, default=300)
    args = parser.parse_args()
    asyncio.run(main(args.listen, args.target, args.rtt, args.lifetime))
