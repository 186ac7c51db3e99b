"""Transport against tiny local servers: where credentials go, redirects, caps, deadlines.

Each server records what it was sent; the assertions are about what a remote party saw
(an Authorization header or none) and which outcome the client reported, never how long
anything took.
"""

from __future__ import annotations

import base64
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from codeartifact_multiregion.transport import (
    MAX_REDIRECTS,
    BodyTooLarge,
    DeadlineExceeded,
    RedirectRefused,
    Transport,
    origin_of,
)
from tests.helpers import FAST, LoopbackServer, QuietHandler

AUTH = ("aws", "tok-TRANSPORT-5150")
BASIC = "Basic " + base64.b64encode(b"aws:tok-TRANSPORT-5150").decode()


class Server(LoopbackServer):
    """A loopback HTTP(S) server; ``seen`` holds (path, Authorization or None) per request."""

    def __init__(self, context: ssl.SSLContext | None = None) -> None:
        self.seen: list[tuple[str, str | None]] = []
        server = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:
                server.seen.append((self.path, self.headers.get("Authorization")))
                path, query = self.path.split("?", 1) if "?" in self.path else (self.path, "")
                args = {k: v[0] for k, v in parse_qs(query).items()}
                getattr(self, "serve_" + path.strip("/"), self.serve_ok)(args)

            do_POST = do_GET

            def serve_ok(self, args: dict[str, str]) -> None:
                self.reply(200, b"hello")

            def serve_redirect(self, args: dict[str, str]) -> None:
                self.send_response(int(args.get("status", "302")))
                self.send_header("Location", args["to"])
                self.send_header("Content-Length", "0")
                self.end_headers()

            def serve_loop(self, args: dict[str, str]) -> None:
                self.serve_redirect({"to": "/loop"})

            def serve_declared(self, args: dict[str, str]) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                self.wfile.write(b"x" * 10)  # the declared size alone must refuse it

            def serve_undeclared(self, args: dict[str, str]) -> None:
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b"x" * 100_000)
                self.close_connection = True

            def serve_trickle(self, args: dict[str, str]) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "600")
                self.end_headers()
                try:
                    for _ in range(600):  # a byte at a time: the read timeout never fires
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(0.05)
                except OSError:
                    pass  # the client shut the socket: its deadline passed

        super().__init__(Handler, context)


@pytest.fixture
def home() -> Iterator[Server]:
    server = Server()
    yield server
    server.close()


@pytest.fixture
def other() -> Iterator[Server]:
    server = Server()
    yield server
    server.close()


@pytest.fixture
def secure(certificate: tuple[Path, Path]) -> Iterator[Server]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server = Server(context)
    yield server
    server.close()


def transport(base: str, **policy: float) -> Transport:
    from dataclasses import replace

    return Transport(base, AUTH, replace(FAST, **policy))


def get(t: Transport, url: str, limit: int = 1 << 20) -> bytes:
    with t.open("GET", url) as response:
        response.raise_for_status()
        return t.read(response, limit)


def test_origin_fills_in_default_ports_and_ignores_case() -> None:
    assert origin_of("https://Acme.Example/pypi/") == ("https", "acme.example", 443)
    assert origin_of("HTTP://acme.example:80/x") == origin_of("http://acme.example/")
    assert origin_of("https://acme.example:8443/") != origin_of("https://acme.example/")


def test_credentials_go_to_the_repository_origin_only(home: Server, other: Server) -> None:
    t = transport(home.url + "pypi/python/")
    assert get(t, home.url + "simple/pkg/") == b"hello"
    assert get(t, other.url + "packages/pkg.whl") == b"hello"
    assert home.seen == [("/simple/pkg/", BASIC)]
    assert other.seen == [("/packages/pkg.whl", None)], "another port is another origin"


def test_a_cross_origin_redirect_hop_carries_no_authorization(home: Server, other: Server) -> None:
    t = transport(home.url)
    back = home.url + "after"
    hop = f"{other.url}redirect?to={back}"
    assert get(t, f"{home.url}redirect?to={hop}") == b"hello"
    assert [auth for _, auth in home.seen] == [BASIC, BASIC], "home hops keep the token"
    assert other.seen == [(f"/redirect?to={back}", None)], "the foreign hop got none"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_every_redirect_status_is_followed_hop_by_hop(home: Server, status: int) -> None:
    t = transport(home.url)
    assert get(t, f"{home.url}redirect?status={status}&to=/ok") == b"hello"
    assert [p for p, _ in home.seen] == [f"/redirect?status={status}&to=/ok", "/ok"]


def test_an_https_to_http_redirect_is_refused(
    secure: Server, home: Server, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests lets these override a session's own verify: trust the test's certificate.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    t = transport(secure.url)
    assert get(t, secure.url + "ok") == b"hello"
    with pytest.raises(RedirectRefused, match="refused a redirect to a http: URL"):
        get(t, f"{secure.url}redirect?to={home.url}ok")
    assert home.seen == [], "the plain-http hop was never sent"


@pytest.mark.parametrize("to", ["file:///etc/passwd", "ftp://127.0.0.1/x"])
def test_a_redirect_to_another_scheme_is_refused(home: Server, to: str) -> None:
    with pytest.raises(RedirectRefused, match="refused a redirect"):
        get(transport(home.url), f"{home.url}redirect?to={to}")


def test_too_many_redirects_are_refused(home: Server) -> None:
    with pytest.raises(RedirectRefused, match=f"more than {MAX_REDIRECTS} redirects"):
        get(transport(home.url), home.url + "loop")
    assert len(home.seen) == MAX_REDIRECTS + 1


def test_a_post_is_never_redirected(home: Server, other: Server) -> None:
    t = transport(home.url)
    with t.open("POST", f"{home.url}redirect?to={other.url}ok", data=b"body") as response:
        assert response.status_code == 302
    assert other.seen == [], "an upload goes only where it was sent"


def test_a_declared_body_over_the_cap_is_refused_before_reading(home: Server) -> None:
    with pytest.raises(BodyTooLarge, match="1000000 bytes; at most 1000 are read"):
        get(transport(home.url), home.url + "declared", limit=1000)


def test_an_undeclared_body_over_the_cap_is_cut_off(home: Server) -> None:
    with pytest.raises(BodyTooLarge, match="exceeds 1000 bytes"):
        get(transport(home.url), home.url + "undeclared", limit=1000)
    assert len(get(transport(home.url), home.url + "undeclared", limit=100_000)) == 100_000


def test_a_server_that_trickles_bytes_meets_the_deadline(home: Server) -> None:
    # The read timeout (10 s in FAST) restarts with every byte; only the deadline ends it.
    t = transport(home.url, deadline=0.5)
    with pytest.raises(DeadlineExceeded) as caught:
        get(t, home.url + "trickle")
    assert isinstance(caught.value, requests.Timeout), "retried like any timeout"
    assert "0.5 s deadline" in str(caught.value)
    assert "CODEARTIFACT_MULTIREGION_DEADLINE" in str(caught.value)


def test_redirect_targets_are_resolved_against_the_hop(home: Server) -> None:
    t = transport(home.url)
    assert get(t, home.url + "redirect?to=ok") == b"hello"
    assert [urlsplit(p).path for p, _ in home.seen] == ["/redirect", "/ok"]
