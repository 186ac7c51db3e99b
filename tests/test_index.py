"""Index pieces that need no server: backoff bounds, Retry-After, PEP 503 link parsing."""

from __future__ import annotations

import pytest

from codeartifact_multiregion.errors import UsageError
from codeartifact_multiregion.index import RetryPolicy, _Links


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
    policy = RetryPolicy.from_env({"CODEARTIFACT_MULTIREGION_ATTEMPTS": "3",
                                   "CODEARTIFACT_MULTIREGION_READ_TIMEOUT": "2.5"})
    assert (policy.attempts, policy.timeout) == (3, (10.0, 2.5))
    with pytest.raises(UsageError, match="CODEARTIFACT_MULTIREGION_ATTEMPTS='x' is not a number"):
        RetryPolicy.from_env({"CODEARTIFACT_MULTIREGION_ATTEMPTS": "x"})


def test_links_resolve_relative_hrefs_and_read_sha256_fragments() -> None:
    page = """<html><body>
    <a href="../../packages/pkg-1.0-py3-none-any.whl#sha256=ABCDEF">pkg-1.0-py3-none-any.whl</a>
    <a href="https://cdn.example/files/pkg-1.0.tar.gz#md5=123">pkg-1.0.tar.gz</a>
    <a href="pkg%2B-2.0.tar.gz">x</a>
    </body></html>"""
    parser = _Links("http://127.0.0.1:9/simple/pkg/")
    parser.feed(page)
    assert parser.links == {
        "pkg-1.0-py3-none-any.whl": ("abcdef", "http://127.0.0.1:9/packages/pkg-1.0-py3-none-any.whl"),
        "pkg-1.0.tar.gz": (None, "https://cdn.example/files/pkg-1.0.tar.gz"),
        "pkg+-2.0.tar.gz": (None, "http://127.0.0.1:9/simple/pkg/pkg%2B-2.0.tar.gz"),
    }
