"""Consistency across regions: ``status`` (the drift matrix) and ``sync`` (backfill).

CodeArtifact copies package versions only within one region, so a region added
later, or one that was down during a release, stays behind silently. ``status``
makes that visible from each region's own index; ``sync`` copies what is missing
from a region that has it, hash-checked, through the same upload engine as
publish (retries, look-before-retry, verify). Files whose bytes differ between
regions are never copied over.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
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

from .artifacts import Artifact, select_artifacts
from .aws import describe_origin, put_origin_block
from .config import Config, Target
from .errors import CodeArtifactError, UsageError
from .index import Index, IndexReadError, RetryPolicy
from .publish import Emitter, EventSink, Session, open_session, parallel, target_report
from .report import (
    CONFLICT,
    FAILED,
    IDENTICAL,
    PLANNED,
    UPLOADED,
    FileResult,
    Report,
    TargetReport,
    redact,
)

PRESENT, MISSING, DIFFERENT = "present", "missing", "different"
# PEP 508 project names.
_NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


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
            "origins": {r: self.origins.get(r) for r in self.regions},
            "errors": self.errors,
        }

    def to_json(self) -> str:
        return redact(json.dumps(self.to_dict(), indent=2))

    def render_text(self) -> str:
        regions = self.regions
        lines = [f"{self.project} across {len(regions)} region(s) (primary: {regions[0]}):"]
        width = max([len(f.filename) for f in self.files] + [8])
        cols = [max(len(r), 9) for r in regions]
        lines.append("  " + "file".ljust(width) + "  " +
                     "  ".join(r.ljust(c) for r, c in zip(regions, cols)).rstrip())
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
                rules = (", ".join(f"{k}={v}" for k, v in sorted(restrictions.items()))
                         if restrictions else "none set")
                lines.append(f"  {region.ljust(max(len(r) for r in regions))}  {rules}")
        for region, error in self.errors.items():
            lines.append(f"  {region}: UNREADABLE: {error}")
        drift = sum(1 for f in self.files for r in regions
                    if r not in self.errors and self.state(f, r) != PRESENT)
        problems = []
        if drift:
            problems.append(f"{drift} file x region cell(s) missing or different")
        if self.errors:
            problems.append(f"{len(self.errors)} region(s) unreadable")
        lines.append("in sync" if self.ok else "DRIFT: " + ", ".join(problems))
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
    name = package if package is not None else config.project_name
    if not name:
        raise UsageError(f"{config.path}: no package to inspect. "
                         "Pass --package NAME or set [project] name.")
    if not _NAME_RE.match(name):
        raise UsageError(f"--package {name!r}: not a valid Python package name. "
                         "Pass the name as it appears on the index (for example hello-internal).")
    return str(canonicalize_name(name))


def collect(session: Session, package: str) -> StatusReport:
    """Read every region's index for ``package`` (in parallel) into one matrix.

    Where an index gives no sha256 fragment the file is downloaded and hashed
    (``Index.download`` keeps to CodeArtifact's read quota); a region whose index or files
    cannot be read is reported in ``errors`` and takes no part in the comparison.
    """
    regions = [ix.region for ix in session.indexes]
    report = StatusReport(project=package, regions=regions)

    def read(index: Index) -> tuple[dict[str, tuple[str, str]], str | None]:
        found: dict[str, tuple[str, str]] = {}
        try:
            for filename, (sha, url) in index.links(package).items():
                if sha is None:
                    sha = index.download(url, None)
                found[filename] = (sha, url)
        except IndexReadError as exc:
            return found, str(exc)
        return found, None

    listings = parallel(read, session.indexes, len(session.indexes))
    states: dict[str, FileState] = {}
    for index, (listing, error) in zip(session.indexes, listings):
        if error is not None:
            report.errors[index.region] = error
            continue
        for filename, (sha, url) in listing.items():
            state = states.setdefault(filename, FileState(filename, _version_of(filename), {}))
            state.shas[index.region] = sha
            state.urls[index.region] = url
    for state in states.values():
        for region in regions:
            state.shas.setdefault(region, None)
    report.files = sorted(states.values(), key=lambda f: (_version_key(f.version), f.filename))
    return report


def status(config: Config, package: str | None = None, *, on_event: EventSink | None = None,
           policy: RetryPolicy | None = None) -> StatusReport:
    """The matrix of versions x regions for ``package`` (default: the project)."""
    name = _package(config, package)
    with open_session(config, policy=policy, emit=Emitter(on_event)) as session:
        report = collect(session, name)

        def origin(index: Index) -> dict[str, str] | None:
            try:
                return describe_origin(index.endpoint, session.resolver, name)
            except Exception:  # an unreachable control plane must not hide the matrix
                return None

        report.origins = dict(zip(report.regions, parallel(
            origin, session.indexes, len(session.indexes))))
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
        """Copy what each target lacks; raises ``UsageError`` (nothing copied) on bad input."""
        started = time.monotonic()
        name = _package(self.config, package)
        session_config = self._with_source(source)
        dests = self.config.regions
        wanted: set[Version | str] = {_normalize_version(v) for v in versions or ()}
        with open_session(session_config, policy=self.policy, emit=self.emit) as session:
            matrix = collect(session, name)
            if source is not None and source in matrix.errors:
                raise UsageError(f"--from {source}: its index could not be read "
                                 f"({matrix.errors[source]}). Choose another region.")
            self._check_versions(wanted, matrix, name)
            files = [f for f in matrix.files
                     if not wanted or _normalize_version(f.version) in wanted]
            report = Report(project=name, version=_single(f.version for f in files),
                            dry_run=dry_run, command="sync")
            indexes = {ix.region: ix for ix in session.indexes}
            report.targets = [target_report(indexes[r].endpoint) for r in dests]
            by_region = {t.region: t for t in report.targets}
            for region, error in matrix.errors.items():
                if region in by_region:
                    by_region[region].error = error
            with tempfile.TemporaryDirectory(prefix="codeartifact-sync-") as tmp:
                parallel(lambda f: self._sync_file(f, matrix, indexes, by_region, source,
                                                   dry_run, Path(tmp)),
                         files, self.config.concurrency)
            for target in report.targets:
                target.files.sort(key=lambda r: (_version_key(_version_of(r.filename)),
                                                 r.filename))
            if not dry_run:
                parallel(lambda t: self._verify(indexes[t.region], t, name),
                         report.targets, len(report.targets))
                if self.config.block_upstream:
                    for target in report.targets:
                        self._block_upstream(session, indexes[target.region], target, name)
        report.elapsed_s = time.monotonic() - started
        return report

    def _with_source(self, source: str | None) -> Config:
        """The config to resolve: the targets, plus ``--from`` when ``--region`` left it out."""
        if source is None or source in self.config.regions:
            return self.config
        from .config import load_config

        full = load_config(self.config.path)
        extra: Target | None = next((t for t in full.targets if t.region == source), None)
        if extra is None:
            raise UsageError(f"--from {source}: not a configured region "
                             f"({', '.join(full.regions)}). Name one of them.")
        return replace(self.config, targets=(*self.config.targets, extra))

    @staticmethod
    def _check_versions(wanted: set[Version | str], matrix: StatusReport, name: str) -> None:
        held = {_normalize_version(f.version) for f in matrix.files}
        unknown = sorted((str(v) for v in wanted - held), key=_version_key)
        if unknown:
            found = ", ".join(v for v, _ in matrix.versions()) or "none"
            raise UsageError(f"--version {', '.join(unknown)}: no region holds a file of {name} "
                             f"with that version (versions found: {found}). Check the version.")

    def _sync_file(self, file: FileState, matrix: StatusReport, indexes: dict[str, Index],
                   targets: dict[str, TargetReport], source: str | None, dry_run: bool,
                   tmp: Path) -> None:
        readable = [r for r in matrix.regions if r not in matrix.errors]
        dests = [r for r in targets if r not in matrix.errors]
        holders = [r for r in readable if file.shas.get(r)]
        lacking = [r for r in dests if not file.shas.get(r)]
        reference = file.reference(matrix.regions)

        def record(region: str, outcome: str, error: str | None = None, src: str | None = None,
                   **extra: Any) -> FileResult:
            result = FileResult(filename=file.filename,
                                sha256=file.shas.get(region) or reference or "",
                                outcome=outcome, error=error, source_region=src, **extra)
            targets[region].files.append(result)
            self.emit("done", region=region, filename=file.filename, outcome=outcome,
                      attempt=result.attempts, elapsed_s=result.elapsed_s, bytes=result.bytes,
                      message=error or (f"from {src}" if src else ""))
            return result

        if file.diverged:
            shas = ", ".join(f"{r}={file.shas[r][:12]}…" for r in holders)  # type: ignore[index]
            for region in dests:
                state = matrix.state(file, region)
                if state == PRESENT:
                    record(region, IDENTICAL)
                elif state == DIFFERENT:
                    record(region, CONFLICT, f"this region holds other bytes under this name "
                                             f"({shas}); left unchanged")
                else:
                    record(region, CONFLICT, f"sha256 differs between regions ({shas}); "
                                             "not copied")
            return
        for region in dests:
            if file.shas.get(region):
                record(region, IDENTICAL)
        if not lacking:
            return
        if source is not None:
            src = source
        elif matrix.regions[0] in holders:
            src = matrix.regions[0]
        else:
            src = holders[0]
        if src not in holders:
            for region in lacking:
                record(region, FAILED, f"--from {src} does not hold this file "
                                       f"(held by {', '.join(holders)})", src)
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
        try:
            parallel(lambda region: self._upload(region, indexes[region], artifact, src, record),
                     lacking, len(lacking))
        finally:
            artifact.path.unlink(missing_ok=True)

    def _upload(self, region: str, index: Index, artifact: Artifact, src: str,
                record: Any) -> None:
        self.emit("start", region=region, filename=artifact.filename, bytes=artifact.size)
        started = time.monotonic()

        def on_retry(attempt: int, problem: str) -> None:
            self.emit("retry", region=region, filename=artifact.filename, attempt=attempt,
                      message=problem)

        result = index.upload(artifact, on_retry=on_retry)
        record(region, result.outcome, result.error, src, attempts=result.attempts,
               bytes=artifact.size, elapsed_s=time.monotonic() - started)

    def _fetch(self, file: FileState, index: Index, tmp: Path) -> Artifact:
        """Stream the file from ``index`` to disk and check it against the source's sha256."""
        folder = Path(tempfile.mkdtemp(dir=tmp))
        path = folder / file.filename
        expected = file.shas[index.region] or ""
        try:
            sha = index.download(file.urls[index.region], path)
        except IndexReadError as exc:
            raise CodeArtifactError(str(exc)) from None
        if sha != expected:
            path.unlink(missing_ok=True)
            raise CodeArtifactError(f"downloaded sha256 {sha[:12]}… does not match the index's "
                                    f"{expected[:12]}…")
        artifact = select_artifacts([path], folder)[0]
        if artifact.sha256 != expected:  # pragma: no cover - the file changed under us
            raise CodeArtifactError(f"{file.filename} changed on disk while it was copied")
        return artifact

    def _verify(self, index: Index, report: TargetReport, project: str) -> None:
        """Read the target's index once: every copied or identical file must be listed."""
        if report.error:
            return
        checked = [r for r in report.files if r.outcome in (UPLOADED, IDENTICAL)]
        if not checked:
            return
        try:
            listed = index.hashes(project, [r.filename for r in checked])
        except IndexReadError as exc:
            report.error = f"could not verify: {exc}"
            self.emit("target-failed", region=index.region, message=report.error)
            return
        for result in checked:
            found = listed.get(result.filename)
            if found != result.sha256:
                result.outcome = FAILED
                result.error = ("not in the index after upload" if found is None else
                                f"the index lists sha256 {found[:12]}… after upload")
        self.emit("verified", region=index.region, outcome="ok" if report.ok else FAILED)

    def _block_upstream(self, session: Session, index: Index, report: TargetReport,
                        project: str) -> None:
        """Set the dependency-confusion guard where the package now is, as publish does."""
        if not report.ok or not report.files:
            return
        try:
            report.origin = put_origin_block(index.endpoint, session.resolver, project)
        except CodeArtifactError as exc:
            report.error = f"origin controls not set: {exc}"
        self.emit("origin", region=index.region,
                  message=report.error or "publish=ALLOW, upstream=BLOCK")


def _normalize_version(version: str) -> Version | str:
    """A comparable form: PEP 440 equality, so ``--version 1.1`` selects 1.1.0."""
    try:
        return Version(version)
    except InvalidVersion:
        return version


def _single(values: Iterable[str]) -> str | None:
    distinct = sorted(set(values))
    return distinct[0] if len(distinct) == 1 else None
