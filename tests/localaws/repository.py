"""One region's repository as CodeArtifact's API sees it, read from pypiserver's own directory.

The fake control plane answers ListPackages, ListPackageVersions, ListPackageVersionAssets
and GetPackageVersionAsset from this view, so what the API says and what the index serves
can never drift apart: a package version exists exactly when files of it are on disk
(wheel/sdist names give the PEP 503 package name and the version), and an asset's SHA-256
is computed from its bytes (cached by path, mtime and size, so big repositories stay fast).

What the files cannot say, a test marks: ``set_version(package, version, status=...,
origin=...)``. Unmarked versions are Published with an INTERNAL origin. Statuses act on the
files the way CodeArtifact documents them to act on a package manager:

- Published: listed in the index and downloadable.
- Unlisted: CodeArtifact keeps the assets downloadable but leaves the version out of the
  version lists given to package managers (so out of pip's simple page). pypiserver cannot
  hide a file it serves, so here the version stays on the simple page: a known gap.
- Archived: not listed and not downloadable. The files move to ``held`` (outside the served
  directory), so pypiserver stops listing and serving them; the API still lists the version
  and its assets, and moving back to Published/Unlisted restores the files.
- Disposed: the assets are deleted for good (files removed); the version is still listed by
  the API with status Disposed and no assets, and cannot change status again.
- Deleted: the files are removed and the version is forgotten (a re-upload is a new version).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
import shutil
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

STATUSES = ("Published", "Unfinished", "Unlisted", "Archived", "Disposed", "Deleted")
ORIGIN_TYPES = ("INTERNAL", "EXTERNAL", "UNKNOWN")
# External connection CodeArtifact names for PyPI; an EXTERNAL version came in through it.
PYPI_CONNECTION = "public:pypi"
_SDIST_SUFFIXES = (".tar.gz", ".zip")


def pep503(name: str) -> str:
    """CodeArtifact stores PyPI names normalized (PEP 503), so lookups must be too."""
    return re.sub(r"[-_.]+", "-", name).lower()


@functools.lru_cache(maxsize=65536)
def parse_filename(filename: str) -> tuple[str, str] | None:
    """(normalized package, version) of a wheel or sdist file name; None for anything else."""
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        if len(parts) in (5, 6) and all(parts):
            return pep503(parts[0]), parts[1]
        return None
    for suffix in _SDIST_SUFFIXES:
        if filename.endswith(suffix):
            stem = filename[: -len(suffix)]
            name, sep, version = stem.rpartition("-")
            if sep and name and version:
                return pep503(name), version
    return None


@dataclass(frozen=True)
class Asset:
    """One file of a package version, as ListPackageVersionAssets describes it."""

    name: str
    size: int
    sha256: str
    path: Path


@dataclass
class Version:
    """One package version: its files (none once Disposed), status, origin and revision."""

    package: str
    version: str
    status: str = "Published"
    origin: str = "INTERNAL"
    assets: list[Asset] = field(default_factory=list)
    published: float = 0.0  # oldest file's mtime: the order of sortBy=PUBLISHED_TIME

    @property
    def revision(self) -> str:
        """Changes whenever the set of assets or their bytes change, as the real one does."""
        digest = hashlib.sha256()
        for asset in sorted(self.assets, key=lambda a: a.name):
            digest.update(f"{asset.name}\0{asset.sha256}\n".encode())
        if not self.assets:
            digest.update(f"{self.package}\0{self.version}\0disposed".encode())
        return base64.b64encode(digest.digest()).decode()


@dataclass
class _Mark:
    status: str = "Published"
    origin: str = "INTERNAL"


class PackageStore:
    """The package versions in ``live`` (pypiserver's directory) plus archived ones in ``held``."""

    def __init__(self, live: Path, held: Path) -> None:
        self.live = live
        self.held = held
        self._marks: dict[tuple[str, str], _Mark] = {}
        self._hashes: dict[tuple[str, int, int], str] = {}
        self._lock = threading.RLock()

    # reading -------------------------------------------------------------------

    def _sha256(self, path: Path, mtime_ns: int, size: int) -> str:
        key = (str(path), mtime_ns, size)
        with self._lock:
            known = self._hashes.get(key)
        if known is not None:
            return known
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        with self._lock:
            self._hashes[key] = digest.hexdigest()
        return digest.hexdigest()

    def _entries(
        self, directory: Path, wanted: str | None
    ) -> Iterable[tuple[str, str, os.DirEntry[str]]]:
        """(package, version, entry) per distribution file, narrowed to package ``wanted``.

        Names are parsed before anything is stat'ed, so asking about one package of a
        10,000-file repository stats only that package's files.
        """
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            return
        for entry in entries:
            parsed = parse_filename(entry.name)
            if parsed is None or wanted not in (None, parsed[0]):
                continue
            try:
                if entry.is_file():
                    yield parsed[0], parsed[1], entry
            except FileNotFoundError:  # removed while we looked
                continue

    def _collect(self, wanted: str | None) -> dict[tuple[str, str], Version]:
        found: dict[tuple[str, str], Version] = {}
        with self._lock:
            marks = dict(self._marks)
        for directory in (self.live, self.held):
            for package, version, entry in self._entries(directory, wanted):
                try:
                    stat = entry.stat()
                except FileNotFoundError:
                    continue
                path = directory / entry.name
                asset = Asset(
                    entry.name,
                    stat.st_size,
                    self._sha256(path, stat.st_mtime_ns, stat.st_size),
                    path,
                )
                item = found.get((package, version))
                if item is None:
                    mark = marks.get((package, version), _Mark())
                    item = found[(package, version)] = Version(
                        package, version, mark.status, mark.origin, [], stat.st_mtime
                    )
                item.assets.append(asset)
                item.published = min(item.published, stat.st_mtime)
        for key, mark in marks.items():
            if mark.status == "Disposed" and key not in found and wanted in (None, key[0]):
                found[key] = Version(key[0], key[1], "Disposed", mark.origin, [], 0.0)
        for item in found.values():
            item.assets.sort(key=lambda a: a.name)
        return found

    def all_versions(self) -> dict[tuple[str, str], Version]:
        """Every existing version, keyed by (normalized package, version)."""
        return self._collect(None)

    def packages(self) -> list[str]:
        """Normalized names of every package with at least one version, sorted (no stat)."""
        names = {
            package
            for directory in (self.live, self.held)
            for package, _, _ in self._entries(directory, None)
        }
        with self._lock:
            names |= {p for (p, _), m in self._marks.items() if m.status == "Disposed"}
        return sorted(names)

    def versions(self, package: str) -> list[Version]:
        return list(self._collect(pep503(package)).values())

    def version(self, package: str, version: str) -> Version | None:
        return self._collect(pep503(package)).get((pep503(package), version))

    # test controls and status changes ------------------------------------------

    def set_version(
        self, package: str, version: str, *, status: str | None = None, origin: str | None = None
    ) -> Version:
        """Mark a version's status and/or origin type, moving its files as the status asks.

        Raises KeyError for a version with no files (it does not exist) and ValueError for a
        status or origin type CodeArtifact does not have.
        """
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {STATUSES}")
        if origin is not None and origin not in ORIGIN_TYPES:
            raise ValueError(f"unknown origin type {origin!r}; one of {ORIGIN_TYPES}")
        key = (pep503(package), version)
        with self._lock:
            current = self._collect(key[0]).get(key)
            if current is None:
                raise KeyError(f"{package} {version} has no files in {self.live}")
            mark = self._marks.setdefault(key, _Mark(current.status, current.origin))
            if origin is not None:
                mark.origin = origin
            if status is not None and status != current.status:
                self._apply_status(current, mark, status)
            if mark.status == "Deleted":
                self._marks.pop(key, None)
        return self.version(package, version) or Version(key[0], version, "Deleted", mark.origin)

    def _apply_status(self, current: Version, mark: _Mark, status: str) -> None:
        if status in ("Disposed", "Deleted"):
            for asset in current.assets:
                asset.path.unlink(missing_ok=True)
        elif status == "Archived":
            self.held.mkdir(parents=True, exist_ok=True)
            for asset in current.assets:
                if asset.path.parent == self.live:
                    shutil.move(str(asset.path), str(self.held / asset.name))
        elif current.status == "Archived":  # back to Published/Unlisted/Unfinished
            for asset in current.assets:
                target = self.live / asset.name
                if asset.path.parent == self.held and not target.exists():
                    shutil.move(str(asset.path), str(target))
        mark.status = status

    def clear(self) -> None:
        """Forget every mark and empty ``held`` (between tests; the caller empties ``live``)."""
        with self._lock:
            self._marks.clear()
            self._hashes.clear()
        if self.held.is_dir():
            shutil.rmtree(self.held)
