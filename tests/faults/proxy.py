"""A fault-injecting HTTP proxy in front of one local region (loopback only).

It speaks just enough HTTP/1.1 (Content-Length bodies, keep-alive) to sit between
the publisher and a pypiserver and misbehave on purpose, per request or per N-th
request: answer 5xx, answer 429 with Retry-After, reset the connection mid-upload,
stall past the client's read timeout, delay, or forward the upload and then drop
the response (the file landed but the client never heard).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

PASS, STATUS, RESET, STALL, DELAY, DROP_RESPONSE, GARBLE = (
    "pass",
    "status",
    "reset",
    "stall",
    "delay",
    "drop-response",
    "garble",
)
ACTIONS = frozenset({PASS, STATUS, RESET, STALL, DELAY, DROP_RESPONSE, GARBLE})


@dataclass
class Rule:
    """Misbehave on matching requests: the ``skip`` first ones pass, then ``times`` misbehave.

    Rules are tried in the order they were added and the first that fires wins, so a
    rule only counts (``seen``) the matching requests no earlier rule consumed.

    ``status``: answer ``status`` (with ``retry_after`` and ``body``) without forwarding.
    ``reset``: read half the body, then RST. ``stall``: read the body, sleep ``seconds``,
    then RST without forwarding. ``delay``: sleep ``seconds``, then forward. ``drop-response``:
    forward (the upload lands), then RST instead of answering. ``garble``: answer 200 with
    a body that claims gzip but is not. ``pass``: forward unchanged (with ``before``, a hook).
    ``before`` runs when the rule fires, before the action (rotate a token, race an upload).
    """

    action: str
    method: str | None = None  # "POST" for uploads, "GET" for index reads
    path_prefix: str = ""
    status: int = 503
    retry_after: str | None = None
    seconds: float = 0.0
    skip: int = 0
    times: int = 1  # 0: forever
    body: bytes = b"injected fault\n"
    before: Callable[[], None] | None = field(default=None, repr=False)
    seen: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}; one of {sorted(ACTIONS)}")

    def take(self, method: str, path: str) -> bool:
        if self.method and method != self.method:
            return False
        if not path.startswith(self.path_prefix):
            return False
        self.seen += 1
        if self.seen <= self.skip or (self.times and self.fired >= self.times):
            return False
        self.fired += 1
        return True


@dataclass
class Seen:
    method: str
    path: str
    action: str
    at: float


class FaultProxy:
    """``with FaultProxy(upstream_port) as proxy:`` then point the endpoint at ``proxy.url``."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream = (upstream_host, upstream_port)
        self.rules: list[Rule] = []
        self.log: list[Seen] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                proxy._serve(self.connection, self.rfile)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()
            self.log.clear()

    def count(self, method: str, action: str | None = None) -> int:
        return len(self.seen(method, action))

    def seen(self, method: str | None = None, action: str | None = None) -> list[Seen]:
        with self._lock:
            return [
                s for s in self.log if method in (None, s.method) and action in (None, s.action)
            ]

    def wait_for(
        self, method: str, action: str | None = None, n: int = 1, timeout: float = 30.0
    ) -> None:
        """Block until ``n`` matching requests have arrived (for killing a client mid-upload)."""
        deadline = time.monotonic() + timeout
        while self.count(method, action) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{n} x {method} {action or ''} not seen in {timeout}s: {self.seen()}"
                )
            time.sleep(0.01)

    # serving ---------------------------------------------------------------

    def _pick(self, method: str, path: str) -> Rule | None:
        with self._lock:
            for rule in self.rules:
                if rule.take(method, path):
                    return rule
        return None

    def _serve(self, conn: socket.socket, rfile: Callable | object) -> None:
        while True:
            request = _read_head(rfile)
            if request is None:
                return
            method, path, _version, headers = request
            length = int(headers.get("content-length", "0") or 0)
            rule = self._pick(method, path)
            action = rule.action if rule else PASS
            with self._lock:
                self.log.append(Seen(method, path, action, time.monotonic()))
            if rule is not None and rule.before is not None:
                rule.before()
            if action == RESET:
                rfile.read(min(length, max(length // 2, 1)))  # type: ignore[attr-defined]
                _reset(conn)
                return
            body = rfile.read(length) if length else b""  # type: ignore[attr-defined]
            if action == STALL:
                time.sleep(rule.seconds)  # type: ignore[union-attr]
                _reset(conn)
                return
            if action == DELAY:
                time.sleep(rule.seconds)  # type: ignore[union-attr]
            if action == STATUS:
                extra = {"Retry-After": rule.retry_after} if rule.retry_after else {}  # type: ignore[union-attr]
                _respond(conn, rule.status, rule.body, extra)  # type: ignore[union-attr]
                continue
            if action == GARBLE:
                _respond(
                    conn,
                    200,
                    b"\x00not gzip at all\xff" * 8,
                    {"Content-Encoding": "gzip", "Content-Type": "text/html"},
                )
                continue
            try:
                status, reason, out_headers, payload = self._forward(method, path, headers, body)
            except OSError as exc:  # the region itself is down: say so, as a gateway would
                status, reason, out_headers = 502, "Bad Gateway", {}
                payload = f"upstream unreachable: {type(exc).__name__}\n".encode()
            if action == DROP_RESPONSE:
                _reset(conn)
                return
            _respond(conn, status, payload, out_headers, reason)
            if headers.get("connection", "").lower() == "close":
                return

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, str, dict[str, str], bytes]:
        upstream = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            sent = {k: v for k, v in headers.items() if k not in ("connection", "host")}
            sent["Host"] = f"{self.upstream[0]}:{self.upstream[1]}"
            upstream.request(method, path, body=body, headers=sent)
            response = upstream.getresponse()
            payload = response.read()
            keep = {
                k: v
                for k, v in response.getheaders()
                if k.lower() not in ("content-length", "transfer-encoding", "connection")
            }
            return response.status, response.reason, keep, payload
        finally:
            upstream.close()


def _read_head(rfile: object) -> tuple[str, str, str, dict[str, str]] | None:
    try:
        line = rfile.readline(65537)  # type: ignore[attr-defined]
    except (ConnectionError, OSError):
        return None
    if not line or not line.strip():
        return None
    method, path, version = line.decode("latin-1").strip().split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        raw = rfile.readline(65537)  # type: ignore[attr-defined]
        if raw in (b"\r\n", b"\n", b""):
            break
        key, _, value = raw.decode("latin-1").partition(":")
        headers[key.strip().lower()] = value.strip()
    return method, path, version, headers


def _respond(
    conn: socket.socket,
    status: int,
    body: bytes,
    headers: dict[str, str],
    reason: str | None = None,
) -> None:
    reason = reason or http.client.responses.get(status, "")
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    with contextlib.suppress(OSError):
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def _reset(conn: socket.socket) -> None:
    """Close with RST, as a dropped connection or a crashed load balancer would."""
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    except OSError:
        pass
