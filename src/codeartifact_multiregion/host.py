"""What every host adapter does the same way: one call from options to a report.

The poetry and hatch plugins only translate their host's options into these
arguments and render the events; keeping this here keeps them a page long.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from .errors import UsageError
from .publish import EventSink, Publisher
from .report import Report

NEXT_STEPS = (
    "Not every region holds every file. Fix the cause above and run again (it uploads only "
    "what is missing); `codeartifact-multiregion status` shows each region and "
    "`codeartifact-multiregion sync` copies what a region lacks."
)


def concurrency_option(value: str | int | None, name: str = "--concurrency") -> int | None:
    """Parse a host's string option; the range is checked with the config's bounds."""
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UsageError(f"{name}: {value!r} is not a whole number. Pass a number from 1 to 64."
                         ) from None


def publish_project(
    project_dir: str | Path,
    *,
    files: Sequence[str | Path] = (),
    regions: Iterable[str] | None = None,
    dist_dir: str | Path | None = None,
    concurrency: int | None = None,
    dry_run: bool = False,
    on_event: EventSink | None = None,
) -> Report:
    """Load ``[tool.codeartifact]`` of ``project_dir`` and publish ``files`` (or the newest)."""
    from .config import load_config

    config = load_config(project_dir, regions).with_overrides(
        concurrency=concurrency, dist_dir=dist_dir)
    root = config.root
    resolved = [p if Path(p).is_absolute() else root / p for p in files]
    return Publisher(config, on_event=on_event).publish(resolved, dry_run=dry_run)
