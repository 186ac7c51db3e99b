"""status against real local regions: the file x region matrix, its views and exit codes."""

from __future__ import annotations

import json

import pytest

from codeartifact_multiregion.config import load_config
from codeartifact_multiregion.errors import UsageError
from codeartifact_multiregion.status import status
from tests.helpers import FAST
from tests.helpers import run_cli as cli
from tests.replication import GUARD, names, publish, release, sync


def test_status_json_shape_text_view_and_exit_code(regions, project, two_releases_in_primary):
    result = cli(regions, "status", "--project", str(project), "--json")
    assert result.code == 1
    doc = json.loads(result.out)
    assert set(doc) == {
        "project",
        "ok",
        "regions",
        "versions",
        "origins",
        "origin_errors",
        "rejected",
        "errors",
    }
    assert doc["project"] == "hello-internal" and doc["ok"] is False
    assert doc["regions"] == names(regions) and doc["errors"] == {}
    assert list(doc["origins"]) == names(regions)
    for origin in doc["origins"].values():  # None where the region has no such package
        assert origin is None or set(origin) == {"publish", "upstream"}
    for version in doc["versions"]:
        assert set(version) == {"version", "files"}
        for file in version["files"]:
            assert set(file) == {"filename", "regions"}
            assert list(file["regions"]) == names(regions)
            for cell in file["regions"].values():
                assert set(cell) == {"state", "sha256"}
                assert cell["state"] in ("present", "missing", "different")
    text = cli(regions, "status", "--project", str(project))
    assert text.code == 1 and "MISSING" in text.out and "sync" in text.err


def test_block_upstream_sets_origin_controls_in_every_region(regions, project, tmp_path):
    regions.write_pyproject(project, extra="block-upstream = true\n")
    report = publish(project, release(project, "1.0.0"))
    assert all(t.origin == GUARD for t in report.targets)
    assert report.to_dict()["targets"][0]["origin"] == GUARD
    calls = regions.fake.recorded("PutPackageOriginConfiguration")
    assert sorted(c.region for c in calls) == sorted(names(regions)), "one call per region"
    for call in calls:
        assert call.params["domain"] == regions.domain
        assert call.params["domain-owner"] == regions.owner
        assert call.params["repository"] == regions.repository
        assert call.params["format"] == "pypi" and call.params["package"] == "hello-internal"
        assert call.body == {"restrictions": GUARD}

    matrix = status(load_config(project), policy=FAST)
    assert matrix.exit_code == 0
    assert matrix.to_dict()["origins"] == dict.fromkeys(names(regions), GUARD)
    assert "origin controls:" in matrix.render_text()
    assert "publish=ALLOW, upstream=BLOCK" in matrix.render_text()
    result = cli(regions, "status", "--project", str(project))
    assert result.code == 0 and result.out.count("publish=ALLOW, upstream=BLOCK") == 3


def test_no_package_name_exits_2(regions, tmp_path):
    root = tmp_path / "nameless"
    regions.write_pyproject(root)
    text = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(text[text.index("[tool.codeartifact]") :])  # no [project]
    result = cli(regions, "status", "--project", str(root))
    assert result.code == 2 and "--package NAME" in result.err
    with pytest.raises(UsageError, match="--package NAME"):
        sync(root)


@pytest.mark.parametrize("command", ["status", "sync"])
def test_a_package_name_with_a_newline_exits_2_naming_it(regions, project, command):
    """``$`` would let "hello\n" through a ``match``: the name must match whole."""
    result = cli(regions, command, "--project", str(project), "--package", "hello\n", "--json")
    assert result.code == 2
    assert "--package 'hello\\n': not a valid Python package name" in result.err
    doc = json.loads(result.out)  # the one document on stdout
    assert doc["exit_code"] == 2 and doc["ok"] is False
    assert regions.fake.recorded("GetAuthorizationToken") == [], "refused before any call"


def test_an_unreadable_region_is_reported_and_the_others_still_sync(
    regions, project, two_releases_in_primary
):
    _, dead, third = names(regions)
    regions.route(dead, "http://127.0.0.1:9/")  # nothing listens there
    matrix = status(load_config(project), policy=FAST)
    assert matrix.exit_code == 1 and dead in matrix.errors
    assert "UNREADABLE" in matrix.render_text()
    report = sync(project)
    assert report.exit_code == 1
    by_region = {t.region: t for t in report.targets}
    assert by_region[dead].error and not by_region[dead].files
    assert by_region[third].ok
    assert regions.regions[third].files() == two_releases_in_primary
