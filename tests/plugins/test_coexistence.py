"""Our Poetry plugin beside PyPI's ``poetry-codeartifact`` (0.3.0), a CodeArtifact login plugin
for Poetry, so the same users: one environment holds both, poetry runs both commands, and
uninstalling either leaves the other working.

Both plugins live under ``poetry_codeartifact/``. Theirs is a regular package
(``__init__.py``, ``plugin.py``, ...); ours adds modules of other names to it
(``multiregion_plugin.py``, ``multiregion_command.py``), so no file belongs to both and pip's
uninstall of one removes none of the other's files.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import run_checked, sha256s
from tests.localaws.dists import make_sdist, make_wheel
from tests.plugins.conftest import make_venv, run

pytestmark = pytest.mark.slow

THEIRS = "poetry-codeartifact==0.3.0"


def pip(venv: Path, *args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def commands(bindir: Path, tmp: Path) -> set[str]:
    """The commands ``poetry list`` shows; poetry itself must run cleanly to list them."""
    listed = run(bindir, "poetry", "list", env=poetry_env(tmp))
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "Traceback" not in listed.stdout + listed.stderr
    return set(re.findall(r"^\s{2}(\S+)\s", listed.stdout, re.M))


def poetry_env(tmp: Path) -> dict[str, str]:
    return {
        "POETRY_CONFIG_DIR": str(tmp / "poetry-config"),
        "POETRY_CACHE_DIR": str(tmp / "poetry-cache"),
    }


def files_of(bindir: Path, dist: str) -> set[str]:
    """The files pip installed for ``dist`` (its RECORD), package folders only."""
    code = (
        f"import importlib.metadata as md, json; print(json.dumps(sorted("
        f"str(f) for f in md.files({dist!r}) if '.dist-info' not in str(f))))"
    )
    proc = run(bindir, "python", "-c", code)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stdout))


def test_both_plugins_in_one_environment_and_either_uninstalled(project_wheel, regions, tmp_path):
    venv = tmp_path / "venv"
    bindir = make_venv(venv, "poetry", THEIRS, str(project_wheel))

    ours, theirs = (
        files_of(bindir, "codeartifact-multiregion"),
        files_of(bindir, "poetry-codeartifact"),
    )
    assert "poetry_codeartifact/__init__.py" in theirs
    assert "poetry_codeartifact/multiregion_plugin.py" in ours
    assert not ours & theirs, "no file may belong to both distributions"
    assert {"codeartifact", "publish-multiregion"} <= commands(bindir, tmp_path)

    # Ours goes: theirs still runs, and none of its files went with ours.
    pip(venv, "uninstall", "-y", "codeartifact-multiregion")
    assert "publish-multiregion" not in commands(bindir, tmp_path)
    helped = run(bindir, "poetry", "codeartifact", "--help", env=poetry_env(tmp_path))
    assert helped.returncode == 0, helped.stdout + helped.stderr
    assert "AWS CodeArtifact commands for Poetry." in helped.stdout
    assert files_of(bindir, "poetry-codeartifact") == theirs

    # Back in, then theirs goes: ours still lists, and publishes to a region.
    pip(venv, "install", "--no-deps", "--no-compile", str(project_wheel))
    pip(venv, "uninstall", "-y", "poetry-codeartifact")
    left = venv.glob("lib/python3*/site-packages/poetry_codeartifact/*.py")
    assert sorted(p.name for p in left) == ["multiregion_command.py", "multiregion_plugin.py"]
    listed = commands(bindir, tmp_path)
    assert "publish-multiregion" in listed and "codeartifact" not in listed
    root = regions.write_pyproject(tmp_path / "proj", ["eu-west-1"]).parent
    make_wheel(root / "dist", "hello-internal", "1.0.0")
    make_sdist(root / "dist", "hello-internal", "1.0.0")
    published = run_checked(
        [bindir / "poetry", "--no-interaction", "publish-multiregion"],
        regions,
        cwd=root,
        env=poetry_env(tmp_path),
    )
    assert published.code == 0, published.err
    assert regions.regions["eu-west-1"].files() == sha256s(root / "dist")
