"""The report's JSON contract and the one redaction every output goes through."""

from __future__ import annotations

import json

from codeartifact_multiregion.report import FileResult, Outcome, Report, TargetReport
from codeartifact_multiregion.secrets import redact, register_secret


def sample(outcomes: list[str], token_in_error: str = "") -> Report:
    target = TargetReport("us-east-1", "acme", "111122223333", "python")
    for i, outcome in enumerate(outcomes):
        target.files.append(
            FileResult(
                f"pkg-1.0-{i}.whl", "ab" * 32, Outcome(outcome), 10, 1, error=token_in_error or None
            )
        )
    return Report(project="pkg", version="1.0", targets=[target], elapsed_s=1.23456)


def test_json_has_the_documented_shape() -> None:
    doc = json.loads(sample(["uploaded", "identical"]).to_json())
    assert set(doc) >= {"project", "version", "ok", "dry_run", "elapsed_s", "targets"}
    target = doc["targets"][0]
    assert set(target) >= {"region", "domain", "domain_owner", "repository", "ok", "files"}
    assert set(target["files"][0]) >= {
        "filename",
        "sha256",
        "outcome",
        "bytes",
        "attempts",
        "error",
    }
    assert "source_region" not in target["files"][0], "only sync reports carry source_region"
    assert doc["ok"] is True and doc["elapsed_s"] == 1.235


def test_conflict_or_failure_makes_the_report_incomplete() -> None:
    for bad in ("conflict", "failed"):
        report = sample(["uploaded", bad])
        assert (report.ok, report.exit_code) == (False, 1)
        assert "INCOMPLETE" in report.render_text()
    assert sample(["planned"]).exit_code == 0


def test_registered_token_is_masked_everywhere() -> None:
    token = "eyJ2ZXIiOjEsImlzdSI6MTcwMDAwMDAwMH0.secret-part"
    register_secret(token)
    report = sample(["failed"], token_in_error=f"HTTP 401 for Basic {token}")
    assert token not in report.to_json()
    assert token not in report.render_text()
    assert "***" in report.render_text()


def test_url_credentials_and_auth_headers_are_masked() -> None:
    text = redact("GET http://aws:s3cr3t@127.0.0.1:8080/simple/ {'Authorization': 'Basic QQ=='}")
    assert "s3cr3t" not in text and "QQ==" not in text
    assert "http://***@127.0.0.1:8080/simple/" in text
