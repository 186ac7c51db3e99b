"""sync against real local regions: what each region holds before and after a copy."""

from __future__ import annotations

import json

import pytest

from codeartifact_multiregion.config import load_config
from codeartifact_multiregion.errors import UsageError
from codeartifact_multiregion.events import Event
from codeartifact_multiregion.report import CONFLICT, FAILED, IDENTICAL, PLANNED, UPLOADED
from codeartifact_multiregion.status import status
from tests.helpers import FAST
from tests.helpers import run_cli as cli
from tests.localaws.dists import make_wheel
from tests.replication import GUARD, names, outcomes, publish, release, same_everywhere, sync


def test_status_shows_drift_and_sync_backfills_every_region(
    regions, project, two_releases_in_primary
):
    primary, *others = names(regions)
    before = status(load_config(project), policy=FAST)
    assert before.exit_code == 1 and not before.ok
    doc = before.to_dict()
    assert [v["version"] for v in doc["versions"]] == ["1.1.0", "1.0.0"]
    for version in doc["versions"]:
        assert len(version["files"]) == 2
        for file in version["files"]:
            cells = file["regions"]
            assert cells[primary] == {
                "state": "present",
                "sha256": two_releases_in_primary[file["filename"]],
            }
            assert all(cells[r] == {"state": "missing", "sha256": None} for r in others)
    text = before.render_text()
    assert "MISSING" in text and "DRIFT: 8 file x region cell(s)" in text

    events: list[Event] = []
    report = sync(project, events=events)
    assert report.exit_code == 0, report.render_text()
    got = outcomes(report)
    for filename in two_releases_in_primary:
        assert got[(primary, filename)] == (IDENTICAL, None)
        for region in others:
            assert got[(region, filename)] == (UPLOADED, primary)
    assert same_everywhere(regions) == two_releases_in_primary
    assert {e.region for e in events if e.kind == "verified"} == set(names(regions))

    after = status(load_config(project), policy=FAST)
    assert after.exit_code == 0 and "in sync" in after.render_text()
    again = sync(project)
    assert again.ok and {o for o, _ in outcomes(again).values()} == {IDENTICAL}


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
    assert got[(primary, wheel)] == (IDENTICAL, None)
    assert got[(victim, wheel)][0] == CONFLICT
    assert got[(third, wheel)][0] == CONFLICT, "diverged bytes are copied nowhere"
    assert got[(victim, sdist)] == (UPLOADED, primary)
    assert got[(third, sdist)] == (UPLOADED, primary)
    assert regions.regions[victim].files()[wheel] == victim_before[wheel], "left unchanged"
    assert wheel not in regions.regions[third].files()
    assert regions.regions[third].files()[sdist] == regions.regions[primary].files()[sdist]


def test_dry_run_uploads_nothing(regions, project, two_releases_in_primary):
    primary, *others = names(regions)
    report = sync(project, dry_run=True)
    assert report.exit_code == 0 and report.dry_run
    got = outcomes(report)
    for region in others:
        assert {got[(region, f)] for f in two_releases_in_primary} == {(PLANNED, primary)}
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


def test_from_a_region_left_out_by_region_flag_copies_only_to_the_named_regions(regions, project):
    primary, second, third = names(regions)
    files = release(project, "1.0.0")
    publish(project, files, [second])
    result = cli(
        regions, "sync", "--project", str(project), "--region", third, "--from", second, "--json"
    )
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
    failed = [f for t in report.targets for f in t.files if f.outcome == FAILED]
    assert failed and all("--from " + third in (f.error or "") for f in failed)
    assert regions.regions[second].files() == {}


def test_sync_sets_the_guard_in_a_backfilled_region(regions, project):
    primary = names(regions)[0]
    regions.write_pyproject(project, extra="block-upstream = true\n")
    publish(project, release(project, "1.0.0"), [primary])
    assert [c.region for c in regions.fake.recorded("PutPackageOriginConfiguration")] == [primary]
    report = sync(project)
    assert report.ok and all(t.origin == GUARD for t in report.targets)
    matrix = status(load_config(project), policy=FAST)
    assert matrix.ok and all(matrix.origins[r] == GUARD for r in names(regions))


def test_bad_input_exits_2_and_copies_nothing(regions, project):
    primary = names(regions)[0]
    publish(project, release(project, "1.0.0"), [primary])
    before = {n: r.files() for n, r in regions.regions.items()}
    unknown = cli(regions, "sync", "--project", str(project), "--from", "us-west-9", "--json")
    assert unknown.code == 2 and "--from us-west-9" in unknown.err
    assert json.loads(unknown.out) == {
        "ok": False,
        "error": json.loads(unknown.out)["error"],
        "exit_code": 2,
    }
    version = cli(regions, "sync", "--project", str(project), "--version", "9.9")
    assert version.code == 2 and "--version 9.9" in version.err and "1.0.0" in version.err
    with pytest.raises(UsageError, match="not a valid Python package name"):
        status(load_config(project), package="not a name!", policy=FAST)
    assert {n: r.files() for n, r in regions.regions.items()} == before


def test_sync_json_shape_and_exit_code(regions, project, two_releases_in_primary):
    primary = names(regions)[0]
    result = cli(regions, "sync", "--project", str(project), "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert {"project", "version", "ok", "dry_run", "elapsed_s", "targets"} <= set(doc)
    assert doc["ok"] is True and doc["version"] is None  # two versions were copied
    for target in doc["targets"]:
        assert {"region", "domain", "domain_owner", "repository", "ok", "error", "files"} <= set(
            target
        )
        for file in target["files"]:
            assert {
                "filename",
                "sha256",
                "outcome",
                "bytes",
                "attempts",
                "error",
                "source_region",
            } <= set(file)
            assert file["sha256"] == two_releases_in_primary[file["filename"]]
            if target["region"] == primary:
                assert file["outcome"] == IDENTICAL and file["source_region"] is None
            else:
                assert file["outcome"] == UPLOADED and file["source_region"] == primary
                assert file["bytes"] > 0
    done = cli(regions, "status", "--project", str(project), "--json")
    assert done.code == 0 and json.loads(done.out)["ok"] is True
