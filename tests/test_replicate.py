"""status and sync against real local regions: what each region holds before and after."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from codeartifact_multiregion.config import load_config
from codeartifact_multiregion.engine import Event
from codeartifact_multiregion.errors import UsageError
from codeartifact_multiregion.publish import Publisher
from codeartifact_multiregion.retry import RetryPolicy
from codeartifact_multiregion.status import status
from codeartifact_multiregion.sync import Syncer
from tests.localaws.dists import make_sdist, make_wheel

FAST = RetryPolicy(attempts=2, backoff=0.05, connect_timeout=2, read_timeout=10)
GUARD = {"publish": "ALLOW", "upstream": "BLOCK"}


@dataclass
class Result:
    code: int
    out: str
    err: str


def cli(aws, *args: str) -> Result:
    """The CLI in a subprocess; no token may reach any stream and nothing may crash."""
    env = {**os.environ, **aws.env(), "CODEARTIFACT_MULTIREGION_ATTEMPTS": "2",
           "CODEARTIFACT_MULTIREGION_BACKOFF": "0.05"}
    proc = subprocess.run([sys.executable, "-m", "codeartifact_multiregion", *args],
                          env=env, capture_output=True, text=True, timeout=120)
    for token in aws.tokens():
        assert token not in proc.stdout and token not in proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return Result(proc.returncode, proc.stdout, proc.stderr)


def names(aws) -> list[str]:
    return list(aws.regions)


def release(project: Path, version: str, seed: int = 0) -> list[Path]:
    """hello-internal ``version`` as a wheel and an sdist in their own folder."""
    folder = project / "builds" / f"{version}-{seed}"
    return [make_wheel(folder, "hello-internal", version, payload_bytes=256, seed=seed),
            make_sdist(folder, "hello-internal", version)]


def publish(project: Path, files: list[Path], regions: list[str] | None = None):
    report = Publisher(load_config(project, regions), policy=FAST).publish(files)
    assert report.ok, report.render_text()
    return report


def sync(project: Path, regions: list[str] | None = None, events: list[Event] | None = None,
         **kwargs: object):
    syncer = Syncer(load_config(project, regions), policy=FAST,
                    on_event=None if events is None else events.append)
    return syncer.sync(**kwargs)  # type: ignore[arg-type]


def outcomes(report) -> dict[tuple[str, str], tuple[str, str | None]]:
    return {(t.region, f.filename): (f.outcome, f.source_region)
            for t in report.targets for f in t.files}


def same_everywhere(aws) -> dict[str, str]:
    holdings = [region.files() for region in aws.regions.values()]
    assert all(h == holdings[0] for h in holdings), holdings
    return holdings[0]


@pytest.fixture
def two_releases_in_primary(regions, project) -> dict[str, str]:
    """1.0.0 and 1.1.0 (wheel + sdist each) published to the primary region only."""
    primary = names(regions)[0]
    for version in ("1.0.0", "1.1.0"):
        publish(project, release(project, version), [primary])
    held = regions.regions[primary].files()
    assert len(held) == 4
    return held


def test_status_shows_drift_and_sync_backfills_every_region(regions, project,
                                                            two_releases_in_primary):
    primary, *others = names(regions)
    before = status(load_config(project), policy=FAST)
    assert before.exit_code == 1 and not before.ok
    doc = before.to_dict()
    assert [v["version"] for v in doc["versions"]] == ["1.1.0", "1.0.0"]
    for version in doc["versions"]:
        assert len(version["files"]) == 2
        for file in version["files"]:
            cells = file["regions"]
            assert cells[primary] == {"state": "present",
                                      "sha256": two_releases_in_primary[file["filename"]]}
            assert all(cells[r] == {"state": "missing", "sha256": None} for r in others)
    text = before.render_text()
    assert "MISSING" in text and "DRIFT: 8 file x region cell(s)" in text

    events: list[Event] = []
    report = sync(project, events=events)
    assert report.exit_code == 0, report.render_text()
    got = outcomes(report)
    for filename in two_releases_in_primary:
        assert got[(primary, filename)] == ("identical", None)
        for region in others:
            assert got[(region, filename)] == ("uploaded", primary)
    assert same_everywhere(regions) == two_releases_in_primary
    assert {e.region for e in events if e.kind == "verified"} == set(names(regions))

    after = status(load_config(project), policy=FAST)
    assert after.exit_code == 0 and "in sync" in after.render_text()
    again = sync(project)
    assert again.ok and {o for o, _ in outcomes(again).values()} == {"identical"}


def test_a_different_file_is_reported_and_never_copied(regions, project, tmp_path):
    primary, victim, third = names(regions)
    good = release(project, "1.0.0")
    publish(project, good, [primary])
    other = make_wheel(tmp_path / "other", "hello-internal", "1.0.0", payload_bytes=64, seed=7)
    assert other.name == good[0].name and other.read_bytes() != good[0].read_bytes()
    publish(project, [other], [victim])
    wheel, sdist = good[0].name, good[1].name
    victim_before = regions.regions[victim].files()

    matrix = status(load_config(project), policy=FAST)
    assert matrix.exit_code == 1
    cells = {f.filename: {r: matrix.state(f, r) for r in matrix.regions} for f in matrix.files}
    assert cells[wheel] == {primary: "present", victim: "different", third: "missing"}
    assert cells[sdist] == {primary: "present", victim: "missing", third: "missing"}
    assert "DIFFERENT" in matrix.render_text()

    report = sync(project)
    assert report.exit_code == 1
    got = outcomes(report)
    assert got[(primary, wheel)] == ("identical", None)
    assert got[(victim, wheel)][0] == "conflict"
    assert got[(third, wheel)][0] == "conflict", "diverged bytes are copied nowhere"
    assert got[(victim, sdist)] == ("uploaded", primary)
    assert got[(third, sdist)] == ("uploaded", primary)
    assert regions.regions[victim].files()[wheel] == victim_before[wheel], "left unchanged"
    assert wheel not in regions.regions[third].files()
    assert regions.regions[third].files()[sdist] == regions.regions[primary].files()[sdist]


def test_dry_run_uploads_nothing(regions, project, two_releases_in_primary):
    primary, *others = names(regions)
    report = sync(project, dry_run=True)
    assert report.exit_code == 0 and report.dry_run
    got = outcomes(report)
    for region in others:
        assert {got[(region, f)] for f in two_releases_in_primary} == {("planned", primary)}
        assert regions.regions[region].files() == {}
    result = cli(regions, "sync", "--project", str(project), "--dry-run")
    assert result.code == 0 and "Plan for hello-internal" in result.out
    assert all(regions.regions[r].files() == {} for r in others)


def test_version_limits_what_is_copied(regions, project, two_releases_in_primary):
    _, *others = names(regions)
    report = sync(project, versions=["1.1"])  # normalized: 1.1 == 1.1.0
    assert report.exit_code == 0 and report.version == "1.1.0"
    expected = {f: s for f, s in two_releases_in_primary.items() if "1.1.0" in f}
    for region in others:
        assert regions.regions[region].files() == expected
    assert {f.filename for t in report.targets for f in t.files} == set(expected)
    assert status(load_config(project), policy=FAST).exit_code == 1, "1.0.0 still missing"


def test_from_chooses_the_source(regions, project):
    primary, second, third = names(regions)
    publish(project, release(project, "1.0.0"), [primary, second])
    default = sync(project, dry_run=True)
    assert {s for (r, _), (o, s) in outcomes(default).items() if r == third} == {primary}

    chosen = sync(project, source=second)
    assert chosen.exit_code == 0
    assert {s for (r, _), (o, s) in outcomes(chosen).items() if r == third} == {second}
    same_everywhere(regions)


def test_from_a_region_left_out_by_region_flag_copies_only_to_the_named_regions(
        regions, project):
    primary, second, third = names(regions)
    files = release(project, "1.0.0")
    publish(project, files, [second])
    result = cli(regions, "sync", "--project", str(project), "--region", third,
                 "--from", second, "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert [t["region"] for t in doc["targets"]] == [third]
    assert {f["source_region"] for f in doc["targets"][0]["files"]} == {second}
    assert regions.regions[third].files() == regions.regions[second].files()
    assert regions.regions[primary].files() == {}


def test_from_a_region_that_lacks_the_file_fails_those_files(regions, project):
    primary, second, third = names(regions)
    publish(project, release(project, "1.0.0"), [primary])
    report = sync(project, source=third)
    assert report.exit_code == 1
    failed = [f for t in report.targets for f in t.files if f.outcome == "failed"]
    assert failed and all("--from " + third in (f.error or "") for f in failed)
    assert regions.regions[second].files() == {}


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


def test_sync_sets_the_guard_in_a_backfilled_region(regions, project):
    primary = names(regions)[0]
    regions.write_pyproject(project, extra="block-upstream = true\n")
    publish(project, release(project, "1.0.0"), [primary])
    assert [c.region for c in regions.fake.recorded("PutPackageOriginConfiguration")] == [primary]
    report = sync(project)
    assert report.ok and all(t.origin == GUARD for t in report.targets)
    matrix = status(load_config(project), policy=FAST)
    assert matrix.ok and all(matrix.origins[r] == GUARD for r in names(regions))


def test_status_and_sync_json_shapes_and_exit_codes(regions, project, two_releases_in_primary):
    primary = names(regions)[0]
    result = cli(regions, "status", "--project", str(project), "--json")
    assert result.code == 1
    doc = json.loads(result.out)
    assert set(doc) == {"project", "ok", "regions", "versions", "origins", "origin_errors",
                         "rejected", "errors"}
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

    result = cli(regions, "sync", "--project", str(project), "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert {"project", "version", "ok", "dry_run", "elapsed_s", "targets"} <= set(doc)
    assert doc["ok"] is True and doc["version"] is None  # two versions were copied
    for target in doc["targets"]:
        assert {"region", "domain", "domain_owner", "repository", "ok", "error", "files"} <= set(
            target)
        for file in target["files"]:
            assert {"filename", "sha256", "outcome", "bytes", "attempts", "error",
                    "source_region"} <= set(file)
            assert file["sha256"] == two_releases_in_primary[file["filename"]]
            if target["region"] == primary:
                assert file["outcome"] == "identical" and file["source_region"] is None
            else:
                assert file["outcome"] == "uploaded" and file["source_region"] == primary
                assert file["bytes"] > 0
    done = cli(regions, "status", "--project", str(project), "--json")
    assert done.code == 0 and json.loads(done.out)["ok"] is True


def test_bad_input_exits_2_and_copies_nothing(regions, project):
    primary = names(regions)[0]
    publish(project, release(project, "1.0.0"), [primary])
    before = {n: r.files() for n, r in regions.regions.items()}
    unknown = cli(regions, "sync", "--project", str(project), "--from", "us-west-9", "--json")
    assert unknown.code == 2 and "--from us-west-9" in unknown.err
    assert json.loads(unknown.out) == {"ok": False, "error": json.loads(unknown.out)["error"],
                                       "exit_code": 2}
    version = cli(regions, "sync", "--project", str(project), "--version", "9.9")
    assert version.code == 2 and "--version 9.9" in version.err and "1.0.0" in version.err
    with pytest.raises(UsageError, match="not a valid Python package name"):
        status(load_config(project), package="not a name!", policy=FAST)
    assert {n: r.files() for n, r in regions.regions.items()} == before


def test_no_package_name_exits_2(regions, tmp_path):
    root = tmp_path / "nameless"
    regions.write_pyproject(root)
    text = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(text[text.index("[tool.codeartifact]"):])  # no [project]
    result = cli(regions, "status", "--project", str(root))
    assert result.code == 2 and "--package NAME" in result.err
    with pytest.raises(UsageError, match="--package NAME"):
        sync(root)


def test_an_unreadable_region_is_reported_and_the_others_still_sync(regions, project,
                                                                    two_releases_in_primary):
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
