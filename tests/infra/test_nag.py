"""cdk-nag AwsSolutions: nothing unacknowledged, and every acknowledgement is specific."""

from __future__ import annotations

import re

import pytest

from tests.infra.assembly import Assembly
from tests.infra.conftest import VARIANTS

pytestmark = pytest.mark.slow

PREFIX = "AwsSolutions::AwsSolutions-IAM5["
ARTIFACT_IDS = {
    *(
        f"{PREFIX}Action::{a}]"
        for a in (
            "s3:Abort*",
            "s3:DeleteObject*",
            "s3:GetBucket*",
            "s3:GetObject*",
            "s3:List*",
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*",
        )
    ),
    f"{PREFIX}Resource::<Artifacts82DD59A1.Arn>/*]",
    f"{PREFIX}Resource::<Artifacts82DD59A1.Arn>/reports/*]",
    f"{PREFIX}Resource::*]",
}
# The complete list per kind of stack: a new acknowledgement must be added here on purpose.
PLATFORM_IDS = {
    f"{PREFIX}Action::kms:GenerateDataKey*]",
    f"{PREFIX}Action::kms:ReEncrypt*]",
    f"{PREFIX}Resource::*]",
    "AwsSolutions::AwsSolutions-SQS3",
}
REPLICATOR_PACKAGES = re.compile(
    re.escape(PREFIX) + r"Resource::arn:aws:codeartifact:[a-z0-9-]+:111122223333:"
    r"package/acme/python/pypi/\*\]"
)
BUILD_LOG = re.compile(
    re.escape(PREFIX) + r"Resource::arn:aws:logs:[a-z0-9-]+:"
    r"(111122223333|<AWS::AccountId>):log-group:/aws/codebuild/<\w+>:\*\]"
)


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_unacknowledged_findings(assemblies: dict[str, Assembly], variant: str) -> None:
    assembly = assemblies[variant]
    assert assembly.error is None, assembly.error
    reports = {r["pluginName"]: r for r in assembly.validation_report["pluginReports"]}
    assert set(reports) == {"AwsSolutions"}
    assert reports["AwsSolutions"]["conclusion"] == "success"
    assert reports["AwsSolutions"]["violations"] == []


def _acks(assembly: Assembly) -> dict[str, dict[str, dict[str, str]]]:
    return {stack.name: stack.acknowledgments() for stack in assembly.stacks}


@pytest.mark.parametrize("variant", ["three", "options", "alpha", "beta", "gamma", "adopted"])
def test_package_acknowledgements_are_expected_and_specific(
    assemblies: dict[str, Assembly], variant: str
) -> None:
    seen: set[str] = set()
    for name, acks in _acks(assemblies[variant]).items():
        ci = name.endswith(("-publish-pipeline", "-publish-github"))
        if not ci:
            assert acks == {}, f"{name} acknowledges {acks}"
            continue
        for path, rules in acks.items():
            # On the roles CDK grants to and on our policy; never stack- or app-wide.
            assert path.endswith(
                ("/Role", "/CodePipelineActionRole", "/SourceActionRole", "/PublisherPolicy")
            ), path
            for rule_id, reason in rules.items():
                seen.add(rule_id)
                assert len(reason) >= 80, (rule_id, reason)
                if rule_id.endswith("Resource::*]"):
                    assert path.endswith("/PublisherPolicy")
                    assert "sts:GetServiceBearerToken" in reason
                    assert "codeartifact.amazonaws.com" in reason
                elif rule_id.endswith("/reports/*]"):
                    assert "reports/" in reason and "s3:PutObject" in reason
                else:
                    assert "CDK's own grant" in reason, (rule_id, reason)
                    assert "codeartifact" not in rule_id.lower()
    log_ids = {i for i in seen if BUILD_LOG.fullmatch(i)}
    assert seen - log_ids <= ARTIFACT_IDS
    assert f"{PREFIX}Resource::*]" in seen


@pytest.mark.parametrize("variant", ["platform", "platform_adopted"])
def test_platform_acknowledgements_are_expected_and_specific(
    assemblies: dict[str, Assembly], variant: str
) -> None:
    for name, acks in _acks(assemblies[variant]).items():
        seen: dict[str, str] = {}
        for path, rules in acks.items():
            assert path.endswith(("/ReplicatorRole", "/ReplicatorPolicy", "/DeadLetters")), path
            for rule_id, reason in rules.items():
                assert len(reason) >= 80, (rule_id, reason)
                seen[rule_id] = reason
        packages = {i for i in seen if REPLICATOR_PACKAGES.fullmatch(i)}
        logs = {i for i in seen if BUILD_LOG.fullmatch(i)}
        # One package wildcard per configured region: only PyPI packages of acme/python.
        assert len(packages) == len(assemblies[variant].stacks), (name, packages)
        assert set(seen) - packages - logs == PLATFORM_IDS, name
        assert "cloudwatch:namespace" in seen[f"{PREFIX}Resource::*]"]
        assert "dead-letter queue" in seen["AwsSolutions::AwsSolutions-SQS3"]
