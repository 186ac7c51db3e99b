"""Whole-repository replication: ``status --all`` and ``sync --all`` into a new region.

Not a test: a benchmark. It starts two local regions (real pypiserver processes, the fake
control plane with CodeArtifact's default quotas, moto STS), puts 200 packages x 5
versions x (wheel + sdist) = 2,000 files into the primary's storage, and runs, each in
a fresh process timed from spawn to exit with its peak RSS from ``wait4``:

1. ``status --all`` (the new region is empty: drift, exit 1),
2. ``sync --all`` into the new region (every file downloaded with GetPackageVersionAsset,
   checked and uploaded),
3. ``status --all`` again (in sync, exit 0).

Each wall time is set against the floor CodeArtifact's quotas alone impose on the same
requests: per account and region, ListPackages/ListPackageVersions/ListPackageVersionAssets
200/s each, GetPackageVersionAsset 50/s, writes (uploads) 100/s, each quota's requests
counted in the stand-in's own call log (uploads from the report). Requests of different
quotas run side by side, so the floor is the largest count/quota. A ratio near 1 means
the quotas, not the tool, set the pace. The log also shows whether any request was
throttled (429) and the most requests of each quota that arrived in any one second.

    .venv/bin/python bench/replication.py [--packages 200] [--versions 5] [--page-size 1000]

Writes ``bench/results/replication.json``; exits 1 when a run fails or the new region does
not end up byte-identical to the primary.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.helpers import most_in_a_window  # noqa: E402
from tests.localaws.dists import make_sdist, make_wheel  # noqa: E402
from tests.localaws.fake_codeartifact import DEFAULT_QUOTAS, QUOTA_OF  # noqa: E402
from tests.localaws.regions import LocalAWS  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "replication.json"
PRIMARY, NEW = "us-east-1", "eu-west-1"
UPLOAD_QUOTA = 100  # PublishPackageVersion-class writes per second


def run_cli(aws: LocalAWS, project: Path, *args: str) -> dict[str, Any]:
    """One CLI run: exit code, wall seconds, peak RSS (MiB) and its JSON document."""
    env = {**os.environ, **aws.env()}
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "codeartifact_multiregion",
            *args,
            "--project",
            str(project),
            "--json",
            "-q",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Read the pipes in full before waiting (-q keeps stderr small), then reap with wait4.
    out = proc.stdout.read()  # type: ignore[union-attr]
    err = proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    divisor = 1024 * 1024 if platform.system() == "Darwin" else 1024
    doc = json.loads(out.decode() or "{}")
    if proc.returncode not in (0, 1):
        sys.stderr.write(err.decode()[-3000:])
    return {
        "exit_code": proc.returncode,
        "wall_s": round(wall, 2),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / divisor, 1),
        "doc": doc,
    }


def stand_in_cpu(aws: LocalAWS) -> float:
    """CPU seconds used so far by the stand-ins: this process (the fake control plane,
    moto) and every pypiserver, so a reader can tell the tool's time from theirs."""
    tick = os.sysconf("SC_CLK_TCK")
    total = time.process_time()
    for region in aws.regions.values():
        if region.process is None:
            continue
        try:
            fields = Path(f"/proc/{region.process.pid}/stat").read_text().rsplit(")", 1)[1]
        except OSError:
            continue
        utime, stime = fields.split()[11:13]
        total += (int(utime) + int(stime)) / tick
    return total


def floor_seconds(aws: LocalAWS, since: int, uploads: int) -> tuple[float, dict[str, Any]]:
    """The time the quotas alone need for the requests logged since call ``since``."""
    calls = aws.fake.calls[since:]
    counts: dict[tuple[str, str], int] = {}
    arrivals: dict[tuple[str, str], list[float]] = {}
    throttled = 0
    for call in calls:
        quota = QUOTA_OF.get(call.operation)
        if quota is None:
            continue
        counts[(call.region, quota)] = counts.get((call.region, quota), 0) + 1
        arrivals.setdefault((call.region, quota), []).append(call.at)
        throttled += call.status == 429
    floors = {f"{r} {q}": n / (DEFAULT_QUOTAS[q] or 1) for (r, q), n in counts.items()}
    floors[f"{NEW} uploads"] = uploads / UPLOAD_QUOTA
    busiest = {f"{r} {q}": most_in_a_window(a) for (r, q), a in arrivals.items()}
    return max(floors.values()), {
        "requests": {f"{r} {q}": n for (r, q), n in counts.items()},
        "throttled": throttled,
        "most_in_one_second": busiest,
    }


def stock(aws: LocalAWS, packages: int, versions: int, scratch: Path) -> int:
    count = 0
    for p in range(packages):
        for v in range(versions):
            for path in (
                make_wheel(scratch, f"bench-pkg{p:04d}", f"1.{v}", payload_bytes=2048),
                make_sdist(scratch, f"bench-pkg{p:04d}", f"1.{v}"),
            ):
                shutil.move(str(path), aws.regions[PRIMARY].packages / path.name)
                count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=200)
    parser.add_argument("--versions", type=int, default=5)
    parser.add_argument(
        "--page-size",
        type=int,
        default=1000,
        help="the most items a List* page of the stand-in holds",
    )
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "packages": args.packages,
        "versions": args.versions,
        "files": 0,
        "machine": {"cpus": os.cpu_count(), "load": os.getloadavg()[0]},
    }
    with (
        LocalAWS(regions=(PRIMARY, NEW), page_size=args.page_size) as aws,
        tempfile.TemporaryDirectory(prefix="bench-replication-") as tmp,
    ):
        project = Path(tmp) / "project"
        aws.write_pyproject(project, name="bench-platform")
        results["files"] = stock(aws, args.packages, args.versions, Path(tmp) / "dist")
        print(f"{results['files']} files in {PRIMARY}; {NEW} empty", flush=True)
        ok = True
        for step, argv_ in (
            ("status_before", ["status", "--all"]),
            ("sync", ["sync", "--all"]),
            ("status_after", ["status", "--all"]),
        ):
            since = len(aws.fake.calls)
            cpu_before = stand_in_cpu(aws)
            run = run_cli(aws, project, *argv_)
            run["stand_ins_cpu_s"] = round(stand_in_cpu(aws) - cpu_before, 2)
            doc = run.pop("doc")
            uploads = (
                sum(
                    1
                    for t in doc.get("targets", [])
                    for f in t["files"]
                    if f["outcome"] == "uploaded"
                )
                if step == "sync"
                else 0
            )
            floor, log = floor_seconds(aws, since, uploads)
            run.update(
                quota_floor_s=round(floor, 2),
                wall_over_floor=round(run["wall_s"] / floor, 2) if floor else None,
                uploads=uploads,
                **log,
            )
            results[step] = run
            print(
                f"{step}: exit {run['exit_code']}, {run['wall_s']} s (quota floor "
                f"{run['quota_floor_s']} s, x{run['wall_over_floor']}), CPU "
                f"{run['cpu_s']} s (stand-ins {run['stand_ins_cpu_s']} s), peak RSS "
                f"{run['peak_rss_mib']} MiB, throttled {run['throttled']}",
                flush=True,
            )
        expected = {"status_before": 1, "sync": 0, "status_after": 0}
        ok = all(results[s]["exit_code"] == code for s, code in expected.items())
        identical = aws.regions[NEW].files() == aws.regions[PRIMARY].files()
        results["new_region_identical"] = identical
        ok = ok and identical
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS.relative_to(ROOT)}; new region identical: {identical}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
