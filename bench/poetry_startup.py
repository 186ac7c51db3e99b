"""What installing the plugin costs every poetry command: ``poetry --version`` with and without it.

Two virtual environments with the same poetry version, created once and reused (they live in
``bench/results/poetry_startup_envs/``): one with poetry only, one with poetry plus a wheel of
this project installed by pip, as ``poetry self add`` / ``pipx inject`` would. Both run poetry's
full start-up, entry-point scan included (no ``--no-plugins``). Runs are interleaved so drift in
the machine's load hits both alike; the medians and their ratio (goal: <= 1.05) go to
``bench/results/poetry_startup.json`` and a markdown table row is printed. Wall-clock time is the
headline; the child processes' CPU time (user + sys) is recorded beside it because it is far less
sensitive to other load on the machine.

    .venv/bin/python bench/poetry_startup.py [--runs 10] [--rebuild]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import venv
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
ENVS = RESULTS / "poetry_startup_envs"
GOAL = 1.05


def bin_dir(env: Path) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin")


def build_wheel(dest: Path) -> Path:
    """A wheel of this project, built offline with the hatchling already installed here."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dest),
            str(ROOT),
        ],
        check=True,
    )
    return next(dest.glob("codeartifact_multiregion-*.whl"))


def pip_install(env: Path, *args: str) -> None:
    pip = subprocess.run(
        [str(bin_dir(env) / "python"), "-m", "pip", "install", "-q", "--no-input", *args],
        capture_output=True,
        text=True,
    )
    if pip.returncode:
        raise SystemExit(f"pip install into {env} failed:\n{pip.stdout}{pip.stderr}")


def make_env(env: Path, poetry_version: str, wheel: Path | None = None) -> None:
    """Create ``env`` with poetry (once), and put ``wheel`` in it when it is a new build."""
    marker, wheel_marker = env / "bench-poetry", env / "bench-wheel"
    if not (marker.is_file() and marker.read_text() == poetry_version):
        shutil.rmtree(env, ignore_errors=True)
        venv.EnvBuilder(with_pip=True).create(env)
        pip_install(env, f"poetry=={poetry_version}")
        marker.write_text(poetry_version)
    if wheel is None:
        return
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if not (wheel_marker.is_file() and wheel_marker.read_text() == digest):
        pip_install(env, "--force-reinstall", "--no-deps", str(wheel))
        pip_install(env, str(wheel))  # its dependencies, as `poetry self add` brings them
        wheel_marker.write_text(digest)


def cpu_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(poetry: Path, env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one ``poetry --version``."""
    cpu, start = cpu_children(), time.perf_counter()
    subprocess.run(
        [str(poetry), "--version"],
        env=env,
        cwd=cwd,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - start, cpu_children() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per environment")
    parser.add_argument("--rebuild", action="store_true", help="recreate both environments")
    args = parser.parse_args()

    poetry_version = version("poetry")
    RESULTS.mkdir(parents=True, exist_ok=True)
    if args.rebuild:
        shutil.rmtree(ENVS, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="poetry-startup-") as tmp_name:
        tmp = Path(tmp_name)
        wheel = build_wheel(tmp / "wheel")
        without, with_plugin = ENVS / "without-plugin", ENVS / "with-plugin"
        make_env(without, poetry_version)
        make_env(with_plugin, poetry_version, wheel)

        env = {
            **os.environ,
            "POETRY_CONFIG_DIR": str(tmp / "config"),
            "POETRY_CACHE_DIR": str(tmp / "cache"),
            "NO_COLOR": "1",
        }
        env.pop("VIRTUAL_ENV", None)
        cwd = tmp / "empty"  # no pyproject.toml: nothing project-specific to load
        cwd.mkdir()
        poetries = {"without": bin_dir(without) / "poetry", "with": bin_dir(with_plugin) / "poetry"}

        # the plugin must really be found in one and absent from the other
        for name, poetry in poetries.items():
            listing = subprocess.run(
                [str(poetry), "list"], env=env, cwd=cwd, check=True, capture_output=True, text=True
            ).stdout
            if ("publish-multiregion" in listing) != (name == "with"):
                raise SystemExit(f"{poetry}: plugin presence is not as expected")

        for poetry in poetries.values():  # warm-up: byte-compile, fill the OS cache
            run_once(poetry, env, cwd)
        times: dict[str, list[float]] = {name: [] for name in poetries}
        cpu: dict[str, list[float]] = {name: [] for name in poetries}
        for _ in range(args.runs):
            for name, poetry in poetries.items():
                wall, used = run_once(poetry, env, cwd)
                times[name].append(wall)
                cpu[name].append(used)

    medians = {name: statistics.median(values) for name, values in times.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpu.items()}
    ratio = medians["with"] / medians["without"]
    cpu_ratio = cpu_medians["with"] / cpu_medians["without"]
    result = {
        "benchmark": "poetry --version start-up, plugin installed vs not",
        "poetry": poetry_version,
        "python": platform.python_version(),
        "runs": args.runs,
        "median_s": {k: round(v, 4) for k, v in medians.items()},
        "runs_s": {k: [round(t, 4) for t in v] for k, v in times.items()},
        "ratio": round(ratio, 4),
        "cpu_median_s": {k: round(v, 4) for k, v in cpu_medians.items()},
        "cpu_runs_s": {k: [round(t, 4) for t in v] for k, v in cpu.items()},
        "cpu_ratio": round(cpu_ratio, 4),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "goal_ratio": GOAL,
        "meets_goal": ratio <= GOAL,
    }
    out = RESULTS / "poetry_startup.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"poetry {poetry_version}, {args.runs} interleaved runs each; written to {out}")
    print(
        "| benchmark | without plugin (median) | with plugin (median) | ratio | CPU ratio | goal |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| `poetry --version` start-up | {medians['without'] * 1000:.0f} ms "
        f"(CPU {cpu_medians['without'] * 1000:.0f} ms) | {medians['with'] * 1000:.0f} ms "
        f"(CPU {cpu_medians['with'] * 1000:.0f} ms) | {ratio:.3f} | {cpu_ratio:.3f} "
        f"| <= {GOAL}: {'met' if ratio <= GOAL else 'NOT met'} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
