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


def write_pyproject(
    path: Path, regions: list[str], extra: str = "", owner: bool = True, name: str = PROJECT
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    region_list = ", ".join(f'"{r}"' for r in regions)
    project = f'[project]\nname = "{name}"\nversion = "1.0.0"\n\n' if name else ""
    path.write_text(
        project + f'[tool.codeartifact]\ndomain = "acme"\nrepository = "python"\n'
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
    project: str = PROJECT,
) -> Assembly:
    filename = "pyproject.toml" if project else "codeartifact.toml"
    key = "pyproject" if project else "config"
    pyproject = write_pyproject(shared / name / filename, regions, extra, owner, project)
    return synthesize(shared / name / "out", {key: str(pyproject), **context})


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


# The organisation: readers and publishers from two accounts besides the platform's own.
READER_ROLE = "arn:aws:iam::444455556666:role/builds"
READER_ACCOUNT = "555566667777"
PUBLISHER_ROLE = "arn:aws:iam::444455556666:role/release"
PUBLISHER_ROLE_2 = "arn:aws:iam::555566667777:role/ci-publish"
ORG_ID = "o-a1b2c3d4e5"
ACCESS = (
    "\n[tool.codeartifact.access]\n"
    f'readers = ["{READER_ROLE}", "{READER_ACCOUNT}"]\n'
    f'publishers = ["{PUBLISHER_ROLE}", "{PUBLISHER_ROLE_2}"]\n'
    f'organization-id = "{ORG_ID}"\n'
)
BETA_HOST = "arn:aws:codeconnections:us-east-1:111122223333:host/ghes-1a2b3c4d"
PACKAGES = {"alpha": "alpha-lib", "beta": "Beta_Tool", "gamma": "gamma.cli"}


@pytest.fixture(scope="session")
def platform(shared_dir: Path) -> Assembly:
    """part=platform for three regions, standalone codeartifact.toml (no [project])."""
    return _variant(
        shared_dir,
        "platform",
        THREE_REGIONS,
        {"part": "platform", "alarm-email": "ops@example.com"},
        ACCESS,
        project="",
    )


def _package(shared: Path, key: str, context: dict[str, Any]) -> Assembly:
    return _variant(
        shared, key, THREE_REGIONS, {"part": "package", **context}, project=PACKAGES[key]
    )


@pytest.fixture(scope="session")
def alpha(shared_dir: Path) -> Assembly:
    return _package(shared_dir, "alpha", {"repo": "acme/alpha-lib"})


@pytest.fixture(scope="session")
def beta(shared_dir: Path) -> Assembly:
    """Poetry, from a self-managed GitHub Enterprise Server (its connection needs the host)."""
    return _package(
        shared_dir,
        "beta",
        {
            "repo": "acme/beta-tool",
            "publisher": "poetry",
            "connection-provider": "GitHubEnterpriseServer",
            "connection-host-arn": BETA_HOST,
        },
    )


@pytest.fixture(scope="session")
def gamma(shared_dir: Path) -> Assembly:
    """ci=github: an OIDC role instead of a pipeline; releases are tags v*."""
    return _package(
        shared_dir,
        "gamma",
        {"ci": "github", "github-repo": "acme/gamma-cli", "github-ref": "refs/tags/v*"},
    )


@pytest.fixture(scope="session")
def adopted(shared_dir: Path) -> Assembly:
    """part=all for an existing domain and repository (a redeploy after cdk destroy)."""
    return _variant(shared_dir, "adopted", ["us-east-1"], {"adopt": "true", "repo": "acme/x"})


@pytest.fixture(scope="session")
def platform_adopted(shared_dir: Path) -> Assembly:
    return _variant(
        shared_dir,
        "platform-adopted",
        ["eu-west-1"],
        {"part": "platform", "adopt": "true"},
        project="",
    )


VARIANTS = [
    "three",
    "four",
    "options",
    "platform",
    "alpha",
    "beta",
    "gamma",
    "adopted",
    "platform_adopted",
]


@pytest.fixture
def assemblies(request: pytest.FixtureRequest) -> dict[str, Assembly]:
    """Every variant, synthesized on first use (each test asks only for what it reads).

    Function-scoped on purpose: it resolves the session fixtures through the test's own
    request, which is live for the whole test.
    """
    return _Lazy(request)


class _Lazy(dict):  # type: ignore[type-arg]
    def __init__(self, request: pytest.FixtureRequest) -> None:
        super().__init__()
        self.request = request

    def __missing__(self, key: str) -> Assembly:
        value: Assembly = self.request.getfixturevalue(key)
        self[key] = value
        return value
