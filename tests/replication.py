"""What the status and sync tests share: releases built in place, in-process runs, views."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codeartifact_multiregion.config import load_config
from codeartifact_multiregion.events import Event
from codeartifact_multiregion.publish import Publisher
from codeartifact_multiregion.report import Report
from codeartifact_multiregion.sync import Syncer
from tests.helpers import FAST
from tests.localaws.dists import make_sdist, make_wheel

GUARD = {"publish": "ALLOW", "upstream": "BLOCK"}


def names(aws: Any) -> list[str]:
    return list(aws.regions)


def release(project: Path, version: str, seed: int = 0) -> list[Path]:
    """hello-internal ``version`` as a wheel and an sdist in their own folder."""
    folder = project / "builds" / f"{version}-{seed}"
    return [
        make_wheel(folder, "hello-internal", version, payload_bytes=256, seed=seed),
        make_sdist(folder, "hello-internal", version),
    ]


def publish(project: Path, files: list[Path], regions: list[str] | None = None) -> Report:
    report = Publisher(load_config(project, regions), policy=FAST).publish(files)
    assert report.ok, report.render_text()
    return report


def sync(
    project: Path,
    regions: list[str] | None = None,
    events: list[Event] | None = None,
    **kwargs: Any,
) -> Report:
    syncer = Syncer(
        load_config(project, regions),
        policy=FAST,
        on_event=None if events is None else events.append,
    )
    return syncer.sync(**kwargs)


def outcomes(report: Report) -> dict[tuple[str, str], tuple[str, str | None]]:
    return {
        (t.region, f.filename): (f.outcome, f.source_region)
        for t in report.targets
        for f in t.files
    }


def same_everywhere(aws: Any) -> dict[str, str]:
    holdings = [region.files() for region in aws.regions.values()]
    assert all(h == holdings[0] for h in holdings), holdings
    return holdings[0]
