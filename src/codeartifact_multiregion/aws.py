"""Turn targets into endpoints: credentials, tokens and repository URLs from CodeArtifact.

All targets are resolved in parallel and all must succeed before anything is
uploaded. Endpoint overrides come only from botocore's own
``AWS_ENDPOINT_URL_CODEARTIFACT`` / ``AWS_ENDPOINT_URL`` mechanism, so tests and
private endpoints need no code path of their own.
"""

from __future__ import annotations

import base64
import contextlib
import ipaddress
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from . import __version__
from .config import Target
from .errors import CodeArtifactError, ResolveError, UsageError
from .retry import RetryPolicy, shared_limiter
from .secrets import redact, register_secret
from .text import printable

SESSION_NAME = "codeartifact-multiregion"
# CodeArtifact's default quota for GetAuthorizationToken, per account and region.
TOKEN_REQUESTS_PER_SECOND = 40
# The permission each call needs, so an AccessDenied names exactly what is missing.
_PERMISSIONS = {
    "GetAuthorizationToken": "codeartifact:GetAuthorizationToken and sts:GetServiceBearerToken",
    "GetRepositoryEndpoint": "codeartifact:GetRepositoryEndpoint",
    "PutPackageOriginConfiguration": "codeartifact:PutPackageOriginConfiguration",
    "DescribePackage": "codeartifact:DescribePackage",
    "sts:AssumeRole": "sts:AssumeRole on the role (and a trust policy that allows the caller)",
    "sts:GetCallerIdentity": "sts:GetCallerIdentity (or set domain-owner)",
}
# Fix hints for the errors people meet first; the API's own message says the rest.
_HINTS = {
    "AccessDeniedException": "Grant the caller codeartifact:GetAuthorizationToken, "
    "codeartifact:GetRepositoryEndpoint, codeartifact:PublishPackageVersion and "
    "sts:GetServiceBearerToken on this domain and repository.",
    "ResourceNotFoundException": "Check domain, domain-owner and repository in "
    "[tool.codeartifact] for this region, or create them (see infra_cdk/).",
    "ThrottlingException": "CodeArtifact throttled the request; run again in a moment.",
    "ExpiredTokenException": "Refresh your AWS credentials (for example `aws sso login`).",
    "UnrecognizedClientException": "Check your AWS credentials.",
}


@dataclass
class Endpoint:
    """A target with its repository URL and a token that can be fetched anew."""

    target: Target
    url: str
    domain_owner: str | None
    token: str = field(repr=False)
    _fetch_token: Callable[[], str] = field(repr=False)

    @property
    def region(self) -> str:
        return self.target.region

    @property
    def simple_url(self) -> str:
        return self.url + "simple/"

    def refresh_token(self) -> str:
        """Fetch a new token; used once when the index answers 401/403."""
        self.token = self._fetch_token()
        return self.token


class Resolver:
    """Creates one boto3 session per distinct (profile, role) and shares it across regions."""

    def __init__(self, token_duration: int = 900, policy: RetryPolicy | None = None) -> None:
        self.token_duration = token_duration
        self.policy = policy or RetryPolicy()
        self._sessions: dict[tuple[str | None, str | None], Any] = {}
        self._accounts: dict[tuple[str | None, str | None], str] = {}
        self._clients: dict[Target, Any] = {}
        self._lock = threading.Lock()

    def resolve_all(self, targets: Sequence[Target]) -> list[Endpoint]:
        """Resolve every target in parallel; raise one error naming every failed region."""
        if not targets:
            return []
        # Build one client first: botocore parses the service model once per session and
        # caches it, where threads starting together would each parse it (0.3 s a region).
        with contextlib.suppress(CodeArtifactError):
            self.client(targets[0])
        with ThreadPoolExecutor(max_workers=min(len(targets), 16)) as pool:
            futures = [pool.submit(self._resolve_or_error, t) for t in targets]
            results = [f.result() for f in futures]
        usage = [r for r in results if isinstance(r, UsageError)]
        if usage:
            raise usage[0]
        failures = [r for r in results if isinstance(r, Exception)]
        if failures:
            lines = "\n".join(f"  {redact(f)}" for f in failures)
            raise ResolveError(
                f"{len(failures)} of {len(targets)} region(s) could not be resolved; "
                f"nothing was uploaded:\n{lines}"
            )
        return [r for r in results if isinstance(r, Endpoint)]

    def _resolve_or_error(self, target: Target) -> Endpoint | Exception:
        try:
            return self.resolve(target)
        except (ResolveError, UsageError) as exc:
            return exc

    def resolve(self, target: Target) -> Endpoint:
        client = self.client(target)
        owner = target.domain_owner or self.account(target)

        def fetch_token() -> str:
            kwargs: dict[str, Any] = {"domain": target.domain,
                                      "durationSeconds": self.token_duration}
            if owner:
                kwargs["domainOwner"] = owner
            limiter = shared_limiter("token", owner, target.region, TOKEN_REQUESTS_PER_SECOND)
            with limiter.serial:
                limiter.acquire()
                response = _call(target, "GetAuthorizationToken",
                                 client.get_authorization_token, **kwargs)
            token = response.get("authorizationToken")
            if not isinstance(token, str) or not token:
                raise ResolveError(f"{target.region}: GetAuthorizationToken answered without a "
                                   "token. Run again; if it persists, check the endpoint.")
            register_secret(token)
            # As it travels in a Basic Authorization header, which servers may echo back.
            register_secret(base64.b64encode(f"aws:{token}".encode()).decode())
            return token

        kwargs: dict[str, Any] = {"domain": target.domain, "repository": target.repository,
                                  "format": "pypi"}
        if owner:
            kwargs["domainOwner"] = owner
        token = fetch_token()
        response = _call(target, "GetRepositoryEndpoint", client.get_repository_endpoint, **kwargs)
        url = _endpoint_url(target, response.get("repositoryEndpoint"))
        return Endpoint(target=target, url=url, domain_owner=owner, token=token,
                        _fetch_token=fetch_token)

    def client(self, target: Target) -> Any:
        """The target's CodeArtifact client, made once and reused for origin controls."""
        with self._lock:
            client = self._clients.get(target)
        if client is None:
            client = self._new_client(target)
            with self._lock:
                client = self._clients.setdefault(target, client)
        return client

    def _new_client(self, target: Target) -> Any:
        from botocore.config import Config as BotoConfig

        # The same settings bound the control plane as the indexes; its answers are small,
        # so its read timeout is capped at 30 s whatever the uploads allow.
        config = BotoConfig(
            # botocore's max_attempts counts retries only; the policy counts every attempt.
            retries={"mode": "standard", "total_max_attempts": self.policy.attempts},
            connect_timeout=self.policy.connect_timeout,
            read_timeout=min(self.policy.read_timeout, 30.0),
            user_agent_extra=f"{SESSION_NAME}/{__version__}",
        )
        return self.session(target).client("codeartifact", region_name=target.region,
                                           config=config)

    def session(self, target: Target) -> Any:
        key = (target.profile, target.role_arn)
        with self._lock:
            if key not in self._sessions:
                self._sessions[key] = self._new_session(target)
            return self._sessions[key]

    def account(self, target: Target) -> str:
        """The caller's account, the default domain owner (one STS call per identity)."""
        key = (target.profile, target.role_arn)
        with self._lock:
            if key in self._accounts:
                return self._accounts[key]
        sts = self.session(target).client("sts", region_name=target.region)
        identity = _call(target, "sts:GetCallerIdentity", sts.get_caller_identity)
        account = str(identity.get("Account", ""))
        with self._lock:
            self._accounts[key] = account
        return account

    def _new_session(self, target: Target) -> Any:
        import boto3
        from botocore.exceptions import ProfileNotFound

        try:
            base = boto3.session.Session(profile_name=target.profile, region_name=target.region)
        except ProfileNotFound:
            raise UsageError(
                f"[tool.codeartifact] profile '{target.profile}' (region {target.region}) is not "
                "in your AWS config. Add the profile (`aws configure --profile NAME`) or fix "
                "the key."
            ) from None
        if not target.role_arn:
            return base
        sts = base.client("sts", region_name=target.region)
        response = _call(target, "sts:AssumeRole", sts.assume_role, RoleArn=target.role_arn,
                         RoleSessionName=SESSION_NAME)
        creds = response["Credentials"]
        register_secret(creds["SecretAccessKey"])
        register_secret(creds["SessionToken"])
        return boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=target.region,
        )


def put_origin_block(endpoint: Endpoint, resolver: Resolver, package: str) -> dict[str, str]:
    """Allow direct publishing but block upstream versions: the dependency-confusion guard."""
    restrictions = {"publish": "ALLOW", "upstream": "BLOCK"}
    target = endpoint.target
    kwargs: dict[str, Any] = {"domain": target.domain, "repository": target.repository,
                              "format": "pypi", "package": package,
                              "restrictions": restrictions}
    if endpoint.domain_owner:
        kwargs["domainOwner"] = endpoint.domain_owner
    response = _call(target, "PutPackageOriginConfiguration",
                     resolver.client(target).put_package_origin_configuration, **kwargs)
    return dict(response.get("originConfiguration", {}).get("restrictions", restrictions))


def describe_origin(endpoint: Endpoint, resolver: Resolver, package: str) -> dict[str, str] | None:
    """The package's origin restrictions in one region, or None where it has none yet.

    A missing package is None; any other failure (AccessDenied on DescribePackage, say)
    is a ``ResolveError`` naming the permission, so it is reported, not silently empty.
    """
    from botocore.exceptions import ClientError

    target = endpoint.target
    kwargs: dict[str, Any] = {"domain": target.domain, "repository": target.repository,
                              "format": "pypi", "package": package}
    if endpoint.domain_owner:
        kwargs["domainOwner"] = endpoint.domain_owner
    client = resolver.client(target)
    try:
        response = client.describe_package(**kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        response = _call(target, "DescribePackage", client.describe_package, **kwargs)
    except Exception:
        response = _call(target, "DescribePackage", client.describe_package, **kwargs)
    restrictions = response.get("package", {}).get("originConfiguration", {}).get(
        "restrictions", {})
    return {str(k): str(v) for k, v in restrictions.items()
            if k in ("publish", "upstream")} or None


def _endpoint_url(target: Target, url: object) -> str:
    """The repository endpoint, checked: the token is sent to this origin and no other.

    https, a host, no credentials, query or fragment; plain http only to a loopback
    address (local stand-ins and tunnels).
    """
    parts = urlsplit(url) if isinstance(url, str) else None
    host = (parts.hostname or "") if parts else ""
    loopback = _is_loopback(host)
    if (parts is None or not host or parts.username or parts.password or parts.query
            or parts.fragment or not (parts.scheme == "https"
                                      or (parts.scheme == "http" and loopback))):
        raise ResolveError(
            f"{target.region}: GetRepositoryEndpoint for {target.domain}/{target.repository} "
            f"returned {printable(redact(url))[:200]!r}, not an https repository URL. Check "
            "AWS_ENDPOINT_URL_CODEARTIFACT / AWS_ENDPOINT_URL if you set one.")
    text = str(url)
    return text if text.endswith("/") else text + "/"


def _is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: "localhost" or a loopback address, not a name
    that merely starts like one (``127.0.0.1.example.com`` resolves wherever DNS says)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _call(target: Target, operation: str, method: Callable[..., Any], **kwargs: Any) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        return method(**kwargs)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "Error")
        message = error.get("Message", "")
        hint = _HINTS.get(code, "")
        if code == "AccessDeniedException" and operation in _PERMISSIONS:
            hint = (f"The caller lacks {_PERMISSIONS[operation]} on "
                    f"{target.domain}/{target.repository} in {target.region}: grant it "
                    "(infra_cdk/ creates a role with every permission the publisher needs).")
        raise ResolveError(redact(
            f"{target.region}: {operation} for {target.domain}/{target.repository} failed: "
            f"{code}: {message}. {hint}".rstrip()
        )) from None
    except NoCredentialsError:
        raise ResolveError(
            f"{target.region}: no AWS credentials found. Configure credentials (environment, "
            "`aws configure`, `aws sso login`) or set profile in [tool.codeartifact]."
        ) from None
    except BotoCoreError as exc:
        raise ResolveError(redact(f"{target.region}: {operation} failed: {exc}")) from None
