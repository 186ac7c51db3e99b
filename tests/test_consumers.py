"""The consumer core without the CLI: selection, ordering, rendering and failover.

Regions are the real local pypiservers and control plane; only exec's child runner and
the probe's clock are injected where a test needs one outcome on purpose.
"""

from __future__ import annotations

import io
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest

from codeartifact_multiregion.config import load_config
from codeartifact_multiregion.consumers import (
    NoHealthyRegion,
    Selection,
    Source,
    check_endpoint,
    child_env,
    order,
    render,
    run_child,
    run_with_failover,
    select,
    with_credentials,
    write_env,
)
from codeartifact_multiregion.errors import UsageError
from codeartifact_multiregion.probe import Probe, probe

PRIMARY, SECOND, THIRD = "us-east-1", "eu-west-1", "ap-southeast-2"
# The probe deadline for the real stand-ins: a loaded machine's pypiserver may take more than
# the default 2 s to answer, and a healthy region left out would fail a test about another.
PATIENT = 10.0


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def source(
    region: str, rtt: float | None = 0.01, error: str | None = None, token: str = "tok"
) -> Source:
    return Source(
        region,
        f"https://{region}.example/pypi/python/simple/",
        token,
        probe=Probe(region, rtt, error),
    )


def credentials(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return unquote(parts.username or ""), unquote(parts.password or ""), int(parts.port or 0)


# URLs ------------------------------------------------------------------------------


def test_token_is_percent_encoded_userinfo_and_round_trips() -> None:
    token = "a/b+c=d:e@f%g"
    url = with_credentials("https://h.example/pypi/r/simple/", quote(token, safe=""))
    assert url.startswith("https://aws:")
    assert url.endswith("@h.example/pypi/r/simple/")
    assert urlsplit(url).hostname == "h.example"
    assert unquote(urlsplit(url).password or "") == token


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://h.example/simple/'; rm -rf ~ #", "characters"),
        ("https://h.example/sim ple/", "characters"),
        ("https://u:p@h.example/simple/", "credentials"),
        ("http://h.example/simple/", "plain http"),
        ("ftp://h.example/simple/", "not an http"),
    ],
)
def test_endpoint_that_cannot_carry_a_token_is_refused(url: str, problem: str) -> None:
    assert problem in (check_endpoint(url) or "")


def test_loopback_http_and_https_endpoints_are_accepted() -> None:
    assert check_endpoint("http://127.0.0.1:8080/simple/") is None
    assert (
        check_endpoint(
            "https://acme-111122223333.d.codeartifact.us-east-1.amazonaws.com/pypi/python/simple/"
        )
        is None
    )


# ordering --------------------------------------------------------------------------


def test_config_order_without_nearest_failed_regions_last() -> None:
    got = order(
        [source(PRIMARY, error="connection failed"), source(SECOND, 0.3), source(THIRD, 0.1)],
        nearest=False,
    )
    assert [s.region for s in got] == [SECOND, THIRD, PRIMARY]


def test_nearest_orders_healthy_regions_by_round_trip() -> None:
    got = order(
        [source(PRIMARY, 0.3), source(SECOND, error="HTTP 503"), source(THIRD, 0.1)], nearest=True
    )
    assert [s.region for s in got] == [THIRD, PRIMARY, SECOND]


def test_probe_times_the_request_with_the_injected_clock() -> None:
    ticks = iter([10.0, 10.25])
    got = probe(PRIMARY, "https://x/simple/", "t", fetch=lambda *_: 404, clock=lambda: next(ticks))
    assert got == Probe(PRIMARY, 0.25)


@pytest.mark.parametrize(
    ("status", "healthy"),
    [(200, True), (404, True), (302, True), (401, False), (403, False), (503, False), (429, False)],
)
def test_probe_status_decides_health(status: int, healthy: bool) -> None:
    assert probe(PRIMARY, "https://x/simple/", "t", fetch=lambda *_: status).healthy is healthy


def test_pip_keeps_a_failed_region_last_uv_leaves_it_out() -> None:
    sources = tuple(
        order([source(PRIMARY, error="connection failed"), source(SECOND)], nearest=False)
    )
    pip, uv = Selection("pip", False, sources), Selection("uv", False, sources)
    assert [s.region for s in pip.used] == [SECOND, PRIMARY]
    assert [s.region for s in uv.used] == [SECOND]
    assert pip.warnings() == [f"warning: {PRIMARY} put last: connection failed"]
    assert uv.warnings() == [f"warning: {PRIMARY} left out: connection failed"]


# against the local regions -----------------------------------------------------------


def test_select_gives_pip_every_region_primary_first(regions, project: Path) -> None:
    selection = select(load_config(project), "pip", timeout=PATIENT)
    env = render(selection, "json", reveal=True)
    assert '"ok": true' in env.out
    used = selection.used
    assert [s.region for s in used] == [PRIMARY, SECOND, THIRD]
    for item in used:
        user, token, port = credentials(item.index_url())
        assert (user, token, port) == (
            "aws",
            regions.region(item.region).token,
            regions.region(item.region).port,
        )
    assert all(s.round_trip_s is not None for s in used)


def test_token_duration_from_config_and_expiration_kept(regions, tmp_path: Path) -> None:
    regions.write_pyproject(tmp_path, token_duration=3600)
    selection = select(load_config(tmp_path), "uv", timeout=PATIENT)
    durations = {
        c.params.get("duration")
        for c in regions.fake.calls
        if c.operation == "GetAuthorizationToken"
    }
    assert durations == {"3600"}
    assert all(s.expiration is not None for s in selection.sources)


def test_stopped_region_is_left_out_for_uv_and_named(regions, project: Path) -> None:
    regions.region(PRIMARY).stop()
    # A stopped region refuses at once: no short deadline is needed to leave it out.
    selection = select(load_config(project), "uv", timeout=PATIENT)
    assert [s.region for s in selection.used] == [SECOND]
    assert any(PRIMARY in w and "left out" in w for w in selection.warnings())


def test_region_whose_control_plane_fails_is_left_out_not_fatal(regions, project: Path) -> None:
    regions.fake.fail(PRIMARY, "GetAuthorizationToken", "InternalServerException", 500, times=0)
    selection = select(load_config(project), "pip", timeout=PATIENT)
    assert [s.region for s in selection.used] == [SECOND, THIRD]
    warning = next(w for w in selection.warnings() if PRIMARY in w)
    assert "left out" in warning and "GetAuthorizationToken" in warning


def test_region_flag_narrows_to_configured_regions(regions, project: Path) -> None:
    selection = select(load_config(project, [THIRD]), "pip", timeout=PATIENT)
    assert [s.region for s in selection.used] == [THIRD]


def test_no_healthy_region_is_exit_1_naming_every_region(regions, project: Path) -> None:
    for name in (PRIMARY, SECOND, THIRD):
        regions.region(name).stop()
    with pytest.raises(NoHealthyRegion) as caught:
        select(load_config(project), "pip", timeout=PATIENT)
    assert caught.value.exit_code == 1
    assert all(name in str(caught.value) for name in (PRIMARY, SECOND, THIRD))


# rendering -------------------------------------------------------------------------


def _bash_env(script: str, names: Sequence[str]) -> dict[str, str]:
    printer = "; ".join(f'printf "%s\\0" "${name}"' for name in names)
    proc = subprocess.run(["bash", "-c", f"{script}\n{printer}"], capture_output=True, check=True)
    return dict(zip(names, proc.stdout.decode().split("\0")))


def _awkward() -> Selection:
    tokens = ["t/o+k=e n'$x", "plain"]  # quotes, $, spaces and = survive every format
    return Selection(
        "pip", False, (source(PRIMARY, token=tokens[0]), source(SECOND, token=tokens[1]))
    )


def test_shell_format_evals_to_exactly_the_urls() -> None:
    selection = _awkward()
    got = _bash_env(
        render(selection, "shell", reveal=True).out, ["PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"]
    )
    assert credentials(got["PIP_INDEX_URL"])[1] == "t/o+k=e n'$x"
    assert got["PIP_EXTRA_INDEX_URL"] == selection.sources[1].index_url()


def test_dotenv_format_reads_back_with_set_a(tmp_path: Path) -> None:
    selection = _awkward()
    dotenv = tmp_path / ".env"
    dotenv.write_text(render(selection, "dotenv", reveal=True).out)
    got = _bash_env(f"set -a; . {dotenv}", ["PIP_INDEX_URL"])
    assert got["PIP_INDEX_URL"] == selection.sources[0].index_url()


def _parse_github_env(text: str) -> dict[str, str]:
    """The runner's reading of $GITHUB_ENV: NAME=value or NAME<<DELIM ... DELIM."""
    lines, env = text.split("\n"), {}
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line:
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, i + 1)
            env[name] = "\n".join(lines[i + 1 : end])
            i = end + 1
        elif line:
            name, value = line.split("=", 1)
            env[name] = value
            i += 1
        else:
            i += 1
    return env


def test_github_format_masks_every_token_before_the_env_lines() -> None:
    selection = _awkward()
    rendered = render(selection, "github", reveal=True)
    env = _parse_github_env(rendered.out)
    assert env["PIP_INDEX_URL"] == selection.sources[0].index_url()
    masks = {
        line[len("::add-mask::") :]
        for line in rendered.err.splitlines()
        if line.startswith("::add-mask::")
    }
    for item in selection.sources:
        assert item.token in masks and quote(item.token, safe="") in masks
    assert "::add-mask::" not in rendered.out


def test_terminal_gets_masked_lines_and_how_to_eval() -> None:
    selection = _awkward()
    out, err = Terminal(), io.StringIO()
    assert write_env(selection, "shell", out, err) == 0
    text = out.getvalue() + err.getvalue()
    assert "aws:***@" in out.getvalue()
    assert all(
        s.token not in text and quote(s.token, safe="") not in text for s in selection.sources
    )
    assert 'eval "$(codeartifact-multiregion env --tool pip)"' in err.getvalue()


def test_github_format_to_a_pipe_masks_the_env_lines() -> None:
    selection = _awkward()
    out, err = io.StringIO(), io.StringIO()  # no file descriptor: not the env file
    write_env(selection, "github", out, err)
    assert all(s.token not in out.getvalue() for s in selection.sources)
    assert '>> "$GITHUB_ENV"' in err.getvalue()


def test_json_lists_regions_round_trips_and_errors() -> None:
    import json

    sources = (source(PRIMARY, 0.012, token="s3cr3t"), source(SECOND, error="HTTP 503"))
    doc = json.loads(render(Selection("uv", True, sources), "json", reveal=False).out)
    assert doc["tool"] == "uv" and doc["nearest"] is True
    first, second = doc["regions"]
    assert (first["region"], first["used"], first["round_trip_s"]) == (PRIMARY, True, 0.012)
    assert first["token"] == "***" and "s3cr3t" not in json.dumps(doc)
    assert (second["used"], second["error"]) == (False, "HTTP 503")
    assert set(doc["env"]) == {"UV_DEFAULT_INDEX", "UV_INDEX"}


# exec ------------------------------------------------------------------------------


class Child:
    """Records each run's index and answers the given exit codes in turn."""

    def __init__(self, codes: Sequence[int]) -> None:
        self.codes = list(codes)
        self.indexes: list[str] = []

    def __call__(self, argv: Sequence[str], env: Mapping[str, str]) -> int:
        self.indexes.append(env["UV_DEFAULT_INDEX"])
        return self.codes.pop(0)


def _three() -> Selection:
    return Selection("uv", False, (source(PRIMARY), source(SECOND), source(THIRD)))


def _host(url: str) -> str:
    return urlsplit(url).hostname or ""


def test_exec_fails_over_while_regions_stop_answering_each_once() -> None:
    child, err = Child([1, 1, 0]), io.StringIO()
    code = run_with_failover(
        _three(),
        ["uv", "pip", "install", "x"],
        err,
        runner=child,
        base_env={},
        fetch=lambda *_: 503,
    )
    assert code == 0
    assert [_host(u).split(".")[0] for u in child.indexes] == [PRIMARY, SECOND, THIRD]
    assert f"{PRIMARY} no longer answers (HTTP 503)" in err.getvalue()


def test_exec_returns_the_commands_own_failure_when_the_region_still_answers() -> None:
    child = Child([3])
    code = run_with_failover(
        _three(), ["false"], io.StringIO(), runner=child, base_env={}, fetch=lambda *_: 404
    )
    assert (code, len(child.indexes)) == (3, 1)


def test_exec_exits_with_the_last_code_when_every_region_failed() -> None:
    child = Child([1, 1, 7])
    code = run_with_failover(
        _three(), ["x"], io.StringIO(), runner=child, base_env={}, fetch=lambda *_: 503
    )
    assert (code, len(child.indexes)) == (7, 3)


def test_a_command_that_cannot_start_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="command not found"):
        run_child([str(tmp_path / "no-such-tool")], {})


def test_exec_without_a_command_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        run_with_failover(_three(), [], io.StringIO(), runner=Child([]), base_env={})


def test_child_env_drops_competing_indexes_and_keeps_the_rest() -> None:
    base = {
        "UV_INDEX_URL": "https://other/simple",
        "UV_EXTRA_INDEX_URL": "https://x/simple",
        "PIP_INDEX_URL": "https://pypi.org/simple",
        "HOME": "/home/u",
    }
    env = child_env(base, None, [source(PRIMARY, token="k"), source(SECOND, token="j")])
    assert "UV_INDEX_URL" not in env and "UV_EXTRA_INDEX_URL" not in env
    assert env["HOME"] == "/home/u"
    assert credentials(env["PIP_INDEX_URL"])[1] == "k"
    assert credentials(env["PIP_EXTRA_INDEX_URL"])[1] == "j"
    assert env["UV_DEFAULT_INDEX"] == env["UV_INDEX"] == env["PIP_INDEX_URL"]
    assert not re.search(r"\s", env["UV_INDEX"])
