"""The stdlib scripts the replication builds run: the drift count and the event rebuild."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from infra_cdk.stacks.tools import drift_count, event_from_env

TOOLS = Path(drift_count.__file__).parent


def _status(states: list[str]) -> dict[str, object]:
    regions = ["us-east-1", "eu-west-1", "ap-southeast-2"]
    return {
        "packages": [
            {
                "project": "p",
                "ok": False,
                "regions": regions,
                "versions": [
                    {
                        "version": "1.0",
                        "files": [
                            {
                                "filename": "p-1.0.tar.gz",
                                "regions": {
                                    r: {"state": s, "sha256": None} for r, s in zip(regions, states)
                                },
                            }
                        ],
                    }
                ],
            }
        ]
    }


def _run(
    script: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(TOOLS / script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_drift_count_counts_every_cell_not_present(tmp_path: Path) -> None:
    report = tmp_path / "status.json"
    report.write_text(json.dumps(_status(["present", "missing", "unknown"])))
    result = _run("drift_count.py", str(report))
    assert (result.returncode, result.stdout) == (0, "2\n")
    report.write_text(json.dumps(_status(["present"] * 3)))
    assert _run("drift_count.py", str(report)).stdout == "0\n"


def test_drift_count_refuses_what_is_not_a_status_report(tmp_path: Path) -> None:
    """A broken status run must fail the build, never publish a reassuring zero."""
    for text in ('{"error": "bad config"}', "not json", '{"packages": {"a": 1}}'):
        report = tmp_path / "status.json"
        report.write_text(text)
        result = _run("drift_count.py", str(report))
        assert result.returncode == 2 and result.stdout == ""
        assert "not a status --all --json report" in result.stderr


def test_event_rebuilt_from_variables_escapes_untrusted_values() -> None:
    env = {name: f"v-{name}" for name in event_from_env.FIELDS}
    env["CA_PACKAGE_NAME"] = 'evil"name\n'
    result = _run("event_from_env.py", env=env)
    event = json.loads(result.stdout)
    assert event["detail"]["packageName"] == 'evil"name\n'
    assert event["detail"]["packageNamespace"] is None
    assert event["detail-type"] == "v-CA_EVENT_DETAIL_TYPE"
    assert event["region"] == "v-CA_EVENT_REGION"
    assert set(event) == {
        "version",
        "resources",
        "detail",
        "id",
        "source",
        "detail-type",
        "account",
        "region",
        "time",
    }
