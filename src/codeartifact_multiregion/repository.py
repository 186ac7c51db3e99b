"""One region's repository as CodeArtifact's API describes it: packages, versions, assets.

Replicating a whole repository cannot start from the simple index: CodeArtifact serves no
root ``/simple/`` listing, and a page says nothing of a version's status or origin. So
``Repository`` reads ListPackages, ListPackageVersions and ListPackageVersionAssets (every
``nextToken`` followed), streams bytes with GetPackageVersionAsset and mirrors statuses
with UpdatePackageVersionsStatus.

Every call waits for a slot of a limiter shared per (quota, account, region) at
CodeArtifact's default quota, so any number of workers stays under it; botocore's
standard retry mode backs off when the service throttles anyway (another caller of the
account). Every answer is untrusted: a package name must be a normalized Python name, an
asset name a plain distribution file name of that package and version, a hash 64 hex
digits, a size a whole number. Anything else is a refused entry, reported for the region
and never used (never as a path).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .aws import Endpoint, Resolver, _call
from .errors import CodeArtifactError
from .names import filename_error as dist_filename_error
from .names import parse_filename
from .retry import RetryPolicy, check_stop, shared_limiter
from .retry import sleep as interruptible_sleep
from .secrets import redact
from .text import printable
from .transport import CHUNK

# CodeArtifact's default quotas per account and region (requests per second).
LIST_RATE = 200.0  # each of ListPackages, ListPackageVersions, ListPackageVersionAssets
PAGE_SIZE = 1000  # the most maxResults any List* call accepts
STATUSES = frozenset({"Published", "Unfinished", "Unlisted", "Archived", "Disposed", "Deleted"})
SETTABLE = frozenset({"Published", "Unlisted", "Archived"})  # UpdatePackageVersionsStatus
ORIGIN_TYPES = frozenset({"INTERNAL", "EXTERNAL", "UNKNOWN"})
_NAME_RE = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
MAX_VERSION_CHARS = 255


class RepositoryError(CodeArtifactError):
    """A region's repository could not be read or changed; the message is redacted."""


@dataclass(frozen=True)
class VersionInfo:
    """One package version in one region, as ListPackageVersions gave it (checked)."""

    version: str
    status: str
    origin: str  # INTERNAL | EXTERNAL | UNKNOWN


@dataclass(frozen=True)
class AssetInfo:
    """One file of a version, as ListPackageVersionAssets gave it (checked)."""

    name: str
    sha256: str
    size: int


@dataclass
class Refused:
    """Entries an answer held that were not used, printable, for the report."""

    entries: list[str] = field(default_factory=list)

    def add(self, what: object, problem: str) -> None:
        self.entries.append(f"{printable(what)[:200]!r}: {problem}")


def valid_package_name(name: object) -> str | None:
    """Why ``name`` is not a normalized Python package name as the API gives it, or None."""
    if not isinstance(name, str) or not name:
        return "not a name"
    if len(name) > 255 or not _NAME_RE.fullmatch(name):
        return "not a normalized Python package name"
    if canonicalize_name(name) != name:  # pragma: no cover - the pattern already implies it
        return "not normalized"
    return None


def _same_version(filename: str, version: str) -> bool:
    """Whether a file name carries ``version`` (PEP 440 equality where both parse)."""
    try:
        found = parse_filename(filename).version
        return found == Version(version)
    except (ValueError, InvalidVersion):
        return False


class Repository:
    """One region's repository through its CodeArtifact client, rate-limited and checked."""

    def __init__(
        self,
        endpoint: Endpoint,
        resolver: Resolver,
        policy: RetryPolicy,
        sleep: Callable[[float], None] = interruptible_sleep,
    ) -> None:
        self.endpoint = endpoint
        self.target = endpoint.target
        self.policy = policy
        self.sleep = sleep
        self._client = resolver.client(self.target)
        owner, region = endpoint.domain_owner, endpoint.region
        self._limits = {
            op: shared_limiter(op, owner, region, LIST_RATE)
            for op in ("ListPackages", "ListPackageVersions", "ListPackageVersionAssets")
        }
        # Shared with the index's downloads and uploads: one quota, whichever path uses it.
        self._limits["GetPackageVersionAsset"] = shared_limiter(
            "read", owner, region, policy.read_rate
        )
        self._limits["UpdatePackageVersionsStatus"] = shared_limiter(
            "write", owner, region, policy.write_rate
        )

    @property
    def region(self) -> str:
        return self.target.region

    def _where(self, **extra: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "domain": self.target.domain,
            "repository": self.target.repository,
            **extra,
        }
        if self.endpoint.domain_owner:
            kwargs["domainOwner"] = self.endpoint.domain_owner
        return kwargs

    def _request(self, operation: str, **kwargs: Any) -> dict[str, Any] | None:
        """One call at the quota; None where the package or version does not exist."""
        from botocore.exceptions import ClientError

        method = getattr(self._client, _snake(operation))
        missing: list[bool] = []

        def call(**params: Any) -> Any:
            try:
                return method(**params)
            except ClientError as exc:
                if (
                    exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException"
                    and "package" in params
                ):
                    missing.append(True)
                    return {}
                raise

        check_stop()
        try:
            # Held until the answer's headers are in: the quota counts requests arriving.
            with self._limits[operation].slot():
                response = _call(self.target, operation, call, **kwargs)
        except CodeArtifactError as exc:
            raise RepositoryError(str(exc)) from None
        if missing:
            return None
        if not isinstance(response, dict):
            raise RepositoryError(f"{self.region}: {operation} answered with no document")
        return response

    def _pages(
        self, operation: str, key: str, **kwargs: Any
    ) -> Iterator[tuple[list[Any], dict[str, Any]]] | None:
        """The pages of a List* call, following nextToken; None if the package is absent."""
        first = self._request(operation, **kwargs, maxResults=PAGE_SIZE)
        if first is None:
            return None

        def pages(page: dict[str, Any]) -> Iterator[tuple[list[Any], dict[str, Any]]]:
            seen: set[str] = set()
            while True:
                items = page.get(key, [])
                yield (items if isinstance(items, list) else []), page
                token = page.get("nextToken")
                if not token:
                    return
                if not isinstance(token, str) or token in seen:
                    raise RepositoryError(
                        f"{self.region}: {operation} returned a nextToken "
                        "it had returned before; stopped reading"
                    )
                seen.add(token)
                following = self._request(
                    operation, **kwargs, maxResults=PAGE_SIZE, nextToken=token
                )
                if following is None:
                    raise RepositoryError(
                        f"{self.region}: {operation}: the package went away while it was read"
                    )
                page = following

        return pages(first)

    # reading -----------------------------------------------------------------

    def packages(self, refused: Refused) -> list[str]:
        """Normalized names of every PyPI package in the repository (ListPackages)."""
        names: list[str] = []
        pages = self._pages("ListPackages", "packages", **self._where(format="pypi"))
        for items, _ in pages or ():
            for item in items:
                name = item.get("package") if isinstance(item, dict) else None
                problem = valid_package_name(name)
                if (
                    problem is None
                    and isinstance(item, dict)
                    and item.get("format") not in (None, "pypi")
                ):
                    problem = "not a PyPI package"
                if problem is None and item.get("namespace"):
                    problem = "a PyPI package has no namespace"
                if problem is not None:
                    refused.add(name, problem)
                    continue
                names.append(str(name))
        return list(dict.fromkeys(names))

    def versions(self, package: str, refused: Refused) -> list[VersionInfo]:
        """Every version of ``package`` with its status and origin type ([] if absent)."""
        pages = self._pages(
            "ListPackageVersions", "versions", **self._where(format="pypi", package=package)
        )
        found: dict[str, VersionInfo] = {}
        for items, _ in pages or ():
            for item in items:
                info = _version_info(item, refused, package)
                if info is not None and info.version not in found:
                    found[info.version] = info
        return list(found.values())

    def version(self, package: str, version: str, refused: Refused) -> VersionInfo | None:
        """One version's status and origin (ListPackageVersions: there is no single get)."""
        return next((v for v in self.versions(package, refused) if v.version == version), None)

    def assets(self, package: str, version: str, refused: Refused) -> list[AssetInfo]:
        """The files of one version with their SHA-256 and size ([] if none)."""
        pages = self._pages(
            "ListPackageVersionAssets",
            "assets",
            **self._where(format="pypi", package=package, packageVersion=version),
        )
        found: dict[str, AssetInfo] = {}
        for items, _ in pages or ():
            for item in items:
                asset = _asset_info(item, package, version, refused)
                if asset is None:
                    continue
                if asset.name in found and found[asset.name] != asset:
                    refused.add(asset.name, "listed twice with different hashes")
                    continue
                found[asset.name] = asset
        return sorted(found.values(), key=lambda a: a.name)

    # bytes -------------------------------------------------------------------

    def download(self, package: str, version: str, asset: AssetInfo, dest: Path) -> None:
        """Stream one asset to ``dest`` (a path the caller chose), checked against the listing.

        More bytes than listed, a deadline passed or another SHA-256 fails the download;
        a connection lost midway is tried again with backoff, from the start.
        """
        attempt = 0
        while True:
            attempt += 1
            try:
                self._download_once(package, version, asset, dest)
                return
            except _Transient as exc:
                dest.unlink(missing_ok=True)
                if attempt >= self.policy.attempts:
                    raise RepositoryError(
                        f"{self.region}: GetPackageVersionAsset "
                        f"{asset.name}: {exc} (gave up after {attempt} "
                        "attempts)"
                    ) from None
            except BaseException:
                dest.unlink(missing_ok=True)
                raise
            self.sleep(self.policy.delay(attempt))

    def _download_once(self, package: str, version: str, asset: AssetInfo, dest: Path) -> None:
        from botocore.exceptions import BotoCoreError

        response = self._request(
            "GetPackageVersionAsset",
            **self._where(format="pypi", package=package, packageVersion=version, asset=asset.name),
        )
        if response is None:
            raise RepositoryError(
                f"{self.region}: {asset.name} of {package} {version} "
                "cannot be downloaded (not found)"
            )
        body = response.get("asset")
        if body is None or not hasattr(body, "iter_chunks"):
            raise RepositoryError(
                f"{self.region}: GetPackageVersionAsset answered without the file"
            )
        started = time.monotonic()
        hasher = hashlib.sha256()
        seen = 0
        try:
            with dest.open("wb") as sink:
                for chunk in body.iter_chunks(CHUNK):
                    check_stop()
                    seen += len(chunk)
                    if seen > asset.size:
                        raise RepositoryError(
                            f"{self.region}: {asset.name} runs past the "
                            f"{asset.size} bytes listed; cut off"
                        )
                    if time.monotonic() - started > self.policy.deadline:
                        raise _Transient(f"took longer than {self.policy.deadline:.0f}s")
                    hasher.update(chunk)
                    sink.write(chunk)
        except BotoCoreError as exc:
            raise _Transient(redact(f"the transfer broke off ({type(exc).__name__})")) from None
        except OSError as exc:
            if isinstance(exc, (ConnectionError, TimeoutError)):
                raise _Transient(f"the transfer broke off ({type(exc).__name__})") from None
            raise
        finally:
            body.close()
        if seen != asset.size:
            raise _Transient(f"got {seen} of the {asset.size} bytes listed")
        if hasher.hexdigest() != asset.sha256:
            raise RepositoryError(
                f"{self.region}: {asset.name}: downloaded sha256 "
                f"{hasher.hexdigest()[:12]}… is not the listed "
                f"{asset.sha256[:12]}…; not copied"
            )

    # writing -----------------------------------------------------------------

    def set_status(self, package: str, version: str, status: str, expected: str) -> None:
        """Move one version from ``expected`` to ``status`` (UpdatePackageVersionsStatus)."""
        if status not in SETTABLE:
            raise RepositoryError(f"{status} cannot be set with UpdatePackageVersionsStatus")
        response = self._request(
            "UpdatePackageVersionsStatus",
            **self._where(
                format="pypi",
                package=package,
                versions=[version],
                targetStatus=status,
                expectedStatus=expected,
            ),
        )
        failed = (response or {}).get("failedVersions") or {}
        if response is None or version in failed:
            detail = failed.get(version, {}) if isinstance(failed, dict) else {}
            code = detail.get("errorCode", "NOT_FOUND") if isinstance(detail, dict) else "?"
            message = detail.get("errorMessage", "") if isinstance(detail, dict) else ""
            raise RepositoryError(
                printable(
                    redact(
                        f"{self.region}: status of {package} {version} not set to {status}: "
                        f"{code} {message}".rstrip()
                    )
                )
            )


class _Transient(Exception):
    """A download that may succeed when tried again."""


def _snake(operation: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation).lower()


def _version_info(item: object, refused: Refused, package: str) -> VersionInfo | None:
    if not isinstance(item, dict):
        refused.add(item, f"a version entry of {package} that is not an object")
        return None
    version, status = item.get("version"), item.get("status")
    origin = item.get("origin", {})
    kind = origin.get("originType", "UNKNOWN") if isinstance(origin, dict) else None
    if (
        not isinstance(version, str)
        or not version
        or len(version) > MAX_VERSION_CHARS
        or printable(version) != version
        or any(c in version for c in "/\\ ")
    ):
        refused.add(version, f"not a version of {package}")
        return None
    if status not in STATUSES:
        refused.add(f"{package} {version}", f"unknown status {printable(status)[:40]!r}")
        return None
    if kind not in ORIGIN_TYPES:
        refused.add(f"{package} {version}", f"unknown origin type {printable(kind)[:40]!r}")
        return None
    return VersionInfo(version, str(status), str(kind))


def _asset_info(item: object, package: str, version: str, refused: Refused) -> AssetInfo | None:
    if not isinstance(item, dict):
        refused.add(item, "an asset entry that is not an object")
        return None
    name, size = item.get("name"), item.get("size")
    hashes = item.get("hashes")
    sha = hashes.get("SHA-256") if isinstance(hashes, dict) else None
    problem = dist_filename_error(name, package) if isinstance(name, str) else "not a name"
    if problem is None and not _same_version(str(name), version):
        problem = f"not a file of version {version}"
    if problem is None and (not isinstance(sha, str) or not _SHA256_RE.fullmatch(sha.lower())):
        problem = "its SHA-256 is not 64 hex digits"
    if problem is None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        problem = "its size is not a whole number"
    if problem is not None:
        refused.add(name, problem)
        return None
    return AssetInfo(str(name), str(sha).lower(), int(size))  # type: ignore[arg-type]
