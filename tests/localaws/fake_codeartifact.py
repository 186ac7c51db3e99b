"""A local fake of CodeArtifact's control plane, reached by boto3 through
``AWS_ENDPOINT_URL_CODEARTIFACT``.

moto has no CodeArtifact. This speaks the four REST-JSON operations the publisher
uses (GetAuthorizationToken, GetRepositoryEndpoint, PutPackageOriginConfiguration,
DescribePackage) and tells regions apart by the SigV4 credential scope, as the
real service does by host name. Faults can be injected per region and operation.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/codeartifact/aws4_request")


@dataclass
class RegionSpec:
    """What one region's control plane knows: its domain, repositories and token."""

    domain: str
    owner: str
    repositories: dict[str, str]  # repository name -> endpoint URL (ends with "/")
    token: str
    on_token: Callable[[str], None] | None = None  # told when the token is rotated


@dataclass
class Fault:
    operation: str
    code: str
    status: int
    times: int  # 0: forever
    message: str = "injected fault"
    fired: int = 0


@dataclass
class Call:
    operation: str
    region: str
    params: dict[str, str]
    body: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


_ROUTES = {
    ("POST", "/v1/authorization-token"): "GetAuthorizationToken",
    ("GET", "/v1/repository/endpoint"): "GetRepositoryEndpoint",
    ("POST", "/v1/package"): "PutPackageOriginConfiguration",
    ("GET", "/v1/package"): "DescribePackage",
}


class FakeCodeArtifact:
    """``with FakeCodeArtifact({"us-east-1": RegionSpec(...)}) as fake: fake.url``."""

    def __init__(self, regions: dict[str, RegionSpec]) -> None:
        self.regions = regions
        self.calls: list[Call] = []
        self.faults: dict[tuple[str, str], Fault] = {}
        self.origins: dict[tuple[str, str], dict[str, str]] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake._handle(self)

            def do_POST(self) -> None:
                fake._handle(self)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeCodeArtifact:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    # test controls ---------------------------------------------------------

    def fail(self, region: str, operation: str, code: str, status: int, times: int = 1,
             message: str = "injected fault") -> None:
        """Answer ``operation`` in ``region`` with an AWS error, ``times`` times (0: always)."""
        with self._lock:
            self.faults[(region, operation)] = Fault(operation, code, status, times, message)

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()
            self.faults.clear()
            self.origins.clear()

    def recorded(self, operation: str | None = None, region: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if operation in (None, c.operation)
                    and region in (None, c.region)]

    def rotate_token(self, region: str, token: str) -> None:
        spec = self.regions[region]
        spec.token = token
        if spec.on_token:
            spec.on_token(token)

    # serving ---------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        body = json.loads(raw) if raw.strip() else {}
        operation = _ROUTES.get((handler.command, parts.path))
        match = _SCOPE.search(handler.headers.get("Authorization", ""))
        region = match.group(1) if match else ""
        with self._lock:
            self.calls.append(Call(operation or parts.path, region, params, body))
            fault = self.faults.get((region, operation or ""))
            if fault and (fault.times == 0 or fault.fired < fault.times):
                fault.fired += 1
            else:
                fault = None
        if operation is None:
            return _error(handler, 404, "UnknownOperationException", parts.path)
        if fault:
            return _error(handler, fault.status, fault.code, fault.message)
        spec = self.regions.get(region)
        if spec is None:
            return _error(handler, 403, "UnrecognizedClientException",
                          f"no CodeArtifact in region {region!r}")
        owner = params.get("domain-owner", spec.owner)
        if params.get("domain") != spec.domain or owner != spec.owner:
            return _error(handler, 404, "ResourceNotFoundException",
                          f"Domain {params.get('domain')} owned by {params.get('domain-owner')} "
                          f"not found in {region}")
        if operation == "GetAuthorizationToken":
            expiry = time.time() + int(params.get("duration", "43200") or 43200)
            return _json(handler, {"authorizationToken": spec.token, "expiration": expiry})
        repository = params.get("repository", "")
        if repository not in spec.repositories:
            return _error(handler, 404, "ResourceNotFoundException",
                          f"Repository {repository} not found in domain {spec.domain}")
        if operation == "GetRepositoryEndpoint":
            return _json(handler, {"repositoryEndpoint": spec.repositories[repository]})
        key = (region, params.get("package", ""))
        if operation == "PutPackageOriginConfiguration":
            restrictions = dict(body.get("restrictions", {}))
            with self._lock:
                self.origins[key] = restrictions
            return _json(handler, {"originConfiguration": {"restrictions": restrictions}})
        with self._lock:
            restrictions = self.origins.get(key)
        if restrictions is None:
            return _error(handler, 404, "ResourceNotFoundException",
                          f"Package {key[1]} not found in {repository}")
        return _json(handler, {"package": {"format": "pypi", "packageName": key[1],
                                           "originConfiguration": {"restrictions": restrictions}}})


def _json(handler: BaseHTTPRequestHandler, payload: dict[str, Any], status: int = 200,
          headers: dict[str, str] | None = None) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(data)


def _error(handler: BaseHTTPRequestHandler, status: int, code: str, message: str) -> None:
    _json(handler, {"message": message}, status, {"x-amzn-ErrorType": code})
