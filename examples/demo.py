"""`make demo`: publish examples/hello-internal to three local stand-in regions, then install it.

Each region is a real pypiserver on 127.0.0.1 behind a local fake of CodeArtifact's control
plane; no AWS account is used. The demo runs the real CLI twice (the second run skips every
file as identical), then pip-installs the package from each region's index.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = ROOT / "examples" / "hello-internal"
sys.path.insert(0, str(ROOT))

from codeartifact_multiregion.config import load_config  # noqa: E402
from tests.localaws.regions import LocalAWS  # noqa: E402


def step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def run(cmd: list[str], env: dict[str, str], **kwargs: object) -> int:
    print("$ " + " ".join(Path(c).name if os.sep in c else c for c in cmd), flush=True)
    return subprocess.call(cmd, env=env, **kwargs)  # type: ignore[call-overload]


def build(dist: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(dist), str(PROJECT)],
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        sys.exit(f"building {PROJECT} failed:\n{proc.stdout}{proc.stderr}")
    for path in sorted(dist.iterdir()):
        print(f"  built {path.name}")


def main() -> int:
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="codeartifact-demo-"))
    try:
        step("Building examples/hello-internal")
        dist = work / "dist"
        build(dist)
        # The stand-ins serve exactly what the example's [tool.codeartifact] names.
        config = load_config(PROJECT)
        target = config.targets[0]
        step(
            f"Starting {len(config.targets)} local stand-in regions "
            "(pypiserver + CodeArtifact control plane)"
        )
        with LocalAWS(
            config.regions,
            domain=target.domain,
            owner=target.domain_owner or "",
            repository=target.repository,
        ) as aws:
            env = {**os.environ, **aws.env()}
            for region in aws.regions.values():
                print(f"  {region.name}: {region.url}")
            cli = [
                sys.executable,
                "-m",
                "codeartifact_multiregion",
                "publish",
                "--project",
                str(PROJECT),
                "--dist-dir",
                str(dist),
            ]
            step("Publishing to every region")
            first = run(cli, env)
            step("Publishing again: nothing is uploaded twice")
            second = run(cli, env)
            step("Status across regions")
            status = run(
                [
                    sys.executable,
                    "-m",
                    "codeartifact_multiregion",
                    "status",
                    "--project",
                    str(PROJECT),
                ],
                env,
            )
            step("Installing hello-internal from each region")
            installed = 0
            for region in aws.regions.values():
                site = work / f"site-{region.name}"
                index = region.simple_url.replace("://", f"://aws:{region.token}@", 1)
                code = subprocess.call(
                    [
                        sys.executable,
                        "-m",
                        "pip",
                        "install",
                        "-q",
                        "--no-deps",
                        "--no-cache-dir",
                        "--disable-pip-version-check",
                        "--target",
                        str(site),
                        "--index-url",
                        index,
                        "hello-internal==1.0.0",
                    ],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                greeting = (
                    subprocess.run(
                        [
                            sys.executable,
                            "-c",
                            "import hello_internal; print(hello_internal.greet())",
                        ],
                        env={**env, "PYTHONPATH": str(site)},
                        capture_output=True,
                        text=True,
                    ).stdout.strip()
                    if code == 0
                    else "pip install failed"
                )
                installed += code == 0 and bool(greeting)
                print(f"  {region.name}: {greeting}")
        ok = first == 0 and second == 0 and status == 0 and installed == 3
        step(f"Demo {'succeeded' if ok else 'FAILED'} in {time.monotonic() - started:.1f}s")
        return 0 if ok else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
