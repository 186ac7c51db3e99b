"""One package's share of a region (``-c part=package``): its package group, nothing else.

The platform owns the domain and repository; this stack names them by the config's strings
and creates only the package's own dependency-confusion guard, so two packages of one
organisation deploy side by side with no resource in common.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from codeartifact_multiregion.config import Target

from .naming import package_group_pattern
from .package_group import package_group


class PackageStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        target: Target,
        project_name: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.package_group = package_group(
            self,
            "PackageGroup",
            domain_name=target.domain,
            domain_owner=target.domain_owner or self.account,
            project_name=project_name,
            repository=target.repository,
        )
        CfnOutput(self, "PackageGroupPattern", value=package_group_pattern(project_name))
