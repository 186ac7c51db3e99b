"""The layers contract holds, and it would catch an upward import.

The contract is import-linter's (``[tool.importlinter]`` in pyproject.toml, run by
``make imports``); this test runs it on a copy of ``src/`` as it is and with one planted
upward import, so a contract that checks nothing (a typo in a layer's name) fails here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# lint-imports on the copy alone: the checkout's own src/ (on sys.path through the editable
# install) would otherwise lend the namespace packages its modules instead of the copy's.
# An installed wheel would lend them its portion the same way: each plugin package is pinned to
# the copy's folder before the linter looks for it.
_RUN = """
import importlib, sys
sys.path = [p for p in sys.path if p.rstrip("/") != sys.argv[1]]
for name in ("poetry_codeartifact", "hatch_codeartifact"):
    module = importlib.import_module(name)
    module.__path__ = [sys.argv[2] + "/" + name]
    module.__spec__.submodule_search_locations = module.__path__
sys.argv = ["lint-imports", "--no-cache"]
from importlinter.cli import lint_imports_command
lint_imports_command()
"""


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [sys.executable, "-c", _RUN, str(ROOT / "src"), str(tree / "src")],
        cwd=tree, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_layers_are_kept(tmp_path: Path) -> None:
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    text = tree / "src" / "codeartifact_multiregion" / "base" / "text.py"
    text.write_text(text.read_text() + "\nfrom codeartifact_multiregion.network import index\n")
    result = _lint(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "codeartifact_multiregion.base.text -> codeartifact_multiregion.network.index" in (
        result.stdout.replace("\n", " ").replace("  ", " ")
    )


def test_a_plugin_reaching_past_the_kit_breaks_the_contract(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    plugin = tree / "src" / "poetry_codeartifact" / "multiregion_command.py"
    plugin.write_text(plugin.read_text() + "\nimport codeartifact_multiregion.operations.sync\n")
    result = _lint(tree)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "poetry_codeartifact is not allowed to import" in result.stdout.replace("\n", " ")
