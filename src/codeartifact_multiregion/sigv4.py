"""The two calls before the first upload, signed here, so a plain run never loads botocore.

GetAuthorizationToken and GetRepositoryEndpoint are all a publish asks of CodeArtifact
before its first byte goes to an index. botocore spends about 140 ms of a tiny publish's
CPU on them (its session, credential chain, endpoint rules and the service model), all
of it before the first byte. When the environment is one botocore reads only one way,
static credentials in ``AWS_*`` variables and no setting that changes the endpoint or the
route (``AWS_CA_BUNDLE`` is honoured, as botocore honours it), this module signs the
request with SigV4 and sends it with ``http.client``.

It only ever succeeds or steps aside: a setting it does not model, and any answer but a
well-formed 200, returns None, and the caller makes the same call through botocore,
which retries and reports exactly as before. So no error reads differently, and the
token still goes only to the origin GetRepositoryEndpoint names (checked by the caller).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import threading
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from . import __version__
from .retry import STOP

if TYPE_CHECKING:
    import ssl

SERVICE = "codeartifact"
ALGORITHM = "AWS4-HMAC-SHA256"
# The regions of botocore's "aws" partition (its endpoints.json regionRegex); elsewhere
# (China, GovCloud, ISO) the host differs, and botocore knows how.
_AWS_PARTITION = re.compile(r"^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$")
# Environment variables that change how botocore reaches the endpoint or whom it trusts:
# any of them set, and the call is botocore's.
_BOTOCORE_ONLY = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_DATA_PATH",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)
# What the default profile of the AWS config file may hold: neither changes a request.
_HARMLESS_CONFIG_KEYS = frozenset({"region", "output"})
# An answer is a few hundred bytes; more is not CodeArtifact's.
MAX_BODY = 64 << 10


@dataclass(frozen=True)
class Credentials:
    """Static credentials, as botocore's environment provider reads them."""

    access_key: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)


def environment_credentials(environ: Mapping[str, str]) -> Credentials | None:
    """The ``AWS_*`` key pair (and session token) botocore would use first, if complete."""
    access = environ.get("AWS_ACCESS_KEY_ID", "")
    secret = environ.get("AWS_SECRET_ACCESS_KEY", "")
    token = environ.get("AWS_SESSION_TOKEN") or environ.get("AWS_SECURITY_TOKEN") or None
    if not access or not secret:
        return None
    return Credentials(access, secret, token)


def endpoint_for(region: str, environ: Mapping[str, str]) -> str | None:
    """The control plane's base URL as botocore would pick it, or None if it might not.

    ``AWS_ENDPOINT_URL_CODEARTIFACT``, then ``AWS_ENDPOINT_URL``, then the regional host
    of the aws partition. An override with a path or query, plain http to anything but
    this machine, or a region outside the partition is left to botocore.
    """
    override = environ.get("AWS_ENDPOINT_URL_CODEARTIFACT") or environ.get("AWS_ENDPOINT_URL")
    if not override:
        if not _AWS_PARTITION.match(region):
            return None
        return f"https://{SERVICE}.{region}.amazonaws.com"
    from .aws import trusted_base  # aws imports this module

    parts = trusted_base(override)
    if parts is None or parts.path not in ("", "/"):
        return None
    return f"{parts.scheme}://{parts.netloc}"


def config_allows(environ: Mapping[str, str]) -> bool:
    """Whether the AWS config file changes nothing botocore would do for this call.

    No file, or a file whose ``[default]`` holds only region/output. An unreadable or
    malformed file is botocore's to report.
    """
    path = environ.get("AWS_CONFIG_FILE") or os.path.join("~", ".aws", "config")
    path = os.path.expanduser(path)
    if not os.path.exists(path):
        return True
    import configparser

    parser = configparser.RawConfigParser()
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except (OSError, UnicodeDecodeError, configparser.Error):
        return False
    if not parser.has_section("default"):
        return True
    return set(parser.options("default")) <= _HARMLESS_CONFIG_KEYS


# --- signing -------------------------------------------------------------------------


def _quote(text: str) -> str:
    return quote(text, safe="-_.~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(params.items()))


def signed_headers(
    method: str,
    host: str,
    path: str,
    params: Mapping[str, str],
    body: bytes,
    credentials: Credentials,
    region: str,
    when: datetime,
    service: str = SERVICE,
) -> dict[str, str]:
    """The headers of a SigV4-signed request: Host, X-Amz-Date, the token, Authorization.

    ``host`` is the Host header as sent (with a port only if not the scheme's default);
    ``when`` is injected so a test can sign at a fixed instant and compare with botocore.
    """
    stamp = when.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    headers = {"host": host, "x-amz-date": stamp}
    if credentials.token:
        headers["x-amz-security-token"] = credentials.token
    names = sorted(headers)
    canonical = "\n".join(
        [
            method,
            quote(path, safe="/~"),
            canonical_query(params),
            "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + credentials.secret_key).encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {"Host": host, "X-Amz-Date": stamp}
    if credentials.token:
        out["X-Amz-Security-Token"] = credentials.token
    out["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return out


# --- the client ----------------------------------------------------------------------

_context_lock = threading.Lock()
_contexts: dict[str | None, ssl.SSLContext] = {}


def ca_bundle(environ: Mapping[str, str]) -> str | None:
    """The CA bundle botocore would trust: ``AWS_CA_BUNDLE``, else certifi's (a
    ``ca_bundle`` in the config file is not read here: ``config_allows`` refuses it)."""
    if environ.get("AWS_CA_BUNDLE"):
        return environ["AWS_CA_BUNDLE"]
    try:
        import certifi
    except ImportError:  # pragma: no cover - requests depends on certifi
        return None
    return str(certifi.where())


def _tls_context(cafile: str | None) -> ssl.SSLContext:
    """One verifying context per bundle and process (loading a bundle costs CPU)."""
    import ssl  # only for https; a loopback stand-in needs none

    with _context_lock:
        if cafile not in _contexts:
            _contexts[cafile] = ssl.create_default_context(cafile=cafile)
        return _contexts[cafile]


@dataclass(frozen=True)
class Direct:
    """Signed calls to one region's control plane; None from ``call`` means "ask botocore"."""

    endpoint: str
    region: str
    credentials: Credentials = field(repr=False)
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    deadline: float = 30.0
    cafile: str | None = None

    def call(self, method: str, path: str, params: Mapping[str, str]) -> dict[str, Any] | None:
        if STOP.is_set():
            return None
        try:
            return self._call(method, path, params)
        except Exception:  # any failure at all: botocore makes the call and reports it
            return None

    def _call(self, method: str, path: str, params: Mapping[str, str]) -> dict[str, Any] | None:
        parts = urlsplit(self.endpoint)
        https = parts.scheme == "https"
        default_port = 443 if https else 80
        port = parts.port or default_port
        host = parts.hostname or ""
        host_header = parts.netloc if parts.port not in (None, default_port) else host
        body = b""
        headers = signed_headers(
            method,
            host_header,
            path,
            params,
            body,
            self.credentials,
            self.region,
            datetime.now(timezone.utc),
        )
        headers["User-Agent"] = f"codeartifact-multiregion/{__version__}"
        headers["Accept"] = "application/json"
        conn: http.client.HTTPConnection
        if https:
            conn = http.client.HTTPSConnection(
                host, port, timeout=self.connect_timeout, context=_tls_context(self.cafile)
            )
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.connect_timeout)
        # However slowly the answer trickles in (headers too), the socket is shut by then.
        watchdog = threading.Timer(self.deadline, _shut, args=(conn,))
        watchdog.daemon = True
        watchdog.start()
        try:
            conn.connect()
            if conn.sock is not None:
                conn.sock.settimeout(self.read_timeout)
            conn.request(method, f"{path}?{canonical_query(params)}", body=body, headers=headers)
            response = conn.getresponse()
            if response.status != 200:
                return None
            data = b""
            while len(data) <= MAX_BODY and not STOP.is_set():
                chunk = response.read1(16 << 10)
                if not chunk:
                    break
                data += chunk
            if len(data) > MAX_BODY or STOP.is_set() or not watchdog.is_alive():
                return None
            answer = json.loads(data)
        finally:
            watchdog.cancel()
            conn.close()
        return answer if isinstance(answer, dict) else None


def _shut(conn: http.client.HTTPConnection) -> None:
    sock = conn.sock
    if sock is not None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def direct_client(
    region: str,
    profile: str | None,
    role_arn: str | None,
    domain_owner: str | None,
    *,
    connect_timeout: float,
    read_timeout: float,
    deadline: float,
    environ: Mapping[str, str] | None = None,
) -> Direct | None:
    """A ``Direct`` for the region if botocore would make the same call the same way.

    Needs static credentials in the environment and a domain owner (no STS call), and
    no profile or role (in the config or the environment), endpoint variant, proxy or
    config-file setting that botocore would apply and this module does not.
    """
    env = os.environ if environ is None else environ
    if profile or role_arn or not domain_owner:
        return None
    if any(env.get(name) for name in _BOTOCORE_ONLY):
        return None
    credentials = environment_credentials(env)
    endpoint = endpoint_for(region, env)
    if credentials is None or endpoint is None or not config_allows(env):
        return None
    return Direct(
        endpoint,
        region,
        credentials,
        connect_timeout=connect_timeout,
        read_timeout=min(read_timeout, 30.0),
        deadline=min(deadline, 30.0),
        cafile=ca_bundle(env) if endpoint.startswith("https:") else None,
    )


def parse_expiration(value: object) -> datetime | None:
    """GetAuthorizationToken's ``expiration`` (epoch seconds in restJson) as an aware time."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
