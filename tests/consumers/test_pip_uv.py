"""``env`` and ``exec`` end to end: the real CLI, real pip and real uv against local regions.

Every install goes into a fresh ``--target`` directory with the machine's pip and uv
configuration neutralized (no mirror index, no find-links), and installs a package that
exists only in the local regions: a pass cannot come from anywhere else.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest

from codeartifact_multiregion import cli
from codeartifact_multiregion.config import load_config
from codeartifact_multiregion.publish import Publisher
from tests.faults.proxy import DELAY, RESET, FaultProxy, Rule
from tests.helpers import FAST_RETRIES, run_checked, run_on_pty

pytestmark = pytest.mark.slow

PRIMARY, SECOND, THIRD = "us-east-1", "eu-west-1", "ap-southeast-2"
BIN = Path(sys.executable).parent
CLI = BIN / "codeartifact-multiregion"
PACKAGE = "hello-internal"


@pytest.fixture
def published(regions, project: Path, sample_dists: Path) -> Path:
    """hello-internal 1.0.0 in every local region; returns the project directory."""
    report = Publisher(load_config(project)).publish([])
    assert report.ok, report.render_text()
    return project


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    for sub in ("tmp", "cache", "config"):
        (path / sub).mkdir(parents=True)
    return path


@pytest.fixture
def proxied(regions) -> Iterator[dict[str, FaultProxy]]:
    """A fault proxy routed in front of every region (for probes: it answers HEAD with
    an empty body, so installs go direct wherever a test can)."""
    proxies = {
        name: FaultProxy(region.port).__enter__() for name, region in regions.regions.items()
    }
    for name, proxy in proxies.items():
        regions.route(name, proxy.url)
    yield proxies
    for proxy in proxies.values():
        proxy.__exit__()


@pytest.fixture
def dying_primary(regions) -> Iterator[FaultProxy]:
    """A proxy in front of the primary only: the one region a test makes misbehave."""
    with FaultProxy(regions.region(PRIMARY).port) as proxy:
        regions.route(PRIMARY, proxy.url)
        yield proxy


def clean_env(home: Path) -> dict[str, str]:
    """No pip or uv settings from this machine, caches and config under ``home``."""
    return {
        "HOME": str(home),
        "TMPDIR": str(home / "tmp"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INPUT": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "UV_CACHE_DIR": str(home / "cache" / "uv"),
        "UV_PYTHON": sys.executable,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def unset_machine_settings() -> list[str]:
    """``env -u`` for every pip/uv variable this machine sets (PIP_FIND_LINKS, ...)."""
    names = [k for k in os.environ if k.startswith(("PIP_", "UV_"))]
    return ["env", *[arg for name in names for arg in ("-u", name)]]


def bash(script: str, aws, home: Path, cwd: Path, timeout: float = 180):
    return run_checked(
        [*unset_machine_settings(), "bash", "-euc", script],
        aws,
        cwd=cwd,
        env=clean_env(home),
        timeout=timeout,
    )


def pip_install(target: Path) -> str:
    return f'"{sys.executable}" -m pip install --no-cache-dir --target "{target}" {PACKAGE}'


def uv_install(target: Path) -> str:
    return f'uv pip install --no-cache --target "{target}" {PACKAGE}'


def installed(target: Path) -> bool:
    return (target / "hello_internal-1.0.0.dist-info" / "METADATA").is_file()


def cli_command(*args: str) -> str:
    return " ".join([f'"{CLI}"', *args])


# the happy paths -------------------------------------------------------------------


def test_eval_env_for_pip_then_pip_installs(
    regions, published: Path, home: Path, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    result = bash(
        f'eval "$({cli_command("env --tool pip")})"\n'
        f'echo "indexes: ${{PIP_INDEX_URL##*@}} ${{PIP_EXTRA_INDEX_URL:+extra}}"\n'
        f"{pip_install(target)}",
        regions,
        home,
        published,
    )
    assert result.code == 0, result.err
    assert installed(target)
    assert f"indexes: 127.0.0.1:{regions.region(PRIMARY).port}/simple/ extra" in result.out


def test_eval_env_for_uv_then_uv_installs(
    regions, published: Path, home: Path, tmp_path: Path
) -> None:
    target = tmp_path / "site"
    result = bash(
        f'eval "$({cli_command("env --tool uv")})"\n{uv_install(target)}', regions, home, published
    )
    assert result.code == 0, result.err
    assert installed(target)


def outside_the_project(factory) -> Path:
    """A directory no pyproject.toml encloses: uv reads a workspace root's config, not ours."""
    return Path(factory.mktemp("work"))


UV_INDEXES = (
    '[[index]]\nname = "corp"\nurl = "http://127.0.0.1:9/simple/"\ndefault = true\n\n'
    '[[index]]\nname = "mirror"\nurl = "http://127.0.0.1:7/simple/"\n'
)


@pytest.mark.parametrize("config_file", ["uv.toml", "pyproject.toml"])
def test_uv_uses_our_index_over_indexes_named_in_its_config(
    regions, published: Path, home: Path, tmp_path: Path, tmp_path_factory, config_file: str
) -> None:
    """The user's uv config names a default index and another index, both dead: ours wins."""
    work = outside_the_project(tmp_path_factory)
    if config_file == "uv.toml":
        (work / "uv.toml").write_text(UV_INDEXES)
    else:
        (work / "pyproject.toml").write_text(
            '[project]\nname = "app"\nversion = "0"\n\n'
            + UV_INDEXES.replace("[[index]]", "[[tool.uv.index]]")
        )
    target = tmp_path / "site"
    result = bash(
        f'eval "$({cli_command("env --tool uv --project", str(published))})"\n{uv_install(target)}',
        regions,
        home,
        work,
    )
    assert result.code == 0, result.err
    assert installed(target)


def test_without_our_variables_that_uv_config_fails(
    regions, published: Path, home: Path, tmp_path: Path, tmp_path_factory
) -> None:
    """The control for the test above: the dead indexes really are what uv would use."""
    work = outside_the_project(tmp_path_factory)
    (work / "uv.toml").write_text(UV_INDEXES)
    result = bash(f"{uv_install(tmp_path / 'site')}", regions, home, work)
    assert result.code != 0
    assert "127.0.0.1:7" in result.err or "127.0.0.1:9" in result.err


def test_env_from_a_standalone_codeartifact_toml(
    regions, published: Path, home: Path, tmp_path: Path
) -> None:
    platform = tmp_path / "platform" / "codeartifact.toml"
    platform.parent.mkdir()
    text = (published / "pyproject.toml").read_text()
    platform.write_text(text[text.index("[tool.codeartifact]") :])
    target = tmp_path / "site"
    result = bash(
        f'eval "$({cli_command("env --tool pip --config", str(platform))})"\n{pip_install(target)}',
        regions,
        home,
        tmp_path,
    )
    assert result.code == 0, result.err
    assert installed(target)


# a region down ---------------------------------------------------------------------


def test_pip_configured_while_up_installs_from_a_fallback_when_nearest_stops(
    regions, published: Path, home: Path, tmp_path: Path
) -> None:
    """env --tool pip --nearest runs while every region is up; then the first one stops."""
    target, go = tmp_path / "site", tmp_path / "go"
    script = (
        f'eval "$({cli_command("env --tool pip --nearest")})"\n'
        'echo "first ${PIP_INDEX_URL##*@}"\n'
        f'while [ ! -e "{go}" ]; do sleep 0.05; done\n'
        f"{pip_install(target)}"
    )
    env = {**os.environ, **regions.env(), **FAST_RETRIES, **clean_env(home)}
    env = {
        k: v for k, v in env.items() if not k.startswith(("PIP_", "UV_")) or k in clean_env(home)
    }
    proc = subprocess.Popen(
        ["bash", "-euc", script],
        cwd=published,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    port = int(first.split(":")[1].split("/")[0])
    nearest = next(r for r in regions.regions.values() if r.port == port)
    nearest.stop()
    go.touch()
    out, err = proc.communicate(timeout=300)
    for token in regions.tokens():
        assert token not in first + out + err
    assert proc.returncode == 0, err
    assert installed(target)
    assert f"port={port}" in err  # pip met the stopped region first and moved on


def test_env_for_uv_while_the_primary_is_down_leaves_it_out(
    regions, published: Path, home: Path, tmp_path: Path
) -> None:
    regions.region(PRIMARY).stop()
    target = tmp_path / "site"
    result = bash(
        f'eval "$({cli_command("env --tool uv --nearest")})"\n{uv_install(target)}',
        regions,
        home,
        published,
    )
    assert result.code == 0, result.err
    assert installed(target)
    assert f"warning: {PRIMARY} left out: connection failed" in result.err


def test_exec_uv_installs_while_the_primary_is_down(
    regions, published: Path, home: Path, tmp_path: Path
) -> None:
    regions.region(PRIMARY).stop()
    target = tmp_path / "site"
    result = bash(
        f"{cli_command('exec --tool uv --')} {uv_install(target)}", regions, home, published
    )
    assert result.code == 0, result.err
    assert installed(target)
    assert f"warning: {PRIMARY} left out" in result.err


def test_exec_runs_again_with_the_next_region_when_its_region_dies(
    regions, published: Path, home: Path, tmp_path: Path, dying_primary: FaultProxy
) -> None:
    """The primary answers the probe, then resets every connection: uv fails, exec moves on."""
    dying_primary.add(Rule(RESET, method="GET", skip=1, times=0))
    target = tmp_path / "site"
    result = bash(
        f"{cli_command('exec --tool uv --')} {uv_install(target)}", regions, home, published
    )
    assert result.code == 0, result.err
    assert installed(target)
    assert f"{PRIMARY} no longer answers" in result.err
    assert f"again with {SECOND}" in result.err


def test_exec_returns_the_commands_exit_code_when_the_region_is_fine(
    regions, published: Path, home: Path
) -> None:
    result = bash(f'{cli_command("exec --")} sh -c "exit 7"', regions, home, published)
    assert result.code == 7
    assert "no longer answers" not in result.err


# measuring -------------------------------------------------------------------------


def test_nearest_orders_regions_by_measured_delay(
    regions, published: Path, capsys, proxied: dict[str, FaultProxy]
) -> None:
    delays = {PRIMARY: 0.9, SECOND: 0.0, THIRD: 0.45}
    for name, seconds in delays.items():
        proxied[name].add(Rule(DELAY, method="GET", seconds=seconds, times=0))
    code = cli.main(["env", "--tool", "pip", "--nearest", "--json", "--project", str(published)])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [r["region"] for r in doc["regions"]] == [SECOND, THIRD, PRIMARY]
    for item in doc["regions"]:
        assert item["round_trip_s"] >= delays[item["region"]]
    first = urlsplit(doc["env"]["PIP_INDEX_URL"])
    assert first.port == proxied[SECOND].port
    assert unquote(first.password or "") == regions.region(SECOND).token


# secrets ---------------------------------------------------------------------------


def run_on_terminal(args: list[str], aws, home: Path, cwd: Path) -> tuple[int, str]:
    """The CLI with stdout and stderr on a pseudo-terminal, as a person at a shell runs it."""
    env = {**os.environ, **aws.env(), **clean_env(home)}
    code, raw = run_on_pty([CLI, *args], env, cwd)
    return code, raw.decode(errors="replace")


@pytest.mark.parametrize("fmt", ["shell", "json", "github"])
def test_no_token_on_a_terminal(regions, published: Path, home: Path, fmt: str) -> None:
    code, text = run_on_terminal(
        ["env", "--tool", "pip", "--format", fmt], regions, home, published
    )
    assert code == 0, text
    for token in regions.tokens():
        assert token not in text and quote(token, safe="") not in text
    assert "aws:***@" in text
    assert "tokens masked" in text


def test_github_format_masks_every_token_and_fills_the_env_file(
    regions, published: Path, home: Path, tmp_path: Path
) -> None:
    """As a workflow step: stdout appended to $GITHUB_ENV, stderr read by the runner."""
    github_env = tmp_path / "github_env"
    env = {**os.environ, **regions.env(), **clean_env(home)}
    with github_env.open("a") as sink:
        proc = subprocess.run(
            [str(CLI), "env", "--tool", "pip", "--format", "github"],
            cwd=published,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    masks = {line.removeprefix("::add-mask::") for line in lines if line.startswith("::add-mask::")}
    assert set(regions.tokens()) <= masks
    # Every token reaches the log only inside a mask command, before anything else.
    others = [line for line in lines if not line.startswith("::add-mask::")]
    assert not any(token in line for token in regions.tokens() for line in others)
    text = github_env.read_text()
    github_env.unlink()
    assert "::add-mask::" not in text
    rows = text.splitlines()
    name, delimiter = rows[0].split("<<")
    assert name == "PIP_INDEX_URL" and rows[2] == delimiter
    assert unquote(urlsplit(rows[1]).password or "") == regions.region(PRIMARY).token


def test_no_token_on_disk_after_env_and_exec(
    regions, published: Path, home: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    result = bash(
        f'eval "$({cli_command("env --tool uv --project", str(published))})"\n'
        f"{cli_command('exec --project', str(published), '--')} "
        f'"{sys.executable}" -c "import os; assert os.environ[\'UV_INDEX\']"',
        regions,
        home,
        work,
    )
    assert result.code == 0, result.err
    forms = [f for t in regions.tokens() for f in (t, quote(t, safe=""))]
    for root in (home, work, published):
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert not any(f.encode() in data for f in forms), path


# exit codes ------------------------------------------------------------------------


def test_every_region_down_is_exit_1_naming_each(regions, published: Path, capsys) -> None:
    for region in regions.regions.values():
        region.stop()
    code = cli.main(
        ["env", "--tool", "uv", "--json", "--probe-timeout", "1", "--project", str(published)]
    )
    captured = capsys.readouterr()
    assert code == 1
    doc = json.loads(captured.out)
    assert doc["ok"] is False and all(r in doc["error"] for r in (PRIMARY, SECOND, THIRD))


@pytest.mark.parametrize(
    "args",
    [
        ["env", "--tool", "pip", "--region", "sa-east-1"],
        ["env", "--tool", "pip", "--project", ".", "--config", "codeartifact.toml"],
        ["env", "--tool", "pip", "--json", "--format", "shell"],
        ["exec", "--"],
    ],
)
def test_bad_input_is_exit_2_with_one_json_document(
    regions, published: Path, capsys, monkeypatch, args: list[str]
) -> None:
    monkeypatch.chdir(published)
    code = cli.main([*args, "--json"] if args[0] == "env" else args)
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err and captured.err.startswith("error: ")
    if args[0] == "env":
        assert json.loads(captured.out)["exit_code"] == 2
