"""Publish one release to every target: preflight, plan, execute, verify, report.

The engine prints nothing. Hosts pass ``on_event`` and render ``Event``s with
their own output (cleo for poetry, ``app.display_*`` for hatch, rich for the CLI).
Each region gets its own HTTP session and worker pool, so a slow or dead region
delays only itself and never stops the others.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .artifacts import Artifact, Candidate, find_release, load_release
from .aws import Resolver
from .config import Config
from .errors import IndexReadError
from .events import Emitter, EventSink
from .headstart import HeadStart
from .report import CONFLICT, FAILED, IDENTICAL, PLANNED, FileResult, Outcome, Report, TargetReport
from .retry import RetryPolicy

if TYPE_CHECKING:
    from .index import Index


class Publisher:
    """Publishes the files of one release to every configured target."""

    def __init__(
        self,
        config: Config,
        *,
        on_event: EventSink | None = None,
        policy: RetryPolicy | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.config = config
        self.emit = Emitter(on_event)
        self.policy = policy
        self.resolver = resolver

    def publish(self, files: Sequence[str | Path] = (), *, dry_run: bool = False) -> Report:
        """Run the whole publish; raises ``UsageError``/``ResolveError`` before any upload."""
        started = time.monotonic()
        release = find_release(files, self.config.dist_dir, self.config.project_name)
        policy = self.policy or RetryPolicy.from_env()  # a bad override: exit 2, before AWS
        resolver = self.resolver or Resolver(self.config.token_duration, policy)
        # The file names check out: the regions' URLs and connections, while the files are
        # read and the HTTP stack loads (headstart.py). No token before the files are good.
        head = HeadStart(self.config, policy, resolver).begin()
        try:
            return self._publish(release, dry_run, head, started)
        finally:
            head.close()  # what no session took over; a session closes its own

    def _publish(
        self, release: list[Candidate], dry_run: bool, head: HeadStart, started: float
    ) -> Report:
        from . import engine  # the HTTP stack: loaded while the head start waits on the network

        artifacts = load_release(release)
        project, version = artifacts[0].project, artifacts[0].version
        for artifact in artifacts:
            self.emit(
                "planned", filename=artifact.filename, bytes=artifact.size, message=artifact.sha256
            )
        report = Report(project=project, version=version, dry_run=dry_run)
        # Connections each region's uploads want at once, opened while resolving.
        connections = 1 if dry_run else min(self.config.concurrency, len(artifacts))
        with engine.open_session(
            self.config,
            policy=head.policy,
            resolver=head.resolver,
            emit=self.emit,
            connections=connections,
            early=head.early,
        ) as session:

            def pipeline(index: Index) -> TargetReport:
                # Preflight is over; from here each region goes plan -> upload -> verify on
                # its own, so the slowest region sets the wall time and delays no other.
                target, rejected = self._plan(index, artifacts, dry_run)
                if not dry_run:
                    self._execute(index, target, artifacts)
                    engine.verify(index, target, project, self.emit)
                    if self.config.block_upstream:
                        engine.block_upstream(session, index, target, project, self.emit)
                if rejected and not target.error:
                    # The files may be there, but an index that lists entries we refused
                    # (another origin, a path-like name) is not one to call complete.
                    target.error = engine.rejected_error(project, rejected)
                    self.emit("target-failed", region=index.region, message=target.error)
                return target

            report.targets = engine.parallel(pipeline, session.indexes, len(session.indexes))
        report.elapsed_s = time.monotonic() - started
        return report

    def _plan(
        self, index: Index, artifacts: list[Artifact], dry_run: bool
    ) -> tuple[TargetReport, list[str]]:
        """The region's plan, and the entries its index listed that were refused."""
        from . import engine

        report = engine.target_report(index.endpoint)
        try:
            existing, rejected = index.lookup(artifacts[0].project, [a.filename for a in artifacts])
        except IndexReadError as exc:
            report.error = str(exc)
            report.files = [_result(a, FAILED, error="index unreadable") for a in artifacts]
            self.emit("target-failed", region=index.region, message=str(exc))
            return report, []
        for artifact in artifacts:
            found = existing.get(artifact.filename)
            if found is None:
                result = _result(artifact, PLANNED)
            elif found == artifact.sha256:
                result = _result(artifact, IDENTICAL)
            else:
                result = _result(
                    artifact,
                    CONFLICT,
                    error=(
                        f"the index already holds this file name with sha256 {found[:12]}…, "
                        f"not {artifact.sha256[:12]}…; it was left unchanged"
                    ),
                )
            report.files.append(result)
            if result.outcome != PLANNED or dry_run:
                self.emit(
                    "done",
                    region=index.region,
                    filename=artifact.filename,
                    outcome=result.outcome,
                    message=result.error or "",
                )
        return report, rejected

    def _execute(self, index: Index, report: TargetReport, artifacts: list[Artifact]) -> None:
        from . import engine

        pending = [(a, r) for a, r in zip(artifacts, report.files) if r.outcome == PLANNED]
        engine.parallel(
            lambda pair: engine.upload(index, pair[0], pair[1], self.emit),
            pending,
            self.config.concurrency,
        )


def _result(artifact: Artifact, outcome: Outcome, error: str | None = None) -> FileResult:
    return FileResult(
        filename=artifact.filename,
        sha256=artifact.sha256,
        outcome=outcome,
        bytes=artifact.size,
        error=error,
    )
