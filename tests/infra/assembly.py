"""Synthesize the CDK app once per variant and read the cloud assembly back as plain JSON.

Synthesis costs seconds (a Node.js jsii kernel builds every construct), so each variant is
synthesized once per test session. Under pytest-xdist the workers share one output directory and
a file lock: whichever worker gets there first synthesizes, the other reads the same files.
"""

from __future__ import annotations

import json
import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
ACK_METADATA = "aws:cdk:acknowledged-rules"


@dataclass
class StackArtifact:
    name: str
    account: str
    region: str
    template: dict[str, Any]
    metadata: dict[str, list[dict[str, Any]]]

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == type_}

    def only(self, type_: str) -> dict[str, Any]:
        found = list(self.resources(type_).values())
        assert len(found) == 1, f"{self.name}: {len(found)} {type_}"
        return found[0]

    def acknowledgments(self) -> dict[str, dict[str, str]]:
        """``{construct path: {rule id: reason}}`` as recorded by ``Validations.acknowledge``."""
        out: dict[str, dict[str, str]] = {}
        for path, entries in self.metadata.items():
            for entry in entries:
                if entry["type"] == ACK_METADATA:
                    out.setdefault(path, {}).update(entry["data"])
        return out


@dataclass
class Assembly:
    outdir: Path
    error: str | None
    stacks: list[StackArtifact] = field(default_factory=list)
    validation_report: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.stacks]

    def stack(self, name: str) -> StackArtifact:
        return next(s for s in self.stacks if s.name == name)

    @property
    def pipeline(self) -> StackArtifact:
        return next(s for s in self.stacks if s.name.endswith("-publish-pipeline"))

    @property
    def repositories(self) -> list[StackArtifact]:
        return [s for s in self.stacks if "-codeartifact-" in s.name]


def synthesize(outdir: Path, context: dict[str, Any]) -> Assembly:
    """Synthesize (or reuse) the app for ``context`` into ``outdir``; never raises."""
    outdir.mkdir(parents=True, exist_ok=True)
    done = outdir / "done.json"
    with FileLock(str(outdir) + ".lock"):
        if not done.exists():
            done.write_text(json.dumps({"error": _synth(outdir, context)}))
    return read_assembly(outdir, json.loads(done.read_text())["error"])


def _synth(outdir: Path, context: dict[str, Any]) -> str | None:
    import aws_cdk as cdk

    from infra_cdk.stacks import InfraSettings, build_app, cdk_json_context

    # CDK's built-in CloudFormation validation compiles a WASM engine (tens of seconds on a
    # busy CI box); cfn-lint covers the templates here and the `cdk synth` test runs it for real.
    options: dict[str, Any] = {
        "context": {**cdk_json_context(), **context},
        "outdir": str(outdir / "cdk.out"),
    }
    try:
        app = cdk.App(**options, builtin_cloud_formation_validation=False)
    except TypeError:  # aws-cdk-lib before the WASM validation: nothing to turn off
        app = cdk.App(**options)
    try:
        build_app(app, InfraSettings.from_context(app.node.try_get_context))
        app.synth()
    except Exception:  # the test that cares reports it; the others still read what exists
        return traceback.format_exc()
    return None


def read_assembly(outdir: Path, error: str | None) -> Assembly:
    cdk_out = outdir / "cdk.out"
    assembly = Assembly(outdir=cdk_out, error=error)
    report = cdk_out / "validation-report.json"
    if report.exists():
        assembly.validation_report = json.loads(report.read_text())
    manifest_path = cdk_out / "manifest.json"
    if not manifest_path.exists():
        return assembly
    manifest = json.loads(manifest_path.read_text())
    for name, artifact in manifest["artifacts"].items():
        if artifact["type"] != "aws:cloudformation:stack":
            continue
        _, _, env = artifact["environment"].partition("aws://")
        account, region = env.split("/")
        metadata_file = artifact.get("additionalMetadataFile")
        metadata = artifact.get("metadata", {})
        if metadata_file:
            metadata = json.loads((cdk_out / metadata_file).read_text())
        assembly.stacks.append(
            StackArtifact(
                name=name,
                account=account,
                region=region,
                template=json.loads((cdk_out / artifact["properties"]["templateFile"]).read_text()),
                metadata=metadata,
            )
        )
    return assembly


def render(value: Any) -> Any:
    """CloudFormation intrinsics as readable strings: Ref X -> ${X}, joins flattened."""
    if isinstance(value, list):
        return [render(v) for v in value]
    if isinstance(value, dict):
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(str(render(p)) for p in parts)
        if "Ref" in value:
            return "${" + value["Ref"] + "}"
        if "Fn::GetAtt" in value:
            return "${" + ".".join(value["Fn::GetAtt"]) + "}"
        return {k: render(v) for k, v in value.items()}
    return value


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]
