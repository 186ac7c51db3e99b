"""Whole-repository replication against real local regions: ``status --all``, ``sync --all``.

The repository is published into the primary with plain twine (not this project), as
other teams' tools do; a second region holds a few of its versions, a third none. Every
claim is checked where a user would: the files each region's storage holds and their
sha256, each version's status and origin as CodeArtifact's API reports them, exit codes
and what the CLI prints.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import run_checked, sha256_of, twine_upload
from tests.localaws.dists import make_sdist, make_wheel
from tests.localaws.regions import LocalAWS

PRIMARY, SECOND, THIRD = "us-east-1", "eu-west-1", "ap-southeast-2"
# package -> versions, each published as a wheel and an sdist.
REPO = {
    "alpha": ["1.0", "1.1", "2.0"],
    "beta": ["0.1", "0.2"],
    "Gamma.Pkg": ["3.0", "3.1"],
    "delta": ["1.0", "1.1", "1.2"],
    "epsilon": ["0.9", "1.0"],
}
CLI = [sys.executable, "-m", "codeartifact_multiregion"]


def build(dist: Path, name: str, version: str, seed: int = 0) -> list[Path]:
    folder = dist / f"{name}-{version}-{seed}"
    return [
        make_wheel(folder, name, version, payload_bytes=128, seed=seed),
        make_sdist(folder, name, version),
    ]


def files_of(built: dict[tuple[str, str], list[Path]], *keys: tuple[str, str]) -> list[Path]:
    return [path for key in keys for path in built[key]]


def api(region: str) -> Any:
    import boto3

    return boto3.client("codeartifact", region_name=region)


def version_state(region: str, package: str, version: str) -> tuple[str, str] | None:
    """(status, originType) of a version as the region's API lists it; None if absent."""
    client = api(region)
    try:
        pages = client.get_paginator("list_package_versions").paginate(
            domain="acme",
            domainOwner="111122223333",
            repository="python",
            format="pypi",
            package=package,
        )
        for page in pages:
            for item in page["versions"]:
                if item["version"] == version:
                    return item["status"], item["origin"]["originType"]
    except client.exceptions.ResourceNotFoundException:
        return None
    return None


@pytest.fixture
def repository(
    regions: LocalAWS, project: Path, tmp_path: Path
) -> dict[tuple[str, str], list[Path]]:
    """REPO in the primary (twine); a few versions in the second region; the third empty.

    epsilon 0.9 is a cached public version (origin EXTERNAL) and beta 0.2 is Unlisted in
    the primary; the second region holds delta 1.0's wheel with other bytes (a conflict).
    """
    dist = tmp_path / "dists"
    built = {(name, v): build(dist, name, v) for name, versions in REPO.items() for v in versions}
    twine_upload(regions.regions[PRIMARY], [p for paths in built.values() for p in paths])
    other_delta = make_wheel(dist / "other", "delta", "1.0", payload_bytes=128, seed=7)
    twine_upload(
        regions.regions[SECOND], [*files_of(built, ("alpha", "1.0"), ("beta", "0.1")), other_delta]
    )
    primary = regions.regions[PRIMARY]
    primary.set_version("epsilon", "0.9", origin="EXTERNAL")
    primary.set_version("beta", "0.2", status="Unlisted")
    assert len(primary.files()) == 2 * sum(len(v) for v in REPO.values()) == 24
    assert regions.regions[THIRD].files() == {}
    return built


def cli(aws: LocalAWS, project: Path, *args: str) -> Any:
    return run_checked([*CLI, *args, "--project", str(project)], aws)


def test_status_all_names_the_drift(
    regions: LocalAWS, project: Path, repository: dict[tuple[str, str], list[Path]]
) -> None:
    text = cli(regions, project, "status", "--all")
    assert text.code == 1, text.out + text.err
    assert "DRIFT" in text.out
    assert "drifted cells:" in text.out
    assert f"delta 1.0  delta-1.0-py3-none-any.whl  {SECOND}  DIFFERENT" in text.out
    assert f"alpha 2.0  alpha-2.0.tar.gz  {THIRD}  MISSING" in text.out
    assert "epsilon 0.9" not in text.out.split("drifted cells:")[1]  # EXTERNAL: not drift
    assert f"beta 0.1  status  {SECOND}" not in text.out

    doc = json.loads(cli(regions, project, "status", "--all", "--json").out)
    assert doc["ok"] is False and doc["regions"] == [PRIMARY, SECOND, THIRD]
    packages = {p["project"]: p for p in doc["packages"]}
    assert set(packages) == {"alpha", "beta", "gamma-pkg", "delta", "epsilon"}
    beta = {v["version"]: v for v in packages["beta"]["versions"]}
    assert beta["0.2"]["status"] == {PRIMARY: "Unlisted", SECOND: None, THIRD: None}
    assert beta["0.1"]["status"] == {PRIMARY: "Published", SECOND: "Published", THIRD: None}
    wheel = next(f for f in beta["0.1"]["files"] if f["filename"].endswith(".whl"))
    want = sha256_of(repository[("beta", "0.1")][0])
    assert wheel["regions"] == {
        PRIMARY: {"state": "present", "sha256": want},
        SECOND: {"state": "present", "sha256": want},
        THIRD: {"state": "missing", "sha256": None},
    }
    epsilon = {v["version"]: v for v in packages["epsilon"]["versions"]}
    assert epsilon["0.9"]["origin"] == "EXTERNAL" and epsilon["0.9"]["replicated"] is False
    assert epsilon["1.0"]["origin"] == "INTERNAL" and epsilon["1.0"]["replicated"] is True


def test_sync_all_fills_every_region_except_conflicts_then_converges(
    regions: LocalAWS, project: Path, repository: dict[tuple[str, str], list[Path]]
) -> None:
    result = cli(regions, project, "sync", "--all", "--json")
    assert result.code == 1, result.err  # the conflict
    doc = json.loads(result.out)
    assert doc["command"] == "sync --all" and doc["ok"] is False
    targets = {t["region"]: t for t in doc["targets"]}
    conflicts = {
        (r, f["filename"])
        for r, t in targets.items()
        for f in t["files"]
        if f["outcome"] == "conflict"
    }
    assert conflicts == {
        (SECOND, "delta-1.0-py3-none-any.whl"),
        (THIRD, "delta-1.0-py3-none-any.whl"),
    }
    uploaded = {
        f["source_region"]
        for t in targets.values()
        for f in t["files"]
        if f["outcome"] == "uploaded"
    }
    assert uploaded == {PRIMARY}

    expected = {
        p.name: sha256_of(p)
        for key, paths in repository.items()
        for p in paths
        if key != ("epsilon", "0.9")
    }
    held_primary = regions.regions[PRIMARY].files()
    for region in (SECOND, THIRD):
        held = regions.regions[region].files()
        for name, digest in expected.items():
            if name == "delta-1.0-py3-none-any.whl":
                continue
            assert held.get(name) == digest, (region, name)
        # The cached public version was not copied; the conflicting file was not touched.
        assert not any(n.startswith("epsilon-0.9") for n in held)
    assert regions.regions[THIRD].files().get("delta-1.0-py3-none-any.whl") is None
    assert (
        regions.regions[SECOND].files()["delta-1.0-py3-none-any.whl"]
        != held_primary["delta-1.0-py3-none-any.whl"]
    )
    # The Unlisted version is Unlisted in the replicas too; the others stay Published.
    for region in (SECOND, THIRD):
        assert version_state(region, "beta", "0.2") == ("Unlisted", "INTERNAL")
        assert version_state(region, "alpha", "2.0") == ("Published", "INTERNAL")
        assert version_state(region, "epsilon", "0.9") is None
    changes = {
        (r, c["package"], c["version"], c["to"], c["outcome"])
        for r, t in targets.items()
        for c in t["status_changes"]
    }
    assert changes == {
        (SECOND, "beta", "0.2", "Unlisted", "set"),
        (THIRD, "beta", "0.2", "Unlisted", "set"),
    }
    # delta 1.0's status waits in the third region (a file is missing); 1.1 went through.
    assert version_state(THIRD, "delta", "1.1") == ("Published", "INTERNAL")

    # Remove the conflict (the second region's odd wheel), and everything converges.
    (regions.regions[SECOND].packages / "delta-1.0-py3-none-any.whl").unlink()
    again = cli(regions, project, "sync", "--all")
    assert again.code == 0, again.out + again.err
    assert "complete" in again.out
    for region in (SECOND, THIRD):
        assert (
            regions.regions[region].files()["delta-1.0-py3-none-any.whl"]
            == held_primary["delta-1.0-py3-none-any.whl"]
        )
    status = cli(regions, project, "status", "--all")
    assert status.code == 0, status.out
    assert status.out.strip().endswith("in sync")
    # A second sync has nothing left to do.
    last = json.loads(cli(regions, project, "sync", "--all", "--json").out)
    assert last["ok"] is True and last["noop"] is True


def test_include_external_copies_cached_versions(
    regions: LocalAWS, project: Path, repository: dict[tuple[str, str], list[Path]]
) -> None:
    (regions.regions[SECOND].packages / "delta-1.0-py3-none-any.whl").unlink()
    result = cli(regions, project, "sync", "--all", "--include-external", "--region", THIRD)
    assert result.code == 0, result.out + result.err
    held = regions.regions[THIRD].files()
    for path in repository[("epsilon", "0.9")]:
        assert held[path.name] == sha256_of(path)
    assert regions.regions[SECOND].files().get("alpha-2.0.tar.gz") is None  # not a target


def test_dry_run_plans_and_sends_nothing(
    regions: LocalAWS, project: Path, repository: dict[tuple[str, str], list[Path]]
) -> None:
    before = {r: regions.regions[r].files() for r in (SECOND, THIRD)}
    result = cli(regions, project, "sync", "--all", "--dry-run", "--json")
    doc = json.loads(result.out)
    assert doc["dry_run"] is True
    planned = [f for t in doc["targets"] for f in t["files"] if f["outcome"] == "planned"]
    assert len(planned) > 20 and all(f["source_region"] == PRIMARY for f in planned)
    assert {r: regions.regions[r].files() for r in (SECOND, THIRD)} == before
    assert not regions.fake.recorded("UpdatePackageVersionsStatus")
    assert not regions.fake.recorded("GetPackageVersionAsset")


def test_archived_version_is_copied_from_where_it_can_be_and_archived(
    regions: LocalAWS, project: Path, tmp_path: Path
) -> None:
    files = build(tmp_path, "zeta", "1.0")
    twine_upload(regions.regions[PRIMARY], files)
    twine_upload(regions.regions[SECOND], files)
    regions.regions[PRIMARY].set_version("zeta", "1.0", status="Archived")
    result = cli(regions, project, "sync", "--all", "--json")
    assert result.code == 0, result.out + result.err
    doc = json.loads(result.out)
    third = next(t for t in doc["targets"] if t["region"] == THIRD)
    assert {f["source_region"] for f in third["files"]} == {SECOND}
    for region in (SECOND, THIRD):
        assert version_state(region, "zeta", "1.0") == ("Archived", "INTERNAL")
        # Archived: out of the index, kept aside with the source's bytes.
        held = {p.name: sha256_of(p) for p in regions.regions[region].held.iterdir()}
        assert held == {p.name: sha256_of(p) for p in files}


def test_archived_everywhere_cannot_be_copied_and_says_so(
    regions: LocalAWS, project: Path, tmp_path: Path
) -> None:
    twine_upload(regions.regions[PRIMARY], build(tmp_path, "eta", "1.0"))
    regions.regions[PRIMARY].set_version("eta", "1.0", status="Archived")
    result = cli(regions, project, "sync", "--all")
    assert result.code == 1
    assert "Archived in every region that holds it" in result.out


@pytest.mark.parametrize(
    "args, needle",
    [
        (["sync", "--all", "--package", "alpha"], "--all cannot be combined with --package"),
        (["sync", "--all", "--event", "x.json"], "--all and --event exclude each other"),
        (
            ["sync", "--event", "x.json", "--version", "1.0"],
            "--event cannot be combined with --version",
        ),
        (["status", "--all", "--package", "alpha"], "--all cannot be combined with --package"),
        (["sync", "--include-external"], "--include-external applies only with --all or --event"),
    ],
)
def test_flag_mixes_are_usage_errors(
    regions: LocalAWS, project: Path, args: list[str], needle: str
) -> None:
    result = cli(regions, project, *args, "--json")
    assert result.code == 2
    assert needle in result.err
    assert json.loads(result.out)["exit_code"] == 2
    assert not regions.fake.recorded()


def test_an_unreadable_region_is_named_and_the_others_still_fill(
    regions: LocalAWS, project: Path, tmp_path: Path
) -> None:
    files = build(tmp_path, "theta", "1.0") + build(tmp_path, "iota", "2.0")
    twine_upload(regions.regions[PRIMARY], files)
    regions.fake.fail(SECOND, "ListPackageVersions", "AccessDeniedException", 403, times=0)
    status = cli(regions, project, "status", "--all")
    assert status.code == 1
    assert f"{SECOND}: UNREADABLE" in status.out
    assert "codeartifact:ListPackageVersions" in status.out
    sync = cli(regions, project, "sync", "--all", "--json")
    assert sync.code == 1
    doc = json.loads(sync.out)
    second = next(t for t in doc["targets"] if t["region"] == SECOND)
    assert second["ok"] is False
    assert {f["outcome"] for f in second["files"]} == {"failed"}
    assert regions.regions[SECOND].files() == {}
    assert regions.regions[THIRD].files() == {p.name: sha256_of(p) for p in files}


def test_control_characters_in_an_event_are_refused_and_shown_escaped(
    regions: LocalAWS, project: Path, tmp_path: Path
) -> None:
    event = regions.version_event(PRIMARY, "alpha", "1.0", package_format="npm")
    event["detail"]["packageName"] = "evil\x1b]0;owned\x07"
    path = tmp_path / "npm.json"
    path.write_text(json.dumps(event))
    result = cli(regions, project, "sync", "--event", str(path))
    assert result.code == 2
    assert "key detail.packageName" in result.err
    assert "\x1b" not in result.err and "\\x1b" in result.err
