"""The build role's CodeArtifact permissions: exact actions on exact ARNs, every region.

The AWS sample granted ``codeartifact:*`` on ``*``. A build that can publish anywhere can also
delete or overwrite anywhere, so the role gets only what the publisher calls, on the domain,
repository and package it publishes to, and nothing in regions that are not configured.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_iam as iam

from codeartifact_multiregion.config import Config, Target

from .naming import codeartifact_arn, domain_resource, package_resource, repository_resource

TOKEN_ACTIONS = ("codeartifact:GetAuthorizationToken",)
REPOSITORY_ACTIONS = ("codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository")
PACKAGE_ACTIONS = ("codeartifact:PublishPackageVersion", "codeartifact:PutPackageMetadata")
ORIGIN_ACTION = "codeartifact:PutPackageOriginConfiguration"
BEARER_TOKEN_ACTION = "sts:GetServiceBearerToken"
CODEARTIFACT_SERVICE = "codeartifact.amazonaws.com"


@dataclass(frozen=True)
class TargetArns:
    """The three ARNs one target needs, with the partition and account already resolved."""

    region: str
    domain: str
    repository: str
    package: str


def target_arns(stack: Stack, target: Target, project_name: str) -> TargetArns:
    """Partition from the stack (aws, aws-cn, aws-us-gov); owner defaults to the deploying account.

    The default mirrors the publisher, which asks STS for the caller's account when the config
    names no domain-owner: the caller in the pipeline is this stack's build role.
    """
    account = target.domain_owner or stack.account
    partition = stack.partition
    return TargetArns(
        region=target.region,
        domain=codeartifact_arn(partition, target.region, account, domain_resource(target.domain)),
        repository=codeartifact_arn(
            partition,
            target.region,
            account,
            repository_resource(target.domain, target.repository),
        ),
        package=codeartifact_arn(
            partition,
            target.region,
            account,
            package_resource(target.domain, target.repository, project_name),
        ),
    )


def publisher_statements(
    stack: Stack, config: Config, project_name: str
) -> Sequence[iam.PolicyStatement]:
    """One statement per kind of resource, listing that resource in every configured region."""
    arns = [target_arns(stack, target, project_name) for target in config.targets]
    package_actions = [*PACKAGE_ACTIONS, *([ORIGIN_ACTION] if config.block_upstream else [])]
    statements = [
        iam.PolicyStatement(
            sid="CodeArtifactAuthorizationToken",
            actions=list(TOKEN_ACTIONS),
            resources=_unique(a.domain for a in arns),
        ),
        iam.PolicyStatement(
            sid="CodeArtifactRepositoryRead",
            actions=list(REPOSITORY_ACTIONS),
            resources=_unique(a.repository for a in arns),
        ),
        iam.PolicyStatement(
            sid="CodeArtifactPackagePublish",
            actions=package_actions,
            resources=_unique(a.package for a in arns),
        ),
        # GetServiceBearerToken has no resource type; the condition is what scopes it.
        iam.PolicyStatement(
            sid="CodeArtifactBearerToken",
            actions=[BEARER_TOKEN_ACTION],
            resources=["*"],
            conditions={"StringEquals": {"sts:AWSServiceName": CODEARTIFACT_SERVICE}},
        ),
    ]
    role_arns = _unique(t.role_arn for t in config.targets if t.role_arn)
    if role_arns:
        # The publisher assumes role-arn before its CodeArtifact calls (DESIGN: Configuration).
        statements.append(
            iam.PolicyStatement(
                sid="AssumePublisherRoles", actions=["sts:AssumeRole"], resources=role_arns
            )
        )
    return statements


def _unique(values: Iterable[str]) -> list[str]:
    """Keep order (primary first) and drop repeats, e.g. two regions sharing one role."""
    return list(dict.fromkeys(values))
