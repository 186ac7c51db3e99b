"""checkov on every synthesized template: nothing failed, and every skip says why in the template.

checkov runs from its own venv (``make .venv/checkov/bin/checkov``) with ``--skip-download``,
so it never calls out to Prisma Cloud; the suppressions it honours are the ``Metadata.checkov``
entries ``stacks/checkov.py`` writes on the resource they concern.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.infra.assembly import ROOT, Assembly
from tests.infra.conftest import VARIANTS

pytestmark = pytest.mark.slow

CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv" / "checkov" / "bin" / "checkov"))
# What each skip is about, so a new one is added here on purpose.
EXPECTED_SKIPS = {
    "CKV_AWS_18": "AWS::S3::Bucket",  # the access-log bucket does not log to itself
    "CKV_AWS_116": "AWS::Lambda::Function",  # SQS-invoked: the queue's redrive is the DLQ
    "CKV_AWS_117": "AWS::Lambda::Function",  # public CodeArtifact endpoints, no VPC
}


def scan(folder: Path) -> list[dict[str, Any]]:
    assert CHECKOV.is_file(), f"{CHECKOV}: missing. Run make .venv/checkov/bin/checkov"
    done = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(folder),
            "--framework",
            "cloudformation",
            "--compact",
            "--skip-download",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "BC_API_KEY": "", "PRISMA_API_URL": ""},
    )
    assert done.stdout.strip(), done.stderr
    doc = json.loads(done.stdout)
    return doc if isinstance(doc, list) else [doc]


@pytest.mark.parametrize("variant", VARIANTS)
def test_checkov_finds_nothing_to_fix(assemblies: dict[str, Assembly], variant: str) -> None:
    assembly = assemblies[variant]
    assert assembly.error is None, assembly.error
    results = scan(assembly.outdir)
    failed = [
        f"{c['check_id']} {c['resource']} ({c['file_path']})"
        for r in results
        for c in r["results"]["failed_checks"]
    ]
    assert failed == []
    assert sum(r["summary"]["passed"] for r in results) > 0
    for result in results:
        for skipped in result["results"]["skipped_checks"]:
            check, resource = skipped["check_id"], skipped["resource"]
            assert resource.startswith(EXPECTED_SKIPS.get(check, "?") + "."), (check, resource)
            assert len(skipped["check_result"].get("suppress_comment") or "") >= 80, (
                check,
                resource,
            )
