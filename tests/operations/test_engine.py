"""The steps publish and sync share, on a small fake index: order, isolation, verify."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any

import pytest

from codeartifact_multiregion.base.errors import IndexReadError
from codeartifact_multiregion.base.events import Emitter, Event
from codeartifact_multiregion.base.report import (
    FAILED,
    IDENTICAL,
    PLANNED,
    UPLOADED,
    FileResult,
    TargetReport,
)
from codeartifact_multiregion.base.secrets import MASK, register_secret
from codeartifact_multiregion.network.index import UploadResult
from codeartifact_multiregion.operations.engine import parallel, upload, verify
from tests.helpers import FAST

VERIFY = replace(FAST, attempts=4)  # room for two late listings and a third that is final
SHA = "a" * 64
OTHER = "b" * 64


@dataclass
class FakeIndex:
    """What the engine's steps use of an Index: a region, a policy, upload, hashes, sleep."""

    listings: list[dict[str, str]] = field(default_factory=list)  # one per hashes() call
    outcome: Any = None  # an UploadResult to return, or an exception to raise
    region: str = "us-east-1"
    policy: Any = VERIFY
    slept: list[float] = field(default_factory=list)
    reads: int = 0

    def upload(self, artifact: Any, on_retry: Any = None) -> UploadResult:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        on_retry(1, "HTTP 503")
        return self.outcome

    def hashes(self, project: str, filenames: list[str]) -> dict[str, str]:
        self.reads += 1
        listing = self.listings[min(self.reads, len(self.listings)) - 1]
        if isinstance(listing, Exception):
            raise listing
        return listing

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def artifact(name: str = "pkg-1.0-py3-none-any.whl") -> Any:
    return SimpleNamespace(filename=name, size=42, sha256=SHA)


def recorder() -> tuple[Emitter, list[Event]]:
    events: list[Event] = []
    return Emitter(events.append), events


def test_parallel_keeps_the_order_of_its_items_whatever_finishes_first() -> None:
    gate = threading.Barrier(4)

    def slow_first(i: int) -> int:
        if i < 4:
            gate.wait(5)  # the first four run together, so finishing order is the threads'
        return i * i

    assert parallel(slow_first, list(range(10)), workers=4) == [i * i for i in range(10)]
    assert parallel(slow_first, [], workers=4) == []
    assert parallel(lambda i: i + 1, [1, 2, 3], workers=1) == [2, 3, 4]


def test_parallel_passes_on_a_worker_exception() -> None:
    def boom(i: int) -> int:
        if i == 3:
            raise ValueError("item 3")
        return i

    with pytest.raises(ValueError, match="item 3"):
        parallel(boom, list(range(6)), workers=3)


def test_upload_records_the_index_outcome_and_emits_start_retry_done() -> None:
    index = FakeIndex(outcome=UploadResult(UPLOADED, 2))
    emit, events = recorder()
    result = FileResult("pkg-1.0-py3-none-any.whl", SHA, PLANNED)
    upload(index, artifact(), result, emit)  # type: ignore[arg-type]
    assert (result.outcome, result.attempts, result.error, result.bytes) == (UPLOADED, 2, None, 42)
    assert [e.kind for e in events] == ["start", "retry", "done"]
    assert events[-1].outcome == UPLOADED and events[-1].attempt == 2


def test_upload_turns_any_exception_into_this_files_failure() -> None:
    register_secret("tok-ENGINE-31337")
    index = FakeIndex(outcome=RuntimeError("surprise with tok-ENGINE-31337"))
    emit, events = recorder()
    result = FileResult("pkg-1.0-py3-none-any.whl", SHA, PLANNED)
    upload(index, artifact(), result, emit)  # type: ignore[arg-type]  # does not raise
    assert result.outcome == FAILED
    assert result.error == f"RuntimeError: surprise with {MASK}"
    done = events[-1]
    assert done.kind == "done" and done.outcome == FAILED and "tok-ENGINE" not in done.message


def report_of(*outcomes: Any) -> TargetReport:
    report = TargetReport("us-east-1", "acme", "111122223333", "python")
    report.files = [FileResult(f"f{i}.whl", SHA, o) for i, o in enumerate(outcomes)]
    return report


def test_verify_looks_again_for_a_late_listing_with_backoff() -> None:
    report = report_of(UPLOADED, IDENTICAL)
    index = FakeIndex(listings=[{}, {"f0.whl": SHA}, {"f0.whl": SHA, "f1.whl": SHA}])
    emit, events = recorder()
    verify(index, report, "pkg", emit)  # type: ignore[arg-type]
    assert report.ok, report
    assert index.reads == 3 and len(index.slept) == 2, "two waits on the injected sleep"
    assert all(s <= index.policy.backoff_max for s in index.slept)
    assert events[-1].kind == "verified" and events[-1].outcome is None


def test_verify_gives_up_after_the_policys_attempts() -> None:
    report = report_of(UPLOADED)
    index = FakeIndex(listings=[{}])
    verify(index, report, "pkg", recorder()[0])  # type: ignore[arg-type]
    assert index.reads == index.policy.attempts and len(index.slept) == index.policy.attempts - 1
    assert report.files[0].outcome == FAILED
    assert report.files[0].error == "not in the index after upload"


def test_verify_fails_a_wrong_sha256_at_once() -> None:
    report = report_of(UPLOADED, UPLOADED)
    index = FakeIndex(listings=[{"f0.whl": SHA, "f1.whl": OTHER}])
    emit, events = recorder()
    verify(index, report, "pkg", emit)  # type: ignore[arg-type]
    assert index.reads == 1 and index.slept == [], "a wrong sha256 is final: no waiting"
    assert [f.outcome for f in report.files] == [UPLOADED, FAILED]
    assert report.files[1].error == f"the index lists sha256 {OTHER[:12]}… after upload"
    assert events[-1].outcome == FAILED


def test_verify_checks_only_uploaded_and_identical_files() -> None:
    report = report_of(FAILED, PLANNED)
    index = FakeIndex(listings=[{}])
    verify(index, report, "pkg", recorder()[0])  # type: ignore[arg-type]
    assert index.reads == 0


def test_verify_reports_an_unreadable_index_on_the_target() -> None:
    report = report_of(UPLOADED)
    index = FakeIndex(listings=[IndexReadError("us-east-1: HTTP 500")])  # type: ignore[list-item]
    emit, events = recorder()
    verify(index, report, "pkg", emit)  # type: ignore[arg-type]
    assert report.error == "could not verify: us-east-1: HTTP 500" and not report.ok
    assert events[-1].kind == "target-failed"
