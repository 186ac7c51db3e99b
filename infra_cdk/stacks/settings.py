"""Deployment choices read from CDK context, validated before any construct is created.

Everything about *where packages go* comes from ``[tool.codeartifact]`` (so the infrastructure
and the publisher cannot disagree); context only carries what the config cannot know: which part
of the organisation layout to build, how the pipeline gets the source, which CI runs the publish.
Every value is checked here, so a bad ``-c`` is exit 2 with the key named, never a jsii trace.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codeartifact_multiregion.config import Config, ConfigError, load_config

from .naming import UPSTREAM_REPOSITORY, normalize, stack_token
from .regions import codeartifact_regions

PARTS = ("all", "platform", "package")
CI_KINDS = ("codepipeline", "github")
PUBLISHERS = ("cli", "poetry", "hatch")
SOURCES = ("connection", "codecommit")
PROVIDERS = ("GitHub", "GitLab", "Bitbucket", "GitHubEnterpriseServer", "GitLabSelfManaged")
SELF_MANAGED = ("GitHubEnterpriseServer", "GitLabSelfManaged")
# Connections and hosts, under either service prefix (AWS renamed codestar-connections).
_CONNECTIONS_ARN = r"arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:"
CONNECTION_ARN_RE = re.compile(_CONNECTIONS_ARN + r"connection/[\w-]+")
HOST_ARN_RE = re.compile(_CONNECTIONS_ARN + r"host/[\w-]+")
GITHUB_REPO_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
# A branch or tag ref, optionally with GitHub OIDC's sub wildcards (* and ?) for tag patterns.
GITHUB_REF_RE = re.compile(r"refs/(heads|tags)/[A-Za-z0-9._/*?+-]{1,200}")
OIDC_PROVIDER_RE = re.compile(
    r"arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\.actions\.githubusercontent\.com"
)
SCHEDULE_RE = re.compile(
    r"(cron\([0-9*?/,LW#A-Z -]+\)|rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\))"
)
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# CloudFormation: a stack name starts with a letter; ours add at most ~25 characters.
STACK_PREFIX_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,79}")
VERSION_RE = re.compile(r"3\.[0-9]{1,2}")
PLACEHOLDER_REPO = "OWNER/REPOSITORY"
PUBLISHER_DISTRIBUTION = "codeartifact-multiregion"
DEFAULT_REPAIR_SCHEDULE = "cron(0 3 * * ? *)"

# Keys this app reads; anything else given with -c is a typo (CDK's own keys carry ':' or '@').
KNOWN_KEYS = (
    "part",
    "config",
    "pyproject",
    "ci",
    "repo",
    "branch",
    "source",
    "connection-arn",
    "connection-provider",
    "connection-host-arn",
    "publisher",
    "project-dir",
    "publisher-wheel",
    "python",
    "domain-kms",
    "pypi-upstream",
    "stack-prefix",
    "nag",
    "adopt",
    "github-repo",
    "github-ref",
    "github-oidc-provider",
    "repair-schedule",
    "alarm-email",
)

# The pyproject of the package being published, when infra_cdk/ sits in that package's repo.
CHECKOUT = Path(__file__).resolve().parents[2]
DEFAULT_PYPROJECT = CHECKOUT / "pyproject.toml"

Getter = Callable[[str], Any]


class SettingsError(ConfigError):
    """A bad ``-c key=value``: reported like a config error (exit 2, no traceback)."""


def check_context_keys(keys: Iterable[str]) -> None:
    """Refuse a ``-c`` key this app does not read, suggesting the nearest one it does."""
    for key in keys:
        if key in KNOWN_KEYS or ":" in key or key.startswith("@") or key == "cli-telemetry":
            continue
        near = difflib.get_close_matches(key, KNOWN_KEYS, n=1)
        hint = f" Did you mean -c {near[0]}=...?" if near else ""
        raise SettingsError(f"-c {key}: not a setting of this app.{hint} See infra_cdk/README.md.")


@dataclass(frozen=True)
class InfraSettings:
    """The validated inputs of one synthesis."""

    config: Config
    project_name: str
    part: str = "all"
    ci: str = "codepipeline"
    publisher: str = "cli"
    source: str = "connection"
    connection_arn: str | None = None
    connection_provider: str = "GitHub"
    connection_host_arn: str | None = None
    repo: str = PLACEHOLDER_REPO
    branch: str = "main"
    project_dir: str = "."
    publisher_wheel: Path | None = None
    python_version: str = "3.12"
    domain_kms: bool = False
    pypi_upstream: bool = True
    stack_prefix: str = "project"
    nag: bool = True
    adopt: bool = False
    github_repo: str | None = None
    github_ref: str = "refs/heads/main"
    github_oidc_provider: str | None = None
    repair_schedule: str = DEFAULT_REPAIR_SCHEDULE
    alarm_email: str | None = None

    @property
    def repo_is_placeholder(self) -> bool:
        return self.repo == PLACEHOLDER_REPO

    @classmethod
    def from_context(cls, get: Getter, cwd: Path | None = None) -> InfraSettings:
        """``get`` is ``app.node.try_get_context``; values from ``-c`` arrive as strings."""
        part = _choice(get, "part", PARTS, "all")
        config = _load(get, part, cwd)
        _check_regions(config)
        if part == "platform":
            return _platform(get, config)
        return _package(get, config, part, cwd)


def _load(get: Getter, part: str, cwd: Path | None) -> Config:
    key = "config" if part == "platform" else "pyproject"
    other = "pyproject" if part == "platform" else "config"
    if _text(get, other):
        what = "the organisation's codeartifact.toml" if key == "config" else "the pyproject"
        raise SettingsError(f"-c {other}=...: part={part} reads -c {key}=PATH ({what}).")
    raw_path = _text(get, key)
    if raw_path is None:
        if part == "platform":
            raise SettingsError(
                "-c part=platform needs -c config=PATH: a codeartifact.toml (or pyproject.toml) "
                "with the organisation's [tool.codeartifact] table."
            )
        return load_config(DEFAULT_PYPROJECT)
    path = Path(raw_path)
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    if not path.exists():
        raise SettingsError(f"-c {key}={raw_path}: no such file. Give the path of the TOML file.")
    return load_config(path)


def _check_regions(config: Config) -> None:
    offered = codeartifact_regions()
    for target in config.targets:
        if target.region not in offered:
            raise SettingsError(
                f"{config.path}: [tool.codeartifact] regions: CodeArtifact is not offered in "
                f"{target.region} (offered: {', '.join(sorted(offered))}). Remove the region."
            )
        if target.repository == UPSTREAM_REPOSITORY:
            raise SettingsError(
                f"{config.path}: repository '{UPSTREAM_REPOSITORY}' in {target.region} is the "
                "name this app gives the public PyPI upstream. Choose another repository name."
            )
        if target.role_arn:
            # The build (or GitHub) role publishes with its own rights. Assuming role-arn would
            # need a trust policy and CodeArtifact rights in the role's account that this app
            # cannot create, and the publisher would look the domain owner up in that account.
            raise SettingsError(
                f"{config.path}: role-arn in {target.region}: the pipeline publishes as its own "
                "role, which this app grants exactly what the publisher needs; it cannot create "
                "the trust and rights a role in another account would need. Remove role-arn (use "
                "domain-owner, and list the publishing role in the platform's "
                "[tool.codeartifact.access] publishers)."
            )


def _platform(get: Getter, config: Config) -> InfraSettings:
    _refuse(
        get,
        "part=platform",
        ("ci", "repo", "source", "publisher", "github-repo", "connection-arn", "project-dir"),
    )
    primary = config.targets[0]
    default_prefix = f"{primary.domain}-{primary.repository}"
    schedule = _text(get, "repair-schedule") or DEFAULT_REPAIR_SCHEDULE
    if not SCHEDULE_RE.fullmatch(schedule):
        raise SettingsError(
            f"-c repair-schedule={schedule}: use an EventBridge schedule expression, "
            "cron(0 3 * * ? *) or rate(12 hours)."
        )
    email = _text(get, "alarm-email")
    if email is not None and not EMAIL_RE.fullmatch(email):
        raise SettingsError(f"-c alarm-email={email}: not an e-mail address.")
    adopt = _flag(get, "adopt", False)
    domain_kms = _flag(get, "domain-kms", False)
    _check_adopt_kms(adopt, domain_kms)
    if adopt and any(t.domain_owner is None for t in config.targets):
        raise SettingsError(
            f"{config.path}: -c adopt=true needs domain-owner in [tool.codeartifact]: the "
            "import mapping names the existing domain and repository by ARN."
        )
    return InfraSettings(
        config=config,
        project_name=PUBLISHER_DISTRIBUTION,
        part="platform",
        publisher_wheel=_wheel(get),
        python_version=_python(get),
        domain_kms=domain_kms,
        pypi_upstream=_flag(get, "pypi-upstream", True),
        stack_prefix=_prefix(get, default_prefix, "the domain and repository"),
        nag=_flag(get, "nag", True),
        adopt=adopt,
        repair_schedule=schedule,
        alarm_email=email,
    )


def _package(get: Getter, config: Config, part: str, cwd: Path | None) -> InfraSettings:
    if not config.project_name:
        raise SettingsError(
            f"{config.path}: no [project] name (or [tool.poetry] name). The pipeline's IAM "
            "policy and the package group are scoped to that name: add it."
        )
    _refuse(get, f"part={part}", ("repair-schedule", "alarm-email", "config"))
    ci = _choice(get, "ci", CI_KINDS, "codepipeline")
    publisher = _choice(get, "publisher", PUBLISHERS, "cli")
    project_dir = (_text(get, "project-dir") or ".").strip("/") or "."
    if ".." in project_dir.split("/") or " " in project_dir:
        raise SettingsError(
            f"-c project-dir={project_dir}: give the package's folder relative to the "
            "source repository root, without spaces or '..'."
        )
    adopt = _flag(get, "adopt", False)
    domain_kms = _flag(get, "domain-kms", False)
    if part == "package":
        _refuse(
            get,
            "part=package (the platform owns the domain)",
            ("domain-kms", "adopt", "pypi-upstream"),
        )
    _check_adopt_kms(adopt, domain_kms)
    common: dict[str, Any] = {
        "config": config,
        "project_name": config.project_name,
        "part": part,
        "ci": ci,
        "publisher": publisher,
        "project_dir": project_dir,
        "publisher_wheel": _wheel(get, cwd),
        "python_version": _python(get),
        "domain_kms": domain_kms,
        "pypi_upstream": _flag(get, "pypi-upstream", True),
        "stack_prefix": _prefix(get, normalize(config.project_name), "the project name"),
        "nag": _flag(get, "nag", True),
        "adopt": adopt,
    }
    if ci == "github":
        _refuse(
            get,
            "ci=github",
            (
                "source",
                "repo",
                "branch",
                "connection-arn",
                "connection-provider",
                "connection-host-arn",
            ),
        )
        return InfraSettings(**common, **_github(get))
    _refuse(get, "ci=codepipeline", ("github-repo", "github-ref", "github-oidc-provider"))
    return InfraSettings(**common, **_pipeline_source(get))


def _pipeline_source(get: Getter) -> dict[str, Any]:
    source = _choice(get, "source", SOURCES, "connection")
    connection_arn = _text(get, "connection-arn")
    if connection_arn and not CONNECTION_ARN_RE.fullmatch(connection_arn):
        raise SettingsError(
            f"-c connection-arn={connection_arn}: not a CodeConnections/CodeStar connection "
            "ARN (arn:aws:codeconnections:REGION:ACCOUNT:connection/ID)."
        )
    provider = _choice(get, "connection-provider", PROVIDERS, "GitHub")
    host_arn = _text(get, "connection-host-arn")
    if host_arn and not HOST_ARN_RE.fullmatch(host_arn):
        raise SettingsError(
            f"-c connection-host-arn={host_arn}: not a CodeConnections host ARN "
            "(arn:aws:codeconnections:REGION:ACCOUNT:host/NAME-ID)."
        )
    if source == "connection" and not connection_arn and provider in SELF_MANAGED and not host_arn:
        raise SettingsError(
            f"-c connection-provider={provider}: a self-managed provider's connection needs "
            "its host: create the host (console or `aws codeconnections create-host`) and pass "
            "-c connection-host-arn=arn:aws:codeconnections:REGION:ACCOUNT:host/NAME-ID."
        )
    if host_arn and provider not in SELF_MANAGED:
        raise SettingsError(
            f"-c connection-host-arn: only for {' or '.join(SELF_MANAGED)} "
            f"(-c connection-provider={provider})."
        )
    repo = _text(get, "repo") or PLACEHOLDER_REPO
    if source == "connection" and repo != PLACEHOLDER_REPO and repo.count("/") != 1:
        raise SettingsError(f"-c repo={repo}: use OWNER/NAME for a connection source.")
    if source == "codecommit" and repo == PLACEHOLDER_REPO:
        raise SettingsError("-c source=codecommit needs -c repo=NAME (the CodeCommit name).")
    return {
        "source": source,
        "connection_arn": connection_arn,
        "connection_provider": provider,
        "connection_host_arn": host_arn,
        "repo": repo,
        "branch": _text(get, "branch") or "main",
    }


def _github(get: Getter) -> dict[str, Any]:
    repo = _text(get, "github-repo")
    if repo is None:
        raise SettingsError(
            "-c ci=github needs -c github-repo=OWNER/NAME (the repository "
            "whose workflow may assume the publishing role)."
        )
    if not GITHUB_REPO_RE.fullmatch(repo):
        raise SettingsError(f"-c github-repo={repo}: use OWNER/NAME of a GitHub repository.")
    ref = _text(get, "github-ref") or "refs/heads/main"
    if not GITHUB_REF_RE.fullmatch(ref):
        raise SettingsError(
            f"-c github-ref={ref}: use a branch or tag ref, refs/heads/main or refs/tags/v*."
        )
    if ref.startswith("refs/heads/") and any(c in ref for c in "*?"):
        raise SettingsError(
            f"-c github-ref={ref}: a wildcard may match tags only (refs/tags/v*); a branch "
            "pattern would let any matching branch publish."
        )
    provider = _text(get, "github-oidc-provider")
    if provider and not OIDC_PROVIDER_RE.fullmatch(provider):
        raise SettingsError(
            f"-c github-oidc-provider={provider}: use the ARN of the account's GitHub OIDC "
            "provider, arn:aws:iam::ACCOUNT:oidc-provider/token.actions.githubusercontent.com."
        )
    return {"github_repo": repo, "github_ref": ref, "github_oidc_provider": provider}


def _check_adopt_kms(adopt: bool, domain_kms: bool) -> None:
    if adopt and domain_kms:
        raise SettingsError(
            "-c domain-kms=true with -c adopt=true: an adopted domain keeps the key it was "
            "created with (EncryptionKey cannot change after creation). Drop domain-kms."
        )


def _wheel(get: Getter, cwd: Path | None = None) -> Path | None:
    """An organisation-built publisher wheel; without one the app builds the checkout's."""
    raw = _text(get, "publisher-wheel")
    if raw is None:
        return None
    path = Path(raw)
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    name = path.name.replace("-", "_")
    if not (
        path.is_file() and name.startswith("codeartifact_multiregion") and path.suffix == ".whl"
    ):
        raise SettingsError(
            f"-c publisher-wheel={raw}: not a codeartifact_multiregion-*.whl file. Build it "
            "with `python -m build --wheel` in the publisher's checkout."
        )
    return path


def _python(get: Getter) -> str:
    value = _text(get, "python") or "3.12"
    if not VERSION_RE.fullmatch(value):
        raise SettingsError(f"-c python={value}: use a CodeBuild Python runtime such as 3.12.")
    return value


def _prefix(get: Getter, default: str, source: str) -> str:
    given = _text(get, "stack-prefix")
    prefix = stack_token(given) if given else stack_token(default)
    if not STACK_PREFIX_RE.fullmatch(prefix):
        where = (
            f"-c stack-prefix={given}" if given else f"the stack prefix '{prefix}' (from {source})"
        )
        raise SettingsError(
            f"{where}: CloudFormation stack names start with a letter and have at most 128 "
            "characters. Pass -c stack-prefix=NAME (a letter, then letters, digits, '-')."
        )
    return prefix


def _refuse(get: Getter, where: str, keys: tuple[str, ...]) -> None:
    for key in keys:
        if _text(get, key) is not None:
            raise SettingsError(f"-c {key}: not used by {where}. Drop it.")


def _text(get: Getter, key: str) -> str | None:
    value = get(key)
    return str(value).strip() if value not in (None, "") else None


def _choice(get: Getter, key: str, allowed: tuple[str, ...], default: str) -> str:
    value = _text(get, key) or default
    for option in allowed:
        if value.lower() == option.lower():
            return option
    raise SettingsError(f"-c {key}={value}: choose one of {', '.join(allowed)}.")


def _flag(get: Getter, key: str, default: bool) -> bool:
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
