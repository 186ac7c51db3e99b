"""Consistency across regions: ``status`` (the drift matrix) and ``sync`` (backfill).

CodeArtifact copies package versions only within one region, so a region added
later, or one that was down during a release, stays behind silently. ``status``
makes that visible from each region's own index; ``sync`` copies what is missing
from a region that has it, hash-checked, through the same upload engine as
publish. Files whose bytes differ between regions are never copied over.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from .artifacts import select_artifacts
from .aws import describe_origin
from .config import Config
from .errors import CodeArtifactError, UsageError
from .index import Index, IndexReadError, RetryPolicy
from .publish import Emitter, EventSink, Session, open_session, parallel, target_report
from .report import CONFLICT, FAILED, IDENTICAL, PLANNED, FileResult, Report, redact

PRESENT, MISSING, DIFFERENT = "present", "missing", "different"


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
        return next(self.shas[r] for r in regions if self.shas.get(r) and
                    counts[self.shas[r]] == best)

    def state(self, region: str, regions: Sequence[str]) -> str:
        sha = self.shas.get(region)
        if sha is None:
            return MISSING
        return PRESENT if sha == self.reference(regions) else DIFFERENT

    @property
    def diverged(self) -> bool:
        return len({s for s in self.shas.values() if s}) > 1


@dataclass
class StatusReport:
    project: str
    regions: list[str]
    files: list[FileState] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    origins: dict[str, dict[str, str] | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors and all(
            self.state(f, r) == PRESENT for f in self.files for r in self.regions)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def state(self, file: FileState, region: str) -> str:
        return file.state(region, self.regions)

    def versions(self) -> list[tuple[str, list[FileState]]]:
        grouped: dict[str, list[FileState]] = {}
        for file in self.files:
            grouped.setdefault(file.version, []).append(file)
        return sorted(grouped.items(), key=lambda item: _version_key(item[0]), reverse=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "ok": self.ok,
            "regions": self.regions,
            "versions": [
                {"version": version, "files": [
                    {"filename": f.filename,
                     "regions": {r: {"state": self.state(f, r), "sha256": f.shas.get(r)}
                                 for r in self.regions}}
                    for f in files]}
                for version, files in self.versions()
            ],
            "origins": self.origins,
            "errors": self.errors,
        }

    def to_json(self) -> str:
        return redact(json.dumps(self.to_dict(), indent=2))

    def render_text(self) -> str:
        lines = [f"{self.project} across {len(self.regions)} region(s):"]
        width = max([len(f.filename) for f in self.files] + [8])
        cols = [max(len(r), 9) for r in self.regions]
        lines.append("  " + "file".ljust(width) + "  " +
                     "  ".join(r.ljust(c) for r, c in zip(self.regions, cols)))
        for version, files in self.versions():
            lines.append(f"  {version}")
            for f in files:
                cells = []
                for region, col in zip(self.regions, cols):
                    state = self.state(f, region)
                    cells.append(("ok" if state == PRESENT else state.upper()).ljust(col))
                lines.append("  " + f.filename.ljust(width) + "  " + "  ".join(cells).rstrip())
        if not self.files and not self.errors:
            lines.append("  (no files in any region)")
        for region, restrictions in self.origins.items():
            if restrictions:
                rules = ", ".join(f"{k}={v}" for k, v in sorted(restrictions.items()))
                lines.append(f"  {region} origin controls: {rules}")
        for region, error in self.errors.items():
            lines.append(f"  {region}: UNREADABLE: {error}")
        drift = sum(1 for f in self.files for r in self.regions if self.state(f, r) != PRESENT)
        lines.append("in sync" if self.ok else
                     f"DRIFT: {drift} file x region cell(s) missing or different"
                     + (f", {len(self.errors)} region(s) unreadable" if self.errors else ""))
        return redact("\n".join(lines))


def _version_key(version: str) -> tuple[int, Any]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def _version_of(filename: str) -> str:
    try:
        if filename.endswith(".whl"):
            return str(parse_wheel_filename(filename)[1])
        if filename.endswith((".tar.gz", ".zip")):
            return str(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        pass
    return "unknown"


def _package(config: Config, package: str | None) -> str:
    name = package or config.project_name
    if not name:
        raise UsageError(f"{config.path}: no [project] name to inspect. "
                         "Pass --package NAME or set [project] name.")
    return str(canonicalize_name(name))


def collect(session: Session, package: str) -> StatusReport:
    """Read every region's index for ``package`` (in parallel) into one matrix."""
    regions = [ix.region for ix in session.indexes]
    report = StatusReport(project=package, regions=regions)

    def read(index: Index) -> dict[str, tuple[str | None, str]] | str:
        try:
            return index.links(package)
        except IndexReadError as exc:
            return str(exc)

    listings = parallel(read, session.indexes, len(session.indexes))
    states: dict[str, FileState] = {}
    for index, listing in zip(session.indexes, listings):
        if isinstance(listing, str):
            report.errors[index.region] = listing
            continue
        for filename, (sha, url) in listing.items():
            if sha is None:
                try:
                    sha = index.download(url, None)
                except IndexReadError as exc:
                    report.errors[index.region] = str(exc)
                    continue
            state = states.setdefault(filename, FileState(filename, _version_of(filename), {}))
            state.shas[index.region] = sha
            state.urls[index.region] = url
    for state in states.values():
        for region in regions:
            state.shas.setdefault(region, None)
    report.files = sorted(states.values(), key=lambda f: f.filename)
    return report


def status(config: Config, package: str | None = None, *, on_event: EventSink | None = None,
           policy: RetryPolicy | None = None) -> StatusReport:
    """The matrix of versions x regions for ``package`` (default: the project)."""
    name = _package(config, package)
    with open_session(config, policy=policy, emit=Emitter(on_event)) as session:
        report = collect(session, name)
        report.origins = dict(zip(report.regions, parallel(
            lambda ix: describe_origin(ix.endpoint, session.resolver, name),
            session.indexes, len(session.indexes))))
    return report


class Syncer:
    """Copies files that some regions lack from a region that has them."""

    def __init__(self, config: Config, *, on_event: EventSink | None = None,
                 policy: RetryPolicy | None = None) -> None:
        self.config = config
        self.emit = Emitter(on_event)
        self.policy = policy

    def sync(self, package: str | None = None, versions: Iterable[str] | None = None,
             source: str | None = None, dry_run: bool = False) -> Report:
        started = time.monotonic()
        name = _package(self.config, package)
        if source is not None and source not in self.config.regions:
            raise UsageError(f"--from {source}: not a configured region "
                             f"({', '.join(self.config.regions)}). Name one of them.")
        wanted = {_normalize_version(v) for v in versions or ()}
        with open_session(self.config, policy=self.policy, emit=self.emit) as session:
            matrix = collect(session, name)
            files = [f for f in matrix.files
                     if not wanted or _normalize_version(f.version) in wanted]
            report = Report(project=name, version=_single(f.version for f in files),
                            dry_run=dry_run, command="sync")
            report.targets = [target_report(ix.endpoint) for ix in session.indexes]
            by_region = {t.region: t for t in report.targets}
            for region, error in matrix.errors.items():
                by_region[region].error = error
            indexes = {ix.region: ix for ix in session.indexes}
            with tempfile.TemporaryDirectory(prefix="codeartifact-sync-") as tmp:
                parallel(lambda f: self._sync_file(f, matrix, indexes, by_region, source,
                                                   dry_run, Path(tmp)),
                         files, self.config.concurrency)
        report.elapsed_s = time.monotonic() - started
        return report

    def _sync_file(self, file: FileState, matrix: StatusReport, indexes: dict[str, Index],
                   targets: dict[str, Any], source: str | None, dry_run: bool, tmp: Path) -> None:
        regions = [r for r in matrix.regions if r not in matrix.errors]
        holders = [r for r in regions if file.shas.get(r)]
        lacking = [r for r in regions if not file.shas.get(r)]

        def record(region: str, outcome: str, error: str | None = None, src: str | None = None,
                   attempts: int = 0) -> None:
            sha = file.shas.get(region) or file.reference(matrix.regions) or ""
            targets[region].files.append(FileResult(
                filename=file.filename, sha256=sha, outcome=outcome, attempts=attempts,
                error=error, source_region=src))
            self.emit("done", region=region, filename=file.filename, outcome=outcome,
                      message=error or (f"from {src}" if src else ""))

        if file.diverged:
            shas = ", ".join(f"{r}={file.shas[r][:12]}…" for r in holders)  # type: ignore[index]
            for region in regions:
                record(region, CONFLICT, f"sha256 differs between regions ({shas}); not copied")
            return
        for region in holders:
            record(region, IDENTICAL)
        if not lacking:
            return
        src = source if source else (regions[0] if regions[0] in holders else holders[0])
        if src not in holders:
            for region in lacking:
                record(region, FAILED, f"--from {src} does not hold this file", src)
            return
        if dry_run:
            for region in lacking:
                record(region, PLANNED, None, src)
            return
        try:
            artifact = self._fetch(file, indexes[src], tmp)
        except CodeArtifactError as exc:
            for region in lacking:
                record(region, FAILED, f"could not copy from {src}: {exc}", src)
            return
        for region in lacking:
            result = indexes[region].upload(artifact)
            error = result.error
            if result.outcome in ("uploaded", "identical"):
                index = indexes[region]
                listed = index.hashes(artifact.project, [file.filename]).get(file.filename)
                if listed != artifact.sha256:
                    result.outcome, error = FAILED, "not in the index after upload"
            record(region, result.outcome, error, src, result.attempts)
        artifact.path.unlink(missing_ok=True)

    def _fetch(self, file: FileState, index: Index, tmp: Path) -> Any:
        """Stream the file from ``index`` to disk and check it against the source's sha256."""
        folder = tmp / f"{index.region}-{file.filename}"
        folder.mkdir()
        path = folder / file.filename
        try:
            sha = index.download(file.urls[index.region], path)
        except IndexReadError as exc:
            raise CodeArtifactError(str(exc)) from None
        if sha != file.shas[index.region]:
            raise CodeArtifactError(f"downloaded sha256 {sha[:12]}… does not match the index's "
                                    f"{(file.shas[index.region] or '')[:12]}…")
        return select_artifacts([path], folder)[0]


def _normalize_version(version: str) -> str:
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def _single(values: Iterable[str]) -> str | None:
    distinct = sorted(set(values))
    return distinct[0] if len(distinct) == 1 else None
