"""A role GitHub Actions assumes through OIDC to publish one package (``-c ci=github``).

Instead of a pipeline: the repository's workflow exchanges its OIDC token for this role's
credentials. The trust is pinned to one repository and one ref (the token's ``sub``) and to the
audience ``sts.amazonaws.com``; the role may do exactly what the pipeline's build role may.
An account has one provider per issuer URL, so an existing one is reused by ARN.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from .nag import BEARER_TOKEN_ACK, acknowledge
from .policy import publisher_statements
from .settings import InfraSettings

ISSUER = "token.actions.githubusercontent.com"
AUDIENCE = "sts.amazonaws.com"


def subject(repo: str, ref: str) -> str:
    """GitHub's ``sub`` claim for a push to ``ref`` (branch or tag) of ``repo``."""
    return f"repo:{repo}:ref:{ref}"


class GithubStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, settings: InfraSettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        assert settings.github_repo is not None
        provider_arn = settings.github_oidc_provider
        if provider_arn is None:
            provider = iam.CfnOIDCProvider(
                self, "GithubOidcProvider", url=f"https://{ISSUER}", client_id_list=[AUDIENCE]
            )
            provider_arn = provider.attr_arn
        sub = subject(settings.github_repo, settings.github_ref)
        operator = "StringLike" if any(c in sub for c in "*?") else "StringEquals"
        conditions: dict[str, Any] = {"StringEquals": {f"{ISSUER}:aud": AUDIENCE}}
        conditions.setdefault(operator, {})[f"{ISSUER}:sub"] = sub
        self.role = iam.Role(
            self,
            "PublisherRole",
            assumed_by=iam.WebIdentityPrincipal(provider_arn, conditions),
            description=f"GitHub Actions of {settings.github_repo} ({settings.github_ref}) "
            f"publish {settings.project_name}.",
            max_session_duration=Duration.hours(1),
        )
        self.publisher_policy = iam.Policy(
            self,
            "PublisherPolicy",
            statements=list(publisher_statements(self, settings.config, settings.project_name)),
            roles=[self.role],
        )
        acknowledge([self.publisher_policy], [BEARER_TOKEN_ACK])
        CfnOutput(
            self,
            "RoleArn",
            value=self.role.role_arn,
            description="role-to-assume for aws-actions/configure-aws-credentials",
        )
        CfnOutput(self, "OidcProviderArn", value=provider_arn)
