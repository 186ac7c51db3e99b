"""The retry policy's bounds and settings, and the rate limiter's guarantee, on a fake clock."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from codeartifact_multiregion.errors import UsageError
from codeartifact_multiregion.retry import RateLimiter, RetryPolicy
from tests.helpers import most_in_a_window


def test_backoff_grows_with_jitter_and_stays_under_the_cap() -> None:
    policy = RetryPolicy(backoff=0.5, backoff_max=4.0)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (9, 4.0)]:
        delays = [policy.delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1, "jitter spreads retries of many clients"


def test_retry_after_wins_but_is_capped() -> None:
    policy = RetryPolicy(retry_after_max=30)
    assert policy.delay(1, "7") == 7
    assert policy.delay(1, "3600") == 30
    assert 0.25 <= policy.delay(1, "Wed, 21 Oct 2015 07:28:00 GMT") <= 0.5


def test_policy_from_env_reads_overrides_and_refuses_garbage() -> None:
    policy = RetryPolicy.from_env(
        {"CODEARTIFACT_MULTIREGION_ATTEMPTS": "3", "CODEARTIFACT_MULTIREGION_READ_TIMEOUT": "2.5"}
    )
    assert (policy.attempts, policy.timeout) == (3, (10.0, 2.5))
    with pytest.raises(UsageError, match="CODEARTIFACT_MULTIREGION_ATTEMPTS='x' is not a number"):
        RetryPolicy.from_env({"CODEARTIFACT_MULTIREGION_ATTEMPTS": "x"})


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "-inf", "", "1e999"])
@pytest.mark.parametrize(
    "var",
    [
        "CODEARTIFACT_MULTIREGION_ATTEMPTS",
        "CODEARTIFACT_MULTIREGION_READ_TIMEOUT",
        "CODEARTIFACT_MULTIREGION_DEADLINE",
    ],
)
def test_every_setting_must_be_positive_and_finite(var: str, value: str) -> None:
    with pytest.raises(UsageError) as caught:
        RetryPolicy.from_env({var: value})
    message = str(caught.value)
    assert message.startswith(f"{var}={value!r}") and f"Set {var} to a positive" in message


def test_attempts_must_be_whole() -> None:
    with pytest.raises(UsageError, match=r"ATTEMPTS='2\.5' is not a number"):
        RetryPolicy.from_env({"CODEARTIFACT_MULTIREGION_ATTEMPTS": "2.5"})


class FakeClock:
    """Time that moves only when the limiter sleeps (safe to share between threads)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


def test_rate_limiter_grants_at_most_limit_in_any_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(5, period=1.0, sleep=clock.sleep, clock=clock)
    grants = [limiter.acquire() for _ in range(23)]
    assert grants[:5] == [100.0] * 5, "the first window's worth goes at once"
    for i, start in enumerate(grants):
        inside = [g for g in grants if start <= g < start + 1.0]
        assert len(inside) <= 5, (i, grants)
    assert grants[-1] - grants[0] == pytest.approx(4.0), "23 grants at 5/s take four windows"


def test_rate_limiter_waits_exactly_until_the_oldest_grant_leaves_the_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, period=1.0, sleep=clock.sleep, clock=clock)
    assert [limiter.acquire() for _ in range(2)] == [100.0, 100.0]
    clock.now = 100.25
    assert limiter.acquire() == 101.0, "the third waits for the first to leave the window"
    assert clock.slept == [0.75], "and not a moment longer"


def test_rate_limiter_holds_under_threads_on_a_fake_clock() -> None:
    """16 threads racing for 50 grants at 5 per 0.2 s: the window bound holds whatever order
    the threads run in, because it is checked on the clock the limiter itself reads."""
    clock = FakeClock()
    limiter = RateLimiter(5, period=0.2, sleep=clock.sleep, clock=clock)
    with ThreadPoolExecutor(16) as pool:
        grants = list(pool.map(lambda _: limiter.acquire(), range(50)))
    assert len(grants) == 50
    assert most_in_a_window(grants, 0.2) <= 5
    assert max(grants) - min(grants) >= 9 * 0.2 - 1e-9, "50 grants at 5 per window: ten windows"


def test_rate_limiter_holds_under_threads_on_the_real_clock() -> None:
    """The same bound on the real clock, measured at grant time (acquire's return value):
    a clock read after acquire() returns could land late under load; the grant cannot."""
    limiter = RateLimiter(5, period=0.2)
    with ThreadPoolExecutor(8) as pool:
        grants = list(pool.map(lambda _: limiter.acquire(), range(15)))
    assert most_in_a_window(grants, 0.2) <= 5
    assert max(grants) - min(grants) >= 0.4, "15 grants at 5 per window take three windows"


def test_rate_limiter_rounds_a_fractional_limit_down_but_grants_at_least_one() -> None:
    assert RateLimiter(2.9).limit == 2
    assert RateLimiter(0.5).limit == 1
