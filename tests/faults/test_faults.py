"""Faults between the publisher and a region, and in the control plane.

Every test asserts what each region's storage holds afterwards (files and sha256),
the exit code and the report. One region misbehaves behind a fault proxy; the others
must be untouched by its trouble.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from codeartifact_multiregion.errors import ResolveError
from codeartifact_multiregion.report import CONFLICT, FAILED, IDENTICAL, UPLOADED
from tests.faults.helpers import cli_env, extra_wheels, home_env, publish
from tests.faults.proxy import DELAY, DROP_RESPONSE, GARBLE, PASS, RESET, STALL, STATUS, Rule
from tests.helpers import FAST, run_cli, sha256s
from tests.localaws.dists import make_wheel


def victim_and_others(regions) -> tuple[str, list[str]]:
    names = list(regions.regions)
    return names[1], [n for n in names if n != names[1]]


def assert_complete(regions, names: list[str], expected: dict[str, str]) -> None:
    for name in names:
        assert regions.regions[name].files() == expected, name


# -- transient faults recover within the retry bounds --------------------------------------

TRANSIENT = {
    # name: (rules, extra upload attempts the report must count, minimum seconds)
    "503 burst on upload": ([Rule(STATUS, "POST", status=503, times=2)], 2, 0.0),
    "502 then 500 on upload": (
        [Rule(STATUS, "POST", status=502), Rule(STATUS, "POST", status=500)],
        2,
        0.0,
    ),
    "429 with Retry-After": ([Rule(STATUS, "POST", status=429, retry_after="1")], 1, 1.0),
    "connection reset mid-upload": ([Rule(RESET, "POST", times=2)], 2, 0.0),
    "503 burst on index read": ([Rule(STATUS, "GET", status=503, times=2)], 0, 0.0),
    "429 on index read": ([Rule(STATUS, "GET", status=429, retry_after="0.2")], 0, 0.2),
    "reset on index read": ([Rule(RESET, "GET", times=2)], 0, 0.0),
    "garbled index answer": ([Rule(GARBLE, "GET")], 0, 0.0),
    "delay under the read timeout": ([Rule(DELAY, None, seconds=0.5, times=0)], 0, 0.5),
}


@pytest.mark.parametrize("case", list(TRANSIENT))
def test_transient_faults_recover_and_attempts_are_counted(
    case, regions, project, sample_dists, proxies
):
    rules, extra, at_least = TRANSIENT[case]
    victim, _ = victim_and_others(regions)
    proxy = proxies(victim)
    for rule in rules:
        proxy.add(rule)
    started = time.monotonic()
    run = publish(project)
    elapsed = time.monotonic() - started

    assert run.report.exit_code == 0, run.report.render_text()
    assert_complete(regions, list(regions.regions), sha256s(sample_dists))
    assert all(r.fired == (r.times or r.fired) for r in rules), "every fault was injected"
    assert set(run.outcomes(victim).values()) == {UPLOADED}
    n = len(list(sample_dists.iterdir()))
    assert run.attempts(victim) == n + extra, "each retry is counted in the report"
    retries = [e for e in run.events if e.kind == "retry" and e.region == victim]
    assert len(retries) == extra
    for name in regions.regions:
        if name != victim:
            assert run.attempts(name) == n
    # A lower bound only: the code sleeps at least this long; a busy machine adds, never takes.
    assert elapsed >= at_least, "Retry-After and delays are honoured"


# -- a stalled region times out within its bounds and fails alone ---------------------------


@pytest.mark.parametrize("method", ["POST", None], ids=["uploads stall", "everything stalls"])
def test_stalled_region_times_out_alone(method, regions, project, sample_dists, proxies):
    victim, others = victim_and_others(regions)
    proxy = proxies(victim)
    proxy.add(Rule(STALL, method, seconds=60, times=0))
    # Short enough to end the 60 s stall, long enough for a loaded machine's healthy regions.
    policy = replace(FAST, attempts=2, read_timeout=5.0)
    run = publish(project, policy=policy)

    # "timed out", not "reset": the client gave up before the stall ended (no clock needed).
    assert run.report.exit_code == 1
    target = run.target(victim)
    assert not target.ok
    text = (target.error or "") + " ".join(f.error or "" for f in target.files)
    assert "timed out" in text
    assert regions.regions[victim].files() == {}
    assert_complete(regions, others, sha256s(sample_dists))
    assert all(run.target(o).ok for o in others)
    if method == "POST":
        assert all(f.outcome == FAILED and f.attempts == 2 for f in target.files)


# -- the upload landed but its answer was lost ----------------------------------------------


def test_dropped_answer_is_found_by_the_retry_and_reported_uploaded(
    regions, project, sample_dists, proxies
):
    victim, _ = victim_and_others(regions)
    proxy = proxies(victim)
    proxy.add(Rule(DROP_RESPONSE, "POST", times=0))  # every upload lands, no answer ever comes
    run = publish(project)
    assert run.report.exit_code == 0, run.report.render_text()
    assert_complete(regions, list(regions.regions), sha256s(sample_dists))
    assert set(run.outcomes(victim).values()) == {UPLOADED}
    assert proxy.count("POST") == len(list(sample_dists.iterdir())), "no second upload was sent"


def test_dropped_answer_then_unreadable_index_then_409_is_still_uploaded(
    regions, project, sample_dists, proxies
):
    """The look after the drop fails; the re-upload meets "exists": the index settles it."""
    victim, _ = victim_and_others(regions)
    wheel = next(sample_dists.glob("*.whl"))
    proxy = proxies(victim)
    proxy.add(Rule(DROP_RESPONSE, "POST"))
    proxy.add(Rule(STATUS, "GET", status=503, skip=1, times=FAST.attempts))  # plan read passes
    run = publish(project, files=[wheel])
    assert run.report.exit_code == 0, run.report.render_text()
    result = run.target(victim).file(wheel.name)
    assert (result.outcome, result.attempts) == (UPLOADED, 2)
    assert proxy.count("POST") == 2
    assert_complete(regions, list(regions.regions), sha256s([wheel]))


def test_answer_dropped_on_the_last_attempt_is_looked_for_before_giving_up(
    regions, project, sample_dists, proxies
):
    victim, _ = victim_and_others(regions)
    wheel = next(sample_dists.glob("*.whl"))
    proxy = proxies(victim)
    proxy.add(Rule(STATUS, "POST", status=503))
    proxy.add(Rule(DROP_RESPONSE, "POST"))
    run = publish(project, files=[wheel], policy=replace(FAST, attempts=2))
    result = run.target(victim).file(wheel.name)
    assert (result.outcome, result.attempts) == (UPLOADED, 2), result
    assert run.report.exit_code == 0
    assert_complete(regions, list(regions.regions), sha256s([wheel]))


# -- the token stops working mid-run ---------------------------------------------------------


def test_token_rotated_mid_run_is_refreshed_once(regions, project, sample_dists, proxies):
    victim, others = victim_and_others(regions)
    old = regions.regions[victim].token
    proxy = proxies(victim)
    # The first upload arrives carrying the token the region has just stopped accepting.
    proxy.add(Rule(PASS, "POST", before=lambda: regions.fake.rotate_token(victim, old + "-new")))
    run = publish(project)

    assert run.report.exit_code == 0, run.report.render_text()
    assert_complete(regions, list(regions.regions), sha256s(sample_dists))
    tokens = {n: len(regions.fake.recorded("GetAuthorizationToken", n)) for n in regions.regions}
    assert tokens == {victim: 2, **{o: 1 for o in others}}, "one refresh, in that region only"
    refreshed = [e for e in run.events if e.kind == "retry" and "token refreshed" in e.message]
    assert refreshed and {e.region for e in refreshed} == {victim}
    assert run.attempts(victim) > len(list(sample_dists.iterdir()))


@pytest.mark.parametrize("status", [401, 403])
def test_auth_refused_once_refreshes_then_succeeds(status, regions, project, sample_dists, proxies):
    victim, _ = victim_and_others(regions)
    proxies(victim).add(Rule(STATUS, "POST", status=status))
    run = publish(project)
    assert run.report.exit_code == 0
    assert_complete(regions, list(regions.regions), sha256s(sample_dists))
    assert len(regions.fake.recorded("GetAuthorizationToken", victim)) == 2


def test_auth_refused_after_the_refresh_fails_that_region_only(
    regions, project, sample_dists, proxies
):
    victim, others = victim_and_others(regions)
    proxies(victim).add(Rule(STATUS, "POST", status=403, times=0))
    run = publish(project)
    assert run.report.exit_code == 1
    assert len(regions.fake.recorded("GetAuthorizationToken", victim)) == 2, "exactly one refresh"
    target = run.target(victim)
    assert {f.outcome for f in target.files} == {FAILED}
    assert all("token was refused" in (f.error or "") for f in target.files)
    assert regions.regions[victim].files() == {}
    assert_complete(regions, others, sha256s(sample_dists))


# -- control-plane faults during preflight: nothing is uploaded anywhere ---------------------

PREFLIGHT = {
    "AccessDenied on GetAuthorizationToken": (
        ("GetAuthorizationToken", "AccessDeniedException", 403),
        [
            "AccessDeniedException",
            "codeartifact:GetAuthorizationToken",
            "sts:GetServiceBearerToken",
        ],
    ),
    "AccessDenied on GetRepositoryEndpoint": (
        ("GetRepositoryEndpoint", "AccessDeniedException", 403),
        ["AccessDeniedException", "codeartifact:GetRepositoryEndpoint"],
    ),
    "unknown repository": (
        None,
        [
            "acme/missing",
            "ResourceNotFoundException",
            "Repository missing not found",
            "Check domain",
        ],
    ),
    "unknown domain": ("domain", ["acme-gone/python", "ResourceNotFoundException"]),
}


@pytest.mark.parametrize("case", list(PREFLIGHT))
def test_preflight_failure_in_one_region_uploads_nothing_anywhere(
    case, regions, project, sample_dists
):
    fault, words = PREFLIGHT[case]
    victim, _ = victim_and_others(regions)
    if fault is None:
        regions.write_pyproject(
            project, extra=(f'\n[tool.codeartifact.targets.{victim}]\nrepository = "missing"\n')
        )
    elif fault == "domain":
        regions.write_pyproject(
            project, extra=(f'\n[tool.codeartifact.targets.{victim}]\ndomain = "acme-gone"\n')
        )
    else:
        operation, code, status = fault
        regions.fake.fail(victim, operation, code, status, times=0)
    with pytest.raises(ResolveError) as caught:
        publish(project)
    message = str(caught.value)
    assert caught.value.exit_code == 1
    assert f"{victim}:" in message and "nothing was uploaded" in message
    for word in words:
        assert word in message, message
    assert all(r.files() == {} for r in regions.regions.values())


def test_preflight_failure_through_the_cli_exits_1_and_names_region_and_permission(
    regions, project, sample_dists, tmp_path
):
    victim, _ = victim_and_others(regions)
    regions.fake.fail(victim, "GetRepositoryEndpoint", "AccessDeniedException", 403, times=0)
    home = home_env(tmp_path)
    result = run_cli(regions, "publish", "--project", str(project), env=home)
    assert result.code == 1
    assert f"{victim}: GetRepositoryEndpoint" in result.err
    assert "codeartifact:GetRepositoryEndpoint" in result.err
    assert all(r.files() == {} for r in regions.regions.values())
    doc = json.loads(run_cli(regions, "publish", "--project", str(project), "--json", env=home).out)
    assert doc["ok"] is False and doc["exit_code"] == 1 and victim in doc["error"]


def test_throttled_token_requests_are_retried(regions, project, sample_dists):
    victim, _ = victim_and_others(regions)
    regions.fake.fail(victim, "GetAuthorizationToken", "ThrottlingException", 429, times=2)
    run = publish(project)
    assert run.report.exit_code == 0
    assert len(regions.fake.recorded("GetAuthorizationToken", victim)) == 3
    assert_complete(regions, list(regions.regions), sha256s(sample_dists))


# -- conflicts: all detected, none overwritten, everything else published ---------------------


def test_every_conflict_is_detected_and_nothing_is_overwritten(
    regions, project, sample_dists, proxies
):
    files = sorted(sample_dists.iterdir()) + extra_wheels(sample_dists, 2)
    ours = sha256s(files)
    first, second, third = regions.regions.values()
    # first: two files already there with other bytes (seen while planning);
    # third: another publisher's bytes land just as our first upload arrives (seen on upload).
    seeded = {(first.name, files[0].name), (first.name, files[2].name)}
    for _, filename in seeded:
        (first.packages / filename).write_bytes(b"someone else's " + filename.encode())

    def race() -> None:
        for path in files:
            (third.packages / path.name).write_bytes(b"racing bytes " + path.name.encode())
            seeded.add((third.name, path.name))

    proxies(third.name).add(Rule(PASS, "POST", before=race))
    # One upload at a time, so every upload to third arrives after the race has written its
    # file: with parallel uploads, one could land first and have the race's bytes written over
    # it in storage (which no repository does), failing verify instead of meeting a conflict.
    run = publish(project, files=files, concurrency=1)
    assert run.report.exit_code == 1

    detected = {
        (t.region, f.filename) for t in run.report.targets for f in t.files if f.outcome == CONFLICT
    }
    assert detected == seeded, "every conflict is reported, and only those"
    for region in regions.regions.values():
        stored = region.files()
        for path in files:
            key = (region.name, path.name)
            if key in seeded:
                assert stored[path.name] != ours[path.name], f"{key} was overwritten"
                assert (
                    (region.packages / path.name)
                    .read_bytes()
                    .startswith((b"someone else's", b"racing bytes"))
                )
            else:
                assert stored[path.name] == ours[path.name], key
                assert run.target(region.name).file(path.name).outcome == UPLOADED
    assert run.target(second.name).ok
    conflict = run.target(first.name).file(files[0].name)
    assert "left unchanged" in conflict.error


def test_a_409_without_the_file_in_the_index_is_a_failure_not_already_there(
    regions, project, sample_dists, proxies
):
    """poetry's --skip-existing takes any 409 for "already there"; only the index may say so."""
    victim, others = victim_and_others(regions)
    proxies(victim).add(Rule(STATUS, "POST", status=409, times=0, body=b"File already exists"))
    run = publish(project)
    assert run.report.exit_code == 1
    assert {f.outcome for f in run.target(victim).files} == {FAILED}
    assert all("409" in f.error for f in run.target(victim).files)
    assert regions.regions[victim].files() == {}
    assert_complete(regions, others, sha256s(sample_dists))


# -- an interrupted run: the CLI killed mid-upload, then run again ----------------------------


def test_killed_mid_upload_then_rerun_converges_without_conflict(
    regions, project, sample_dists, proxies, tmp_path
):
    victim, _ = victim_and_others(regions)
    proxy = proxies(victim)
    proxy.add(Rule(DELAY, "POST", seconds=1.5, times=0))
    args = [
        sys.executable,
        "-m",
        "codeartifact_multiregion",
        "publish",
        "--project",
        str(project),
        "--json",
    ]
    with (tmp_path / "killed.out").open("w") as out, (tmp_path / "killed.err").open("w") as err:
        proc = subprocess.Popen(args, env=cli_env(regions, tmp_path), stdout=out, stderr=err)
        try:
            proxy.wait_for("POST", DELAY, n=1, timeout=30)
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    proxy.clear()  # the delayed upload still lands behind the dead client's back

    result = run_cli(
        regions, "publish", "--project", str(project), "--json", env=home_env(tmp_path)
    )
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    outcomes = {f["outcome"] for t in doc["targets"] for f in t["files"]}
    assert outcomes <= {UPLOADED, IDENTICAL} and CONFLICT not in outcomes
    expected = sha256s(sample_dists)
    assert_complete(regions, list(regions.regions), expected)
    time.sleep(1.6)  # let any delayed upload of the killed run arrive: it changes nothing
    assert_complete(regions, list(regions.regions), expected)
    again = json.loads(
        run_cli(regions, "publish", "--project", str(project), "--json", env=home_env(tmp_path)).out
    )
    assert {f["outcome"] for t in again["targets"] for f in t["files"]} == {IDENTICAL}


# -- a garbled or surprising answer on upload never takes other regions down -----------------


def test_garbled_upload_answers_are_retried(regions, project, sample_dists, proxies):
    victim, _ = victim_and_others(regions)
    proxies(victim).add(Rule(GARBLE, "POST", times=2))
    run = publish(project)
    assert run.report.exit_code == 0, run.report.render_text()
    assert_complete(regions, list(regions.regions), sha256s(sample_dists))
    assert set(run.outcomes(victim).values()) <= {UPLOADED, IDENTICAL}


def test_unrelated_files_seeded_in_a_region_are_left_alone(
    regions, project, sample_dists, tmp_path
):
    """Other versions already in a region are neither touched nor counted."""
    first = next(iter(regions.regions.values()))
    older = make_wheel(tmp_path / "old", "hello-internal", "0.9.0")
    (first.packages / older.name).write_bytes(older.read_bytes())
    run = publish(project)
    assert run.report.exit_code == 0
    assert first.files() == {**sha256s(sample_dists), **sha256s([older])}
    assert len(run.target(first.name).files) == len(list(sample_dists.iterdir()))


def test_report_json_counts_attempts(regions, project, sample_dists, proxies, tmp_path):
    victim, _ = victim_and_others(regions)
    proxies(victim).add(Rule(STATUS, "POST", status=503, times=2))
    result = run_cli(
        regions, "publish", "--project", str(project), "--json", env=home_env(tmp_path)
    )
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    attempts = {t["region"]: sum(f["attempts"] for f in t["files"]) for t in doc["targets"]}
    n = len(list(sample_dists.iterdir()))
    assert attempts == {name: n + (2 if name == victim else 0) for name in regions.regions}
