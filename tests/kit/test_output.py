"""Guarded streams: a full disk, a closed pipe or a closed stdout is one line and exit >= 1.

Real streams only (/dev/full, a pipe whose reader is gone): what a user's shell gives.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest

from codeartifact_multiregion.kit.output import Guarded, finish


@pytest.fixture(params=["full", "closed pipe"])
def broken(request: pytest.FixtureRequest) -> Iterator[io.TextIOWrapper]:
    """A text stream whose flush fails, as ``> /dev/full`` or ``| true`` make stdout."""
    if request.param == "full":
        stream = open("/dev/full", "w")  # noqa: SIM115  # closed below
    else:
        reader, writer = os.pipe()
        os.close(reader)
        stream = os.fdopen(writer, "w")
    yield stream
    stream.close()  # the failed fd now points at the null device: closing cannot fail


@pytest.mark.parametrize(("code", "ends"), [(0, 1), (1, 1), (2, 2), (130, 130)])
def test_a_report_lost_at_the_flush_is_one_line_and_never_success(
    broken, code: int, ends: int
) -> None:
    out, err = Guarded(broken, "stdout"), Guarded(io.StringIO(), "stderr")
    out.write('{"ok": true}\n')  # fits the buffer: the failure comes at the flush
    assert finish(code, out, err) == ends
    lines = err.stream.getvalue().splitlines()  # type: ignore[union-attr]
    assert len(lines) == 1 and lines[0].startswith("failed: could not write to stdout: [Errno")


def test_a_failing_write_never_raises_into_the_run(broken) -> None:
    err = Guarded(broken, "stderr")
    for _ in range(10_000):  # a progress line per file, far past any buffer
        err.write("us-east-1: hello-1.0.tar.gz uploaded\n")
        err.flush()
    assert err.error is not None
    assert finish(0, Guarded(io.StringIO(), "stdout"), err) == 1


def test_a_closed_stream_is_a_failure_too() -> None:
    out, err = Guarded(None, "stdout"), Guarded(io.StringIO(), "stderr")
    out.write("report\n")
    assert finish(0, out, err) == 1
    assert "could not write to stdout: it is closed" in err.stream.getvalue()  # type: ignore[union-attr]


def test_streams_that_work_change_nothing() -> None:
    out, err = Guarded(io.StringIO(), "stdout"), Guarded(io.StringIO(), "stderr")
    out.write("report\n")
    assert finish(0, out, err) == 0
    assert out.stream.getvalue() == "report\n" and err.stream.getvalue() == ""  # type: ignore[union-attr]
