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

from .errors import EXIT_INCOMPLETE


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
        self.error = (f"[Errno {exc.errno}] {exc.strerror}"
                      if isinstance(exc, OSError) and exc.strerror else str(exc) or
                      type(exc).__name__)
        with suppress(Exception):
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, self.stream.fileno())  # type: ignore[union-attr]
            finally:
                os.close(null)


def finish(code: int, out: Guarded, err: Guarded) -> int:
    """Flush both streams; if either failed, say so in one line on stderr and return at
    least 1 (an interrupt keeps its 130)."""
    out.flush()
    err.flush()
    failed = [s for s in (out, err) if s.error is not None]
    if not failed:
        return code
    stream = failed[0]
    err.write(f"failed: could not write to {stream.name}: {stream.error}. The report is "
              "lost: run again with it going to a writable file or pipe.\n")
    err.flush()
    return max(code, EXIT_INCOMPLETE)
