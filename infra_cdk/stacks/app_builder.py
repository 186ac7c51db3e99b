"""Assemble the app: one repository stack per configured region, then the pipeline stack."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks

from .pipeline_stack import PipelineStack
from .repository_stack import RepositoryStack
from .settings import InfraSettings

CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """Feature flags and settings the cdk CLI would pass from cdk.json.

    ``python app.py`` and the tests build the App without the CLI; reading the same file keeps
    their templates identical to ``cdk synth``'s.
    """
    document = json.loads(CDK_JSON.read_text(encoding="utf-8"))
    context: dict[str, Any] = dict(document.get("context", {}))
    if document.get("versionReporting") is False:
        context["aws:cdk:version-reporting"] = False
    return context


@dataclass(frozen=True)
class AppStacks:
    """The stacks of one synthesis, primary region first."""

    repositories: tuple[RepositoryStack, ...]
    pipeline: PipelineStack


def build_app(app: App, settings: InfraSettings) -> AppStacks:
    """Add every stack to ``app``; the caller synthesizes.

    A target with a domain-owner is pinned to that account, so ``cdk deploy`` refuses to create
    the domain with credentials of another account; without one the stack deploys into the
    account of the credentials in use (the same account the publisher would use).
    """
    default_account = os.environ.get("CDK_DEFAULT_ACCOUNT")
    repositories = []
    for target in settings.config.targets:
        stack = RepositoryStack(
            app,
            f"{settings.stack_prefix}-codeartifact-{target.region}",
            target=target,
            project_name=settings.project_name,
            encrypt_with_kms=settings.domain_kms,
            pypi_upstream=settings.pypi_upstream,
            env=Environment(account=target.domain_owner or default_account, region=target.region),
            description=f"CodeArtifact domain {target.domain}, repository {target.repository} "
            f"and the {settings.project_name} package group in {target.region}.",
        )
        repositories.append(stack)

    primary = settings.config.targets[0]
    pipeline = PipelineStack(
        app,
        f"{settings.stack_prefix}-publish-pipeline",
        settings=settings,
        env=Environment(account=primary.domain_owner or default_account, region=primary.region),
        description=f"CodePipeline that publishes {settings.project_name} to CodeArtifact in "
        f"{', '.join(settings.config.regions)}.",
    )
    # Deploy order only (no cross-region references): the repositories exist before a build.
    for stack in repositories:
        pipeline.add_stack_dependency(stack)

    if settings.nag:
        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return AppStacks(repositories=tuple(repositories), pipeline=pipeline)
