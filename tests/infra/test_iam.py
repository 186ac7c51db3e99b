"""The build role may call exactly the publisher's CodeArtifact actions on exact ARNs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from codeartifact_multiregion.base.config import load_config
from infra_cdk.stacks.policy import publisher_statements
from tests.infra.assembly import Assembly, StackArtifact, as_list, render
from tests.infra.conftest import NORMALIZED, OWNER, THREE_REGIONS, VARIANTS, write_pyproject

pytestmark = pytest.mark.slow

READ = ["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"]
PUBLISH = [
    "codeartifact:DescribePackage",  # review row 6: `status` reads origin controls
    "codeartifact:PublishPackageVersion",
    "codeartifact:PutPackageMetadata",
]
BEARER = {
    "Sid": "CodeArtifactBearerToken",
    "Effect": "Allow",
    "Action": "sts:GetServiceBearerToken",
    "Resource": "*",
    "Condition": {"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}},
}


def arn(region: str, resource: str, account: str = OWNER, partition: str = "aws") -> str:
    return f"arn:{partition}:codeartifact:{region}:{account}:{resource}"


def expected_statements(
    targets: list[tuple[str, str]], account: str = OWNER, origin: bool = False
) -> list[dict[str, Any]]:
    """``targets`` is ``[(region, repository)]`` in config order, domain acme."""
    return [
        {
            "Sid": "CodeArtifactAuthorizationToken",
            "Effect": "Allow",
            "Action": "codeartifact:GetAuthorizationToken",
            "Resource": [arn(r, "domain/acme", account) for r, _ in targets],
        },
        {
            "Sid": "CodeArtifactRepositoryRead",
            "Effect": "Allow",
            "Action": READ,
            "Resource": [arn(r, f"repository/acme/{repo}", account) for r, repo in targets],
        },
        {
            "Sid": "CodeArtifactPackagePublish",
            "Effect": "Allow",
            "Action": [
                *PUBLISH,
                *(["codeartifact:PutPackageOriginConfiguration"] if origin else []),
            ],
            "Resource": [
                arn(r, f"package/acme/{repo}/pypi//{NORMALIZED}", account) for r, repo in targets
            ],
        },
        BEARER,
    ]


def publisher_policy(stack: StackArtifact) -> dict[str, Any]:
    policies = {
        k: v
        for k, v in stack.resources("AWS::IAM::Policy").items()
        if k.startswith("PublisherPolicy")
    }
    assert len(policies) == 1
    return next(iter(policies.values()))["Properties"]


def identity_statements(stack: StackArtifact) -> list[tuple[str, dict[str, Any]]]:
    """Allow statements of every identity policy (what roles may do).

    Resource policies are left out on purpose: the KMS default key policy's ``kms:*`` for the
    account root only delegates to IAM, and the buckets' ``s3:*`` statements are TLS Denies.
    """
    out = []
    for logical_id, resource in stack.template["Resources"].items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents.append(props["PolicyDocument"])
        if resource["Type"] == "AWS::IAM::Role":
            documents += [p["PolicyDocument"] for p in props.get("Policies", [])]
        for document in documents:
            out += [(logical_id, s) for s in document["Statement"] if s["Effect"] == "Allow"]
    return out


def sorted_resources(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CDK's minimizePolicies flag sorts resources; compare as sets, keep everything else."""
    return [{**s, "Resource": sorted(as_list(s["Resource"]))} for s in statements]


def test_build_role_statements_are_exact(three: Assembly) -> None:
    policy = publisher_policy(three.pipeline)
    assert sorted_resources(render(policy["PolicyDocument"]["Statement"])) == sorted_resources(
        expected_statements([(region, "python") for region in THREE_REGIONS])
    )
    roles = policy["Roles"]
    build_role = three.pipeline.only("AWS::CodeBuild::Project")["Properties"]["ServiceRole"]
    assert [render(r) for r in roles] == [render(build_role).replace(".Arn", "")]


def test_adding_a_region_adds_its_arns(three: Assembly, four: Assembly) -> None:
    before = render(publisher_policy(three.pipeline)["PolicyDocument"]["Statement"])
    after = render(publisher_policy(four.pipeline)["PolicyDocument"]["Statement"])
    for old, new in zip(before, after):
        added = [r for r in as_list(new["Resource"]) if r not in as_list(old["Resource"])]
        if old["Sid"] == "CodeArtifactBearerToken":
            assert old == new
        else:
            assert set(as_list(old["Resource"])) < set(as_list(new["Resource"]))
            assert len(added) == 1 and ":us-west-2:" in added[0]


def test_no_domain_owner_means_the_deploying_account(options: Assembly) -> None:
    statements = render(publisher_policy(options.pipeline)["PolicyDocument"]["Statement"])
    assert sorted_resources(statements) == sorted_resources(
        expected_statements(
            [("eu-central-1", "python"), ("us-east-2", "python-east")],
            account="${AWS::AccountId}",
            origin=True,
        )
    )


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_wildcard_actions_and_codeartifact_only_in_publisher_policy(
    assemblies: dict[str, Assembly], variant: str
) -> None:
    for stack in assemblies[variant].stacks:
        for logical_id, statement in identity_statements(stack):
            for action in as_list(statement.get("Action", [])):
                service, _, name = action.partition(":")
                assert action != "*" and name != "*", f"{stack.name} {logical_id}: {action}"
                if service == "codeartifact":
                    assert logical_id.startswith(
                        ("PublisherPolicy", "ReplicatorPolicy", "ReplicatorFunctionPolicy")
                    ), logical_id


@pytest.mark.parametrize(
    ("env", "partition"),
    [
        (cdk.Environment(region="cn-north-1", account=OWNER), "aws-cn"),
        (cdk.Environment(region="us-gov-west-1", account=OWNER), "aws-us-gov"),
        (None, "${AWS::Partition}"),
    ],
)
def test_partition_comes_from_the_stack(
    tmp_path: Path, env: cdk.Environment | None, partition: str
) -> None:
    pyproject = write_pyproject(tmp_path / "pyproject.toml", ["cn-north-1"])
    app = cdk.App(context={"@aws-cdk/core:enablePartitionLiterals": True})
    stack = cdk.Stack(app, "S", env=env)
    statements = publisher_statements(stack, load_config(pyproject), NORMALIZED)
    domain = render(stack.resolve(statements[0].to_statement_json()))["Resource"]
    assert domain == f"arn:{partition}:codeartifact:cn-north-1:{OWNER}:domain/acme"
