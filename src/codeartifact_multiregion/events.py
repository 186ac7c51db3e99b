"""What a run reports while it runs: ``Event``s, and the ``Emitter`` that sends them.

The engine prints nothing; each host renders these with its own output (rich for the CLI,
cleo for poetry, ``app.display_*`` for hatch). This module imports nothing heavy, so a
host can hold a sink before the engine and its HTTP stack are loaded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from .report import Outcome
from .secrets import redact
from .text import printable


@dataclass(frozen=True)
class Event:
    """A step of a run, for hosts to render; ``kind`` says which step.

    Every text field is redacted and printable by construction (see ``Emitter``), so a
    host may print it as it is (escaping only its own markup).
    """

    kind: str  # resolved | planned | start | retry | done | verified | origin | target-failed
    #            | package (replication: one package finished, ``done`` of ``total``)
    region: str | None = None
    filename: str | None = None
    outcome: Outcome | None = None
    message: str = ""
    attempt: int = 0
    bytes: int = 0
    elapsed_s: float = 0.0
    done: int = 0
    total: int = 0


EventSink = Callable[[Event], None]


class Emitter:
    """Serializes events from worker threads so no host renderer needs a lock."""

    def __init__(self, sink: EventSink | None) -> None:
        self._sink = sink
        self._lock = threading.Lock()

    def __call__(
        self,
        kind: str,
        *,
        region: str | None = None,
        filename: str | None = None,
        outcome: Outcome | None = None,
        message: str = "",
        attempt: int = 0,
        bytes: int = 0,
        elapsed_s: float = 0.0,
        done: int = 0,
        total: int = 0,
    ) -> None:
        if self._sink is None:
            return
        event = Event(
            kind,
            region=region,
            filename=None if filename is None else printable(filename),
            outcome=outcome,
            message=printable(redact(message)),
            attempt=attempt,
            bytes=bytes,
            elapsed_s=elapsed_s,
            done=done,
            total=total,
        )
        with self._lock:
            self._sink(event)
