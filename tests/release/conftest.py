"""Fixtures for the release tests: the checkout's sdist and wheel, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.release.builds import ROOT, build


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory holding the checkout's sdist and wheel, built once per test session."""
    out = tmp_path_factory.mktemp("dist")
    build(ROOT, out)
    return out
