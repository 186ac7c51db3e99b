"""The steps publish and sync share: sessions, events, uploads, verify, origin controls.

``publish`` sends a release's files and ``sync`` copies files between regions, but both
end the same way for every file in every region: upload it with retries (one file's
surprise never stops the others), read the index again until it lists the file with its
sha256, and set the origin controls where asked. Keeping those steps here, once, is what
keeps the two commands from drifting apart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

from .artifacts import Artifact
from .aws import Endpoint, Resolver, put_origin_block
from .config import Config, Target
from .errors import CodeArtifactError, IndexReadError, Interrupted
from .events import Emitter
from .headstart import EarlyTransports
from .index import Index
from .report import FAILED, IDENTICAL, UPLOADED, FileResult, TargetReport
from .retry import STOP, RetryPolicy, check_stop, results
from .secrets import redact
from .transport import Transport, abort_all

T = TypeVar("T")
R = TypeVar("R")

# Seconds an interrupted ``parallel`` waits for its threads (their requests already cut off).
STOP_GRACE = 5.0


def parallel(func: Callable[[T], R], items: Sequence[T], workers: int) -> list[R]:
    """Map ``func`` over ``items`` with up to ``workers`` threads, keeping order.

    On an interrupt (in the main thread) nothing new starts, waits end and requests in
    flight are cut off, so the run stops in a moment instead of finishing its uploads.
    """
    if not items:
        return []
    if len(items) == 1 or workers <= 1:
        try:
            return [func(item) for item in items]
        except KeyboardInterrupt:
            stop()  # threads of an enclosing ``parallel`` stop too
            raise
    pool = ThreadPoolExecutor(max_workers=min(workers, len(items)))
    futures = [pool.submit(func, item) for item in items]
    try:
        done: list[R] = results(futures)
    except (KeyboardInterrupt, Interrupted):
        stop()
        pool.shutdown(wait=False, cancel_futures=True)
        # The cut-off requests end at once; give their threads a moment to unwind so the
        # caller's cleanup (the private temp dir) does not race a thread still writing.
        wait(futures, timeout=STOP_GRACE)
        raise
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return done


def stop() -> None:
    """Stop the run: no new request starts, sleeps end, requests in flight are cut off."""
    STOP.set()
    abort_all()


class Session:
    """The resolved targets of one run, each with its index; closes them on exit."""

    def __init__(
        self,
        config: Config,
        endpoints: list[Endpoint],
        policy: RetryPolicy,
        resolver: Resolver,
        transports: Mapping[Target, Transport] | None = None,
    ) -> None:
        self.config = config
        self.resolver = resolver
        transports = transports or {}
        self.indexes = [
            Index(e, policy, pool_size=config.concurrency, transport=transports.get(e.target))
            for e in endpoints
        ]

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        for index in self.indexes:
            index.close()


def open_session(
    config: Config,
    *,
    policy: RetryPolicy | None = None,
    resolver: Resolver | None = None,
    emit: Emitter | None = None,
    connections: int = 1,
    early: EarlyTransports | None = None,
) -> Session:
    """Resolve every target (in parallel; all or nothing) and open its index.

    ``connections`` per region are opened as soon as its URL is known, during the rest
    of the resolve: as many as the run will have requests in flight at once. ``early``
    (a head start's) already holds the connections opened before the resolve.
    """
    STOP.clear()
    policy = policy or RetryPolicy.from_env()  # a bad override is a usage error: before AWS
    resolver = resolver or Resolver(config.token_duration, policy)
    early = early or EarlyTransports(policy, config.concurrency, connections)
    early.want(connections)
    try:
        endpoints = resolver.resolve_all(config.targets, on_endpoint=early.open)
    except BaseException:
        early.close()
        raise
    for endpoint in endpoints:
        if emit:
            emit("resolved", region=endpoint.region, message=endpoint.url)
    return Session(config, endpoints, policy, resolver, early.transports)


def target_report(endpoint: Endpoint) -> TargetReport:
    target = endpoint.target
    return TargetReport(
        region=target.region,
        domain=target.domain,
        domain_owner=endpoint.domain_owner,
        repository=target.repository,
    )


def rejected_error(project: str, entries: Sequence[str]) -> str:
    """A region's error for the entries its index listed that were refused (never used)."""
    shown = "; ".join(entries[:5]) + (" …" if len(entries) > 5 else "")
    return (
        f"the index lists {len(entries)} entr{'y' if len(entries) == 1 else 'ies'} that "
        f"are not files of {project} and were ignored: {shown}"
    )


def upload(index: Index, artifact: Artifact, result: FileResult, emit: Emitter) -> None:
    """Upload one file to one region and record the outcome in ``result``.

    Whatever goes wrong is this file's failure in this region alone: an exception is
    recorded, never raised, so the other files and regions carry on.
    """
    check_stop()  # after a stop, a queued upload neither starts nor reports
    emit("start", region=index.region, filename=artifact.filename, bytes=artifact.size)
    started = time.monotonic()

    def on_retry(attempt: int, problem: str) -> None:
        emit(
            "retry",
            region=index.region,
            filename=artifact.filename,
            attempt=attempt,
            message=problem,
        )

    try:
        outcome = index.upload(artifact, on_retry=on_retry)
    except Interrupted:
        raise  # the run is stopping: no outcome to report for a request that was cut off
    except Exception as exc:
        detail = str(exc) if isinstance(exc, CodeArtifactError) else f"{type(exc).__name__}: {exc}"
        result.outcome, result.error = FAILED, redact(detail)
    else:
        result.outcome, result.attempts, result.error = (
            outcome.outcome,
            outcome.attempts,
            outcome.error,
        )
    result.bytes = artifact.size
    result.elapsed_s = time.monotonic() - started
    emit(
        "done",
        region=index.region,
        filename=artifact.filename,
        outcome=result.outcome,
        attempt=result.attempts,
        elapsed_s=result.elapsed_s,
        bytes=artifact.size,
        message=result.error or (f"from {result.source_region}" if result.source_region else ""),
    )


def verify(index: Index, report: TargetReport, project: str, emit: Emitter) -> None:
    """Every uploaded or identical file of ``report`` must be listed with its sha256.

    A repository may list a fresh upload a moment late, so a missing file is looked for
    again with backoff before it counts as failed; a wrong sha256 is final.
    """
    if report.error:
        return
    checked = [r for r in report.files if r.outcome in (UPLOADED, IDENTICAL)]
    if not checked:
        return
    names = [r.filename for r in checked]
    policy = index.policy
    for attempt in range(1, policy.attempts + 1):
        try:
            listed = index.hashes(project, names)
        except IndexReadError as exc:
            report.error = f"could not verify: {exc}"
            emit("target-failed", region=index.region, message=report.error)
            return
        if all(name in listed for name in names) or attempt == policy.attempts:
            break
        index.sleep(policy.delay(attempt))
    for result in checked:
        found = listed.get(result.filename)
        if found != result.sha256:
            result.outcome = FAILED
            result.error = (
                "not in the index after upload"
                if found is None
                else f"the index lists sha256 {found[:12]}… after upload"
            )
    emit(
        "verified",
        region=index.region,
        outcome=None if report.ok else FAILED,
        message="ok" if report.ok else "",
    )


def block_upstream(
    session: Session, index: Index, report: TargetReport, project: str, emit: Emitter
) -> None:
    """Allow publishing, block upstream versions (the dependency-confusion guard).

    Set only where the region is complete and holds the package, so a failed run never
    leaves a guard on a package that is not there.
    """
    if not report.ok or not report.files:
        return
    try:
        report.origin = put_origin_block(index.endpoint, session.resolver, project)
    except CodeArtifactError as exc:
        report.error = f"origin controls not set: {exc}"
    emit("origin", region=index.region, message=report.error or "publish=ALLOW, upstream=BLOCK")
