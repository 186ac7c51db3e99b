"""part=platform: shared repositories, access policies, event-driven replication, drift repair."""

from __future__ import annotations

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


def _logical(stack: StackArtifact, type_: str, prefix: str) -> str:
    return next(k for k in stack.resources(type_) if k.startswith(prefix))


@pytest.mark.parametrize("region", THREE_REGIONS)
def test_the_rule_feeds_the_queue_and_the_queue_feeds_the_function(
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
    queue = _logical(stack, "AWS::SQS::Queue", "ReplicationQueue")
    dead = _logical(stack, "AWS::SQS::Queue", "DeadLetters")
    (target,) = rule["Targets"]
    assert render(target["Arn"]) == f"${{{queue}.Arn}}"
    assert "InputTransformer" not in target  # the whole event is the message
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 86400}
    assert render(target["DeadLetterConfig"]["Arn"]) == f"${{{dead}.Arn}}"
    # No rule starts a build per event (the only build left is the nightly repair).
    for other in stack.resources("AWS::Events::Rule").values():
        for each in other["Properties"]["Targets"]:
            arn = render(each["Arn"])
            assert "Replicator" not in arn and ("Repair" in arn or arn == f"${{{queue}.Arn}}")

    function = _logical(stack, "AWS::Lambda::Function", "ReplicatorFunction")
    (mapping,) = stack.resources("AWS::Lambda::EventSourceMapping").values()
    props = mapping["Properties"]
    assert render(props["EventSourceArn"]) == f"${{{queue}.Arn}}"
    assert render(props["FunctionName"]) == f"${{{function}}}"
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["BatchSize"] == 10 and props["MaximumBatchingWindowInSeconds"] == 2
    assert props["ScalingConfig"] == {"MaximumConcurrency": 2}


@pytest.mark.parametrize("region", THREE_REGIONS)
def test_the_function_runs_the_bundle_with_reserved_concurrency(
    platform: Assembly, region: str
) -> None:
    stack = region_stack(platform, region)
    props = stack.only("AWS::Lambda::Function")["Properties"]
    assert props["Handler"] == "codeartifact_multiregion.aws_lambda.handler"
    assert (props["Runtime"], props["Architectures"]) == ("python3.12", ["arm64"])
    assert props["Timeout"] == 300 and props["MemorySize"] == 512
    # 3 regions x 2 functions, each at 1/12 of every quota: half of it for the fleet.
    assert props["ReservedConcurrentExecutions"] == 2
    variables = props["Environment"]["Variables"]
    assert variables["CODEARTIFACT_MULTIREGION_QUOTA_SHARE"] == f"{1 / 12:.6f}"
    assert variables["CODEARTIFACT_CONFIG"].startswith("[tool.codeartifact]\n")
    assert render(props["KmsKeyArn"]).startswith("${ReplicationKey")
    assert render(props["LoggingConfig"]["LogGroup"]).startswith("${ReplicationLogs")
    # The code is the bundle asset: a folder, zipped by CDK, named by its content hash.
    assert props["Code"]["S3Key"].endswith(".zip")
    queue = next(
        v["Properties"]
        for k, v in stack.resources("AWS::SQS::Queue").items()
        if k.startswith("ReplicationQueue")
    )
    assert queue["VisibilityTimeout"] >= 6 * props["Timeout"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    assert render(queue["RedrivePolicy"]["deadLetterTargetArn"]).startswith("${DeadLetters")


@pytest.mark.parametrize("region", THREE_REGIONS)
def test_queues_use_the_stacks_key_and_refuse_plain_http(platform: Assembly, region: str) -> None:
    stack = region_stack(platform, region)
    queues = stack.resources("AWS::SQS::Queue")
    assert len(queues) == 2
    for queue in queues.values():
        assert render(queue["Properties"]["KmsMasterKeyId"]).startswith("${ReplicationKey")
    policies = [render(p["Properties"]) for p in stack.resources("AWS::SQS::QueuePolicy").values()]
    for logical in queues:
        denied = [
            s
            for p in policies
            if f"${{{logical}}}" in p["Queues"]
            for s in p["PolicyDocument"]["Statement"]
            if s["Effect"] == "Deny"
        ]
        assert denied and denied[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("region", THREE_REGIONS)
def test_the_lag_metric_has_its_p99_alarm(platform: Assembly, region: str) -> None:
    stack = region_stack(platform, region)
    alarms = {k: a["Properties"] for k, a in stack.resources("AWS::CloudWatch::Alarm").items()}
    lag = next(a for k, a in alarms.items() if k.startswith("ReplicationLagAlarm"))
    assert (lag["Namespace"], lag["MetricName"]) == (
        "CodeArtifactMultiRegion",
        "ReplicationLagSeconds",
    )
    assert lag["ExtendedStatistic"] == "p99" and lag["Period"] == 900
    assert lag["Dimensions"] == [
        {"Name": "Domain", "Value": "acme"},
        {"Name": "Repository", "Value": "python"},
    ]
    assert lag["Threshold"] == 600 and lag["ComparisonOperator"] == "GreaterThanThreshold"
    errors = next(a for k, a in alarms.items() if k.startswith("ReplicatorErrorsAlarm"))
    assert (errors["Namespace"], errors["MetricName"]) == ("AWS/Lambda", "Errors")


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
        "Errors",
        "ReplicationLagSeconds",
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
    assert stack.resources("AWS::CodeBuild::Project") == {}
    # Every region alarms on its own dead letters, function errors and replication lag.
    names = {
        a["Properties"]["MetricName"] for a in stack.resources("AWS::CloudWatch::Alarm").values()
    }
    assert names == {"ApproximateNumberOfMessagesVisible", "Errors", "ReplicationLagSeconds"}


def _statements(stack: StackArtifact, prefix: str) -> dict[str, dict[str, Any]]:
    policy = next(
        v for k, v in stack.resources("AWS::IAM::Policy").items() if k.startswith(prefix)
    )["Properties"]["PolicyDocument"]
    return {s["Sid"]: s for s in render(policy["Statement"])}


@pytest.mark.parametrize("region", THREE_REGIONS)
def test_replicator_roles_are_exact(platform: Assembly, region: str) -> None:
    stack = region_stack(platform, region)

    def arns(resource: str) -> list[str]:
        return sorted(f"arn:aws:codeartifact:{r}:{OWNER}:{resource}" for r in THREE_REGIONS)

    primary = region == THREE_REGIONS[0]
    for prefix in ["ReplicatorFunctionPolicy", *(["ReplicatorPolicy"] if primary else [])]:
        by_sid = _statements(stack, prefix)
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
        if prefix == "ReplicatorPolicy":  # the repair build puts its drift counts
            assert metric is not None
            assert metric["Condition"] == {
                "StringEquals": {"cloudwatch:namespace": "CodeArtifactMultiRegion"}
            }
        else:  # the function's lag is embedded in its log: no PutMetricData
            assert set(by_sid) == {
                "CodeArtifactAuthorizationToken",
                "CodeArtifactRepositoryRead",
                "CodeArtifactPackageReplicate",
                "CodeArtifactBearerToken",
            }
    assert any(k.startswith("ReplicatorRole") for k in stack.resources("AWS::IAM::Role")) is primary


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
