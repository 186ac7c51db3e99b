"""The dependency-confusion guard for one package: its own CodeArtifact package group.

Without it, ``pip install <our name>`` through the ``public:pypi`` upstream could resolve a
public package of the same name. The group blocks the external upstream for the exact
(normalized) name domain-wide and lets only the publishing repository accept new versions.

It holds configuration, not packages (deleting a group moves its packages to the parent group),
so it is deleted with its stack: a redeploy after ``cdk destroy`` recreates it instead of
colliding with a retained group of the same pattern.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_codeartifact as codeartifact
from constructs import Construct

from .naming import normalize, package_group_pattern


def package_group(
    scope: Construct,
    construct_id: str,
    *,
    domain_name: str,
    domain_owner: str,
    project_name: str,
    repository: str,
) -> codeartifact.CfnPackageGroup:
    restriction = codeartifact.CfnPackageGroup.RestrictionTypeProperty
    group = codeartifact.CfnPackageGroup(
        scope,
        construct_id,
        domain_name=domain_name,
        domain_owner=domain_owner,
        pattern=package_group_pattern(project_name),
        description=f"{normalize(project_name)}: internal only; public PyPI cannot shadow it.",
        origin_configuration=codeartifact.CfnPackageGroup.OriginConfigurationProperty(
            restrictions=codeartifact.CfnPackageGroup.RestrictionsProperty(
                external_upstream=restriction(restriction_mode="BLOCK"),
                internal_upstream=restriction(restriction_mode="ALLOW"),
                publish=restriction(
                    restriction_mode="ALLOW_SPECIFIC_REPOSITORIES", repositories=[repository]
                ),
            )
        ),
    )
    group.apply_removal_policy(RemovalPolicy.DESTROY)
    return group
