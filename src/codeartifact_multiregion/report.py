"""The outcome of a publish or sync run, and its text and JSON renderings.

Everything rendered passes through ``redact`` (``secrets.py``) and, for the text
view, ``printable`` (``text.py``): names and messages that came from an index or a
server reach neither a report nor a terminal with a token or a control character in them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Protocol

from .secrets import redact
from .text import printable


class Outcome(str, Enum):
    """What happened to one file in one region (the JSON report's ``outcome``)."""

    UPLOADED = "uploaded"
    IDENTICAL = "identical"
    CONFLICT = "conflict"
    FAILED = "failed"
    PLANNED = "planned"

    def __str__(self) -> str:
        return self.value

    @property
    def ok(self) -> bool:
        return self in (Outcome.UPLOADED, Outcome.IDENTICAL, Outcome.PLANNED)


UPLOADED, IDENTICAL, CONFLICT, FAILED, PLANNED = (
    Outcome.UPLOADED,
    Outcome.IDENTICAL,
    Outcome.CONFLICT,
    Outcome.FAILED,
    Outcome.PLANNED,
)


class RunReport(Protocol):
    """What every host needs of a report, whichever command made it."""

    @property
    def ok(self) -> bool: ...

    @property
    def exit_code(self) -> int: ...

    def to_json(self) -> str: ...

    def render_text(self) -> str: ...


@dataclass
class FileResult:
    filename: str
    sha256: str
    outcome: Outcome
    bytes: int = 0
    attempts: int = 0
    error: str | None = None
    source_region: str | None = None
    elapsed_s: float = 0.0

    @property
    def ok(self) -> bool:
        return Outcome(self.outcome).ok


@dataclass
class TargetReport:
    region: str
    domain: str
    domain_owner: str | None
    repository: str
    files: list[FileResult] = field(default_factory=list)
    error: str | None = None
    origin: dict[str, str] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and all(f.ok for f in self.files)

    def file(self, filename: str) -> FileResult | None:
        return next((f for f in self.files if f.filename == filename), None)


@dataclass
class Report:
    project: str
    version: str | None
    dry_run: bool = False
    elapsed_s: float = 0.0
    targets: list[TargetReport] = field(default_factory=list)
    command: str = "publish"

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.targets)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for target in self.targets:
            for result in target.files:
                key = str(result.outcome)
                counts[key] = counts.get(key, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        targets = []
        for target in self.targets:
            files = []
            for result in target.files:
                item = asdict(result)
                item["outcome"] = str(result.outcome)
                item["elapsed_s"] = round(result.elapsed_s, 3)
                if self.command != "sync":
                    item.pop("source_region")
                if item["error"] is not None:
                    item["error"] = redact(item["error"])
                files.append(item)
            entry: dict[str, Any] = {
                "region": target.region,
                "domain": target.domain,
                "domain_owner": target.domain_owner,
                "repository": target.repository,
                "ok": target.ok,
                "error": redact(target.error) if target.error else None,
                "files": files,
            }
            if target.origin is not None:
                entry["origin"] = target.origin
            targets.append(entry)
        return {
            "project": self.project,
            "version": self.version,
            "ok": self.ok,
            "dry_run": self.dry_run,
            "elapsed_s": round(self.elapsed_s, 3),
            "targets": targets,
        }

    def to_json(self) -> str:
        return redact(json.dumps(self.to_dict(), indent=2))

    def render_text(self) -> str:
        return printable(redact("\n".join(_text_lines(self))), keep_newlines=True)


def _text_lines(report: Report) -> Iterable[str]:
    title = f"{report.project} {report.version or ''}".strip()
    verbs = {"publish": "Publish of", "sync": "Sync of"}
    verb = "Plan for" if report.dry_run else verbs.get(report.command, "Publish of")
    yield f"{verb} {title} to {len(report.targets)} region(s):"
    width = max((len(f.filename) for t in report.targets for f in t.files), default=10)
    for target in report.targets:
        mark = "ok" if target.ok else "FAILED"
        owner = f" (account {target.domain_owner})" if target.domain_owner else ""
        yield f"  {target.region}  {target.domain}/{target.repository}{owner}  {mark}"
        if target.error:
            yield f"    error: {target.error}"
        for result in target.files:
            line = f"    {result.filename:<{width}}  {result.outcome}"
            if result.source_region:
                line += f" from {result.source_region}"
            if result.attempts > 1:
                line += f" after {result.attempts} attempts"
            if result.error:
                line += f": {result.error}"
            yield line
        if target.origin:
            rules = ", ".join(f"{k}={v}" for k, v in sorted(target.origin.items()))
            yield f"    origin controls: {rules}"
    counts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(report.outcomes().items()))
    status = "complete" if report.ok else "INCOMPLETE"
    yield f"{status}: {counts or 'nothing to do'} in {report.elapsed_s:.1f}s"
