"""Session-wide synthesized variants of the CDK app (see assembly.py for the sharing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.infra.assembly import Assembly, synthesize

PROJECT = "Hello_Internal"  # not normalized on purpose: ARNs and patterns must normalize it
NORMALIZED = "hello-internal"
OWNER = "111122223333"
THREE_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"]


def write_pyproject(path: Path, regions: list[str], extra: str = "", owner: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    region_list = ", ".join(f'"{r}"' for r in regions)
    path.write_text(
        f'[project]\nname = "{PROJECT}"\nversion = "1.0.0"\n\n'
        f'[tool.codeartifact]\ndomain = "acme"\nrepository = "python"\n'
        f"regions = [{region_list}]\n" + (f'domain-owner = "{OWNER}"\n' if owner else "") + extra
    )
    return path


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    base = tmp_path_factory.getbasetemp()
    return (base.parent if worker_id != "master" else base) / "infra-synth"


def _variant(
    shared: Path,
    name: str,
    regions: list[str],
    context: dict[str, Any],
    extra: str = "",
    owner: bool = True,
) -> Assembly:
    pyproject = write_pyproject(shared / name / "pyproject.toml", regions, extra, owner)
    return synthesize(shared / name / "out", {"pyproject": str(pyproject), **context})


@pytest.fixture(scope="session")
def three(shared_dir: Path) -> Assembly:
    """The sample config: three regions, GitHub connection created by the stack, CLI publisher."""
    return _variant(shared_dir, "three", THREE_REGIONS, {"repo": "acme/hello-internal"})


@pytest.fixture(scope="session")
def four(shared_dir: Path) -> Assembly:
    """The sample config with one more region appended."""
    return _variant(
        shared_dir, "four", [*THREE_REGIONS, "us-west-2"], {"repo": "acme/hello-internal"}
    )


@pytest.fixture(scope="session")
def options(shared_dir: Path) -> Assembly:
    """Every non-default option at once, and no domain-owner (the deploying account)."""
    extra = (
        'block-upstream = true\n[tool.codeartifact.targets.us-east-2]\nrepository = "python-east"\n'
    )
    context = {
        "publisher": "hatch",
        "source": "codecommit",
        "repo": "hello-internal",
        "branch": "release",
        "domain-kms": "true",
        "pypi-upstream": "false",
        "project-dir": "packages/hello",
    }
    return _variant(
        shared_dir, "options", ["eu-central-1", "us-east-2"], context, extra, owner=False
    )


@pytest.fixture(scope="session")
def assemblies(three: Assembly, four: Assembly, options: Assembly) -> dict[str, Assembly]:
    return {"three": three, "four": four, "options": options}
