"""Where CodeArtifact is offered, from botocore's bundled endpoint data (no network).

A region without CodeArtifact would only fail at deploy time, one stack in; checking at synth
time turns it into exit 2 naming the region.
"""

from __future__ import annotations

from functools import lru_cache

import botocore.session


@lru_cache(maxsize=1)
def codeartifact_regions() -> frozenset[str]:
    session = botocore.session.get_session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("codeartifact", partition_name=partition))
    return frozenset(regions)
