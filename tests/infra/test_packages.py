"""part=package (and ci=github): one package's share of the platform, side by side with others."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.assembly import Assembly, StackArtifact, as_list, render
from tests.infra.conftest import OWNER, PACKAGES, THREE_REGIONS

pytestmark = pytest.mark.slow

# Properties that are a resource's physical identity in its account and region.
NAME_PROPERTIES = {
    "AWS::CodeArtifact::Domain": ("DomainName",),
    "AWS::CodeArtifact::Repository": ("DomainName", "RepositoryName"),
    "AWS::CodeArtifact::PackageGroup": ("DomainName", "Pattern"),
    "AWS::CodeConnections::Connection": ("ConnectionName",),
    "AWS::IAM::OIDCProvider": ("Url",),
    "AWS::IAM::Role": ("RoleName",),
    "AWS::S3::Bucket": ("BucketName",),
    "AWS::Logs::LogGroup": ("LogGroupName",),
    "AWS::SQS::Queue": ("QueueName",),
    "AWS::SNS::Topic": ("TopicName",),
    "AWS::CodeBuild::Project": ("Name",),
    "AWS::CodePipeline::Pipeline": ("Name",),
    "AWS::Events::Rule": ("Name",),
}


def physical_names(stack: StackArtifact) -> set[tuple[Any, ...]]:
    names = set()
    for resource in stack.template["Resources"].values():
        keys = NAME_PROPERTIES.get(resource["Type"])
        props = resource.get("Properties", {})
        if keys and all(k in props for k in keys):
            # Account-wide for IAM, regional otherwise.
            where = "global" if resource["Type"].startswith("AWS::IAM::") else stack.region
            names.add((resource["Type"], where, *(str(render(props[k])) for k in keys)))
    return names


@pytest.mark.parametrize("key", ["alpha", "beta", "gamma"])
def test_package_creates_no_domain_or_repository(assemblies: dict[str, Assembly], key: str) -> None:
    assembly = assemblies[key]
    assert assembly.error is None, assembly.error
    for stack in assembly.stacks:
        assert not stack.resources("AWS::CodeArtifact::Domain"), stack.name
        assert not stack.resources("AWS::CodeArtifact::Repository"), stack.name


@pytest.mark.parametrize("key", ["alpha", "beta", "gamma"])
def test_package_group_is_its_own_in_every_region(
    assemblies: dict[str, Assembly], key: str
) -> None:
    assembly = assemblies[key]
    prefix = {"alpha": "alpha-lib", "beta": "beta-tool", "gamma": "gamma-cli"}[key]
    regional = [s for s in assembly.stacks if "-package-" in s.name]
    assert [s.name for s in regional] == [f"{prefix}-package-{r}" for r in THREE_REGIONS]
    normalized = PACKAGES[key].lower().replace("_", "-").replace(".", "-")
    for stack in regional:
        group = stack.only("AWS::CodeArtifact::PackageGroup")
        props = group["Properties"]
        # The platform's domain by name, not a reference to a resource of this app.
        assert (props["DomainName"], props["DomainOwner"]) == ("acme", OWNER)
        assert props["Pattern"] == f"/pypi//{normalized}$"
        assert props["OriginConfiguration"]["Restrictions"]["Publish"]["Repositories"] == ["python"]
        # Configuration only: deleted with the stack, so a redeploy cannot collide with it.
        assert group["DeletionPolicy"] == "Delete"


def test_no_two_stacks_of_the_deployments_share_a_name(
    platform: Assembly, alpha: Assembly, beta: Assembly, gamma: Assembly
) -> None:
    stacks = [*platform.stacks, *alpha.stacks, *beta.stacks, *gamma.stacks]
    stack_names = [s.name for s in stacks]
    assert len(stack_names) == len(set(stack_names)), stack_names
    seen: dict[tuple[Any, ...], str] = {}
    for stack in stacks:
        for name in physical_names(stack):
            assert name not in seen, f"{name} in {stack.name} and {seen[name]}"
            seen[name] = stack.name
    # The check saw the named resources it is about.
    kinds = {n[0] for n in seen}
    assert {
        "AWS::CodeArtifact::Domain",
        "AWS::CodeArtifact::PackageGroup",
        "AWS::CodeConnections::Connection",
        "AWS::IAM::OIDCProvider",
    } <= kinds


def test_github_role_trusts_only_the_repository_and_ref(gamma: Assembly) -> None:
    stack = gamma.stack("gamma-cli-publish-github")
    assert not stack.resources("AWS::CodePipeline::Pipeline")
    assert not stack.resources("AWS::CodeBuild::Project")
    provider = stack.only("AWS::IAM::OIDCProvider")["Properties"]
    assert provider["Url"] == "https://token.actions.githubusercontent.com"
    assert provider["ClientIdList"] == ["sts.amazonaws.com"]
    role = stack.only("AWS::IAM::Role")["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert render(statement["Principal"]["Federated"]).startswith("${GithubOidcProvider")
    assert statement["Condition"] == {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
        "StringLike": {
            "token.actions.githubusercontent.com:sub": "repo:acme/gamma-cli:ref:refs/tags/v*"
        },
    }


def _publisher_document(stack: StackArtifact) -> list[dict[str, Any]]:
    policy = next(
        v for k, v in stack.resources("AWS::IAM::Policy").items() if k.startswith("PublisherPolicy")
    )
    return [
        {**s, "Resource": sorted(as_list(s["Resource"]))}
        for s in render(policy["Properties"]["PolicyDocument"]["Statement"])
    ]


def test_github_role_has_the_build_roles_privileges(alpha: Assembly, gamma: Assembly) -> None:
    build = _publisher_document(alpha.stack("alpha-lib-publish-pipeline"))
    github = _publisher_document(gamma.stack("gamma-cli-publish-github"))
    assert [s["Action"] for s in github] == [s["Action"] for s in build]
    for a, g in zip(build, github):
        assert [r.replace("alpha-lib", "gamma-cli") for r in a["Resource"]] == g["Resource"]
    # The role has nothing else: the publisher policy is its only policy.
    policies = gamma.stack("gamma-cli-publish-github").resources("AWS::IAM::Policy")
    assert len(policies) == 1


def test_two_packages_pipelines_side_by_side(alpha: Assembly, beta: Assembly) -> None:
    connections = [
        a.stack(f"{p}-publish-pipeline").only("AWS::CodeConnections::Connection")["Properties"]
        for a, p in ((alpha, "alpha-lib"), (beta, "beta-tool"))
    ]
    assert [c["ConnectionName"] for c in connections] == ["alpha-lib-src", "beta-tool-src"]
