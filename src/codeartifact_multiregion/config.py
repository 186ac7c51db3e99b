"""Read and validate ``[tool.codeartifact]`` from a ``pyproject.toml`` or a ``codeartifact.toml``.

A project keeps the table in its ``pyproject.toml``; the platform (which has no
``[project]``) may keep the same table in a standalone TOML file of any name.

Validation happens here, before any network call, so that a typo can never turn
into a half-finished publish: every error names the file, the key and the fix.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on old interpreters
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

from .errors import ConfigError

__all__ = ["Access", "Config", "ConfigError", "Target", "load_config", "parse_config"]

TABLE = "tool.codeartifact"

# CodeArtifact's own patterns and bounds, so a bad value fails here and not as an AWS 400.
# Matched with fullmatch: ``$`` would let a final newline through ("acme\n").
DOMAIN_RE = re.compile(r"[a-z][a-z0-9-]{0,48}[a-z0-9]")
OWNER_RE = re.compile(r"[0-9]{12}")
REPOSITORY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,99}")
REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
ROLE_ARN_RE = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}")
# An IAM principal for [tool.codeartifact.access]: a 12-digit account or a principal ARN.
PRINCIPAL_RE = re.compile(
    r"[0-9]{12}|arn:aws[a-z-]*:(iam::[0-9]{12}:(root|(role|user)/[\w+=,.@/-]{1,512})"
    r"|sts::[0-9]{12}:assumed-role/[\w+=,.@-]{1,64}/[\w+=,.@-]{2,64})"
)
ORGANIZATION_RE = re.compile(r"o-[a-z0-9]{10,32}")
TOKEN_DURATION_RANGE = (900, 43200)
CONCURRENCY_RANGE = (1, 64)
DEFAULT_TOKEN_DURATION = 900
DEFAULT_CONCURRENCY = 8

TARGET_KEYS = ("domain", "domain-owner", "repository", "profile", "role-arn")
TOP_KEYS = (
    "domain",
    "repository",
    "regions",
    "domain-owner",
    "profile",
    "role-arn",
    "token-duration",
    "concurrency",
    "dist-dir",
    "block-upstream",
    "targets",
    "access",
)
ACCESS_KEYS = ("readers", "publishers", "organization-id")


@dataclass(frozen=True)
class Target:
    """One regional CodeArtifact repository to publish to."""

    region: str
    domain: str
    repository: str
    domain_owner: str | None = None
    profile: str | None = None
    role_arn: str | None = None


@dataclass(frozen=True)
class Access:
    """Who may use the repositories (``[tool.codeartifact.access]``); read by infra_cdk.

    The publisher ignores it; the platform turns it into domain and repository policies.
    """

    readers: tuple[str, ...] = ()
    publishers: tuple[str, ...] = ()
    organization_id: str | None = None


@dataclass(frozen=True)
class Config:
    """The validated table; ``targets[0]`` is the primary region."""

    path: Path
    targets: tuple[Target, ...]
    project_name: str | None = None
    token_duration: int = DEFAULT_TOKEN_DURATION
    concurrency: int = DEFAULT_CONCURRENCY
    dist_dir: Path = field(default_factory=lambda: Path("dist"))
    block_upstream: bool = False
    access: Access = field(default_factory=Access)

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def regions(self) -> list[str]:
        return [t.region for t in self.targets]

    def narrowed(self, regions: Iterable[str] | None) -> Config:
        """Keep only ``regions`` (``--region``), in the configured order."""
        wanted = list(dict.fromkeys(regions or ()))
        if not wanted:
            return self
        configured = self.regions
        for region in wanted:
            if region not in configured:
                raise ConfigError(
                    f"--region {region}: not configured in {self.path} [{TABLE}] regions "
                    f"({', '.join(configured)}). Add it to regions or drop the flag."
                )
        return replace(self, targets=tuple(t for t in self.targets if t.region in wanted))

    def with_overrides(
        self, *, concurrency: int | None = None, dist_dir: str | Path | None = None
    ) -> Config:
        """Apply command-line overrides with the same bounds as the file."""
        updated = self
        if concurrency is not None:
            _check_int("--concurrency", concurrency, CONCURRENCY_RANGE, "the --concurrency flag")
            updated = replace(updated, concurrency=concurrency)
        if dist_dir is not None:
            updated = replace(updated, dist_dir=(self.root / Path(dist_dir)).resolve())
        return updated


def find_pyproject(project: str | Path | None = None) -> Path:
    """The config file of ``project``: a directory's ``pyproject.toml``, or a ``.toml`` file.

    A file may be named anything ending in ``.toml`` (``codeartifact.toml`` for the
    platform); a directory must hold a ``pyproject.toml``.
    """
    base = Path(project) if project is not None else Path.cwd()
    if base.is_dir() or base.suffix != ".toml":
        if base.exists() and not base.is_dir():
            raise ConfigError(
                f"{base}: not a directory or a .toml file. Pass the project "
                "directory (with --project DIR) or a TOML file with "
                f"[{TABLE}] (with --config FILE)."
            )
        path = base / "pyproject.toml"
    else:
        path = base
    if not path.is_file():
        raise ConfigError(
            f"{path}: not found. Run from the project directory or pass --project DIR."
        )
    return path


def read_pyproject(path: Path) -> dict[str, Any]:
    """Parse a TOML file; bad bytes, bad syntax or an unreadable file is a ``ConfigError``."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot be read ({exc.strerror}). Check the path and its permissions."
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start}: {raw[exc.start : exc.start + 1]!r}). "
            "TOML files must be UTF-8: save it as UTF-8 and run again."
        ) from None
    try:
        document: dict[str, Any] = tomllib.loads(text)
        return document
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid TOML ({exc}). Fix the syntax and run again."
        ) from None


def load_config(project: str | Path | None = None, regions: Iterable[str] | None = None) -> Config:
    """Load ``[tool.codeartifact]`` from ``project`` and narrow it to ``regions``."""
    path = find_pyproject(project).resolve()
    return parse_config(read_pyproject(path), path).narrowed(regions)


def parse_config(document: Mapping[str, Any], path: Path) -> Config:
    """Validate an already-parsed pyproject document."""
    check = _Checker(path)
    tool = document.get("tool", {})
    if not isinstance(tool, Mapping):
        raise ConfigError(
            f"{path}: [tool] must be a table, got {type(tool).__name__}. "
            f"Write [{TABLE}] as a table."
        )
    table = tool.get("codeartifact")
    if table is None:
        raise ConfigError(
            f"{path}: no [{TABLE}] table. Add one with domain, repository and regions "
            '(for example regions = ["us-east-1", "us-west-2"]).'
        )
    if not isinstance(table, Mapping):
        raise check.error("", "must be a table", f"Write it as a [{TABLE}] table.")
    check.unknown_keys(table, TOP_KEYS, TABLE)

    for key in ("domain", "repository", "regions"):
        if key not in table:
            raise check.error(key, "is required", f"Add {key} = ... to [{TABLE}].")
    defaults = check.target_fields(table, TABLE)
    regions = check.regions(table["regions"])
    overrides = check.overrides(table.get("targets", {}), regions)

    targets = tuple(
        Target(region=region, **{**defaults, **overrides.get(region, {})}) for region in regions
    )
    root = path.parent
    dist_dir = table.get("dist-dir", "dist")
    if not isinstance(dist_dir, str) or not dist_dir.strip():
        raise check.error(
            "dist-dir",
            f"must be a directory path, got {dist_dir!r}",
            'Write it as a string, for example dist-dir = "dist".',
        )
    block_upstream = table.get("block-upstream", False)
    if not isinstance(block_upstream, bool):
        raise check.error(
            "block-upstream",
            f"must be true or false, got {block_upstream!r}",
            "Write block-upstream = true or block-upstream = false.",
        )
    return Config(
        path=path,
        targets=targets,
        project_name=_project_name(document, path),
        token_duration=check.integer(
            "token-duration",
            table.get("token-duration", DEFAULT_TOKEN_DURATION),
            TOKEN_DURATION_RANGE,
        ),
        concurrency=check.integer(
            "concurrency", table.get("concurrency", DEFAULT_CONCURRENCY), CONCURRENCY_RANGE
        ),
        dist_dir=(root / dist_dir).resolve(),
        block_upstream=block_upstream,
        access=check.access(table.get("access", {})),
    )


def _project_name(document: Mapping[str, Any], path: Path) -> str | None:
    """``[project] name``, else ``[tool.poetry] name``.

    A ``project`` that is not a table, or a name that is not a string, is an error: the
    name decides which files in dist/ are published, so a guess is not good enough.
    """
    project = document.get("project")
    if project is not None and not isinstance(project, Mapping):
        raise ConfigError(
            f"{path}: [project] must be a table, got {type(project).__name__}. "
            'Write it as a [project] table with name = "..." and version.'
        )
    for where, table in (
        ("project", project),
        ("tool.poetry", _get(document.get("tool"), "poetry")),
    ):
        name = _get(table, "name")
        if name is None:
            continue
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(
                f"{path}: [{where}] name must be a non-empty string, got "
                f'{name!r}. Write name = "your-package".'
            )
        return name
    return None


def _get(table: Any, key: str) -> Any:
    return table.get(key) if isinstance(table, Mapping) else None


def _check_int(key: str, value: Any, bounds: tuple[int, int], where: str) -> int:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(
            f"{where}: {key} must be a whole number from {low} to {high}, got {value!r}. "
            f"Use a value in that range."
        )
    return value


class _Checker:
    """Builds errors that all carry the file and the dotted key."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, key: str, problem: str, fix: str) -> ConfigError:
        where = f"{TABLE}.{key}" if key else TABLE
        return ConfigError(f"{self.path}: [{where}] {problem}. {fix}")

    def unknown_keys(self, table: Mapping[str, Any], valid: tuple[str, ...], where: str) -> None:
        for key in table:
            if key in valid:
                continue
            import difflib  # only for a misspelt key

            guess = difflib.get_close_matches(key, valid, n=1, cutoff=0.6) or [
                v for v in valid if v.startswith(key) or key.startswith(v)
            ]
            hint = f"Did you mean '{guess[0]}'?" if guess else f"Valid keys: {', '.join(valid)}."
            raise ConfigError(f"{self.path}: [{where}] unknown key '{key}'. {hint}")

    def string(self, key: str, value: Any, pattern: re.Pattern[str], what: str) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise self.error(
                key, f"{value!r} is not a valid {what}", f"Use a value matching {pattern.pattern}."
            )
        return value

    def integer(self, key: str, value: Any, bounds: tuple[int, int]) -> int:
        try:
            return _check_int(key, value, bounds, f"{self.path}: [{TABLE}]")
        except ConfigError:
            low, high = bounds
            raise self.error(
                key,
                f"must be a whole number from {low} to {high}, got {value!r}",
                "Use a value in that range.",
            ) from None

    def target_fields(self, table: Mapping[str, Any], where: str) -> dict[str, Any]:
        prefix = where[len(TABLE) + 1 :] + "." if where != TABLE else ""
        out: dict[str, Any] = {}
        if "domain" in table:
            out["domain"] = self.string(
                prefix + "domain", table["domain"], DOMAIN_RE, "CodeArtifact domain name"
            )
        if "repository" in table:
            out["repository"] = self.string(
                prefix + "repository",
                table["repository"],
                REPOSITORY_RE,
                "CodeArtifact repository name",
            )
        if "domain-owner" in table:
            owner = table["domain-owner"]
            if isinstance(owner, int) and not isinstance(owner, bool):
                raise self.error(
                    prefix + "domain-owner",
                    "must be a quoted string",
                    f'Write it as domain-owner = "{owner:012d}".',
                )
            out["domain_owner"] = self.string(
                prefix + "domain-owner", owner, OWNER_RE, "12-digit AWS account ID"
            )
        if "profile" in table:
            profile = table["profile"]
            if not isinstance(profile, str) or not profile.strip():
                raise self.error(
                    prefix + "profile",
                    f"{profile!r} is not a profile name",
                    "Name a profile from your AWS config, or remove the key.",
                )
            out["profile"] = profile
        if "role-arn" in table:
            out["role_arn"] = self.string(
                prefix + "role-arn", table["role-arn"], ROLE_ARN_RE, "IAM role ARN"
            )
        return out

    def regions(self, value: Any) -> list[str]:
        if not isinstance(value, list) or not value:
            raise self.error(
                "regions",
                f"must be a non-empty list of regions, got {value!r}",
                'Write it as regions = ["us-east-1", "us-west-2"].',
            )
        seen: list[str] = []
        for region in value:
            self.string("regions", region, REGION_RE, "AWS region")
            if region in seen:
                raise self.error(
                    "regions",
                    f"lists {region!r} twice",
                    "List each region once; the first is the primary.",
                )
            seen.append(region)
        return seen

    def overrides(self, value: Any, regions: list[str]) -> dict[str, dict[str, Any]]:
        if not isinstance(value, Mapping):
            raise self.error(
                "targets",
                "must be a table of per-region tables",
                f"Write [{TABLE}.targets.<region>] tables.",
            )
        out: dict[str, dict[str, Any]] = {}
        for region, table in value.items():
            where = f"{TABLE}.targets.{region}"
            if region not in regions:
                raise ConfigError(
                    f"{self.path}: [{where}] is for region '{region}', which is not in regions "
                    f"({', '.join(regions)}). Add '{region}' to regions or remove the table."
                )
            if not isinstance(table, Mapping):
                raise ConfigError(
                    f"{self.path}: [{where}] must be a table. "
                    f"Write it as [{where}] with keys {', '.join(TARGET_KEYS)}."
                )
            self.unknown_keys(table, TARGET_KEYS, where)
            out[region] = self.target_fields(table, where)
        return out

    def access(self, value: Any) -> Access:
        where = f"{TABLE}.access"
        if not isinstance(value, Mapping):
            raise self.error(
                "access",
                "must be a table",
                f"Write it as [{where}] with readers, publishers, organization-id.",
            )
        self.unknown_keys(value, ACCESS_KEYS, where)
        lists = {
            key: self.principals(f"access.{key}", value.get(key, []))
            for key in ("readers", "publishers")
        }
        org = value.get("organization-id")
        if org is not None:
            org = self.string(
                "access.organization-id", org, ORGANIZATION_RE, "AWS Organizations ID (o-...)"
            )
        return Access(readers=lists["readers"], publishers=lists["publishers"], organization_id=org)

    def principals(self, key: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list):
            raise self.error(
                key,
                f"must be a list of principals, got {value!r}",
                'Write it as ["arn:aws:iam::111122223333:role/ci", "444455556666"].',
            )
        seen: list[str] = []
        for principal in value:
            if isinstance(principal, int) and not isinstance(principal, bool):
                raise self.error(
                    key,
                    f"lists the account {principal} as a number",
                    f'Quote it: "{principal:012d}".',
                )
            self.string(
                key,
                principal,
                PRINCIPAL_RE,
                "IAM principal (a 12-digit account ID or an IAM role/user ARN)",
            )
            if principal not in seen:
                seen.append(principal)
        return tuple(seen)
