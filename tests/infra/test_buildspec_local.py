"""The platform's replicator buildspec, run here against the local regions with a sample event.

A version published into one region by any tool raises a ``CodeArtifact Package Version State
Change`` event; the rule hands its fields to the replicator build as variables, and the build
must leave that version's files, with the same sha256, in every other region. Written against
the ``sync --event`` contract in DESIGN.md (``-`` reads the event from stdin).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from infra_cdk.stacks.tools.event_from_env import FIELDS
from tests.helpers import run_checked
from tests.infra.assembly import Assembly
from tests.infra.buildspec_runner import project, run
from tests.infra.localbuild import assert_no_secret, build_env, runtime  # noqa: F401
from tests.localaws.dists import make_sdist, make_wheel

pytestmark = pytest.mark.slow

PRIMARY, *OTHERS = ["us-east-1", "eu-west-1", "ap-southeast-2"]


def sample_event(region: str, name: str, version: str) -> dict[str, str]:
    """What EventBridge puts into the build for a version published in ``region``."""
    values = {
        "id": "6f0a2c1e-0000-4000-8000-000000000001",
        "source": "aws.codeartifact",
        "detail-type": "CodeArtifact Package Version State Change",
        "account": "111122223333",
        "region": region,
        "time": "2026-12-01T12:00:00Z",
        "detail.domainName": "acme",
        "detail.domainOwner": "111122223333",
        "detail.repositoryName": "python",
        "detail.packageFormat": "pypi",
        "detail.packageName": name,
        "detail.packageVersion": version,
        "detail.packageVersionState": "Published",
        "detail.packageVersionRevision": "REV1",
        "detail.operationType": "Created",
        "detail.eventDeduplicationId": "dedup-1",
    }
    return {variable: values[where] for variable, where in FIELDS.items()}


def test_replicator_buildspec_replicates_the_event_version(
    platform: Assembly,
    regions,
    tmp_path: Path,
    runtime: Path,  # noqa: F811
) -> None:
    # A release lands in the primary only, published by some other tool.
    project_dir = tmp_path / "pkg"
    regions.write_pyproject(project_dir)
    files = [
        make_wheel(tmp_path / "dist", "hello-internal", "1.0.0"),
        make_sdist(tmp_path / "dist", "hello-internal", "1.0.0"),
    ]
    seeded = run_checked(
        [
            sys.executable,
            "-m",
            "codeartifact_multiregion",
            "publish",
            "--project",
            project_dir,
            "--region",
            PRIMARY,
            *files,
        ],
        regions,
    )
    assert seeded.code == 0, seeded.err
    expected = regions.region(PRIMARY).files()
    assert len(expected) == 2 and all(regions.region(r).files() == {} for r in OTHERS)

    stack = platform.stack(f"acme-python-platform-{PRIMARY}")
    build = project(stack, "Replicator")
    workdir = tmp_path / "build"
    workdir.mkdir()
    env = build_env(
        regions,
        build,
        platform.outdir,
        tmp_path,
        CODEBUILD_SRC_DIR=str(workdir),
        **sample_event(PRIMARY, "hello-internal", "1.0.0"),
    )
    result = run(build.spec, env, runtime, workdir)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert_no_secret(regions, result.stdout, result.stderr)
    for region in OTHERS:
        assert regions.region(region).files() == expected, region

    # A replay of the same event is a no-op that still succeeds.
    again = run(build.spec, env, runtime, workdir)
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
    for region in [PRIMARY, *OTHERS]:
        assert regions.region(region).files() == expected, region
