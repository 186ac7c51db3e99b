"""Fixtures for the fault suite: a fault proxy routed in front of any local region."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.faults.proxy import FaultProxy


@pytest.fixture
def proxies(regions) -> Iterator[Callable[[str], FaultProxy]]:
    """``proxies(region)``: a started fault proxy routed in front of that region."""
    started: list[FaultProxy] = []

    def make(name: str) -> FaultProxy:
        proxy = FaultProxy(regions.regions[name].port).__enter__()
        started.append(proxy)
        regions.route(name, proxy.url)
        return proxy

    yield make
    for proxy in started:
        proxy.__exit__()
