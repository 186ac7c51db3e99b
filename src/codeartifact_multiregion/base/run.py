"""One run's stop: seen by every wait and request of that run, and by no other.

A long-lived host (poetry, hatch, a test process, a warm Lambda) makes several runs in one
process, possibly at once. A process-wide stop flag reset at each run's start would let a
second run clear the stop a first one set, and a stop of one would cut the other's requests.
So each run is an object, carried in a ``contextvars`` variable: ``begin_run`` makes the
current context's run, and work handed to other threads goes through ``submit`` or
``in_context``, which carry the caller's context, so a worker sees its own run's stop.

What stays process-wide does so on purpose: the rate limiters (a quota is the account's,
whichever run spends it) and the secret registry (it only grows; a token never becomes
printable again). Code that runs outside any run (a library caller using an ``Index``
directly) shares one run of its own, which nothing stops unless it asks.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, Protocol, TypeVar

from codeartifact_multiregion.base.errors import Interrupted

T = TypeVar("T")


class Abortable(Protocol):
    """What a stop cuts off at once: a request in flight (its watchdog)."""

    def fire(self) -> None: ...


class Run:
    """The stop of one publish, status or sync, and the requests it must cut off."""

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: set[Abortable] = set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        """No new request starts, sleeps end, and every request in flight is cut off."""
        self._stopped.set()
        with self._lock:
            in_flight = list(self._in_flight)
        for request in in_flight:
            request.fire()

    def check(self) -> None:
        """Raise ``Interrupted`` if this run is being stopped: called before each request."""
        if self._stopped.is_set():
            raise Interrupted("interrupted")

    def sleep(self, seconds: float) -> None:
        """``time.sleep`` that this run's stop cuts short (raising ``Interrupted``)."""
        if self._stopped.wait(max(seconds, 0.0)):
            raise Interrupted("interrupted")

    def add(self, request: Abortable) -> None:
        with self._lock:
            self._in_flight.add(request)

    def discard(self, request: Abortable) -> None:
        with self._lock:
            self._in_flight.discard(request)


_OUTSIDE = Run()
_current: contextvars.ContextVar[Run] = contextvars.ContextVar("codeartifact_run")


def current_run() -> Run:
    """The run of the calling context (or the shared one of code outside any run)."""
    return _current.get(_OUTSIDE)


def begin_run() -> Run:
    """Start a new run in the calling context: from here on its waits see this run's stop."""
    run = Run()
    _current.set(run)
    return run


def submit(pool: Executor, func: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """``pool.submit`` in a copy of the caller's context, so the worker shares its run."""
    return pool.submit(contextvars.copy_context().run, func, *args, **kwargs)


def in_context(func: Callable[..., T]) -> Callable[..., T]:
    """``func`` bound to a copy of the caller's context, for a thread of its own."""
    context = contextvars.copy_context()

    def bound(*args: Any) -> T:
        return context.run(func, *args)

    return bound
