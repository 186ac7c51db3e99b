"""Find and validate the distribution files of one release.

Every file is read once with twine's ``PackageFile`` (metadata parsed, sha256 and
blake2 computed) and the result is shared by all regions, so ten regions cost one
hash pass, not ten.
"""

from __future__ import annotations

import os
import tarfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .errors import ArtifactError
from .names import WHEEL, parse_filename

if TYPE_CHECKING:
    from twine.package import PackageFile

REBUILD = "Rebuild it (for example with `python -m build`, `poetry build` or `hatch build`)."
# The metadata file a wheel or sdist may carry: real ones are kilobytes; a file that
# unpacks to more is refused before anything reads it into memory.
MAX_METADATA_BYTES = 8 << 20

__all__ = ["Artifact", "ArtifactError", "find_release", "load_release", "select_artifacts"]


@dataclass(frozen=True)
class Artifact:
    """One distribution file, validated and hashed."""

    path: Path  # as the user named it: a symlink keeps its own name
    project: str  # PEP 503-normalized
    version: str
    kind: str
    sha256: str
    size: int
    package: PackageFile = field(repr=False, compare=False)

    @property
    def filename(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class Candidate:
    """A distribution file known by its name only: what ``find_release`` checked."""

    path: Path
    project: str
    version: Version
    kind: str


def select_artifacts(
    paths: Sequence[str | Path], dist_dir: Path, project_name: str | None = None
) -> list[Artifact]:
    """The files to publish: ``paths`` if given, else the newest release in ``dist_dir``.

    A directory among ``paths`` stands for the newest release inside it, as hatch
    passes ``dist/`` and poetry's uploader picks the current version's files.
    """
    return load_release(find_release(paths, dist_dir, project_name))


def find_release(
    paths: Sequence[str | Path], dist_dir: Path, project_name: str | None = None
) -> list[Candidate]:
    """``select_artifacts`` without reading the files: which files, checked by name only.

    Missing files, names that are not distributions and mixed releases are refused here,
    in microseconds; ``load_release`` then reads, checks and hashes what is left.
    """
    candidates: list[Candidate] = []
    if not paths:
        candidates = _newest(_scan(dist_dir, project_name), dist_dir, project_name)
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            candidates += _newest(_scan(path, project_name), path, project_name)
        else:
            candidates.append(_candidate(path))
    _check_one_release(candidates)
    return _dedupe(candidates)


def load_release(candidates: Iterable[Candidate]) -> list[Artifact]:
    """Each file of ``find_release``'s answer read once: metadata checked, sha256 taken."""
    return [_load(candidate) for candidate in candidates]


def _scan(directory: Path, project_name: str | None) -> list[Candidate]:
    if directory.exists() and not directory.is_dir():
        raise ArtifactError(
            f"{directory}: not a directory. Pass the directory that holds the built "
            "distributions (--dist-dir DIR), or the files themselves."
        )
    if not directory.is_dir():
        raise ArtifactError(
            f"{directory}: no such directory. Build the project first "
            "(`python -m build`, `poetry build` or `hatch build`), or pass --dist-dir."
        )
    wanted = canonicalize_name(project_name) if project_name else None
    found = []
    for path in sorted(directory.iterdir()):
        if not path.name.endswith((".whl", ".tar.gz")):
            continue
        if path.is_symlink() and not path.exists():
            raise ArtifactError(
                f"{path}: a symbolic link to {os.readlink(path)}, which does not "
                "exist. Remove the link or rebuild the file it points to."
            )
        if not path.is_file():
            # A directory, FIFO or device named like a distribution is a broken build
            # output, not "nothing here": skipping it would publish the rest of a release.
            raise ArtifactError(
                f"{path}: named like a distribution but not a regular file. "
                "Remove it or rebuild the project."
            )
        candidate = _candidate(path)
        if wanted is None or candidate.project == wanted:
            found.append(candidate)
    return found


def _newest(
    candidates: list[Candidate], directory: Path, project_name: str | None
) -> list[Candidate]:
    if not candidates:
        what = f"distributions of {project_name}" if project_name else "distributions"
        raise ArtifactError(
            f"{directory}: no {what} (.whl or .tar.gz) found. Build the project first "
            "(`python -m build`, `poetry build` or `hatch build`), or pass the files to publish."
        )
    projects = sorted({c.project for c in candidates})
    if len(projects) > 1:
        raise ArtifactError(
            f"{directory}: holds distributions of several projects ({', '.join(projects)}). "
            "Pass the files to publish explicitly, or set the project name in pyproject.toml."
        )
    newest = max(c.version for c in candidates)
    return [c for c in candidates if c.version == newest]


def _candidate(path: Path) -> Candidate:
    name = path.name
    if path.is_symlink() and not path.exists():
        raise ArtifactError(
            f"{path}: a symbolic link to {os.readlink(path)}, which does not "
            "exist. Remove the link or rebuild the file it points to."
        )
    if not path.exists():
        raise ArtifactError(f"{path}: no such file. Check the path, or build the project first.")
    if not path.is_file():
        raise ArtifactError(f"{path}: not a file. Pass wheel (.whl) or sdist (.tar.gz) files.")
    if not name.endswith((".whl", ".tar.gz")):
        raise ArtifactError(
            f"{path}: not a distribution file. Pass wheel (.whl) or sdist (.tar.gz) files only."
        )
    try:
        project, version, kind = parse_filename(name)
    except ValueError as exc:
        raise ArtifactError(f"{path}: the file name is {exc}. {REBUILD}") from None
    # Absolute, but the last component kept: a link is published under its own name.
    return Candidate(
        path=path.parent.resolve() / name, project=str(project), version=version, kind=kind
    )


def _check_one_release(candidates: Iterable[Candidate]) -> None:
    candidates = list(candidates)
    projects = sorted({c.project for c in candidates})
    if len(projects) > 1:
        listing = ", ".join(f"{c.path.name} ({c.project})" for c in candidates)
        raise ArtifactError(
            f"files of different projects in one run: {listing}. Publish one project at a time."
        )
    versions = sorted({str(c.version) for c in candidates})
    if len(versions) > 1:
        listing = ", ".join(f"{c.path.name} ({c.version})" for c in candidates)
        raise ArtifactError(
            f"files of different versions in one run: {listing}. "
            "Publish one version at a time; pass its files explicitly or remove the others."
        )


def _dedupe(candidates: list[Candidate]) -> list[Candidate]:
    seen: dict[str, Path] = {}
    unique = []
    for candidate in candidates:
        other = seen.get(candidate.path.name)
        if other is None:
            seen[candidate.path.name] = candidate.path
            unique.append(candidate)
        elif other != candidate.path:
            raise ArtifactError(
                f"{candidate.path.name}: passed twice from different places ({other} and "
                f"{candidate.path}). Pass each file once."
            )
    # Wheels first, as poetry and twine upload them: an installer finds a wheel sooner.
    return sorted(unique, key=lambda c: (c.kind != WHEEL, c.path.name))


def _load(candidate: Candidate) -> Artifact:
    from twine.exceptions import InvalidDistribution
    from twine.package import PackageFile

    path = candidate.path
    _check_metadata_size(path, candidate.kind)
    try:
        package = PackageFile.from_filename(str(path), comment=None)
    except InvalidDistribution as exc:
        raise ArtifactError(f"{path}: {_describe(exc)}. {REBUILD}") from None
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, KeyError, ValueError) as exc:
        raise ArtifactError(f"{path}: not a readable {candidate.kind} ({exc}). {REBUILD}") from None
    except PermissionError:
        raise ArtifactError(
            f"{path}: cannot be read (permission denied). Fix the file's permissions."
        ) from None
    except OSError as exc:
        raise ArtifactError(f"{path}: cannot be read ({exc.strerror or exc}). {REBUILD}") from None

    # metadata_dictionary() is public in every twine the project allows; ``metadata``
    # itself changed type in twine 6.1 (a pkginfo object before, a mapping since).
    meta = package.metadata_dictionary()
    meta_name, meta_version = str(meta.get("name") or ""), str(meta.get("version") or "")
    if canonicalize_name(meta_name) != candidate.project:
        raise ArtifactError(
            f"{path}: the file name says project '{candidate.project}' but its metadata says "
            f"'{meta_name}'. {REBUILD}"
        )
    try:
        same_version = Version(meta_version) == candidate.version
    except InvalidVersion:
        same_version = False
    if not same_version:
        raise ArtifactError(
            f"{path}: the file name says version {candidate.version} but its metadata says "
            f"'{meta_version}'. {REBUILD}"
        )
    if package.sha2_digest is None:  # pragma: no cover - only on FIPS builds without sha256
        raise ArtifactError(f"{path}: sha256 is unavailable on this Python build.")
    return Artifact(
        path=path,
        project=candidate.project,
        version=meta_version,
        kind=candidate.kind,
        sha256=package.sha2_digest,
        size=path.stat().st_size,
        package=package,
    )


def _check_metadata_size(path: Path, kind: str) -> None:
    """Refuse a METADATA/PKG-INFO that unpacks to more than ``MAX_METADATA_BYTES``.

    twine reads it whole into memory; a 500 KB wheel can declare 500 MB of it. Every
    member a reader may pick is checked, not just the usual one: twine and pkginfo try
    each name *containing* METADATA (wheels) or PKG-INFO (sdists), shallowest first, until
    one parses, so a decoy ahead of a huge one must not hide it. The sizes checked are the
    archive's own: zipfile and tarfile never read past them.
    """
    try:
        if kind == WHEEL:
            with zipfile.ZipFile(path) as archive:
                sizes = [
                    (i.filename, i.file_size)
                    for i in archive.infolist()
                    if "METADATA" in i.filename
                ]
        else:
            with tarfile.open(path, "r:gz") as archive:
                sizes = [(m.name, m.size) for m in archive if "PKG-INFO" in m.name]
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError):
        return  # PackageFile reports a broken archive with its own words
    for name, size in sizes:
        if size > MAX_METADATA_BYTES:
            raise ArtifactError(
                f"{path}: {name} unpacks to {size} bytes (at most {MAX_METADATA_BYTES} are "
                f"read). A real one is a few kilobytes. {REBUILD}"
            )


def _describe(exc: Exception) -> str:
    text = str(exc).strip().rstrip(".")
    return text[0].lower() + text[1:] if text else "not a valid distribution"
