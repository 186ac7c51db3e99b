"""``sync --event``: one EventBridge event replicates exactly one package version.

Events are built field for field as CodeArtifact documents them (``tests.localaws.events``)
from the region's real state; the versions an event names are published into the primary with
plain twine (the history every region already holds is put straight into storage).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import FAST_RETRIES, run_checked, sha256_of
from tests.localaws.regions import LocalAWS
from tests.test_replication import CLI, PRIMARY, SECOND, THIRD, build, twine_upload
from tests.test_replication import version_state as state_of


def write_event(tmp_path: Path, event: dict[str, Any], name: str = "event.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(event))
    return path


def sync_event(aws: LocalAWS, project: Path, event: Path | str, *args: str) -> Any:
    return run_checked([*CLI, "sync", "--event", str(event), "--project", str(project), *args], aws)


@pytest.fixture
def alpha(regions: LocalAWS, project: Path, tmp_path: Path) -> dict[str, list[Path]]:
    """alpha 1.0 in every region; alpha 1.1 and beta 0.1 then published into the primary."""
    old = build(tmp_path / "d", "alpha", "1.0")
    for region in regions.regions.values():  # the history, straight into storage
        for path in old:
            (region.packages / path.name).write_bytes(path.read_bytes())
    new, beta = build(tmp_path / "d", "alpha", "1.1"), build(tmp_path / "d", "beta", "0.1")
    twine_upload(regions.regions[PRIMARY], new + beta)
    regions.fake.reset()  # forget the set-up's calls: the test counts the sync's
    return {"1.0": old, "1.1": new, "beta": beta}


def test_event_replicates_one_version_without_listing_the_repository(
    regions: LocalAWS, project: Path, tmp_path: Path, alpha: dict[str, list[Path]]
) -> None:
    event = write_event(tmp_path, regions.version_event(PRIMARY, "alpha", "1.1", assets_added=2))
    result = sync_event(regions, project, event, "--json")
    assert result.code == 0, result.out + result.err
    doc = json.loads(result.out)
    assert doc["command"] == "sync --event" and doc["ok"] is True and doc["noop"] is False
    assert doc["event"]["package"] == "alpha" and doc["event"]["region"] == PRIMARY
    assert [t["region"] for t in doc["targets"]] == [SECOND, THIRD]
    for target in doc["targets"]:
        assert {(f["filename"], f["outcome"], f["source_region"]) for f in target["files"]} == {
            (p.name, "uploaded", PRIMARY) for p in alpha["1.1"]
        }
    for region in (SECOND, THIRD):
        held = regions.regions[region].files()
        for path in alpha["1.1"]:
            assert held[path.name] == sha256_of(path)
        assert not any(name.startswith("beta") for name in held)  # exactly that version
    assert regions.fake.recorded("ListPackages") == []
    assert len(regions.fake.recorded("GetPackageVersionAsset")) == 2

    # A replay, and the events the copies raise in the replicas, change nothing.
    regions.fake.reset()
    before = {r: regions.regions[r].files() for r in regions.regions}
    for source in (PRIMARY, SECOND, THIRD):
        echo = write_event(
            tmp_path, regions.version_event(source, "alpha", "1.1"), f"{source}.json"
        )
        again = sync_event(regions, project, echo, "--json")
        assert again.code == 0, again.out + again.err
        replay = json.loads(again.out)
        assert replay["noop"] is True and replay["ok"] is True
        assert {f["outcome"] for t in replay["targets"] for f in t["files"]} == {"identical"}
    assert {r: regions.regions[r].files() for r in regions.regions} == before
    assert regions.fake.recorded("GetPackageVersionAsset") == []
    assert regions.fake.recorded("UpdatePackageVersionsStatus") == []
    text = sync_event(regions, project, event)
    assert text.code == 0 and "no-op: every region already holds alpha 1.1" in text.out


def test_event_mirrors_a_status_change(
    regions: LocalAWS, project: Path, tmp_path: Path, alpha: dict[str, list[Path]]
) -> None:
    regions.regions[PRIMARY].set_version("alpha", "1.0", status="Unlisted")
    event = write_event(
        tmp_path,
        regions.version_event(
            PRIMARY, "alpha", "1.0", operation_type="Updated", status_changed=True
        ),
    )
    result = sync_event(regions, project, event, "--json")
    assert result.code == 0, result.out + result.err
    for region in (SECOND, THIRD):
        assert state_of(region, "alpha", "1.0") == ("Unlisted", "INTERNAL")
    changes = [c for t in json.loads(result.out)["targets"] for c in t["status_changes"]]
    assert [(c["from"], c["to"], c["outcome"]) for c in changes] == [
        ("Published", "Unlisted", "set")
    ] * 2
    assert state_of(PRIMARY, "alpha", "1.1") == ("Published", "INTERNAL")
    # The replicas' own status-change events come back as no-ops.
    echo = write_event(tmp_path, regions.version_event(SECOND, "alpha", "1.0"), "echo.json")
    assert json.loads(sync_event(regions, project, echo, "--json").out)["noop"] is True


def test_event_from_stdin(regions: LocalAWS, project: Path, alpha: dict[str, list[Path]]) -> None:
    event = json.dumps(regions.version_event(PRIMARY, "alpha", "1.1"))
    env = {**os.environ, **regions.env(), **FAST_RETRIES}
    done = subprocess.run(
        [*CLI, "sync", "--event", "-", "--project", str(project), "-q"],
        input=event,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert all(t not in done.stdout + done.stderr for t in regions.tokens())
    for path in alpha["1.1"]:
        assert regions.regions[THIRD].files()[path.name] == sha256_of(path)


@pytest.mark.parametrize(
    "change, needle",
    [
        (
            {"repository": "other"},
            "event for acme/other, but us-east-1 is configured for acme/python",
        ),
        ({"domain": "elsewhere"}, "event for elsewhere/python"),
        ({"package_format": "npm"}, "event for a npm package, not pypi"),
        ({"region": "us-west-2"}, "event from region us-west-2, which is not configured"),
        ({"domain_owner": "999999999999"}, "owned by 999999999999"),
    ],
)
def test_events_this_configuration_does_not_replicate_are_skipped(
    regions: LocalAWS,
    project: Path,
    tmp_path: Path,
    alpha: dict[str, list[Path]],
    change: dict[str, str],
    needle: str,
) -> None:
    built = regions.version_event(
        PRIMARY, "alpha", "1.1", **{k: v for k, v in change.items() if k != "region"}
    )
    built["region"] = change.get("region", PRIMARY)
    event = write_event(tmp_path, built)
    result = sync_event(regions, project, event)
    assert result.code == 0, result.out + result.err
    assert result.out.startswith("skipped: ") and needle in result.out
    doc = json.loads(sync_event(regions, project, event, "--json").out)
    assert doc["ok"] is True and doc["skipped"] and doc["targets"] == []
    assert regions.regions[THIRD].files().keys() == {p.name for p in alpha["1.0"]}
    assert regions.fake.recorded("ListPackageVersions") == []


def test_external_and_disposed_versions_are_not_copied(
    regions: LocalAWS, project: Path, tmp_path: Path, alpha: dict[str, list[Path]]
) -> None:
    regions.regions[PRIMARY].set_version("alpha", "1.1", origin="EXTERNAL")
    event = write_event(tmp_path, regions.version_event(PRIMARY, "alpha", "1.1"))
    result = sync_event(regions, project, event, "--json")
    assert result.code == 0, result.out + result.err
    doc = json.loads(result.out)
    assert doc["packages"][0]["skipped"][0]["reason"].startswith("origin EXTERNAL")
    assert not any(n.startswith("alpha-1.1") for n in regions.regions[THIRD].files())
    copied = sync_event(regions, project, event, "--include-external")
    assert copied.code == 0, copied.out + copied.err
    for path in alpha["1.1"]:
        assert regions.regions[THIRD].files()[path.name] == sha256_of(path)

    twine_upload(regions.regions[PRIMARY], build(tmp_path / "d", "alpha", "1.2"))
    regions.regions[PRIMARY].set_version("alpha", "1.2", status="Disposed")
    disposed = write_event(tmp_path, regions.version_event(PRIMARY, "alpha", "1.2"), "d.json")
    result = sync_event(regions, project, disposed)
    assert result.code == 0, result.out + result.err
    assert "Disposed in us-east-1: never copied" in result.out
    assert not any(n.startswith("alpha-1.2") for n in regions.regions[THIRD].files())


def _event(aws: LocalAWS) -> dict[str, Any]:
    return aws.version_event(PRIMARY, "alpha", "1.1")


@pytest.mark.parametrize(
    "make, needle",
    [
        (lambda aws: b"{not json", "not JSON"),
        (lambda aws: b"[1, 2]", "not a JSON object"),
        (
            lambda aws: {**_event(aws), "detail-type": "Object Created"},
            "key detail-type is 'Object Created'",
        ),
        (lambda aws: {**_event(aws), "source": "aws.s3"}, "key source is 'aws.s3'"),
        (
            lambda aws: {k: v for k, v in _event(aws).items() if k != "detail"},
            "key detail is missing",
        ),
        (
            lambda aws: {**_event(aws), "detail": {**_event(aws)["detail"], "packageName": None}},
            "key detail.packageName is missing",
        ),
        (
            lambda aws: {
                **_event(aws),
                "detail": {**_event(aws)["detail"], "packageName": "../../etc/passwd"},
            },
            "key detail.packageName is '../../etc/passwd', not a valid value",
        ),
        (
            lambda aws: {
                **_event(aws),
                "detail": {**_event(aws)["detail"], "packageVersion": "1.1/../x"},
            },
            "key detail.packageVersion",
        ),
        (lambda aws: {**_event(aws), "region": "Mars\x1b[2J"}, "key region"),
        (lambda aws: b" " * (300 * 1024), "longer than 262144 bytes"),
    ],
)
def test_malformed_events_exit_2_naming_the_file_and_key(
    regions: LocalAWS, project: Path, tmp_path: Path, make: Any, needle: str
) -> None:
    twine_upload(regions.regions[PRIMARY], build(tmp_path / "d", "alpha", "1.1"))
    regions.fake.reset()
    made = make(regions)
    path = tmp_path / "bad-event.json"
    path.write_bytes(made if isinstance(made, bytes) else json.dumps(made).encode())
    result = sync_event(regions, project, path, "--json")
    assert result.code == 2, result.out + result.err
    assert f"--event {path}" in result.err and needle in result.err
    assert "\x1b" not in result.err
    doc = json.loads(result.out)
    assert doc["exit_code"] == 2 and needle in doc["error"]
    assert regions.fake.recorded() == []
    assert regions.regions[THIRD].files() == {} == regions.regions[SECOND].files()


def test_a_missing_event_file_exits_2(regions: LocalAWS, project: Path, tmp_path: Path) -> None:
    result = sync_event(regions, project, tmp_path / "nope.json")
    assert result.code == 2
    assert f"--event {tmp_path / 'nope.json'}: cannot read it" in result.err


def test_an_unreadable_event_region_fails_the_run(
    regions: LocalAWS, project: Path, tmp_path: Path, alpha: dict[str, list[Path]]
) -> None:
    regions.fake.fail(PRIMARY, "ListPackageVersions", "AccessDeniedException", 403, times=0)
    event = write_event(tmp_path, regions.version_event(PRIMARY, "alpha", "1.1"))
    result = sync_event(regions, project, event)
    assert result.code == 1
    assert f"could not read alpha in {PRIMARY}" in result.out
    assert "codeartifact:ListPackageVersions" in result.out
    assert not any(n.startswith("alpha-1.1") for n in regions.regions[THIRD].files())


def test_event_report_names_the_version(
    regions: LocalAWS, project: Path, tmp_path: Path, alpha: dict[str, list[Path]]
) -> None:
    event = write_event(tmp_path, regions.version_event(PRIMARY, "alpha", "1.1"))
    planned = json.loads(sync_event(regions, project, event, "--dry-run", "--json").out)
    assert (planned["project"], planned["version"], planned["dry_run"]) == ("alpha", "1.1", True)
    assert {f["outcome"] for t in planned["targets"] for f in t["files"]} == {"planned"}
    assert not any(n.startswith("alpha-1.1") for n in regions.regions[THIRD].files())
    text = sync_event(regions, project, event)
    assert text.code == 0
    assert text.out.startswith(f"Sync of alpha 1.1 from {PRIMARY} to 2 region(s):")
