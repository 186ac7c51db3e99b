"""The app as users run it: `python app.py` (make synth), `npx cdk synth`, and config errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.assembly import ROOT
from tests.infra.conftest import write_pyproject

pytestmark = pytest.mark.slow

INFRA = ROOT / "infra_cdk"
EXAMPLE = ROOT / "examples" / "hello-internal" / "pyproject.toml"
CDK_CLI = INFRA / "node_modules" / ".bin" / "cdk"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update(
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
        AWS_EC2_METADATA_DISABLED="true",  # never look for credentials: everything is offline
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        **extra,
    )
    return env


def _templates(outdir: Path) -> list[str]:
    manifest = json.loads((outdir / "manifest.json").read_text())
    return sorted(
        n for n, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"
    )


def test_config_error_exits_2_with_the_message(tmp_path: Path) -> None:
    bad = write_pyproject(tmp_path / "pyproject.toml", ["us-east-1"], 'regoins = ["x"]\n')
    result = subprocess.run(
        [sys.executable, str(INFRA / "app.py"), "-c", f"pyproject={bad}"],
        cwd=tmp_path,
        env=_env(CDK_OUTDIR=str(tmp_path / "out")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert "unknown key 'regoins'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_context_value_is_shown_escaped_before_the_cdk_loads(tmp_path: Path) -> None:
    """A -c value is the user's text: its escape sequences are shown, never sent to the
    terminal, and the refusal comes before aws_cdk (and Node.js) is even imported."""
    probe = (
        "import runpy, sys; sys.argv = sys.argv[1:]\n"
        "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    print('aws_cdk loaded' if 'aws_cdk' in sys.modules else 'aws_cdk not loaded',"
        " file=sys.stderr)\n    raise\n"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            probe,
            str(INFRA / "app.py"),
            "-c",
            f"pyproject={EXAMPLE}",
            "-c",
            "connection-arn=x\x1b]0;pwned\x07",
        ],
        cwd=tmp_path,
        env=_env(CDK_OUTDIR=str(tmp_path / "out")),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2, result.stderr
    assert "-c connection-arn=x\\x1b]0;pwned\\x07: not a CodeConnections" in result.stderr
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr
    assert "aws_cdk not loaded" in result.stderr
    assert "Traceback" not in result.stderr


def test_python_app_synthesizes_the_example(tmp_path: Path) -> None:
    """What `make synth` runs; CDK's WASM validation is left to the `cdk synth` test."""
    outdir = tmp_path / "cdk.out"
    result = subprocess.run(
        [sys.executable, "app.py", "-c", f"pyproject={EXAMPLE}"],
        cwd=INFRA,
        env=_env(CDK_OUTDIR=str(outdir), CDK_VALIDATION="false"),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert _templates(outdir) == sorted(
        [
            "hello-internal-codeartifact-us-east-1",
            "hello-internal-codeartifact-eu-west-1",
            "hello-internal-codeartifact-ap-southeast-2",
            "hello-internal-publish-pipeline",
        ]
    )


def test_pinned_cdk_cli_synthesizes_offline(tmp_path: Path) -> None:
    # `make test` installs the pinned CLI; a missing one is a broken setup, not a skip.
    assert shutil.which("node"), "Node.js is needed for the CDK CLI"
    assert CDK_CLI.exists(), "pinned CDK CLI missing: run `npm ci --prefix infra_cdk`"
    version = subprocess.run(
        [str(CDK_CLI), "--version"], capture_output=True, text=True, env=_env(), timeout=120
    )
    assert version.stdout.startswith("2."), version.stdout
    outdir = tmp_path / "cdk.out"
    result = subprocess.run(
        [
            str(CDK_CLI),
            "synth",
            "--quiet",
            "--output",
            str(outdir),
            "-c",
            f"pyproject={EXAMPLE}",
            "-c",
            "repo=acme/hello-internal",
        ],
        cwd=INFRA,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(_templates(outdir)) == 4
    report = json.loads((outdir / "validation-report.json").read_text())
    assert all(r["conclusion"] == "success" for r in report["pluginReports"]), report
