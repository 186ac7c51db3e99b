"""Run a synthesized CodeBuild buildspec on this machine, as CodeBuild runs it.

CodeBuild runs a phase's commands in order in one shell (variables and ``cd`` carry over),
stops the phase at the first non-zero exit, runs the build phase's ``finally`` block either
way, and skips ``runtime-versions`` (here: the ``python`` first on PATH is the runtime). The
commands are taken verbatim from the template, so a test runs exactly what would be deployed.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.infra.assembly import StackArtifact

PHASES = ("install", "pre_build", "build")


@dataclass
class Project:
    """One CodeBuild project of a synthesized stack: its buildspec and literal variables."""

    spec: dict[str, Any]
    variables: dict[str, Any]


def project(stack: StackArtifact, logical_prefix: str) -> Project:
    (props,) = [
        r["Properties"]
        for k, r in stack.resources("AWS::CodeBuild::Project").items()
        if k.startswith(logical_prefix)
    ]
    declared = props["Environment"].get("EnvironmentVariables", [])
    variables = {v["Name"]: v["Value"] for v in declared}
    return Project(yaml.safe_load(props["Source"]["BuildSpec"]), variables)


def script(spec: dict[str, Any]) -> str:
    lines = ["set +e"]
    for name, value in spec.get("env", {}).get("variables", {}).items():
        lines.append(f"export {name}={shlex.quote(str(value))}")
    calls = []
    for phase in PHASES:
        commands = spec["phases"].get(phase, {}).get("commands", [])
        lines.append(f"phase_{phase}() {{")
        lines += [f"{command} || return $?" for command in commands] or [":"]
        lines.append("}")
        calls.append(f"phase_{phase}")
    finally_ = spec["phases"].get("build", {}).get("finally", [])
    lines.append(" && ".join(calls) + "; rc=$?")
    lines += finally_
    lines.append('exit "$rc"')
    return "\n".join(lines) + "\n"


def make_runtime(path: Path) -> Path:
    """A clean Python with pip, standing in for CodeBuild's python runtime."""
    if not (path / "bin" / "python").exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(path)
    return path / "bin"


def aws_cli_bin(path: Path) -> Path:
    """A directory holding only ``aws``: the AWS CLI CodeBuild's image ships, here the infra
    extra's ``awscli`` from the test environment (found beside its Python, not on PATH)."""
    found = Path(sys.executable).parent / "aws"
    assert found.is_file(), f"{found}: no AWS CLI; install the infra extra (awscli)"
    path.mkdir(parents=True, exist_ok=True)
    link = path / "aws"
    if not link.exists():
        link.symlink_to(found)
    return path


def run(
    spec: dict[str, Any], env: dict[str, str], runtime_bin: Path, cwd: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    tools = aws_cli_bin(runtime_bin.parent / "aws-cli-bin")
    path = env.get("PATH", os.environ["PATH"])
    full = {**env, "PATH": os.pathsep.join([str(runtime_bin), str(tools), path])}
    full.pop("VIRTUAL_ENV", None)
    full.pop("PYTHONPATH", None)
    return subprocess.run(
        ["bash", "-c", script(spec)],
        env=full,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def s3(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")


def upload_assets(client: Any, cdk_out: Path, variables: dict[str, Any]) -> None:
    """Put each ``s3://`` asset the build fetches where its URL says, from cdk.out."""
    for value in variables.values():
        if isinstance(value, str) and value.startswith("s3://"):
            bucket, _, key = value[5:].partition("/")
            existing = [b["Name"] for b in client.list_buckets().get("Buckets", [])]
            if bucket not in existing:
                client.create_bucket(Bucket=bucket)
            client.put_object(Bucket=bucket, Key=key, Body=(cdk_out / f"asset.{key}").read_bytes())


def installed_from(runtime_bin: Path, distribution: str) -> dict[str, Any] | None:
    """PEP 610 direct_url.json of ``distribution`` in the runtime (None: not from a file)."""
    code = (
        f"import importlib.metadata as m; d = m.distribution({distribution!r}); "
        "print(d.read_text('direct_url.json') or 'null')"
    )
    out = subprocess.run(
        [str(runtime_bin / "python"), "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]
