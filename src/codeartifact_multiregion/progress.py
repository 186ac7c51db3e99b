"""Render engine events for the standalone CLI: rich on a terminal, plain lines elsewhere.

CI logs get one line per target x file outcome, which reads well in CodeBuild;
a terminal gets a live rich table. Both write to stderr only.
"""

from __future__ import annotations

from typing import Any, TextIO

from .events import Event
from .host import ERROR, INFO, SUCCESS, style_of
from .report import CONFLICT, FAILED

# The core's outcome meanings in rich's colours.
_STYLE = {SUCCESS: "green", INFO: "cyan", ERROR: "red"}


class PlainRenderer:
    """One line per outcome; ``verbose`` adds starts, attempts and timings."""

    def __init__(self, stream: TextIO, quiet: bool = False, verbose: bool = False) -> None:
        self.stream = stream
        self.quiet = quiet
        self.verbose = verbose

    def __enter__(self) -> PlainRenderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.flush()

    def __call__(self, event: Event) -> None:
        line = describe(event, self.verbose)
        if line and (not self.quiet or event.outcome in (FAILED, CONFLICT)):
            self.stream.write(line + "\n")
            self.stream.flush()


def describe(event: Event, verbose: bool = False) -> str | None:
    """The plain text of an event, shared by the hosts that print lines."""
    where = f"{event.region}: " if event.region else ""
    if event.kind == "done":
        text = f"{where}{event.filename} {event.outcome}"
        if verbose and event.attempt:
            text += f" ({event.attempt} attempt(s), {event.elapsed_s:.2f}s)"
        return text + (f": {event.message}" if event.message else "")
    if event.kind == "retry":
        return f"{where}{event.filename} attempt {event.attempt} failed ({event.message}); retrying"
    if event.kind == "target-failed":
        return f"{where}FAILED: {event.message}"
    if event.kind == "origin":
        return f"{where}origin controls: {event.message}"
    if event.kind == "status":
        return f"{where}status {event.filename}: {event.message}"
    if event.kind == "package":
        return f"[{event.done}/{event.total}] {event.message} done"
    if verbose and event.kind == "start":
        return f"{where}{event.filename} uploading ({event.bytes} bytes)"
    if verbose and event.kind == "resolved":
        return f"{where}endpoint {event.message}"
    return None


class _Live:
    """A rich console and live progress display on ``stream``, started and stopped with ``with``."""

    def __init__(self, stream: TextIO, verbose: bool, *columns: Any) -> None:
        from rich.console import Console
        from rich.progress import Progress

        self.verbose = verbose
        self.console = Console(file=stream)
        self.progress = Progress(*columns, console=self.console, transient=False)

    def __enter__(self) -> _Live:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


class RichRenderer(_Live):
    """A live table of target x file rows on a terminal."""

    def __init__(self, stream: TextIO, verbose: bool = False) -> None:
        from rich.progress import SpinnerColumn, TextColumn

        super().__init__(stream, verbose, SpinnerColumn(), TextColumn("{task.description}"))
        self.rows: dict[tuple[str | None, str | None], Any] = {}

    def __call__(self, event: Event) -> None:
        from rich.markup import escape

        key = (event.region, event.filename)
        # Event text is printable already (no control characters); markup is escaped here,
        # so a file name like "[/bold]" prints as it is and cannot break the renderer.
        where = f"{escape(event.region or '')}  {escape(event.filename or '')}"
        if event.kind == "start":
            self._row(key, f"{where}  [yellow]uploading[/]", None)
        elif event.kind == "retry":
            self._row(
                key, f"{where}  [yellow]retry {event.attempt}: {escape(event.message)}[/]", None
            )
        elif event.kind == "done":
            style = _STYLE.get(style_of(event.outcome) or "", "white")
            extra = f": {escape(event.message)}" if event.message else ""
            if self.verbose and event.attempt:
                extra += f" ({event.attempt} attempt(s), {event.elapsed_s:.2f}s)"
            self._row(key, f"{where}  [{style}]{escape(str(event.outcome))}[/]{extra}", 1)
        elif event.kind in ("target-failed", "origin"):
            self.console.print(escape(describe(event) or ""))

    def _row(self, key: tuple[str | None, str | None], text: str, completed: int | None) -> None:
        if key not in self.rows:
            self.rows[key] = self.progress.add_task(text, total=1)
        self.progress.update(self.rows[key], description=text, completed=completed or 0)


class BarRenderer(_Live):
    """A whole-repository run on a terminal: one bar of packages, with counts and ETA.

    Thousands of files would make a row each unreadable, so files only add to the counts;
    conflicts, failures and status changes are printed above the bar as they happen.
    """

    def __init__(self, stream: TextIO, verbose: bool = False) -> None:
        from rich import progress as p

        super().__init__(
            stream,
            verbose,
            p.TextColumn("packages"),
            p.BarColumn(),
            p.MofNCompleteColumn(),
            p.TextColumn("{task.description}"),
            p.TimeElapsedColumn(),
            p.TextColumn("ETA"),
            p.TimeRemainingColumn(),
        )
        self.task = self.progress.add_task("", total=None)
        self.counts: dict[str, int] = {}

    def __call__(self, event: Event) -> None:
        from rich.markup import escape

        if event.kind == "package":
            self.progress.update(
                self.task, total=event.total, completed=event.done, description=self._counts()
            )
            return
        if event.kind == "done" and event.outcome is not None:
            key = str(event.outcome)
            self.counts[key] = self.counts.get(key, 0) + 1
            self.progress.update(self.task, description=self._counts())
        if event.kind == "status":
            self.counts["status set"] = self.counts.get("status set", 0) + 1
        loud = (
            event.outcome in (FAILED, CONFLICT)
            or event.kind in ("target-failed", "status")
            or (self.verbose and event.kind == "done")
        )
        if loud:
            self.console.print(escape(describe(event, self.verbose) or ""), highlight=False)

    def _counts(self) -> str:
        return ", ".join(f"{n} {k}" for k, n in sorted(self.counts.items()))


class PackageLines(PlainRenderer):
    """A whole-repository run in a log: a line per package finished and per copied file."""

    def __call__(self, event: Event) -> None:
        from .report import IDENTICAL

        if event.kind == "done" and event.outcome == IDENTICAL and not self.verbose:
            return  # thousands of files already in place say nothing new
        super().__call__(event)


def make_renderer(
    stream: TextIO, quiet: bool = False, verbose: bool = False, bar: bool = False
) -> PlainRenderer | RichRenderer | BarRenderer:
    """Rich on a terminal, plain lines otherwise; ``bar`` for whole-repository runs."""
    if bar:
        if not quiet and stream.isatty():
            return BarRenderer(stream, verbose)
        return PackageLines(stream, quiet, verbose)
    if not quiet and stream.isatty():
        return RichRenderer(stream, verbose)
    return PlainRenderer(stream, quiet, verbose)
