"""One regional PEP 503 index: what it holds, uploads with retries, downloads.

What twine's ``Repository`` leaves out is done here: a timeout and a deadline on every
request (``transport.py``), backoff with jitter instead of immediate 5xx retries, a look
at the index before each retry (the upload may have landed), and one token refresh when
the index starts answering 401/403. The upload form is built here from twine's
``PackageFile.metadata_dictionary()``, a public API, so no private twine name is used.

An index is untrusted: a link is used only if its file name is a plain distribution file
name of the package being read and it points into the repository's own origin; anything
else is a rejected entry, reported and never fetched, uploaded or used as a path. An
index's word on an existing file is never taken from a status code: only the sha256 it
lists decides between "identical" and "conflict".
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import requests
from packaging.utils import canonicalize_name

from .errors import IndexReadError
from .multipart import MultipartBody
from .names import filename_error as dist_filename_error
from .report import CONFLICT, FAILED, IDENTICAL, UPLOADED, Outcome
from .retry import RetryPolicy, Sleep, shared_limiter
from .retry import sleep as interruptible_sleep
from .secrets import redact
from .text import printable
from .transport import CHUNK, BodyTooLarge, DeadlineExceeded, RedirectRefused, Transport

if TYPE_CHECKING:
    from .artifacts import Artifact
    from .aws import Endpoint

# Errors after which the request may be tried again (the body may even have landed).
# A body that fails to decode (a proxy or load balancer mangled it) is worth another try too.
_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
AUTH_STATUSES = frozenset({401, 403})
SHA256_RE = re.compile(r"[0-9a-f]{64}")

# What an index may make one run do (per package listing).
MAX_PAGE_BYTES = 32 << 20  # a simple page: about 100,000 links
MAX_UNHASHED = 100  # links without a sha256 fragment, downloaded to hash
MAX_DOWNLOAD_BYTES = 8 << 30  # one file (CodeArtifact's asset limit is far lower)


@dataclass
class UploadResult:
    outcome: Outcome
    attempts: int
    error: str | None = None


@dataclass
class Listing:
    """What an index lists for one package: usable files, and the entries refused."""

    files: dict[str, tuple[str | None, str]] = field(default_factory=dict)  # name -> (sha, url)
    rejected: list[str] = field(default_factory=list)  # printable, for the report


class _Links(HTMLParser):
    """Collects (filename, sha256 fragment or None, absolute url) from a PEP 503 page."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base
        self.links: list[tuple[str, str | None, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        href = dict(attrs).get("href")
        if not href:
            return
        try:
            url, fragment = urldefrag(urljoin(self.base, href))
            filename = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
        except ValueError:  # an unclosed IPv6 bracket and the like: kept, to be refused
            url, fragment, filename = "", "", unquote(href.rsplit("/", 1)[-1].split("#")[0])
        algo, _, digest = fragment.partition("=")
        self.links.append((filename, digest.lower() if algo == "sha256" else None, url))


def upload_form(package: Any) -> list[tuple[str, str]]:
    """The legacy upload API's form fields, from twine's public ``metadata_dictionary()``.

    This is what warehouse's ``parse_form_metadata`` reads, in reverse: lists become
    repeated fields, ``project_urls`` "name, url" pairs, ``keywords`` one joined field.
    """
    fields: list[tuple[str, str]] = []
    for key, value in package.metadata_dictionary().items():
        if value is None or key == "gpg_signature":
            continue
        if isinstance(value, dict):
            fields.extend((key, f"{name}, {url}") for name, url in value.items())
        elif key == "keywords" and isinstance(value, (list, tuple)):
            fields.append((key, ", ".join(str(v) for v in value)))
        elif isinstance(value, (list, tuple)):
            fields.extend((key, str(item)) for item in value)
        else:
            fields.append((key, str(value)))
    return [*fields, (":action", "file_upload"), ("protocol_version", "1")]


class Index:
    """A regional repository reached over one keep-alive HTTP session."""

    def __init__(
        self,
        endpoint: Endpoint,
        policy: RetryPolicy | None = None,
        pool_size: int = 8,
        sleep: Sleep = interruptible_sleep,
        transport: Transport | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.policy = policy or RetryPolicy()
        self.sleep = sleep
        # ``transport``: one opened for this endpoint's URL before its token came (its
        # connections warmed meanwhile); it gets the token here.
        if transport is not None and transport.base_url != endpoint.url:
            transport.close()  # for another URL: its origin must never get this token
            transport = None
        if transport is None:
            transport = Transport(endpoint.url, ("aws", ""), self.policy, pool_size)
        transport.auth = ("aws", endpoint.token)
        self.transport = transport
        self._auth_lock = threading.Lock()
        self._token_generation = 0
        self._refreshed = False
        self._writes = shared_limiter(
            "write", endpoint.domain_owner, endpoint.region, self.policy.write_rate
        )
        self._reads = shared_limiter(
            "read", endpoint.domain_owner, endpoint.region, self.policy.read_rate
        )

    @property
    def region(self) -> str:
        return self.endpoint.region

    def close(self) -> None:
        self.transport.close()

    # reading -------------------------------------------------------------

    def project_url(self, project: str) -> str:
        return f"{self.endpoint.simple_url}{canonicalize_name(project)}/"

    def listing(self, project: str) -> Listing:
        """Every file the index lists for ``project``, checked; refused entries kept apart."""
        url = self.project_url(project)
        page, final_url = self._read_page(url)
        parser = _Links(final_url)
        parser.feed(page)
        listing = Listing()
        for filename, digest, link in parser.links:
            problem = dist_filename_error(filename, project)
            if problem is None and not self.transport.trusted(link):
                problem = "points outside the repository"
            if problem is None and digest is not None and not SHA256_RE.fullmatch(digest):
                problem = "its sha256 fragment is not 64 hex digits"
            if problem is None and filename in listing.files:
                if listing.files[filename] == (digest, link):
                    continue
                problem = "listed twice with different links"  # the first one is kept
            if problem is not None:
                listing.rejected.append(f"'{printable(filename)}': {problem}")
                continue
            listing.files[filename] = (digest, link)
        return listing

    def hashes(self, project: str, filenames: Iterable[str] | None = None) -> dict[str, str]:
        """filename -> sha256 of what the index lists (only ``filenames`` if given).

        Where the index gives no sha256 fragment the file is downloaded and hashed (at
        most ``MAX_UNHASHED`` of them), so a filter keeps that to the files a run is about.
        """
        return self.lookup(project, filenames)[0]

    def lookup(
        self, project: str, filenames: Iterable[str] | None = None
    ) -> tuple[dict[str, str], list[str]]:
        """``hashes`` and the entries the index listed that were refused (for the report)."""
        wanted = None if filenames is None else set(filenames)
        listing = self.listing(project)
        files = {
            name: entry for name, entry in listing.files.items() if wanted is None or name in wanted
        }
        return ({name: sha for name, (sha, _) in self.hash_all(files).items()}, listing.rejected)

    def hash_all(self, files: dict[str, tuple[str | None, str]]) -> dict[str, tuple[str, str]]:
        """Fill in the sha256 of entries without a fragment by downloading them (bounded)."""
        unhashed = [name for name, (digest, _) in files.items() if digest is None]
        if len(unhashed) > MAX_UNHASHED:
            raise IndexReadError(
                f"{self.region}: the index lists {len(unhashed)} files without a sha256 "
                f"fragment; at most {MAX_UNHASHED} are downloaded to hash. A CodeArtifact "
                "index lists every sha256: check the repository endpoint."
            )
        return {
            name: (digest or self.download(url, None), url) for name, (digest, url) in files.items()
        }

    def download(self, url: str, dest: Path | None, max_bytes: int | None = None) -> str:
        """Stream ``url`` to ``dest`` (or nowhere) and return its sha256; memory stays flat.

        ``dest`` is a path the caller chose; the index's name for the file is never one.
        More than ``max_bytes`` (default ``MAX_DOWNLOAD_BYTES``, read at call time), or than
        the answer's own Content-Length, fails the download.
        """
        if max_bytes is None:
            max_bytes = MAX_DOWNLOAD_BYTES
        attempt = 0
        while True:
            attempt += 1
            self._reads.acquire()
            retry_after: str | None = None
            try:
                with self.transport.open("GET", url) as response:
                    if response.status_code == 200:
                        return self._stream(response, dest, max_bytes)
                    retry_after = response.headers.get("Retry-After")
                    if not self._should_retry(response.status_code, attempt):
                        raise IndexReadError(self._describe(response, f"downloading {url}"))
            except (BodyTooLarge, RedirectRefused) as exc:
                raise IndexReadError(redact(f"downloading {url}: {exc}")) from None
            except _TRANSIENT as exc:
                if attempt >= self.policy.attempts:
                    raise IndexReadError(redact(f"downloading {url}: {_reason(exc)}")) from None
            self.sleep(self.policy.delay(attempt, retry_after))

    def _stream(self, response: requests.Response, dest: Path | None, max_bytes: int) -> str:
        declared = response.headers.get("Content-Length", "")
        limit = min(max_bytes, int(declared)) if declared.isdigit() else max_bytes
        if declared.isdigit() and int(declared) > max_bytes:
            raise BodyTooLarge(f"the file is {int(declared)} bytes; at most {max_bytes} are read")
        hasher = hashlib.sha256()
        seen = 0
        sink: IO[bytes] | None = dest.open("wb") if dest is not None else None
        try:
            for chunk in response.iter_content(CHUNK):
                seen += len(chunk)
                if seen > limit:
                    raise BodyTooLarge(f"the answer runs past {limit} bytes; cut off")
                hasher.update(chunk)
                if sink is not None:
                    sink.write(chunk)
        finally:
            if sink is not None:
                sink.close()
        return hasher.hexdigest()

    # uploading -----------------------------------------------------------

    def upload(
        self, artifact: Artifact, on_retry: Callable[[int, str], None] | None = None
    ) -> UploadResult:
        """Upload once, retrying transient failures; the index decides what an error meant."""
        attempt = 0
        maybe_landed = False
        while True:
            attempt += 1
            generation = self._token_generation
            self._writes.acquire()
            retry_after: str | None = None
            try:
                status, reason, described = self._post(artifact)
            except _TRANSIENT as exc:
                # The body may have arrived before the connection broke.
                maybe_landed = True
                problem = _reason(exc)
            except requests.RequestException as exc:
                return UploadResult(FAILED, attempt, redact(f"upload: {_reason(exc)}: {exc}"))
            else:
                if 200 <= status < 300:
                    return UploadResult(UPLOADED, attempt)
                if status in AUTH_STATUSES and self._refresh(generation):
                    if on_retry:
                        on_retry(attempt, f"HTTP {status}: token refreshed")
                    continue
                if status in RETRY_STATUSES:
                    maybe_landed = maybe_landed or status >= 500
                    problem = f"HTTP {status} {reason}".strip()
                    retry_after = described.get("Retry-After")
                else:
                    # 400/409 may mean "already there"; only the index can say with what bytes.
                    found = self._lookup(artifact)
                    if found is not None:
                        return self._judge(artifact, found, attempt, maybe_landed)
                    return UploadResult(FAILED, attempt, described["text"])
            if attempt >= self.policy.attempts:
                # Look once more before giving up: the last attempt may have landed.
                found = self._lookup(artifact) if maybe_landed else None
                if found is not None:
                    return self._judge(artifact, found, attempt, maybe_landed)
                return UploadResult(
                    FAILED, attempt, f"{problem} (gave up after {attempt} attempts)"
                )
            if on_retry:
                on_retry(attempt, problem)
            self.sleep(self.policy.delay(attempt, retry_after))
            if maybe_landed:
                found = self._lookup(artifact)
                if found is not None:
                    return self._judge(artifact, found, attempt, maybe_landed)

    def _judge(
        self, artifact: Artifact, found: str, attempts: int, maybe_landed: bool
    ) -> UploadResult:
        if found == artifact.sha256:
            return UploadResult(UPLOADED if maybe_landed else IDENTICAL, attempts)
        return UploadResult(
            CONFLICT,
            attempts,
            f"the index already holds {artifact.filename} with sha256 {found[:12]}…, "
            f"not {artifact.sha256[:12]}…; it was left unchanged",
        )

    def _lookup(self, artifact: Artifact) -> str | None:
        """The sha256 the index lists for this file now, or None (absent or unreadable)."""
        try:
            return self.hashes(artifact.project, [artifact.filename]).get(artifact.filename)
        except (IndexReadError, *_TRANSIENT):
            return None

    def _post(self, artifact: Artifact) -> tuple[int, str, dict[str, str]]:
        """POST the file; returns (status, reason, {"text": description, "Retry-After": ...})."""
        with open(artifact.path, "rb") as fh:
            encoder = MultipartBody(upload_form(artifact.package), "content", artifact.filename, fh)
            with self.transport.open(
                "POST",
                self.endpoint.url,
                data=encoder,
                headers={"Content-Type": encoder.content_type},
            ) as response:
                status = response.status_code
                if 200 <= status < 300:
                    # Read the (short) answer: one garbled in transit is worth another try.
                    self.transport.read(response, 1 << 16)
                described = {
                    "text": "" if 200 <= status < 300 else self._describe(response, "upload")
                }
                if "Retry-After" in response.headers:
                    described["Retry-After"] = response.headers["Retry-After"]
                return status, response.reason or "", described

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
            self.transport.auth = ("aws", token)
            self._token_generation += 1
            return True

    def _should_retry(self, status: int, attempt: int) -> bool:
        return status in RETRY_STATUSES and attempt < self.policy.attempts

    def _read_page(self, url: str) -> tuple[str, str]:
        """The project page's text and final URL ("" when the index has no such project)."""
        what = f"reading {url}"
        attempt = 0
        while True:
            attempt += 1
            generation = self._token_generation
            retry_after: str | None = None
            try:
                with self.transport.open("GET", url) as response:
                    status = response.status_code
                    if status == 200:
                        body = self.transport.read(response, MAX_PAGE_BYTES)
                        return _decode(body, response.encoding), response.url
                    if status == 404:
                        return "", url
                    if status in AUTH_STATUSES and self._refresh(generation):
                        continue
                    if not self._should_retry(status, attempt):
                        raise IndexReadError(self._describe(response, what))
                    retry_after = response.headers.get("Retry-After")
            except (BodyTooLarge, RedirectRefused) as exc:
                raise IndexReadError(redact(f"{what}: {exc}")) from None
            except _TRANSIENT as exc:
                if attempt >= self.policy.attempts:
                    raise IndexReadError(
                        redact(f"{what}: {_reason(exc)} (gave up after {attempt} attempts)")
                    ) from None
            except requests.RequestException as exc:
                raise IndexReadError(redact(f"{what}: {_reason(exc)}: {exc}")) from None
            self.sleep(self.policy.delay(attempt, retry_after))

    def _describe(self, response: requests.Response, what: str) -> str:
        """A one-line, redacted, printable account of an error answer (200 bytes of body)."""
        try:
            raw = self.transport.read(response, 4096).decode("utf-8", "replace")
        except requests.RequestException:
            raw = ""
        # Redact before cutting: a cut through a token would leave a prefix no redaction knows.
        body = printable(redact(" ".join(raw.split())))[:200]
        reason = printable(response.reason or "")[:100]
        text = f"{what}: HTTP {response.status_code} {reason}".rstrip()
        if response.status_code in AUTH_STATUSES:
            text += " (the token was refused; check PublishPackageVersion/ReadFromRepository)"
        return redact(f"{text}: {body}" if body else text)


def _decode(body: bytes, charset: str | None) -> str:
    """A page's text in the charset it declares; UTF-8 where it names no codec we know."""
    try:
        return body.decode(charset or "utf-8", "replace")
    except LookupError:
        return body.decode("utf-8", "replace")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, DeadlineExceeded):
        return str(exc)
    if isinstance(exc, requests.Timeout):
        return f"timed out ({type(exc).__name__})"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed or was reset"
    if isinstance(exc, requests.exceptions.ContentDecodingError):
        return "the answer could not be decoded"
    return type(exc).__name__
