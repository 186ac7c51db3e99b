"""A local fake of CodeArtifact's control plane, reached by boto3 through
``AWS_ENDPOINT_URL_CODEARTIFACT``.

moto has no CodeArtifact. This speaks the REST-JSON operations the product uses, with the
method, path, query-string and member names of botocore's service model, so the real boto3
client serializes and parses them unmodified (tests check every route and response member
against the model, since botocore silently drops members it does not know):

- GetAuthorizationToken, GetRepositoryEndpoint: a region's token and pypiserver URL.
- PutPackageOriginConfiguration, DescribePackage: per-package origin restrictions.
- ListPackages, ListPackageVersions, ListPackageVersionAssets, GetPackageVersionAsset
  (streamed from disk), UpdatePackageVersionsStatus: read from and acting on the region's
  real pypiserver directory through ``repository.PackageStore`` (see there for how each
  version status acts on the files).

One endpoint serves every region: the region is read from the SigV4 credential scope,
where the real service would use the host name. Given ``secret_keys``, the fake checks the
signature of every request made with one of those access keys (botocore recomputes it from
what arrived), as AWS would: a bad one is 403 InvalidSignatureException. Each call records
who signed it (``signer``: "botocore", or "direct" for the publisher's own SigV4 calls).
Errors are in restJson form, so botocore raises ``ClientError`` with the right
``Error.Code``.

Test controls, because a test must be able to make every path happen:

- ``page_size``: the most items any List* page holds (default 3, so every path pages;
  a request's ``maxResults`` can only make pages smaller). ``nextToken`` is opaque.
- ``quotas`` / ``set_quota(name, limit)``: requests granted per (region, quota) in any
  sliding ``window`` seconds (CodeArtifact's defaults: DEFAULT_QUOTAS); one more answers
  429 ThrottlingException. ``clock`` is injectable, so a test freezes or steps time
  instead of racing it.
- ``fail(...)``: injected errors per region and operation.
- ``calls`` / ``recorded(...)``: every request with operation, region, params, body,
  status and the ``clock`` time it arrived, throttled ones included.

``reset()`` restores all of these between tests.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from packaging.version import InvalidVersion
from packaging.version import Version as Pep440

from .repository import PackageStore, Version, pep503

_SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([a-z0-9-]+)/codeartifact/aws4_request")

_ROUTES = {
    ("POST", "/v1/authorization-token"): "GetAuthorizationToken",
    ("GET", "/v1/repository/endpoint"): "GetRepositoryEndpoint",
    ("POST", "/v1/package"): "PutPackageOriginConfiguration",
    ("GET", "/v1/package"): "DescribePackage",
    ("POST", "/v1/packages"): "ListPackages",
    ("POST", "/v1/package/versions"): "ListPackageVersions",
    ("POST", "/v1/package/version/assets"): "ListPackageVersionAssets",
    ("GET", "/v1/package/version/asset"): "GetPackageVersionAsset",
    ("POST", "/v1/package/versions/update_status"): "UpdatePackageVersionsStatus",
}
OPERATIONS = tuple(_ROUTES.values())
# The query-string names each operation reads (all of them are the model's names).
QUERY_PARAMS: dict[str, tuple[str, ...]] = {
    "GetAuthorizationToken": ("domain", "domain-owner", "duration"),
    "GetRepositoryEndpoint": ("domain", "domain-owner", "repository", "format", "endpointType"),
    "PutPackageOriginConfiguration": (
        "domain",
        "domain-owner",
        "repository",
        "format",
        "namespace",
        "package",
    ),
    "DescribePackage": ("domain", "domain-owner", "repository", "format", "namespace", "package"),
    "ListPackages": (
        "domain",
        "domain-owner",
        "repository",
        "format",
        "namespace",
        "package-prefix",
        "max-results",
        "next-token",
        "publish",
        "upstream",
    ),
    "ListPackageVersions": (
        "domain",
        "domain-owner",
        "repository",
        "format",
        "namespace",
        "package",
        "status",
        "sortBy",
        "max-results",
        "next-token",
        "originType",
    ),
    "ListPackageVersionAssets": (
        "domain",
        "domain-owner",
        "repository",
        "format",
        "namespace",
        "package",
        "version",
        "max-results",
        "next-token",
    ),
    "GetPackageVersionAsset": (
        "domain",
        "domain-owner",
        "repository",
        "format",
        "namespace",
        "package",
        "version",
        "asset",
        "revision",
    ),
    "UpdatePackageVersionsStatus": (
        "domain",
        "domain-owner",
        "repository",
        "format",
        "namespace",
        "package",
    ),
}
# JSON body members each operation reads.
BODY_MEMBERS: dict[str, tuple[str, ...]] = {
    "PutPackageOriginConfiguration": ("restrictions",),
    "UpdatePackageVersionsStatus": (
        "versions",
        "versionRevisions",
        "expectedStatus",
        "targetStatus",
    ),
}
# Which quota each operation draws on. CodeArtifact documents per-operation quotas for
# the List* calls, GetPackageVersionAsset and GetAuthorizationToken, and account-wide
# ones for other reads and for writes; here each operation draws on exactly one.
QUOTA_OF = {
    "GetAuthorizationToken": "GetAuthorizationToken",
    "ListPackages": "ListPackages",
    "ListPackageVersions": "ListPackageVersions",
    "ListPackageVersionAssets": "ListPackageVersionAssets",
    "GetPackageVersionAsset": "GetPackageVersionAsset",
    "GetRepositoryEndpoint": "reads",
    "DescribePackage": "reads",
    "PutPackageOriginConfiguration": "writes",
    "UpdatePackageVersionsStatus": "writes",
}
# Requests per second per account and region: "Quotas in AWS CodeArtifact".
DEFAULT_QUOTAS: dict[str, int | None] = {
    "GetAuthorizationToken": 40,
    "ListPackages": 200,
    "ListPackageVersions": 200,
    "ListPackageVersionAssets": 200,
    "GetPackageVersionAsset": 50,
    "reads": 800,
    "writes": 100,
}
DEFAULT_PAGE_SIZE = 3
MAX_RESULTS = 1000  # the model's bound on maxResults for every List* operation
_DEFAULT_RESTRICTIONS = {"publish": "ALLOW", "upstream": "ALLOW"}
_TARGET_STATUSES = ("Published", "Unlisted", "Archived")  # what UpdatePackageVersionsStatus sets


def _pypi_name(name: str) -> str:
    """CodeArtifact stores PyPI names normalized (PEP 503), so lookups must be too."""
    return pep503(name)


class _Refusal(Exception):
    """An AWS error answer, raised from deep in a handler to keep handlers flat."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _signature_ok(
    handler: BaseHTTPRequestHandler, body: bytes, region: str, access_key: str, secret: str
) -> bool:
    """Whether the request's SigV4 signature is the one ``secret`` gives, as AWS checks it:
    botocore's signer recomputes it over the signed headers exactly as they arrived."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    found = re.search(
        r"SignedHeaders=([^,\s]+), Signature=([0-9a-f]{64})$",
        handler.headers.get("Authorization", ""),
    )
    stamp = handler.headers.get("X-Amz-Date", "")
    if not found or not stamp:
        return False
    names = found.group(1).split(";")
    if "host" not in names:
        return False
    headers = {name: handler.headers.get(name, "") for name in names}
    request = AWSRequest(
        method=handler.command,
        url=f"http://{headers['host']}{handler.path}",
        data=body,
        headers=headers,
    )
    request.context["timestamp"] = stamp
    auth = SigV4Auth(
        Credentials(access_key, secret, headers.get("x-amz-security-token")), "codeartifact", region
    )
    expected = auth.signature(
        auth.string_to_sign(request, auth.canonical_request(request)), request
    )
    return secrets.compare_digest(expected, found.group(2))


def _not_found(message: str) -> _Refusal:
    return _Refusal(404, "ResourceNotFoundException", message)


def _invalid(message: str) -> _Refusal:
    return _Refusal(400, "ValidationException", message)


@dataclass
class Reply:
    """What one request gets: a JSON document, or a file streamed from disk with headers."""

    status: int
    payload: dict[str, Any]
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    file: Path | None = None


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
    # repository name -> its package versions, read from the region's pypiserver directory;
    # a repository without one answers the package-listing operations as empty.
    stores: dict[str, PackageStore] = field(default_factory=dict)


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
    """One request as the fake saw it, for test assertions; ``at`` is the fake's clock."""

    operation: str
    region: str
    params: dict[str, str]
    body: dict[str, Any]
    access_key: str = ""
    status: int = 0
    at: float = field(default_factory=time.monotonic)
    # "direct" (our own SigV4 client, sigv4.py) or "botocore", from the User-Agent.
    signer: str = ""


class FakeCodeArtifact:
    """``with FakeCodeArtifact({"us-east-1": RegionSpec(...)}) as fake: fake.url``."""

    def __init__(
        self,
        regions: dict[str, RegionSpec],
        host: str = "127.0.0.1",
        *,
        page_size: int | None = DEFAULT_PAGE_SIZE,
        quotas: dict[str, int | None] | None = None,
        window: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        secret_keys: dict[str, str] | None = None,
    ) -> None:
        self.regions = regions
        self.secret_keys = dict(secret_keys or {})
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.origins: dict[tuple[str, str, str], dict[str, str]] = {}
        self._initial = (page_size, {**DEFAULT_QUOTAS, **(quotas or {})}, window, clock)
        self.page_size: int | None = page_size
        self.quotas: dict[str, int | None] = dict(self._initial[1])
        self.window = window
        self.clock = clock
        self._grants: dict[tuple[str, str], deque[float]] = {}
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
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="fake-codeartifact", daemon=True
            )
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

    def fail(
        self,
        region: str | None,
        operation: str,
        code: str,
        status: int,
        times: int = 1,
        message: str = "injected fault",
    ) -> None:
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

    def set_quota(self, name: str, limit: int | None) -> None:
        """Grant at most ``limit`` requests of quota ``name`` per region per ``window``.

        ``name`` is an operation with its own quota or "reads"/"writes" (see QUOTA_OF);
        None lifts the quota. Counting starts afresh.
        """
        if name not in DEFAULT_QUOTAS:
            raise ValueError(f"unknown quota {name!r}; one of {tuple(DEFAULT_QUOTAS)}")
        with self._lock:
            self.quotas[name] = limit
            self._grants = {k: v for k, v in self._grants.items() if k[1] != name}

    def reset(self) -> None:
        """Forget calls, faults, origin configurations and grants; restore page size,
        quotas, window and clock to what the constructor set (between tests)."""
        with self._lock:
            self.calls.clear()
            self.faults.clear()
            self.origins.clear()
            self._grants.clear()
            page_size, quotas, self.window, self.clock = self._initial
            self.page_size, self.quotas = page_size, dict(quotas)

    def recorded(self, operation: str | None = None, region: str | None = None) -> list[Call]:
        """A snapshot of the calls so far, optionally narrowed to one operation/region."""
        with self._lock:
            return [
                c
                for c in self.calls
                if operation in (None, c.operation) and region in (None, c.region)
            ]

    def origin(
        self, region: str, package: str, repository: str | None = None
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
            if (
                fault.operation == operation
                and fault.region in (None, region)
                and (fault.times == 0 or fault.fired < fault.times)
            ):
                fault.fired += 1
                return fault
        return None

    def _grant(self, region: str, operation: str, now: float) -> bool:
        """Sliding-window quota: whether this request fits; only granted ones count."""
        name = QUOTA_OF[operation]
        limit = self.quotas.get(name)
        if limit is None:
            return True
        grants = self._grants.setdefault((region, name), deque())
        while grants and now - grants[0] >= self.window:
            grants.popleft()
        if len(grants) >= limit:
            return False
        grants.append(now)
        return True

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        params = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            body = {"_unparsed": raw.decode("utf-8", "replace")}
        if not isinstance(body, dict):
            body = {"_unparsed": body}
        operation = _ROUTES.get((handler.command, parts.path))
        match = _SCOPE.search(handler.headers.get("Authorization", ""))
        access_key, region = (match.group(1), match.group(2)) if match else ("", "")
        signer = (
            "direct"
            if handler.headers.get("User-Agent", "").startswith("codeartifact-multiregion/")
            else "botocore"
        )
        secret = self.secret_keys.get(access_key)
        forged = secret is not None and not _signature_ok(handler, raw, region, access_key, secret)
        with self._lock:
            call = Call(
                operation or f"{handler.command} {parts.path}",
                region,
                params,
                body,
                access_key,
                at=self.clock(),
                signer=signer,
            )
            self.calls.append(call)
            fault = self._take_fault(region, operation) if operation and not forged else None
            throttled = bool(
                operation
                and region
                and not fault
                and not forged
                and not self._grant(region, operation, call.at)
            )
        try:
            if forged:
                raise _Refusal(
                    403,
                    "InvalidSignatureException",
                    "The request signature we "
                    "calculated does not match the signature you provided.",
                )
            reply = self._answer(operation, region, params, body, fault, throttled)
        except _Refusal as refusal:
            reply = Reply(refusal.status, {"message": refusal.message}, refusal.code)
        call.status = reply.status
        if reply.file is not None:
            _send_file(handler, reply)
        else:
            headers = {"x-amzn-ErrorType": reply.code} if reply.code else {}
            _send_json(handler, reply.status, reply.payload, {**headers, **reply.headers})

    def _answer(
        self,
        operation: str | None,
        region: str,
        params: dict[str, str],
        body: dict[str, Any],
        fault: Fault | None,
        throttled: bool,
    ) -> Reply:
        if operation is None:
            raise _Refusal(404, "UnknownOperationException", "unknown operation")
        if not region:
            raise _Refusal(
                403, "MissingAuthenticationTokenException", "Missing Authentication Token"
            )
        if fault:
            raise _Refusal(fault.status, fault.code, fault.message)
        if throttled:
            raise _Refusal(429, "ThrottlingException", "Rate exceeded")
        spec = self.regions.get(region)
        if spec is None:
            raise _Refusal(
                403,
                "UnrecognizedClientException",
                f"The security token included in the request is invalid ({region})",
            )
        domain, owner = params.get("domain", ""), params.get("domain-owner") or spec.owner
        if not domain:
            raise _invalid("domain is required")
        if domain != spec.domain or owner != spec.owner:
            raise _not_found(f"Domain {domain} owned by {owner} not found in {region}")
        if operation == "GetAuthorizationToken":
            return self._token(spec, params)
        repository = params.get("repository", "")
        if repository not in spec.repositories:
            raise _not_found(f"Repository {repository} not found in domain {domain}")
        if operation == "GetRepositoryEndpoint":
            if params.get("format") != "pypi":
                raise _invalid("this fake serves format pypi only")
            if params.get("endpointType", "ipv4") not in ("ipv4", "dualstack"):
                raise _invalid("endpointType must be ipv4 or dualstack")
            return Reply(200, {"repositoryEndpoint": spec.repositories[repository]})
        where = _Where(region, repository, spec.stores.get(repository))
        if operation == "ListPackages":
            return self._list_packages(where, params)
        if params.get("format") != "pypi" or not params.get("package"):
            raise _invalid("format=pypi and package are required")
        if params.get("namespace"):
            raise _invalid("PyPI packages have no namespace")
        handlers: dict[str, Callable[[_Where, dict[str, str], dict[str, Any]], Reply]] = {
            "PutPackageOriginConfiguration": self._put_origin,
            "DescribePackage": lambda w, p, b: self._describe(w, p, spec),
            "ListPackageVersions": lambda w, p, b: self._list_versions(w, p),
            "ListPackageVersionAssets": lambda w, p, b: self._list_assets(w, p),
            "GetPackageVersionAsset": lambda w, p, b: self._get_asset(w, p),
            "UpdatePackageVersionsStatus": self._update_status,
        }
        return handlers[operation](where, params, body)

    # operations --------------------------------------------------------------

    def _token(self, spec: RegionSpec, params: dict[str, str]) -> Reply:
        duration = _integer(params.get("duration") or "43200", "durationSeconds")
        if duration != 0 and not 900 <= duration <= 43200:
            raise _invalid("durationSeconds must be 0 or between 900 and 43200")
        with self._lock:
            token = spec.token
        return Reply(
            200, {"authorizationToken": token, "expiration": time.time() + (duration or 43200)}
        )

    def _restrictions(self, where: _Where, package: str) -> dict[str, str] | None:
        with self._lock:
            found = self.origins.get((where.region, where.repository, package))
        return dict(found) if found is not None else None

    def _put_origin(self, where: _Where, params: dict[str, str], body: dict[str, Any]) -> Reply:
        given = body.get("restrictions") or {}
        bad = {
            k: v
            for k, v in given.items()
            if k not in _DEFAULT_RESTRICTIONS or v not in ("ALLOW", "BLOCK")
        }
        if bad or not given:
            raise _invalid(f"invalid restrictions {given}")
        key = (where.region, where.repository, _pypi_name(params["package"]))
        with self._lock:
            restrictions = {**self.origins.get(key, _DEFAULT_RESTRICTIONS), **given}
            self.origins[key] = restrictions
        return Reply(200, {"originConfiguration": {"restrictions": restrictions}})

    def _describe(self, where: _Where, params: dict[str, str], spec: RegionSpec) -> Reply:
        name = _pypi_name(params["package"])
        restrictions = self._restrictions(where, name)
        if restrictions is None:
            if where.store is not None:
                exists = bool(where.store.versions(name))
            else:
                exists = bool(spec.has_package and spec.has_package(where.repository, name))
            if not exists:
                raise _not_found(
                    f"Package {params['package']} not found in repository {where.repository}"
                )
            restrictions = dict(_DEFAULT_RESTRICTIONS)
        return Reply(
            200,
            {
                "package": {
                    "format": "pypi",
                    "name": name,
                    "originConfiguration": {"restrictions": restrictions},
                }
            },
        )

    def _list_packages(self, where: _Where, params: dict[str, str]) -> Reply:
        names = where.store.packages() if where.store is not None else []
        if params.get("format", "pypi") != "pypi" or params.get("namespace"):
            names = []  # only PyPI packages live here, and they have no namespace
        prefix = _pypi_name(params.get("package-prefix", ""))
        summaries = []
        for name in names:
            if not name.startswith(prefix):
                continue
            restrictions = self._restrictions(where, name) or dict(_DEFAULT_RESTRICTIONS)
            if any(params.get(k) not in (None, v) for k, v in restrictions.items()):
                continue
            summaries.append(
                {
                    "format": "pypi",
                    "package": name,
                    "originConfiguration": {"restrictions": restrictions},
                }
            )
        page, token = self._page("ListPackages", summaries, params)
        return Reply(200, _with_token({"packages": page}, token))

    def _list_versions(self, where: _Where, params: dict[str, str]) -> Reply:
        name = _pypi_name(params["package"])
        versions = where.versions(name)
        status, origin = params.get("status"), params.get("originType")
        if params.get("sortBy", "PUBLISHED_TIME") != "PUBLISHED_TIME":
            raise _invalid("sortBy must be PUBLISHED_TIME")
        if "sortBy" in params:
            versions.sort(key=lambda v: (v.published, _version_key(v.version)))
        else:
            versions.sort(key=lambda v: _version_key(v.version))
        listed = [
            _version_summary(v, where.repository)
            for v in versions
            if status in (None, v.status) and origin in (None, v.origin)
        ]
        page, token = self._page("ListPackageVersions", listed, params)
        published = [v.version for v in versions if v.status == "Published"]
        payload: dict[str, Any] = {"format": "pypi", "package": name, "versions": page}
        if published:
            payload["defaultDisplayVersion"] = max(published, key=_version_key)
        return Reply(200, _with_token(payload, token))

    def _list_assets(self, where: _Where, params: dict[str, str]) -> Reply:
        found = where.version(params["package"], params.get("version", ""))
        assets = [
            {"name": a.name, "size": a.size, "hashes": {"SHA-256": a.sha256}} for a in found.assets
        ]
        page, token = self._page("ListPackageVersionAssets", assets, params)
        return Reply(
            200,
            _with_token(
                {
                    "format": "pypi",
                    "package": found.package,
                    "version": found.version,
                    "versionRevision": found.revision,
                    "assets": page,
                },
                token,
            ),
        )

    def _get_asset(self, where: _Where, params: dict[str, str]) -> Reply:
        found = where.version(params["package"], params.get("version", ""))
        if found.status in ("Archived", "Disposed"):
            raise _not_found(
                f"{found.package} {found.version} is {found.status}: "
                "its assets cannot be downloaded"
            )
        if params.get("revision") not in (None, found.revision):
            raise _not_found(
                f"revision {params['revision']} of {found.package} {found.version} not found"
            )
        asset = next((a for a in found.assets if a.name == params.get("asset")), None)
        if asset is None:
            raise _not_found(
                f"asset {params.get('asset')} not found in {found.package} {found.version}"
            )
        return Reply(
            200,
            {},
            headers={
                "X-AssetName": asset.name,
                "X-PackageVersion": found.version,
                "X-PackageVersionRevision": found.revision,
            },
            file=asset.path,
        )

    def _update_status(self, where: _Where, params: dict[str, str], body: dict[str, Any]) -> Reply:
        versions, target = body.get("versions"), body.get("targetStatus")
        expected, revisions = body.get("expectedStatus"), body.get("versionRevisions") or {}
        if (
            not isinstance(versions, list)
            or not versions
            or not all(isinstance(v, str) for v in versions)
        ):
            raise _invalid("versions must be a non-empty list of strings")
        if target not in _TARGET_STATUSES:
            raise _invalid(f"targetStatus must be one of {_TARGET_STATUSES}")
        if not isinstance(revisions, dict):
            raise _invalid("versionRevisions must be a map")
        ok: dict[str, dict[str, str]] = {}
        failed: dict[str, dict[str, str]] = {}
        for version in versions:
            current = where.store.version(params["package"], version) if where.store else None
            problem = _status_problem(current, version, expected, revisions.get(version))
            if problem or current is None:
                failed[version] = problem or {"errorCode": "NOT_FOUND", "errorMessage": ""}
                continue
            assert where.store is not None
            changed = where.store.set_version(current.package, version, status=target)
            ok[version] = {"revision": changed.revision, "status": changed.status}
        return Reply(200, {"successfulVersions": ok, "failedVersions": failed})

    def _page(
        self, operation: str, items: list[dict[str, Any]], params: dict[str, str]
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of ``items`` and the opaque token of the next (None on the last)."""
        wanted = _integer(params.get("max-results") or str(MAX_RESULTS), "maxResults")
        if not 1 <= wanted <= MAX_RESULTS:
            raise _invalid(f"maxResults must be between 1 and {MAX_RESULTS}")
        size = min(wanted, self.page_size or wanted)
        start = _read_token(operation, params.get("next-token"))
        end = start + size
        return items[start:end], _make_token(operation, end) if end < len(items) else None


@dataclass
class _Where:
    """The repository a request names, and its package versions."""

    region: str
    repository: str
    store: PackageStore | None

    def versions(self, package: str) -> list[Version]:
        found = self.store.versions(package) if self.store is not None else []
        if not found:
            raise _not_found(f"Package {package} not found in repository {self.repository}")
        return found

    def version(self, package: str, version: str) -> Version:
        found = self.store.version(package, version) if self.store is not None else None
        if found is None:
            raise _not_found(
                f"Package version {package} {version} not found in repository {self.repository}"
            )
        return found


def _status_problem(
    current: Version | None, version: str, expected: str | None, revision: str | None
) -> dict[str, str] | None:
    """The failedVersions entry for one version of UpdatePackageVersionsStatus, if any."""
    if current is None:
        return {"errorCode": "NOT_FOUND", "errorMessage": f"version {version} not found"}
    if current.status == "Disposed":
        return {
            "errorCode": "NOT_ALLOWED",
            "errorMessage": "a Disposed version cannot change status",
        }
    if expected is not None and current.status != expected:
        return {
            "errorCode": "MISMATCHED_STATUS",
            "errorMessage": f"status is {current.status}, not {expected}",
        }
    if revision is not None and revision != current.revision:
        return {
            "errorCode": "MISMATCHED_REVISION",
            "errorMessage": f"revision is {current.revision}",
        }
    return None


def _version_summary(version: Version, repository: str) -> dict[str, Any]:
    origin: dict[str, Any] = {"originType": version.origin}
    if version.origin == "INTERNAL":
        origin["domainEntryPoint"] = {"repositoryName": repository}
    elif version.origin == "EXTERNAL":
        origin["domainEntryPoint"] = {"externalConnectionName": "public:pypi"}
    return {
        "version": version.version,
        "revision": version.revision,
        "status": version.status,
        "origin": origin,
    }


def _version_key(version: str) -> tuple[int, Any]:
    """PEP 440 order; versions PEP 440 cannot read sort after, by their text."""
    try:
        return (0, Pep440(version))
    except InvalidVersion:
        return (1, version)


def _integer(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _invalid(f"{name} must be an integer") from None


def _make_token(operation: str, offset: int) -> str:
    raw = json.dumps({"op": operation, "at": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(operation: str, token: str | None) -> int:
    """The offset a nextToken stands for; a token from elsewhere is a ValidationException."""
    if token is None:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if decoded["op"] == operation and isinstance(decoded["at"], int) and decoded["at"] > 0:
            return int(decoded["at"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        pass
    raise _invalid("The nextToken is invalid")


def _with_token(payload: dict[str, Any], token: str | None) -> dict[str, Any]:
    return {**payload, "nextToken": token} if token else payload


def _send_json(
    handler: BaseHTTPRequestHandler, status: int, payload: dict[str, Any], headers: dict[str, str]
) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("x-amzn-RequestId", secrets.token_hex(16))
    for key, value in headers.items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(data)


def _send_file(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    """Stream the asset from disk in blocks: a 200 MB file never sits in memory."""
    assert reply.file is not None
    try:
        fh = reply.file.open("rb")
    except FileNotFoundError:  # archived or removed since the listing
        _send_json(
            handler,
            404,
            {"message": "asset not found"},
            {"x-amzn-ErrorType": "ResourceNotFoundException"},
        )
        return
    with fh:
        size = os.fstat(fh.fileno()).st_size
        handler.send_response(reply.status)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Content-Length", str(size))
        handler.send_header("x-amzn-RequestId", secrets.token_hex(16))
        for key, value in reply.headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        try:
            shutil.copyfileobj(fh, handler.wfile, 1 << 20)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True  # the client stopped reading
