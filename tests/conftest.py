"""Fixtures: local regions started once per worker, emptied before each test that uses them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.localaws.dists import make_sdist, make_wheel
from tests.localaws.regions import LocalAWS


@pytest.fixture(scope="session")
def local_aws() -> Iterator[LocalAWS]:
    with LocalAWS() as aws:
        yield aws


@pytest.fixture
def regions(local_aws: LocalAWS) -> Iterator[LocalAWS]:
    """Three empty regions, with this process's AWS environment pointing at them."""
    local_aws.reset()
    with local_aws.environment():
        yield local_aws


@pytest.fixture
def project(tmp_path: Path, local_aws: LocalAWS) -> Path:
    """A project directory whose pyproject.toml targets every local region."""
    root = tmp_path / "project"
    local_aws.write_pyproject(root)
    return root


@pytest.fixture
def sample_dists(project: Path) -> Path:
    """hello-internal 1.0.0 as a wheel and an sdist in the project's dist/."""
    dist = project / "dist"
    make_wheel(dist, "hello-internal", "1.0.0")
    make_sdist(dist, "hello-internal", "1.0.0")
    return dist
