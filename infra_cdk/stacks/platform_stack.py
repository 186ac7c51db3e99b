"""The organisation's shared repositories in one region, and replication that runs by itself.

Deployed once per organisation (``-c part=platform``), one stack per configured region:

- the domain (optional KMS key), the repository and the ``pypi-store`` upstream, retained on
  delete, with the domain permissions policy (readers and publishers may get a token) and the
  repository policy (readers read, only publishers publish) from ``[tool.codeartifact.access]``;
- event-driven replication: CodeArtifact emits ``CodeArtifact Package Version State Change`` for
  every version any tool publishes; a rule for this domain and repository starts the replicator
  build (``sync --event``), with a retry policy and a dead-letter queue;
- in the primary region, drift repair: a schedule runs ``sync --all`` and publishes the drifted
  cells as a metric, with alarms on it;
- alarms (dead letters, failed builds, drift) notify an SNS topic in the same region.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from codeartifact_multiregion.config import Access, Config, Target

from .assets import ShippedFile, publisher_wheel, tool
from .buildspec import repair_spec, replicate_spec
from .nag import (
    acknowledge,
    build_key_acknowledgments,
    default_build_log_acknowledgment,
    dlq_acknowledgment,
    replicator_acknowledgments,
)
from .naming import endpoint_url
from .package_group import package_group
from .policy import METRIC_NAMESPACE, metric_statement, replicator_statements
from .repository_stack import create_repositories
from .settings import PUBLISHER_DISTRIBUTION, InfraSettings
from .tools.event_from_env import FIELDS, json_path

EVENT_SOURCE = "aws.codeartifact"
EVENT_DETAIL_TYPE = "CodeArtifact Package Version State Change"
TOKEN_ACTIONS = ["codeartifact:GetAuthorizationToken"]
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
EVENT_RETRIES = 8
EVENT_MAX_AGE = Duration.hours(24)


def render_config(config: Config) -> str:
    """The table the replicator reads, every target spelled out (no profile, no role)."""
    lines = [
        "[tool.codeartifact]",
        f'domain = "{config.targets[0].domain}"',
        f'repository = "{config.targets[0].repository}"',
        "regions = [" + ", ".join(f'"{t.region}"' for t in config.targets) + "]",
    ]
    for target in config.targets:
        lines += [
            "",
            f"[tool.codeartifact.targets.{target.region}]",
            f'domain = "{target.domain}"',
            f'repository = "{target.repository}"',
        ]
        if target.domain_owner:
            lines.append(f'domain-owner = "{target.domain_owner}"')
    return "\n".join(lines) + "\n"


def principal_arns(stack: Stack, principals: tuple[str, ...]) -> list[str]:
    """Account IDs become the account's root principal (the account's own IAM decides)."""
    return [f"arn:{stack.partition}:iam::{p}:root" if p.isdigit() else p for p in principals]


def domain_policy(stack: Stack, access: Access) -> dict[str, Any] | None:
    statements = []
    everyone = [*access.readers, *access.publishers]
    if everyone:
        statements.append(
            {
                "Sid": "ReadersAndPublishersGetTokens",
                "Effect": "Allow",
                "Principal": {"AWS": principal_arns(stack, tuple(dict.fromkeys(everyone)))},
                "Action": TOKEN_ACTIONS,
                "Resource": "*",
            }
        )
    if access.organization_id:
        statements.append(_org_statement("OrganizationGetsTokens", TOKEN_ACTIONS, access))
    return {"Version": "2012-10-17", "Statement": statements} if statements else None


def repository_policy(stack: Stack, access: Access) -> dict[str, Any] | None:
    statements = []
    if access.readers or access.publishers:
        readers = tuple(dict.fromkeys([*access.readers, *access.publishers]))
        statements.append(
            {
                "Sid": "Read",
                "Effect": "Allow",
                "Principal": {"AWS": principal_arns(stack, readers)},
                "Action": READ_ACTIONS,
                "Resource": "*",
            }
        )
    if access.organization_id:
        statements.append(_org_statement("OrganizationReads", READ_ACTIONS, access))
    if access.publishers:
        statements.append(
            {
                "Sid": "Publish",
                "Effect": "Allow",
                "Principal": {"AWS": principal_arns(stack, access.publishers)},
                "Action": PUBLISH_ACTIONS,
                "Resource": "*",
            }
        )
    return {"Version": "2012-10-17", "Statement": statements} if statements else None


def _org_statement(sid: str, actions: list[str], access: Access) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": actions,
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": access.organization_id}},
    }


def event_target_input() -> events.RuleTargetInput:
    """StartBuild parameters: each event field the replicator reads as one variable."""
    return events.RuleTargetInput.from_object(
        {
            "environmentVariablesOverride": [
                {
                    "name": name,
                    "type": "PLAINTEXT",
                    "value": events.EventField.from_path(json_path(where)),
                }
                for name, where in FIELDS.items()
            ]
        }
    )


class PlatformRegionStack(Stack):
    """One region of the platform; ``primary`` adds the scheduled drift repair."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: InfraSettings,
        target: Target,
        primary: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        config = settings.config
        self.config = config
        self.target = target
        owner = target.domain_owner or self.account

        regional = create_repositories(
            self,
            target,
            "organisation platform",
            encrypt_with_kms=settings.domain_kms,
            pypi_upstream=settings.pypi_upstream,
        )
        self.domain, self.repository, self.upstream = (
            regional.domain,
            regional.repository,
            regional.upstream,
        )
        self.domain.permissions_policy_document = domain_policy(self, config.access)
        self.repository.permissions_policy_document = repository_policy(self, config.access)
        # The publisher's own name: the builds install it from here, never from public PyPI.
        self.publisher_group = package_group(
            self,
            "PublisherPackageGroup",
            domain_name=self.domain.attr_name,
            domain_owner=self.domain.attr_owner,
            project_name=PUBLISHER_DISTRIBUTION,
            repository=target.repository,
        )
        self.publisher_group.node.add_dependency(self.repository)

        self.key = kms.Key(
            self,
            "ReplicationKey",
            enable_key_rotation=True,
            description=f"Replication builds, logs and alarms of {target.domain}/"
            f"{target.repository} in {target.region}",
        )
        self.key.grant_encrypt_decrypt(iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com"))
        # CloudWatch alarms publish to the encrypted topic.
        self.key.grant(
            iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*"
        )
        self.logs = logs.LogGroup(
            self,
            "ReplicationLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=self.key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.topic = sns.Topic(
            self,
            "Alarms",
            master_key=self.key,
            enforce_ssl=True,
            display_name=f"CodeArtifact replication {target.domain}/{target.repository}",
        )
        if settings.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(settings.alarm_email))
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )

        self.role = iam.Role(
            self,
            "ReplicatorRole",
            assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
            description="Replicates PyPI packages of one repository between its regions.",
        )
        statements = replicator_statements(self, config)
        if primary:
            statements.append(metric_statement())
        self.replicator_policy = iam.Policy(
            self, "ReplicatorPolicy", statements=statements, roles=[self.role]
        )
        self.wheel = publisher_wheel(self, settings.publisher_wheel)
        event_script = tool(self, "event_from_env.py")
        self.replicator = self._project(
            "Replicator",
            settings,
            replicate_spec(settings.python_version, self.wheel, event_script),
            [self.wheel, event_script],
            config,
            f"sync --event: copy each version published to {target.repository} in "
            f"{target.region} to the other regions.",
        )
        self.rule = events.Rule(
            self,
            "PackageVersionChanged",
            description=f"Every package version change in {target.domain}/{target.repository}",
            event_pattern=events.EventPattern(
                source=[EVENT_SOURCE],
                detail_type=[EVENT_DETAIL_TYPE],
                detail={
                    "domainName": [target.domain],
                    "domainOwner": [owner],
                    "repositoryName": [target.repository],
                    "packageFormat": ["pypi"],
                },
            ),
            targets=[
                targets.CodeBuildProject(
                    self.replicator,
                    event=event_target_input(),
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=EVENT_RETRIES,
                    max_event_age=EVENT_MAX_AGE,
                )
            ],
        )
        self._alarm(
            "DeadLettersAlarm",
            self.dead_letters.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(5), statistic="Maximum"
            ),
            "Events the replicator could not be started for (after retries) are waiting in "
            "the dead-letter queue: those versions did not replicate. Run sync --all.",
        )
        self._alarm(
            "ReplicatorFailedAlarm",
            self.replicator.metric_failed_builds(period=Duration.hours(1), statistic="Sum"),
            "A replicator build failed: a version may be missing in a region until the "
            "nightly repair. Read the build log.",
        )
        if primary:
            self._repair(settings, config, target)

        CfnOutput(
            self,
            "PypiEndpoint",
            value=endpoint_url(owner, target.region, target.domain, target.repository),
            description="pip/twine index URL of this region's repository.",
        )
        CfnOutput(self, "DomainArn", value=self.domain.attr_arn)
        CfnOutput(self, "RepositoryArn", value=self.repository.attr_arn)
        self._acknowledge()

    def _project(
        self,
        construct_id: str,
        settings: InfraSettings,
        spec: dict[str, Any],
        files: list[ShippedFile],
        config: Config,
        description: str,
    ) -> codebuild.Project:
        variables = {
            f.variable: codebuild.BuildEnvironmentVariable(value=f.asset.s3_object_url)
            for f in files
        }
        variables["CODEARTIFACT_CONFIG"] = codebuild.BuildEnvironmentVariable(
            value=render_config(config)
        )
        project = codebuild.Project(
            self,
            construct_id,
            description=description,
            role=self.role,
            build_spec=codebuild.BuildSpec.from_object(spec),
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                compute_type=codebuild.ComputeType.SMALL,
                privileged=False,
            ),
            environment_variables=variables,
            encryption_key=self.key,
            timeout=Duration.minutes(60),
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.logs)
            ),
            grant_report_group_permissions=False,
        )
        for shipped in files:
            shipped.grant_read(self.role)
        return project

    def _repair(self, settings: InfraSettings, config: Config, target: Target) -> None:
        drift_script = tool(self, "drift_count.py")
        self.repair = self._project(
            "Repair",
            settings,
            repair_spec(
                settings.python_version, self.wheel, drift_script, target.domain, target.repository
            ),
            [self.wheel, drift_script],
            config,
            "sync --all: repair drift between the regions and publish the drifted cells.",
        )
        self.schedule = events.Rule(
            self,
            "RepairSchedule",
            schedule=events.Schedule.expression(settings.repair_schedule),
            description="Nightly drift repair (sync --all) across every configured region.",
            targets=[
                targets.CodeBuildProject(
                    self.repair,
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=2,
                    max_event_age=Duration.hours(2),
                )
            ],
        )
        dimensions = {"Domain": target.domain, "Repository": target.repository}
        for metric_name, meaning in (
            (
                "DriftedCells",
                "The repair found files missing or different in some region: "
                "event-driven replication missed them (the repair has copied what it could).",
            ),
            (
                "UnrepairedCells",
                "Files still missing or different after the repair: a "
                "conflict (same name, other bytes) or an unreadable region needs a person.",
            ),
        ):
            metric = cloudwatch.Metric(
                namespace=METRIC_NAMESPACE,
                metric_name=metric_name,
                dimensions_map=dimensions,
                statistic="Maximum",
                period=Duration.days(1),
            )
            self._alarm(f"{metric_name}Alarm", metric, meaning)
        self._alarm(
            "RepairFailedAlarm",
            self.repair.metric_failed_builds(period=Duration.days(1), statistic="Sum"),
            "The drift repair build failed (sync --all incomplete, or a bad report).",
        )

    def _alarm(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(cw_actions.SnsAction(self.topic))

    def _acknowledge(self) -> None:
        acknowledge([self.replicator_policy], replicator_acknowledgments(self, self.config))
        acknowledge([self.role], build_key_acknowledgments())
        projects = [self.replicator, *([self.repair] if hasattr(self, "repair") else [])]
        acknowledge(
            [self.role],
            [default_build_log_acknowledgment(self, p.project_name) for p in projects],
        )
        acknowledge([self.dead_letters], [dlq_acknowledgment()])
