"""A forward HTTP proxy on 127.0.0.1 that records what it is asked for (loopback only).

What a client sends to a proxy names where it wanted to go: ``GET http://host:port/path``
for plain http, ``CONNECT host:443`` for https. ``seen`` keeps those request lines, so a
test can tell which endpoint a client chose (botocore's FIPS host, say) without anything
leaving the machine: every CONNECT, and any target that is not loopback, is refused (403).
Plain-http requests to loopback are forwarded and the answer relayed as it arrives, byte
by byte if the server trickles, so a client's deadline is tested behind the proxy too.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

from codeartifact_multiregion.aws.resolver import is_loopback
from tests.helpers import LoopbackTCP


class ForwardProxy(LoopbackTCP):
    """``with ForwardProxy() as proxy:``, then ``HTTPS_PROXY``/``HTTP_PROXY`` = ``proxy.url``."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []
        self._lock = threading.Lock()
        self.url = f"http://127.0.0.1:{self.port}"

    def requests(self) -> list[str]:
        with self._lock:
            return list(self.seen)

    def serve(self, client: socket.socket, rfile: Any) -> None:
        line = rfile.readline(65537).decode("latin-1").strip()
        headers = []
        while True:
            raw = rfile.readline(65537)
            if raw in (b"\r\n", b"\n", b""):
                break
            headers.append(raw.decode("latin-1").rstrip("\r\n"))
        if not line:
            return
        with self._lock:
            self.seen.append(line.rsplit(" ", 1)[0])
        method, target = line.split(" ")[:2]
        parts = urlsplit(target)
        if method == "CONNECT" or parts.scheme != "http" or not is_loopback(parts.hostname or ""):
            with contextlib.suppress(OSError):
                client.sendall(
                    b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
            return
        kept = [
            h
            for h in headers
            if h.split(":", 1)[0].lower() not in ("proxy-connection", "connection", "keep-alive")
        ]
        head = "\r\n".join(
            [
                f"{method} {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1",
                *kept,
                "Connection: close",
                "",
                "",
            ]
        ).encode("latin-1")
        length = next(
            (int(h.split(":", 1)[1]) for h in headers if h.lower().startswith("content-length:")), 0
        )
        with socket.create_connection((parts.hostname, parts.port or 80), 10) as upstream:
            upstream.sendall(head + (rfile.read(length) if length else b""))
            _relay(upstream, client)


def _relay(upstream: socket.socket, client: socket.socket) -> None:
    """Pass the answer on as it arrives, until either side closes."""
    with contextlib.suppress(OSError):
        while True:
            chunk = upstream.recv(65536)
            if not chunk:
                return
            client.sendall(chunk)
