"""Fixtures for the fault suite: a fault proxy routed in front of any local region."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.faults.hostile import HostileIndex
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


@pytest.fixture
def hostile(regions) -> Iterator[Callable[[str], HostileIndex]]:
    """``hostile(region)``: a started hostile server in front of that region's pypiserver,
    named by the control plane as the region's repository endpoint."""
    started: list[HostileIndex] = []

    def make(name: str) -> HostileIndex:
        server = HostileIndex(regions.regions[name].port).__enter__()
        started.append(server)
        regions.route(name, server.url)
        return server

    yield make
    for server in started:
        server.__exit__()


@pytest.fixture
def elsewhere() -> Iterator[HostileIndex]:
    """Another origin (another port) that records whether any credential reached it."""
    with HostileIndex() as server:
        yield server
