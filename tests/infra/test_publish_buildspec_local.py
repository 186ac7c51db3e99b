"""The pipeline's publish buildspec, run here against the local regions, as CodeBuild would.

It must install the publisher only from the wheel it names, after checking that wheel's
sha256, then build the package and publish it to every region, and keep the report in S3.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import all_empty, sha256s
from tests.infra.assembly import Assembly
from tests.infra.buildspec_runner import installed_from, project, run, s3
from tests.infra.localbuild import assert_no_secret, build_env, runtime  # noqa: F401

pytestmark = pytest.mark.slow

BUILD_SYSTEM = '\n[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n'
REPORTS = "reports-local"


def _source(aws, root: Path) -> Path:  # type: ignore[no-untyped-def]
    src = root / "src"
    aws.write_pyproject(src, extra=BUILD_SYSTEM)
    (src / "hello_internal").mkdir()
    (src / "hello_internal" / "__init__.py").write_text('"""Hello."""\n')
    return src


def test_publish_buildspec_installs_the_checked_wheel_and_publishes(
    three: Assembly,
    regions,
    tmp_path: Path,
    runtime: Path,  # noqa: F811
) -> None:
    build = project(three.pipeline, "Publish")
    src = _source(regions, tmp_path)
    s3(regions.sts_url).create_bucket(Bucket=REPORTS)
    env = build_env(
        regions, build, three.outdir, tmp_path, CODEBUILD_SRC_DIR=str(src), REPORT_BUCKET=REPORTS
    )
    result = run(build.spec, env, runtime, src)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert_no_secret(regions, result.stdout, result.stderr)

    built = sha256s(src / "dist")
    assert sorted(Path(n).suffix for n in built) == [".gz", ".whl"]
    for name, region in regions.regions.items():
        assert region.files() == built, name
    # The publisher came from the verified file, not from an index.
    direct = installed_from(runtime, "codeartifact-multiregion")
    assert direct is not None
    assert direct["url"].startswith("file://")
    assert direct["url"].endswith(
        "/codeartifact-publisher/codeartifact_multiregion-0.1.0-py3-none-any.whl"
    )
    # The report is kept where a failed run could still be read.
    body = s3(regions.sts_url).get_object(Bucket=REPORTS, Key="reports/7-publish-report.json")
    report = json.loads(body["Body"].read())
    assert report["ok"] is True
    assert {t["region"] for t in report["targets"]} == set(regions.regions)


def test_publish_buildspec_stops_on_a_tampered_wheel(
    three: Assembly,
    regions,
    tmp_path: Path,
    runtime: Path,  # noqa: F811
) -> None:
    build = project(three.pipeline, "Publish")
    src = _source(regions, tmp_path)
    env = build_env(
        regions, build, three.outdir, tmp_path, CODEBUILD_SRC_DIR=str(src), REPORT_BUCKET=REPORTS
    )
    # Whoever can write the asset object cannot make the build run other code.
    bucket, _, key = build.variables["PUBLISHER_WHEEL_URL"][5:].partition("/")
    s3(regions.sts_url).put_object(Bucket=bucket, Key=key, Body=b"PK\x03\x04 not the wheel")
    result = run(build.spec, env, runtime, src)
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr  # sha256sum names the file it rejected
    assert all_empty(regions)
    assert not (src / "dist").exists()  # the build never started
