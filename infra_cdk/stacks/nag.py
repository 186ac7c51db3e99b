"""cdk-nag AwsSolutions acknowledgements, each with the reason it does not apply here.

cdk-nag 3 acknowledges findings one at a time (``Rule[finding]``) through CDK's own
``Validations``, on the construct that raised them; a new finding, or a known finding on a new
construct, therefore fails synthesis instead of hiding behind a blanket suppression.

Every wildcard acknowledged below comes from CDK's own grants (artifact bucket and key, build
keys, the default CodeBuild log group), from actions that have no resource type
(``sts:GetServiceBearerToken``, ``cloudwatch:PutMetricData``, both conditioned), or, for the
platform's replicator only, from ``package/<domain>/<repo>/pypi/*``: it copies whatever any tool
publishes. The publisher's CodeArtifact permissions are exact (see policy.py) and never
acknowledged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aws_cdk import Acknowledgment, ArnFormat, Stack, Validations
from constructs import IConstruct

from .policy import replicator_statements

# "<plugin>::<rule>[<finding>]", the form cdk-nag 3 prints when it asks for one.
RULE = "AwsSolutions::AwsSolutions-IAM5"

_ARTIFACT_S3 = (
    "CDK's own grant (Bucket.grantReadWrite) on the pipeline artifact bucket, through which "
    "CodePipeline hands the source to the build and the JSON report back; the {action} family "
    "applies only to that one bucket and its objects."
)
_ARTIFACT_KMS = (
    "CDK's own grant on the artifact bucket's customer key (Key.grantEncryptDecrypt via the "
    "bucket grant): {action} is needed to write SSE-KMS artifacts and is limited to that key."
)


def artifact_store_acknowledgments(bucket_logical_id: str) -> list[Acknowledgment]:
    """Findings raised by CDK's artifact-store grants to the pipeline and its action roles."""
    acks = [
        Acknowledgment(id=f"{RULE}[Action::{action}]", reason=_ARTIFACT_S3.format(action=action))
        for action in (
            "s3:Abort*",
            "s3:DeleteObject*",
            "s3:GetBucket*",
            "s3:GetObject*",
            "s3:List*",
        )
    ]
    acks += [
        Acknowledgment(id=f"{RULE}[Action::{action}]", reason=_ARTIFACT_KMS.format(action=action))
        for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*")
    ]
    acks.append(
        Acknowledgment(
            id=f"{RULE}[Resource::<{bucket_logical_id}.Arn>/*]",
            reason="CDK's own grant on the objects of the pipeline artifact bucket: CodePipeline "
            "names artifact objects per execution, so they cannot be listed in advance; the "
            "wildcard never leaves that bucket.",
        )
    )
    return acks


def reports_acknowledgment(bucket_logical_id: str) -> Acknowledgment:
    return Acknowledgment(
        id=f"{RULE}[Resource::<{bucket_logical_id}.Arn>/reports/*]",
        reason="s3:PutObject only, under the reports/ prefix of this pipeline's own artifact "
        "bucket: each build writes its publish report as reports/<build number>-"
        "publish-report.json, a key that exists only once the build runs.",
    )


BEARER_TOKEN_ACK = Acknowledgment(
    id=f"{RULE}[Resource::*]",
    reason="sts:GetServiceBearerToken has no resource type, so IAM accepts only Resource '*'; "
    "the statement is scoped by its sts:AWSServiceName = codeartifact.amazonaws.com condition, "
    "as CodeArtifact's documentation prescribes.",
)


def default_build_log_acknowledgment(stack: Stack, project_name: str) -> Acknowledgment:
    """The /aws/codebuild/<project>:* grant CDK always adds, even with our own log group.

    ``project_name`` is the project's name attribute (a Ref), as in CDK's own grant.

    The finding's ID embeds the ARN as cdk-nag renders it (partition and account literal or
    ``<AWS::...>`` depending on the environment), so it is computed from the same expression.
    """
    arn = stack.format_arn(
        service="logs",
        resource="log-group",
        resource_name=f"/aws/codebuild/{project_name}",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    rendered = render_for_nag(stack.resolve(arn))
    return Acknowledgment(
        id=f"{RULE}[Resource::{rendered}:*]",
        reason="CDK's own grant (Project) on the CodeBuild default log group "
        "/aws/codebuild/<this project> and its streams; stream names are chosen per build. "
        "The build writes to the explicit PublishLogs group, so this grant is unused.",
    )


def render_for_nag(value: Any) -> str:
    """A resolved CloudFormation value written the way cdk-nag writes it in finding IDs."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(render_for_nag(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        resource, attribute = value["Fn::GetAtt"]
        return f"<{resource}.{attribute}>"
    raise ValueError(f"cannot render {value!r} as cdk-nag does")


def acknowledge(constructs: Iterable[IConstruct], acks: Iterable[Acknowledgment]) -> None:
    ack_list = list(acks)
    for construct in constructs:
        Validations.of(construct).acknowledge(*ack_list)


def replicator_acknowledgments(stack: Stack, config: Any) -> list[Acknowledgment]:
    """The replicator's two wildcards: every PyPI package of the repository, and ``*``."""
    acks = [
        Acknowledgment(
            id=f"{RULE}[Resource::*]",
            reason="sts:GetServiceBearerToken and cloudwatch:PutMetricData have no resource "
            "type, so IAM accepts only Resource '*'; the first is scoped by sts:AWSServiceName "
            "= codeartifact.amazonaws.com, the second by cloudwatch:namespace "
            "= CodeArtifactMultiRegion.",
        )
    ]
    packages = {
        render_for_nag(stack.resolve(resource))
        for statement in replicator_statements(stack, config)
        for resource in statement.resources
    }
    acks += [
        Acknowledgment(
            id=f"{RULE}[Resource::{rendered}]",
            reason="Every PyPI package of this one repository in one configured region: the "
            "replicator copies whatever any tool publishes, so package names are not known "
            "in advance. Domain, repository, format and region are fixed.",
        )
        for rendered in sorted(p for p in packages if p.endswith("/pypi/*"))
    ]
    return acks


def build_key_acknowledgments() -> list[Acknowledgment]:
    return [
        Acknowledgment(id=f"{RULE}[Action::{action}]", reason=_BUILD_KMS.format(action=action))
        for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*")
    ]


_BUILD_KMS = (
    "CDK's own grant (Project encryptionKey) on this stack's replication key: CodeBuild needs "
    "{action} to encrypt build output and logs with it; the grant is limited to that one key."
)


def dlq_acknowledgment() -> Acknowledgment:
    return Acknowledgment(
        id="AwsSolutions::AwsSolutions-SQS3",
        reason="This queue is itself the dead-letter queue: of the replication queue (its "
        "redrive policy) and of the rule's and the repair schedule's targets (EventBridge "
        "DeadLetterConfig); a dead-letter queue of a dead-letter queue would only hide losses.",
    )


def function_acknowledgments(stack: Stack, config: Any) -> list[Acknowledgment]:
    """The Lambda replicator's policy: the replicator's package wildcards and the bearer token
    (no PutMetricData: its lag metric is embedded in its log)."""
    return [BEARER_TOKEN_ACK, *replicator_acknowledgments(stack, config)[1:]]


def runtime_acknowledgment() -> Acknowledgment:
    return Acknowledgment(
        id="AwsSolutions::AwsSolutions-L1",
        reason="The runtime is pinned to the Python the bundle is built and import-tested for "
        "(pip --python-version 3.12, a clean 3.12 in the tests), a runtime AWS supports; a "
        "newer one is a deliberate change of the lock file, the bundle and the runtime together.",
    )
