"""Whole-repository replication: ``status --all`` and ``sync --all`` into a new region.

Not a test: a benchmark. It starts two local regions (real pypiserver processes, the fake
control plane with CodeArtifact's default quotas, moto STS), writes ``--packages`` x
``--versions`` x (wheel + sdist) files straight into the primary's storage (no upload: the
stand-ins read storage, so seeding 100,000 files takes a minute or two), and runs, each a
fresh CLI process timed from spawn to exit, its CPU and peak RSS from ``wait4`` (in
``rusage.py``, a small launcher, so the tool is not charged this process's size):

1. ``status --all`` (the new region is empty: drift, exit 1),
2. ``sync --all`` into the new region,
3. ``status --all`` again (in sync, exit 0),
4. with ``--kill-midway``: the new region emptied, ``sync --all`` SIGKILLed once the index
   has stored half the files, then ``sync --all`` again; the index's upload log says which
   files the re-run sent although they had landed (and the control plane's log which it
   downloaded again).

Each wall time is set against the quota floor (``quota_floor.py``: the time CodeArtifact's
default quotas alone need for the requests the stand-ins logged). The tool's CPU (the CLI
process) is reported per file, beside the stand-ins' CPU: the control plane (this process,
less its main thread, which only waits) and each region's index (pypiserver, from /proc).

    .venv/bin/python bench/replication.py [--packages 200] [--versions 5] [--kill-midway]

Writes ``bench/results/replication-<files>.json``; exits 1 when a run fails or the new
region does not end up byte-identical to the primary.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import quota_floor  # noqa: E402  (beside this script)

from tests.localaws.dists import make_sdist, make_wheel  # noqa: E402
from tests.localaws.regions import LocalAWS  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PRIMARY, NEW = "us-east-1", "eu-west-1"
SYNC, STATUS = ("sync", "--all"), ("status", "--all")
STEPS = (("status_before", STATUS, 1), ("sync", SYNC, 0), ("status_after", STATUS, 0))


def seed(aws: LocalAWS, packages: int, versions: int) -> int:
    """Every file straight into the primary's storage: what the stand-ins read."""
    store = aws.regions[PRIMARY].packages
    for p in range(packages):
        for v in range(versions):
            make_wheel(store, f"bench-pkg{p:04d}", f"1.{v}", payload_bytes=2048)
            make_sdist(store, f"bench-pkg{p:04d}", f"1.{v}")
    return 2 * packages * versions


def stand_in_cpu(aws: LocalAWS) -> dict[str, float]:
    """CPU seconds so far: the control plane (this process but its main thread) and each
    region's index (its pypiserver process)."""
    tick = os.sysconf("SC_CLK_TCK")
    cpu = {"control plane": time.process_time() - time.thread_time()}
    for name, region in aws.regions.items():
        if region.process is None:
            continue
        try:
            fields = Path(f"/proc/{region.process.pid}/stat").read_text().rsplit(")", 1)[1]
        except OSError:
            continue
        utime, stime = fields.split()[11:13]
        cpu[f"{name} index"] = (int(utime) + int(stime)) / tick
    return cpu


def run_cli(
    aws: LocalAWS, project: Path, args: tuple[str, ...], kill_when: Callable[[], bool] | None = None
) -> dict[str, Any]:
    """One CLI run through ``rusage.py`` (the tool's own peak RSS, not this process's):
    exit code, wall and CPU seconds, peak RSS (MiB). ``kill_when``: polled every 50 ms;
    once true, the CLI itself is SIGKILLed."""
    env = {**os.environ, **aws.env()}
    with tempfile.TemporaryDirectory(prefix="bench-rusage-") as tmp:
        usage_file = Path(tmp) / "usage.json"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-S",
                str(ROOT / "bench" / "rusage.py"),
                str(usage_file),
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
        killed = threading.Event()
        if kill_when is not None:
            threading.Thread(
                target=_killer, args=(proc, usage_file, kill_when, killed), daemon=True
            ).start()
        # Read the pipes in full before waiting (-q keeps stderr small).
        out = proc.stdout.read()  # type: ignore[union-attr]
        err = proc.stderr.read()  # type: ignore[union-attr]
        proc.wait()
        usage = json.loads(usage_file.read_text())
    if usage["exit_code"] not in (0, 1) and not killed.is_set():
        sys.stderr.write(err.decode()[-3000:])
    try:
        doc = json.loads(out.decode() or "{}")
    except ValueError:  # killed mid-document
        doc = {}
    return {
        "exit_code": usage["exit_code"],
        "killed": killed.is_set(),
        "wall_s": round(usage["wall_s"], 2),
        "cpu_s": round(usage["cpu_s"], 2),
        "peak_rss_mib": round(usage["peak_rss_kib"] / 1024, 1),
        "doc": doc,
    }


def _killer(
    proc: subprocess.Popen[bytes],
    usage_file: Path,
    kill_when: Callable[[], bool],
    killed: threading.Event,
) -> None:
    while proc.poll() is None and not kill_when():
        time.sleep(0.05)
    if proc.poll() is None:
        killed.set()
        os.kill(json.loads(usage_file.read_text())["pid"], signal.SIGKILL)


def measured(
    aws: LocalAWS,
    project: Path,
    args: tuple[str, ...],
    files: int,
    kill_when: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """``run_cli`` with what the stand-ins spent and logged meanwhile, and the floor."""
    start, cpu_before = quota_floor.mark(aws), stand_in_cpu(aws)
    run = run_cli(aws, project, args, kill_when)
    cpu_after = stand_in_cpu(aws)
    log = quota_floor.since(aws, start)
    floor = log.floor()
    run.pop("doc")
    stored = {r: sum(u["outcome"] == "stored" for u in ups) for r, ups in log.uploads.items()}
    # Per copied file for a sync, per file of the repository for a status.
    per = stored[NEW] if args == SYNC and stored[NEW] else files
    run.update(
        cpu_ms_per_file=round(1000 * run["cpu_s"] / per, 2),
        stand_ins_cpu_s={k: round(v - cpu_before.get(k, 0.0), 2) for k, v in cpu_after.items()},
        quota_floor_s=round(floor, 2),
        wall_over_floor=round(run["wall_s"] / floor, 2) if floor else None,
        floor_reading_through_index_s=round(log.floor(through_index=True), 2),
        stored=stored,
        **log.to_dict(),
    )
    run["_log"] = log
    return run


def kill_midway(aws: LocalAWS, project: Path, files: int) -> dict[str, Any]:
    """SIGKILL a sync into an empty region halfway, re-run it: what went twice?"""
    new, primary = aws.regions[NEW], aws.regions[PRIMARY]
    new.clear()
    half = files // 2
    first = measured(
        aws,
        project,
        SYNC,
        files,
        kill_when=lambda: sum(u["outcome"] == "stored" for u in new.uploads()) >= half,
    )
    landed = {u["file"] for u in first.pop("_log").uploads[NEW] if u["outcome"] == "stored"}
    second = measured(aws, project, SYNC, files)
    log = second.pop("_log")
    again = sorted({u["file"] for u in log.uploads[NEW]} & landed)
    fetched = sorted(set(log.downloads.get(PRIMARY, [])) & landed)
    return {
        "killed_run": first,
        "rerun": second,
        "landed_before_kill": len(landed),
        "rerun_uploads_of_landed_files": len(again),
        "uploaded_again": again[:10],
        "rerun_downloads_of_landed_files": len(fetched),
        "downloaded_again": fetched[:10],
        "new_region_identical": new.files() == primary.files(),
    }


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
    parser.add_argument(
        "--kill-midway",
        action="store_true",
        help="also SIGKILL a sync halfway and count what the re-run re-sends",
    )
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "packages": args.packages,
        "versions": args.versions,
        "machine": {"cpus": os.cpu_count(), "load_at_start": os.getloadavg()},
    }
    with (
        LocalAWS(regions=(PRIMARY, NEW), page_size=args.page_size) as aws,
        tempfile.TemporaryDirectory(prefix="bench-replication-") as tmp,
    ):
        project = Path(tmp) / "project"
        aws.write_pyproject(project, name="bench-platform")
        began = time.monotonic()
        files = results["files"] = seed(aws, args.packages, args.versions)
        results["seed_s"] = round(time.monotonic() - began, 1)
        print(f"{files} files in {PRIMARY} ({results['seed_s']} s); {NEW} empty", flush=True)
        ok = True
        for step, argv_, expected in STEPS:
            run = results[step] = measured(aws, project, argv_, files)
            run.pop("_log")
            ok = ok and run["exit_code"] == expected
            print(line(step, run), flush=True)
        identical = results["new_region_identical"] = (
            aws.regions[NEW].files() == aws.regions[PRIMARY].files()
        )
        ok = ok and identical
        if args.kill_midway:
            kill = results["kill_midway"] = kill_midway(aws, project, files)
            print(
                f"kill midway: {kill['landed_before_kill']} files landed before SIGKILL; "
                f"the re-run uploaded {kill['rerun_uploads_of_landed_files']} of them again "
                f"({line('rerun', kill['rerun'])}); identical: "
                f"{kill['new_region_identical']}",
                flush=True,
            )
            ok = ok and kill["rerun"]["exit_code"] == 0 and kill["new_region_identical"]
    results["machine"]["load_at_end"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"replication-{files}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out.relative_to(ROOT)}; new region identical: {identical}")
    return 0 if ok else 1


def line(step: str, run: dict[str, Any]) -> str:
    stand_ins = ", ".join(f"{k} {v} s" for k, v in run["stand_ins_cpu_s"].items())
    return (
        f"{step}: exit {run['exit_code']}, {run['wall_s']} s (quota floor "
        f"{run['quota_floor_s']} s, x{run['wall_over_floor']}), tool CPU {run['cpu_s']} s "
        f"({run['cpu_ms_per_file']} ms/file), stand-ins CPU: {stand_ins}; peak RSS "
        f"{run['peak_rss_mib']} MiB, throttled {run['throttled']}"
    )


if __name__ == "__main__":
    sys.exit(main())
