"""Deployment choices read from CDK context, validated before any construct is created.

Everything about *where packages go* comes from ``[tool.codeartifact]`` (so the infrastructure
and the publisher cannot disagree); context only carries what the pyproject cannot know: how the
pipeline gets the source and which build tool runs the publish.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codeartifact_multiregion.config import Config, ConfigError, load_config

from .naming import UPSTREAM_REPOSITORY, normalize, stack_token

PUBLISHERS = ("cli", "poetry", "hatch")
SOURCES = ("connection", "codecommit")
PROVIDERS = ("GitHub", "GitLab", "Bitbucket", "GitHubEnterpriseServer", "GitLabSelfManaged")
CONNECTION_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:connection/\S+$"
)
PLACEHOLDER_REPO = "OWNER/REPOSITORY"

# The pyproject of the package being published, when infra_cdk/ sits in that package's repo.
DEFAULT_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


class SettingsError(ConfigError):
    """A bad ``-c key=value``: reported like a config error (exit 2, no traceback)."""


@dataclass(frozen=True)
class InfraSettings:
    """The validated inputs of one synthesis."""

    config: Config
    project_name: str
    publisher: str = "cli"
    source: str = "connection"
    connection_arn: str | None = None
    connection_provider: str = "GitHub"
    repo: str = PLACEHOLDER_REPO
    branch: str = "main"
    project_dir: str = "."
    plugin_spec: str = "codeartifact-multiregion"
    python_version: str = "3.12"
    domain_kms: bool = False
    pypi_upstream: bool = True
    stack_prefix: str = "project"
    nag: bool = True

    @property
    def repo_is_placeholder(self) -> bool:
        return self.repo == PLACEHOLDER_REPO

    @classmethod
    def from_context(cls, get: Callable[[str], Any], cwd: Path | None = None) -> InfraSettings:
        """``get`` is ``app.node.try_get_context``; values from ``-c`` arrive as strings."""
        raw_path = get("pyproject")
        if raw_path:
            path = Path(str(raw_path))
            if not path.is_absolute():
                path = (cwd or Path.cwd()) / path
        else:
            path = DEFAULT_PYPROJECT
        config = load_config(path)
        if not config.project_name:
            raise SettingsError(
                f"{config.path}: no [project] name (or [tool.poetry] name). The pipeline's IAM "
                "policy and the package group are scoped to that name: add it."
            )
        for target in config.targets:
            if target.repository == UPSTREAM_REPOSITORY:
                raise SettingsError(
                    f"{config.path}: repository '{UPSTREAM_REPOSITORY}' in {target.region} is the "
                    "name this app gives the public PyPI upstream. Choose another repository name."
                )

        publisher = _choice(get, "publisher", PUBLISHERS, "cli")
        source = _choice(get, "source", SOURCES, "connection")
        connection_arn = _text(get, "connection-arn")
        if connection_arn and not CONNECTION_ARN_RE.match(connection_arn):
            raise SettingsError(
                f"-c connection-arn={connection_arn}: not a CodeConnections/CodeStar connection "
                "ARN (arn:aws:codeconnections:REGION:ACCOUNT:connection/ID)."
            )
        repo = _text(get, "repo") or PLACEHOLDER_REPO
        if source == "connection" and repo != PLACEHOLDER_REPO and repo.count("/") != 1:
            raise SettingsError(f"-c repo={repo}: use OWNER/NAME for a connection source.")
        if source == "codecommit" and repo == PLACEHOLDER_REPO:
            raise SettingsError("-c source=codecommit needs -c repo=NAME (the CodeCommit name).")
        project_dir = (_text(get, "project-dir") or ".").strip("/") or "."
        if project_dir.startswith("..") or " " in project_dir:
            raise SettingsError(
                f"-c project-dir={project_dir}: give the package's folder relative to the "
                "source repository root, without spaces or '..'."
            )
        return cls(
            config=config,
            project_name=config.project_name,
            publisher=publisher,
            source=source,
            connection_arn=connection_arn,
            connection_provider=_choice(get, "connection-provider", PROVIDERS, "GitHub"),
            repo=repo,
            branch=_text(get, "branch") or "main",
            project_dir=project_dir,
            plugin_spec=_text(get, "plugin-spec") or "codeartifact-multiregion",
            python_version=_text(get, "python") or "3.12",
            domain_kms=_flag(get, "domain-kms", False),
            pypi_upstream=_flag(get, "pypi-upstream", True),
            stack_prefix=stack_token(_text(get, "stack-prefix") or normalize(config.project_name)),
            nag=_flag(get, "nag", True),
        )


def _text(get: Callable[[str], Any], key: str) -> str | None:
    value = get(key)
    return str(value).strip() if value not in (None, "") else None


def _choice(get: Callable[[str], Any], key: str, allowed: tuple[str, ...], default: str) -> str:
    value = _text(get, key) or default
    for option in allowed:
        if value.lower() == option.lower():
            return option
    raise SettingsError(f"-c {key}={value}: choose one of {', '.join(allowed)}.")


def _flag(get: Callable[[str], Any], key: str, default: bool) -> bool:
    value = get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise SettingsError(f"-c {key}={value}: use true or false.")
