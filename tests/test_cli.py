"""The standalone CLI as a user runs it: a real process, its streams and its exit code."""

from __future__ import annotations

import json

import pytest

from codeartifact_multiregion.config import CONCURRENCY_RANGE, TOKEN_DURATION_RANGE
from codeartifact_multiregion.report import CONFLICT, IDENTICAL, PLANNED, UPLOADED
from tests.helpers import all_empty
from tests.helpers import run_cli as cli
from tests.localaws.dists import make_sdist, make_wheel


def test_publish_json_is_the_only_thing_on_stdout(regions, project, sample_dists):
    result = cli(regions, "publish", "--project", str(project), "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert doc["ok"] is True and doc["project"] == "hello-internal" and doc["version"] == "1.0.0"
    assert [t["region"] for t in doc["targets"]] == list(regions.regions)
    for target in doc["targets"]:
        region = regions.regions[target["region"]]
        assert {f["filename"]: f["sha256"] for f in target["files"]} == region.files()
        assert {f["outcome"] for f in target["files"]} == {UPLOADED}


def test_text_report_and_progress_lines(regions, project, sample_dists):
    result = cli(regions, "publish", "--project", str(project))
    assert result.code == 0
    assert f"complete: 6 {UPLOADED}" in result.out
    assert result.err.count(f" {UPLOADED}") == 6, "one progress line per region x file"
    again = cli(regions, "publish", "--project", str(project))
    assert again.code == 0 and f"complete: 6 {IDENTICAL}" in again.out


def test_dry_run_shows_the_plan_and_sends_nothing(regions, project, sample_dists):
    result = cli(regions, "publish", "--project", str(project), "--dry-run")
    assert result.code == 0
    assert "Plan for hello-internal 1.0.0 to 3 region(s)" in result.out
    assert result.out.count(str(PLANNED)) >= 6
    assert all_empty(regions)


def test_region_flag_and_explicit_files(regions, project, sample_dists):
    first = next(iter(regions.regions))
    wheel = next(sample_dists.glob("*.whl"))
    result = cli(
        regions, "publish", str(wheel), "--project", str(project), "--region", first, "--json"
    )
    assert result.code == 0
    doc = json.loads(result.out)
    assert [t["region"] for t in doc["targets"]] == [first]
    assert list(regions.regions[first].files()) == [wheel.name]


def test_conflict_exits_1_and_points_to_status(regions, project, sample_dists, tmp_path):
    name, region = next(iter(regions.regions.items()))
    other = make_wheel(tmp_path / "o", "hello-internal", "1.0.0", payload_bytes=10, seed=3)
    assert (
        cli(regions, "publish", str(other), "--project", str(project), "--region", name).code == 0
    )
    result = cli(regions, "publish", "--project", str(project))
    assert result.code == 1
    assert str(CONFLICT) in result.out and "codeartifact-multiregion status" in result.err
    assert region.files()[other.name] != next(
        f["sha256"]
        for t in json.loads(
            cli(regions, "publish", "--project", str(project), "--json", "--dry-run").out
        )["targets"]
        for f in t["files"]
        if f["filename"] == other.name and t["region"] != name
    )


LOW, HIGH = CONCURRENCY_RANGE
CONCURRENCY_WORDS = f"{LOW} to {HIGH}"
DURATION_WORDS = "{} to {}".format(*TOKEN_DURATION_RANGE)

# Each bad input: (how to break the project, words the error must contain)
BAD = {
    "unknown key": (("toml", "regoins = []\n"), ["regoins", "Did you mean 'regions'"]),
    "bad domain": (("replace", 'domain = "acme"', 'domain = "ACME"'), ["codeartifact.domain"]),
    "bad owner": (
        ("replace", 'domain-owner = "111122223333"', 'domain-owner = "12"'),
        ["domain-owner", "12-digit"],
    ),
    "bad repository": (
        ("replace", 'repository = "python"', 'repository = "_x"'),
        ["codeartifact.repository"],
    ),
    "bad region": (("toml", ""), ["--region mars-north-1", "not configured"]),
    "duplicate region": (("regions", ["us-east-1", "us-east-1"]), ["twice"]),
    "token-duration": (
        ("toml", f"token-duration = {TOKEN_DURATION_RANGE[0] - 1}\n"),
        ["token-duration", DURATION_WORDS],
    ),
    "concurrency": (("toml", f"concurrency = {HIGH + 1}\n"), ["concurrency", CONCURRENCY_WORDS]),
    "orphan target": (
        ("toml", "[tool.codeartifact.targets.us-west-2]\nrepository = 'p'\n"),
        ["targets.us-west-2", "not in regions"],
    ),
    "toml syntax": (("toml", "domain = \n"), ["not valid TOML"]),
    "no pyproject": (("delete",), ["pyproject.toml: not found", "--project DIR"]),
    "empty dist": (("nodist",), ["no distributions of hello-internal", "Build the project"]),
    "corrupt wheel": (("corrupt",), ["hello_internal-1.0.0-py3-none-any.whl"]),
    "mixed projects": (("file", "other"), ["different projects"]),
    "not a dist": (("file", "txt"), ["not a distribution file"]),
    "bad concurrency flag": (
        ("flag", "--concurrency", str(LOW - 1)),
        ["--concurrency", CONCURRENCY_WORDS],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_exits_2_names_the_cause_and_uploads_nothing(
    case, regions, project, sample_dists, tmp_path
):
    change, words = BAD[case]
    pyproject = project / "pyproject.toml"
    args = ["publish", "--project", str(project)]
    kind = change[0]
    if kind == "toml":
        text = pyproject.read_text()
        pyproject.write_text(
            text.replace("[tool.codeartifact]\n", "[tool.codeartifact]\n" + change[1], 1)
            if not change[1].startswith("[")
            else text + change[1]
        )
        if case == "bad region":
            args += ["--region", "mars-north-1"]
    elif kind == "replace":
        pyproject.write_text(pyproject.read_text().replace(change[1], change[2]))
    elif kind == "regions":
        regions.write_pyproject(project, regions=change[1])
    elif kind == "delete":
        pyproject.unlink()
    elif kind == "nodist":
        for path in sample_dists.iterdir():
            path.unlink()
    elif kind == "corrupt":
        next(sample_dists.glob("*.whl")).write_bytes(b"PK\x03\x04garbage")
    elif kind == "file":
        extra = (
            make_sdist(tmp_path / "x", "other", "1.0.0")
            if change[1] == "other"
            else tmp_path / "notes.txt"
        )
        if change[1] == "txt":
            extra.write_text("hello")
        args += [str(next(sample_dists.glob("*.whl"))), str(extra)]
    elif kind == "flag":
        args += list(change[1:])
    result = cli(regions, *args)
    assert result.code == 2, (case, result.err)
    for word in words:
        assert word in result.err, (case, result.err)
    assert result.err.startswith("error: ")
    assert all_empty(regions), f"{case}: nothing may reach any region"


def test_bad_input_with_json_prints_an_error_document(regions, project):
    (project / "pyproject.toml").unlink()
    result = cli(regions, "publish", "--project", str(project), "--json")
    assert result.code == 2
    doc = json.loads(result.out)
    assert doc["ok"] is False and doc["exit_code"] == 2 and "not found" in doc["error"]


def test_help_lists_commands_flags_and_exit_codes(regions):
    result = cli(regions, "publish", "--help")
    for flag in ("--project", "--region", "--dry-run", "--json", "--concurrency", "--dist-dir"):
        assert flag in result.out
    assert "exit codes: 0" in result.out
    top = cli(regions, "--help")
    assert all(cmd in top.out for cmd in ("publish", "status", "sync"))
