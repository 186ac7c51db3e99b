"""Two builds of one commit are byte-identical, so anyone can check a release file by rebuilding."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.release.builds import ROOT, build, copy_of_checkout

pytestmark = [pytest.mark.release, pytest.mark.slow]


def test_two_builds_of_one_commit_have_the_same_sha256s(tmp_path: Path) -> None:
    first = build(ROOT, tmp_path / "first")
    second = build(copy_of_checkout(tmp_path / "elsewhere"), tmp_path / "second")

    assert sorted(first) == sorted(second), "both builds make the same files"
    assert [n for n in first if n.endswith(".whl")] and [n for n in first if n.endswith(".tar.gz")]
    assert first == second, "sdist and wheel differ between two builds of the same commit"
