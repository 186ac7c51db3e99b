"""Fixtures for the plugin tests: slow things made once per test session, across xdist workers."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def once(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, Callable[[Path], None]], Path]:
    """``once(name, make)``: the directory ``make(dir)`` filled, made by one worker only."""
    from filelock import FileLock

    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by every worker of this run

    def get(name: str, make: Callable[[Path], None]) -> Path:
        target = base / name
        with FileLock(str(base / f"{name}.lock")):
            if not (target / ".done").exists():
                target.mkdir(exist_ok=True)
                make(target)
                (target / ".done").touch()
        return target

    return get


@pytest.fixture(scope="session")
def project_wheel(once) -> Path:
    """This project's wheel, built from the working tree once per session."""

    def build(out: Path) -> None:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "build",
                "--wheel",
                "--no-isolation",
                "--outdir",
                str(out),
                str(REPO),
            ],
            check=True,
            capture_output=True,
        )

    return next(once("project-wheel", build).glob("*.whl"))


def make_venv(path: Path, *requirements: str) -> Path:
    """``python -m venv`` at ``path`` with ``requirements`` pip-installed; returns its bin dir."""
    subprocess.run(
        [sys.executable, "-m", "venv", "--clear", "--without-pip", str(path)], check=True
    )
    python = path / "bin" / "python"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-compile",
            "--progress-bar",
            "off",
            *requirements,
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return path / "bin"


def run(
    bindir: Path, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``bindir/args[0] args[1:]`` with ``bindir`` first on PATH, as that venv's user runs it."""
    full = {**os.environ, **(env or {})}
    full.pop("VIRTUAL_ENV", None)
    full["PATH"] = f"{bindir}{os.pathsep}{full.get('PATH', '')}"
    return subprocess.run(
        [str(bindir / args[0]), *args[1:]],
        cwd=cwd,
        env=full,
        text=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
