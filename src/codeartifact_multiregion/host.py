"""The kit every host uses: the CLI, the poetry command and the hatch publisher.

Each host only translates its own options into these calls and renders the core's
events with its own output. Everything two hosts would otherwise write twice lives
here: loading the config once, parsing option strings, the error document under
``--json``, the next-steps hint, and the meaning of each outcome for styling.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

from .config import CONCURRENCY_RANGE, Config, load_config
from .errors import EXIT_INCOMPLETE, EXIT_INTERRUPTED, EXIT_USAGE, UsageError
from .events import EventSink
from .report import CONFLICT, FAILED, IDENTICAL, PLANNED, UPLOADED, Outcome, Report
from .secrets import redact
from .text import printable

NEXT_STEPS = {
    "publish": "Not every region holds every file. Fix the cause above and run again (it "
    "uploads only what is missing); `codeartifact-multiregion status` shows each "
    "region and `codeartifact-multiregion sync` copies what a region lacks.",
    "sync": "Not every region holds every file. Fix the cause above and run `sync` again (it "
    "copies only what is missing); `codeartifact-multiregion status` shows each region.",
    "status": "Regions differ: `codeartifact-multiregion sync` copies what is missing.",
}

# What each outcome means to a person: hosts map these to their own styles.
SUCCESS, INFO, ERROR = "success", "info", "error"
OUTCOME_STYLE: dict[Outcome, str] = {
    UPLOADED: SUCCESS,
    IDENTICAL: INFO,
    PLANNED: INFO,
    CONFLICT: ERROR,
    FAILED: ERROR,
}

_TRUE = {"", "1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def next_steps(command: str) -> str:
    """What to do after an incomplete run of ``command``."""
    return NEXT_STEPS.get(command, NEXT_STEPS["publish"])


def style_of(outcome: Outcome | str | None) -> str | None:
    """SUCCESS, INFO or ERROR for an outcome; None for an event without one."""
    if outcome is None:
        return None
    try:
        return OUTCOME_STYLE[Outcome(outcome)]
    except ValueError:
        return None


def error_document(message: object, exit_code: int) -> str:
    """The one JSON document ``--json`` prints when a run ends before its report."""
    code = (
        exit_code
        if exit_code in (EXIT_INCOMPLETE, EXIT_USAGE, EXIT_INTERRUPTED)
        else (EXIT_INCOMPLETE)
    )
    return json.dumps({"ok": False, "error": printable(redact(message)), "exit_code": code})


def safe_message(message: object) -> str:
    """An error for a terminal: redacted, control characters made visible."""
    return printable(redact(message), keep_newlines=True)


def concurrency_option(value: str | int | None, name: str = "--concurrency") -> int | None:
    """Parse a host's string option; the range is checked with the config's bounds."""
    if value is None or value == "":
        return None
    low, high = CONCURRENCY_RANGE
    fix = f"Pass a number from {low} to {high}."
    if isinstance(value, bool):
        raise UsageError(f"{name}: {value!r} is not a whole number. {fix}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UsageError(f"{name}: {printable(value)!r} is not a whole number. {fix}") from None


def flag_option(value: object, name: str) -> bool:
    """A yes/no option given as a string (``-o dry-run``, ``-o json=false``) or a boolean."""
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(f"{name}={printable(value)}: not a yes/no value. Use {name} or {name}=false.")


def load(
    project: str | Path | None,
    regions: Iterable[str] | None = None,
    *,
    concurrency: int | None = None,
    dist_dir: str | Path | None = None,
) -> Config:
    """``[tool.codeartifact]`` of ``project``, narrowed and overridden: loaded once per run."""
    return load_config(project, regions).with_overrides(concurrency=concurrency, dist_dir=dist_dir)


def publish_project(
    config: Config,
    *,
    files: Sequence[str | Path] = (),
    dry_run: bool = False,
    on_event: EventSink | None = None,
) -> Report:
    """Publish ``files`` (relative to the project; default: the newest release)."""
    from .publish import Publisher

    root = config.root
    resolved = [p if Path(p).is_absolute() else root / p for p in files]
    return Publisher(config, on_event=on_event).publish(resolved, dry_run=dry_run)
