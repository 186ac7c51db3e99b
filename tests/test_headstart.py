"""headstart: repository URLs and TCP connections before the files are read, and nothing
more: no token, no request to an index, no error of its own."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from concurrent.futures import Future
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from codeartifact_multiregion import headstart
from codeartifact_multiregion.artifacts import ArtifactError
from codeartifact_multiregion.config import load_config
from codeartifact_multiregion.publish import Publisher
from codeartifact_multiregion.transport import Transport
from tests.helpers import FAST, LoopbackServer, QuietHandler, sha256s


class CountingServer(LoopbackServer):
    """A loopback HTTP server that counts the TCP connections it accepted."""

    def __init__(self) -> None:
        class Handler(QuietHandler):
            def do_GET(self) -> None:
                self.reply(200, b"ok")

        outer = self

        class Server(ThreadingHTTPServer):
            def get_request(self) -> tuple[socket.socket, object]:
                accepted = super().get_request()
                outer.accepted += 1
                return accepted

        self.accepted = 0
        super().__init__(Handler, server_class=Server)


@pytest.fixture
def server() -> Iterator[CountingServer]:
    served = CountingServer()
    yield served
    served.close()
    headstart.close_parked()


def test_a_parked_connection_carries_the_first_request(server: CountingServer) -> None:
    """The connect made before the HTTP stack loaded is the one the request uses."""
    headstart.park(server.url, 1, 5.0)
    transport = Transport(server.url, ("aws", "tok"), FAST, 2)
    try:
        with transport.open("GET", server.url + "simple/") as response:
            assert response.status_code == 200
    finally:
        transport.close()
    assert server.accepted == 1
    assert not headstart._parked.get(("127.0.0.1", server.httpd.server_address[1]))


def test_a_parked_socket_the_peer_closed_is_not_handed_out() -> None:
    mine, theirs = socket.socketpair()
    theirs.close()
    future: Future[socket.socket] = Future()
    future.set_result(mine)
    headstart._parked[("closed.example", 443)] = [future]
    assert headstart.take_parked("closed.example", 443, 1.0) is None
    assert mine.fileno() == -1, "closed, not leaked"


def test_a_failed_connect_is_skipped_not_raised() -> None:
    future: Future[socket.socket] = Future()
    future.set_exception(ConnectionRefusedError())
    headstart._parked[("refused.example", 443)] = [future]
    assert headstart.take_parked("refused.example", 443, 1.0) is None


@pytest.mark.parametrize(("no_proxy", "parked"), [("", False), ("127.0.0.1", True)])
def test_nothing_is_parked_where_a_proxy_carries_the_requests(
    server: CountingServer, monkeypatch: pytest.MonkeyPatch, no_proxy: str, parked: bool
) -> None:
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, no_proxy)
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    headstart.park(server.url, 2, 5.0)
    key = ("127.0.0.1", server.httpd.server_address[1])
    assert bool(headstart._parked.get(key)) is parked


# --- in a publish, against the stand-ins ----------------------------------------------


def _publish(project: Path, files: list[Path] | None = None) -> object:
    config = load_config(project)
    return Publisher(config, policy=FAST).publish(files or [])


def test_the_head_start_s_url_is_the_run_s(regions, project: Path, sample_dists: Path) -> None:
    """One GetRepositoryEndpoint per region (the head start's), and the files land."""
    report = _publish(project)
    assert report.ok  # type: ignore[attr-defined]
    for name, region in regions.regions.items():
        calls = regions.fake.recorded("GetRepositoryEndpoint", name)
        assert [(c.signer, c.status) for c in calls] == [("direct", 200)]
        assert region.files() == sha256s(sample_dists)
    assert not any(headstart._parked.values()), "every parked connection was used or closed"


def test_a_refused_head_start_is_asked_again_and_the_run_goes_on(
    regions, project: Path, sample_dists: Path
) -> None:
    name = next(iter(regions.regions))
    regions.fake.fail(name, "GetRepositoryEndpoint", "ThrottlingException", 429)
    report = _publish(project)
    assert report.ok  # type: ignore[attr-defined]
    statuses = [c.status for c in regions.fake.recorded("GetRepositoryEndpoint", name)]
    assert statuses == [429, 200]
    assert regions.regions[name].files() == sha256s(sample_dists)


def test_a_bad_file_name_is_refused_before_any_call(regions, project: Path) -> None:
    with pytest.raises(ArtifactError, match="no such file"):
        _publish(project, [project / "dist" / "hello_internal-1.0.0-py3-none-any.whl"])
    assert regions.fake.recorded() == []


def test_an_unreadable_release_gets_no_token_and_leaves_no_connection(
    regions, project: Path
) -> None:
    dist = project / "dist"
    dist.mkdir()
    (dist / "hello_internal-1.0.0-py3-none-any.whl").write_bytes(b"not a zip")
    with pytest.raises(ArtifactError, match=re.escape("hello_internal-1.0.0-py3-none-any.whl")):
        _publish(project)
    assert not regions.fake.recorded("GetAuthorizationToken")
    assert not any(headstart._parked.values())
