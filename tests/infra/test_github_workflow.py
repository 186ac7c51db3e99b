"""The GitHub Actions example: valid against GitHub's workflow schema, and does what it says."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.infra.assembly import ROOT

WORKFLOW = ROOT / "examples" / "github-actions" / "publish.yml"
CHECK = Path(sys.executable).parent / "check-jsonschema"


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    assert CHECK.exists() or shutil.which("check-jsonschema"), "infra extra: check-jsonschema"
    command = str(CHECK) if CHECK.exists() else "check-jsonschema"
    return subprocess.run(
        [command, "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_workflow_matches_githubs_schema() -> None:
    result = _validate(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_workflow(tmp_path: Path) -> None:
    """The validator really looks: a job without runs-on or steps is refused."""
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    stepz: []\n")
    assert _validate(broken).returncode != 0


def test_workflow_assumes_the_role_builds_publishes_and_keeps_the_report() -> None:
    document = yaml.safe_load(WORKFLOW.read_text())
    assert document["permissions"] == {"id-token": "write", "contents": "read"}
    steps = document["jobs"]["publish"]["steps"]
    uses = {s.get("uses", "").split("@")[0]: s for s in steps}
    credentials = uses["aws-actions/configure-aws-credentials"]["with"]
    assert credentials["role-to-assume"] == "${{ vars.CODEARTIFACT_PUBLISHER_ROLE_ARN }}"
    runs = [s.get("run", "") for s in steps]
    install = next(r for r in runs if "pip install" in r)
    assert "sha256sum --check --strict" in install
    assert '"codeartifact-multiregion==${PUBLISHER_VERSION}"' in install
    assert "::add-mask::" in install  # the token never reaches the log
    assert "codeartifact-multiregion publish --json > publish-report.json" in runs
    report = uses["actions/upload-artifact"]
    assert report["if"] == "always()"
    assert report["with"]["path"] == "publish-report.json"
