"""Project and distribution file names: the one parser every module uses, and the safety checks.

A wheel's or sdist's name says its project and version (PEP 427, PEP 625). Local files,
index entries and API assets are all read through ``parse_filename``, so what counts as
a distribution name, and which project and version it is, cannot differ between them.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from codeartifact_multiregion.base.text import printable

WHEEL, SDIST = "wheel", "sdist"
SDIST_SUFFIXES = (".tar.gz", ".zip")
# Every character a wheel or sdist name may hold: project names, PEP 440 versions (+ and !),
# build and compatibility tags.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+!-]*")
# A PEP 508 project name. Always fullmatch: with match and ``$``, "hello\n" would pass.
_PROJECT_NAME = re.compile(r"[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]", re.IGNORECASE)


class DistName(NamedTuple):
    project: NormalizedName
    version: Version
    kind: str


def is_project_name(name: str) -> bool:
    """Whether ``name`` is a valid Python project name (PEP 508), whole: no trailing newline."""
    return _PROJECT_NAME.fullmatch(name) is not None


def parse_filename(filename: str) -> DistName:
    """Project, version and kind of a wheel or sdist name; ``ValueError`` says why not."""
    try:
        if filename.endswith(".whl"):
            project, version, _, _ = parse_wheel_filename(filename)
            return DistName(project, version, WHEEL)
        if filename.endswith(SDIST_SUFFIXES):
            project, version = parse_sdist_filename(filename)
            return DistName(project, version, SDIST)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion) as exc:
        raise ValueError(f"not a valid distribution name ({exc})") from None
    raise ValueError("not a wheel (.whl) or sdist (.tar.gz)")


def filename_error(filename: str, project: str) -> str | None:
    """Why ``filename`` is not a plain distribution file name of ``project`` (None if it is).

    The only names ever used for a path, an upload or a report key: no separators, no
    NUL or control characters, a valid wheel or sdist name of this very package.
    """
    if not filename or filename in (".", "..") or any(c in filename for c in "/\\\0"):
        return "not a plain file name"
    if printable(filename) != filename or filename.strip() != filename:
        return "contains control or invisible characters"
    if not _PLAIN_NAME.fullmatch(filename):
        # Markup ([bold], <error>), spaces, % or & never appear in a wheel or sdist name
        # (PEP 427/625, PEP 440 versions); a name with them is not one, whatever it parses as.
        return "contains characters no distribution file name has"
    try:
        name = parse_filename(filename).project
    except ValueError as exc:
        return str(exc)
    if name != canonicalize_name(project):
        return f"a file of another package ({name})"
    return None
