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
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import SplitResult, urlsplit

from . import __version__, sigv4
from .config import Target
from .errors import CodeArtifactError, ResolveError, UsageError
from .retry import RetryPolicy, shared_limiter
from .retry import results as wait_results
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
    "ListPackages": "codeartifact:ListPackages",
    "ListPackageVersions": "codeartifact:ListPackageVersions",
    "ListPackageVersionAssets": "codeartifact:ListPackageVersionAssets",
    "GetPackageVersionAsset": "codeartifact:ReadFromRepository",
    "UpdatePackageVersionsStatus": "codeartifact:UpdatePackageVersionsStatus",
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
    _fetch_token: Callable[[], tuple[str, datetime | None]] = field(repr=False)
    # When the current token expires (GetAuthorizationToken's ``expiration``), if known.
    expiration: datetime | None = None

    @property
    def region(self) -> str:
        return self.target.region

    @property
    def simple_url(self) -> str:
        return self.url + "simple/"

    def refresh_token(self) -> str:
        """Fetch a new token; used once when the index answers 401/403."""
        self.token, self.expiration = self._fetch_token()
        return self.token


class Resolver:
    """Creates one botocore session per distinct (profile, role), shared across regions."""

    def __init__(
        self,
        token_duration: int = 900,
        policy: RetryPolicy | None = None,
        max_connections: int = 10,
        sign_here: bool = True,
    ) -> None:
        self.token_duration = token_duration
        # False: every call goes through botocore, even where sigv4 could sign it.
        self.sign_here = sign_here
        self.policy = policy or RetryPolicy()
        # Connections each client keeps: at least the calls a run has in flight at once.
        self.max_connections = max(max_connections, 10)
        self._sessions: dict[tuple[str | None, str | None], Any] = {}
        self._accounts: dict[tuple[str | None, str | None], str] = {}
        self._clients: dict[tuple[Target, int], Any] = {}
        self._direct: dict[Target, sigv4.Direct | None] = {}
        # Repository URLs a head start is fetching: None once done if it could not.
        self._early_urls: dict[Target, Future[str | None]] = {}
        self._lock = threading.Lock()

    def resolve_all(
        self, targets: Sequence[Target], on_endpoint: Callable[[Target, str], None] | None = None
    ) -> list[Endpoint]:
        """Resolve every target in parallel; raise one error naming every failed region.

        ``on_endpoint(target, url)`` is called (from a worker thread) as soon as a region's
        checked repository URL is known, maybe before its token: a caller may start
        connecting to it meanwhile (no credentials travel before this returns).
        """
        if not targets:
            return []
        # Build one client first: botocore parses the service model once per session and
        # caches it, where threads starting together would each parse it (0.3 s a region).
        # Not needed when every region's calls are signed here (sigv4): no botocore at all.
        botocore_targets = [t for t in targets if self.direct(t) is None]
        if botocore_targets:
            with contextlib.suppress(CodeArtifactError):
                self.client(botocore_targets[0])
        # Two calls per region, token and endpoint, all in flight at once: one control-plane
        # round trip per run instead of two per region in turn. The endpoint calls get a
        # pool of their own, so a resolve waiting for its endpoint never starves it.
        workers = min(len(targets), 16)
        with (
            ThreadPoolExecutor(max_workers=workers) as pool,
            ThreadPoolExecutor(max_workers=workers) as endpoints,
        ):
            futures = [
                pool.submit(self._resolve_or_error, t, endpoints, on_endpoint) for t in targets
            ]
            results: list[Endpoint | Exception] = wait_results(futures)
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

    def _resolve_or_error(
        self,
        target: Target,
        pool: ThreadPoolExecutor | None = None,
        on_endpoint: Callable[[Target, str], None] | None = None,
    ) -> Endpoint | Exception:
        try:
            return self.resolve(target, pool, on_endpoint)
        except (ResolveError, UsageError) as exc:
            return exc

    def resolve(
        self,
        target: Target,
        pool: ThreadPoolExecutor | None = None,
        on_endpoint: Callable[[Target, str], None] | None = None,
    ) -> Endpoint:
        """Token and repository endpoint of one target (the endpoint in ``pool`` if given,
        so both calls are in flight at once)."""
        direct = self.direct(target)
        owner = target.domain_owner or self.account(target)

        def fetch_token() -> tuple[str, datetime | None]:
            kwargs: dict[str, Any] = {
                "domain": target.domain,
                "durationSeconds": self.token_duration,
            }
            if owner:
                kwargs["domainOwner"] = owner
            limiter = shared_limiter("token", owner, target.region, TOKEN_REQUESTS_PER_SECOND)
            with limiter.serial:
                limiter.acquire()
                response = (
                    direct.call(
                        "POST",
                        TOKEN_PATH,
                        {
                            "domain": target.domain,
                            "domain-owner": owner,
                            "duration": str(self.token_duration),
                        },
                    )
                    if direct
                    else None
                )
                if response is None:
                    if direct:  # the signed call stepped aside: botocore's is another request
                        limiter.acquire()
                    response = _call(
                        target,
                        "GetAuthorizationToken",
                        self.client(target, spent=1 if direct else 0).get_authorization_token,
                        **kwargs,
                    )
            token = response.get("authorizationToken")
            if not isinstance(token, str) or not token:
                raise ResolveError(
                    f"{target.region}: GetAuthorizationToken answered without a "
                    "token. Run again; if it persists, check the endpoint."
                )
            expiration = response.get("expiration")
            if not isinstance(expiration, datetime):
                expiration = sigv4.parse_expiration(expiration)
            register_secret(token)
            # As it travels in a Basic Authorization header, which servers may echo back.
            register_secret(base64.b64encode(f"aws:{token}".encode()).decode())
            return token, expiration

        def fetch_url() -> str:
            early = self._early_urls.get(target)
            url = None
            if direct is not None and early is not None:  # the head start's try is this one's
                with contextlib.suppress(TimeoutError, FutureTimeout):
                    url = early.result(timeout=direct.connect_timeout + direct.deadline)
            elif direct is not None:
                url = _signed_url(target, direct)
            if url is None:
                kwargs: dict[str, Any] = {
                    "domain": target.domain,
                    "repository": target.repository,
                    "format": "pypi",
                }
                if owner:
                    kwargs["domainOwner"] = owner
                response = _call(
                    target,
                    "GetRepositoryEndpoint",
                    self.client(target, spent=1 if direct else 0).get_repository_endpoint,
                    **kwargs,
                )
                url = _endpoint_url(target, response.get("repositoryEndpoint"))
            if on_endpoint is not None:
                with contextlib.suppress(Exception):  # a head start only, never a failure
                    on_endpoint(target, url)
            return url

        pending = pool.submit(fetch_url) if pool is not None else None
        try:
            token, expiration = fetch_token()
        except BaseException:
            if pending is not None:  # the token's error is the one to report
                with contextlib.suppress(Exception):
                    pending.result()
            raise
        url = pending.result() if pending is not None else fetch_url()
        return Endpoint(
            target=target,
            url=url,
            domain_owner=owner,
            token=token,
            _fetch_token=fetch_token,
            expiration=expiration,
        )

    def prefetch_urls(
        self, targets: Sequence[Target], on_endpoint: Callable[[Target, str], None] | None = None
    ) -> None:
        """Start fetching the repository URL of each target signed here, in the background.

        A head start (headstart.py): no token is fetched and nothing is reported. ``resolve``
        takes the URL if it came, and otherwise asks again the ordinary way. Daemon threads:
        a control plane that never answers holds up neither the run nor its exit.
        """
        for target in targets:
            direct = self.direct(target)
            with self._lock:
                if direct is None or target in self._early_urls:
                    continue
                future: Future[str | None] = Future()
                self._early_urls[target] = future
            try:
                threading.Thread(
                    target=self._prefetch_url,
                    daemon=True,
                    args=(target, direct, future, on_endpoint),
                    name=f"head-start-{target.region}",
                ).start()
            except RuntimeError:  # no thread to be had: the resolve asks itself
                future.set_result(None)

    @staticmethod
    def _prefetch_url(
        target: Target,
        direct: sigv4.Direct,
        future: Future[str | None],
        on_endpoint: Callable[[Target, str], None] | None,
    ) -> None:
        url = None
        try:
            url = _signed_url(target, direct)
        except Exception:  # the ordinary call makes it again and reports it
            url = None
        finally:
            future.set_result(url)
        if url is not None and on_endpoint is not None:
            with contextlib.suppress(Exception):  # a head start only, never a failure
                on_endpoint(target, url)

    def direct(self, target: Target) -> sigv4.Direct | None:
        """The target's signed-here client for the token and endpoint calls, if botocore
        would make them the same way (``sigv4.direct_client``); None means botocore's."""
        if not self.sign_here:
            return None
        with self._lock:
            if target not in self._direct:
                self._direct[target] = sigv4.direct_client(
                    target.region,
                    target.profile,
                    target.role_arn,
                    target.domain_owner,
                    connect_timeout=self.policy.connect_timeout,
                    read_timeout=self.policy.read_timeout,
                    deadline=self.policy.deadline,
                )
            return self._direct[target]

    def client(self, target: Target, spent: int = 0) -> Any:
        """The target's CodeArtifact client, made once and reused for origin controls.

        ``spent``: attempts a signed-here call already made (sigv4), so the policy's
        attempts count both (at least one is botocore's, for its error text).
        """
        key = (target, spent)
        with self._lock:
            client = self._clients.get(key)
        if client is None:
            client = self._new_client(target, spent)
            with self._lock:
                client = self._clients.setdefault(key, client)
        return client

    def _new_client(self, target: Target, spent: int = 0) -> Any:
        from botocore.config import Config as BotoConfig

        # The same settings bound the control plane as the indexes; its answers are small,
        # so its read timeout is capped at 30 s whatever the uploads allow.
        config = BotoConfig(
            # botocore's max_attempts counts retries only; the policy counts every attempt.
            retries={
                "mode": "standard",
                "total_max_attempts": max(1, self.policy.attempts - spent),
            },
            connect_timeout=self.policy.connect_timeout,
            read_timeout=min(self.policy.read_timeout, 30.0),
            user_agent_extra=f"{SESSION_NAME}/{__version__}",
            max_pool_connections=self.max_connections,
        )
        return self.session(target).create_client(
            "codeartifact", region_name=target.region, config=config
        )

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
        sts = self.session(target).create_client("sts", region_name=target.region)
        identity = _call(target, "sts:GetCallerIdentity", sts.get_caller_identity)
        account = str(identity.get("Account", ""))
        with self._lock:
            self._accounts[key] = account
        return account

    def _new_session(self, target: Target) -> Any:
        # botocore's own session, not boto3's: the same credential chain, config files and
        # endpoint variables, without importing boto3 and s3transfer (about 30 ms of CPU on
        # every run, for nothing: only two clients are ever made, codeartifact and sts).
        from botocore.exceptions import ProfileNotFound
        from botocore.session import Session as BotoSession

        try:
            base = _narrowed(BotoSession(profile=target.profile))
            base.get_scoped_config()  # an unknown profile fails here, as boto3's did
        except ProfileNotFound as exc:
            # botocore names the profile it looked for: the key's, or AWS_PROFILE's.
            name = printable(str(exc.kwargs.get("profile") or target.profile))
            raise UsageError(
                f"[tool.codeartifact] profile '{name}' (region {target.region}) is not "
                "in your AWS config. Add the profile (`aws configure --profile NAME`) or fix "
                "the key."
            ) from None
        if not target.role_arn:
            return base
        sts = base.create_client("sts", region_name=target.region)
        response = _call(
            target,
            "sts:AssumeRole",
            sts.assume_role,
            RoleArn=target.role_arn,
            RoleSessionName=SESSION_NAME,
        )
        creds = response["Credentials"]
        register_secret(creds["SecretAccessKey"])
        register_secret(creds["SessionToken"])
        # As before with boto3: a session of the role's credentials alone, no profile.
        role = _narrowed(BotoSession())
        role.set_credentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        return role


# The only services this tool makes clients for (``Resolver._new_client``, ``account``,
# AssumeRole in ``_new_session``).
SERVICES = ("codeartifact", "sts")


def _narrowed(session: Any) -> Any:
    """``session`` with a data loader that looks for our two services' models only.

    botocore's loader lists every service it ships (about 400 directories, a few thousand
    ``stat`` calls) before it loads one model, twice per run: about 60 ms of a tiny
    publish's CPU, spent before the first byte can go out. This loader searches the same
    paths (``AWS_DATA_PATH``, ``~/.aws/models``, botocore's own data) in the same order,
    so a custom model still wins; it only stops listing services nobody asked for.
    """
    from botocore.loaders import Loader, create_loader

    class _ServicesLoader(Loader):  # type: ignore[misc]  # botocore has no type hints
        def list_available_services(self, type_name: str) -> list[str]:
            return [name for name in SERVICES if self._has(name, type_name)]

        def _has(self, name: str, type_name: str) -> bool:
            for root in self.search_paths:
                folder = os.path.join(root, name)
                if os.path.isdir(folder) and any(
                    self.file_loader.exists(os.path.join(folder, version, type_name))
                    for version in os.listdir(folder)
                ):
                    return True
            return False

    # create_loader is how botocore turns data_path into search paths; reuse its answer.
    paths = create_loader(session.get_config_variable("data_path")).search_paths
    session.register_component(
        "data_loader", _ServicesLoader(extra_search_paths=paths, include_default_search_paths=False)
    )
    return session


# The routes of the two calls signed here (botocore's model: requestUri).
TOKEN_PATH = "/v1/authorization-token"
ENDPOINT_PATH = "/v1/repository/endpoint"


def _signed_url(target: Target, direct: sigv4.Direct) -> str | None:
    """GetRepositoryEndpoint signed here, its answer checked; None: botocore asks again
    (and reports what is wrong: a refused call, or a URL the token may not go to)."""
    answer = direct.call(
        "GET",
        ENDPOINT_PATH,
        {
            "domain": target.domain,
            "domain-owner": target.domain_owner or "",
            "repository": target.repository,
            "format": "pypi",
        },
    )
    if answer is None:
        return None
    try:
        return _endpoint_url(target, answer.get("repositoryEndpoint"))
    except ResolveError:
        return None


def put_origin_block(endpoint: Endpoint, resolver: Resolver, package: str) -> dict[str, str]:
    """Allow direct publishing but block upstream versions: the dependency-confusion guard."""
    restrictions = {"publish": "ALLOW", "upstream": "BLOCK"}
    target = endpoint.target
    kwargs: dict[str, Any] = {
        "domain": target.domain,
        "repository": target.repository,
        "format": "pypi",
        "package": package,
        "restrictions": restrictions,
    }
    if endpoint.domain_owner:
        kwargs["domainOwner"] = endpoint.domain_owner
    response = _call(
        target,
        "PutPackageOriginConfiguration",
        resolver.client(target).put_package_origin_configuration,
        **kwargs,
    )
    return dict(response.get("originConfiguration", {}).get("restrictions", restrictions))


def describe_origin(endpoint: Endpoint, resolver: Resolver, package: str) -> dict[str, str] | None:
    """The package's origin restrictions in one region, or None where it has none yet.

    A missing package is None; any other failure (AccessDenied on DescribePackage, say)
    is a ``ResolveError`` naming the permission, so it is reported, not silently empty.
    """
    from botocore.exceptions import ClientError

    target = endpoint.target
    kwargs: dict[str, Any] = {
        "domain": target.domain,
        "repository": target.repository,
        "format": "pypi",
        "package": package,
    }
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
    restrictions = (
        response.get("package", {}).get("originConfiguration", {}).get("restrictions", {})
    )
    return {str(k): str(v) for k, v in restrictions.items() if k in ("publish", "upstream")} or None


def _endpoint_url(target: Target, url: object) -> str:
    """The repository endpoint, checked: the token is sent to this origin and no other."""
    if trusted_base(url) is None:
        raise ResolveError(
            f"{target.region}: GetRepositoryEndpoint for {target.domain}/{target.repository} "
            f"returned {printable(redact(url))[:200]!r}, not an https repository URL. Check "
            "AWS_ENDPOINT_URL_CODEARTIFACT / AWS_ENDPOINT_URL if you set one."
        )
    text = str(url)
    return text if text.endswith("/") else text + "/"


def trusted_base(url: object) -> SplitResult | None:
    """``url`` split, if credentials may go there; None if not.

    https, a host, a valid port, no credentials, query or fragment; plain http only to a
    loopback address (local stand-ins and tunnels). Repository endpoints and the control
    plane's own endpoint (sigv4) are both held to it.
    """
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # raises on a port out of range
    except ValueError:  # an unclosed IPv6 bracket, a bad port
        return None
    host = parts.hostname or ""
    if (
        not host
        or parts.username
        or parts.password
        or parts.query
        or parts.fragment
        or not (parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host)))
    ):
        return None
    return parts


def is_loopback(host: str) -> bool:
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
            hint = (
                f"The caller lacks {_PERMISSIONS[operation]} on "
                f"{target.domain}/{target.repository} in {target.region}: grant it "
                "(infra_cdk/ creates a role with every permission the publisher needs)."
            )
        raise ResolveError(
            redact(
                f"{target.region}: {operation} for {target.domain}/{target.repository} failed: "
                f"{code}: {message}. {hint}".rstrip()
            )
        ) from None
    except NoCredentialsError:
        raise ResolveError(
            f"{target.region}: no AWS credentials found. Configure credentials (environment, "
            "`aws configure`, `aws sso login`) or set profile in [tool.codeartifact]."
        ) from None
    except BotoCoreError as exc:
        raise ResolveError(redact(f"{target.region}: {operation} failed: {exc}")) from None
