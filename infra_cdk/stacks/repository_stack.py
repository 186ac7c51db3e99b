"""One region's CodeArtifact domain, repository, optional PyPI upstream and package group.

CodeArtifact has no cross-region replication, so each configured region gets its own stack;
adding a region to ``[tool.codeartifact]`` adds exactly one of these.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_codeartifact as codeartifact
from aws_cdk import aws_kms as kms
from constructs import Construct

from codeartifact_multiregion.config import Target

from .naming import PYPI_EXTERNAL_CONNECTION, UPSTREAM_REPOSITORY, normalize, package_group_pattern


class RepositoryStack(Stack):
    """Domain, repository and dependency-confusion guard for one target.

    Repositories hold published releases that cannot be rebuilt byte-for-byte, so the domain,
    repositories and key are retained when the stack is deleted (README: tearing down).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        target: Target,
        project_name: str,
        encrypt_with_kms: bool,
        pypi_upstream: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.target = target

        self.domain_key: kms.Key | None = None
        if encrypt_with_kms:
            self.domain_key = kms.Key(
                self,
                "DomainKey",
                description=f"CodeArtifact domain {target.domain} in {target.region}",
                enable_key_rotation=True,
                removal_policy=RemovalPolicy.RETAIN,
            )

        self.domain = codeartifact.CfnDomain(
            self,
            "Domain",
            domain_name=target.domain,
            encryption_key=self.domain_key.key_arn if self.domain_key else None,
        )
        self.domain.apply_removal_policy(RemovalPolicy.RETAIN)

        self.upstream: codeartifact.CfnRepository | None = None
        if pypi_upstream:
            self.upstream = codeartifact.CfnRepository(
                self,
                "PypiStore",
                domain_name=self.domain.attr_name,
                domain_owner=self.domain.attr_owner,
                repository_name=UPSTREAM_REPOSITORY,
                description="Cache of public PyPI, the upstream of the publishing repository.",
                external_connections=[PYPI_EXTERNAL_CONNECTION],
            )
            self.upstream.apply_removal_policy(RemovalPolicy.RETAIN)

        self.repository = codeartifact.CfnRepository(
            self,
            "Repository",
            domain_name=self.domain.attr_name,
            domain_owner=self.domain.attr_owner,
            repository_name=target.repository,
            description=f"Internal Python packages, published by codeartifact-multiregion "
            f"({project_name}).",
            upstreams=[self.upstream.attr_name] if self.upstream else None,
        )
        self.repository.apply_removal_policy(RemovalPolicy.RETAIN)

        # Dependency confusion: without this, `pip install <our name>` through the upstream
        # could resolve a public PyPI package of the same name. The group blocks the external
        # upstream for our exact (normalized) name domain-wide, and lets only the publishing
        # repository accept new versions of it.
        self.package_group = codeartifact.CfnPackageGroup(
            self,
            "PackageGroup",
            domain_name=self.domain.attr_name,
            domain_owner=self.domain.attr_owner,
            pattern=package_group_pattern(project_name),
            description=f"{normalize(project_name)}: internal only; public PyPI cannot shadow it.",
            origin_configuration=codeartifact.CfnPackageGroup.OriginConfigurationProperty(
                restrictions=codeartifact.CfnPackageGroup.RestrictionsProperty(
                    external_upstream=codeartifact.CfnPackageGroup.RestrictionTypeProperty(
                        restriction_mode="BLOCK"
                    ),
                    internal_upstream=codeartifact.CfnPackageGroup.RestrictionTypeProperty(
                        restriction_mode="ALLOW"
                    ),
                    publish=codeartifact.CfnPackageGroup.RestrictionTypeProperty(
                        restriction_mode="ALLOW_SPECIFIC_REPOSITORIES",
                        repositories=[target.repository],
                    ),
                )
            ),
        )
        # The group names the repository by plain string, so order it explicitly.
        self.package_group.add_resource_dependency(self.repository)
        self.package_group.apply_removal_policy(RemovalPolicy.RETAIN)

        CfnOutput(self, "DomainArn", value=self.domain.attr_arn)
        CfnOutput(self, "RepositoryArn", value=self.repository.attr_arn)
