"""A loopback "WAN" for benchmarks: an asyncio TCP proxy with delay and bandwidth per region.

The kernel here has no netem, so each region's link is emulated in user space:

* a connection first waits one RTT (the TCP handshake a real client pays before its
  first byte), then every chunk travels with RTT/2 of delay in each direction;
* each direction of a region is one token bucket shared by all connections to that
  region (a link, not a per-connection cap): parallel uploads to one region share it;
* bandwidth is applied where bytes enter the link (the proxy stops reading when the
  bucket is empty, so the sender sees TCP back-pressure, as on a real bottleneck),
  then the chunk propagates for RTT/2 before it is written out.

Not modelled: loss, TCP slow start, TLS handshakes. It runs in its own process
(``python bench/netem.py SPEC_JSON``) so its CPU does not share the GIL with
whatever is being measured; it prints one ``READY {name: port}`` line on stdout.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from dataclasses import dataclass

CHUNK = 64 * 1024
LISTEN = "127.0.0.1"


class Bucket:
    """A token bucket in bytes/s; ``burst`` bytes may pass at once after an idle spell."""

    def __init__(self, rate: float, burst: int = CHUNK) -> None:
        self.rate = rate
        self.burst = max(burst, CHUNK)
        self.tokens = float(self.burst)
        self.stamp = time.monotonic()
        self.lock = asyncio.Lock()

    async def take(self, n: int) -> None:
        if self.rate <= 0:
            return
        async with self.lock:  # FIFO between the connections sharing this link
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            self.tokens -= n
            if self.tokens < 0:
                wait = -self.tokens / self.rate
                await asyncio.sleep(wait)
                self.tokens = 0.0
                self.stamp = time.monotonic()


@dataclass
class Link:
    name: str
    upstream_port: int
    rtt_ms: float
    mbit: float  # per direction; 0 = unlimited

    def __post_init__(self) -> None:
        rate = self.mbit * 1e6 / 8
        self.up = Bucket(rate)
        self.down = Bucket(rate)
        self.one_way = self.rtt_ms / 2000.0


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, bucket: Bucket, delay: float
) -> None:
    """Copy reader -> writer through the bucket, then RTT/2 of propagation delay."""
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def pump() -> None:
        try:
            while True:
                data = await reader.read(CHUNK)
                if not data:
                    break
                await bucket.take(len(data))
                await queue.put((time.monotonic() + delay, data))
        except (ConnectionError, OSError):
            pass
        await queue.put((time.monotonic() + delay, b""))

    async def deliver() -> None:
        try:
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass

    await asyncio.gather(pump(), deliver())


async def _serve(
    link: Link, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
) -> None:
    try:
        await asyncio.sleep(2 * link.one_way)  # SYN / SYN-ACK before the first byte
        up_r, up_w = await asyncio.open_connection(LISTEN, link.upstream_port)
    except OSError:
        client_w.close()
        return
    try:
        await asyncio.gather(
            _pipe(client_r, up_w, link.up, link.one_way),
            _pipe(up_r, client_w, link.down, link.one_way),
        )
    finally:
        for w in (up_w, client_w):
            w.close()


async def main(spec: list[dict]) -> None:
    links = [Link(**item) for item in spec]
    servers, ports = [], {}
    for link in links:
        server = await asyncio.start_server(
            lambda r, w, link=link: _serve(link, r, w), LISTEN, 0, backlog=256
        )
        servers.append(server)
        ports[link.name] = server.sockets[0].getsockname()[1]
    print("READY " + json.dumps(ports), flush=True)
    await asyncio.Event().wait()  # until SIGTERM ends the process


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # no KeyboardInterrupt traceback either
    asyncio.run(main(json.loads(sys.argv[1])))
