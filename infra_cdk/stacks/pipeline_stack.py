"""CodePipeline V2 in the primary region: Source, then a Build stage that runs the publisher.

The sample this replaces used one CodeBuild container per region running ``twine upload
--skip-existing`` (which current twine refuses for CodeArtifact). One build now runs the plugin,
which publishes to every region concurrently, checks sha256 before and after, and fails the stage
on exit code 1 or 2. Everything at rest is encrypted with a rotating customer key, which is what
cdk-nag's AwsSolutions pack asks of a pipeline.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, CfnOutput, CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codeconnections as codeconnections
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from .assets import ShippedFile, publisher_wheel
from .buildspec import REPORT_PREFIX, build_spec
from .nag import (
    BEARER_TOKEN_ACK,
    acknowledge,
    artifact_store_acknowledgments,
    default_build_log_acknowledgment,
    reports_acknowledgment,
)
from .policy import connection_statement, publisher_statements
from .settings import InfraSettings


class PipelineStack(Stack):
    """Source and Build stages; the build role may publish only this project's package."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: InfraSettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings

        # One rotating customer key for artifacts at rest and for the build (cdk-nag KMS5, CB4).
        self.key = kms.Key(
            self,
            "ArtifactKey",
            description=f"Pipeline artifacts and build output of {settings.project_name}",
            enable_key_rotation=True,
        )
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            # S3 server access logging can deliver only to SSE-S3 buckets.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(365))],
        )
        self.artifacts = s3.Bucket(
            self,
            "Artifacts",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="artifacts/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=Duration.days(90),
                    noncurrent_version_expiration=Duration.days(30),
                )
            ],
        )

        # An explicit log group: retention is ours to set, and the build role is granted writes
        # to this one group instead of a wildcard over /aws/codebuild/<project>:*.
        self.build_logs = logs.LogGroup(
            self,
            "PublishLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.RETAIN,
            encryption_key=self.key,
        )
        self.key.grant_encrypt_decrypt(iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com"))
        self.wheel: ShippedFile = publisher_wheel(self, settings.publisher_wheel)
        self.project = codebuild.PipelineProject(
            self,
            "Publish",
            description=f"Publish {settings.project_name} to CodeArtifact in "
            f"{', '.join(settings.config.regions)} ({settings.publisher}).",
            build_spec=codebuild.BuildSpec.from_object(build_spec(settings, self.wheel)),
            environment_variables={
                self.wheel.variable: codebuild.BuildEnvironmentVariable(
                    value=self.wheel.asset.s3_object_url
                ),
                # The report survives a failed run here (and in the log): CodePipeline keeps
                # no output artifact of a failed action.
                "REPORT_BUCKET": codebuild.BuildEnvironmentVariable(
                    value=self.artifacts.bucket_name
                ),
            },
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                compute_type=codebuild.ComputeType.SMALL,
                privileged=False,
            ),
            encryption_key=self.key,
            timeout=Duration.minutes(30),
            logging=codebuild.LoggingOptions(
                cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=self.build_logs)
            ),
            # The JSON report is not a CodeBuild test/coverage format; it is kept as an artifact.
            grant_report_group_permissions=False,
        )
        assert self.project.role is not None
        self.wheel.grant_read(self.project.role)
        self.project.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="KeepPublishReports",
                actions=["s3:PutObject"],
                resources=[self.artifacts.arn_for_objects(f"{REPORT_PREFIX}/*")],
            )
        )
        self.publisher_policy = iam.Policy(
            self,
            "PublisherPolicy",
            statements=list(publisher_statements(self, settings.config, settings.project_name)),
            roles=[self.project.role],
        )

        source_output = codepipeline.Artifact("Source")
        report_output = codepipeline.Artifact("PublishReport")
        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_type=codepipeline.PipelineType.V2,
            artifact_bucket=self.artifacts,
            restart_execution_on_update=False,
            stages=[
                codepipeline.StageProps(
                    stage_name="Source", actions=[self._source_action(source_output)]
                ),
                codepipeline.StageProps(
                    stage_name="Build",
                    actions=[
                        actions.CodeBuildAction(
                            action_name="Publish",
                            project=self.project,
                            input=source_output,
                            outputs=[report_output],
                        )
                    ],
                ),
            ],
        )
        CfnOutput(self, "PipelineName", value=self.pipeline.pipeline_name)
        CfnOutput(self, "BuildRoleArn", value=self.project.role.role_arn)
        self._acknowledge_findings()

    def _acknowledge_findings(self) -> None:
        """Acknowledge on the exact roles CDK grants the artifact store to, nowhere broader."""
        bucket = self.artifacts.node.default_child
        assert isinstance(bucket, CfnResource)
        roles: list[IConstruct] = [self.pipeline.role]
        if self.project.role is not None:
            roles.append(self.project.role)
        roles += [
            node
            for node in self.pipeline.node.find_all()
            if node.node.id == "CodePipelineActionRole"
        ]
        source_role = getattr(self, "source_role", None)
        if source_role is not None:
            roles.append(source_role)
        bucket_id = self.resolve(bucket.logical_id)
        acknowledge(roles, artifact_store_acknowledgments(bucket_id))
        acknowledge([self.publisher_policy], [BEARER_TOKEN_ACK])
        if self.project.role is not None:
            acknowledge([self.project.role], [reports_acknowledgment(bucket_id)])
        if self.project.role is not None:
            acknowledge(
                [self.project.role],
                [default_build_log_acknowledgment(self, self.project.project_name)],
            )

    def _source_action(self, output: codepipeline.Artifact) -> codepipeline.IAction:
        """CodeConnections by default: CodeCommit is closed to new AWS customers."""
        settings = self.settings
        if settings.source == "codecommit":
            repository = codecommit.Repository.from_repository_name(
                self, "SourceRepository", settings.repo
            )
            return actions.CodeCommitSourceAction(
                action_name="Source",
                repository=repository,
                branch=settings.branch,
                output=output,
                trigger=actions.CodeCommitTrigger.EVENTS,
            )
        connection_arn = settings.connection_arn
        if connection_arn is None:
            # Created PENDING; someone completes the hand-shake once in the console (README).
            connection = codeconnections.CfnConnection(
                self,
                "Connection",
                connection_name=f"{settings.stack_prefix}-src"[:32],
                # A self-managed provider is reached through its host (settings require it).
                provider_type=(
                    None if settings.connection_host_arn else settings.connection_provider
                ),
                host_arn=settings.connection_host_arn,
            )
            connection_arn = connection.attr_connection_arn
            CfnOutput(
                self,
                "ConnectionArn",
                value=connection_arn,
                description="Complete the hand-shake in the console before the first run.",
            )
        if settings.repo_is_placeholder:
            Annotations.of(self).add_warning_v2(
                "codeartifact-multiregion:repo",
                "No -c repo=OWNER/NAME given: the Source action points at OWNER/REPOSITORY. "
                "Set it before deploying.",
            )
        owner, repo = settings.repo.split("/", 1)
        # CDK grants only codestar-connections:UseConnection; a connection created under the
        # codeconnections prefix needs that prefix's action, so the role gets both.
        self.source_role = iam.Role(
            self,
            "SourceActionRole",
            assumed_by=iam.AccountRootPrincipal(),
            description="Source action: fetch the release branch through the connection.",
        )
        self.source_role.add_to_principal_policy(connection_statement(connection_arn))
        return actions.CodeStarConnectionsSourceAction(
            role=self.source_role,
            action_name="Source",
            connection_arn=connection_arn,
            owner=owner,
            repo=repo,
            branch=settings.branch,
            output=output,
            trigger_on_push=True,
        )
