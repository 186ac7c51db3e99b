"""One regional PEP 503 index: what it holds, uploads with retries, downloads.

Uploads go through twine's ``Repository`` and ``PackageFile``; what twine leaves
to us is done here: a timeout on every request, backoff with jitter instead of
immediate 5xx retries, a look at the index before each retry (the upload may
have landed), and one token refresh when the index starts answering 401/403.
An index's word on an existing file is never taken from a status code: only the
sha256 it lists decides between "identical" and "conflict".
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import requests
from packaging.utils import canonicalize_name

from .report import CONFLICT, FAILED, IDENTICAL, UPLOADED, redact

if TYPE_CHECKING:
    from .artifacts import Artifact
    from .aws import Endpoint

CHUNK = 1 << 20
# Errors after which the request may be tried again (the body may even have landed).
# A body that fails to decode (a proxy or load balancer mangled it) is worth another try too.
_TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
              requests.exceptions.ContentDecodingError)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
AUTH_STATUSES = frozenset({401, 403})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds for one request: attempts, backoff and timeouts (seconds)."""

    attempts: int = 5
    backoff: float = 0.5
    backoff_max: float = 20.0
    retry_after_max: float = 60.0
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    # Uploads started per second per account and region: CodeArtifact's default quota
    # for PublishPackageVersion-class writes is 100/s, shared by every caller of the account.
    write_rate: float = 100.0
    # Asset downloads started per second per account and region (GetPackageVersionAsset's
    # default quota is 50/s): sync's copies and the hashing of fragment-less index entries.
    read_rate: float = 50.0

    @classmethod
    def from_env(cls, environ: Any = None) -> RetryPolicy:
        """Read ``CODEARTIFACT_MULTIREGION_*`` overrides, for pipelines with odd networks."""
        env = os.environ if environ is None else environ
        fields = {
            "attempts": ("CODEARTIFACT_MULTIREGION_ATTEMPTS", int),
            "backoff": ("CODEARTIFACT_MULTIREGION_BACKOFF", float),
            "connect_timeout": ("CODEARTIFACT_MULTIREGION_CONNECT_TIMEOUT", float),
            "read_timeout": ("CODEARTIFACT_MULTIREGION_READ_TIMEOUT", float),
        }
        values: dict[str, Any] = {}
        for name, (var, kind) in fields.items():
            if var in env:
                try:
                    values[name] = kind(env[var])
                except ValueError:
                    from .errors import UsageError

                    raise UsageError(f"{var}={env[var]!r} is not a number. "
                                     "Set it to a number or unset it.") from None
        return cls(**values)

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Exponential backoff with jitter; a server's Retry-After wins when it gives one."""
        if retry_after is not None:
            try:
                return min(max(float(retry_after), 0.0), self.retry_after_max)
            except ValueError:
                pass
        ceiling = min(self.backoff_max, self.backoff * 2 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


class RateLimiter:
    """At most ``limit`` acquisitions in any ``period`` seconds (a sliding window).

    Stricter than a token bucket of the same rate (which allows a burst plus a refill
    in one window), so a server counting requests per second never sees more than
    ``limit``.
    """

    def __init__(self, limit: float, period: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limit = max(int(limit), 1)
        self.period = period
        self._sleep = sleep
        self._stamps: deque[float] = deque()
        self._lock = threading.Lock()
        # Held around acquire-and-call by callers whose requests should also arrive in order
        # (token requests), so slow threads cannot bunch two windows' worth together.
        self.serial = threading.Lock()

    def acquire(self) -> float:
        """Wait for a slot; returns the monotonic time the slot was granted at."""
        while True:
            with self._lock:
                now = time.monotonic()
                while self._stamps and now - self._stamps[0] >= self.period:
                    self._stamps.popleft()
                if len(self._stamps) < self.limit:
                    self._stamps.append(now)
                    return now
                wait = self.period - (now - self._stamps[0])
            self._sleep(wait)


_limiters: dict[tuple[Any, ...], RateLimiter] = {}
_limiters_lock = threading.Lock()


def shared_limiter(kind: str, owner: str | None, region: str, limit: float) -> RateLimiter:
    """One limiter per (kind, account, region) in this process, shared by every Index/Resolver."""
    key = (kind, owner, region, limit)
    with _limiters_lock:
        if key not in _limiters:
            _limiters[key] = RateLimiter(limit)
        return _limiters[key]


@dataclass
class UploadResult:
    outcome: str
    attempts: int
    error: str | None = None


class IndexReadError(Exception):
    """The index could not be read; carries a redacted message for the report."""


class _Links(HTMLParser):
    """Collects (filename, sha256 or None, absolute url) from a PEP 503 page."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.links: dict[str, tuple[str | None, str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        href = dict(attrs).get("href")
        if not href:
            return
        url, fragment = urldefrag(urljoin(self.base, href))
        filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        algo, _, digest = fragment.partition("=")
        self.links[filename] = (digest.lower() if algo == "sha256" and digest else None, url)


class Index:
    """A regional repository reached over one keep-alive HTTP session."""

    def __init__(
        self,
        endpoint: Endpoint,
        policy: RetryPolicy | None = None,
        pool_size: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from requests.adapters import HTTPAdapter
        from twine.repository import Repository

        self.endpoint = endpoint
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        # twine's session carries twine's User-Agent; its urllib3 retries are replaced
        # by ours (twine retries 5xx at once, with no backoff and no timeout).
        self.repository = Repository(endpoint.url, "aws", endpoint.token, disable_progress_bar=True)
        adapter = HTTPAdapter(max_retries=0, pool_connections=1, pool_maxsize=max(pool_size, 1))
        for scheme in ("http://", "https://"):
            self.repository.session.mount(scheme, adapter)
        self.session: requests.Session = self.repository.session
        self._auth_lock = threading.Lock()
        self._token_generation = 0
        self._refreshed = False
        self._writes = shared_limiter("write", endpoint.domain_owner, endpoint.region,
                                      self.policy.write_rate)
        self._reads = shared_limiter("read", endpoint.domain_owner, endpoint.region,
                                     self.policy.read_rate)

    @property
    def region(self) -> str:
        return self.endpoint.region

    def close(self) -> None:
        self.repository.close()

    # reading -------------------------------------------------------------

    def project_url(self, project: str) -> str:
        return f"{self.endpoint.simple_url}{canonicalize_name(project)}/"

    def links(self, project: str) -> dict[str, tuple[str | None, str]]:
        """Every file the index lists for ``project``: filename -> (sha256 or None, url)."""
        url = self.project_url(project)
        response = self._request("GET", url, what=f"reading {url}")
        if response.status_code == 404:
            return {}
        if response.status_code != 200:
            raise IndexReadError(self._describe(response, f"reading {url}"))
        parser = _Links(response.url or url)
        parser.feed(response.text)
        return parser.links

    def hashes(self, project: str, filenames: Iterable[str] | None = None) -> dict[str, str]:
        """filename -> sha256 of what the index lists (only ``filenames`` if given).

        Where the index gives no sha256 fragment the file is downloaded and hashed,
        so a filter keeps that to the files this run is about.
        """
        wanted = None if filenames is None else set(filenames)
        result = {}
        for filename, (digest, url) in self.links(project).items():
            if wanted is None or filename in wanted:
                result[filename] = digest or self.download(url, None)
        return result

    def download(self, url: str, dest: Path | None) -> str:
        """Stream ``url`` to ``dest`` (or nowhere) and return its sha256; memory stays flat."""
        attempt = 0
        while True:
            attempt += 1
            hasher = hashlib.sha256()
            self._reads.acquire()
            try:
                with self._send("GET", url, stream=True) as response:
                    if response.status_code == 200:
                        sink = dest.open("wb") if dest is not None else None
                        try:
                            for chunk in response.iter_content(CHUNK):
                                hasher.update(chunk)
                                if sink is not None:
                                    sink.write(chunk)
                        finally:
                            if sink is not None:
                                sink.close()
                        return hasher.hexdigest()
                    retry_after = response.headers.get("Retry-After")
                    if not self._should_retry(response.status_code, attempt):
                        raise IndexReadError(self._describe(response, f"downloading {url}"))
            except _TRANSIENT as exc:
                if attempt >= self.policy.attempts:
                    raise IndexReadError(redact(f"downloading {url}: {_reason(exc)}")) from None
                retry_after = None
            self._sleep(self.policy.delay(attempt, retry_after))

    # uploading -----------------------------------------------------------

    def upload(self, artifact: Artifact, on_retry: Callable[[int, str], None] | None = None
               ) -> UploadResult:
        """Upload once, retrying transient failures; the index decides what an error meant."""
        attempt = 0
        maybe_landed = False
        while True:
            attempt += 1
            generation = self._token_generation
            self._writes.acquire()
            try:
                response = self._post(artifact)
            except _TRANSIENT as exc:
                # The body may have arrived before the connection broke.
                maybe_landed = True
                problem = _reason(exc)
                retry_after = None
            except requests.RequestException as exc:
                return UploadResult(FAILED, attempt, redact(f"upload: {_reason(exc)}: {exc}"))
            else:
                status = response.status_code
                if 200 <= status < 300:
                    return UploadResult(UPLOADED, attempt)
                if status in AUTH_STATUSES and self._refresh(generation):
                    if on_retry:
                        on_retry(attempt, f"HTTP {status}: token refreshed")
                    continue
                if status in RETRY_STATUSES:
                    maybe_landed = maybe_landed or status >= 500
                    problem = f"HTTP {status} {response.reason or ''}".strip()
                    retry_after = response.headers.get("Retry-After")
                else:
                    # 400/409 may mean "already there"; only the index can say with what bytes.
                    found = self._lookup(artifact)
                    if found is not None:
                        return self._judge(artifact, found, attempt, maybe_landed)
                    return UploadResult(FAILED, attempt, self._describe(response, "upload"))
            if attempt >= self.policy.attempts:
                # Look once more before giving up: the last attempt may have landed.
                found = self._lookup(artifact) if maybe_landed else None
                if found is not None:
                    return self._judge(artifact, found, attempt, maybe_landed)
                return UploadResult(FAILED, attempt,
                                    f"{problem} (gave up after {attempt} attempts)")
            if on_retry:
                on_retry(attempt, problem)
            self._sleep(self.policy.delay(attempt, retry_after))
            if maybe_landed:
                found = self._lookup(artifact)
                if found is not None:
                    return self._judge(artifact, found, attempt, maybe_landed)

    def _judge(self, artifact: Artifact, found: str, attempts: int, maybe_landed: bool
               ) -> UploadResult:
        if found == artifact.sha256:
            return UploadResult(UPLOADED if maybe_landed else IDENTICAL, attempts)
        return UploadResult(
            CONFLICT, attempts,
            f"the index already holds {artifact.filename} with sha256 {found[:12]}…, "
            f"not {artifact.sha256[:12]}…; it was left unchanged",
        )

    def _lookup(self, artifact: Artifact) -> str | None:
        """The sha256 the index lists for this file now, or None (absent or unreadable)."""
        try:
            return self.hashes(artifact.project, [artifact.filename]).get(artifact.filename)
        except (IndexReadError, *_TRANSIENT):
            return None

    def _post(self, artifact: Artifact) -> requests.Response:
        import requests_toolbelt

        package = artifact.package
        data = self.repository._convert_metadata_to_list_of_tuples(package.metadata_dictionary())
        data += [(":action", "file_upload"), ("protocol_version", "1")]
        with open(package.filename, "rb") as fh:
            data.append(("content", (package.basefilename, fh, "application/octet-stream")))
            encoder = requests_toolbelt.MultipartEncoder(data)
            response = self.session.post(
                self.repository.url,
                data=encoder,
                allow_redirects=False,
                headers={"Content-Type": encoder.content_type},
                timeout=self.policy.timeout,
            )
        response.close()
        return response

    # plumbing ------------------------------------------------------------

    def _refresh(self, generation: int) -> bool:
        """Refresh the token once per index; False once that refresh has been spent."""
        with self._auth_lock:
            if generation != self._token_generation:
                return True  # another upload refreshed it meanwhile: just try again
            if self._refreshed:
                return False
            self._refreshed = True
            try:
                token = self.endpoint.refresh_token()
            except Exception:
                return False
            self.session.auth = ("aws", token)
            self._token_generation += 1
            return True

    def _should_retry(self, status: int, attempt: int) -> bool:
        return status in RETRY_STATUSES and attempt < self.policy.attempts

    def _send(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, url, timeout=self.policy.timeout, **kwargs)

    def _request(self, method: str, url: str, what: str) -> requests.Response:
        attempt = 0
        while True:
            attempt += 1
            generation = self._token_generation
            try:
                response = self._send(method, url)
            except _TRANSIENT as exc:
                if attempt >= self.policy.attempts:
                    raise IndexReadError(redact(
                        f"{what}: {_reason(exc)} (gave up after {attempt} attempts)")) from None
                self._sleep(self.policy.delay(attempt))
                continue
            except requests.RequestException as exc:
                raise IndexReadError(redact(f"{what}: {_reason(exc)}: {exc}")) from None
            if response.status_code in AUTH_STATUSES and self._refresh(generation):
                continue
            if not self._should_retry(response.status_code, attempt):
                return response
            self._sleep(self.policy.delay(attempt, response.headers.get("Retry-After")))

    def _describe(self, response: requests.Response, what: str) -> str:
        # Redact before cutting: a cut through a token would leave a prefix no redaction knows.
        body = redact(" ".join(response.text.split()))[:200] if response.text else ""
        text = f"{what}: HTTP {response.status_code} {response.reason or ''}".rstrip()
        if response.status_code in AUTH_STATUSES:
            text += " (the token was refused; check PublishPackageVersion/ReadFromRepository)"
        return redact(f"{text}: {body}" if body else text)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, requests.Timeout):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed or was reset"
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return "the answer could not be decoded"
    return type(exc).__name__
