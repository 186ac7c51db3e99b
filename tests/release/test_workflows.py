"""The GitHub workflows are valid, and they do what the release process promises.

Schema validation is check-jsonschema's bundled copy of GitHub's workflow schema (offline).
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from codeartifact_multiregion import __version__
from tests.release.builds import ROOT

pytestmark = pytest.mark.release

WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    if True in data:  # YAML 1.1 reads the key `on` as a boolean
        data["on"] = data.pop(True)
    return data


def check_schema(*files: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema"]
    return subprocess.run([*command, "vendor.github-workflows", *map(str, files)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def steps(job: dict[str, Any]) -> str:
    """Every `run` and `uses` of a job, one per line."""
    return "\n".join(str(s.get("run", s.get("uses", ""))) for s in job["steps"])


def nox_pythons() -> list[str]:
    """PYTHONS from noxfile.py, read without importing nox."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PYTHONS":
            return list(ast.literal_eval(node.value))
    raise AssertionError("noxfile.py has no PYTHONS")


def test_every_workflow_is_valid_against_githubs_schema() -> None:
    files = sorted(WORKFLOWS.glob("*.y*ml"))
    assert {f.name for f in files} >= {"ci.yml", "release.yml"}
    result = check_schema(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "release.yml"
    text = (WORKFLOWS / "release.yml").read_text()
    broken.write_text(text.replace("id-token: write", "id-token: writ", 1))
    result = check_schema(broken)
    assert result.returncode == 1 and "writ" in result.stdout + result.stderr


def test_release_runs_on_version_tags_and_publishes_without_a_stored_token() -> None:
    wf = load("release.yml")
    assert wf["on"] == {"push": {"tags": ["v*"]}}
    assert wf["permissions"] == {}
    jobs = wf["jobs"]
    oidc = [name for name, job in jobs.items() if job["permissions"].get("id-token") == "write"]
    assert oidc == ["publish"], "only the publish job may mint an OIDC token"
    (publish,) = [s for s in jobs["publish"]["steps"] if "pypi-publish" in s.get("uses", "")]
    assert publish["uses"] == "pypa/gh-action-pypi-publish@release/v1"
    assert publish["with"].get("attestations") is True
    assert not {"password", "user"} & set(publish["with"]), "trusted publishing, no token"
    assert "secrets." not in (WORKFLOWS / "release.yml").read_text()
    assert set(jobs["publish"]["needs"]) == {"build", "test-wheel"}


def test_release_builds_once_checks_strictly_and_tests_the_built_wheel() -> None:
    jobs = load("release.yml")["jobs"]
    builders = [name for name, job in jobs.items() if "-m build" in steps(job)]
    assert builders == ["build"], "the files are built in one job and only downloaded elsewhere"
    build = steps(jobs["build"])
    assert 'SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)"' in build
    assert "twine check --strict dist/*" in build
    assert "sha256sum" in build
    wheel_tests = jobs["test-wheel"]
    assert wheel_tests["needs"] == "build"
    assert wheel_tests["strategy"]["matrix"]["python"] == nox_pythons()
    assert "MATRIX_WHEEL=" in steps(wheel_tests) and "nox -s" in steps(wheel_tests)
    assert "actions/download-artifact" in steps(wheel_tests)
    assert "release/dist/* release/SHA256SUMS" in steps(jobs["github-release"])
    assert jobs["github-release"]["permissions"] == {"contents": "write"}


def test_release_notes_step_finds_this_versions_changelog_section(tmp_path: Path) -> None:
    """The release job's own script, run on CHANGELOG.md for the current version."""
    (notes_step,) = [
        s for s in load("release.yml")["jobs"]["github-release"]["steps"]
        if s.get("name") == "Release notes from CHANGELOG.md"
    ]  # fmt: skip
    (tmp_path / "CHANGELOG.md").write_text((ROOT / "CHANGELOG.md").read_text())
    env = {**os.environ, "TAG": f"v{__version__}"}
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", notes_step["run"]], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    notes = (tmp_path / "notes.md").read_text()
    assert "### Added" in notes and "## [" not in notes

    env["TAG"] = "v99.0.0"
    missing = subprocess.run(["bash", "-euo", "pipefail", "-c", notes_step["run"]], cwd=tmp_path,
                             env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert missing.returncode == 1 and "no section for 99.0.0" in missing.stderr


def test_ci_runs_make_ci_on_pull_requests_with_every_declared_python() -> None:
    wf = load("ci.yml")
    assert "pull_request" in wf["on"]
    (job,) = wf["jobs"].values()
    assert "make ci" in steps(job).splitlines()
    (setup,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python")]
    assert sorted(setup["with"]["python-version"].split()) == sorted(nox_pythons())
    ci_run = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci_run[-1] == "make ci", ".ci/run runs the same command as CI"


def test_declared_pythons_are_the_tested_ones() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    floor = re.search(r'requires-python = ">=3\.(\d+)"', text)
    assert floor is not None
    declared = re.findall(r"Programming Language :: Python :: (3\.\d+)", text)
    assert nox_pythons() == declared
    assert nox_pythons()[0] == f"3.{floor.group(1)}"


def test_pre_commit_runs_what_make_lint_runs() -> None:
    config = ROOT / ".pre-commit-config.yaml"
    result = subprocess.run([sys.executable, "-m", "pre_commit", "validate-config", str(config)],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    hooks = {h["id"]: h for repo in yaml.safe_load(config.read_text())["repos"]
             for h in repo["hooks"]}  # fmt: skip
    makefile = (ROOT / "Makefile").read_text()
    assert "files" not in hooks["ruff-format"], "pre-commit formats the whole tree, as make lint"
    assert hooks["ruff-format"]["entry"].startswith(".venv/bin/ruff format --check")
    assert hooks["ruff"]["entry"].startswith(".venv/bin/ruff check")
    assert hooks["mypy"]["entry"] == ".venv/bin/mypy --strict src/"
    for line in ("ruff check .", "ruff format --check .", "mypy --strict src/"):
        assert f"$(BIN)/{line}" in makefile


def make_rule(target: str) -> tuple[list[str], list[str]]:
    """A Makefile rule's prerequisites and recipe lines."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    (at,) = [
        i for i, ln in enumerate(lines) if ln.startswith(f"{target}:") and ":=" not in ln
    ]  # not a target-specific variable
    prerequisites = lines[at].split(":", 1)[1].split()
    recipe = []
    for line in lines[at + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return prerequisites, recipe


def test_make_test_is_lint_docs_and_the_whole_suite_on_this_python_with_coverage() -> None:
    _, test = make_rule("test")
    assert [ln.split()[-1] for ln in test] == ["lint", "docs", "coverage"]
    _, coverage = make_rule("coverage")
    (pytest_run,) = [ln for ln in coverage if "-m pytest" in ln]
    assert "-n auto" in pytest_run and "--cov" in pytest_run
    assert "--ignore" not in pytest_run and "tests/" not in pytest_run, "the whole suite"
    assert any("coverage report --fail-under=" in ln for ln in coverage)
    assert not any("nox" in ln for ln in test + coverage), "make test needs one Python only"


def test_make_ci_is_make_test_then_every_nox_session() -> None:
    prerequisites, recipe = make_rule("ci")
    assert prerequisites == ["test"] and recipe == ["$(BIN)/nox"]
    listed = subprocess.run([sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "-l"],
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    default = re.findall(r"^\* (\S+)", listed.stdout, re.M)  # nox marks the default sessions
    assert default == [*(f"core-{v}" for v in nox_pythons()), "lowest"]


@pytest.mark.parametrize(("ci", "verdict"), [("", "skipped"), ("true", "failed")])
def test_a_missing_interpreter_fails_the_matrix_only_under_ci(
    tmp_path: Path, ci: str, verdict: str
) -> None:
    """On a contributor's machine with one Python, a session for another is skipped; on CI
    (CI=true), where every declared Python must be tested, it fails the run."""
    empty = tmp_path / "bin"
    empty.mkdir()
    # No interpreter on PATH and no pyenv under HOME: every declared Python is missing.
    env = {"PATH": str(empty), "HOME": str(tmp_path), "CI": ci}
    version = nox_pythons()[-1]
    run = subprocess.run([sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"),
                          "-s", f"core-{version}"], capture_output=True, text=True, timeout=120,
                         env=env, cwd=tmp_path)  # fmt: skip
    expected = f"Session core-{version} {verdict}: Python interpreter {version} not found"
    assert expected in run.stderr, run.stderr
    assert run.returncode == (1 if ci else 0)
