"""CodeArtifact's quotas: at most 40 GetAuthorizationToken requests and 100 writes per second
per account and region (the documented defaults). A 10-region x 30-file publish must stay
under both, measured where the requests arrive: the control plane's recorded calls and a
proxy in front of every region.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import pytest

from codeartifact_multiregion.aws import TOKEN_REQUESTS_PER_SECOND, Resolver
from codeartifact_multiregion.config import load_config
from codeartifact_multiregion.retry import RateLimiter, RetryPolicy
from codeartifact_multiregion.sync import Syncer
from tests.faults.helpers import extra_wheels, publish
from tests.faults.proxy import FaultProxy
from tests.helpers import sha256s
from tests.localaws import LocalAWS
from tests.localaws.dists import make_sdist, make_wheel

TEN = ["us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2",
       "eu-central-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1"]
WRITES_PER_SECOND = 100


def max_per_window(stamps: list[float], window: float = 1.0) -> int:
    stamps = sorted(stamps)
    best = start = 0
    for end, at in enumerate(stamps):
        while at - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.fixture(scope="module")
def ten_regions() -> Iterator[LocalAWS]:
    with LocalAWS(TEN) as aws:
        yield aws


def test_ten_regions_by_thirty_files_stay_under_the_quotas(ten_regions, tmp_path):
    aws = ten_regions
    aws.reset()
    project = tmp_path / "project"
    aws.write_pyproject(project)
    dist = project / "dist"
    files = [make_wheel(dist, "hello-internal", "1.0.0"), make_sdist(dist, "hello-internal",
                                                                      "1.0.0")]
    files += extra_wheels(dist, 28)
    assert len(files) == 30
    with ExitStack() as stack:
        proxies = {}
        for name, region in aws.regions.items():
            proxies[name] = stack.enter_context(FaultProxy(region.port))
            aws.route(name, proxies[name].url)
        with aws.environment():
            started = time.monotonic()
            # No faults here: generous timeouts, so a loaded test machine cannot fail it.
            run = publish(project, policy=RetryPolicy(attempts=5, backoff=0.05, read_timeout=30))
            elapsed = time.monotonic() - started

    assert run.report.exit_code == 0, run.report.render_text()
    assert {f.attempts for t in run.report.targets for f in t.files} == {1}
    expected = sha256s(files)
    for region in aws.regions.values():
        assert region.files() == expected, region.name
    assert sum(len(t.files) for t in run.report.targets) == 300

    token_calls = aws.fake.recorded("GetAuthorizationToken")
    assert sorted(c.region for c in token_calls) == sorted(TEN), "one token per region, no storm"
    assert max_per_window([c.at for c in token_calls]) <= TOKEN_REQUESTS_PER_SECOND
    for name, proxy in proxies.items():
        assert proxy.count("POST") == 30, name
        assert proxy.max_per_window("POST") <= WRITES_PER_SECOND, name
    print(f"10 regions x 30 files in {elapsed:.1f}s; busiest region: "
          f"{max(p.max_per_window('POST') for p in proxies.values())} writes in 1 s")


def test_the_write_limiter_holds_a_region_to_its_rate(regions, project, proxies, tmp_path):
    """With the rate set low, 30 uploads to one region spread over seconds, as the quota asks."""
    dist = project / "dist"
    files = [make_wheel(dist, "hello-internal", "1.0.0"), *extra_wheels(dist, 29)]
    name = next(iter(regions.regions))
    proxy = proxies(name)
    policy = RetryPolicy(attempts=3, backoff=0.05, read_timeout=5, write_rate=10)
    started = time.monotonic()
    run = publish(project, policy=policy, regions=[name], concurrency=16)
    elapsed = time.monotonic() - started
    assert run.report.exit_code == 0
    assert regions.regions[name].files() == sha256s(files)
    assert proxy.count("POST") == 30
    # Arrival jitter can bring two requests a client spaced by 1.0 s a little closer.
    assert proxy.max_per_window("POST", window=0.9) <= 10
    assert elapsed >= 2.0


def test_the_read_limiter_holds_sync_downloads_to_its_rate(regions, project, proxies, tmp_path):
    """Every asset download goes through Index.download, which keeps to the read quota."""
    dist = project / "dist"
    files = [make_wheel(dist, "hello-internal", "1.0.0"), *extra_wheels(dist, 9)]
    source, dest = list(regions.regions)[:2]
    policy = RetryPolicy(attempts=3, backoff=0.05, read_timeout=5, read_rate=4)
    assert publish(project, policy=policy, regions=[source]).report.exit_code == 0
    proxy = proxies(source)
    config = load_config(project, [source, dest]).with_overrides(concurrency=16)
    report = Syncer(config, policy=policy).sync()
    assert report.exit_code == 0, report.render_text()
    assert regions.regions[dest].files() == sha256s(files)
    downloads = sorted(s.at for s in proxy.seen("GET") if s.path.startswith("/packages/"))
    assert len(downloads) == 10
    # 10 downloads at 4/s take three windows (2 s of grants; unlimited, about 0.1 s). Measured
    # where they arrive, a download granted early can land 0.2 s late on a loaded machine, so
    # the span keeps 0.5 s for that and no half-second may hold more than one window's worth.
    assert downloads[-1] - downloads[0] >= 1.5
    assert max_per_window(downloads, window=0.5) <= 4


def test_token_requests_are_capped_per_region(regions, project):
    """Even a storm of refreshes (many indexes, many 401s) stays under 40 requests/s."""
    name = next(iter(regions.regions))
    config = load_config(project, [name])
    endpoint = Resolver(config.token_duration).resolve_all(config.targets)[0]
    regions.fake.reset()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda _: endpoint.refresh_token(), range(60)))
    calls = regions.fake.recorded("GetAuthorizationToken", name)
    assert len(calls) == 60
    assert max_per_window([c.at for c in calls], window=0.9) <= TOKEN_REQUESTS_PER_SECOND


def test_rate_limiter_allows_at_most_limit_per_period() -> None:
    limiter = RateLimiter(5, period=0.2)
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        # The grant times themselves: a clock read after acquire() returns can land late
        # under load and bunch grants the limiter spaced correctly.
        stamps = list(pool.map(lambda _: limiter.acquire(), range(15)))
    assert time.monotonic() - started >= 0.4
    assert max_per_window(stamps, window=0.2) <= 5
