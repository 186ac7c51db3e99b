"""Shared set-up for running synthesized buildspecs against the local regions."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from tests.helpers import FAST_RETRIES
from tests.infra.buildspec_runner import Project, make_runtime, s3, upload_assets


@pytest.fixture
def runtime(shared_dir: Path) -> Iterator[Path]:
    """CodeBuild's Python runtime: one clean venv the buildspecs install into.

    Shared by the xdist workers (installing boto3 and friends from an index costs ~25 s), so
    a test holds the lock for as long as its build runs in it.
    """
    shared_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(shared_dir / "codebuild-runtime.lock")):
        bindir = make_runtime(shared_dir / "codebuild-runtime")
        # A fresh container has no publisher: a previous test's install of the same version
        # would make pip skip this build's verified wheel ("already satisfied").
        subprocess.run(
            [
                str(bindir / "python"),
                "-m",
                "pip",
                "uninstall",
                "-q",
                "-y",
                "codeartifact-multiregion",
            ],
            capture_output=True,
            check=False,
        )
        yield bindir


def build_env(
    aws: Any, project: Project, cdk_out: Path, workdir: Path, **overrides: str
) -> dict[str, str]:
    """The build's variables (literal ones from the template), the assets in local S3."""
    client = s3(aws.sts_url)
    upload_assets(client, cdk_out, project.variables)
    literal = {k: v for k, v in project.variables.items() if isinstance(v, str)}
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    return {
        **aws.subprocess_env(),
        **FAST_RETRIES,
        # moto serves S3 and CloudWatch next to STS: the aws CLI in the buildspec talks to it.
        "AWS_ENDPOINT_URL_S3": aws.sts_url,
        "AWS_ENDPOINT_URL_CLOUDWATCH": aws.sts_url,
        "CODEBUILD_BUILD_NUMBER": "7",
        "TMPDIR": str(workdir / "tmp"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        **literal,
        **overrides,
    }


def assert_no_secret(aws: Any, *outputs: str) -> None:
    for token in aws.tokens():
        for output in outputs:
            assert token not in output
