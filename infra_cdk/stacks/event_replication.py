"""Event-driven replication in one region: EventBridge rule -> SQS queue -> Lambda replicator.

CodeArtifact emits ``CodeArtifact Package Version State Change`` for every version of the
repository: releases, the replicator's own copies arriving from the other regions, and every
public version retained from the ``pypi-store`` upstream. The rule puts each on a queue; the
function (``codeartifact_multiregion.aws_lambda:handler``) takes them in batches, asks the
regions what they hold, copies what is missing, and reports back only the records it could not
finish, which SQS retries and after ``MAX_RECEIVES`` moves to the dead-letter queue. An echo or
an upstream-cached version costs a few reads, not a build.

Quotas. Every region's function reads and writes every region, so one region's control plane
serves ``regions x RESERVED_CONCURRENCY`` replicator processes at most, plus the nightly repair.
Each process takes ``QUOTA_SHARE`` of every quota (``CODEARTIFACT_MULTIREGION_QUOTA_SHARE``):
half the account's quota shared by the fleet, the other half left to the repair. The limiter
never goes below one request a second, so ``2 x regions x concurrency`` must stay within the
smallest quota (GetAuthorizationToken, 40/s): ``reserved_concurrency`` picks the largest
concurrency up to ``MAX_RESERVED`` that does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs

from codeartifact_multiregion.aws_lambda import CONFIG_VARIABLE, LAG_METRIC, NAMESPACE
from codeartifact_multiregion.base.config import Config, Target
from codeartifact_multiregion.base.retry import QUOTA_SHARE

from .checkov import skip_checks
from .lambda_bundle import lambda_bundle

EVENT_SOURCE = "aws.codeartifact"
EVENT_DETAIL_TYPE = "CodeArtifact Package Version State Change"
HANDLER = "codeartifact_multiregion.aws_lambda.handler"
RUNTIME = lambda_.Runtime.PYTHON_3_12  # lambda_bundle.PYTHON_VERSION
FUNCTION_TIMEOUT = Duration.minutes(5)
FUNCTION_MEMORY_MB = 512
# AWS's advice for an SQS event source: a visibility timeout of six times the function's.
VISIBILITY_TIMEOUT = Duration.minutes(5 * 6)
MAX_RECEIVES = 5  # then the dead-letter queue: about 2.5 hours of retries
BATCH_SIZE = 10
BATCH_WINDOW = Duration.seconds(2)
# Each request's deadline stays well under the function's timeout.
REQUEST_DEADLINE_SECONDS = 120
SMALLEST_QUOTA = 40  # GetAuthorizationToken per second, per account and region
MAX_RESERVED = 2
EVENT_RETRIES = 8  # EventBridge -> SQS delivery
EVENT_MAX_AGE = Duration.hours(24)
LAG_ALARM_SECONDS = 600
LAG_PERIOD = Duration.minutes(15)


def reserved_concurrency(regions: int) -> int:
    """The most functions per region (up to MAX_RESERVED) whose fleet fits the smallest quota."""
    return max(1, min(MAX_RESERVED, SMALLEST_QUOTA // (2 * regions)))


def quota_share(regions: int) -> float:
    """Each process's share: the fleet (regions x concurrency) takes half of every quota."""
    return 1 / (2 * regions * reserved_concurrency(regions))


def event_pattern(target: Target, owner: str) -> events.EventPattern:
    return events.EventPattern(
        source=[EVENT_SOURCE],
        detail_type=[EVENT_DETAIL_TYPE],
        detail={
            "domainName": [target.domain],
            "domainOwner": [owner],
            "repositoryName": [target.repository],
            "packageFormat": ["pypi"],
        },
    )


@dataclass
class EventReplication:
    rule: events.Rule
    queue: sqs.Queue
    function: lambda_.Function
    role: iam.Role
    policy: iam.Policy
    lag: cloudwatch.Metric


def event_replication(
    stack: Stack,
    *,
    config: Config,
    target: Target,
    owner: str,
    key: kms.IKey,
    log_group: logs.ILogGroup,
    dead_letters: sqs.IQueue,
    statements: list[iam.PolicyStatement],
    wheel: Path,
    wheel_sha256: str,
    config_text: str,
) -> EventReplication:
    """The queue, the function fed by it and the rule feeding it, in ``stack``'s region."""
    regions = len(config.targets)
    queue = sqs.Queue(
        stack,
        "ReplicationQueue",
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        visibility_timeout=VISIBILITY_TIMEOUT,
        retention_period=Duration.days(4),
        dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_RECEIVES, queue=dead_letters),
    )
    role = iam.Role(
        stack,
        "ReplicatorFunctionRole",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description="The Lambda replicator: copies PyPI packages of one repository between its "
        "regions.",
    )
    policy = iam.Policy(stack, "ReplicatorFunctionPolicy", statements=statements, roles=[role])
    log_group.grant_write(role)
    concurrency = reserved_concurrency(regions)
    function = lambda_.Function(
        stack,
        "ReplicatorFunction",
        runtime=RUNTIME,
        architecture=lambda_.Architecture.ARM_64,
        handler=HANDLER,
        code=lambda_.Code.from_asset(str(lambda_bundle(wheel, wheel_sha256))),
        role=role,
        timeout=FUNCTION_TIMEOUT,
        memory_size=FUNCTION_MEMORY_MB,
        reserved_concurrent_executions=concurrency,
        log_group=log_group,
        environment_encryption=key,
        environment={
            CONFIG_VARIABLE: config_text,
            QUOTA_SHARE: f"{quota_share(regions):.6f}",
            "CODEARTIFACT_MULTIREGION_DEADLINE": str(REQUEST_DEADLINE_SECONDS),
        },
        description=f"Replicates each version published to {target.repository} in "
        f"{target.region} to the other regions (sync --event, batched).",
    )
    function.add_event_source(
        sources.SqsEventSource(
            queue,
            batch_size=BATCH_SIZE,
            max_batching_window=BATCH_WINDOW,
            report_batch_item_failures=True,
            max_concurrency=concurrency if concurrency >= 2 else None,
        )
    )
    skip_checks(
        function,
        {
            "CKV_AWS_117": "CodeArtifact's endpoints are public AWS endpoints and the function "
            "reaches every configured region's; a VPC would need a NAT gateway or interface "
            "endpoints per region for no isolation gained.",
            "CKV_AWS_116": "The function is invoked synchronously by its SQS event source, never "
            "asynchronously: failed records return to the queue and its redrive policy moves them "
            "to the dead-letter queue after "
            f"{MAX_RECEIVES} receives.",
        },
    )
    # EventBridge encrypts what it puts on either queue (its target and its dead letters).
    key.grant(iam.ServicePrincipal("events.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
    rule = events.Rule(
        stack,
        "PackageVersionChanged",
        description=f"Every package version change in {target.domain}/{target.repository}",
        event_pattern=event_pattern(target, owner),
        targets=[
            targets.SqsQueue(
                queue,
                dead_letter_queue=dead_letters,
                retry_attempts=EVENT_RETRIES,
                max_event_age=EVENT_MAX_AGE,
            )
        ],
    )
    lag = cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=LAG_METRIC,
        dimensions_map={"Domain": target.domain, "Repository": target.repository},
        statistic="p99",
        period=LAG_PERIOD,
        unit=cloudwatch.Unit.SECONDS,
    )
    return EventReplication(rule, queue, function, role, policy, lag)
