"""What a whole-repository run prints while it works: a bar on a terminal, lines in a log."""

from __future__ import annotations

import io
import re

from codeartifact_multiregion.events import Event
from codeartifact_multiregion.progress import BarRenderer, PackageLines, make_renderer
from codeartifact_multiregion.report import CONFLICT, IDENTICAL, UPLOADED


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


EVENTS = [
    Event(
        "done",
        region="eu-west-1",
        filename="alpha-1.0.tar.gz",
        outcome=UPLOADED,
        message="from us-east-1",
    ),
    Event("done", region="eu-west-1", filename="alpha-1.0-py3-none-any.whl", outcome=IDENTICAL),
    Event(
        "done",
        region="eu-west-1",
        filename="delta-1.0.tar.gz",
        outcome=CONFLICT,
        message="sha256 differs [red]",
    ),
    Event("package", message="alpha", done=1, total=3),
]


def test_a_terminal_gets_a_bar_with_counts_and_conflicts_above_it() -> None:
    stream = Terminal()
    renderer = make_renderer(stream, bar=True)
    assert isinstance(renderer, BarRenderer)
    with renderer:
        for event in EVENTS:
            renderer(event)
    out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stream.getvalue())  # colours and cursor
    assert "1/3" in out and "ETA" in out
    assert "1 conflict, 1 identical, 1 uploaded" in out
    assert "delta-1.0.tar.gz conflict: sha256 differs [red]" in out  # markup shown, not run
    assert "alpha-1.0.tar.gz" not in out  # a copied file only adds to the counts


def test_a_log_gets_a_line_per_package_and_per_copied_file() -> None:
    stream = io.StringIO()
    renderer = make_renderer(stream, bar=True)
    assert isinstance(renderer, PackageLines)
    with renderer:
        for event in EVENTS:
            renderer(event)
    assert stream.getvalue().splitlines() == [
        "eu-west-1: alpha-1.0.tar.gz uploaded: from us-east-1",
        "eu-west-1: delta-1.0.tar.gz conflict: sha256 differs [red]",
        "[1/3] alpha done",
    ]


def test_quiet_keeps_only_conflicts_and_failures() -> None:
    stream = Terminal()
    with make_renderer(stream, quiet=True, bar=True) as renderer:
        for event in EVENTS:
            renderer(event)
    assert stream.getvalue().splitlines() == [
        "eu-west-1: delta-1.0.tar.gz conflict: sha256 differs [red]"
    ]
