"""The CLI's own stdout and stderr, which may fail: a full disk, a closed pipe, a closed fd.

A report that cannot be written is not a success. Every write and flush goes through
``Guarded``: a failure is recorded, never raised into the run (an upload is not marked
failed because its progress line could not be printed, and no traceback escapes), and
``finish`` turns it into one line on stderr and an exit code of at least 1.
"""

from __future__ import annotations

import os
from contextlib import suppress
from typing import Any, TextIO

from codeartifact_multiregion.base.errors import EXIT_INCOMPLETE


class Guarded:
    """A text stream whose write and flush errors are kept in ``error`` instead of raised.

    After the first failure the stream's file descriptor is pointed at the null device, so
    what is still buffered (and the interpreter's own flush at exit) goes nowhere instead of
    failing again; later writes are dropped. Everything else is the stream's own.
    """

    def __init__(self, stream: TextIO | None, name: str) -> None:
        self.stream = stream
        self.name = name
        self.error: str | None = None if stream is not None else "it is closed"

    def write(self, text: str) -> int:
        if self.error is None and self.stream is not None:
            try:
                self.stream.write(text)
            except (OSError, ValueError) as exc:
                self._failed(exc)
        return len(text)

    def flush(self) -> None:
        if self.error is None and self.stream is not None:
            try:
                self.stream.flush()
            except (OSError, ValueError) as exc:
                self._failed(exc)

    def isatty(self) -> bool:
        if self.stream is None:
            return False
        try:
            return bool(self.stream.isatty())
        except (OSError, ValueError):
            return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def _failed(self, exc: BaseException) -> None:
        self.error = reason(exc)
        discard(self.stream)


def reason(exc: BaseException) -> str:
    """What went wrong with a stream, in the system's words: ``[Errno 28] No space ...``."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"[Errno {exc.errno}] {exc.strerror}"
    return str(exc) or type(exc).__name__


def discard(stream: object) -> None:
    """Point ``stream``'s file descriptor at the null device: what it still buffers, and the
    interpreter's flush at exit, then go nowhere instead of failing (and printing) again."""
    with suppress(Exception):
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, stream.fileno())  # type: ignore[attr-defined]
        finally:
            os.close(null)


def lost(name: str, error: str) -> str:
    """The one line a host prints when its report could not be written to ``name``."""
    return (
        f"failed: could not write to {name}: {error}. The report is lost: run again "
        "with it going to a writable file or pipe."
    )


def unwritable(stream: object, name: str, exc: BaseException) -> str:
    """For hosts writing through their own IO (poetry, hatch): ``stream`` failed with ``exc``;
    it is discarded from now on, and this is the line to print."""
    discard(stream)
    return lost(name, reason(exc))


def finish(code: int, out: Guarded, err: Guarded) -> int:
    """Flush both streams; if either failed, say so in one line on stderr and return at
    least 1 (an interrupt keeps its 130)."""
    out.flush()
    err.flush()
    failed = [s for s in (out, err) if s.error is not None]
    if not failed:
        return code
    err.write(lost(failed[0].name, str(failed[0].error)) + "\n")
    err.flush()
    return max(code, EXIT_INCOMPLETE)
