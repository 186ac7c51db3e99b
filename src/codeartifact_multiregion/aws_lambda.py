"""The Lambda replicator: ``handler(event, context)`` for an SQS batch of CodeArtifact events.

EventBridge puts each ``CodeArtifact Package Version State Change`` of the repository on a
queue; Lambda hands this function up to a batch of them. Each message body is checked like
``sync --event``'s file (``eventbridge.parse_event``) and the batch is replicated by the same
function as ``sync --event`` (``Replicator.sync_events``), so the rules cannot drift apart:

- level-triggered: every region is asked what it holds, the event's word is not trusted, so
  an echo of our own copy, a replay and an EXTERNAL (upstream-cached) version write nothing;
- records naming one version are one copy, and the batch shares one token per region;
- the answer names exactly the records not fully replicated (malformed, a region that could
  not be read or written, a conflict): SQS retries only those, then dead-letters them.

Each version that had to be copied has its lag (the event's ``time`` to every region holding
it, verified) printed as one CloudWatch embedded-metric-format line per destination region:
Lambda's log is ingested as metrics, with no PutMetricData call and no permission for it.
Configuration is the ``[tool.codeartifact]`` table as TOML text in ``CODEARTIFACT_CONFIG``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from packaging.utils import canonicalize_name

from codeartifact_multiregion.base.config import Config, config_from_text
from codeartifact_multiregion.base.errors import CodeArtifactError, ConfigError, UsageError
from codeartifact_multiregion.base.report import UPLOADED
from codeartifact_multiregion.base.retry import RetryPolicy
from codeartifact_multiregion.base.secrets import redact
from codeartifact_multiregion.base.text import printable
from codeartifact_multiregion.operations.eventbridge import VersionEvent, parse_event
from codeartifact_multiregion.operations.replication import ReplicationReport, Replicator

CONFIG_VARIABLE = "CODEARTIFACT_CONFIG"
NAMESPACE = "CodeArtifactMultiRegion"
LAG_METRIC = "ReplicationLagSeconds"
# The dimension sets the lag is published under: the repository, and per destination region.
LAG_DIMENSIONS = (("Domain", "Repository"), ("Domain", "Repository", "DestinationRegion"))
MAX_ID = 256


def handler(event: Any, context: Any = None) -> dict[str, list[dict[str, str]]]:
    """Lambda's entry point: ``codeartifact_multiregion.aws_lambda:handler``."""
    return BatchReplicator(config_from_env()).handle(event)


def config_from_env(environ: Mapping[str, str] | None = None) -> Config:
    text = (os.environ if environ is None else environ).get(CONFIG_VARIABLE)
    if not text:
        raise ConfigError(
            f"{CONFIG_VARIABLE} is not set. Set it to the [tool.codeartifact] "
            "table as TOML text (the platform stack does)."
        )
    return _parsed(text)


@lru_cache(maxsize=1)
def _parsed(text: str) -> Config:
    """Parsed once per container: a warm start reuses it."""
    return config_from_text(text, f"${CONFIG_VARIABLE}")


@dataclass
class Record:
    """One message of the batch: its id, and its event or why it has none."""

    item_id: str
    event: VersionEvent | None = None
    problem: str | None = None


def read_batch(batch: Any) -> list[Record]:
    """The records of an SQS batch, or the one record of a bare EventBridge event."""
    if isinstance(batch, dict) and isinstance(batch.get("Records"), list):
        return [_record(item) for item in batch["Records"]]
    if isinstance(batch, dict) and "detail-type" in batch:
        item_id = _item_id(batch.get("id")) or "event"
        return [_parse(item_id, json.dumps(batch).encode("utf-8"))]
    raise UsageError(
        'the invocation is neither an SQS batch ({"Records": [...]}) nor an '
        "EventBridge event. Invoke the replicator from its queue."
    )


def _record(item: Any) -> Record:
    # An id Lambda cannot match fails the whole batch, which is the safe side for a record
    # that cannot be named: every other record of it is level-triggered, so a retry is free.
    item_id = _item_id(item.get("messageId") if isinstance(item, dict) else None)
    body = item.get("body") if isinstance(item, dict) else None
    if not isinstance(body, str):
        return Record(
            item_id,
            problem=f"SQS message {item_id or '?'}: no body. The queue "
            "must carry the EventBridge event itself.",
        )
    return _parse(item_id, body.encode("utf-8", "replace"))


def _parse(item_id: str, raw: bytes) -> Record:
    try:
        return Record(item_id, parse_event(raw, item_id, where=f"SQS message {item_id or '?'}"))
    except UsageError as exc:
        return Record(item_id, problem=str(exc))


def _item_id(value: object) -> str:
    if isinstance(value, str) and 0 < len(value) <= MAX_ID and printable(value) == value:
        return value
    return ""


class BatchReplicator:
    """Replicates one batch; ``clock`` (epoch seconds) and ``log`` are injectable for tests."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], float] = time.time,
        log: Callable[[str], None] = print,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.log = log
        self.policy = policy

    def handle(self, batch: Any) -> dict[str, list[dict[str, str]]]:
        records = read_batch(batch)
        good = [r for r in records if r.event is not None]
        failed = {id(r) for r in records if r.event is None}
        for record in records:
            if record.problem:
                self._say("malformed", record, record.problem)
        earliest = self._earliest(good)
        replicator = Replicator(self.config, policy=self.policy, full=self.config)
        try:
            reports = replicator.sync_events(
                [r.event for r in good if r.event], on_done=lambda rep: self._lag(rep, earliest)
            )
        except CodeArtifactError as exc:
            for record in good:
                failed.add(id(record))
                self._say("failed", record, str(exc))
        else:
            for record, report in zip(good, reports):
                if not report.ok:
                    failed.add(id(record))
                self._say(_outcome(report), record, _detail(report))
        return {
            "batchItemFailures": [{"itemIdentifier": r.item_id} for r in records if id(r) in failed]
        }

    @staticmethod
    def _earliest(records: list[Record]) -> dict[tuple[str, str], float]:
        """Per version, the first event's time: the lag runs from the original change."""
        out: dict[tuple[str, str], float] = {}
        for record in records:
            event = record.event
            if event is None or event.time is None:
                continue
            key = (str(canonicalize_name(event.package)), event.version)
            out[key] = min(out.get(key, event.time.timestamp()), event.time.timestamp())
        return out

    def _lag(self, report: ReplicationReport, earliest: dict[tuple[str, str], float]) -> None:
        """One EMF line per destination region this version had to be copied to."""
        event = report.event
        if event is None or not report.ok or report.report.dry_run:
            return
        sent = earliest.get((str(canonicalize_name(event.package)), event.version))
        if sent is None:
            return
        now = self.clock()
        for target in report.report.targets:
            copied = any(f.outcome == UPLOADED for f in target.files)
            if copied or report.statuses.get(target.region):
                self.log(lag_line(event, target.region, max(0.0, now - sent), now))

    def _say(self, outcome: str, record: Record, detail: str) -> None:
        line: dict[str, Any] = {"outcome": outcome, "record": record.item_id}
        if record.event is not None:
            line["event"] = record.event.describe()
        line["detail"] = detail
        self.log(printable(redact(json.dumps(line, ensure_ascii=True))))


def lag_line(event: VersionEvent, region: str, lag: float, now: float) -> str:
    """The CloudWatch embedded metric format document for one version's lag in one region."""
    doc = {
        "_aws": {
            "Timestamp": int(now * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [list(d) for d in LAG_DIMENSIONS],
                    "Metrics": [{"Name": LAG_METRIC, "Unit": "Seconds"}],
                }
            ],
        },
        "Domain": event.domain,
        "Repository": event.repository,
        "DestinationRegion": region,
        LAG_METRIC: round(lag, 3),
        "SourceRegion": event.region,
        "Package": event.package,
        "Version": event.version,
    }
    return json.dumps(doc, ensure_ascii=True)


def _outcome(report: ReplicationReport) -> str:
    if report.skipped or (
        report.ok and report.noop and report.packages and report.packages[0].skipped
    ):
        return "skipped"
    if not report.ok:
        return "failed"
    return "noop" if report.noop else "replicated"


def _detail(report: ReplicationReport) -> str:
    """The skip reason, the failures, or the counts: one line for the log."""
    if report.skipped:
        return report.skipped
    reasons = [f"{v}: {why}" for p in report.packages for v, why in p.skipped]
    problems = [f"{t.region}: {t.error}" for t in report.report.targets if t.error]
    problems += [
        f"{t.region}: {f.filename} {f.outcome}: {f.error}"
        for t in report.report.targets
        for f in t.files
        if not f.ok
    ]
    counts = ", ".join(f"{n} {o}" for o, n in sorted(report.report.outcomes().items()))
    return "; ".join([*problems[:5], *reasons] or [counts or "nothing to copy"])
