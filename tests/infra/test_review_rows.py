"""One test (or more) per row of the AWS review table in issue 15, and every bad -c input."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infra.assembly import ROOT, Assembly, StackArtifact, as_list, render
from tests.infra.conftest import BETA_HOST, VARIANTS, write_pyproject

pytestmark = pytest.mark.slow

INFRA = ROOT / "infra_cdk"


def _statements(stack: StackArtifact, logical_prefix: str) -> list[dict[str, Any]]:
    out = []
    for key, resource in stack.resources("AWS::IAM::Policy").items():
        props = resource["Properties"]
        roles = [render(r) for r in props["Roles"]]
        mine = any(r.startswith("${" + logical_prefix) for r in roles)
        if key.startswith(logical_prefix) or mine:
            out += render(props["PolicyDocument"]["Statement"])
    return out


# Row 1 -----------------------------------------------------------------------------------------


def test_row1_source_role_may_use_the_connection_under_both_prefixes(three: Assembly) -> None:
    statements = _statements(three.pipeline, "SourceActionRole")
    on_connection = {
        action
        for s in statements
        if "${Connection.ConnectionArn}" in as_list(s["Resource"])
        for action in as_list(s["Action"])
    }
    assert {"codestar-connections:UseConnection", "codeconnections:UseConnection"} <= on_connection
    source = three.pipeline.only("AWS::CodePipeline::Pipeline")["Properties"]["Stages"][0]
    assert render(source["Actions"][0]["RoleArn"]).startswith("${SourceActionRole")


# Row 2 -----------------------------------------------------------------------------------------


def _buildspecs(assembly: Assembly) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{stack.name}/{key}", yaml.safe_load(project["Properties"]["Source"]["BuildSpec"]))
        for stack in assembly.stacks
        for key, project in stack.resources("AWS::CodeBuild::Project").items()
    ]


CHECK = re.compile(r'echo "([0-9a-f]{64})  (\S+)" \| sha256sum --check --strict -')
PINNED = re.compile(r"[A-Za-z0-9._-]+==[0-9][A-Za-z0-9.+!-]*")


@pytest.mark.parametrize("variant", VARIANTS)
def test_row2_every_install_is_pinned_or_a_hash_checked_file(
    assemblies: dict[str, Assembly], variant: str
) -> None:
    specs = _buildspecs(assemblies[variant])
    if variant != "gamma":
        assert specs
    for where, spec in specs:
        commands = [c for phase in spec["phases"].values() for c in phase.get("commands", [])]
        verified: set[str] = set()
        installs = 0
        for command in commands:
            words = shlex.split(command)
            if "sha256sum" in words:
                match = CHECK.fullmatch(command)
                assert match, (where, command)
                verified.add(match.group(2))
            if "install" in words and "pip" in words:
                installs += 1
                for arg in words[words.index("install") + 1 :]:
                    if arg.startswith("./"):
                        assert arg[2:] in verified, (where, f"{arg} installed before its check")
                    else:
                        assert PINNED.fullmatch(arg), (where, f"unpinned install of {arg}")
        assert installs == 1, where
        assert any(name.startswith("codeartifact_multiregion-") for name in verified), where


def test_row2_requirements_do_not_name_the_unclaimed_distribution() -> None:
    lines = (INFRA / "requirements.txt").read_text().splitlines()
    assert not [ln for ln in lines if ln.strip().startswith("codeartifact-multiregion")]


# Row 3 / 4 / 9 and every other key: bad input is a SettingsError naming the key -----------------


def _settings(
    tmp_path: Path,
    context: dict[str, str],
    extra: str = "",
    regions: tuple[str, ...] = ("us-east-1",),
    name: str = "hello-internal",
) -> Any:
    from infra_cdk.stacks.settings import InfraSettings

    pyproject = write_pyproject(tmp_path / "pyproject.toml", list(regions), extra, name=name)
    key = "config" if context.get("part") == "platform" else "pyproject"
    return InfraSettings.from_context({key: str(pyproject), **context}.get)


BAD_INPUTS = [
    ({"part": "everything"}, "", "-c part=everything: choose one of all, platform, package"),
    ({"ci": "jenkins"}, "", "-c ci=jenkins: choose one of codepipeline, github"),
    ({"publisher": "twine"}, "", "choose one of cli, poetry, hatch"),
    ({"source": "s3"}, "", "choose one of connection, codecommit"),
    ({"source": "codecommit"}, "", "needs -c repo=NAME"),
    ({"repo": "no-slash"}, "", "-c repo=no-slash: use OWNER/NAME"),
    ({"connection-arn": "arn:aws:iam::1:role/x"}, "", "-c connection-arn=arn:aws:iam::1:role/x"),
    ({"connection-provider": "GitHubEnterpriseServer"}, "", "-c connection-host-arn="),
    ({"connection-provider": "GitLabSelfManaged"}, "", "-c connection-host-arn="),
    (
        {"connection-host-arn": "arn:aws:codeconnections:us-east-1:111122223333:host/h-1"},
        "",
        "-c connection-host-arn: only for GitHubEnterpriseServer or GitLabSelfManaged",
    ),
    (
        {"connection-provider": "GitLabSelfManaged", "connection-host-arn": "host"},
        "",
        "-c connection-host-arn=host: not a CodeConnections host ARN",
    ),
    ({"domain-kms": "maybe"}, "", "-c domain-kms=maybe: use true or false"),
    ({"adopt": "perhaps"}, "", "-c adopt=perhaps: use true or false"),
    ({"adopt": "true", "domain-kms": "true"}, "", "EncryptionKey cannot change"),
    ({"project-dir": "../up"}, "", "-c project-dir=../up"),
    ({"python": "2.7"}, "", "-c python=2.7"),
    ({"stack-prefix": "9lives"}, "", "-c stack-prefix=9lives: CloudFormation stack names"),
    ({"publisher-wheel": "/etc/passwd"}, "", "-c publisher-wheel=/etc/passwd"),
    ({"ci": "github"}, "", "-c ci=github needs -c github-repo=OWNER/NAME"),
    ({"ci": "github", "github-repo": "not a repo"}, "", "-c github-repo=not a repo"),
    ({"ci": "github", "github-repo": "a/b", "github-ref": "main"}, "", "-c github-ref=main"),
    (
        {"ci": "github", "github-repo": "a/b", "github-ref": "refs/heads/*"},
        "",
        "a wildcard may match tags only",
    ),
    (
        {"ci": "github", "github-repo": "a/b", "github-oidc-provider": "arn:aws:iam::1:x"},
        "",
        "-c github-oidc-provider=arn:aws:iam::1:x",
    ),
    ({"ci": "github", "github-repo": "a/b", "repo": "a/b"}, "", "-c repo: not used by ci=github"),
    ({"github-repo": "a/b"}, "", "-c github-repo: not used by ci=codepipeline"),
    ({"part": "package", "domain-kms": "true"}, "", "-c domain-kms: not used by part=package"),
    ({"repair-schedule": "rate(1 day)"}, "", "-c repair-schedule: not used by part=all"),
    ({"part": "platform", "repair-schedule": "nightly"}, "", "-c repair-schedule=nightly"),
    ({"part": "platform", "alarm-email": "ops"}, "", "-c alarm-email=ops: not an e-mail"),
    ({"part": "platform", "adopt": "true"}, "", "-c adopt=true needs domain-owner"),
    # Row 3: role-arn is refused with the reason and the fix.
    (
        {},
        'role-arn = "arn:aws:iam::111122223333:role/publisher"\n',
        "role-arn in us-east-1: the pipeline publishes as its own role",
    ),
]


@pytest.mark.parametrize(("context", "extra", "message"), BAD_INPUTS)
def test_bad_input_is_a_settings_error_naming_the_key(
    tmp_path: Path, context: dict[str, str], extra: str, message: str
) -> None:
    from infra_cdk.stacks.settings import SettingsError

    owner = "" if context.get("adopt") == "true" and context.get("part") == "platform" else None
    if owner == "":
        path = write_pyproject(tmp_path / "c.toml", ["us-east-1"], owner=False, name="")
        from infra_cdk.stacks.settings import InfraSettings

        with pytest.raises(SettingsError, match=re.escape(message)):
            InfraSettings.from_context({"config": str(path), **context}.get)
        return
    with pytest.raises(SettingsError, match=re.escape(message)):
        _settings(tmp_path, context, extra)


def test_row4_self_managed_provider_with_its_host(beta: Assembly) -> None:
    stack = beta.stack("beta-tool-publish-pipeline")
    props = stack.only("AWS::CodeConnections::Connection")["Properties"]
    assert props["HostArn"] == BETA_HOST
    assert "ProviderType" not in props  # the host names the provider


def test_unknown_context_key_names_the_nearest_one() -> None:
    from infra_cdk.stacks.settings import SettingsError, check_context_keys

    check_context_keys(["part", "@aws-cdk/core:x", "aws:cdk:version-reporting", "cli-telemetry"])
    with pytest.raises(
        SettingsError,
        match=re.escape("-c parts: not a setting of this app. Did you mean -c part=...?"),
    ):
        check_context_keys(["parts"])


@pytest.mark.parametrize(
    ("name", "regions", "message"),
    [
        ("1password-helper", ["us-east-1"], "the stack prefix '1password-helper'"),
        ("hello", ["us-east-1", "sa-east-1"], "CodeArtifact is not offered in sa-east-1"),
    ],
)
def test_row9_exit_2_with_the_key_named_not_a_jsii_trace(
    tmp_path: Path, name: str, regions: list[str], message: str
) -> None:
    pyproject = write_pyproject(tmp_path / "pyproject.toml", regions, name=name)
    result = subprocess.run(
        [sys.executable, str(INFRA / "app.py"), "-c", f"pyproject={pyproject}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "PATH": "/usr/bin:/bin",
            "CDK_OUTDIR": str(tmp_path / "out"),
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
            "HOME": str(tmp_path),
        },
    )
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "-c stack-prefix=NAME" in result.stderr or "Remove the region" in result.stderr
    assert "Traceback" not in result.stderr and "jsii" not in result.stderr.lower()
    assert not (tmp_path / "out" / "manifest.json").exists()


# Row 5 -----------------------------------------------------------------------------------------


def test_row5_adopt_uses_the_existing_domain_and_repository(adopted: Assembly) -> None:
    assert adopted.error is None, adopted.error
    (regional,) = adopted.repositories
    assert not regional.resources("AWS::CodeArtifact::Domain")
    assert not regional.resources("AWS::CodeArtifact::Repository")
    group = regional.only("AWS::CodeArtifact::PackageGroup")["Properties"]
    assert (group["DomainName"], group["DomainOwner"]) == ("acme", "111122223333")
    outputs = regional.template["Outputs"]
    assert outputs["RepositoryArn"]["Value"] == (
        "arn:aws:codeartifact:us-east-1:111122223333:repository/acme/python"
    )


def test_row5_platform_adopt_writes_the_import_mapping(platform_adopted: Assembly) -> None:
    (stack,) = platform_adopted.stacks
    mapping = json.loads((platform_adopted.outdir / f"{stack.name}.import.json").read_text())
    arn = "arn:aws:codeartifact:eu-west-1:111122223333:"
    assert mapping == {
        "Domain": {"Arn": f"{arn}domain/acme"},
        "Repository": {"Arn": f"{arn}repository/acme/python"},
        "PypiStore": {"Arn": f"{arn}repository/acme/pypi-store"},
    }
    for logical_id in mapping:
        assert stack.template["Resources"][logical_id]["DeletionPolicy"] == "Retain"


# Row 6 / 7 -------------------------------------------------------------------------------------


def test_row6_status_can_describe_the_package(three: Assembly) -> None:
    statements = _statements(three.pipeline, "PublisherPolicy")
    publish = next(s for s in statements if s["Sid"] == "CodeArtifactPackagePublish")
    assert "codeartifact:DescribePackage" in publish["Action"]


def test_row7_build_may_write_its_report_to_the_bucket(three: Assembly) -> None:
    statements = _statements(three.pipeline, "PublishRole")
    report = next(s for s in statements if s.get("Sid") == "KeepPublishReports")
    assert report["Action"] == "s3:PutObject"
    assert report["Resource"] == "${Artifacts82DD59A1.Arn}/reports/*"
