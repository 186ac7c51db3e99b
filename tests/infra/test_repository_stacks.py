"""One repository stack per configured region: domain, repository, upstream, package group."""

from __future__ import annotations

import pytest

from tests.infra.assembly import Assembly, render
from tests.infra.conftest import NORMALIZED, OWNER, THREE_REGIONS

pytestmark = pytest.mark.slow


def test_synthesizes(three: Assembly, four: Assembly, options: Assembly) -> None:
    for assembly in (three, four, options):
        assert assembly.error is None, assembly.error


def test_one_stack_per_region_primary_first_and_one_pipeline(three: Assembly) -> None:
    assert three.names == [
        *(f"{NORMALIZED}-codeartifact-{region}" for region in THREE_REGIONS),
        f"{NORMALIZED}-publish-pipeline",
    ]
    assert [(s.account, s.region) for s in three.repositories] == [
        (OWNER, region) for region in THREE_REGIONS
    ]
    assert (three.pipeline.account, three.pipeline.region) == (OWNER, "us-east-1")


@pytest.mark.parametrize("region", THREE_REGIONS)
def test_domain_repository_and_upstream(three: Assembly, region: str) -> None:
    stack = three.stack(f"{NORMALIZED}-codeartifact-{region}")
    domain = stack.only("AWS::CodeArtifact::Domain")
    assert domain["Properties"]["DomainName"] == "acme"
    assert "EncryptionKey" not in domain["Properties"]
    repositories = {
        r["Properties"]["RepositoryName"]: r["Properties"]
        for r in stack.resources("AWS::CodeArtifact::Repository").values()
    }
    assert set(repositories) == {"python", "pypi-store"}
    assert repositories["pypi-store"]["ExternalConnections"] == ["public:pypi"]
    assert "ExternalConnections" not in repositories["python"]
    assert len(repositories["python"]["Upstreams"]) == 1
    # Packages cannot be rebuilt byte-for-byte: deleting the stack must not delete them.
    for resource in [domain, *stack.resources("AWS::CodeArtifact::Repository").values()]:
        assert resource["DeletionPolicy"] == "Retain"
        assert resource["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("region", THREE_REGIONS)
def test_package_group_blocks_public_pypi_for_our_name(three: Assembly, region: str) -> None:
    stack = three.stack(f"{NORMALIZED}-codeartifact-{region}")
    group = stack.only("AWS::CodeArtifact::PackageGroup")["Properties"]
    assert group["Pattern"] == f"/pypi//{NORMALIZED}$"
    restrictions = group["OriginConfiguration"]["Restrictions"]
    assert restrictions["ExternalUpstream"] == {"RestrictionMode": "BLOCK"}
    assert restrictions["Publish"] == {
        "RestrictionMode": "ALLOW_SPECIFIC_REPOSITORIES",
        "Repositories": ["python"],
    }
    assert render(group["DomainName"]).startswith("${Domain")


def test_options_variant_kms_no_upstream_overrides(options: Assembly) -> None:
    east2 = options.stack(f"{NORMALIZED}-codeartifact-us-east-2")
    central = options.stack(f"{NORMALIZED}-codeartifact-eu-central-1")
    for stack, repository in ((central, "python"), (east2, "python-east")):
        key = stack.only("AWS::KMS::Key")
        assert key["Properties"]["EnableKeyRotation"] is True
        domain = stack.only("AWS::CodeArtifact::Domain")["Properties"]
        assert render(domain["EncryptionKey"]).startswith("${DomainKey")
        repo = stack.only("AWS::CodeArtifact::Repository")["Properties"]
        assert repo["RepositoryName"] == repository
        assert "Upstreams" not in repo
        group = stack.only("AWS::CodeArtifact::PackageGroup")["Properties"]
        assert group["OriginConfiguration"]["Restrictions"]["Publish"]["Repositories"] == [
            repository
        ]
    # No domain-owner: the stacks deploy to whatever account the credentials belong to.
    assert {s.account for s in options.stacks} == {"unknown-account"}


def test_adding_a_region_adds_exactly_one_stack(three: Assembly, four: Assembly) -> None:
    assert four.names == [
        *[n for n in three.names if "codeartifact" in n],
        f"{NORMALIZED}-codeartifact-us-west-2",
        f"{NORMALIZED}-publish-pipeline",
    ]
    for name in three.names:
        if "codeartifact" in name:
            assert four.stack(name).template == three.stack(name).template
