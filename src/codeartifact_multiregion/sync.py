"""``sync``: copy the files some regions lack from a region that has them.

Each file is streamed from its source to a private temporary directory, checked
against the source's sha256, and uploaded where it is missing through the same engine
steps as publish (retries, look-before-retry, verify, origin controls). Files whose
bytes differ between regions are never copied over.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from packaging.version import InvalidVersion, Version

from . import engine
from .artifacts import Artifact, select_artifacts
from .config import Config, Target
from .engine import parallel, rejected_error
from .errors import CodeArtifactError, IndexReadError, Interrupted, UsageError
from .events import Emitter, EventSink
from .index import Index
from .report import FAILED, PLANNED, FileResult, Outcome, Report, TargetReport
from .retry import RetryPolicy
from .scratch import private_dir
from .status import (
    FileState,
    StatusReport,
    collect,
    package_name,
    version_key,
    version_of,
)


class Syncer:
    """Copies files that some regions lack from a region that has them."""

    def __init__(
        self,
        config: Config,
        *,
        on_event: EventSink | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self.emit = Emitter(on_event)
        self.policy = policy
        self._lock = threading.Lock()

    def sync(
        self,
        package: str | None = None,
        versions: Iterable[str] | None = None,
        source: str | None = None,
        dry_run: bool = False,
    ) -> Report:
        """Copy what each target lacks; raises ``UsageError`` (nothing copied) on bad input."""
        started = time.monotonic()
        name = package_name(self.config, package)
        session_config = self._with_source(source)
        dests = self.config.regions
        wanted: set[Version | str] = {_normalize_version(v) for v in versions or ()}
        with engine.open_session(session_config, policy=self.policy, emit=self.emit) as session:
            matrix = collect(session, name)
            if source is not None and source in matrix.errors:
                raise UsageError(
                    f"--from {source}: its index could not be read "
                    f"({matrix.errors[source]}). Choose another region."
                )
            self._check_versions(wanted, matrix, name)
            files = [
                f for f in matrix.files if not wanted or _normalize_version(f.version) in wanted
            ]
            report = Report(
                project=name,
                version=_single(f.version for f in files),
                dry_run=dry_run,
                command="sync",
            )
            indexes = {ix.region: ix for ix in session.indexes}
            report.targets = [engine.target_report(indexes[r].endpoint) for r in dests]
            by_region = {t.region: t for t in report.targets}
            for region, error in matrix.errors.items():
                if region in by_region:
                    by_region[region].error = error
            for region, entries in matrix.rejected.items():
                if region in by_region and not by_region[region].error:
                    by_region[region].error = rejected_error(name, entries)
            with private_dir() as tmp:
                parallel(
                    lambda f: self._sync_file(f, matrix, indexes, by_region, source, dry_run, tmp),
                    files,
                    self.config.concurrency,
                )
            for target in report.targets:
                target.files.sort(key=lambda r: (version_key(version_of(r.filename)), r.filename))
            if not dry_run:
                parallel(
                    lambda t: engine.verify(indexes[t.region], t, name, self.emit),
                    report.targets,
                    len(report.targets),
                )
                if self.config.block_upstream:
                    for target in report.targets:
                        engine.block_upstream(
                            session, indexes[target.region], target, name, self.emit
                        )
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
            raise UsageError(
                f"--from {source}: not a configured region "
                f"({', '.join(full.regions)}). Name one of them."
            )
        return replace(self.config, targets=(*self.config.targets, extra))

    @staticmethod
    def _check_versions(wanted: set[Version | str], matrix: StatusReport, name: str) -> None:
        held = {_normalize_version(f.version) for f in matrix.files}
        unknown = sorted((str(v) for v in wanted - held), key=version_key)
        if unknown:
            found = ", ".join(v for v, _ in matrix.versions()) or "none"
            raise UsageError(
                f"--version {', '.join(unknown)}: no region holds a file of {name} "
                f"with that version (versions found: {found}). Check the version."
            )

    def _sync_file(
        self,
        file: FileState,
        matrix: StatusReport,
        indexes: dict[str, Index],
        targets: dict[str, TargetReport],
        source: str | None,
        dry_run: bool,
        tmp: Path,
    ) -> None:
        readable = [r for r in matrix.regions if r not in matrix.errors]
        dests = [r for r in targets if r not in matrix.errors]
        holders = [r for r in readable if file.shas.get(r)]
        reference = file.reference(matrix.regions)

        def record(
            region: str,
            outcome: Outcome,
            error: str | None = None,
            src: str | None = None,
            emit: bool = True,
        ) -> FileResult:
            result = FileResult(
                filename=file.filename,
                sha256=file.shas.get(region) or reference or "",
                outcome=outcome,
                error=error,
                source_region=src,
            )
            with self._lock:
                targets[region].files.append(result)
            if emit:
                self.emit(
                    "done",
                    region=region,
                    filename=file.filename,
                    outcome=outcome,
                    message=error or (f"from {src}" if src else ""),
                )
            return result

        lacking = file.settle(dests, matrix.regions, record)
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
                record(
                    region,
                    FAILED,
                    f"--from {src} does not hold this file (held by {', '.join(holders)})",
                    src,
                )
            return
        if dry_run:
            for region in lacking:
                record(region, PLANNED, None, src)
            return
        try:
            artifact = self._fetch(file, indexes[src], tmp)
        except Interrupted:
            raise
        except CodeArtifactError as exc:
            for region in lacking:
                record(region, FAILED, f"could not copy from {src}: {exc}", src)
            return
        try:
            results = [record(region, PLANNED, None, src, emit=False) for region in lacking]
            parallel(
                lambda pair: engine.upload(indexes[pair[0]], artifact, pair[1], self.emit),
                list(zip(lacking, results)),
                len(lacking),
            )
        finally:
            artifact.path.unlink(missing_ok=True)

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
            raise CodeArtifactError(
                f"downloaded sha256 {sha[:12]}… does not match the index's {expected[:12]}…"
            )
        artifact = select_artifacts([path], folder)[0]
        if artifact.sha256 != expected:  # pragma: no cover - the file changed under us
            raise CodeArtifactError(f"{file.filename} changed on disk while it was copied")
        return artifact


def _normalize_version(version: str) -> Version | str:
    """A comparable form: PEP 440 equality, so ``--version 1.1`` selects 1.1.0."""
    try:
        return Version(version)
    except InvalidVersion:
        return version


def _single(values: Iterable[str]) -> str | None:
    distinct = sorted(set(values))
    return distinct[0] if len(distinct) == 1 else None
