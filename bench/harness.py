"""Shared plumbing for the benchmarks: local regions behind the delay proxy, releases, runners.

``World`` starts N local regions (``tests.localaws``), one ``netem.py`` process with one
link per region, and routes each region's repository endpoint through its link, so our
publisher (which asks the fake control plane) and twine (given the URL) cross the same
emulated WAN. Every runner is a subprocess of this interpreter, timed from spawn to
exit, with its peak RSS from ``wait4``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.localaws.dists import make_sdist, make_wheel  # noqa: E402
from tests.localaws.regions import LocalAWS  # noqa: E402

PY = sys.executable
PROJECT = "bench-pkg"
# The first three are the regions (20/80/150 ms); more regions fall in between.
REGIONS = [
    "us-east-1",
    "eu-west-1",
    "ap-southeast-2",
    "us-east-2",
    "us-west-2",
    "eu-central-1",
    "ap-northeast-1",
    "sa-east-1",
    "ca-central-1",
    "eu-north-1",
]
RTTS_MS = [20, 80, 150, 40, 110, 60, 130, 30, 100, 90]
# Wheel tags for multi-file releases of one version (each a distinct, valid file name).
TAGS = [
    f"cp3{minor}-cp3{minor}-{plat}"
    for minor in range(9, 14)
    for plat in (
        "manylinux_2_17_x86_64",
        "manylinux_2_17_aarch64",
        "musllinux_1_2_x86_64",
        "macosx_11_0_arm64",
        "win_amd64",
    )
]


UV = str(Path(PY).with_name("uv"))
# The AWS CLI lives in a venv of its own: awscli pins an exact botocore, which must not
# move the project's boto3/botocore (``aws_cli()`` creates it on first use).
AWS_CLI_VENV = ROOT / "bench" / "results" / "awscli-venv"


def aws_cli() -> str:
    """The ``aws`` executable of the bench's AWS CLI venv (v1 from PyPI, pinned in
    bench/requirements-awscli.txt), installed on first use."""
    exe = AWS_CLI_VENV / "bin" / "aws"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(AWS_CLI_VENV)], check=True)
        subprocess.run(
            [
                str(AWS_CLI_VENV / "bin" / "pip"),
                "install",
                "-q",
                "-r",
                str(ROOT / "bench" / "requirements-awscli.txt"),
            ],
            check=True,
        )
    return str(exe)


@dataclass
class Run:
    wall: float
    maxrss_kb: int
    rc: int
    out: str = ""
    cpu_s: float = 0.0  # user + system CPU seconds of the process(es)


def spawn(
    argv: Sequence[str], env: dict[str, str], cwd: Path | None = None
) -> tuple[subprocess.Popen[bytes], float, Path]:
    log = Path(tempfile.mkstemp(prefix="bench-", suffix=".log")[1])
    with log.open("wb") as fh:
        proc = subprocess.Popen(list(argv), env=env, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
    return proc, time.perf_counter(), log


def reap(proc: subprocess.Popen[bytes], started: float, log: Path) -> Run:
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = log.read_text(errors="replace")
    log.unlink()
    return Run(wall, usage.ru_maxrss, proc.returncode, out, usage.ru_utime + usage.ru_stime)


def run(argv: Sequence[str], env: dict[str, str], cwd: Path | None = None) -> Run:
    return reap(*spawn(argv, env, cwd))


def run_parallel(argvs: Sequence[Sequence[str]], env: dict[str, str]) -> Run:
    """Start every command at once; wall time until the last exits, the largest RSS."""
    started = time.perf_counter()
    procs = [spawn(argv, env) for argv in argvs]
    runs = [reap(*p) for p in procs]
    return Run(
        time.perf_counter() - started,
        max(r.maxrss_kb for r in runs),
        max(r.rc for r in runs),
        "\n".join(r.out for r in runs),
        sum(r.cpu_s for r in runs),
    )


_COMPILED: set[Path] = set()


def compiled(src: Path) -> None:
    """Byte-compile a checkout's ``src/`` once per run, as pip does when it installs a wheel.

    Without it, an edited checkout (or any, where PYTHONDONTWRITEBYTECODE is set, as on these
    machines) compiles every module it imports from source on every run: about 25 ms of CPU
    that no installed copy pays, and that twine's and uv's installed code never pay either.
    """
    if src not in _COMPILED:
        subprocess.run([PY, "-m", "compileall", "-q", str(src)], check=True)
        _COMPILED.add(src)


@dataclass
class World:
    """``with World(n, mbit) as w:`` n local regions, each behind its own emulated link."""

    count: int
    mbit: float = 50.0
    rtts_ms: Sequence[float] = field(default_factory=lambda: RTTS_MS)
    aws: LocalAWS = field(init=False)
    proxy: subprocess.Popen[str] = field(init=False)
    urls: dict[str, str] = field(init=False)
    work: Path = field(init=False)

    @property
    def regions(self) -> list[str]:
        return REGIONS[: self.count]

    @property
    def slowest(self) -> str:
        return max(self.regions, key=self.rtt)

    def rtt(self, region: str) -> float:
        return self.rtts_ms[REGIONS.index(region)]

    def __enter__(self) -> World:
        self.work = Path(tempfile.mkdtemp(prefix="bench-"))
        self.aws = LocalAWS(self.regions).__enter__()
        spec = [
            {
                "name": r,
                "upstream_port": self.aws.regions[r].port,
                "rtt_ms": self.rtt(r),
                "mbit": self.mbit,
            }
            for r in self.regions
        ]
        self.proxy = subprocess.Popen(
            [PY, str(Path(__file__).with_name("netem.py")), json.dumps(spec)],
            stdout=subprocess.PIPE,
            text=True,
        )
        line = self.proxy.stdout.readline() if self.proxy.stdout else ""
        if not line.startswith("READY "):
            self.__exit__()
            raise RuntimeError(f"netem did not start: {line!r}")
        ports = json.loads(line[6:])
        self.urls = {r: f"http://127.0.0.1:{ports[r]}/" for r in self.regions}
        for region, url in self.urls.items():
            self.aws.route(region, url)
        scrubbed = getattr(self.aws, "subprocess_env", None)
        base = scrubbed() if scrubbed else {**os.environ, **self.aws.env()}
        # twine is given the token; keep it from probing a keyring daemon.
        self.env = {**base, "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
        return self

    def __exit__(self, *exc: object) -> None:
        if getattr(self, "proxy", None) is not None:
            self.proxy.terminate()
            self.proxy.wait(10)
        if getattr(self, "aws", None) is not None:
            self.aws.__exit__()
        shutil.rmtree(self.work, ignore_errors=True)

    # releases ---------------------------------------------------------------

    def release(
        self, version: str, *, files: int = 2, payload: int = 0, name: str = PROJECT
    ) -> list[Path]:
        """``files`` distributions of one version: wheels of ``payload`` bytes each (all but
        the first renamed to tags of their own) and, when files >= 2, an sdist."""
        dest = self.work / "dist" / version
        out: list[Path] = []
        wheels = files - 1 if files >= 2 else files
        for i in range(wheels):
            wheel = make_wheel(dest / f"w{i}", name, version, payload_bytes=payload, seed=i)
            if i:
                wheel = wheel.rename(dest / wheel.name.replace("py3-none-any", TAGS[i - 1]))
            else:
                wheel = wheel.rename(dest / wheel.name)
            out.append(wheel)
        if files >= 2:
            out.append(make_sdist(dest, name, version))
        return out

    def discard(self, files: Sequence[Path]) -> None:
        for path in files:
            path.unlink(missing_ok=True)

    def clear(self) -> None:
        """Empty every region's storage (the indexes stay small and comparable)."""
        for region in self.aws.regions.values():
            region.clear()

    def holds(self, region: str, files: Sequence[Path]) -> bool:
        present = {p.name for p in self.aws.regions[region].packages.iterdir()}
        return all(f.name in present for f in files)

    # runners ----------------------------------------------------------------

    def project(self, regions: Sequence[str]) -> Path:
        directory = self.work / "projects" / "-".join(regions)
        if not (directory / "pyproject.toml").exists():
            self.aws.write_pyproject(directory, regions=list(regions), name=PROJECT)
        return directory

    def ours_argv(self, files: Sequence[Path], regions: Sequence[str]) -> list[str]:
        return [
            PY,
            "-m",
            "codeartifact_multiregion",
            "publish",
            *map(str, files),
            "--project",
            str(self.project(regions)),
            "-q",
        ]

    def twine_argv(self, files: Sequence[Path], region: str) -> list[str]:
        return [
            PY,
            "-m",
            "twine",
            "upload",
            "--repository-url",
            self.urls[region],
            "-u",
            "aws",
            f"--password={self.aws.regions[region].token}",
            "--disable-progress-bar",
            "--non-interactive",
            *map(str, files),
        ]

    def ours(self, files: Sequence[Path], regions: Sequence[str], src: Path | None = None) -> Run:
        """Our publisher; ``src``: another checkout's ``src/`` (a before/after in one run)."""
        compiled(src or ROOT / "src")
        env = self.env if src is None else {**self.env, "PYTHONPATH": str(src)}
        return self.check(run(self.ours_argv(files, regions), env), files, regions, "ours")

    def twine(self, files: Sequence[Path], region: str) -> Run:
        return self.check(run(self.twine_argv(files, region), self.env), files, [region], "twine")

    def twine_sequential(self, files: Sequence[Path], regions: Sequence[str]) -> Run:
        runs = [self.twine(files, r) for r in regions]
        return Run(
            sum(r.wall for r in runs),
            max(r.maxrss_kb for r in runs),
            0,
            cpu_s=sum(r.cpu_s for r in runs),
        )

    def uv_argv(self, files: Sequence[Path], region: str) -> list[str]:
        """``uv publish`` with the token handed over for free (as twine above)."""
        return [
            UV,
            "publish",
            "--publish-url",
            self.urls[region],
            "--username",
            "aws",
            f"--password={self.aws.regions[region].token}",
            "--no-progress",
            *map(str, files),
        ]

    def uv(self, files: Sequence[Path], region: str) -> Run:
        return self.check(run(self.uv_argv(files, region), self.env), files, [region], "uv")

    def uv_sequential(self, files: Sequence[Path], regions: Sequence[str]) -> Run:
        """The three-line loop: ``for r in regions: uv publish --publish-url ... files``."""
        runs = [self.uv(files, r) for r in regions]
        return Run(
            sum(r.wall for r in runs),
            max(r.maxrss_kb for r in runs),
            0,
            cpu_s=sum(r.cpu_s for r in runs),
        )

    def recipe(self, files: Sequence[Path], regions: Sequence[str]) -> Run:
        """The documented recipe, region after region, every step a new process:
        ``aws codeartifact get-authorization-token``, ``get-repository-endpoint``, then
        ``twine upload`` with that token to that URL. The AWS CLI reaches the fake control
        plane through AWS_ENDPOINT_URL_CODEARTIFACT, as our publisher does."""
        aws = aws_cli()
        total, rss, cpu = 0.0, 0, 0.0
        for region in regions:
            common = [
                "--domain",
                self.aws.domain,
                "--domain-owner",
                self.aws.owner,
                "--region",
                region,
                "--output",
                "text",
            ]
            token = run(
                [
                    aws,
                    "codeartifact",
                    "get-authorization-token",
                    *common,
                    "--query",
                    "authorizationToken",
                ],
                self.env,
            )
            url = run(
                [
                    aws,
                    "codeartifact",
                    "get-repository-endpoint",
                    *common,
                    "--repository",
                    self.aws.repository,
                    "--format",
                    "pypi",
                    "--query",
                    "repositoryEndpoint",
                ],
                self.env,
            )
            for step in (token, url):
                if step.rc:
                    raise RuntimeError(f"aws cli failed (rc {step.rc}):\n{step.out[-2000:]}")
            argv = [
                PY,
                "-m",
                "twine",
                "upload",
                "--repository-url",
                url.out.strip(),
                "-u",
                "aws",
                f"--password={token.out.strip()}",
                "--disable-progress-bar",
                "--non-interactive",
                *map(str, files),
            ]
            upload = self.check(run(argv, self.env), files, [region], "recipe twine")
            for step in (token, url, upload):
                total, rss, cpu = total + step.wall, max(rss, step.maxrss_kb), cpu + step.cpu_s
        return Run(total, rss, 0, cpu_s=cpu)

    def twine_parallel(self, files: Sequence[Path], regions: Sequence[str]) -> Run:
        result = run_parallel([self.twine_argv(files, r) for r in regions], self.env)
        return self.check(result, files, regions, "twine x parallel")

    def check(self, result: Run, files: Sequence[Path], regions: Sequence[str], what: str) -> Run:
        if result.rc != 0 or not all(self.holds(r, files) for r in regions):
            raise RuntimeError(f"{what} failed (rc {result.rc}):\n{result.out[-3000:]}")
        return result


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")
