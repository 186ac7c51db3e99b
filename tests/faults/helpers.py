"""Helpers for the fault suite: in-process runs, an isolated home for CLI runs, extra files.

The retry policy and the CLI runner are the suite's own (``tests.helpers``): one of each.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codeartifact_multiregion.config import load_config
from codeartifact_multiregion.events import Event
from codeartifact_multiregion.publish import Publisher
from codeartifact_multiregion.report import Report
from codeartifact_multiregion.retry import RetryPolicy
from tests.helpers import FAST, FAST_RETRIES
from tests.localaws.dists import make_wheel


def extra_wheels(
    dist: Path, n: int, name: str = "hello-internal", version: str = "1.0.0"
) -> list[Path]:
    """``n`` more files of the same release: build-tagged wheels with distinct bytes."""
    out = []
    for i in range(1, n + 1):
        wheel = make_wheel(dist / f"_build{i}", name, version, payload_bytes=16, seed=i)
        tagged = dist / wheel.name.replace(f"-{version}-", f"-{version}-{i}-")
        wheel.rename(tagged)
        wheel.parent.rmdir()
        out.append(tagged)
    return out


@dataclass
class Run:
    report: Report
    events: list[Event]

    def target(self, region: str) -> Any:
        return next(t for t in self.report.targets if t.region == region)

    def outcomes(self, region: str) -> dict[str, str]:
        return {f.filename: f.outcome for f in self.target(region).files}

    def attempts(self, region: str) -> int:
        return sum(f.attempts for f in self.target(region).files)


def publish(
    project: Path,
    *,
    policy: RetryPolicy = FAST,
    regions: list[str] | None = None,
    concurrency: int | None = None,
    files: list[Path] | None = None,
    on_event: Callable[[Event], None] | None = None,
) -> Run:
    """An in-process publish of ``project`` with fast retry bounds; returns report and events."""
    events: list[Event] = []

    def sink(event: Event) -> None:
        events.append(event)
        if on_event:
            on_event(event)

    config = load_config(project, regions).with_overrides(concurrency=concurrency)
    report = Publisher(config, on_event=sink, policy=policy).publish(files or [])
    return Run(report, events)


def home_env(tmp_path: Path) -> dict[str, str]:
    """Home, caches and temp files of a CLI run, all under ``tmp_path`` (scanned for leaks)."""
    home = tmp_path / "home"
    for sub in ("", "tmp", "cache", "config"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    return {
        "HOME": str(home),
        "TMPDIR": str(home / "tmp"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def cli_env(aws: Any, tmp_path: Path) -> dict[str, str]:
    """The whole environment ``run_checked`` gives a CLI, for a process a test must kill."""
    return {**os.environ, **aws.env(), **FAST_RETRIES, **home_env(tmp_path)}


def secret_forms(token: str) -> list[str]:
    """A token as it could leak: raw, and inside a Basic Authorization header."""
    basic = base64.b64encode(f"aws:{token}".encode()).decode()
    return [token, basic]


def secret_fragments(tokens: set[str], width: int = 16) -> set[str]:
    """Every ``width``-character piece of every form of every token: a cut-off token
    (an error body truncated mid-token, say) leaks as surely as a whole one."""
    pieces = set()
    for token in tokens:
        for form in secret_forms(token):
            start = 8 if form != token else 0  # skip the "aws:" that every Basic form shares
            pieces |= {form[i : i + width] for i in range(start, len(form) - width + 1)}
    return pieces
