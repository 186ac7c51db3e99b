"""One region's CodeArtifact domain, repository, optional PyPI upstream and package group.

CodeArtifact has no cross-region replication, so each configured region gets its own stack;
adding a region to ``[tool.codeartifact]`` adds exactly one of these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_codeartifact as codeartifact
from aws_cdk import aws_kms as kms
from constructs import Construct

from codeartifact_multiregion.config import Target

from .naming import (
    PYPI_EXTERNAL_CONNECTION,
    UPSTREAM_REPOSITORY,
    codeartifact_arn,
    domain_resource,
    repository_resource,
)
from .package_group import package_group


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
        adopt: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.target = target
        if adopt:
            self._adopt(target, project_name)
            return

        regional = create_repositories(
            self,
            target,
            project_name,
            encrypt_with_kms=encrypt_with_kms,
            pypi_upstream=pypi_upstream,
        )
        self.domain_key = regional.key
        self.domain = regional.domain
        self.upstream = regional.upstream
        self.repository = regional.repository

        # The group names the repository by plain string, so order it explicitly.
        self.package_group = package_group(
            self,
            "PackageGroup",
            domain_name=self.domain.attr_name,
            domain_owner=self.domain.attr_owner,
            project_name=project_name,
            repository=target.repository,
        )
        self.package_group.node.add_dependency(self.repository)

        CfnOutput(self, "DomainArn", value=self.domain.attr_arn)
        CfnOutput(self, "RepositoryArn", value=self.repository.attr_arn)

    def _adopt(self, target: Target, project_name: str) -> None:
        """Use an existing domain and repository by name: create only the package group.

        For a redeploy after ``cdk destroy`` (the domain and repositories were retained) or a
        domain someone else created. Nothing here can delete or replace them.
        """
        owner = target.domain_owner or self.account
        self.package_group = package_group(
            self,
            "PackageGroup",
            domain_name=target.domain,
            domain_owner=owner,
            project_name=project_name,
            repository=target.repository,
        )
        CfnOutput(
            self,
            "DomainArn",
            value=codeartifact_arn(
                self.partition, target.region, owner, domain_resource(target.domain)
            ),
        )
        CfnOutput(
            self,
            "RepositoryArn",
            value=codeartifact_arn(
                self.partition,
                target.region,
                owner,
                repository_resource(target.domain, target.repository),
            ),
        )


@dataclass(frozen=True)
class Regional:
    key: kms.Key | None
    domain: codeartifact.CfnDomain
    upstream: codeartifact.CfnRepository | None
    repository: codeartifact.CfnRepository


def create_repositories(
    scope: Construct,
    target: Target,
    owner_label: str,
    *,
    encrypt_with_kms: bool,
    pypi_upstream: bool,
) -> Regional:
    """The domain, optional ``pypi-store`` upstream and repository of one target, retained."""
    domain_key: kms.Key | None = None
    if encrypt_with_kms:
        domain_key = kms.Key(
            scope,
            "DomainKey",
            description=f"CodeArtifact domain {target.domain} in {target.region}",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )

    domain = codeartifact.CfnDomain(
        scope,
        "Domain",
        domain_name=target.domain,
        encryption_key=domain_key.key_arn if domain_key else None,
    )
    domain.apply_removal_policy(RemovalPolicy.RETAIN)

    upstream: codeartifact.CfnRepository | None = None
    if pypi_upstream:
        upstream = codeartifact.CfnRepository(
            scope,
            "PypiStore",
            domain_name=domain.attr_name,
            domain_owner=domain.attr_owner,
            repository_name=UPSTREAM_REPOSITORY,
            description="Cache of public PyPI, the upstream of the publishing repository.",
            external_connections=[PYPI_EXTERNAL_CONNECTION],
        )
        upstream.apply_removal_policy(RemovalPolicy.RETAIN)

    repository = codeartifact.CfnRepository(
        scope,
        "Repository",
        domain_name=domain.attr_name,
        domain_owner=domain.attr_owner,
        repository_name=target.repository,
        description=f"Internal Python packages, published by codeartifact-multiregion "
        f"({owner_label}).",
        upstreams=[upstream.attr_name] if upstream else None,
    )
    repository.apply_removal_policy(RemovalPolicy.RETAIN)

    return Regional(domain_key, domain, upstream, repository)
