"""The stand-ins' view of a storage directory: read once, yet never behind any writer.

Time is the catalogue's injected clock, never the machine's: "settled" means the clock
reads more than SETTLE_NS past the directory's stamp, "racy" means it does not.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tests.localaws.catalogue import SETTLE_NS, Catalogue, FileHashes
from tests.localaws.repository import parse_filename


def later(path: Path) -> int:
    """A clock reading at which ``path``'s current stamp has settled."""
    stat = os.stat(path)
    return max(stat.st_mtime_ns, stat.st_ctime_ns) + SETTLE_NS + 1


def fill(root: Path, packages: int, versions: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for p in range(packages):
        for v in range(versions):
            (root / f"pkg{p:04d}-1.{v}.tar.gz").write_bytes(b"sdist")
            (root / f"pkg{p:04d}-1.{v}-py3-none-any.whl").write_bytes(b"wheel")


def test_an_unchanged_directory_is_listed_once_however_large(tmp_path: Path) -> None:
    fill(tmp_path, packages=500, versions=4)
    now = later(tmp_path)
    catalogue = Catalogue(tmp_path, parse_filename, clock=lambda: now)
    for _ in range(200):
        files = catalogue.files("pkg0123", "1.2")
    assert sorted(files) == [
        ("pkg0123", "1.2", "pkg0123-1.2-py3-none-any.whl"),
        ("pkg0123", "1.2", "pkg0123-1.2.tar.gz"),
    ]
    assert len(catalogue.packages()) == 500 and len(catalogue) == 4000
    assert catalogue.listings == 1


def test_files_other_writers_add_or_remove_show_on_the_next_call(tmp_path: Path) -> None:
    fill(tmp_path, packages=3, versions=1)
    clock = [later(tmp_path)]
    catalogue = Catalogue(tmp_path, parse_filename, clock=lambda: clock[0])
    assert catalogue.packages() == ["pkg0000", "pkg0001", "pkg0002"]
    (tmp_path / "New_Pkg-2.0.tar.gz").write_bytes(b"x")
    (tmp_path / "pkg0001-1.0.tar.gz").unlink()
    (tmp_path / "pkg0001-1.0-py3-none-any.whl").unlink()
    clock[0] = later(tmp_path)
    assert catalogue.packages() == ["new-pkg", "pkg0000", "pkg0002"]
    assert catalogue.files("new-pkg") == [("new-pkg", "2.0", "New_Pkg-2.0.tar.gz")]
    assert catalogue.files("pkg0001") == []
    assert catalogue.listings == 2


def test_a_listing_as_recent_as_the_clock_tick_is_taken_again(tmp_path: Path) -> None:
    # A change in the same tick as the listing could leave the directory's stamp as it was,
    # so until the stamp has settled every call lists again; then one listing serves.
    fill(tmp_path, packages=2, versions=1)
    racy = max(os.stat(tmp_path).st_mtime_ns, os.stat(tmp_path).st_ctime_ns)
    clock = [racy]
    catalogue = Catalogue(tmp_path, parse_filename, clock=lambda: clock[0])
    for _ in range(3):
        catalogue.files("pkg0000")
    assert catalogue.listings == 3
    clock[0] = racy + SETTLE_NS
    for _ in range(3):
        catalogue.files("pkg0000")
    assert catalogue.listings == 4


def test_only_distribution_files_at_the_top_level_count(tmp_path: Path) -> None:
    fill(tmp_path, packages=1, versions=1)
    (tmp_path / "README.txt").write_text("not a distribution")
    (tmp_path / "dir-1.0.tar.gz").mkdir()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner-1.0.tar.gz").write_bytes(b"x")
    catalogue = Catalogue(tmp_path, parse_filename)
    assert catalogue.packages() == ["pkg0000"]
    assert not catalogue.holds("README.txt") and catalogue.holds("pkg0000-1.0.tar.gz")


def test_a_directory_that_is_missing_is_empty_until_it_appears(tmp_path: Path) -> None:
    root = tmp_path / "held"
    catalogue = Catalogue(root, parse_filename)
    assert catalogue.files() == [] and catalogue.packages() == []
    fill(root, packages=1, versions=1)
    assert len(catalogue.files()) == 2
    for path in root.iterdir():
        path.unlink()
    root.rmdir()
    assert catalogue.files() == []


def test_a_digest_is_read_once_and_again_when_the_bytes_change(tmp_path: Path) -> None:
    path = tmp_path / "pkg-1.0.tar.gz"
    path.write_bytes(b"first bytes")
    clock = [later(path)]
    hashes = FileHashes(clock=lambda: clock[0])
    for _ in range(5):
        digest, stat = hashes.digest(path)
    assert digest == hashlib.sha256(b"first bytes").hexdigest() and stat.st_size == 11
    assert hashes.computed == 1
    path.write_bytes(b"other bytes")  # same size, same name, same directory stamp
    assert hashes.digest(path)[0] == hashlib.sha256(b"other bytes").hexdigest()


def test_a_digest_of_bytes_still_being_written_is_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "pkg-1.0.tar.gz"
    path.write_bytes(b"partial")
    racy = later(path) - SETTLE_NS - 1
    hashes = FileHashes(clock=lambda: racy)
    hashes.digest(path)
    hashes.digest(path)
    assert hashes.computed == 2
