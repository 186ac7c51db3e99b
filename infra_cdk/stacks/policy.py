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

from codeartifact_multiregion.base.config import Config, Target

from .naming import (
    codeartifact_arn,
    domain_resource,
    package_resource,
    pypi_packages_resource,
    repository_resource,
)

TOKEN_ACTIONS = ("codeartifact:GetAuthorizationToken",)
REPOSITORY_ACTIONS = ("codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository")
PACKAGE_ACTIONS = (
    "codeartifact:DescribePackage",  # `status` reads the package's origin controls
    "codeartifact:PublishPackageVersion",
    "codeartifact:PutPackageMetadata",
)
# What `sync --event`, `sync --all` and `status --all` call (DESIGN: Commands), and on what.
REPLICATOR_REPOSITORY_ACTIONS = (
    "codeartifact:GetRepositoryEndpoint",
    "codeartifact:ListPackages",
    "codeartifact:ReadFromRepository",
)
REPLICATOR_PACKAGE_ACTIONS = (
    "codeartifact:DescribePackage",
    "codeartifact:DescribePackageVersion",
    "codeartifact:GetPackageVersionAsset",
    "codeartifact:ListPackageVersionAssets",
    "codeartifact:ListPackageVersions",
    "codeartifact:PublishPackageVersion",
    "codeartifact:PutPackageMetadata",
    "codeartifact:UpdatePackageVersionsStatus",
)
CONNECTION_ACTIONS = ("codestar-connections:UseConnection", "codeconnections:UseConnection")
METRIC_NAMESPACE = "CodeArtifactMultiRegion"
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
        bearer_token_statement(),
    ]
    return statements


def bearer_token_statement() -> iam.PolicyStatement:
    # GetServiceBearerToken has no resource type; the condition is what scopes it.
    return iam.PolicyStatement(
        sid="CodeArtifactBearerToken",
        actions=[BEARER_TOKEN_ACTION],
        resources=["*"],
        conditions={"StringEquals": {"sts:AWSServiceName": CODEARTIFACT_SERVICE}},
    )


def replicator_statements(stack: Stack, config: Config) -> list[iam.PolicyStatement]:
    """Read every region, write PyPI packages of this one repository, nothing else."""
    domains, repositories, packages = [], [], []
    for target in config.targets:
        account = target.domain_owner or stack.account

        def arn(resource: str, region: str = target.region, account: str = account) -> str:
            return codeartifact_arn(stack.partition, region, account, resource)

        domains.append(arn(domain_resource(target.domain)))
        repositories.append(arn(repository_resource(target.domain, target.repository)))
        packages.append(arn(pypi_packages_resource(target.domain, target.repository)))
    return [
        iam.PolicyStatement(
            sid="CodeArtifactAuthorizationToken",
            actions=list(TOKEN_ACTIONS),
            resources=_unique(domains),
        ),
        iam.PolicyStatement(
            sid="CodeArtifactRepositoryRead",
            actions=list(REPLICATOR_REPOSITORY_ACTIONS),
            resources=_unique(repositories),
        ),
        iam.PolicyStatement(
            sid="CodeArtifactPackageReplicate",
            actions=list(REPLICATOR_PACKAGE_ACTIONS),
            resources=_unique(packages),
        ),
        bearer_token_statement(),
    ]


def metric_statement() -> iam.PolicyStatement:
    """PutMetricData has no resource type either; the namespace condition scopes it."""
    return iam.PolicyStatement(
        sid="DriftMetric",
        actions=["cloudwatch:PutMetricData"],
        resources=["*"],
        conditions={"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
    )


def connection_statement(connection_arn: str) -> iam.PolicyStatement:
    """Both prefixes: a connection created under codeconnections needs that prefix's action.

    IAM matches the action prefix against the resource's own; granting both on the one ARN
    works whichever service prefix the connection was created under.
    """
    return iam.PolicyStatement(
        sid="UseSourceConnection", actions=list(CONNECTION_ACTIONS), resources=[connection_arn]
    )


def _unique(values: Iterable[str]) -> list[str]:
    """Keep order (primary first) and drop repeats, e.g. two regions sharing one role."""
    return list(dict.fromkeys(values))
