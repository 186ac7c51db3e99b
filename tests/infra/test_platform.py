"""part=platform: shared repositories, access policies, event-driven replication, drift repair."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tests.infra.assembly import Assembly, StackArtifact, as_list, render
from tests.infra.conftest import (
    ORG_ID,
    OWNER,
    PUBLISHER_ROLE,
    PUBLISHER_ROLE_2,
    READER_ACCOUNT,
    READER_ROLE,
    THREE_REGIONS,
)

pytestmark = pytest.mark.slow

PREFIX = "acme-python-platform-"
READERS = [READER_ROLE, f"arn:aws:iam::{READER_ACCOUNT}:root"]
PUBLISHERS = [PUBLISHER_ROLE, PUBLISHER_ROLE_2]
READ_ACTIONS = [
    "codeartifact:DescribePackage",
    "codeartifact:DescribePackageVersion",
    "codeartifact:DescribeRepository",
    "codeartifact:GetPackageVersionAsset",
    "codeartifact:GetPackageVersionReadme",
    "codeartifact:GetRepositoryEndpoint",
    "codeartifact:ListPackageVersionAssets",
    "codeartifact:ListPackageVersionDependencies",
    "codeartifact:ListPackageVersions",
    "codeartifact:ListPackages",
    "codeartifact:ReadFromRepository",
]
PUBLISH_ACTIONS = ["codeartifact:PublishPackageVersion", "codeartifact:PutPackageMetadata"]


def region_stack(platform: Assembly, region: str) -> StackArtifact:
    return platform.stack(PREFIX + region)


def repositories(stack: StackArtifact) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["RepositoryName"]: r
        for r in stack.resources("AWS::CodeArtifact::Repository").values()
    }


def test_one_stack_per_region_in_the_owner_account(platform: Assembly) -> None:
    assert platform.error is None, platform.error
    assert platform.names == [PREFIX + r for r in THREE_REGIONS]
    assert [(s.account, s.region) for s in platform.stacks] == [(OWNER, r) for r in THREE_REGIONS]


@pytest.mark.parametrize("region", THREE_REGIONS)
def test_domain_repository_and_upstream_retained(platform: Assembly, region: str) -> None:
    stack = region_stack(platform, region)
    domain = stack.only("AWS::CodeArtifact::Domain")
    assert domain["Properties"]["DomainName"] == "acme"
    repos = repositories(stack)
    assert set(repos) == {"python", "pypi-store"}
    assert repos["pypi-store"]["Properties"]["ExternalConnections"] == ["public:pypi"]
    assert render(repos["python"]["Properties"]["Upstreams"]) == ["${PypiStore.Name}"]
    for resource in [domain, *repos.values()]:
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("region", THREE_REGIONS)
def test_domain_policy_lets_readers_and_publishers_get_tokens(
    platform: Assembly, region: str
) -> None:
    policy = region_stack(platform, region).only("AWS::CodeArtifact::Domain")["Properties"][
        "PermissionsPolicyDocument"
    ]
    assert policy["Statement"] == [
        {
            "Sid": "ReadersAndPublishersGetTokens",
            "Effect": "Allow",
            "Principal": {"AWS": [*READERS, *PUBLISHERS]},
            "Action": ["codeartifact:GetAuthorizationToken"],
            "Resource": "*",
        },
        {
            "Sid": "OrganizationGetsTokens",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["codeartifact:GetAuthorizationToken"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG_ID}},
        },
    ]


@pytest.mark.parametrize("region", THREE_REGIONS)
def test_repository_policy_readers_read_only_publishers_publish(
    platform: Assembly, region: str
) -> None:
    policy = repositories(region_stack(platform, region))["python"]["Properties"][
        "PermissionsPolicyDocument"
    ]
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert set(by_sid) == {"Read", "OrganizationReads", "Publish"}
    assert by_sid["Read"]["Principal"] == {"AWS": [*READERS, *PUBLISHERS]}
    assert by_sid["Read"]["Action"] == READ_ACTIONS
    assert by_sid["OrganizationReads"]["Action"] == READ_ACTIONS
    assert by_sid["OrganizationReads"]["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": ORG_ID}
    }
    assert by_sid["Publish"] == {
        "Sid": "Publish",
        "Effect": "Allow",
        "Principal": {"AWS": PUBLISHERS},
        "Action": PUBLISH_ACTIONS,
        "Resource": "*",
    }
    # Only the Publish statement may publish, and only publishers are in it.
    for sid, statement in by_sid.items():
        if sid != "Publish":
            assert not set(as_list(statement["Action"])) & set(PUBLISH_ACTIONS)


@pytest.mark.parametrize("region", THREE_REGIONS)
def test_publisher_name_is_guarded_in_the_shared_repository(
    platform: Assembly, region: str
) -> None:
    group = region_stack(platform, region).only("AWS::CodeArtifact::PackageGroup")["Properties"]
    assert group["Pattern"] == "/pypi//codeartifact-multiregion$"
    assert group["OriginConfiguration"]["Restrictions"]["ExternalUpstream"] == {
        "RestrictionMode": "BLOCK"
    }


@pytest.mark.parametrize("region", THREE_REGIONS)
def test_event_rule_starts_the_replicator_with_retries_and_dlq(
    platform: Assembly, region: str
) -> None:
    stack = region_stack(platform, region)
    rules = [
        r["Properties"]
        for r in stack.resources("AWS::Events::Rule").values()
        if "EventPattern" in r["Properties"]
    ]
    assert len(rules) == 1
    rule = rules[0]
    assert rule["EventPattern"] == {
        "source": ["aws.codeartifact"],
        "detail-type": ["CodeArtifact Package Version State Change"],
        "detail": {
            "domainName": ["acme"],
            "domainOwner": [OWNER],
            "repositoryName": ["python"],
            "packageFormat": ["pypi"],
        },
    }
    (target,) = rule["Targets"]
    projects = stack.resources("AWS::CodeBuild::Project")
    replicator = next(k for k in projects if k.startswith("Replicator"))
    assert render(target["Arn"]) == f"${{{replicator}.Arn}}"
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 86400}
    queue = next(iter(stack.resources("AWS::SQS::Queue")))
    assert render(target["DeadLetterConfig"]["Arn"]) == f"${{{queue}.Arn}}"
    # Each event field reaches the build as a string variable (no whole-event JSON object).
    template = json.loads(
        target["InputTransformer"]["InputTemplate"].replace("<", '"<').replace(">", '>"')
    )
    names = {v["name"] for v in template["environmentVariablesOverride"]}
    assert {"CA_PACKAGE_NAME", "CA_PACKAGE_VERSION", "CA_EVENT_REGION", "CA_DOMAIN"} <= names
    paths = target["InputTransformer"]["InputPathsMap"]
    assert paths["detail-packageName"] == "$.detail.packageName"
    # The replicator runs sync --event on that event.
    spec = yaml.safe_load(projects[replicator]["Properties"]["Source"]["BuildSpec"])
    assert any("sync --event -" in c for c in spec["phases"]["build"]["commands"])


def test_schedule_metric_alarms_and_topic_in_the_primary(platform: Assembly) -> None:
    primary = region_stack(platform, THREE_REGIONS[0])
    schedules = [
        r["Properties"]
        for r in primary.resources("AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
    ]
    assert [s["ScheduleExpression"] for s in schedules] == ["cron(0 3 * * ? *)"]
    repair = next(k for k in primary.resources("AWS::CodeBuild::Project") if k.startswith("Repair"))
    assert render(schedules[0]["Targets"][0]["Arn"]) == f"${{{repair}.Arn}}"
    spec = yaml.safe_load(
        primary.template["Resources"][repair]["Properties"]["Source"]["BuildSpec"]
    )
    commands = spec["phases"]["build"]["commands"]
    assert any("sync --all" in c for c in commands)
    assert any(
        "put-metric-data --namespace CodeArtifactMultiRegion --metric-name DriftedCells" in c
        for c in commands
    )
    alarms = {
        a["Properties"].get("MetricName"): a["Properties"]
        for a in primary.resources("AWS::CloudWatch::Alarm").values()
    }
    assert {
        "DriftedCells",
        "UnrepairedCells",
        "ApproximateNumberOfMessagesVisible",
        "FailedBuilds",
    } <= set(alarms)
    drift = alarms["DriftedCells"]
    assert drift["Namespace"] == "CodeArtifactMultiRegion"
    assert drift["Dimensions"] == [
        {"Name": "Domain", "Value": "acme"},
        {"Name": "Repository", "Value": "python"},
    ]
    assert drift["ComparisonOperator"] == "GreaterThanThreshold" and drift["Threshold"] == 0
    topic = next(iter(primary.resources("AWS::SNS::Topic")))
    for alarm in primary.resources("AWS::CloudWatch::Alarm").values():
        assert render(alarm["Properties"]["AlarmActions"]) == [f"${{{topic}}}"]
    subscription = primary.only("AWS::SNS::Subscription")["Properties"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "ops@example.com")
    # Encrypted with the stack's rotating key.
    assert render(primary.only("AWS::SNS::Topic")["Properties"]["KmsMasterKeyId"]).startswith(
        "${ReplicationKey"
    )


@pytest.mark.parametrize("region", THREE_REGIONS[1:])
def test_repair_runs_only_in_the_primary(platform: Assembly, region: str) -> None:
    stack = region_stack(platform, region)
    assert not [
        r
        for r in stack.resources("AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
    ]
    assert [k[:10] for k in stack.resources("AWS::CodeBuild::Project")] == ["Replicator"]
    # Every region still alarms on its own dead letters and failed replicator builds.
    names = {
        a["Properties"]["MetricName"] for a in stack.resources("AWS::CloudWatch::Alarm").values()
    }
    assert names == {"ApproximateNumberOfMessagesVisible", "FailedBuilds"}


@pytest.mark.parametrize("region", THREE_REGIONS)
def test_replicator_role_is_exact(platform: Assembly, region: str) -> None:
    stack = region_stack(platform, region)
    policy = next(
        v
        for k, v in stack.resources("AWS::IAM::Policy").items()
        if k.startswith("ReplicatorPolicy")
    )["Properties"]["PolicyDocument"]
    by_sid = {s["Sid"]: s for s in render(policy["Statement"])}

    def arns(resource: str) -> list[str]:
        return sorted(f"arn:aws:codeartifact:{r}:{OWNER}:{resource}" for r in THREE_REGIONS)

    assert sorted(as_list(by_sid["CodeArtifactAuthorizationToken"]["Resource"])) == arns(
        "domain/acme"
    )
    assert sorted(as_list(by_sid["CodeArtifactRepositoryRead"]["Resource"])) == arns(
        "repository/acme/python"
    )
    replicate = by_sid["CodeArtifactPackageReplicate"]
    assert sorted(as_list(replicate["Resource"])) == arns("package/acme/python/pypi/*")
    assert "codeartifact:PublishPackageVersion" in replicate["Action"]
    assert not any(a.startswith("codeartifact:Delete") for a in replicate["Action"])
    assert by_sid["CodeArtifactBearerToken"]["Condition"] == {
        "StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}
    }
    metric = by_sid.get("DriftMetric")
    if region == THREE_REGIONS[0]:
        assert metric is not None
        assert metric["Condition"] == {
            "StringEquals": {"cloudwatch:namespace": "CodeArtifactMultiRegion"}
        }
    else:
        assert metric is None


@pytest.mark.parametrize("region", THREE_REGIONS)
def test_outputs_endpoint_and_arns(platform: Assembly, region: str) -> None:
    outputs = region_stack(platform, region).template["Outputs"]
    assert outputs["PypiEndpoint"]["Value"] == (
        f"https://acme-{OWNER}.d.codeartifact.{region}.amazonaws.com/pypi/python/"
    )
    assert render(outputs["DomainArn"]["Value"]) == "${Domain.Arn}"
    assert render(outputs["RepositoryArn"]["Value"]) == "${Repository.Arn}"


@pytest.mark.parametrize("region", THREE_REGIONS)
def test_logs_and_builds_are_encrypted(platform: Assembly, region: str) -> None:
    stack = region_stack(platform, region)
    assert stack.only("AWS::KMS::Key")["Properties"]["EnableKeyRotation"] is True
    log_group = stack.only("AWS::Logs::LogGroup")["Properties"]
    assert render(log_group["KmsKeyId"]).startswith("${ReplicationKey")
    for project in stack.resources("AWS::CodeBuild::Project").values():
        assert render(project["Properties"]["EncryptionKey"]).startswith("${ReplicationKey")
    queue = stack.only("AWS::SQS::Queue")["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
