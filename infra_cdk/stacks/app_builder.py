"""Assemble the app: one repository stack per configured region, then the pipeline stack."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import App, Environment, Stack, Validations
from cdk_nag import AwsSolutionsChecks

from codeartifact_multiregion.config import Target

from .github_stack import GithubStack
from .naming import UPSTREAM_REPOSITORY
from .package_stack import PackageStack
from .pipeline_stack import PipelineStack
from .platform_stack import PlatformRegionStack
from .repository_stack import RepositoryStack
from .settings import InfraSettings


@dataclass(frozen=True)
class AppStacks:
    """The stacks of one synthesis, primary region first; empty tuples for other parts."""

    repositories: tuple[Stack, ...] = ()
    pipeline: Stack | None = None
    platform: tuple[PlatformRegionStack, ...] = ()
    packages: tuple[PackageStack, ...] = ()
    github: GithubStack | None = None

    @property
    def all(self) -> list[Stack]:
        ci = [s for s in (self.pipeline, self.github) if s is not None]
        return [*self.platform, *self.repositories, *self.packages, *ci]


def build_app(app: App, settings: InfraSettings) -> AppStacks:
    """Add every stack of ``settings.part`` to ``app``; the caller synthesizes.

    A target with a domain-owner is pinned to that account, so ``cdk deploy`` refuses to create
    the domain with credentials of another account; without one the stack deploys into the
    account of the credentials in use (the same account the publisher would use).
    """
    if settings.part == "platform":
        stacks = AppStacks(platform=tuple(_platform(app, settings)))
        if settings.adopt:
            write_import_mappings(Path(app.outdir), stacks.platform)
    elif settings.part == "package":
        stacks = _package(app, settings, _package_stacks(app, settings))
    else:
        stacks = _package(app, settings, _repository_stacks(app, settings))
    if settings.nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stacks


def write_import_mappings(outdir: Path, stacks: tuple[PlatformRegionStack, ...]) -> None:
    """``cdk import --resource-mapping`` files: adopt the retained domain and repositories.

    After ``cdk destroy`` (or for a domain created by hand) CloudFormation cannot create a
    domain or repository whose name exists. Importing them puts the existing resources under
    the stack, policies included; ``cdk deploy`` then adds the rest.
    """
    outdir.mkdir(parents=True, exist_ok=True)
    for stack in stacks:
        target = stack.target
        owner = target.domain_owner  # settings require it with adopt=true
        arn = f"arn:{_partition(target.region)}:codeartifact:{target.region}:{owner}:"
        resources = {
            stack.domain: f"{arn}domain/{target.domain}",
            stack.repository: f"{arn}repository/{target.domain}/{target.repository}",
        }
        if stack.upstream is not None:
            resources[stack.upstream] = f"{arn}repository/{target.domain}/{UPSTREAM_REPOSITORY}"
        mapping = {stack.resolve(r.logical_id): {"Arn": a} for r, a in resources.items()}
        (outdir / f"{stack.stack_name}.import.json").write_text(
            json.dumps(mapping, indent=2) + "\n", encoding="utf-8"
        )


def _partition(region: str) -> str:
    return (
        "aws-cn"
        if region.startswith("cn-")
        else ("aws-us-gov" if region.startswith("us-gov-") else "aws")
    )


def _env(target: Target) -> Environment:
    return Environment(
        account=target.domain_owner or os.environ.get("CDK_DEFAULT_ACCOUNT"), region=target.region
    )


def _platform(app: App, settings: InfraSettings) -> list[PlatformRegionStack]:
    targets = settings.config.targets
    return [
        PlatformRegionStack(
            app,
            f"{settings.stack_prefix}-platform-{target.region}",
            settings=settings,
            target=target,
            primary=index == 0,
            env=_env(target),
            description=f"CodeArtifact {target.domain}/{target.repository} in {target.region}: "
            "shared repository, access policies and replication"
            + (" (primary: drift repair)." if index == 0 else "."),
        )
        for index, target in enumerate(targets)
    ]


def _repository_stacks(app: App, settings: InfraSettings) -> list[Stack]:
    return [
        RepositoryStack(
            app,
            f"{settings.stack_prefix}-codeartifact-{target.region}",
            target=target,
            project_name=settings.project_name,
            encrypt_with_kms=settings.domain_kms,
            pypi_upstream=settings.pypi_upstream,
            adopt=settings.adopt,
            env=_env(target),
            description=f"CodeArtifact domain {target.domain}, repository {target.repository} "
            f"and the {settings.project_name} package group in {target.region}.",
        )
        for target in settings.config.targets
    ]


def _package_stacks(app: App, settings: InfraSettings) -> list[Stack]:
    return [
        PackageStack(
            app,
            f"{settings.stack_prefix}-package-{target.region}",
            target=target,
            project_name=settings.project_name,
            env=_env(target),
            description=f"The {settings.project_name} package group in {target.domain}/"
            f"{target.repository}, {target.region} (the platform owns the repository).",
        )
        for target in settings.config.targets
    ]


def _package(app: App, settings: InfraSettings, regional: list[Stack]) -> AppStacks:
    primary = settings.config.targets[0]
    ci: Stack
    if settings.ci == "github":
        ci = GithubStack(
            app,
            f"{settings.stack_prefix}-publish-github",
            settings=settings,
            env=_env(primary),
            description=f"OIDC role GitHub Actions of {settings.github_repo} assume to publish "
            f"{settings.project_name} to CodeArtifact in {', '.join(settings.config.regions)}.",
        )
    else:
        ci = PipelineStack(
            app,
            f"{settings.stack_prefix}-publish-pipeline",
            settings=settings,
            env=_env(primary),
            description=f"CodePipeline that publishes {settings.project_name} to CodeArtifact in "
            f"{', '.join(settings.config.regions)}.",
        )
    # Deploy order only (no cross-region references): the package groups exist before a build.
    for stack in regional:
        ci.add_stack_dependency(stack)
    kind = (
        {"repositories": tuple(regional)}
        if settings.part == "all"
        else {"packages": tuple(regional)}
    )
    return AppStacks(
        **kind,  # type: ignore[arg-type]
        pipeline=ci if isinstance(ci, PipelineStack) else None,
        github=ci if isinstance(ci, GithubStack) else None,
    )
