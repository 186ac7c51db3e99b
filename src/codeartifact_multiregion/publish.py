"""Publish one release to every target: preflight, plan, execute, verify, report.

The engine prints nothing. Hosts pass ``on_event`` and render ``Event``s with
their own output (cleo for poetry, ``app.display_*`` for hatch, rich for the CLI).
Each region gets its own HTTP session and worker pool, so a slow or dead region
delays only itself and never stops the others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from .artifacts import Artifact, select_artifacts
from .aws import Endpoint, Resolver, put_origin_block
from .config import Config
from .errors import CodeArtifactError
from .index import Index, IndexReadError, RetryPolicy
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

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Event:
    """A step of a run, for hosts to render; ``kind`` says which step."""

    kind: str  # resolved | planned | start | retry | done | verified | origin | target-failed
    region: str | None = None
    filename: str | None = None
    outcome: str | None = None
    message: str = ""
    attempt: int = 0
    bytes: int = 0
    elapsed_s: float = 0.0


EventSink = Callable[[Event], None]


class Emitter:
    """Serializes events from worker threads so no host renderer needs a lock."""

    def __init__(self, sink: EventSink | None) -> None:
        self._sink = sink
        self._lock = threading.Lock()

    def __call__(self, kind: str, **fields: object) -> None:
        if self._sink is None:
            return
        if isinstance(fields.get("message"), str):
            fields["message"] = redact(fields["message"])
        event = Event(kind, **fields)  # type: ignore[arg-type]
        with self._lock:
            self._sink(event)


def parallel(func: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """Map ``func`` over ``items`` with up to ``workers`` threads, keeping order."""
    if not items:
        return []
    if len(items) == 1 or workers <= 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(func, items))


class Session:
    """The resolved targets of one run, each with its index; closes them on exit."""

    def __init__(self, config: Config, endpoints: list[Endpoint], policy: RetryPolicy,
                 resolver: Resolver) -> None:
        self.config = config
        self.resolver = resolver
        self.indexes = [Index(e, policy, pool_size=config.concurrency) for e in endpoints]

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        for index in self.indexes:
            index.close()


def open_session(config: Config, *, policy: RetryPolicy | None = None,
                 resolver: Resolver | None = None, emit: Emitter | None = None) -> Session:
    """Resolve every target (in parallel; all or nothing) and open its index."""
    policy = policy or RetryPolicy.from_env()  # a bad override is a usage error: before AWS
    resolver = resolver or Resolver(config.token_duration)
    endpoints = resolver.resolve_all(config.targets)
    for endpoint in endpoints:
        if emit:
            emit("resolved", region=endpoint.region, message=endpoint.url)
    return Session(config, endpoints, policy, resolver)


def target_report(endpoint: Endpoint) -> TargetReport:
    target = endpoint.target
    return TargetReport(region=target.region, domain=target.domain,
                        domain_owner=endpoint.domain_owner, repository=target.repository)


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
        artifacts = select_artifacts(files, self.config.dist_dir, self.config.project_name)
        project, version = artifacts[0].project, artifacts[0].version
        for artifact in artifacts:
            self.emit("planned", filename=artifact.filename, bytes=artifact.size,
                      message=artifact.sha256)
        report = Report(project=project, version=version, dry_run=dry_run)
        with open_session(self.config, policy=self.policy, resolver=self.resolver,
                          emit=self.emit) as session:

            def pipeline(index: Index) -> TargetReport:
                # Preflight is over; from here each region goes plan -> upload -> verify on
                # its own, so the slowest region sets the wall time and delays no other.
                target = self._plan(index, artifacts, dry_run)
                if not dry_run:
                    self._execute(index, target, artifacts)
                    self._verify(index, target, artifacts)
                    if self.config.block_upstream:
                        self._block_upstream(session, index, target, project)
                return target

            report.targets = parallel(pipeline, session.indexes, len(session.indexes))
        report.elapsed_s = time.monotonic() - started
        return report

    def _plan(self, index: Index, artifacts: list[Artifact], dry_run: bool) -> TargetReport:
        report = target_report(index.endpoint)
        try:
            existing = index.hashes(artifacts[0].project, [a.filename for a in artifacts])
        except IndexReadError as exc:
            report.error = str(exc)
            report.files = [_result(a, FAILED, error="index unreadable") for a in artifacts]
            self.emit("target-failed", region=index.region, message=str(exc))
            return report
        for artifact in artifacts:
            found = existing.get(artifact.filename)
            if found is None:
                result = _result(artifact, PLANNED)
            elif found == artifact.sha256:
                result = _result(artifact, IDENTICAL)
            else:
                result = _result(artifact, CONFLICT, error=(
                    f"the index already holds this file name with sha256 {found[:12]}…, "
                    f"not {artifact.sha256[:12]}…; it was left unchanged"))
            report.files.append(result)
            if result.outcome != PLANNED or dry_run:
                self.emit("done", region=index.region, filename=artifact.filename,
                          outcome=result.outcome, message=result.error or "")
        return report

    def _execute(self, index: Index, report: TargetReport, artifacts: list[Artifact]) -> None:
        pending = [(a, r) for a, r in zip(artifacts, report.files) if r.outcome == PLANNED]

        def upload(pair: tuple[Artifact, FileResult]) -> None:
            artifact, result = pair
            self.emit("start", region=index.region, filename=artifact.filename,
                      bytes=artifact.size)
            started = time.monotonic()

            def on_retry(attempt: int, problem: str) -> None:
                self.emit("retry", region=index.region, filename=artifact.filename,
                          attempt=attempt, message=problem)

            try:
                outcome = index.upload(artifact, on_retry=on_retry)
            except Exception as exc:  # pragma: no cover - defensive
                # One file's surprise must not abort the other files and regions.
                detail = str(exc) if isinstance(exc, CodeArtifactError) else (
                    f"{type(exc).__name__}: {exc}")
                result.outcome, result.error = FAILED, redact(detail)
            else:
                result.outcome, result.attempts = outcome.outcome, outcome.attempts
                result.error = outcome.error
            result.elapsed_s = time.monotonic() - started
            self.emit("done", region=index.region, filename=artifact.filename,
                      outcome=result.outcome, attempt=result.attempts,
                      elapsed_s=result.elapsed_s, bytes=artifact.size,
                      message=result.error or "")

        parallel(upload, pending, self.config.concurrency)

    def _verify(self, index: Index, report: TargetReport, artifacts: list[Artifact]) -> None:
        """Every uploaded or identical file must be listed with its sha256.

        A repository may list a fresh upload a moment late, so a missing file is
        looked for again with backoff before it counts as failed; a wrong sha256 is final.
        """
        if report.error:
            return
        expected = {a.filename: (a, r) for a, r in zip(artifacts, report.files)
                    if r.outcome in (UPLOADED, IDENTICAL)}
        names = [a.filename for a in artifacts]
        policy = index.policy
        for attempt in range(1, policy.attempts + 1):
            try:
                listed = index.hashes(artifacts[0].project, names)
            except IndexReadError as exc:
                report.error = f"could not verify: {exc}"
                self.emit("target-failed", region=index.region, message=report.error)
                return
            if all(name in listed for name in expected) or attempt == policy.attempts:
                break
            time.sleep(policy.delay(attempt))
        for name, (artifact, result) in expected.items():
            found = listed.get(name)
            if found != artifact.sha256:
                result.outcome = FAILED
                result.error = ("not in the index after upload" if found is None else
                                f"the index lists sha256 {found[:12]}… after upload")
        self.emit("verified", region=index.region, outcome="ok" if report.ok else FAILED)

    def _block_upstream(self, session: Session, index: Index, report: TargetReport,
                        project: str) -> None:
        if not report.ok:
            return
        try:
            report.origin = put_origin_block(index.endpoint, session.resolver, project)
        except CodeArtifactError as exc:
            report.error = f"origin controls not set: {exc}"
        self.emit("origin", region=index.region, message=report.error or "publish=ALLOW, "
                  "upstream=BLOCK")


def _result(artifact: Artifact, outcome: str, error: str | None = None) -> FileResult:
    return FileResult(filename=artifact.filename, sha256=artifact.sha256, outcome=outcome,
                      bytes=artifact.size, error=error)
