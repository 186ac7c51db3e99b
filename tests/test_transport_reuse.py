"""Connections to a repository are reused and opened ahead: fewer handshakes, nothing sent early.

Each handshake is a round trip to the region before a request's first byte, so these count
the TCP connections a local keep-alive server accepts (no clock involved).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from codeartifact_multiregion.retry import RetryPolicy
from codeartifact_multiregion.transport import Transport


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.accepted = 0
        self.requests: list[tuple[str, str | None]] = []  # (path, Authorization)
        self.lock = threading.Lock()
        self.changed = threading.Condition()

    def get_request(self):  # type: ignore[no-untyped-def]
        conn = super().get_request()
        with self.changed:
            self.accepted += 1
            self.changed.notify_all()
        return conn

    def wait_accepted(self, count: int) -> int:
        """The kernel completes a handshake before accept(): wait for the server to see it
        (a liveness bound, not a timing assertion)."""
        with self.changed:
            self.changed.wait_for(lambda: self.accepted >= count, timeout=10)
            return self.accepted


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server: _Server

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests.append((self.path, self.headers.get("Authorization")))
        body = b"<html>no such project</html>" if self.path.endswith("/missing/") else b"ok"
        self.send_response(404 if self.path.endswith("/missing/") else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _get(transport: Transport, url: str) -> int:
    with transport.open("GET", url) as response:
        return response.status_code  # body left unread, as the plan read does on a 404


def test_an_unread_404_leaves_its_connection_for_the_next_request(server: _Server) -> None:
    base = f"http://127.0.0.1:{server.server_port}/"
    transport = Transport(base, ("aws", "tok"), RetryPolicy())
    try:
        assert _get(transport, base + "simple/missing/") == 404
        assert _get(transport, base + "simple/missing/") == 404
        assert _get(transport, base + "simple/pkg/") == 200
    finally:
        transport.close()
    assert server.accepted == 1, "one handshake for the plan read and what follows"


def test_warmed_connections_carry_nothing_until_used_and_spare_a_handshake_each(
    server: _Server,
) -> None:
    base = f"http://127.0.0.1:{server.server_port}/"
    transport = Transport(base, ("aws", "tok"), RetryPolicy(), pool_size=4)
    try:
        for thread in transport.warm(2):
            thread.join(10)
        assert server.wait_accepted(2) == 2
        assert server.requests == [], "a warm-up sends no request and no credentials"
        # Two requests in flight at once, as two parallel uploads: both on warm connections.
        results: list[int] = []
        workers = [
            threading.Thread(target=lambda: results.append(_get(transport, base + "simple/pkg/")))
            for _ in range(2)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(10)
    finally:
        transport.close()
    assert results == [200, 200]
    # Every connection that carried a request was accepted before it was served.
    assert server.accepted == 2, "no new handshake beyond the warmed ones"
    assert all(auth and auth.startswith("Basic ") for _, auth in server.requests)
