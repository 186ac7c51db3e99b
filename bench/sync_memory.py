"""Peak memory of ``sync`` (and ``publish``) with a 200 MB wheel, against local regions.

Not a test: a benchmark. It starts three local regions (real pypiserver processes
and the fake control plane from ``tests/localaws``), builds a 200 MB wheel with a
streamed payload, publishes it to the primary region only, then runs
``codeartifact-multiregion sync`` in a subprocess and reads that process's own
peak RSS from ``os.wait4`` (``ru_maxrss``: the child alone, not the servers).
It then empties the regions and measures ``publish`` of the same wheel to all
three regions the same way. Files stream through a temporary file, so the figure
should stay near the interpreter's own footprint, far below the file's size.

    .venv/bin/python bench/sync_memory.py [--mb 200] [--limit-mb 100]

Prints the figures and writes them to ``bench/results/sync_memory.json``; exits 1
when sync's peak RSS is over the limit or a region does not hold the wheel after.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.localaws.dists import make_wheel  # noqa: E402
from tests.localaws.regions import LocalAWS  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "sync_memory.json"


def run_cli(aws: LocalAWS, *args: str) -> dict[str, object]:
    """Run the CLI; return its exit code, wall time and peak RSS (MiB) from ``wait4``."""
    env = {**os.environ, **aws.env()}
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "codeartifact_multiregion", *args, "-q"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # Read the pipes in full before waiting, so a chatty child never blocks on them.
    out, err = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        sys.stderr.write(out.decode() + err.decode())
    # ru_maxrss is KiB on Linux, bytes on macOS.
    divisor = 1024 * 1024 if platform.system() == "Darwin" else 1024
    return {
        "exit_code": proc.returncode,
        "elapsed_s": round(elapsed, 2),
        "peak_rss_mib": round(usage.ru_maxrss / divisor, 1),
    }


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200, help="payload size of the wheel (MiB)")
    parser.add_argument("--limit-mb", type=float, default=100.0, help="sync's peak RSS bound")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp, LocalAWS() as aws:
        project = Path(tmp) / "project"
        aws.write_pyproject(project, name="big-internal")
        wheel = make_wheel(project / "dist", "big-internal", "1.0.0", payload_bytes=args.mb * 2**20)
        size, digest = wheel.stat().st_size, sha256(wheel)
        regions = list(aws.regions)
        primary = regions[0]
        print(f"wheel: {wheel.name}, {size / 2**20:.1f} MiB; regions: {', '.join(regions)}")

        baseline = run_cli(aws, "status", "--project", str(project))
        seed = run_cli(aws, "publish", "--project", str(project), "--region", primary, str(wheel))
        sync = run_cli(aws, "sync", "--project", str(project))
        synced = all(r.files().get(wheel.name) == digest for r in aws.regions.values())

        aws.reset()
        publish = run_cli(aws, "publish", "--project", str(project), str(wheel))
        published = all(r.files().get(wheel.name) == digest for r in aws.regions.values())

    ok = (
        sync["exit_code"] == 0
        and synced
        and publish["exit_code"] == 0
        and published
        and float(sync["peak_rss_mib"]) < args.limit_mb
    )  # type: ignore[arg-type]
    result = {
        "benchmark": "sync_memory",
        "file": {"name": wheel.name, "bytes": size, "sha256": digest},
        "regions": regions,
        "limit_mib": args.limit_mb,
        "status_baseline": baseline,
        "publish_to_primary_only": seed,
        "sync_primary_to_2_regions": {**sync, "all_regions_hold_the_file": synced},
        "publish_to_3_regions": {**publish, "all_regions_hold_the_file": published},
        "ok": ok,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"status (baseline, no transfer): peak RSS {baseline['peak_rss_mib']} MiB")
    print(
        f"publish to {primary} only:      peak RSS {seed['peak_rss_mib']} MiB, "
        f"{seed['elapsed_s']} s"
    )
    print(
        f"sync {primary} -> 2 regions:    peak RSS {sync['peak_rss_mib']} MiB, "
        f"{sync['elapsed_s']} s (limit {args.limit_mb:g} MiB)"
    )
    print(
        f"publish to 3 regions:         peak RSS {publish['peak_rss_mib']} MiB, "
        f"{publish['elapsed_s']} s"
    )
    print(f"{'ok' if ok else 'FAILED'}; wrote {RESULTS.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
