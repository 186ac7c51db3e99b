"""A local fake of CodeArtifact's control plane, reached by boto3 through
``AWS_ENDPOINT_URL_CODEARTIFACT``.

moto has no CodeArtifact. This speaks the four REST-JSON operations the publisher uses
(GetAuthorizationToken, GetRepositoryEndpoint, PutPackageOriginConfiguration,
DescribePackage) with the method, path and query names of botocore's service model, so
the real boto3 client serializes and parses them unmodified. One endpoint serves every
region: the region is read from the SigV4 credential scope, where the real service would
use the host name. Errors are in restJson form, so botocore raises ``ClientError`` with
the right ``Error.Code``; faults can be injected per region and operation.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/codeartifact/aws4_request")

OPERATIONS = ("GetAuthorizationToken", "GetRepositoryEndpoint",
              "PutPackageOriginConfiguration", "DescribePackage")
_ROUTES = {
    ("POST", "/v1/authorization-token"): "GetAuthorizationToken",
    ("GET", "/v1/repository/endpoint"): "GetRepositoryEndpoint",
    ("POST", "/v1/package"): "PutPackageOriginConfiguration",
    ("GET", "/v1/package"): "DescribePackage",
}
_DEFAULT_RESTRICTIONS = {"publish": "ALLOW", "upstream": "ALLOW"}


def _pypi_name(name: str) -> str:
    """CodeArtifact stores PyPI names normalized (PEP 503), so lookups must be too."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass
class RegionSpec:
    """What one region's control plane knows: its domain, repositories and token."""

    domain: str
    owner: str
    repositories: dict[str, str]  # repository name -> endpoint URL (ends with "/")
    token: str
    # Told the new token on rotation, so the region's index starts requiring it.
    on_token: Callable[[str], None] | None = None
    # Whether a package exists in the repository: DescribePackage answers for it even
    # before any origin configuration was set, as the real service does.
    has_package: Callable[[str, str], bool] | None = None


@dataclass
class Fault:
    """An injected AWS error: ``times`` answers (0: until cleared), then normal service."""

    region: str | None  # None: every region
    operation: str
    code: str
    status: int
    times: int
    message: str = "injected fault"
    fired: int = 0


@dataclass
class Call:
    """One request as the fake saw it, for test assertions."""

    operation: str
    region: str
    params: dict[str, str]
    body: dict[str, Any]
    access_key: str = ""
    status: int = 0
    at: float = field(default_factory=time.monotonic)


class FakeCodeArtifact:
    """``with FakeCodeArtifact({"us-east-1": RegionSpec(...)}) as fake: fake.url``."""

    def __init__(self, regions: dict[str, RegionSpec], host: str = "127.0.0.1") -> None:
        self.regions = regions
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.origins: dict[tuple[str, str, str], dict[str, str]] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as botocore's pool expects

            def do_GET(self) -> None:
                fake._handle(self)

            def do_POST(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: pytest captures stderr and this would only be noise

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = None

    def start(self) -> FakeCodeArtifact:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            name="fake-codeartifact", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> FakeCodeArtifact:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # test controls ---------------------------------------------------------

    def fail(self, region: str | None, operation: str, code: str, status: int,
             times: int = 1, message: str = "injected fault") -> None:
        """Answer ``operation`` in ``region`` (None: all) with an AWS error ``times`` times.

        ``times=0`` keeps failing until ``reset()``/``clear_faults()``. Faults stack: the
        oldest one still armed fires first.
        """
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; one of {OPERATIONS}")
        with self._lock:
            self.faults.append(Fault(region, operation, code, status, times, message))

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def reset(self) -> None:
        """Forget calls, faults and origin configurations (between tests)."""
        with self._lock:
            self.calls.clear()
            self.faults.clear()
            self.origins.clear()

    def recorded(self, operation: str | None = None, region: str | None = None) -> list[Call]:
        """A snapshot of the calls so far, optionally narrowed to one operation/region."""
        with self._lock:
            return [c for c in self.calls if operation in (None, c.operation)
                    and region in (None, c.region)]

    def origin(self, region: str, package: str, repository: str | None = None
               ) -> dict[str, str] | None:
        """The origin restrictions last set for ``package`` in ``region``, if any."""
        with self._lock:
            for (reg, repo, name), restrictions in self.origins.items():
                if reg == region and name == _pypi_name(package) and repository in (None, repo):
                    return dict(restrictions)
        return None

    def rotate_token(self, region: str, token: str | None = None) -> str:
        """Issue a new token for ``region``; the region's index stops accepting the old one."""
        new = token or secrets.token_urlsafe(48)
        spec = self.regions[region]
        with self._lock:
            spec.token = new
        if spec.on_token:
            spec.on_token(new)
        return new

    # serving ---------------------------------------------------------------

    def _take_fault(self, region: str, operation: str) -> Fault | None:
        for fault in self.faults:
            if (fault.operation == operation and fault.region in (None, region)
                    and (fault.times == 0 or fault.fired < fault.times)):
                fault.fired += 1
                return fault
        return None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            body = {"_unparsed": raw.decode("utf-8", "replace")}
        operation = _ROUTES.get((handler.command, parts.path))
        match = _SCOPE.search(handler.headers.get("Authorization", ""))
        access_key, region = (match.group(1), match.group(2)) if match else ("", "")
        call = Call(operation or f"{handler.command} {parts.path}", region, params, body,
                    access_key)
        with self._lock:
            self.calls.append(call)
            fault = self._take_fault(region, operation) if operation else None
        status, payload, code = self._answer(operation, region, params, body, fault)
        call.status = status
        headers = {"x-amzn-ErrorType": code} if code else {}
        _send_json(handler, status, payload, headers)

    def _answer(self, operation: str | None, region: str, params: dict[str, str],
                body: dict[str, Any], fault: Fault | None
                ) -> tuple[int, dict[str, Any], str | None]:
        """(status, JSON body, error code or None) for one request."""

        def error(status: int, code: str, message: str) -> tuple[int, dict[str, Any], str]:
            return status, {"message": message}, code

        if operation is None:
            return error(404, "UnknownOperationException", "unknown operation")
        if not region:
            return error(403, "MissingAuthenticationTokenException",
                         "Missing Authentication Token")
        if fault:
            return error(fault.status, fault.code, fault.message)
        spec = self.regions.get(region)
        if spec is None:
            return error(403, "UnrecognizedClientException",
                         f"The security token included in the request is invalid ({region})")
        domain, owner = params.get("domain", ""), params.get("domain-owner") or spec.owner
        if not domain:
            return error(400, "ValidationException", "domain is required")
        if domain != spec.domain or owner != spec.owner:
            return error(404, "ResourceNotFoundException",
                         f"Domain {domain} owned by {owner} not found in {region}")
        if operation == "GetAuthorizationToken":
            duration = int(params.get("duration") or 43200)
            if duration != 0 and not 900 <= duration <= 43200:
                return error(400, "ValidationException",
                             "durationSeconds must be 0 or between 900 and 43200")
            with self._lock:
                token = spec.token
            return 200, {"authorizationToken": token,
                         "expiration": time.time() + (duration or 43200)}, None
        repository = params.get("repository", "")
        if repository not in spec.repositories:
            return error(404, "ResourceNotFoundException",
                         f"Repository {repository} not found in domain {domain}")
        if operation == "GetRepositoryEndpoint":
            if params.get("format") != "pypi":
                return error(400, "ValidationException", "this fake serves format pypi only")
            return 200, {"repositoryEndpoint": spec.repositories[repository]}, None
        package, fmt = params.get("package", ""), params.get("format", "")
        if not package or fmt != "pypi":
            return error(400, "ValidationException", "format=pypi and package are required")
        key = (region, repository, _pypi_name(package))
        if operation == "PutPackageOriginConfiguration":
            given = body.get("restrictions") or {}
            bad = {k: v for k, v in given.items()
                   if k not in _DEFAULT_RESTRICTIONS or v not in ("ALLOW", "BLOCK")}
            if bad or not given:
                return error(400, "ValidationException", f"invalid restrictions {given}")
            with self._lock:
                restrictions = {**self.origins.get(key, _DEFAULT_RESTRICTIONS), **given}
                self.origins[key] = restrictions
            return 200, {"originConfiguration": {"restrictions": restrictions}}, None
        with self._lock:
            restrictions = self.origins.get(key)
        if restrictions is None:
            if not (spec.has_package and spec.has_package(repository, key[2])):
                return error(404, "ResourceNotFoundException",
                             f"Package {package} not found in repository {repository}")
            restrictions = dict(_DEFAULT_RESTRICTIONS)
        return 200, {"package": {"format": "pypi", "name": key[2],
                                 "originConfiguration": {"restrictions": restrictions}}}, None


def _send_json(handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any],
               headers: dict[str, str]) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("x-amzn-RequestId", secrets.token_hex(16))
    for key, value in headers.items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(data)
