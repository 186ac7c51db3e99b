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


def test_ci_runs_make_test_on_pull_requests_with_every_declared_python() -> None:
    wf = load("ci.yml")
    assert "pull_request" in wf["on"]
    (job,) = wf["jobs"].values()
    assert "make test" in steps(job).splitlines()
    (setup,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python")]
    assert sorted(setup["with"]["python-version"].split()) == sorted(nox_pythons())
    ci_run = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci_run[-1] == "make test", ".ci/run runs the README's test command"


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
    fmt_paths = re.search(r"^FMT_PATHS \?= (.+)$", makefile, re.M)
    assert fmt_paths is not None
    formatted = re.compile(hooks["ruff-format"]["files"])
    samples = [p if p.endswith(".py") else f"{p}/x.py" for p in fmt_paths.group(1).split()]
    assert all(formatted.match(p) for p in samples), "pre-commit formats what make lint checks"
    assert hooks["ruff"]["entry"].startswith(".venv/bin/ruff check")
    assert hooks["mypy"]["entry"] == ".venv/bin/mypy --strict src/"
    assert "$(BIN)/mypy --strict src/" in makefile and "$(BIN)/ruff check ." in makefile


def test_make_test_runs_every_test_once_between_its_first_run_and_the_matrix() -> None:
    """What the Makefile leaves out of its first pytest run is exactly the matrix's core suite."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    (core,) = [ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
               and getattr(n.targets[0], "id", "") == "CORE_TESTS"]  # fmt: skip
    ignore = re.search(r"^CORE_IGNORE := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert ignore is not None
    left_out = [a.split("=", 1)[1].strip("'") for a in ignore.group(1).split()]
    assert left_out == core


def test_make_matrix_runs_every_nox_session_exactly_once() -> None:
    """The two streams `make matrix` runs at once are, together, the noxfile's session list."""
    makefile = (ROOT / "Makefile").read_text()
    streams = [re.search(rf"^MATRIX_{s} \?= (.+)$", makefile, re.M) for s in "AB"]
    assert all(streams)
    run = [name for found in streams if found for name in found.group(1).split()]
    expected = [*(f"core-{v}" for v in nox_pythons()), "lowest"]
    assert sorted(run) == sorted(expected) and len(run) == len(set(run))
