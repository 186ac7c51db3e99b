"""The Lambda replicator on the stand-ins: time per record, peak RSS, and the lag to "held".

Not a test: a benchmark. Three local regions (real pypiserver processes, the fake control
plane with CodeArtifact's default quotas, moto STS). Each case hands one SQS batch to
``codeartifact_multiregion.aws_lambda:handler`` in a fresh process, as a cold Lambda
container would get it, timed around ``handler()`` alone, with the process's peak RSS from
``wait4``:

1. ``new``: 10 new versions x (wheel + sdist) published into the primary: every file is
   downloaded once and uploaded to the two other regions, then verified;
2. ``noop``: 100 records that must write nothing: 50 echoes (versions every region holds)
   and 50 EXTERNAL versions (cached from an upstream). Set against ``reads``: the same
   versions read through the same API calls (ListPackageVersions, ListPackageVersionAssets
   in each region) and nothing else, in one process with one session;
3. the lag of case 1 as the handler publishes it (the event's ``time``, which has whole
   seconds, to the verified copy) and measured from the moment the files landed.

    .venv/bin/python bench/lambda_handler.py [--runs 5]

Writes ``bench/results/lambda_handler.json`` (medians of ``--runs`` runs, each on freshly
emptied regions); exits 1 when a run fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.localaws.dists import make_sdist, make_wheel  # noqa: E402
from tests.localaws.events import sqs_batch  # noqa: E402
from tests.localaws.regions import LocalAWS  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "lambda_handler.json"
PRIMARY = "us-east-1"
NEW_VERSIONS, ECHOES, EXTERNAL = 10, 50, 50


def child(batch_file: str) -> int:
    """Run the handler once on the batch in ``batch_file``; print timings as JSON."""
    began = time.perf_counter()
    from codeartifact_multiregion import aws_lambda

    imported = time.perf_counter()
    lines: list[str] = []
    config = aws_lambda.config_from_env()
    batch = json.loads(Path(batch_file).read_text())
    started = time.perf_counter()
    answer = aws_lambda.BatchReplicator(config, log=lines.append).handle(batch)
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "import_s": imported - began,
                "handle_s": done - started,
                "answer": answer,
                "lines": lines,
            }
        )
    )
    return 0


def reads_alone(aws: LocalAWS, project: Path, versions: list[tuple[str, str]]) -> float:
    """The same per-version reads the handler makes, and nothing else: one session, as many
    versions at once as the handler works on (``concurrency``)."""
    from codeartifact_multiregion.base.config import load_config
    from codeartifact_multiregion.operations.engine import parallel
    from codeartifact_multiregion.operations.replication import Replicator, read_package

    replicator = Replicator(load_config(project))
    with aws.environment(), replicator._open(replicator.config) as session:
        repos = list(replicator._repos(session).values())
        started = time.perf_counter()
        parallel(lambda pv: read_package(repos, *pv), versions, replicator.config.concurrency)
        return time.perf_counter() - started


def run_batch(aws: LocalAWS, project: Path, batch: dict[str, Any], scratch: Path) -> dict[str, Any]:
    path = scratch / "batch.json"
    path.write_text(json.dumps(batch))
    table = project.read_text().split("[tool.codeartifact]", 1)[1]
    env = {**os.environ, **aws.env(), "CODEARTIFACT_CONFIG": "[tool.codeartifact]" + table}
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", str(path)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out = proc.stdout.read()  # type: ignore[union-attr]
    err = proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"handler run failed: {err.decode()[-3000:]}")
    divisor = 1024 * 1024 if platform.system() == "Darwin" else 1024
    doc: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    doc["peak_rss_mib"] = round(usage.ru_maxrss / divisor, 1)
    if doc["answer"]["batchItemFailures"]:
        raise SystemExit(f"records failed: {doc['answer']} {doc['lines'][-5:]}")
    return doc


def stock_new(aws: LocalAWS, scratch: Path, run: int) -> tuple[list[dict[str, Any]], float]:
    """NEW_VERSIONS fresh versions in the primary's storage; their events, sent now."""
    folder = scratch / f"new-{run}"
    for i in range(NEW_VERSIONS):
        for path in (
            make_wheel(folder, f"pkg-{i}", "1.0.0", payload_bytes=64 * 1024, seed=i),
            make_sdist(folder, f"pkg-{i}", "1.0.0"),
        ):
            (aws.regions[PRIMARY].packages / path.name).write_bytes(path.read_bytes())
    landed = time.time()
    sent = datetime.fromtimestamp(landed, timezone.utc)
    return [
        aws.version_event(PRIMARY, f"pkg-{i}", "1.0.0", time=sent) for i in range(NEW_VERSIONS)
    ], landed


def stock_noop(aws: LocalAWS, scratch: Path) -> list[dict[str, Any]]:
    """ECHOES versions every region holds and EXTERNAL ones only the primary caches."""
    folder = scratch / "noop"
    events = []
    for i in range(ECHOES + EXTERNAL):
        name = f"held-{i}" if i < ECHOES else f"public-{i}"
        files = [make_wheel(folder, name, "2.0", payload_bytes=1024, seed=i)]
        targets = aws.regions.values() if i < ECHOES else [aws.regions[PRIMARY]]
        for region in targets:
            for path in files:
                (region.packages / path.name).write_bytes(path.read_bytes())
        if i >= ECHOES:
            aws.regions[PRIMARY].set_version(name, "2.0", origin="EXTERNAL")
        source = list(aws.regions)[i % len(aws.regions)] if i < ECHOES else PRIMARY
        events.append(aws.version_event(source, name, "2.0"))
    return events


def bundle_size() -> dict[str, Any] | None:
    """The arm64 bundle's size, where the infra extra is installed (from the build cache)."""
    try:
        from infra_cdk.stacks.assets import checkout_wheel, sha256_of
        from infra_cdk.stacks.lambda_bundle import lambda_bundle, tree_size
    except ImportError:
        return None
    wheel = checkout_wheel()
    bundle = lambda_bundle(wheel, sha256_of(wheel))
    files = sum(1 for p in bundle.rglob("*") if p.is_file())
    return {"unzipped_mb": round(tree_size(bundle) / 1e6, 1), "files": files}


def summary(runs: list[dict[str, Any]], records: int) -> dict[str, Any]:
    return {
        "records": records,
        "handle_s": round(statistics.median(r["handle_s"] for r in runs), 3),
        "per_record_ms": round(1000 * statistics.median(r["handle_s"] for r in runs) / records, 1),
        "import_s": round(statistics.median(r["import_s"] for r in runs), 3),
        "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in runs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child)
    new_runs, noop_runs, reads, lags, precise = [], [], [], [], []
    with LocalAWS() as aws, tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        project = aws.write_pyproject(scratch / "project")
        for run in range(args.runs):
            aws.reset()
            events, landed = stock_new(aws, scratch, run)
            doc = run_batch(aws, project, sqs_batch(events), scratch)
            new_runs.append(doc)
            emf = [json.loads(line) for line in doc["lines"] if '"_aws"' in line]
            assert len(emf) == 2 * NEW_VERSIONS, doc["lines"][-3:]
            lags += [d["ReplicationLagSeconds"] for d in emf]
            precise += [d["_aws"]["Timestamp"] / 1000 - landed for d in emf]

            aws.reset()
            events = stock_noop(aws, scratch)
            uploads_before = {r: len(aws.regions[r].files()) for r in aws.regions}
            noop_runs.append(run_batch(aws, project, sqs_batch(events), scratch))
            assert {r: len(aws.regions[r].files()) for r in aws.regions} == uploads_before
            versions = [(e["detail"]["packageName"], "2.0") for e in events]
            reads.append(reads_alone(aws, project, versions))
    noop = summary(noop_runs, ECHOES + EXTERNAL)
    results = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "runs": args.runs,
        "new_versions": summary(new_runs, NEW_VERSIONS),
        "noop_records": noop,
        "reads_alone_s": round(statistics.median(reads), 3),
        "noop_over_reads": round(noop["handle_s"] / statistics.median(reads), 2),
        "lag_published_s": {"median": round(statistics.median(lags), 2), "max": max(lags)},
        "lag_from_landing_s": {
            "median": round(statistics.median(precise), 3),
            "max": round(max(precise), 3),
        },
        "bundle": bundle_size(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
