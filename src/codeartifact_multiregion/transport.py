"""HTTP to one repository: credentials only to its origin, a deadline on every request.

An index is a remote party. It chooses the links we follow, the redirects we get and
how fast it answers, so this module, not its callers, enforces what it may make us do:

- the token goes only to the origin (scheme, host, port) of the repository endpoint
  CodeArtifact returned; a request or a redirect hop anywhere else carries no
  credentials, and redirects are followed here, hop by hop, never by requests itself;
- every request ends by its deadline, however slowly the server trickles bytes (the
  read timeout restarts with each byte): a watchdog shuts the socket down;
- bodies are read with a size cap, so a huge page or file cannot fill memory or disk.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from . import __version__
from .headstart import take_parked
from .retry import RetryPolicy, check_stop

CHUNK = 1 << 20
# An unread rest of an answer up to this size is read and dropped so its keep-alive
# connection goes back to the pool (a 404 plan read of a new package, an error page);
# a larger or unsized rest closes the connection, as before.
DRAIN_LIMIT = 64 << 10
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
USER_AGENT = f"codeartifact-multiregion/{__version__}"

Origin = tuple[str, str, int]


class DeadlineExceeded(requests.Timeout):
    """The request as a whole took longer than the policy's deadline."""


class BodyTooLarge(requests.RequestException):
    """A response body exceeded what this request may read."""


class RedirectRefused(requests.RequestException):
    """A redirect went to a scheme we do not follow, or there were too many."""


def origin_of(url: str) -> Origin:
    """(scheme, host, port) with the scheme's default port filled in.

    A URL that does not parse (an unclosed IPv6 bracket, a port out of range) has no
    origin: ``("", "", 0)``, which equals no repository's, so it is never trusted.
    """
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        return "", "", 0
    return scheme, (parts.hostname or "").lower(), port


# --- the watchdog --------------------------------------------------------------------

_current = threading.local()
# Every request in flight, so a stop can end them all at once.
_active: set[_Watch] = set()
_active_lock = threading.Lock()


def abort_all() -> None:
    """Shut down the sockets of every request in flight (on SIGINT/SIGTERM)."""
    with _active_lock:
        watches = list(_active)
    for watch in watches:
        watch.fire()


class _Watch:
    """Shuts down the sockets of one request when its deadline passes."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._conns: list[HTTPConnection] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self.fire)
        self._timer.daemon = True

    def add(self, conn: HTTPConnection) -> None:
        with self._lock:
            self._conns.append(conn)
            expired = self.expired
        if expired:
            _shutdown(conn)

    def fire(self) -> None:
        with self._lock:
            self.expired = True
            conns = list(self._conns)
        for conn in conns:
            _shutdown(conn)

    def __enter__(self) -> _Watch:
        with _active_lock:
            _active.add(self)
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with _active_lock:
            _active.discard(self)


def _release(response: requests.Response) -> None:
    """Close ``response``, keeping its connection open for the next request if cheap.

    urllib3 returns a connection to the pool only once its answer is read to the end;
    closing an answer with body left unread closes the connection, and the next request
    pays a new handshake (a round trip). Runs inside the request's watchdog, so a
    trickling server cannot hold it past the deadline.
    """
    declared = response.headers.get("Content-Length", "")
    raw = response.raw
    if declared.isdigit() and int(declared) <= DRAIN_LIMIT and raw is not None:
        with suppress(Exception):
            raw.drain_conn()
    response.close()


def _shutdown(conn: HTTPConnection) -> None:
    sock = getattr(conn, "sock", None)
    if sock is not None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _watched(cls: type[HTTPConnection]) -> type[HTTPConnection]:
    """A connection class that tells the current request's watchdog about itself."""

    class Watched(cls):  # type: ignore[valid-type,misc]
        def request(self, *args: Any, **kwargs: Any) -> Any:
            watch = getattr(_current, "watch", None)
            if watch is not None:
                watch.add(self)
            return super().request(*args, **kwargs)

        def _new_conn(self) -> socket.socket:
            # A TCP connection a head start opened before this module was even imported
            # (headstart.park); TLS, if any, is done over it by connect() as always.
            timeout = self.timeout if isinstance(self.timeout, (int, float)) else None
            host = str(getattr(self, "_dns_host", None) or self.host)
            sock = take_parked(host, int(self.port), timeout or 10.0)
            if sock is None:
                return super()._new_conn()  # type: ignore[no-any-return]
            for option in self.socket_options or ():
                sock.setsockopt(*option)
            sock.settimeout(timeout)
            return sock

        def connect(self) -> None:
            # A deadline or a stop that fired while this socket was still connecting found
            # no socket to shut down: look again once there is one.
            super().connect()
            watch = getattr(_current, "watch", None)
            if watch is not None and watch.expired:
                _shutdown(self)

    Watched.__name__ = f"Watched{cls.__name__}"
    return Watched


class _Warm:
    """Pool mixin: open connections ahead of the first request (a TCP/TLS handshake each).

    A connection is taken from the pool, connected and put back, so the request that
    needs it finds it open. Nothing is sent on it, so no credentials travel; a failed
    connect is dropped silently and the request connects (and reports) as usual.
    """

    def warm(self, count: int, connect_timeout: float) -> list[threading.Thread]:
        pool: Any = self
        conns = [pool._get_conn() for _ in range(count)]

        def connect(conn: Any) -> None:
            try:
                if getattr(conn, "sock", None) is None:
                    conn.timeout = connect_timeout
                    conn.connect()
            except Exception:
                conn.close()
            finally:
                pool._put_conn(conn)

        threads = [
            threading.Thread(target=connect, args=(conn,), daemon=True, name="warm-connection")
            for conn in conns
        ]
        for thread in threads:
            thread.start()
        return threads


class _WatchedHTTPPool(_Warm, HTTPConnectionPool):
    ConnectionCls = _watched(HTTPConnection)


class _WatchedHTTPSPool(_Warm, HTTPSConnectionPool):
    ConnectionCls = _watched(HTTPSConnection)  # type: ignore[assignment]


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }


# --- the transport -------------------------------------------------------------------


class Transport:
    """One keep-alive session to one repository, with its credentials kept to its origin."""

    def __init__(
        self, base_url: str, auth: tuple[str, str], policy: RetryPolicy, pool_size: int = 8
    ) -> None:
        self.base_url = base_url
        self._warming: list[threading.Thread] = []
        self.origin = origin_of(base_url)
        self.auth = auth
        self.policy = policy
        self.session = requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        adapter = _Adapter(max_retries=0, pool_connections=1, pool_maxsize=max(pool_size, 1))
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, adapter)

    def close(self) -> None:
        self.session.close()

    def warm(self, count: int) -> list[threading.Thread]:
        """Start opening ``count`` connections to the repository in the background.

        Each costs a round trip (more with TLS) that would otherwise come before a
        request's first byte; warmed while the plan read is in flight, parallel uploads
        all start on open connections. The pool is the one requests itself will use
        (same TLS settings, found through the adapter's public API); no request is sent.
        """
        if count <= 0:
            return []
        request = requests.Request("GET", self.base_url).prepare()
        settings = self.session.merge_environment_settings(self.base_url, {}, None, None, None)
        if requests.utils.select_proxy(self.base_url, settings["proxies"]):
            return []  # through a proxy: connect only the way requests will
        adapter = self.session.get_adapter(self.base_url)
        if not isinstance(adapter, _Adapter):
            return []
        pool = adapter.get_connection_with_tls_context(
            request, settings["verify"], cert=settings["cert"]
        )
        if not isinstance(pool, _Warm):
            return []  # a proxy's pool: leave it to requests
        threads = pool.warm(count, self.policy.connect_timeout)
        self._warming += threads
        return threads

    def _await_warm(self) -> None:
        """Let a handshake already under way finish rather than start another beside it.

        A warming connection is out of the pool until it is open, so a request starting
        meanwhile would open a new one and pay a whole round trip; joining the warm-up
        costs at most what is left of its. Bounded by the connect timeout; a failed
        warm-up leaves the request to connect (and report) as usual.
        """
        while True:
            try:
                thread = self._warming.pop()  # atomic: requests in other threads pop too
            except IndexError:
                return
            thread.join(self.policy.connect_timeout)

    def trusted(self, url: str) -> bool:
        """Whether ``url`` is on the repository's own origin (and may get the token)."""
        return origin_of(url) == self.origin

    @contextmanager
    def open(
        self,
        method: str,
        url: str,
        *,
        data: Any = None,
        headers: dict[str, str] | None = None,
        follow_redirects: bool = True,
    ) -> Iterator[requests.Response]:
        """Send a request and yield its (streamed) response; the deadline covers the body.

        GET redirects are followed here, each hop checked: credentials only on the
        repository's origin, no https -> http downgrade, at most ``MAX_REDIRECTS`` hops.
        """
        check_stop()
        started = time.monotonic()
        self._await_warm()
        with _Watch(self.policy.deadline) as watch:
            _current.watch = watch
            try:
                response = self._follow(
                    method, url, data, headers, watch, MAX_REDIRECTS if follow_redirects else 0
                )
                try:
                    yield response
                finally:
                    _release(response)
                if watch.expired:
                    check_stop()
                    raise DeadlineExceeded(self._overdue(started))
            except requests.RequestException:
                check_stop()  # a stop shut the socket: say so, not "connection reset"
                if watch.expired:
                    raise DeadlineExceeded(self._overdue(started)) from None
                raise
            finally:
                _current.watch = None

    def read(self, response: requests.Response, limit: int) -> bytes:
        """The whole body, refusing one larger than ``limit`` bytes."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge(f"the answer is {int(declared)} bytes; at most {limit} are read")
        body = bytearray()
        for chunk in response.iter_content(CHUNK):
            body += chunk
            if len(body) > limit:
                raise BodyTooLarge(f"the answer exceeds {limit} bytes")
        return bytes(body)

    def _follow(
        self,
        method: str,
        url: str,
        data: Any,
        headers: dict[str, str] | None,
        watch: _Watch,
        redirects: int,
    ) -> requests.Response:
        for hop in range(redirects + 1):
            auth = self.auth if self.trusted(url) else None
            try:
                response = self.session.request(
                    method,
                    url,
                    data=data,
                    headers=headers,
                    auth=auth,
                    stream=True,
                    allow_redirects=False,
                    timeout=self.policy.timeout,
                )
            except requests.RequestException:
                raise
            except ValueError:
                # requests parses a redirect's Location even when not following it; one
                # that does not parse (a bad port, an unclosed IPv6 bracket) lands here.
                raise RedirectRefused("refused a redirect to a malformed URL") from None
            if watch.expired:
                response.close()
                raise DeadlineExceeded("deadline passed")
            location = response.headers.get("Location")
            if (
                method != "GET"
                or response.status_code not in REDIRECTS
                or not location
                or hop == redirects == 0
            ):
                return response
            response.close()
            url = _redirect_target(url, location)
        raise RedirectRefused(f"more than {redirects} redirects")

    def _overdue(self, started: float) -> str:
        return (
            f"no complete answer within the {self.policy.deadline:g} s deadline "
            f"({time.monotonic() - started:.1f} s); set CODEARTIFACT_MULTIREGION_DEADLINE "
            "to allow longer"
        )


def _redirect_target(url: str, location: str) -> str:
    """The absolute URL a redirect points at, if it is one we follow (RedirectRefused if not).

    Only http(s), never https -> http, and never a Location that does not parse: a
    malformed header is the server's error, not a crash of ours.
    """
    try:
        target = urljoin(url, location)
        scheme = urlsplit(target).scheme.lower()
        origin_ok = origin_of(target) != ("", "", 0)
    except ValueError:
        target, scheme, origin_ok = "", "", False
    if not origin_ok:
        raise RedirectRefused("refused a redirect to a malformed URL")
    if scheme not in ("http", "https") or (urlsplit(url).scheme == "https" and scheme == "http"):
        raise RedirectRefused(f"refused a redirect to a {scheme or 'relative'}: URL")
    return target
