"""Measure each region's repository: one authenticated request, in parallel, with a deadline.

A consumer asks "which region answers, and how fast?" before handing a URL to pip or
uv, because uv does not move past an index that refuses or resets the connection. The
measure is what the tool itself would meet first: an authenticated GET of the
repository's simple index, timed to the response headers (the body is never read).

The token goes only to the endpoint's own origin: redirects are not followed (a 3xx
answer counts as an answer), and the request carries no credentials anywhere else.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from .secrets import redact
from .text import printable

DEFAULT_TIMEOUT = 2.0
# Answers that prove the repository is up and the token opens it. CodeArtifact serves no
# root /simple/ listing (404), a local index does (200); both are a working region.
_HEALTHY = frozenset({200, 204, 301, 302, 303, 307, 308, 404})


@dataclass(frozen=True)
class Probe:
    """One region's answer: its round trip in seconds, or why it is left out."""

    region: str
    round_trip_s: float | None
    error: str | None = None

    @property
    def healthy(self) -> bool:
        return self.error is None


Fetch = Callable[[str, str, float], int]


def http_status(url: str, token: str, timeout: float) -> int:
    """The status of an authenticated GET of ``url``; headers only, no redirect followed.

    Through ``transport.Transport``, so the probe has the same guarantees as every other
    request: the token only to ``url``'s origin and an overall deadline.
    """
    from .retry import RetryPolicy
    from .transport import Transport

    policy = RetryPolicy(
        attempts=1, connect_timeout=timeout, read_timeout=timeout, deadline=2 * timeout
    )
    transport = Transport(url, ("aws", token), policy, pool_size=1)
    try:
        with transport.open(
            "GET", url, headers={"Accept": "text/html"}, follow_redirects=False
        ) as response:
            return int(response.status_code)
    finally:
        transport.close()


def probe(
    region: str,
    url: str,
    token: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    fetch: Fetch = http_status,
    clock: Callable[[], float] = time.monotonic,
) -> Probe:
    """Time one request to ``url``; any failure becomes a reason a person can read."""
    began = clock()
    try:
        status = fetch(url, token, timeout)
    except Exception as exc:  # a down region shows itself in many shapes; all mean "skip it"
        return Probe(region, None, _reason(exc))
    elapsed = clock() - began
    if status in (401, 403):
        return Probe(region, elapsed, f"HTTP {status}: the token does not open the repository")
    if status not in _HEALTHY:
        return Probe(region, elapsed, f"HTTP {status}")
    return Probe(region, elapsed)


def probe_all(
    targets: Sequence[tuple[str, str, str]],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    fetch: Fetch = http_status,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Probe]:
    """Probe every (region, url, token) at once; a region past the deadline is a failure.

    The overall deadline is twice the per-request timeout (connect, then headers), so a
    region that trickles its answer cannot hold the others up.
    """
    if not targets:
        return {}
    results: dict[str, Probe] = {}
    pool = ThreadPoolExecutor(max_workers=min(len(targets), 16))
    try:
        futures = {
            pool.submit(
                probe, region, url, token, timeout=timeout, fetch=fetch, clock=clock
            ): region
            for region, url, token in targets
        }
        done, _late = wait(futures, timeout=2 * timeout + 0.5)
        for future, region in futures.items():
            if future in done:
                results[region] = future.result()
            else:
                results[region] = Probe(region, None, f"no answer within {2 * timeout:g}s")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results


def _reason(exc: BaseException) -> str:
    """A short, token-free and printable reason: what failed, and the socket's own words."""
    kind = _kind(exc)
    root = _root_cause(exc)
    detail = ""
    if isinstance(root, OSError) and root.strerror:
        detail = root.strerror.lower()
    elif root is not exc:
        detail = str(root)
    detail = redact(detail)[:200]
    return printable(f"{kind}: {detail}" if detail and detail != kind else kind)


def _kind(exc: BaseException) -> str:
    names: dict[str, str] = {
        "ConnectTimeout": "connect timeout",
        "ReadTimeout": "read timeout",
        "SSLError": "TLS error",
        "ConnectionError": "connection failed",
    }
    return names.get(type(exc).__name__, type(exc).__name__)


def _root_cause(exc: BaseException) -> BaseException:
    """The innermost error under requests' and urllib3's wrappers (``reason``, args, causes)."""
    seen: set[int] = set()
    current = exc
    while id(current) not in seen and len(seen) < 10:
        seen.add(id(current))
        inner = (
            getattr(current, "reason", None)
            if isinstance(getattr(current, "reason", None), BaseException)
            else None
        )
        inner = inner or next((a for a in current.args if isinstance(a, BaseException)), None)
        inner = inner or current.__cause__ or current.__context__
        if inner is None:
            break
        current = inner
    return current
