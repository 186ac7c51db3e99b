"""Two runs in one process do not interfere: one's stop is not the other's, and a new run
does not clear an earlier one's stop. What stays process-wide (the quota limiters, the secret
registry) is shared on purpose, and stays so across runs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from codeartifact_multiregion.base.errors import Interrupted
from codeartifact_multiregion.base.retry import check_stop, shared_limiter, sleep
from codeartifact_multiregion.base.run import Run, begin_run, current_run, in_context, submit
from codeartifact_multiregion.base.secrets import MASK, redact, register_secret


def in_thread(func: Callable[[], object]) -> object:
    """``func``'s result (or exception) from a fresh thread with a context of its own."""
    out: list[object] = []

    def body() -> None:
        try:
            out.append(func())
        except BaseException as exc:
            out.append(exc)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    return out[0]


class Request:
    def __init__(self) -> None:
        self.fired = False

    def fire(self) -> None:
        self.fired = True


def test_a_stop_ends_only_its_own_runs_waits_and_requests() -> None:
    first, second = Run(), Run()
    mine, theirs = Request(), Request()
    first.add(mine)
    second.add(theirs)
    first.stop()
    assert mine.fired and not theirs.fired
    with pytest.raises(Interrupted):
        first.check()
    with pytest.raises(Interrupted):
        first.sleep(30)  # ends at once: the run is stopped
    second.check()
    second.sleep(0)


def test_a_new_run_does_not_clear_another_runs_stop() -> None:
    stopped_here = threading.Event()
    go_on = threading.Event()

    def first_run() -> bool:
        begin_run()
        current_run().stop()
        stopped_here.set()
        go_on.wait(30)
        return current_run().stopped

    results: list[object] = []
    thread = threading.Thread(target=lambda: results.append(first_run()))
    thread.start()
    assert stopped_here.wait(30)

    def second_run() -> None:
        begin_run()
        check_stop()  # the other run's stop is not this one's
        sleep(0)

    assert in_thread(second_run) is None
    go_on.set()
    thread.join(30)
    assert results == [True]


def test_workers_share_the_run_of_the_caller() -> None:
    run = begin_run()
    try:
        run.stop()
        with ThreadPoolExecutor(max_workers=2) as pool:
            seen = submit(pool, lambda: current_run()).result()
            assert seen is run
            with pytest.raises(Interrupted):
                submit(pool, check_stop).result()
        bound = in_context(lambda: current_run().stopped)
        assert in_thread(bound) is True
        # a thread not handed the context is outside the run, and not stopped by it
        assert in_thread(lambda: current_run().stopped) is False
    finally:
        begin_run()


def test_what_is_process_wide_stays_shared_across_runs() -> None:
    begin_run()
    limiter = shared_limiter("read", "111122223333", "eu-west-1", 50)
    register_secret("tok-of-the-first-run")
    begin_run()
    assert shared_limiter("read", "111122223333", "eu-west-1", 50) is limiter
    assert redact("tok-of-the-first-run") == MASK
