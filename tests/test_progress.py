"""The CLI's renderers: plain lines for logs, a live rich table on a terminal.

Events reach a renderer through the engine's ``Emitter`` (as in a run), so a file name from
an index arrives printable; the rich renderer must still escape its own markup in it.
"""

from __future__ import annotations

import io
import re

import pytest

from codeartifact_multiregion.events import Emitter
from codeartifact_multiregion.progress import PlainRenderer, RichRenderer, make_renderer
from codeartifact_multiregion.report import CONFLICT, FAILED, IDENTICAL, UPLOADED
from codeartifact_multiregion.secrets import MASK, register_secret

WHEEL = "hello_internal-1.0.0-py3-none-any.whl"
HOSTILE = "[/bold][red]x\x1b[2J\x07.whl"
# rich's own styling and cursor codes (colours, erase line, hide cursor): not ours to check.
RICH_CODES = re.compile(r"\x1b\[[0-9;?]*[ABCDGHKlhm]")


class Terminal(io.StringIO):
    """A StringIO that says it is a terminal, so rich renders as it would on one."""

    def isatty(self) -> bool:
        return True


def run_events(emit: Emitter) -> None:
    emit("resolved", region="us-east-1", message="https://acme.example/pypi/python/")
    emit("start", region="us-east-1", filename=WHEEL, bytes=1234)
    emit("retry", region="us-east-1", filename=WHEEL, attempt=1, message="HTTP 503")
    emit(
        "done",
        region="us-east-1",
        filename=WHEEL,
        outcome=UPLOADED,
        attempt=2,
        elapsed_s=0.5,
        bytes=1234,
    )
    emit("done", region="eu-west-1", filename=WHEEL, outcome=IDENTICAL, attempt=1)
    emit(
        "done",
        region="eu-west-2",
        filename=WHEEL,
        outcome=CONFLICT,
        attempt=1,
        message="the index already holds it",
    )
    emit("target-failed", region="ap-south-1", message="could not verify")
    emit("origin", region="us-east-1", message="publish=ALLOW, upstream=BLOCK")


def plain(quiet: bool = False, verbose: bool = False) -> list[str]:
    stream = io.StringIO()
    with PlainRenderer(stream, quiet=quiet, verbose=verbose) as renderer:
        run_events(Emitter(renderer))
    return stream.getvalue().splitlines()


def test_plain_lines_one_per_outcome_and_step() -> None:
    assert plain() == [
        f"us-east-1: {WHEEL} attempt 1 failed (HTTP 503); retrying",
        f"us-east-1: {WHEEL} {UPLOADED}",
        f"eu-west-1: {WHEEL} {IDENTICAL}",
        f"eu-west-2: {WHEEL} {CONFLICT}: the index already holds it",
        "ap-south-1: FAILED: could not verify",
        "us-east-1: origin controls: publish=ALLOW, upstream=BLOCK",
    ]


def test_verbose_adds_endpoints_starts_attempts_and_times() -> None:
    lines = plain(verbose=True)
    assert lines[0] == "us-east-1: endpoint https://acme.example/pypi/python/"
    assert lines[1] == f"us-east-1: {WHEEL} uploading (1234 bytes)"
    assert f"us-east-1: {WHEEL} {UPLOADED} (2 attempt(s), 0.50s)" in lines
    assert f"eu-west-1: {WHEEL} {IDENTICAL} (1 attempt(s), 0.00s)" in lines


def test_quiet_keeps_only_conflicts_and_failures() -> None:
    stream = io.StringIO()
    with PlainRenderer(stream, quiet=True) as renderer:
        emit = Emitter(renderer)
        run_events(emit)
        emit("done", region="us-west-2", filename=WHEEL, outcome=FAILED, message="gave up")
    assert stream.getvalue().splitlines() == [
        f"eu-west-2: {WHEEL} {CONFLICT}: the index already holds it",
        f"us-west-2: {WHEEL} {FAILED}: gave up",
    ]


def test_plain_output_is_escaped_and_redacted() -> None:
    register_secret("tok-PROGRESS-424242")
    stream = io.StringIO()
    with PlainRenderer(stream) as renderer:
        Emitter(renderer)(
            "done",
            region="us-east-1",
            filename=HOSTILE,
            outcome=FAILED,
            message="refused tok-PROGRESS-424242",
        )
    out = stream.getvalue()
    assert "\x1b" not in out and "\x07" not in out and "tok-PROGRESS" not in out
    assert out == f"us-east-1: [/bold][red]x\\x1b[2J\\x07.whl {FAILED}: refused {MASK}\n"


def test_make_renderer_picks_rich_on_a_terminal_only() -> None:
    assert isinstance(make_renderer(io.StringIO()), PlainRenderer)
    assert isinstance(make_renderer(Terminal(), quiet=True), PlainRenderer)
    assert isinstance(make_renderer(Terminal()), RichRenderer)


@pytest.mark.parametrize("verbose", [False, True])
def test_rich_renderer_runs_on_a_terminal_and_escapes_markup(verbose: bool) -> None:
    stream = Terminal()
    renderer = make_renderer(stream, verbose=verbose)
    assert isinstance(renderer, RichRenderer) and renderer.console.is_terminal
    renderer.console.width = 200  # whatever COLUMNS says, no row is cut short
    with renderer:
        emit = Emitter(renderer)
        run_events(emit)
        emit("start", region="us-west-2", filename=HOSTILE, bytes=1)
        emit("retry", region="us-west-2", filename=HOSTILE, attempt=1, message="[bold]503[/]")
        emit("done", region="us-west-2", filename=HOSTILE, outcome=FAILED, message="[/red] gave up")
        emit("target-failed", region="us-west-2", message="[/] broken [link=x]")
    raw = stream.getvalue()
    assert "\x1b[2J" not in raw and "\x07" not in raw, "no control character of the name's"
    out = RICH_CODES.sub("", raw)
    # Markup in names and messages is printed as text, never interpreted (or a crash).
    assert "[/bold][red]x" in out and "[/red] gave up" in out and "[/] broken [link=x]" in out
    # The file name's own control characters arrive as visible escapes.
    assert "\\x1b[2J\\x07.whl" in out
    assert WHEEL in out and "publish=ALLOW, upstream=BLOCK" in out
    assert "could not verify" in out
    if verbose:
        assert "(2 attempt(s), 0.50s)" in out
