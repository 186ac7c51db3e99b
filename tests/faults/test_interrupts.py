"""Stopping a run (issue 11, rows 12, 13 and 15): SIGINT, SIGTERM and SIGKILL.

The CLI runs as a real process. A stalling proxy (or a hostile source that stops halfway
through a download) holds an upload or a download provably in flight; the signal is sent
only once the stand-in has seen that request. Each test then asserts what a user relies
on: exit 130, one JSON document on stdout, no upload started after the signal (counted at
the proxies), and no private temporary directory left behind. Durations are never
asserted: timeouts here only guard against a hang.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codeartifact_multiregion.scratch import PREFIX, private_dir, remove_stale
from tests.faults.helpers import cli_env, extra_wheels
from tests.faults.hostile import partial
from tests.faults.proxy import STALL, Rule
from tests.helpers import run_checked, sha256s

CLI = [sys.executable, "-m", "codeartifact_multiregion"]
WHEEL = "hello_internal-1.0.0-py3-none-any.whl"
# Long enough that a stalled request is still in flight when the signal lands.
PATIENT = {
    "CODEARTIFACT_MULTIREGION_READ_TIMEOUT": "120",
    "CODEARTIFACT_MULTIREGION_DEADLINE": "300",
}
SIGNALS = [signal.SIGINT, signal.SIGTERM]


def _as_a_foreground_job() -> None:
    """SIGINT handled as in a terminal's foreground job. A job a shell starts in the
    background (`make`'s `( ... ) &`, a CI step's `&`) inherits SIGINT *ignored*, and an
    ignored signal stays ignored across exec: Ctrl-C could not reach the CLI at all, and the
    test would wait for a signal that never arrives."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(regions, tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {**cli_env(regions, tmp_path), **PATIENT}
    proc = subprocess.Popen(
        [*CLI, *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_as_a_foreground_job,
    )
    return proc, env


def finish(proc: subprocess.Popen[str], regions) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=120)  # a hang guard only
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate(timeout=30)
        pytest.fail(f"still running 120 s after the signal; stderr: {err[-3000:]}")
    assert "Traceback" not in out + err, err
    for token in regions.tokens():
        assert token not in out + err
    return proc.returncode, out, err


def scratch_dirs(env: dict[str, str]) -> list[Path]:
    return sorted(Path(env["TMPDIR"]).glob(PREFIX + "*"))


def wait_until(condition, what: str, timeout: float = 60) -> None:
    guard = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > guard:
            raise TimeoutError(what)
        time.sleep(0.02)


def seed(regions, region: str, files: list[Path]) -> None:
    for path in files:
        (regions.regions[region].packages / path.name).write_bytes(path.read_bytes())


# -- row 13 (and 12's SIGINT under --json): publish stops starting uploads -------------------


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_signal_mid_upload_stops_new_uploads_and_prints_one_json_document(
    signum, regions, project, sample_dists, proxies, tmp_path
):
    extra_wheels(sample_dists, 4)  # six files per region, one upload at a time
    stalled = {name: proxies(name) for name in regions.regions}
    for proxy in stalled.values():
        proxy.add(Rule(STALL, "POST", seconds=120, times=0))
    proc, _ = start(
        regions, tmp_path, "publish", "--project", str(project), "--json", "--concurrency", "1"
    )
    for proxy in stalled.values():
        proxy.wait_for("POST", n=1, timeout=60)  # one upload in flight in every region
    at_signal = {name: proxy.count("POST") for name, proxy in stalled.items()}
    proc.send_signal(signum)

    code, out, err = finish(proc, regions)

    assert code == 130, err
    doc = json.loads(out)  # exactly one document
    assert doc["ok"] is False and doc["exit_code"] == 130 and "interrupted" in doc["error"]
    assert at_signal == {name: 1 for name in regions.regions}
    assert {name: p.count("POST") for name, p in stalled.items()} == at_signal, (
        "no upload started after the signal"
    )
    assert "interrupted" in err
    assert " uploaded" not in err, "nothing reported as uploaded after the signal"
    assert all(r.files() == {} for r in regions.regions.values())


def test_signal_before_any_upload_in_text_mode_exits_130(
    regions, project, sample_dists, proxies, tmp_path
):
    proxy = proxies(next(iter(regions.regions)))
    proxy.add(Rule(STALL, "GET", seconds=120, times=0))  # the plan's index read hangs
    proc, _ = start(regions, tmp_path, "publish", "--project", str(project))
    proxy.wait_for("GET", n=1, timeout=60)
    proc.send_signal(signal.SIGINT)
    code, out, err = finish(proc, regions)
    assert code == 130
    assert out == ""
    assert err.rstrip().endswith("Run again: it sends only what is missing.")
    assert proxy.count("POST") == 0


# -- row 15 and sync's signals: no partial download is left behind ------------------------------


def _stalled_copy(regions, sample_dists: Path, hostile) -> Path:
    """The primary holds the release; its wheel's download stops halfway and hangs."""
    primary = next(iter(regions.regions))
    files = sorted(sample_dists.iterdir())
    seed(regions, primary, files)
    bad = hostile(primary)
    big = b"\0" * (4 << 20)
    bad.routes[f"/packages/{WHEEL}"] = partial(big, upto=(2 << 20) + 1, hold=120)
    return sample_dists / WHEEL


def _partial_download(env: dict[str, str]) -> bool:
    return any(
        p.is_file() and p.name != ".lock" and p.stat().st_size > 0
        for d in scratch_dirs(env)
        for p in d.rglob("*")
    )


@pytest.mark.parametrize("signum", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_signal_mid_download_removes_the_private_directory(
    signum, regions, project, sample_dists, hostile, tmp_path
):
    _stalled_copy(regions, sample_dists, hostile)
    proc, env = start(regions, tmp_path, "sync", "--project", str(project), "--json")
    wait_until(lambda: _partial_download(env), "a partial download on disk")
    proc.send_signal(signum)

    code, out, err = finish(proc, regions)

    assert code == 130, err
    assert json.loads(out)["exit_code"] == 130
    assert scratch_dirs(env) == [], "the private directory is removed on a signal"
    assert list(Path(env["TMPDIR"]).iterdir()) == []
    for region in list(regions.regions)[1:]:
        assert WHEEL not in regions.regions[region].files()


def test_a_killed_syncs_leftovers_are_removed_by_the_next_run(
    regions, project, sample_dists, hostile, tmp_path
):
    _stalled_copy(regions, sample_dists, hostile)
    proc, env = start(regions, tmp_path, "sync", "--project", str(project), "--json")
    wait_until(lambda: _partial_download(env), "a partial download on disk")
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    left = scratch_dirs(env)
    assert len(left) == 1 and _partial_download(env), "SIGKILL leaves its download behind"
    assert left[0].name.startswith(f"{PREFIX}{proc.pid}-")

    primary = next(iter(regions.regions))
    regions.route(primary, regions.regions[primary].url)  # the source serves its files again
    result = run_checked(
        [*CLI, "sync", "--project", str(project), "--json"], regions, env=env, cwd=tmp_path
    )

    assert result.code == 0, result.err
    assert scratch_dirs(env) == [], "the next run removed the dead run's directory"
    expected = sha256s(sample_dists)
    assert all(r.files() == expected for r in regions.regions.values())


def test_stale_sweep_spares_live_runs_other_names_and_symlinks(tmp_path):
    root = tmp_path / "tmp"
    root.mkdir()
    with private_dir(root) as live:
        _stale_sweep_case(root, tmp_path, live)
    assert not live.exists()


def _stale_sweep_case(root: Path, tmp_path: Path, live: Path) -> None:
    dead = root / f"{PREFIX}999999999-abc"
    (dead / "x").mkdir(parents=True)
    (dead / "x" / "partial.whl").write_bytes(b"half")
    (dead / ".lock").write_bytes(b"")
    unrelated = root / "codeartifact-syncX-1-abc"
    unrelated.mkdir()
    victim = tmp_path / "precious"
    victim.mkdir()
    (victim / "keep").write_text("keep")
    (root / f"{PREFIX}999999998-lnk").symlink_to(victim)
    (live / "file").write_bytes(b"in use")
    removed = remove_stale(root)
    assert removed == [dead]
    assert (live / "file").exists(), "a live run's directory is left alone"
    assert unrelated.exists() and (victim / "keep").exists()
    assert os.path.islink(root / f"{PREFIX}999999998-lnk")
