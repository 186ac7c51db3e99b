"""A hostile region: a small threaded HTTP server that lies to the client on purpose.

It stands where the control plane says the region's repository is. Every request it gets
is recorded with its ``Authorization`` header, so a test can prove which origin saw the
token. By default it forwards to a real region's pypiserver (uploads land, pages list what
is there); on top of that it can

- add crafted links to every ``/simple/<pkg>/`` page (``links``) or replace the page
  outright (``page``),
- answer chosen paths itself (``routes``): bytes, a redirect, a trickle of one byte at a
  time, an endless (chunked) or over-declared body, a status with a chosen reason phrase.

Without an upstream it is the "elsewhere" server: another port that only records whether a
credential ever reached it.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

Responder = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class Request:
    method: str
    path: str
    authorization: str | None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class HostileIndex:
    """``with HostileIndex(upstream_port) as bad:`` then route a region to ``bad.url``."""

    def __init__(self, upstream_port: int | None = None) -> None:
        self.upstream_port = upstream_port
        self.links: list[str] = []  # raw <a> elements added to every project page
        self.page: bytes | None = None  # replaces every project page when set
        self.routes: dict[str, Responder] = {}  # raw request path -> responder
        self.log: list[Request] = []
        self.sent: dict[str, int] = {}  # raw path -> body bytes a responder wrote
        self._lock = threading.Lock()
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                hostile._serve(self)

            def do_POST(self) -> None:
                hostile._serve(self)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.url = self.origin + "/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> HostileIndex:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # what it saw ------------------------------------------------------------

    def requests(self, method: str | None = None, prefix: str = "") -> list[Request]:
        with self._lock:
            return [r for r in self.log if method in (None, r.method) and r.path.startswith(prefix)]

    def credentials_seen(self) -> list[Request]:
        """Requests that carried any Authorization header."""
        return [r for r in self.requests() if r.authorization]

    def wait_for(self, method: str, prefix: str = "", n: int = 1, timeout: float = 60) -> None:
        """Block until ``n`` matching requests arrived (a hang guard, not a timing claim)."""
        deadline = time.monotonic() + timeout
        while len(self.requests(method, prefix)) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{n} x {method} {prefix} not seen: {self.requests()}")
            time.sleep(0.01)

    # serving ----------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path
        with self._lock:
            self.log.append(Request(handler.command, path, handler.headers.get("Authorization")))
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        responder = self.routes.get(path)
        if responder is not None:
            responder(handler)
            return
        is_page = handler.command == "GET" and path.startswith("/simple/") and path.count("/") == 3
        if is_page and self.page is not None:
            respond(handler, 200, self.page, content_type="text/html")
            return
        if self.upstream_port is None:
            respond(handler, 404, b"not here\n")
            return
        status, reason, headers, payload = self._forward(handler, body)
        if is_page and status == 404 and self.links:  # an empty region lists only the links
            status, reason, payload = 200, "OK", b"<html><body>\n</body></html>"
            headers = {"Content-Type": "text/html"}
        if is_page and status == 200 and self.links:
            extra = "\n".join(self.links).encode("utf-8", "surrogateescape")
            payload = (
                payload.replace(b"</body>", extra + b"\n</body>")
                if b"</body>" in payload
                else payload + extra
            )
        respond(handler, status, payload, reason=reason, headers=headers)

    def _forward(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, str, dict[str, str], bytes]:
        assert self.upstream_port is not None
        upstream = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        try:
            headers = {
                k: v
                for k, v in handler.headers.items()
                if k.lower() not in ("host", "connection", "accept-encoding")
            }
            upstream.request(handler.command, handler.path, body=body, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
            keep = {
                k: v
                for k, v in response.getheaders()
                if k.lower() in ("content-type", "location", "www-authenticate")
            }
            return response.status, response.reason, keep, payload
        finally:
            upstream.close()

    def count_sent(self, path: str, n: int) -> None:
        with self._lock:
            self.sent[path] = self.sent.get(path, 0) + n


def respond(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    *,
    reason: str = "",
    content_type: str = "application/octet-stream",
    headers: dict[str, str] | None = None,
    declared: int | None = None,
) -> None:
    """Answer with ``body``; ``declared`` claims another Content-Length than its size."""
    head = [
        f"HTTP/1.1 {status} {reason or http.client.responses.get(status, '')}",
        f"Content-Length: {len(body) if declared is None else declared}",
        f"Content-Type: {content_type}",
    ]
    head += [f"{k}: {v}" for k, v in (headers or {}).items() if k.lower() != "content-type"]
    with contextlib.suppress(OSError):
        handler.wfile.write(
            ("\r\n".join(head) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body
        )
        handler.wfile.flush()
    if declared is not None and declared != len(body):
        handler.close_connection = True


# responders ----------------------------------------------------------------------------


def serve(body: bytes, **kwargs: object) -> Responder:
    return lambda handler: respond(handler, 200, body, **kwargs)  # type: ignore[arg-type]


def status(code: int, reason: str, body: bytes = b"") -> Responder:
    """Any status with a reason phrase of the server's choosing (control characters too)."""
    return lambda handler: respond(handler, code, body, reason=reason, content_type="text/html")


def redirect(code: int, location: str) -> Responder:
    return lambda handler: respond(handler, code, b"", headers={"Location": location})


def trickle(body: bytes, every: float, content_type: str = "text/html") -> Responder:
    """Send ``body`` one byte per ``every`` seconds: each byte restarts a read timeout."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n"
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        try:
            handler.wfile.write(head)
            handler.wfile.flush()
            for i in range(len(body)):
                handler.wfile.write(body[i : i + 1])
                handler.wfile.flush()
                time.sleep(every)
        except OSError:
            pass
        handler.close_connection = True

    return answer


def endless(
    index: HostileIndex,
    path: str,
    limit: int,
    chunk: int = 1 << 20,
    fill: bytes = b" ",
    content_type: str = "text/html",
) -> Responder:
    """A chunked body of up to ``limit`` bytes (no Content-Length): bytes sent are counted."""
    block = (fill * (chunk // len(fill) + 1))[:chunk]

    def answer(handler: BaseHTTPRequestHandler) -> None:
        head = (
            f"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: {content_type}\r\n\r\n"
        ).encode()
        try:
            handler.wfile.write(head)
            sent = 0
            while sent < limit:
                handler.wfile.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")
                sent += len(block)
                index.count_sent(path, len(block))
            handler.wfile.write(b"0\r\n\r\n")
            handler.wfile.flush()
        except OSError:
            pass
        handler.close_connection = True

    return answer


def partial(body: bytes, upto: int, hold: float) -> Responder:
    """Declare all of ``body``, send ``upto`` bytes, then hold the connection ``hold`` s."""

    def answer(handler: BaseHTTPRequestHandler) -> None:
        head = (
            f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n"
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        try:
            handler.wfile.write(head + body[:upto])
            handler.wfile.flush()
            time.sleep(hold)
        except OSError:
            pass
        handler.close_connection = True

    return answer
