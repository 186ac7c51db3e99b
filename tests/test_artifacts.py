"""Choosing and validating distribution files: the newest release by default, bad files refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from codeartifact_multiregion.artifacts import ArtifactError, select_artifacts
from tests.helpers import sha256_of
from tests.localaws.dists import make_sdist, make_wheel


def test_default_is_the_newest_version_wheel_first(tmp_path: Path) -> None:
    for version in ("1.0.0", "1.10.0", "1.9.0"):
        make_wheel(tmp_path, "hello-internal", version)
        make_sdist(tmp_path, "hello-internal", version)
    (tmp_path / "notes.txt").write_text("not a dist")
    chosen = select_artifacts([], tmp_path, "Hello_Internal")
    assert [a.filename for a in chosen] == [
        "hello_internal-1.10.0-py3-none-any.whl",
        "hello_internal-1.10.0.tar.gz",
    ]
    assert all(a.project == "hello-internal" and a.version == "1.10.0" for a in chosen)
    assert [a.sha256 for a in chosen] == [sha256_of(a.path) for a in chosen]
    assert chosen[0].size == chosen[0].path.stat().st_size


def test_default_ignores_other_projects_when_the_name_is_known(tmp_path: Path) -> None:
    make_wheel(tmp_path, "hello-internal", "1.0.0")
    make_wheel(tmp_path, "other", "9.0.0")
    assert [a.project for a in select_artifacts([], tmp_path, "hello-internal")] == [
        "hello-internal"
    ]
    with pytest.raises(ArtifactError, match=r"several projects.*hello-internal, other"):
        select_artifacts([], tmp_path, None)


def test_explicit_files_and_directories(tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path / "a", "pkg", "2.0")
    make_sdist(tmp_path / "b", "pkg", "2.0")
    chosen = select_artifacts([wheel, tmp_path / "b"], tmp_path / "unused", None)
    assert [a.filename for a in chosen] == ["pkg-2.0-py3-none-any.whl", "pkg-2.0.tar.gz"]


def bad_inputs(tmp_path: Path) -> list[tuple[list[Path], Path, str]]:
    """(files, dist_dir, words the message must contain) for each kind of bad input."""
    good = make_wheel(tmp_path / "good", "pkg", "1.0")
    corrupt = tmp_path / "corrupt" / "pkg-1.0-py3-none-any.whl"
    corrupt.parent.mkdir()
    corrupt.write_bytes(b"PK\x03\x04 this is not a zip")
    truncated = tmp_path / "truncated" / "pkg-1.0-py3-none-any.whl"
    truncated.parent.mkdir()
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    no_metadata = tmp_path / "nometa" / "pkg-1.0-py3-none-any.whl"
    no_metadata.parent.mkdir()
    with zipfile.ZipFile(no_metadata, "w") as zf:
        zf.writestr("pkg/__init__.py", "")
    mismatched = make_sdist(tmp_path / "mismatch", "other", "1.0")
    renamed = mismatched.with_name("pkg-1.0.tar.gz")
    mismatched.rename(renamed)
    text = tmp_path / "readme.txt"
    text.write_text("hello")
    bad_name = tmp_path / "badname" / "not-a-wheel.whl"
    bad_name.parent.mkdir()
    bad_name.write_bytes(good.read_bytes())
    (tmp_path / "empty").mkdir()
    return [
        ([corrupt], tmp_path, corrupt.name),
        ([truncated], tmp_path, truncated.name),
        ([no_metadata], tmp_path, no_metadata.name),
        ([renamed], tmp_path, "metadata says 'other'"),
        ([text], tmp_path, "readme.txt: not a distribution file"),
        ([bad_name], tmp_path, "not-a-wheel.whl: the file name is not a valid"),
        ([tmp_path / "missing.whl"], tmp_path, "missing.whl: no such file"),
        ([], tmp_path / "empty", "no distributions of pkg"),
        ([], tmp_path / "nowhere", "nowhere: no such directory"),
        ([good, make_wheel(tmp_path / "x", "other", "1.0")], tmp_path, "different projects"),
        ([good, make_sdist(tmp_path / "y", "pkg", "2.0")], tmp_path, "different versions"),
        ([good, make_wheel(tmp_path / "z", "pkg", "1.0")], tmp_path, "passed twice"),
    ]


def test_every_bad_input_names_the_file_and_the_fix(tmp_path: Path) -> None:
    cases = bad_inputs(tmp_path)
    for files, dist_dir, words in cases:
        with pytest.raises(ArtifactError) as caught:
            select_artifacts(files, dist_dir, "pkg")
        message = str(caught.value)
        assert words in message, message
        assert message.rstrip().endswith("."), message
