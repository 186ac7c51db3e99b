"""``status``: which files of a package each region holds, and where they drift.

CodeArtifact copies package versions only within one region, so a region added
later, or one that was down during a release, stays behind silently. ``status``
makes that visible from each region's own index: present, missing, or different
(another sha256 than the primary's, or than the majority's where the primary lacks it).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .aws import describe_origin
from .config import Config
from .engine import Session, open_session, parallel
from .errors import CodeArtifactError, IndexReadError, UsageError
from .events import Emitter, EventSink
from .index import Index
from .names import is_project_name, parse_filename
from .report import CONFLICT, IDENTICAL
from .retry import RetryPolicy
from .secrets import redact
from .text import printable

PRESENT, MISSING, DIFFERENT, UNKNOWN = "present", "missing", "different", "unknown"


@dataclass
class FileState:
    """One file name across regions: each region's sha256 (None where it is missing)."""

    filename: str
    version: str
    shas: dict[str, str | None]
    urls: dict[str, str] = field(default_factory=dict)

    def reference(self, regions: Sequence[str]) -> str | None:
        """The primary's sha256, or the majority's where the primary lacks the file."""
        if self.shas.get(regions[0]):
            return self.shas[regions[0]]
        counts = Counter(s for s in self.shas.values() if s)
        if not counts:
            return None
        best = max(counts.values())
        return next(
            sha for sha in (self.shas.get(r) for r in regions) if sha and counts[sha] == best
        )

    def state(self, region: str, regions: Sequence[str]) -> str:
        sha = self.shas.get(region)
        if sha is None:
            return MISSING
        return PRESENT if sha == self.reference(regions) else DIFFERENT

    @property
    def diverged(self) -> bool:
        return len({s for s in self.shas.values() if s}) > 1

    def settle(
        self, dests: Sequence[str], regions: Sequence[str], record: Callable[..., object]
    ) -> list[str]:
        """Record what needs no copy; return the regions of ``dests`` that still lack the file.

        Where regions hold different bytes under this name, every destination is settled
        (``identical`` where it holds the reference, ``conflict`` elsewhere) and nothing is
        copied: which bytes are right is a person's call. ``record(region, outcome, error)``.
        """
        holders = [r for r in regions if self.shas.get(r)]
        if self.diverged:
            shas = ", ".join(f"{r}={(self.shas[r] or '')[:12]}…" for r in holders)
            for region in dests:
                state = self.state(region, regions)
                if state == PRESENT:
                    record(region, IDENTICAL)
                elif state == DIFFERENT:
                    record(
                        region,
                        CONFLICT,
                        f"this region holds other bytes under this name ({shas}); left unchanged",
                    )
                else:
                    record(region, CONFLICT, f"sha256 differs between regions ({shas}); not copied")
            return []
        for region in dests:
            if self.shas.get(region):
                record(region, IDENTICAL)
        return [r for r in dests if not self.shas.get(r)]


@dataclass
class StatusReport:
    project: str
    regions: list[str]
    files: list[FileState] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    origins: dict[str, dict[str, str] | None] = field(default_factory=dict)
    # Regions whose origin controls could not be read (a permission, say): shown, not drift.
    origin_errors: dict[str, str] = field(default_factory=dict)
    # Entries an index listed that are not plain distribution files of this package.
    rejected: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return (
            not self.errors
            and not self.rejected
            and all(self.state(f, r) == PRESENT for f in self.files for r in self.regions)
        )

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def state(self, file: FileState, region: str) -> str:
        """A cell's state; ``unknown`` where the region could not be read."""
        if region in self.errors:
            return UNKNOWN
        return file.state(region, self.regions)

    def versions(self) -> list[tuple[str, list[FileState]]]:
        grouped: dict[str, list[FileState]] = {}
        for file in self.files:
            grouped.setdefault(file.version, []).append(file)
        return sorted(grouped.items(), key=lambda item: version_key(item[0]), reverse=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "ok": self.ok,
            "regions": self.regions,
            "versions": [
                {
                    "version": version,
                    "files": [
                        {
                            "filename": f.filename,
                            "regions": {
                                r: {"state": self.state(f, r), "sha256": f.shas.get(r)}
                                for r in self.regions
                            },
                        }
                        for f in files
                    ],
                }
                for version, files in self.versions()
            ],
            "origins": {r: self.origins.get(r) for r in self.regions},
            "origin_errors": self.origin_errors,
            "rejected": self.rejected,
            "errors": self.errors,
        }

    def to_json(self) -> str:
        return redact(json.dumps(self.to_dict(), indent=2))

    def render_text(self) -> str:
        regions = self.regions
        lines = [f"{self.project} across {len(regions)} region(s) (primary: {regions[0]}):"]
        width = max([len(f.filename) for f in self.files] + [8])
        cols = [max(len(r), 9) for r in regions]
        lines.append(
            "  "
            + "file".ljust(width)
            + "  "
            + "  ".join(r.ljust(c) for r, c in zip(regions, cols)).rstrip()
        )
        for version, files in self.versions():
            lines.append(f"  {version}")
            for f in files:
                cells = []
                for region, col in zip(regions, cols):
                    if region in self.errors:
                        cell = "?"
                    else:
                        state = self.state(f, region)
                        cell = "ok" if state == PRESENT else state.upper()
                    cells.append(cell.ljust(col))
                lines.append("  " + f.filename.ljust(width) + "  " + "  ".join(cells).rstrip())
        if not self.files and not self.errors:
            lines.append("  (no files in any region)")
        if any(self.origins.get(r) for r in regions):
            lines.append("origin controls:")
            for region in regions:
                restrictions = self.origins.get(region)
                rules = (
                    ", ".join(f"{k}={v}" for k, v in sorted(restrictions.items()))
                    if restrictions
                    else "none set"
                )
                lines.append(f"  {region.ljust(max(len(r) for r in regions))}  {rules}")
        for region, error in self.origin_errors.items():
            lines.append(f"  {region}: origin controls unknown: {error}")
        for region, error in self.errors.items():
            lines.append(f"  {region}: UNREADABLE: {error}")
        for region, entries in self.rejected.items():
            lines.append(
                f"  {region}: REJECTED {len(entries)} index entr"
                f"{'y' if len(entries) == 1 else 'ies'} (not files of {self.project}): "
                + "; ".join(entries[:5])
                + (" …" if len(entries) > 5 else "")
            )
        drift = sum(
            1
            for f in self.files
            for r in regions
            if r not in self.errors and self.state(f, r) != PRESENT
        )
        problems = []
        if drift:
            problems.append(f"{drift} file x region cell(s) missing or different")
        if self.errors:
            problems.append(f"{len(self.errors)} region(s) unreadable")
        if self.rejected:
            problems.append(f"{len(self.rejected)} region(s) list entries that were refused")
        lines.append("in sync" if self.ok else "DRIFT: " + ", ".join(problems))
        return printable(redact("\n".join(lines)), keep_newlines=True)


def version_key(version: str) -> tuple[int, Any]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def version_of(filename: str) -> str:
    try:
        return str(parse_filename(filename).version)
    except ValueError:
        return "unknown"


def package_name(config: Config, package: str | None) -> str:
    name = package if package is not None else config.project_name
    if not name:
        raise UsageError(
            f"{config.path}: no package to inspect. Pass --package NAME or set [project] name."
        )
    if not is_project_name(name):
        raise UsageError(
            f"--package {name!r}: not a valid Python package name. "
            "Pass the name as it appears on the index (for example hello-internal)."
        )
    return str(canonicalize_name(name))


def collect(session: Session, package: str) -> StatusReport:
    """Read every region's index for ``package`` (in parallel) into one matrix.

    Where an index gives no sha256 fragment the file is downloaded and hashed
    (``Index.download`` keeps to CodeArtifact's read quota); a region whose index or files
    cannot be read is reported in ``errors`` and takes no part in the comparison.
    """
    regions = [ix.region for ix in session.indexes]
    report = StatusReport(project=package, regions=regions)

    def read(index: Index) -> tuple[dict[str, tuple[str, str]], list[str], str | None]:
        try:
            listing = index.listing(package)
            return index.hash_all(listing.files), listing.rejected, None
        except IndexReadError as exc:
            return {}, [], str(exc)

    listings = parallel(read, session.indexes, len(session.indexes))
    states: dict[str, FileState] = {}
    for index, (files, rejected, error) in zip(session.indexes, listings):
        if rejected:
            report.rejected[index.region] = rejected
        if error is not None:
            report.errors[index.region] = error
            continue
        for filename, (sha, url) in files.items():
            state = states.setdefault(filename, FileState(filename, version_of(filename), {}))
            state.shas[index.region] = sha
            state.urls[index.region] = url
    for state in states.values():
        for region in regions:
            state.shas.setdefault(region, None)
    report.files = sorted(states.values(), key=lambda f: (version_key(f.version), f.filename))
    return report


def status(
    config: Config,
    package: str | None = None,
    *,
    on_event: EventSink | None = None,
    policy: RetryPolicy | None = None,
) -> StatusReport:
    """The matrix of versions x regions for ``package`` (default: the project)."""
    name = package_name(config, package)
    with open_session(config, policy=policy, emit=Emitter(on_event)) as session:
        report = collect(session, name)

        def origin(index: Index) -> dict[str, str] | None:
            try:
                return describe_origin(index.endpoint, session.resolver, name)
            except CodeArtifactError as exc:  # a control-plane problem must not hide the matrix
                report.origin_errors[index.region] = str(exc)
                return None

        report.origins = dict(
            zip(report.regions, parallel(origin, session.indexes, len(session.indexes)))
        )
    return report
