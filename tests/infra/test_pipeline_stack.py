"""The pipeline stack: V2 pipeline, Source and Build stages, the buildspec, encryption."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from codeartifact_multiregion.config import load_config
from infra_cdk.stacks.assets import ShippedFile, checkout_wheel, sha256_of
from infra_cdk.stacks.buildspec import REPORT_FILE, build_spec
from infra_cdk.stacks.settings import InfraSettings
from tests.infra.assembly import Assembly, StackArtifact, render
from tests.infra.conftest import NORMALIZED, write_pyproject

pytestmark = pytest.mark.slow


def _pipeline(stack: StackArtifact) -> dict:
    return stack.only("AWS::CodePipeline::Pipeline")["Properties"]


def _buildspec(stack: StackArtifact) -> dict:
    project = stack.only("AWS::CodeBuild::Project")["Properties"]
    return yaml.safe_load(project["Source"]["BuildSpec"])


def test_v2_pipeline_with_source_and_build(three: Assembly) -> None:
    pipeline = _pipeline(three.pipeline)
    assert pipeline["PipelineType"] == "V2"
    assert [s["Name"] for s in pipeline["Stages"]] == ["Source", "Build"]
    source = pipeline["Stages"][0]["Actions"][0]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    config = render(source["Configuration"])
    assert config["FullRepositoryId"] == "acme/hello-internal"
    assert config["BranchName"] == "main"
    # No connection ARN given: the stack creates the (pending) connection it uses.
    connection = three.pipeline.only("AWS::CodeConnections::Connection")["Properties"]
    assert connection["ProviderType"] == "GitHub"
    assert config["ConnectionArn"].startswith("${Connection")
    build = pipeline["Stages"][1]["Actions"][0]
    assert build["ActionTypeId"]["Provider"] == "CodeBuild"
    assert [a["Name"] for a in build["OutputArtifacts"]] == ["PublishReport"]


def test_buildspec_runs_the_publisher_and_keeps_the_report(three: Assembly) -> None:
    spec = _buildspec(three.pipeline)
    assert spec["env"]["shell"] == "bash"
    install = spec["phases"]["install"]["commands"]
    wheel = "codeartifact_multiregion-0.1.0-py3-none-any.whl"
    assert install[1:] == [
        f'aws s3 cp --only-show-errors "$PUBLISHER_WHEEL_URL" "{wheel}"',
        f'echo "{sha256_of(checkout_wheel())}  {wheel}" | sha256sum --check --strict -',
        f'python -m pip install "./{wheel}" build==1.6.1',
    ]
    build = spec["phases"]["build"]
    assert build["commands"][-2:] == [
        "python -m build",
        f"codeartifact-multiregion publish --json > {REPORT_FILE}",
    ]
    # Printed and copied to S3 even when it failed (row 7: a failed action keeps no outputs).
    assert any(f"cat {REPORT_FILE}" in c for c in build["finally"])
    assert any(f'{REPORT_FILE} "s3://$REPORT_BUCKET/reports/' in c for c in build["finally"])
    assert spec["artifacts"]["files"] == [REPORT_FILE]


def test_codecommit_and_hatch_variant(options: Assembly) -> None:
    pipeline = _pipeline(options.pipeline)
    source = pipeline["Stages"][0]["Actions"][0]
    assert source["ActionTypeId"]["Provider"] == "CodeCommit"
    assert source["Configuration"]["RepositoryName"] == "hello-internal"
    assert source["Configuration"]["BranchName"] == "release"
    assert not options.pipeline.resources("AWS::CodeConnections::Connection")
    spec = _buildspec(options.pipeline)
    assert spec["phases"]["build"]["commands"] == [
        'cd "$CODEBUILD_SRC_DIR/packages/hello"',
        "hatch build",
        f"hatch publish -p codeartifact -o json=true > {REPORT_FILE}",
    ]
    assert spec["artifacts"]["base-directory"] == "packages/hello"


def test_encryption_and_access_logs(three: Assembly) -> None:
    stack = three.pipeline
    key = stack.only("AWS::KMS::Key")["Properties"]
    assert key["EnableKeyRotation"] is True
    buckets = stack.resources("AWS::S3::Bucket")
    artifacts = next(b for k, b in buckets.items() if k.startswith("Artifacts"))["Properties"]
    sse = artifacts["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert render(artifacts["LoggingConfiguration"]["DestinationBucketName"]).startswith(
        "${AccessLogs"
    )
    project = stack.only("AWS::CodeBuild::Project")["Properties"]
    assert render(project["EncryptionKey"]).startswith("${ArtifactKey")
    assert project["Environment"]["PrivilegedMode"] is False
    assert render(_pipeline(stack)["ArtifactStore"]["EncryptionKey"]["Id"]).startswith(
        "${ArtifactKey"
    )


WHEEL = ShippedFile("PUBLISHER_WHEEL_URL", "w.whl", "ab" * 32, asset=None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("publisher", "tool", "commands"),
    [
        (
            "cli",
            "build==1.6.1",
            ["python -m build", f"codeartifact-multiregion publish --json > {REPORT_FILE}"],
        ),
        ("poetry", "poetry==2.5.1", [f"poetry publish-multiregion --build --json > {REPORT_FILE}"]),
        (
            "hatch",
            "hatch==1.18.2",
            ["hatch build", f"hatch publish -p codeartifact -o json=true > {REPORT_FILE}"],
        ),
    ],
)
def test_buildspec_per_publisher(
    tmp_path: Path, publisher: str, tool: str, commands: list[str]
) -> None:
    pyproject = write_pyproject(tmp_path / "pyproject.toml", ["us-east-1"])
    settings = InfraSettings(
        config=load_config(pyproject), project_name=NORMALIZED, publisher=publisher
    )
    spec = build_spec(settings, WHEEL)
    assert spec["phases"]["install"]["commands"][-1] == f'python -m pip install "./w.whl" {tool}'
    assert spec["phases"]["build"]["commands"] == ['cd "$CODEBUILD_SRC_DIR"', *commands]
    json.dumps(spec)  # plain data, as BuildSpec.from_object needs


def test_profiles_become_container_credential_profiles(tmp_path: Path) -> None:
    pyproject = write_pyproject(
        tmp_path / "pyproject.toml", ["us-east-1", "eu-west-1"], 'profile = "publisher"\n'
    )
    settings = InfraSettings(config=load_config(pyproject), project_name=NORMALIZED)
    assert build_spec(settings, WHEEL)["phases"]["pre_build"]["commands"][1:] == [
        "aws configure set region us-east-1 --profile publisher"
    ]
