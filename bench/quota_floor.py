"""What the stand-ins saw of one run, per quota: requests, throttles, the busiest second, the floor.

CodeArtifact's quotas are per account and region, one per operation for the List* calls,
GetPackageVersionAsset and GetAuthorizationToken, account-wide for other reads and for writes
(``tests.localaws.fake_codeartifact.QUOTA_OF`` and ``DEFAULT_QUOTAS``). Requests are counted
where they arrived, never from what the tool meant to send: the fake control plane's call log,
and each index's upload log (an upload to the repository endpoint is a write request).

The floor is the time the quotas alone need for those requests: per region and quota,
count / requests per second; quotas run side by side, so the floor is the largest of them.
Index reads (simple pages: one per package and region to verify) count against the account's
read quota (800/s) and the token's 1,200/s; a few per package, they are left out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from tests.helpers import most_in_a_window
from tests.localaws.fake_codeartifact import DEFAULT_QUOTAS, QUOTA_OF
from tests.localaws.regions import LocalAWS

WRITES, READS = "writes", "reads"


@dataclass
class Mark:
    """Where the logs stood when a run began."""

    calls: int
    uploads: dict[str, int]


@dataclass
class QuotaLog:
    """Requests per (region, quota) since a mark, with their arrival times."""

    arrivals: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    throttled: int = 0
    uploads: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # region -> log
    downloads: dict[str, list[str]] = field(default_factory=dict)  # region -> asset names

    def floor(self, through_index: bool = False) -> float:
        """The floor; ``through_index``: as if every GetPackageVersionAsset were a read of
        the file from the index instead, counted against the account's reads (issue 23)."""
        counts: dict[tuple[str, str], int] = {}
        for (region, quota), times in self.arrivals.items():
            if through_index and quota == "GetPackageVersionAsset":
                quota = READS
            counts[(region, quota)] = counts.get((region, quota), 0) + len(times)
        return max((n / (DEFAULT_QUOTAS[q] or 1) for (_, q), n in counts.items()), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        keys = sorted(self.arrivals)
        return {
            "requests": {f"{r} {q}": len(self.arrivals[(r, q)]) for r, q in keys},
            "throttled": self.throttled,
            "most_in_one_second": {
                f"{r} {q}": most_in_a_window(self.arrivals[(r, q)]) for r, q in keys
            },
            "quota_per_second": {f"{r} {q}": DEFAULT_QUOTAS[q] for r, q in keys},
        }


def mark(aws: LocalAWS) -> Mark:
    return Mark(len(aws.fake.calls), {n: len(r.uploads()) for n, r in aws.regions.items()})


def since(aws: LocalAWS, start: Mark) -> QuotaLog:
    """The requests both logs recorded after ``start``, on the fake's clock."""
    log = QuotaLog()
    for call in aws.fake.calls[start.calls :]:
        quota = QUOTA_OF.get(call.operation)
        if quota is not None:
            log.arrivals.setdefault((call.region, quota), []).append(call.at)
            log.throttled += call.status == 429
        if call.operation == "GetPackageVersionAsset" and call.status == 200:
            log.downloads.setdefault(call.region, []).append(call.params.get("asset", ""))
    # The index stamps uploads with the wall clock; the fake's clock is this process's
    # monotonic one (system-wide on Linux), so shift them onto it.
    offset = time.time() - time.monotonic()
    for name, region in aws.regions.items():
        uploads = region.uploads()[start.uploads.get(name, 0) :]
        log.uploads[name] = uploads
        if uploads:
            log.arrivals.setdefault((name, WRITES), []).extend(
                float(u["at"]) - offset for u in uploads
            )
    return log
