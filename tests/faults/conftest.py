"""Fixtures for the fault suite: a fault proxy routed in front of any local region."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.faults.hostile import HostileIndex
from tests.faults.proxy import FaultProxy


@pytest.fixture
def proxies(regions) -> Iterator[Callable[[str], FaultProxy]]:
    """``proxies(region)``: a started fault proxy routed in front of that region."""
    yield from _in_front(regions, FaultProxy)


@pytest.fixture
def hostile(regions) -> Iterator[Callable[[str], HostileIndex]]:
    """``hostile(region)``: a started hostile server in front of that region's pypiserver,
    named by the control plane as the region's repository endpoint."""
    yield from _in_front(regions, HostileIndex)


@pytest.fixture
def elsewhere() -> Iterator[HostileIndex]:
    """Another origin (another port) that records whether any credential reached it."""
    with HostileIndex() as server:
        yield server


def _in_front(regions, cls):
    """A factory of ``cls`` servers, each started in front of a region and routed there by
    the control plane; all stopped when the test ends."""
    started = []

    def make(name: str):
        server = cls(regions.regions[name].port).__enter__()
        started.append(server)
        regions.route(name, server.url)
        return server

    yield make
    for server in started:
        server.__exit__()
