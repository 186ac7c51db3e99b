"""The Lambda replicator, called in-process with SQS batches against the stand-ins.

Each region sits behind a fault proxy that counts its uploads (POSTs), so "writes nothing"
is counted where the bytes would land. Events are built field for field as CodeArtifact
documents them (``tests.localaws.events``); the versions they name were published into the
primary with twine (the ``alpha`` fixture of test_sync_event).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from codeartifact_multiregion import aws_lambda
from codeartifact_multiregion.aws_lambda import LAG_METRIC, NAMESPACE, BatchReplicator
from codeartifact_multiregion.base.config import load_config
from tests.faults.proxy import STATUS, FaultProxy, Rule
from tests.helpers import FAST, sha256_of
from tests.localaws.events import sqs_batch
from tests.localaws.regions import LocalAWS
from tests.operations.test_replication import PRIMARY, SECOND, THIRD, build, twine_upload
from tests.operations.test_replication import version_state as state_of
from tests.operations.test_sync_event import alpha  # noqa: F401  (the fixture)

SENT = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture
def uploads(regions: LocalAWS) -> Iterator[dict[str, FaultProxy]]:
    """A counting proxy in front of every region's index, named as its endpoint."""
    with ExitStack() as stack:
        proxies = {}
        for name, region in regions.regions.items():
            proxies[name] = stack.enter_context(FaultProxy(region.port))
            regions.route(name, proxies[name].url)
        yield proxies


class Run:
    """One replicator with a fixed clock; what it logged, split into EMF and the rest."""

    def __init__(self, project: Path, now: datetime = SENT + timedelta(seconds=42)) -> None:
        self.lines: list[str] = []
        self.replicator = BatchReplicator(
            load_config(project), clock=now.timestamp, log=self.lines.append, policy=FAST
        )

    def __call__(self, batch: dict[str, Any]) -> list[str]:
        answer = self.replicator.handle(batch)
        assert set(answer) == {"batchItemFailures"}
        return [f["itemIdentifier"] for f in answer["batchItemFailures"]]

    def lags(self) -> list[dict[str, Any]]:
        return [d for d in map(json.loads, self.lines) if "_aws" in d]

    def outcomes(self) -> list[str]:
        return [d["outcome"] for d in map(json.loads, self.lines) if "outcome" in d]


def ids(batch: dict[str, Any]) -> list[str]:
    return [r["messageId"] for r in batch["Records"]]


def posts(uploads: dict[str, FaultProxy]) -> dict[str, int]:
    return {name: proxy.count("POST") for name, proxy in uploads.items()}


def test_a_twine_published_version_reaches_every_region_once_with_its_lag(
    regions: LocalAWS,
    project: Path,
    alpha: dict[str, list[Path]],  # noqa: F811
    uploads: dict[str, FaultProxy],
) -> None:
    # The release, a replay of it, and the echoes our copies raise: one batch, one copy.
    events = [
        regions.version_event(PRIMARY, "alpha", "1.1", time=SENT, assets_added=2),
        regions.version_event(PRIMARY, "alpha", "1.1", time=SENT + timedelta(seconds=9)),
        regions.version_event(SECOND, "alpha", "1.1", time=SENT + timedelta(seconds=5)),
    ]
    run = Run(project)
    assert run(sqs_batch(events)) == []
    for region in (SECOND, THIRD):
        held = regions.regions[region].files()
        for path in alpha["1.1"]:
            assert held[path.name] == sha256_of(path)
        assert not any(name.startswith("beta") for name in held)
    assert posts(uploads) == {PRIMARY: 0, SECOND: 2, THIRD: 2}
    assert regions.fake.recorded("ListPackages") == []
    assert len(regions.fake.recorded("GetPackageVersionAsset")) == 2
    assert len(regions.fake.recorded("GetAuthorizationToken")) == 3  # one per region per batch
    # The lag runs from the first event to the verified copy, per destination region.
    lags = run.lags()
    assert [d["DestinationRegion"] for d in lags] == [SECOND, THIRD]
    for doc in lags:
        assert doc[LAG_METRIC] == 42.0
        (metrics,) = doc["_aws"]["CloudWatchMetrics"]
        assert metrics["Namespace"] == NAMESPACE
        assert metrics["Metrics"] == [{"Name": LAG_METRIC, "Unit": "Seconds"}]
        assert ["Domain", "Repository", "DestinationRegion"] in metrics["Dimensions"]
        assert (doc["Domain"], doc["Repository"], doc["Package"]) == ("acme", "python", "alpha")
    assert run.outcomes() == ["replicated"] * 3


def test_duplicates_echoes_and_external_versions_write_nothing(
    regions: LocalAWS,
    project: Path,
    alpha: dict[str, list[Path]],  # noqa: F811
    uploads: dict[str, FaultProxy],
) -> None:
    assert Run(project)(sqs_batch([regions.version_event(PRIMARY, "alpha", "1.1")])) == []
    regions.regions[PRIMARY].set_version("beta", "0.1", origin="EXTERNAL")
    before = {r: regions.regions[r].files() for r in regions.regions}
    counted = posts(uploads)
    regions.fake.reset()
    batch = sqs_batch(
        [
            regions.version_event(PRIMARY, "alpha", "1.1"),  # a duplicate of what was copied
            regions.version_event(SECOND, "alpha", "1.1"),  # the echoes of our own copies
            regions.version_event(THIRD, "alpha", "1.1"),
            regions.version_event(PRIMARY, "alpha", "1.0"),  # held everywhere already
            regions.version_event(PRIMARY, "beta", "0.1"),  # cached from an upstream
        ]
    )
    run = Run(project)
    assert run(batch) == []
    assert posts(uploads) == counted
    assert {r: regions.regions[r].files() for r in regions.regions} == before
    assert regions.fake.recorded("GetPackageVersionAsset") == []
    assert regions.fake.recorded("UpdatePackageVersionsStatus") == []
    assert run.lags() == []
    assert run.outcomes() == ["noop"] * 4 + ["skipped"]


def test_a_malformed_record_alone_is_a_batch_item_failure(
    regions: LocalAWS,
    project: Path,
    alpha: dict[str, list[Path]],  # noqa: F811
    uploads: dict[str, FaultProxy],
) -> None:
    good = regions.version_event(PRIMARY, "alpha", "1.1")
    crafted = {**good, "detail": {**good["detail"], "packageName": "../../etc/passwd\x1b[2J"}}
    batch = sqs_batch([good, "{not json", crafted])
    run = Run(project)
    assert run(batch) == ids(batch)[1:]
    for path in alpha["1.1"]:
        assert regions.regions[THIRD].files()[path.name] == sha256_of(path)
    assert run.outcomes() == ["malformed", "malformed", "replicated"]
    assert not any("\x1b" in line for line in run.lines)
    assert "key detail.packageName" in run.lines[1]


def test_a_region_down_fails_its_record_and_a_retry_converges(
    regions: LocalAWS,
    project: Path,
    alpha: dict[str, list[Path]],  # noqa: F811
    uploads: dict[str, FaultProxy],
) -> None:
    uploads[THIRD].add(Rule(STATUS, status=503, times=0))  # every request to its index
    batch = sqs_batch(
        [
            regions.version_event(PRIMARY, "alpha", "1.1"),
            regions.version_event(PRIMARY, "alpha", "1.0"),
        ]
    )
    run = Run(project)
    failed = run(batch)
    assert failed == ids(batch)[:1]  # the version held everywhere needed no write
    assert not any(n.startswith("alpha-1.1") for n in regions.regions[THIRD].files())
    for path in alpha["1.1"]:  # the region that is up got its copy all the same
        assert regions.regions[SECOND].files()[path.name] == sha256_of(path)
    assert run.lags() == []  # not held everywhere: no lag yet
    assert THIRD in run.lines[0] and '"outcome": "failed"' in run.lines[0]
    assert not any(token in line for token in regions.tokens() for line in run.lines)

    uploads[THIRD].clear()
    retry = {"Records": [r for r in batch["Records"] if r["messageId"] in failed]}
    again = Run(project)
    assert again(retry) == []
    for region in (SECOND, THIRD):
        for path in alpha["1.1"]:
            assert regions.regions[region].files()[path.name] == sha256_of(path)
    assert posts(uploads)[SECOND] == 2  # only the region that lacked the files got them
    assert [d["DestinationRegion"] for d in again.lags()] == [THIRD]


def test_out_of_order_events_converge(
    regions: LocalAWS,
    project: Path,
    alpha: dict[str, list[Path]],  # noqa: F811
    uploads: dict[str, FaultProxy],
) -> None:
    """The status change is delivered before the publish it follows, in separate batches."""
    regions.regions[PRIMARY].set_version("alpha", "1.1", status="Unlisted")
    changed = regions.version_event(
        PRIMARY,
        "alpha",
        "1.1",
        operation_type="Updated",
        status_changed=True,
        sequence_number=2,
        time=SENT + timedelta(seconds=30),
    )
    created = regions.version_event(PRIMARY, "alpha", "1.1", sequence_number=1, time=SENT)
    assert Run(project)(sqs_batch([changed])) == []
    assert Run(project)(sqs_batch([created])) == []
    for region in (SECOND, THIRD):
        assert state_of(region, "alpha", "1.1") == ("Unlisted", "INTERNAL")
        for path in alpha["1.1"]:
            assert regions.regions[region].files()[path.name] == sha256_of(path)
    assert posts(uploads) == {PRIMARY: 0, SECOND: 2, THIRD: 2}


def test_the_entry_point_reads_its_config_from_the_environment(
    regions: LocalAWS, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    twine_upload(regions.regions[PRIMARY], build(tmp_path / "d", "gamma", "2.0"))
    table = (project / "pyproject.toml").read_text().split("[tool.codeartifact]", 1)[1]
    monkeypatch.setenv("CODEARTIFACT_CONFIG", "[tool.codeartifact]" + table)
    event = regions.version_event(PRIMARY, "gamma", "2.0")
    assert aws_lambda.handler(sqs_batch([event]), None) == {"batchItemFailures": []}
    assert aws_lambda.handler(event, None) == {"batchItemFailures": []}  # a bare event
    assert any(n.startswith("gamma-2.0") for n in regions.regions[THIRD].files())

    monkeypatch.setenv("CODEARTIFACT_CONFIG", '[tool.codeartifact]\ndomain = "acme"\n')
    with pytest.raises(aws_lambda.ConfigError, match=r"\$CODEARTIFACT_CONFIG: .*repository"):
        aws_lambda.handler(sqs_batch([event]), None)
    monkeypatch.delenv("CODEARTIFACT_CONFIG")
    with pytest.raises(aws_lambda.ConfigError, match="CODEARTIFACT_CONFIG is not set"):
        aws_lambda.handler(sqs_batch([event]), None)
    with pytest.raises(aws_lambda.UsageError, match="neither an SQS batch"):
        BatchReplicator(load_config(project)).handle([1, 2])
