"""The built files are what a user installs: PyPI accepts them, and the wheel works on its own."""

from __future__ import annotations

import email.message
import email.parser
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # the package's own dependency below 3.11
    import tomli as tomllib

from codeartifact_multiregion import __version__
from tests.release.builds import ROOT

pytestmark = [pytest.mark.release, pytest.mark.slow]

PACKAGES = ("codeartifact_multiregion", "poetry_codeartifact", "hatch_codeartifact")
# The plugins' namespace folders: exactly these files, none of them a path another distribution
# ships (PyPI's poetry-codeartifact has poetry_codeartifact/__init__.py, plugin.py, py.typed).
PLUGIN_FILES = {
    "poetry_codeartifact/multiregion_plugin.py",
    "poetry_codeartifact/multiregion_command.py",
    "hatch_codeartifact/multiregion_hooks.py",
    "hatch_codeartifact/multiregion_publisher.py",
}


def wheel_of(built: Path) -> Path:
    (wheel,) = built.glob("*.whl")
    return wheel


def metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(zf.read(name).decode())


def test_twine_check_strict_passes_on_the_sdist_and_the_wheel(built: Path) -> None:
    files = sorted(str(p) for p in built.iterdir())
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *files],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == len(files) == 2


def test_the_version_lives_only_in_dunder_version(built: Path) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    assert metadata(wheel_of(built))["Version"] == __version__
    assert {p.name for p in built.iterdir()} == {
        f"codeartifact_multiregion-{__version__}-py3-none-any.whl",
        f"codeartifact_multiregion-{__version__}.tar.gz",
    }


def test_the_wheel_ships_the_core_typed_and_the_plugins_as_namespace_modules(built: Path) -> None:
    with zipfile.ZipFile(wheel_of(built)) as zf:
        tops = {n.split("/")[0] for n in zf.namelist()}
        names = set(zf.namelist())
    assert tops == {*PACKAGES, f"codeartifact_multiregion-{__version__}.dist-info"}
    assert "codeartifact_multiregion/py.typed" in names
    plugins = {n for n in names if n.split("/")[0] in PACKAGES[1:]}
    assert plugins == PLUGIN_FILES, "no __init__.py or py.typed: namespace packages"
    assert metadata(wheel_of(built))["Requires-Python"] == ">=3.10"


def test_the_sdist_rebuilds_the_suite_and_leaves_out_local_state(built: Path) -> None:
    (sdist,) = built.glob("*.tar.gz")
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    assert {"pyproject.toml", "noxfile.py", "CHANGELOG.md", "tests/conftest.py"} <= names
    leaked = {n for n in names if n.split("/")[0] in {".venv", ".nox", "dist", "node_modules"}}
    assert not leaked and not any("/node_modules/" in n or "/cdk.out/" in n for n in names)


def test_the_installed_wheel_runs_its_cli_and_registers_both_plugins(
    built: Path, tmp_path: Path
) -> None:
    """Installed alone (no checkout on the path), as a user gets it."""
    venv = tmp_path / "venv"
    uv = [sys.executable, "-m", "uv"]
    subprocess.run([*uv, "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([*uv, "pip", "install", "-q", "--python", str(py), str(wheel_of(built))],
                   check=True, timeout=300)  # fmt: skip

    version = subprocess.run([venv / "bin" / "codeartifact-multiregion", "--version"],
                             capture_output=True, text=True, cwd=tmp_path, timeout=60)  # fmt: skip
    assert version.returncode == 0 and version.stdout.split() == [
        "codeartifact-multiregion",
        __version__,
    ]
    probe = (
        "import importlib.metadata as md, codeartifact_multiregion as m;"
        "eps = md.entry_points();"
        "print(m.__file__);"
        "print(sorted(e.value for e in eps.select(group='poetry.application.plugin')));"
        "print(sorted(e.value for e in eps.select(group='hatch')))"
    )
    found = subprocess.run([py, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                           timeout=60)  # fmt: skip
    assert found.returncode == 0, found.stderr
    where, poetry, hatch = found.stdout.splitlines()
    assert where.startswith(str(venv))
    assert poetry == "['poetry_codeartifact.multiregion_plugin:CodeArtifactApplicationPlugin']"
    assert hatch == "['hatch_codeartifact.multiregion_hooks']"
