"""cdk-nag AwsSolutions: nothing unacknowledged, and every acknowledgement is specific."""

from __future__ import annotations

import pytest

from tests.infra.assembly import Assembly

pytestmark = pytest.mark.slow

PREFIX = "AwsSolutions::AwsSolutions-IAM5["
# The complete list: a new acknowledgement must be added here on purpose, with its reason.
EXPECTED_IDS = {
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
    f"{PREFIX}Resource::*]",
}


@pytest.mark.parametrize("variant", ["three", "four", "options"])
def test_no_unacknowledged_findings(assemblies: dict[str, Assembly], variant: str) -> None:
    assembly = assemblies[variant]
    assert assembly.error is None, assembly.error
    reports = {r["pluginName"]: r for r in assembly.validation_report["pluginReports"]}
    assert set(reports) == {"AwsSolutions"}
    assert reports["AwsSolutions"]["conclusion"] == "success"
    assert reports["AwsSolutions"]["violations"] == []


@pytest.mark.parametrize("variant", ["three", "options"])
def test_every_acknowledgement_is_expected_and_gives_a_specific_reason(
    assemblies: dict[str, Assembly], variant: str
) -> None:
    assembly = assemblies[variant]
    seen: set[str] = set()
    for stack in assembly.stacks:
        acks = stack.acknowledgments()
        if stack is not assembly.pipeline:
            assert acks == {}, f"{stack.name} acknowledges {acks}"
            continue
        for path, rules in acks.items():
            # On the roles CDK grants to and on our policy; never stack- or app-wide.
            assert path.endswith(("/Role", "/CodePipelineActionRole", "/PublisherPolicy")), path
            for rule_id, reason in rules.items():
                seen.add(rule_id)
                assert len(reason) >= 80, (rule_id, reason)
                if rule_id.endswith("Resource::*]"):
                    assert path.endswith("/PublisherPolicy")
                    assert "sts:GetServiceBearerToken" in reason
                    assert "codeartifact.amazonaws.com" in reason
                else:
                    assert "CDK's own grant" in reason, (rule_id, reason)
                    assert "codeartifact" not in rule_id.lower()
    log_ids = {i for i in seen if ":log-group:/aws/codebuild/" in i}
    assert len(log_ids) == 1
    assert seen - log_ids == EXPECTED_IDS
