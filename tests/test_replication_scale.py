"""Replication under load and interruption: quotas measured where requests arrive, SIGKILL.

The quotas are read from the stand-in control plane's own call log (the time each request
arrived, by its clock), never from the client's intentions. The SIGKILL test stops the
run at a point chosen by state (a proxy holds the third region's uploads after the fifth),
not by time, so it always dies midway.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from codeartifact_multiregion.config import load_config
from codeartifact_multiregion.replication import Replicator
from codeartifact_multiregion.retry import RetryPolicy
from tests.faults.proxy import PASS, FaultProxy, Rule
from tests.helpers import FAST_RETRIES, most_in_a_window, run_checked
from tests.localaws.dists import make_sdist, make_wheel
from tests.localaws.fake_codeartifact import DEFAULT_QUOTAS, QUOTA_OF
from tests.localaws.regions import LocalAWS
from tests.test_replication import CLI, PRIMARY, SECOND, THIRD, twine_upload, version_state

REPLICATION_OPS = (
    "ListPackages",
    "ListPackageVersions",
    "ListPackageVersionAssets",
    "GetPackageVersionAsset",
    "UpdatePackageVersionsStatus",
)


def stock(aws: LocalAWS, region: str, dist: Path, packages: int, versions: int) -> int:
    """Put ``packages`` x ``versions`` x (wheel + sdist) straight into a region's storage.

    The fast set-up for volume: pypiserver and the control plane read that directory on
    every request, exactly as if the files had been uploaded.
    """
    count = 0
    for p in range(packages):
        for v in range(versions):
            for path in (
                make_wheel(dist, f"pkg{p:03d}", f"1.{v}"),
                make_sdist(dist, f"pkg{p:03d}", f"1.{v}"),
            ):
                shutil.copy2(path, aws.regions[region].packages / path.name)
                count += 1
    return count


def test_sync_of_300_files_stays_under_every_quota(
    regions: LocalAWS, project: Path, tmp_path: Path
) -> None:
    files = stock(regions, PRIMARY, tmp_path / "dist", packages=50, versions=3)
    assert files == 300
    regions.regions[PRIMARY].set_version("pkg000", "1.0", status="Unlisted")
    result = run_checked(
        [*CLI, "sync", "--all", "--region", SECOND, "--json", "-q", "--project", str(project)],
        regions,
        timeout=600,
    )
    assert result.code == 0, result.out[-3000:] + result.err[-3000:]
    assert regions.regions[SECOND].files() == regions.regions[PRIMARY].files()
    assert version_state(SECOND, "pkg000", "1.0") == ("Unlisted", "INTERNAL")

    downloads = regions.fake.recorded("GetPackageVersionAsset")
    assert len(downloads) == 300 and {c.region for c in downloads} == {PRIMARY}
    for op in REPLICATION_OPS:
        for region in regions.regions:
            calls = regions.fake.recorded(op, region)
            assert [c for c in calls if c.status == 429] == [], (op, region)
            quota = DEFAULT_QUOTAS[QUOTA_OF[op]]
            assert quota is not None
            assert most_in_a_window([c.at for c in calls]) <= quota, (op, region)


class StepClock:
    """A clock that moves 0.3 s per request the control plane sees: time runs with load."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            self.now += 0.3
            return self.now


def test_throttling_is_honoured_with_backoff(
    regions: LocalAWS, project: Path, tmp_path: Path
) -> None:
    stock(regions, PRIMARY, tmp_path / "dist", packages=4, versions=1)
    regions.fake.clock = StepClock()
    regions.fake.set_quota("GetPackageVersionAsset", 2)  # at most 2 per ~3 requests seen
    config = load_config(project, [PRIMARY, SECOND])
    report = Replicator(config, policy=RetryPolicy(attempts=10, backoff=0.05)).sync_all()
    assert report.exit_code == 0, report.render_text()
    assert regions.regions[SECOND].files() == regions.regions[PRIMARY].files()
    statuses = [c.status for c in regions.fake.recorded("GetPackageVersionAsset")]
    assert statuses.count(200) == 8 and 429 in statuses


@pytest.fixture
def held_proxy(regions: LocalAWS) -> Iterator[tuple[FaultProxy, threading.Event]]:
    """A proxy in front of the third region that holds every upload after the fifth."""
    gate = threading.Event()
    with FaultProxy(regions.regions[THIRD].port) as proxy:
        proxy.add(Rule(PASS, method="POST", skip=5, times=0, before=lambda: gate.wait(120)))
        regions.route(THIRD, proxy.url)
        yield proxy, gate
        gate.set()


def test_sigkill_midway_then_rerun_converges(
    regions: LocalAWS, project: Path, tmp_path: Path, held_proxy: tuple[FaultProxy, threading.Event]
) -> None:
    proxy, gate = held_proxy
    dist = tmp_path / "dist"
    built = [
        f(dist, f"app{p}", f"2.{v}")
        for p in range(6)
        for v in range(2)
        for f in (make_wheel, make_sdist)
    ]
    twine_upload(regions.regions[PRIMARY], built)
    regions.regions[PRIMARY].set_version("app0", "2.1", status="Unlisted")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = {**os.environ, **regions.env(), **FAST_RETRIES, "TMPDIR": str(scratch)}
    proc = subprocess.Popen(
        [*CLI, "sync", "--all", "-q", "--project", str(project)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        proxy.wait_for("POST", n=6, timeout=120)  # five landed, the sixth is held
    finally:
        proc.kill()  # SIGKILL: no handler runs, nothing is cleaned up
        proc.wait(30)
    assert proc.returncode == -9
    assert len(regions.regions[THIRD].files()) <= 5 < len(built)

    proxy.clear()
    gate.set()
    rerun = run_checked(
        [*CLI, "sync", "--all", "--json", "--project", str(project)], regions, timeout=300
    )
    assert rerun.code == 0, rerun.out[-3000:] + rerun.err[-3000:]
    doc = json.loads(rerun.out)
    outcomes = {f["outcome"] for t in doc["targets"] for f in t["files"]}
    assert "conflict" not in outcomes and "failed" not in outcomes
    expected = regions.regions[PRIMARY].files()
    assert len(expected) == len(built)
    for region in (SECOND, THIRD):
        assert regions.regions[region].files() == expected
        assert version_state(region, "app0", "2.1") == ("Unlisted", "INTERNAL")
    status = run_checked([*CLI, "status", "--all", "--project", str(project)], regions)
    assert status.code == 0, status.out
