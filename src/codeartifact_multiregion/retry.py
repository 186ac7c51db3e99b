"""How hard to try and how fast to go: the retry policy and CodeArtifact's quotas.

Both the control plane (``aws.py``) and the data plane (``index.py``) draw on this one
module, so a pipeline's ``CODEARTIFACT_MULTIREGION_*`` settings bound every request, and
every caller in the process shares one limiter per quota, account and region.
"""

from __future__ import annotations

import math
import os
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, wait
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from .errors import Interrupted, UsageError

Clock = Callable[[], float]
Sleep = Callable[[float], None]

# Set when the run is being stopped: waits end at once and no new request starts.
STOP = threading.Event()
_SLICE = 0.2
T = TypeVar("T")


def sleep(seconds: float) -> None:
    """``time.sleep`` that a stop cuts short (raising ``Interrupted``)."""
    if STOP.wait(max(seconds, 0.0)):
        raise Interrupted("interrupted")


def results(futures: Sequence[Future[T]]) -> list[T]:
    """The futures' results in order, waiting in short slices.

    A process-directed SIGINT may be delivered to any thread; one that lands on a worker
    does not wake a main thread blocked without a timeout, which would then never see
    its KeyboardInterrupt. Waking every slice lets the signal through at once.
    """
    pending = set(futures)
    while pending:
        _, pending = wait(pending, timeout=_SLICE)
    return [future.result() for future in futures]


def check_stop() -> None:
    """Raise ``Interrupted`` if the run is being stopped: called before each request."""
    if STOP.is_set():
        raise Interrupted("interrupted")


# Settable from the environment: variable -> (field, type, what it is).
ENV_SETTINGS: dict[str, tuple[str, type, str]] = {
    "CODEARTIFACT_MULTIREGION_ATTEMPTS": ("attempts", int, "attempts per request"),
    "CODEARTIFACT_MULTIREGION_BACKOFF": ("backoff", float, "first backoff in seconds"),
    "CODEARTIFACT_MULTIREGION_CONNECT_TIMEOUT": (
        "connect_timeout",
        float,
        "connect timeout in seconds",
    ),
    "CODEARTIFACT_MULTIREGION_READ_TIMEOUT": ("read_timeout", float, "read timeout in seconds"),
    "CODEARTIFACT_MULTIREGION_DEADLINE": (
        "deadline",
        float,
        "overall seconds one request may take",
    ),
}


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds for one request: attempts, backoff, timeouts and deadline (seconds)."""

    attempts: int = 5
    backoff: float = 0.5
    backoff_max: float = 20.0
    retry_after_max: float = 60.0
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    # However a server trickles its answer, one request (one attempt) ends by then: the
    # read timeout alone restarts with every byte.
    deadline: float = 900.0
    # Uploads started per second per account and region: CodeArtifact's default quota
    # for PublishPackageVersion-class writes is 100/s, shared by every caller of the account.
    write_rate: float = 100.0
    # Asset downloads started per second per account and region (GetPackageVersionAsset's
    # default quota is 50/s): sync's copies and the hashing of fragment-less index entries.
    read_rate: float = 50.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RetryPolicy:
        """Read ``CODEARTIFACT_MULTIREGION_*`` overrides; a bad value is a ``UsageError``.

        Checked before any network call, so a typo in a pipeline fails at once with the
        variable named, not as a traceback halfway through a publish.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for var, (name, kind, what) in ENV_SETTINGS.items():
            if var in env:
                values[name] = _positive(var, env[var], kind, what)
        return cls(**values)

    def __post_init__(self) -> None:
        """A policy that cannot try once, or waits forever, is a bug in its caller."""
        for spec in fields(self):
            value = getattr(self, spec.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"RetryPolicy.{spec.name} must be a number, got {value!r}")
            floor_ok = value >= 0 if spec.name.startswith(("backoff", "retry_after")) else value > 0
            if not math.isfinite(value) or not floor_ok:
                raise ValueError(f"RetryPolicy.{spec.name} is out of range: {value!r}")
        if not isinstance(self.attempts, int) or self.attempts < 1:
            raise ValueError(f"RetryPolicy.attempts must be a whole number >= 1: {self.attempts!r}")

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Exponential backoff with jitter; a server's Retry-After wins when it gives one."""
        if retry_after is not None:
            try:
                wait = float(retry_after)
            except ValueError:
                wait = math.nan
            if math.isfinite(wait):
                return min(max(wait, 0.0), self.retry_after_max)
        ceiling = min(self.backoff_max, self.backoff * 2.0 ** (attempt - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def _positive(var: str, raw: str, kind: type, what: str) -> int | float:
    fix = f"Set {var} to a positive {'whole number' if kind is int else 'number'} or unset it."
    try:
        value = kind(raw.strip())
    except ValueError:
        raise UsageError(f"{var}={raw!r} is not a number ({what}). {fix}") from None
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{var}={raw!r} must be positive and finite ({what}). {fix}")
    return value  # type: ignore[no-any-return]


class RateLimiter:
    """At most ``limit`` acquisitions in any ``period`` seconds (a sliding window).

    Stricter than a token bucket of the same rate (which allows a burst plus a refill
    in one window), so a server counting requests per second never sees more than
    ``limit``. The clock and sleep are injectable so the guarantee is tested exactly.
    """

    def __init__(
        self, limit: float, period: float = 1.0, sleep: Sleep = sleep, clock: Clock = time.monotonic
    ) -> None:
        self.limit = max(int(limit), 1)
        self.period = period
        self._sleep = sleep
        self._clock = clock
        self._stamps: deque[float] = deque()
        self._inflight = 0
        self._lock = threading.Lock()
        # Held around acquire-and-call by callers whose requests should also arrive in order
        # (token requests), so slow threads cannot bunch two windows' worth together.
        self.serial = threading.Lock()

    def acquire(self) -> float:
        """Wait for a slot; returns the clock's time the slot was granted at."""
        while True:
            with self._lock:
                now = self._clock()
                if self._free(now):
                    self._stamps.append(now)
                    return now
                wait = self._wait(now)
            self._sleep(wait)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for the whole call; it counts as used from when the call returns.

        A request reaches the server somewhere between its start and its answer, so
        stamping the answer's time (and counting calls in flight meanwhile) keeps the
        server's own count under ``limit`` in every window, however the requests' delays
        vary; stamping the start would let a slow first request and a fast later one
        land in one window.
        """
        while True:
            with self._lock:
                if self._free(self._clock()):
                    self._inflight += 1
                    break
                wait = self._wait(self._clock())
            self._sleep(wait)
        try:
            yield
        finally:
            with self._lock:
                self._inflight -= 1
                self._stamps.append(self._clock())

    def _free(self, now: float) -> bool:
        while self._stamps and now - self._stamps[0] >= self.period:
            self._stamps.popleft()
        return len(self._stamps) + self._inflight < self.limit

    def _wait(self, now: float) -> float:
        if self._stamps:
            return self.period - (now - self._stamps[0])
        return self.period / 100  # every slot is held by a call in flight: look again soon


_limiters: dict[tuple[str, str | None, str, float], RateLimiter] = {}
_limiters_lock = threading.Lock()


def shared_limiter(kind: str, owner: str | None, region: str, limit: float) -> RateLimiter:
    """One limiter per (kind, account, region) in this process, shared by every caller."""
    key = (kind, owner, region, limit)
    with _limiters_lock:
        if key not in _limiters:
            _limiters[key] = RateLimiter(limit)
        return _limiters[key]
