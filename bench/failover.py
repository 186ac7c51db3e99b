"""How pip and uv behave when the region they consult first is down, and what env/exec add.

``.venv/bin/python bench/failover.py [--rounds N]`` prints a table (median seconds,
spawn to exit, of N rounds) of real installs into fresh ``--target`` directories from
three local regions (tests.localaws), with the machine's pip and uv configuration
neutralized. The first region is either stopped (connection refused) or behind a fault
proxy that resets every connection; the package exists only in the local regions.
Figures for the README, never test assertions.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from codeartifact_multiregion.config import load_config  # noqa: E402
from codeartifact_multiregion.publish import Publisher  # noqa: E402
from tests.faults.proxy import RESET, FaultProxy, Rule  # noqa: E402
from tests.localaws.dists import make_wheel  # noqa: E402
from tests.localaws.regions import LocalAWS  # noqa: E402

BIN = Path(sys.executable).parent
CLI = str(BIN / "codeartifact-multiregion")
UV = str(BIN / "uv")
PACKAGE = "hello-internal"


def clean_env(aws: LocalAWS, home: Path) -> dict[str, str]:
    env = {k: v for k, v in aws.subprocess_env().items() if not k.startswith(("PIP_", "UV_"))}
    env.update(
        {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "config"),
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "UV_CACHE_DIR": str(home / "uvcache"),
            "UV_PYTHON": sys.executable,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    env.pop("VIRTUAL_ENV", None)
    return env


def pip_cmd(target: str) -> list[str]:
    return [sys.executable, "-m", "pip", "install", "--no-cache-dir", "--target", target, PACKAGE]


def uv_cmd(target: str) -> list[str]:
    return [UV, "pip", "install", "--no-cache", "--target", target, PACKAGE]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int]:
    began = time.monotonic()
    proc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True)
    return time.monotonic() - began, proc.returncode


def index_url(aws: LocalAWS, name: str, url: str | None = None) -> str:
    region = aws.region(name)
    host = (url or region.url).split("//", 1)[1]
    return f"http://aws:{region.token}@{host}simple/"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    first, second, third = "us-east-1", "eu-west-1", "ap-southeast-2"
    rows: list[tuple[str, list[float], set[int]]] = []
    with LocalAWS() as aws, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        project = work / "project"
        aws.write_pyproject(project)
        make_wheel(project / "dist", PACKAGE, "1.0.0")
        with aws.environment():
            assert Publisher(load_config(project)).publish([]).ok
        home = work / "home"
        (home / "config").mkdir(parents=True)
        env = clean_env(aws, home)

        def case(label: str, build: Callable[[str], tuple[list[str], dict[str, str]]]) -> None:
            times, codes = [], set()
            for i in range(args.rounds):
                cmd, run_env = build(str(work / f"t-{len(rows)}-{i}"))
                seconds, code = timed(cmd, run_env)
                times.append(seconds)
                codes.add(code)
            rows.append((label, times, codes))

        def direct(tool: str, urls: list[str]) -> Callable[[str], tuple[list[str], dict]]:
            def build(target: str) -> tuple[list[str], dict[str, str]]:
                if tool == "pip":
                    extra = {"PIP_INDEX_URL": urls[0], "PIP_EXTRA_INDEX_URL": " ".join(urls[1:])}
                    return pip_cmd(target), {**env, **extra}
                extra = {"UV_INDEX_URL": urls[1], "UV_EXTRA_INDEX_URL": urls[0]}
                return uv_cmd(target), {**env, **extra}

            return build

        def via_exec(tool: str) -> Callable[[str], tuple[list[str], dict]]:
            def build(target: str) -> tuple[list[str], dict[str, str]]:
                cmd = pip_cmd(target) if tool == "pip" else uv_cmd(target)
                return [CLI, "exec", "--tool", tool, "--project", str(project), "--", *cmd], env

            return build

        up = [index_url(aws, n) for n in (first, second, third)]
        case("pip, all regions up", direct("pip", up))
        case("uv, all regions up", direct("uv", up))
        case("exec --tool uv, all up", via_exec("uv"))
        case(
            "env --tool uv (resolve + probe)",
            lambda _t: ([CLI, "env", "--tool", "uv", "--project", str(project)], env),
        )
        aws.region(first).stop()
        case("pip, first index refused", direct("pip", up))
        case("uv, first-consulted index refused", direct("uv", up))
        case("exec --tool uv, first region refused", via_exec("uv"))
        aws.region(first).start()
        with FaultProxy(aws.region(first).port) as proxy:
            proxy.add(Rule(RESET, method="GET", times=0))
            reset = [index_url(aws, first, proxy.url), *up[1:]]
            case("pip, first index resets", direct("pip", reset))
            case("uv, first-consulted index resets", direct("uv", reset))
            proxy.clear()
            proxy.add(Rule(RESET, method="GET", skip=1, times=0))  # the probe passes
            aws.route(first, proxy.url)

            def dying(target: str) -> tuple[list[str], dict[str, str]]:
                proxy.clear()
                proxy.add(Rule(RESET, method="GET", skip=1, times=0))
                return via_exec("uv")(target)

            case("exec --tool uv, first region dies after probe", dying)
    print(
        f"Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, {args.rounds} rounds"
    )
    print("| case | median s | min s | exit codes |\n|---|---|---|---|")
    for label, times, codes in rows:
        print(
            f"| {label} | {statistics.median(times):.2f} | {min(times):.2f} | "
            f"{', '.join(map(str, sorted(codes)))} |"
        )


if __name__ == "__main__":
    main()
