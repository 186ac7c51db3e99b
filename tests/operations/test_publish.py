"""The engine against real local regions: what each region's index holds afterwards."""

from __future__ import annotations

from pathlib import Path

from codeartifact_multiregion.base.config import load_config
from codeartifact_multiregion.base.events import Event
from codeartifact_multiregion.base.report import CONFLICT, IDENTICAL, PLANNED, UPLOADED
from codeartifact_multiregion.operations.publish import Publisher
from tests.helpers import FAST, sha256s
from tests.localaws.dists import make_wheel


def run(project: Path, **kwargs: object) -> tuple[object, list[Event]]:
    events: list[Event] = []
    regions = kwargs.pop("regions", None)
    config = load_config(project, regions)  # type: ignore[arg-type]
    report = Publisher(config, on_event=events.append, policy=FAST).publish(**kwargs)  # type: ignore[arg-type]
    return report, events


def test_every_file_lands_in_every_region_with_its_sha256(regions, project, sample_dists):
    report, events = run(project)
    assert report.ok and report.exit_code == 0
    expected = sha256s(sample_dists)
    for region in regions.regions.values():
        assert region.files() == expected
    outcomes = {(t.region, f.filename): f.outcome for t in report.targets for f in t.files}
    assert set(outcomes.values()) == {UPLOADED} and len(outcomes) == 3 * len(expected)
    assert {e.region for e in events if e.kind == "verified"} == set(regions.regions)


def test_second_run_uploads_nothing(regions, project, sample_dists):
    run(project)
    report, events = run(project)
    assert report.exit_code == 0
    assert {f.outcome for t in report.targets for f in t.files} == {IDENTICAL}
    assert not [e for e in events if e.kind == "start"], "no upload was started"


def test_conflict_in_one_region_is_never_overwritten(regions, project, sample_dists, tmp_path):
    wheel = next(sample_dists.glob("*.whl"))
    other = make_wheel(tmp_path / "other", "hello-internal", "1.0.0", payload_bytes=64, seed=7)
    assert other.name == wheel.name and other.read_bytes() != wheel.read_bytes()
    victim = next(iter(regions.regions.values()))
    victim_report, _ = run(project, regions=[victim.name], files=[other])
    assert victim_report.ok
    before = victim.files()

    report, _ = run(project)
    assert report.exit_code == 1
    by_region = {t.region: t for t in report.targets}
    assert by_region[victim.name].file(wheel.name).outcome == CONFLICT
    assert victim.files()[wheel.name] == before[wheel.name], "the conflicting file is unchanged"
    sdist = next(sample_dists.glob("*.tar.gz")).name
    assert by_region[victim.name].file(sdist).outcome == UPLOADED
    for name, region in regions.regions.items():
        if name != victim.name:
            assert by_region[name].ok
            assert region.files() == sha256s(sample_dists)


def test_dead_region_fails_alone_and_a_rerun_converges(regions, project, sample_dists):
    dead = list(regions.regions.values())[1]
    dead.stop()
    try:
        report, _ = run(project)
    finally:
        dead.restart()
    assert report.exit_code == 1
    by_region = {t.region: t for t in report.targets}
    assert not by_region[dead.name].ok and by_region[dead.name].error
    assert all(t.ok for t in report.targets if t.region != dead.name)
    assert dead.files() == {}

    again, _ = run(project)
    assert again.exit_code == 0
    for region in regions.regions.values():
        assert region.files() == sha256s(sample_dists)
    outcomes = {t.region: {f.outcome for f in t.files} for t in again.targets}
    assert outcomes[dead.name] == {UPLOADED}
    assert all(v == {IDENTICAL} for k, v in outcomes.items() if k != dead.name)


def test_dry_run_reads_but_uploads_nothing(regions, project, sample_dists):
    report, events = run(project, dry_run=True)
    assert report.ok and report.dry_run
    assert {f.outcome for t in report.targets for f in t.files} == {PLANNED}
    assert all(region.files() == {} for region in regions.regions.values())
    assert not [e for e in events if e.kind == "start"]


def test_region_flag_narrows_the_run(regions, project, sample_dists):
    first, *others = regions.regions.values()
    report, _ = run(project, regions=[first.name])
    assert [t.region for t in report.targets] == [first.name]
    assert first.files() == sha256s(sample_dists)
    assert all(r.files() == {} for r in others)
