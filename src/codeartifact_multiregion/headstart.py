"""Connections opened ahead of the first request: during the resolve, or before it.

The first request to a region's index waits for a TCP (and TLS) handshake, a round trip
or two that need nothing but the repository URL. ``EarlyTransports`` opens them as soon
as each URL is known, while tokens are still being fetched. The TCP connects start even
before the HTTP stack is imported (``park``): the connection class takes a parked socket
(``take_parked``) and does the rest, TLS included, itself.

A publish can start sooner still. Between checking its file names and its first index
request it imports its HTTP stack, reads and hashes its files and fetches its tokens: a
few hundred milliseconds of CPU that need no network. ``HeadStart`` spends them waiting
for the network instead: a background thread asks each region for its repository URL
(GetRepositoryEndpoint, which needs no token) and opens its connections, and the run
then finds both ready (``Resolver.resolve``, ``engine.open_session``).

What a head start never does: fetch a token, send a request to an index, or report. A
failure is dropped and the run makes the call again the ordinary way, which reports it.
Only regions whose calls are signed here (``sigv4``) get one: botocore's start-up is CPU
of its own, which a thread would not overlap with anything.
"""

from __future__ import annotations

import os
import select
import socket
import threading
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import suppress
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .aws import Resolver
    from .config import Config, Target
    from .retry import RetryPolicy
    from .transport import Transport

# Connections a head start opens per region before the files are counted: a wheel and
# an sdist, the usual release. ``EarlyTransports.want`` raises it once they are.
HEAD_START_CONNECTIONS = 2


class EarlyTransports:
    """Each region's transport, opened as soon as its repository URL is known.

    Only a TCP (and TLS) handshake happens here: no request, no credentials, and the URL
    has passed ``aws._endpoint_url``'s checks. ``open`` may be called again for a region
    (by the head start, then by the resolve): it keeps the transport and opens only the
    connections still wanted.
    """

    def __init__(self, policy: RetryPolicy, pool_size: int, connections: int) -> None:
        self.policy = policy
        self.pool_size = pool_size
        self.connections = 1
        self.want(connections)
        self.transports: dict[Target, Transport] = {}
        self._opened: dict[Target, int] = {}
        self._lock = threading.Lock()

    def want(self, connections: int) -> None:
        """Open up to ``connections`` per region (never fewer than already asked for)."""
        self.connections = max(self.connections, 1, min(connections, self.pool_size))

    def open(self, target: Target, url: str) -> None:
        with self._lock:
            first = target not in self._opened
            self._opened.setdefault(target, 0)
        if first:  # TCP connects under way while the HTTP stack loads, below
            park(url, self.connections, self.policy.connect_timeout)
        # Imported here: in a head start, the HTTP stack loads in this background thread.
        from .transport import Transport

        with self._lock:
            transport = self.transports.get(target)
            if transport is None:
                transport = Transport(url, ("aws", ""), self.policy, self.pool_size)
                self.transports[target] = transport
            opened = self._opened.get(target, 0)
            more = max(self.connections - opened, 0)
            self._opened[target] = opened + more
        transport.warm(more)

    def close(self) -> None:
        with self._lock:
            transports = list(self.transports.values())
        for transport in transports:
            transport.close()
        close_parked()


class HeadStart:
    """A publish's repository URLs and connections, fetched while its files are read."""

    def __init__(self, config: Config, policy: RetryPolicy, resolver: Resolver) -> None:
        self.config = config
        self.policy = policy
        self.resolver = resolver
        self.early = EarlyTransports(policy, config.concurrency, HEAD_START_CONNECTIONS)

    def begin(self) -> HeadStart:
        """Start, in the background; returns at once."""
        self.resolver.prefetch_urls(self.config.targets, on_endpoint=self.early.open)
        return self

    def close(self) -> None:
        """Close the connections no session took over (a run that ended before one)."""
        self.early.close()


# --- parked sockets --------------------------------------------------------------------

_parked: dict[tuple[str, int], list[Future[socket.socket]]] = {}
_parked_lock = threading.Lock()


def park(url: str, count: int, timeout: float) -> None:
    """Start ``count`` TCP connects to ``url``'s host, for its connections to take.

    Nothing is sent on them. Not where a proxy would carry the requests: those go to the
    proxy, and a direct connect might not be allowed at all.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not host or count <= 0 or _proxied(parts.scheme, host):
        return
    futures: list[Future[socket.socket]] = [Future() for _ in range(count)]
    with _parked_lock:
        _parked.setdefault((host, port), []).extend(futures)
    for future in futures:
        try:
            threading.Thread(
                target=_connect,
                args=(host, port, timeout, future),
                daemon=True,
                name="park-connection",
            ).start()
        except RuntimeError:
            future.set_exception(OSError("no thread"))


def _connect(host: str, port: int, timeout: float, future: Future[socket.socket]) -> None:
    try:
        future.set_result(socket.create_connection((host, port), timeout))
    except BaseException as exc:  # the connection class connects (and reports) itself
        future.set_exception(exc)


def _proxied(scheme: str, host: str) -> bool:
    """Whether requests would send this through a proxy (``*_proxy`` variables, as
    ``urllib.request.getproxies`` reads them, and ``no_proxy``)."""
    wanted = {f"{scheme}_proxy", "all_proxy"}
    if not any(value for name, value in os.environ.items() if name.lower() in wanted):
        return False
    import urllib.request  # only with a proxy set: it loads much of the stdlib

    return not urllib.request.proxy_bypass(host)


def take_parked(host: str, port: int, timeout: float) -> socket.socket | None:
    """A parked, still open TCP connection to ``host:port``, or None (connect as usual).

    Waits at most ``timeout`` for one still connecting. A socket the peer already closed
    (readable while idle) is dropped, not handed out.
    """
    while True:
        with _parked_lock:
            waiting = _parked.get((host.lower(), port))
            if not waiting:
                return None
            future = waiting.pop(0)
        try:
            sock = future.result(timeout)
        except (Exception, FutureTimeout):
            continue
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            readable = [sock]
        if not readable:
            return sock
        sock.close()


def close_parked() -> None:
    """Close every parked socket no connection took (the run is over, or never needed it)."""
    with _parked_lock:
        futures = [f for waiting in _parked.values() for f in waiting]
        _parked.clear()
    for future in futures:
        future.add_done_callback(_close_result)


def _close_result(future: Future[socket.socket]) -> None:
    if future.exception() is None:
        with suppress(OSError):
            future.result().close()
