"""CodeArtifact's quotas: at most 40 GetAuthorizationToken requests and 100 writes per second
per account and region (the documented defaults), held by one limiter per quota.

A real run is asserted only with what scheduling cannot break: the totals that arrived, what
each region holds, and the requests per window *as the limiter granted them* (its own clock,
recorded by a ``RateLimiter`` subclass). Arrival times are not asserted: a request granted
early can be delayed on a loaded machine and land next to a later one, which says nothing
about the client. The limiter's exact guarantee is asserted on a fake clock in test_retry.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import replace

import pytest

from codeartifact_multiregion import retry
from codeartifact_multiregion.aws import TOKEN_REQUESTS_PER_SECOND, Resolver
from codeartifact_multiregion.config import load_config
from codeartifact_multiregion.report import UPLOADED
from codeartifact_multiregion.retry import RateLimiter, RetryPolicy
from codeartifact_multiregion.sync import Syncer
from tests.faults.helpers import extra_wheels, publish
from tests.faults.proxy import FaultProxy
from tests.helpers import FAST, most_in_a_window, sha256s
from tests.localaws import DEFAULT_QUOTAS, LocalAWS
from tests.localaws.dists import make_sdist, make_wheel

TEN = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-central-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
]
WRITES_PER_SECOND = RetryPolicy().write_rate
READS_PER_SECOND = RetryPolicy().read_rate


class RecordingLimiter(RateLimiter):
    """A limiter that remembers each grant's time (on its own clock)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.grants: list[float] = []

    def acquire(self) -> float:
        at = super().acquire()
        self.grants.append(at)
        return at


@pytest.fixture
def limiters(
    monkeypatch: pytest.MonkeyPatch,
) -> dict[tuple[str, str | None, str, float], RateLimiter]:
    """The process's shared limiters, fresh and recording, for this test only."""
    fresh: dict[tuple[str, str | None, str, float], RateLimiter] = {}
    monkeypatch.setattr(retry, "_limiters", fresh)
    monkeypatch.setattr(retry, "RateLimiter", RecordingLimiter)
    return fresh


def grants(limiters: dict, kind: str, region: str) -> list[float]:
    return [
        at
        for (k, _, r, _), limiter in limiters.items()
        if (k, r) == (kind, region)
        for at in limiter.grants
    ]


def test_the_quotas_match_the_stand_ins() -> None:
    """The client's limits are the quotas the local control plane enforces (AWS's defaults)."""
    assert DEFAULT_QUOTAS["GetAuthorizationToken"] == TOKEN_REQUESTS_PER_SECOND
    assert DEFAULT_QUOTAS["writes"] == WRITES_PER_SECOND
    assert DEFAULT_QUOTAS["GetPackageVersionAsset"] == READS_PER_SECOND


@pytest.fixture(scope="module")
def ten_regions() -> Iterator[LocalAWS]:
    with LocalAWS(TEN) as aws:
        yield aws


def test_ten_regions_by_thirty_files_stay_under_the_quotas(ten_regions, tmp_path, limiters):
    aws = ten_regions
    aws.reset()
    project = tmp_path / "project"
    aws.write_pyproject(project)
    dist = project / "dist"
    files = [
        make_wheel(dist, "hello-internal", "1.0.0"),
        make_sdist(dist, "hello-internal", "1.0.0"),
    ]
    files += extra_wheels(dist, 28)
    assert len(files) == 30
    with ExitStack() as stack:
        proxies = {}
        for name, region in aws.regions.items():
            proxies[name] = stack.enter_context(FaultProxy(region.port))
            aws.route(name, proxies[name].url)
        with aws.environment():
            run = publish(project, policy=replace(FAST, attempts=5))

    assert run.report.exit_code == 0, run.report.render_text()
    assert {f.attempts for t in run.report.targets for f in t.files} == {1}
    assert {f.outcome for t in run.report.targets for f in t.files} == {UPLOADED}
    expected = sha256s(files)
    for region in aws.regions.values():
        assert region.files() == expected, region.name
    assert sum(len(t.files) for t in run.report.targets) == 300

    token_calls = aws.fake.recorded("GetAuthorizationToken")
    assert sorted(c.region for c in token_calls) == sorted(TEN), "one token per region, no storm"
    assert {c.status for c in token_calls} == {200}, "none throttled"
    for name, proxy in proxies.items():
        assert proxy.count("POST") == 30, name
        writes = grants(limiters, "write", name)
        assert len(writes) == 30, "every upload drew on its region's write quota"
        assert most_in_a_window(writes) <= WRITES_PER_SECOND, name


def test_the_write_limiter_holds_a_region_to_its_rate(regions, project, proxies, limiters):
    """With the rate set low, 30 uploads to one region are granted over three seconds."""
    dist = project / "dist"
    files = [make_wheel(dist, "hello-internal", "1.0.0"), *extra_wheels(dist, 29)]
    name = next(iter(regions.regions))
    proxy = proxies(name)
    run = publish(project, policy=replace(FAST, write_rate=10), regions=[name], concurrency=16)
    assert run.report.exit_code == 0, run.report.render_text()
    assert regions.regions[name].files() == sha256s(files)
    assert proxy.count("POST") == 30, "one upload per file: none was throttled or repeated"
    writes = grants(limiters, "write", name)
    assert len(writes) == 30
    assert most_in_a_window(writes) <= 10
    # Unlimited, 16 threads would send them all at once; at 10/s they take three windows.
    assert max(writes) - min(writes) >= 2.0


def test_the_read_limiter_holds_sync_downloads_to_its_rate(regions, project, proxies, limiters):
    """Every asset download goes through Index.download, which keeps to the read quota."""
    dist = project / "dist"
    files = [make_wheel(dist, "hello-internal", "1.0.0"), *extra_wheels(dist, 9)]
    source, dest = list(regions.regions)[:2]
    policy = replace(FAST, read_rate=4)
    assert publish(project, policy=policy, regions=[source]).report.exit_code == 0
    proxy = proxies(source)
    config = load_config(project, [source, dest]).with_overrides(concurrency=16)
    report = Syncer(config, policy=policy).sync()
    assert report.exit_code == 0, report.render_text()
    assert regions.regions[dest].files() == sha256s(files)
    downloads = [s for s in proxy.seen("GET") if s.path.startswith("/packages/")]
    assert len(downloads) == 10, "each file was downloaded once"
    reads = grants(limiters, "read", source)
    assert len(reads) == 10, "every download drew on the source region's read quota"
    assert most_in_a_window(reads) <= 4
    # 10 downloads at 4/s take three windows (unlimited, about 0.1 s).
    assert max(reads) - min(reads) >= 2.0


def test_token_requests_are_capped_per_region(regions, project, limiters):
    """Even a storm of refreshes (many indexes, many 401s) stays under 40 requests/s."""
    name = next(iter(regions.regions))
    config = load_config(project, [name])
    endpoint = Resolver(config.token_duration, FAST).resolve_all(config.targets)[0]
    regions.fake.reset()
    with ThreadPoolExecutor(16) as pool:
        tokens = list(pool.map(lambda _: endpoint.refresh_token(), range(60)))
    assert len(tokens) == 60 and all(tokens), "every refresh got a token"
    calls = regions.fake.recorded("GetAuthorizationToken", name)
    # The stand-in counts at arrival, as AWS does; a granted request delayed in flight may
    # meet a 429 there and be retried, so only the answered ones are counted exactly.
    assert len([c for c in calls if c.status == 200]) == 60
    requested = grants(limiters, "token", name)
    # A signed-here request the stand-in throttled is made again by botocore, and that one
    # is a request of its own: it waits for the limiter too.
    stepped_aside = len([c for c in calls if c.signer == "direct" and c.status != 200])
    assert len(requested) == 61 + stepped_aside, "the first token, 60 refreshes, re-asks"
    assert most_in_a_window(requested) <= TOKEN_REQUESTS_PER_SECOND
    assert max(requested) - min(requested) >= 1.0, "61 requests at 40/s take two windows"
