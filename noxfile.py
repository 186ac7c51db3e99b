"""The test matrix: the core suite on every declared Python and on the lowest allowed versions.

`make ci` runs every session after `make test`; `nox -s core-3.12` runs one. Each session
installs the package from a wheel built once per run, never the checkout, so the matrix also
proves that the wheel ships everything the code needs. "Core" is the part of the suite that
needs neither poetry, hatch nor the CDK: the unit tests, the fault suite and the local stand-ins.

Interpreters come from PATH or from pyenv (~/.pyenv/versions/3.X.*); uv never downloads one.
A missing interpreter skips its session on a contributor's machine and fails the run under
`CI=true`, where every declared Python must be tested.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
# requires-python, one by one. Not 3.9: it reached end of life in October 2025, and the local
# stand-ins' STS needs moto 5.2.5 (MotoRequestHandler), which needs Python 3.10.
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
CORE_TESTS = ["tests/test_*.py", "tests/faults", "tests/localaws"]
# Workers per session: more than the 2 cores, because much of the suite waits on local servers
# (deadlines, backoffs, stalled regions) rather than computing.
WORKERS = os.environ.get("MATRIX_WORKERS", "4")

nox.options.default_venv_backend = "uv"
nox.options.error_on_missing_interpreters = os.environ.get("CI", "").lower() == "true"
nox.options.sessions = [*(f"core-{v}" for v in PYTHONS), "lowest"]
# A missing interpreter is never a download from outside the package registries.
os.environ["UV_PYTHON_DOWNLOADS"] = "never"


def _add_pyenv_to_path() -> None:
    """Put each pyenv 3.X interpreter on PATH (newest patch release first), after what is there."""
    found = []
    for version in PYTHONS:
        pattern = os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin")
        found += sorted(glob.glob(pattern), reverse=True)
    os.environ["PATH"] = os.pathsep.join([os.environ.get("PATH", ""), *found])


_add_pyenv_to_path()
_wheel_cache: list[str] = []


def _wheel() -> str:
    """The wheel every session installs: $MATRIX_WHEEL if set, else one built here, once per run."""
    given = os.environ.get("MATRIX_WHEEL")
    if given:
        return str(Path(given).resolve())
    if not _wheel_cache:
        out = ROOT / ".nox" / "_dist"
        for old in out.glob("*.whl"):
            old.unlink()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "uv",
                "build",
                "-q",
                "--wheel",
                "--out-dir",
                str(out),
                str(ROOT),
            ],
            check=True,
        )
        (wheel,) = out.glob("*.whl")
        _wheel_cache.append(str(wheel))
    return _wheel_cache[0]


def _core_tests() -> list[str]:
    """The core test paths, globs expanded (nox runs commands without a shell)."""
    paths: list[str] = []
    for pattern in CORE_TESTS:
        paths += sorted(str(p.relative_to(ROOT)) for p in ROOT.glob(pattern))
    return paths


def _run_core(session: nox.Session) -> None:
    """Check the package imports from the installed wheel, then run the core suite."""
    session.run(
        "python",
        "-c",
        "import codeartifact_multiregion as m, sys; sys.exit(0 if 'site-packages' in m.__file__"
        " else 'imported from the checkout: ' + m.__file__)",
    )
    session.run(
        "python", "-m", "pytest", "-n", WORKERS, "-q", "-p", "no:cacheprovider",
        *_core_tests(), *session.posargs,
    )  # fmt: skip


@nox.session(python=PYTHONS, tags=["matrix"])
def core(session: nox.Session) -> None:
    """The core suite on one declared Python, against the built wheel with its test extra."""
    session.install(f"codeartifact-multiregion[test] @ file://{_wheel()}")
    _run_core(session)


@nox.session(python=PYTHONS[0], tags=["matrix"])
def lowest(session: nox.Session) -> None:
    """The core suite with every direct dependency at the lowest version pyproject.toml allows.

    On the oldest declared Python, where old releases are most likely to install. The
    dependencies are resolved from pyproject.toml (runtime and test extra, lowest-direct),
    then the wheel goes in without dependencies, so nothing raises a floor behind our back.
    The files it publishes include ones built by today's backends (tests/test_publish_backends.py),
    so a floor must read what hatchling, poetry-core, setuptools, flit-core and uv_build write now.
    """
    session.install("--resolution", "lowest-direct", "-r", "pyproject.toml", "--extra", "test")
    session.install("--no-deps", _wheel())
    session.run(sys.executable, "-m", "uv", "pip", "freeze", external=True)  # the versions tested
    _run_core(session)
